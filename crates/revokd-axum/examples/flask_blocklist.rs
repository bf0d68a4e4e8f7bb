//! flask-jwt-extended's blocklist example (seed 002) on revokd-axum.
//!
//! `cargo run -p revokd-axum --example flask_blocklist`, then:
//!
//! ```text
//! curl -s -XPOST localhost:3000/login -H 'content-type: application/json' -d '{"username":"test","password":"test"}'
//! curl -s localhost:3000/protected -H "Authorization: Bearer $ACCESS"          # {"hello":"world"}
//! curl -s -XDELETE localhost:3000/logout -H "Authorization: Bearer $ACCESS"    # revokes the access token
//! curl -s localhost:3000/protected -H "Authorization: Bearer $ACCESS"          # 401 {"msg":"Token has been revoked"}
//! ```
//!
//! Routes, methods, statuses and JSON bodies are the Python app's when it runs on
//! flask-jwt-extended 4.7.4 (`flask_blocklist.py` next to this file, the seed adapted to
//! 4.x); the integration test `flask_blocklist` sends both the same requests. Where our
//! defaults differ, the response hooks give flask-jwt-extended's answers:
//! [`AuthBuilder::flask_jwt_extended_responses`] (`{"msg": …}`, 422 for an invalid token
//! or one of the wrong type) and an `invalid_token_loader` with PyJWT's messages for
//! malformed tokens. Unlike the seed's in-memory set, revocations are durable and shared
//! by every process on the same store.
//!
//! Seed bugs, ported by intent: the seed's routes have lost their decorators although its
//! comments say `/refresh` takes a refresh token and `/protected` refuses revoked tokens
//! (4.x: `jwt_required(refresh=True)`, `jwt_required()`), and its logouts read the `jti`
//! but never add it to the blocklist; here they revoke it.
//!
//! Environment: `LISTEN` (default `127.0.0.1:3000`); `REVOKD_STORE`, a revokd store URL
//! (default: a SQLite file in a fresh temporary folder, removed on Ctrl-C). The
//! listening address is printed on stderr.

use std::error::Error;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use revokd::store::{self, Durability};
use revokd::{Algorithm, IssueRequest, Key, KeySet, Revokd};
use revokd_axum::{Auth, AuthBuilder, Jwt, RefreshJwt, Rejection, flask_jwt_extended_response};
use serde_json::{Value, json};

type BoxError = Box<dyn Error + Send + Sync>;

/// The signing secret (the seed's `JWT_SECRET_KEY = 'super-secret'  # Change this!`;
/// revokd wants at least 32 bytes for HS256). Every process of this example signs and
/// verifies with it, so a token from one is accepted by another on the same store.
const SECRET: &[u8] = b"super-secret, change this! (at least 32 bytes)";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    serve().await
}

/// Reads `LISTEN` and `REVOKD_STORE`, prints the address on stderr and serves until
/// Ctrl-C.
pub(crate) async fn serve() -> Result<(), BoxError> {
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let (url, temp_dir) = match std::env::var("REVOKD_STORE") {
        Ok(url) => (url, None),
        Err(_) => {
            let dir = tempfile::Builder::new().prefix("flask_blocklist-").tempdir()?;
            (format!("sqlite://{}", dir.path().join("revokd.db").display()), Some(dir))
        }
    };
    let app = app(&url).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    // Never the credentials of a `postgres://user:password@…` URL.
    match url.rsplit_once('@') {
        Some((_, rest)) => eprintln!("flask_blocklist: store …@{rest}"),
        None => eprintln!("flask_blocklist: store {url}"),
    }
    eprintln!("flask_blocklist: listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(temp_dir);
    Ok(())
}

/// The app on the store at `store_url`.
pub(crate) async fn app(store_url: &str) -> Result<Router, BoxError> {
    let keys = KeySet::new().with(Key::hmac("k1", Algorithm::HS256, SECRET)?)?;
    // flask-jwt-extended's lifetimes (15 minutes, 30 days) are revokd's defaults; with a
    // blocklist loader it checks both token types, as revokd does by default.
    let revokd = Revokd::builder(keys, store::open(store_url, Durability::Full).await?).build().await?;
    Ok(router(flask_auth(Auth::builder(revokd)).build()?))
}

/// flask-jwt-extended 4.x's answers where revokd-axum's defaults differ.
pub(crate) fn flask_auth(builder: AuthBuilder) -> AuthBuilder {
    builder.flask_jwt_extended_responses().invalid_token_loader(|r: &Rejection| {
        // PyJWT's words for the malformed tokens a client commonly sends; anything else
        // keeps revokd's reason (the status, 422, is flask-jwt-extended's either way).
        let pyjwt = match r.message() {
            "malformed token: a token has three parts separated by dots" => Some("Not enough segments"),
            "malformed token: header is not base64url" => Some("Invalid header padding"),
            "malformed token: payload is not base64url" => Some("Invalid payload padding"),
            "token signature is invalid" => Some("Signature verification failed"),
            _ => None,
        };
        match pyjwt {
            Some(msg) => (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "msg": msg }))).into_response(),
            None => flask_jwt_extended_response(r),
        }
    })
}

