//! Benchmark peer: `GET /verify` answers 200 for a valid access token and 401
//! otherwise, like revokd's `/v1/verify`, but with no revocation check at all.
//!
//! Environment: `LISTEN` (default `127.0.0.1:3001`), `ALG` (`HS256`, the default,
//! `RS256` or `EdDSA`), `SECRET` (the HS256 secret; HS256 only), `PUBLIC_KEY_PEM` (path
//! to the SPKI PEM public key; RS256 and EdDSA only), `ISSUER` (expected `iss`; empty or
//! unset: not checked). The crypto backend is chosen at build time (features `aws`, the
//! default, and `rustcrypto`); it is printed at start-up.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;

#[derive(Deserialize)]
struct Claims {
    #[allow(dead_code)]
    sub: String,
    #[serde(rename = "type")]
    typ: String,
}

struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Verifier {
    fn from_env() -> Self {
        let alg = std::env::var("ALG").unwrap_or_default();
        let (algorithm, key) = match alg.as_str() {
            "" | "HS256" => {
                let secret = std::env::var("SECRET").expect("SECRET must be set");
                (Algorithm::HS256, DecodingKey::from_secret(secret.as_bytes()))
            }
            "RS256" => (
                Algorithm::RS256,
                DecodingKey::from_rsa_pem(&public_key_pem()).expect("PUBLIC_KEY_PEM: not an RSA public key"),
            ),
            "EdDSA" => (
                Algorithm::EdDSA,
                DecodingKey::from_ed_pem(&public_key_pem()).expect("PUBLIC_KEY_PEM: not an Ed25519 public key"),
            ),
            other => panic!("ALG must be HS256, RS256 or EdDSA, not {other:?}"),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Ok(iss) = std::env::var("ISSUER") {
            if !iss.is_empty() {
                validation.set_issuer(&[iss]);
            }
        }
        Verifier { key, validation }
    }

    fn check(&self, headers: &HeaderMap) -> bool {
        let Some(token) = bearer(headers) else { return false };
        match decode::<Claims>(token, &self.key, &self.validation) {
            Ok(data) => data.claims.typ == "access",
            Err(_) => false,
        }
    }
}

fn public_key_pem() -> Vec<u8> {
    let path = std::env::var("PUBLIC_KEY_PEM").expect("PUBLIC_KEY_PEM must be set for RS256 and EdDSA");
    std::fs::read(&path).unwrap_or_else(|e| panic!("PUBLIC_KEY_PEM {path}: {e}"))
}

const BACKEND: &str = if cfg!(feature = "rustcrypto") { "rust_crypto" } else { "aws_lc_rs" };

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn verify(State(v): State<Arc<Verifier>>, headers: HeaderMap) -> StatusCode {
    if v.check(&headers) { StatusCode::OK } else { StatusCode::UNAUTHORIZED }
}

#[tokio::main]
async fn main() {
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let verifier = Verifier::from_env();
    let alg = verifier.validation.algorithms[0];
    let app = Router::new()
        .route("/verify", get(verify))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Arc::new(verifier));
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind LISTEN");
    eprintln!("axum-plain listening on {listen} ({alg:?}, jsonwebtoken backend {BACKEND})");
    axum::serve(listener, app).await.expect("serve");
}
