//! Benchmark peer: `GET /verify` verifies an HS256 access token with jsonwebtoken and
//! then asks Redis, on every request, whether its jti is revoked (`EXISTS
//! <prefix><jti>`): 200 when valid and not revoked, 401 otherwise, like revokd's
//! `/v1/verify`. `DELETE /logout` revokes the presented token (`SET <prefix><jti> ""
//! EX <seconds left>`), like flask-jwt-extended's Redis blocklist example.
//!
//! Environment: `LISTEN` (default `127.0.0.1:3002`), `SECRET` (the HS256 secret),
//! `ISSUER` (expected `iss`; empty or unset: not checked), `REDIS_URL` (default
//! `redis://127.0.0.1:6379/0`), `REDIS_PREFIX` (default `axum-blocklist:`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, get};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::Deserialize;

#[derive(Deserialize)]
struct Claims {
    #[allow(dead_code)]
    sub: String,
    jti: String,
    exp: u64,
    #[serde(rename = "type")]
    typ: String,
}

struct App {
    key: DecodingKey,
    validation: Validation,
    redis: ConnectionManager,
    prefix: String,
}

impl App {
    /// The token's claims when its signature and claims are valid (revocation aside).
    fn claims(&self, headers: &HeaderMap) -> Option<Claims> {
        let token = bearer(headers)?;
        let claims = decode::<Claims>(token, &self.key, &self.validation).ok()?.claims;
        (claims.typ == "access").then_some(claims)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn verify(State(app): State<Arc<App>>, headers: HeaderMap) -> StatusCode {
    let Some(claims) = app.claims(&headers) else { return StatusCode::UNAUTHORIZED };
    let mut redis = app.redis.clone();
    match redis.exists::<_, bool>(format!("{}{}", app.prefix, claims.jti)).await {
        Ok(false) => StatusCode::OK,
        Ok(true) => StatusCode::UNAUTHORIZED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> StatusCode {
    let Some(claims) = app.claims(&headers) else { return StatusCode::UNAUTHORIZED };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let ttl = claims.exp.saturating_sub(now).max(1);
    let mut redis = app.redis.clone();
    match redis.set_ex::<_, _, ()>(format!("{}{}", app.prefix, claims.jti), "", ttl).await {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

#[tokio::main]
async fn main() {
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3002".into());
    let secret = std::env::var("SECRET").expect("SECRET must be set");
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let prefix = std::env::var("REDIS_PREFIX").unwrap_or_else(|_| "axum-blocklist:".into());

    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    if let Ok(iss) = std::env::var("ISSUER") {
        if !iss.is_empty() {
            validation.set_issuer(&[iss]);
        }
    }
    let client = redis::Client::open(url).expect("REDIS_URL");
    let redis = client.get_connection_manager().await.expect("connect to Redis");

    let state = Arc::new(App { key: DecodingKey::from_secret(secret.as_bytes()), validation, redis, prefix });
    let app = Router::new()
        .route("/verify", get(verify))
        .route("/logout", delete(logout))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind LISTEN");
    eprintln!("axum-redis listening on {listen}");
    axum::serve(listener, app).await.expect("serve");
}