/// The seed's five routes behind the layer.
pub(crate) fn router(auth: Auth) -> Router {
    Router::new()
        .route("/login", post(login).options(allow("POST, OPTIONS")))
        .route("/refresh", post(refresh).options(allow("POST, OPTIONS")))
        .route("/logout", delete(logout).options(allow("DELETE, OPTIONS")))
        .route("/logout2", delete(logout2).options(allow("DELETE, OPTIONS")))
        .route("/protected", get(protected).options(allow("HEAD, GET, OPTIONS")))
        .layer(auth.layer())
        .with_state(auth)
}

/// Flask answers `OPTIONS` itself, before any decorator runs: 200 with `Allow`.
fn allow(methods: &'static str) -> axum::routing::MethodRouter<Auth> {
    axum::routing::any(move || async move { ([(header::ALLOW, methods)], "") })
}

/// Flask's answers when `request.json` cannot be read: 415 without a JSON content type,
/// 400 for a body that is not JSON.
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, (StatusCode, &'static str)> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json")) {
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type"));
    }
    serde_json::from_slice(body).map_err(|_| (StatusCode::BAD_REQUEST, "Bad Request"))
}

/// Standard login endpoint: users `test`/`test`.
async fn login(State(auth): State<Auth>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    // Seed bug, ported by intent: on a JSON body that is not an object (`[]`, `null`)
    // the seed's `request.json.get` raises and Flask answers 500; this answers 400.
    let Some(fields) = body.as_object() else {
        return (StatusCode::BAD_REQUEST, "Bad Request").into_response();
    };
    let test = Value::from("test");
    if fields.get("username") != Some(&test) || fields.get("password") != Some(&test) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"msg": "Bad username or password"}))).into_response();
    }
    match auth.issue(IssueRequest::new("test")).await {
        Ok(pair) => {
            Json(json!({"access_token": pair.access_token, "refresh_token": pair.refresh_token})).into_response()
        }
        Err(e) => internal(&e),
    }
}

/// Standard refresh endpoint. A revoked refresh token will not be able to access this
/// endpoint.
async fn refresh(State(auth): State<Auth>, RefreshJwt(jwt): RefreshJwt) -> Response {
    // A new access token in the refresh token's family (so that revoking the family ends
    // it too); like flask-jwt-extended's /refresh, only the access token is handed out.
    let req = IssueRequest { family: jwt.claims().fam.clone(), ..IssueRequest::new(jwt.identity()) };
    match auth.issue(req).await {
        Ok(pair) => Json(json!({"access_token": pair.access_token})).into_response(),
        Err(e) => internal(&e),
    }
}

/// Endpoint for revoking the current user's access token.
async fn logout(jwt: Jwt) -> Response {
    match jwt.revoke().await {
        Ok(_) => Json(json!({"msg": "Successfully logged out"})).into_response(),
        Err(e) => internal(&e),
    }
}

/// Endpoint for revoking the current user's refresh token.
async fn logout2(RefreshJwt(jwt): RefreshJwt) -> Response {
    match jwt.revoke().await {
        Ok(_) => Json(json!({"msg": "Successfully logged out"})).into_response(),
        Err(e) => internal(&e),
    }
}

/// Refuses missing, invalid and revoked tokens.
async fn protected(_jwt: Jwt) -> Json<Value> {
    Json(json!({"hello": "world"}))
}

/// A store failure: 500, the reason in the log only.
fn internal(e: &dyn Error) -> Response {
    eprintln!("flask_blocklist: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"msg": "Internal Server Error"}))).into_response()
}
