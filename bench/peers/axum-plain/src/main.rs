//! Benchmark peer: `GET /verify` answers 200 for a valid HS256 access token and 401
//! otherwise, like revokd's `/v1/verify`, but with no revocation check at all.
//!
//! Environment: `LISTEN` (default `127.0.0.1:3001`), `SECRET` (the HS256 secret),
//! `ISSUER` (expected `iss`; empty or unset: not checked).

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
        let secret = std::env::var("SECRET").expect("SECRET must be set");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Ok(iss) = std::env::var("ISSUER") {
            if !iss.is_empty() {
                validation.set_issuer(&[iss]);
            }
        }
        Verifier { key: DecodingKey::from_secret(secret.as_bytes()), validation }
    }

    fn check(&self, headers: &HeaderMap) -> bool {
        let Some(token) = bearer(headers) else { return false };
        match decode::<Claims>(token, &self.key, &self.validation) {
            Ok(data) => data.claims.typ == "access",
            Err(_) => false,
        }
    }
}

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
    let app = Router::new()
        .route("/verify", get(verify))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(Arc::new(Verifier::from_env()));
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind LISTEN");
    eprintln!("axum-plain listening on {listen}");
    axum::serve(listener, app).await.expect("serve");
}
