//! sanic-jwt-extended's blacklist example (seed 003) on revokd-axum.
//!
//! `cargo run -p revokd-axum --example sanic_logout`, then:
//!
//! ```text
//! curl -s -XPOST localhost:3000/login -H 'content-type: application/json' -d '{"username":"test","password":"test"}'
//! curl -s localhost:3000/protected -H "Authorization: Bearer $ACCESS"        # identity, type, raw_data, exp
//! curl -s -XPOST localhost:3000/logout -H "X-Refresh-Token: Bearer $REFRESH" # {"msg":"Goodbye"}
//! curl -s -XPOST localhost:3000/logout -H "X-Refresh-Token: Bearer $REFRESH" # 401 {"msg":"Token has been revoked"}
//! ```
//!
//! Routes, methods, statuses and JSON bodies are the Python app's when it runs on sanic
//! 25.12 with sanic-jwt-extended 1.0.dev12 (`sanic_logout.py` next to this file, the seed
//! made to run); the integration test `sanic_logout` sends both the same requests.
//! sanic-jwt-extended's answers differ from flask-jwt-extended's, so every response hook
//! is set: `{"msg": …}` with its words (`Missing header "Authorization"`, 422 `Only
//! access tokens are allowed`, PyJWT 1.7's messages for malformed tokens, 401 `Signature
//! has expired`). `/protected`'s `raw_data` is the token's payload, revokd's claims (it
//! also has `type`, `fresh` and `fam`, which sanic-jwt-extended's has not), and `exp`
//! its expiry as Python prints a naive UTC `datetime`.
//!
//! As in sanic-jwt-extended, the refresh token travels in `X-Refresh-Token: Bearer
//! <jwt>`. revokd-axum reads access and refresh tokens from the same header, so
//! `/logout` reads and verifies that header itself ([`RefreshHeader`]). Logging out
//! revokes the refresh token only (the library blacklists its jti): the access token
//! stays valid until it expires.
//!
//! Seed bugs, ported by intent: its login issues no refresh token although its logout
//! requires one (here it issues both), its logout calls `JWT.revoke(token)`, which does
//! not exist (meant: revoke the presented token) and its login checks no password (the
//! user here is `test`/`test`, anything else 401 `{"msg": "Bad username or password"}`).
//!
//! Environment: `LISTEN` (default `127.0.0.1:3000`); `REVOKD_STORE`, a revokd store URL
//! (default: a SQLite file in a fresh temporary folder, removed on Ctrl-C). The
//! listening address is printed on stderr.

use std::error::Error;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use revokd::store::{self, Durability};
use revokd::{Algorithm, IssueRequest, Key, KeySet, Revokd, Target, TokenType, Verified};
use revokd_axum::{Auth, Jwt, Rejection, RejectionKind};
use serde_json::{Value, json};

type BoxError = Box<dyn Error + Send + Sync>;

/// The signing secret (the seed's `secret_key = "secret"`; revokd wants at least 32
/// bytes for HS256). Every process of this example signs and verifies with it.
const SECRET: &[u8] = b"secret, change this! (at least 32 bytes long)";

/// Where sanic-jwt-extended looks for the refresh token (`refresh_jwt_header_key`).
const REFRESH_HEADER: &str = "X-Refresh-Token";

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
            let dir = tempfile::Builder::new().prefix("sanic_logout-").tempdir()?;
            (format!("sqlite://{}", dir.path().join("revokd.db").display()), Some(dir))
        }
    };
    let app = app(&url).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    // Never the credentials of a `postgres://user:password@…` URL.
    match url.rsplit_once('@') {
        Some((_, rest)) => eprintln!("sanic_logout: store …@{rest}"),
        None => eprintln!("sanic_logout: store {url}"),
    }
    eprintln!("sanic_logout: listening on http://{}", listener.local_addr()?);
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
    // sanic-jwt-extended's lifetimes (15 minutes, 30 days) are revokd's defaults; its
    // blacklist is checked for both token types, as revokd does by default.
    let revokd = Revokd::builder(keys, store::open(store_url, Durability::Full).await?).build().await?;
    let auth = Auth::builder(revokd)
        .flask_jwt_extended_responses()
        .unauthorized_loader(|r: &Rejection| sanic_response(r, "Authorization"))
        .invalid_token_loader(|r: &Rejection| sanic_response(r, "Authorization"))
        .expired_token_loader(|r: &Rejection| sanic_response(r, "Authorization"))
        .revoked_token_loader(|r: &Rejection| sanic_response(r, "Authorization"))
        .build()?;
    Ok(router(auth))
}

/// The seed's three routes behind the layer.
pub(crate) fn router(auth: Auth) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/protected", get(protected))
        .layer(auth.layer())
        .with_state(auth)
}

fn msg(status: StatusCode, m: &str) -> Response {
    (status, Json(json!({ "msg": m }))).into_response()
}

/// PyJWT 1.7's words for the malformed tokens a client commonly sends, by revokd's.
fn pyjwt_message(revokd_message: &str) -> Option<&'static str> {
    match revokd_message {
        "malformed token: a token has three parts separated by dots" => Some("Not enough segments"),
        "malformed token: header is not base64url" => Some("Invalid header padding"),
        "malformed token: payload is not base64url" => Some("Invalid payload padding"),
        "token signature is invalid" => Some("Signature verification failed"),
        _ => None,
    }
}

/// sanic-jwt-extended's answer to a refusal of the token in the header `name`.
fn sanic_response(r: &Rejection, name: &str) -> Response {
    let bad_header = || {
        let m = format!("Bad {name} header. Expected value 'Bearer <JWT>'");
        msg(StatusCode::UNPROCESSABLE_ENTITY, &m)
    };
    match r.kind() {
        // A header without the `Bearer` type, or not `Bearer <JWT>`: sanic-jwt-extended
        // refuses both as a bad header (422).
        RejectionKind::Missing if r.message().starts_with("Missing 'Bearer' type") => bad_header(),
        RejectionKind::Missing => msg(StatusCode::UNAUTHORIZED, &format!("Missing header \"{name}\"")),
        RejectionKind::Invalid if r.message().starts_with("Bad ") => bad_header(),
        RejectionKind::WrongType if name == REFRESH_HEADER => {
            msg(StatusCode::UNPROCESSABLE_ENTITY, "Only refresh tokens are allowed")
        }
        RejectionKind::WrongType => msg(StatusCode::UNPROCESSABLE_ENTITY, "Only access tokens are allowed"),
        RejectionKind::Expired => msg(StatusCode::UNAUTHORIZED, "Signature has expired"),
        RejectionKind::Revoked => msg(StatusCode::UNAUTHORIZED, "Token has been revoked"),
        _ => msg(StatusCode::UNPROCESSABLE_ENTITY, pyjwt_message(r.message()).unwrap_or(r.message())),
    }
}

/// The verified refresh token of `X-Refresh-Token: Bearer <jwt>` (sanic-jwt-extended's
/// `refresh_jwt_required`), refused with sanic-jwt-extended's answers.
pub(crate) struct RefreshHeader(Verified);

impl FromRequestParts<Auth> for RefreshHeader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &Auth) -> Result<Self, Response> {
        let value = parts.headers.get(REFRESH_HEADER).map(|v| v.to_str().unwrap_or("")).unwrap_or("");
        if value.is_empty() {
            return Err(msg(StatusCode::UNAUTHORIZED, &format!("Missing header \"{REFRESH_HEADER}\"")));
        }
        let token = match value.split_whitespace().collect::<Vec<_>>()[..] {
            ["Bearer", token] => token,
            _ => {
                let m = format!("Bad {REFRESH_HEADER} header. Expected value 'Bearer <JWT>'");
                return Err(msg(StatusCode::UNPROCESSABLE_ENTITY, &m));
            }
        };
        auth.revokd().verify(token, TokenType::Refresh).map(RefreshHeader).map_err(|e| match e {
            revokd::Error::WrongTokenType { .. } => {
                msg(StatusCode::UNPROCESSABLE_ENTITY, "Only refresh tokens are allowed")
            }
            revokd::Error::TokenRevoked => msg(StatusCode::UNAUTHORIZED, "Token has been revoked"),
            revokd::Error::TokenExpired => msg(StatusCode::UNAUTHORIZED, "Signature has expired"),
            other => {
                let m = other.to_string();
                msg(StatusCode::UNPROCESSABLE_ENTITY, pyjwt_message(&m).unwrap_or(&m))
            }
        })
    }
}

/// Login: `test`/`test`; an access and a refresh token.
async fn login(State(auth): State<Auth>, body: Bytes) -> Response {
    // sanic reads the body as JSON whatever its content type; an empty one is `None`.
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                let m =
                    json!({"description": "Bad Request", "status": 400, "message": "Failed when parsing body as json"});
                return (StatusCode::BAD_REQUEST, Json(m)).into_response();
            }
        }
    };
    let test = Value::from("test");
    if body.get("username") != Some(&test) || body.get("password") != Some(&test) {
        return msg(StatusCode::UNAUTHORIZED, "Bad username or password");
    }
    match auth.issue(IssueRequest::new("test")).await {
        // Seed bug, ported by intent: the seed hands out no refresh token.
        Ok(pair) => {
            Json(json!({"access_token": pair.access_token, "refresh_token": pair.refresh_token})).into_response()
        }
        Err(e) => internal(&e),
    }
}

/// Logout: revokes the refresh token of `X-Refresh-Token`.
async fn logout(State(auth): State<Auth>, RefreshHeader(v): RefreshHeader) -> Response {
    // Seed bug, ported by intent: the seed's `JWT.revoke(token)` does not exist.
    let target = Target::Jti { iss: None, jti: v.claims.jti.clone(), exp: Some(v.claims.exp) };
    match auth.revokd().revoke(target, None, "holder").await {
        Ok(_) => Json(json!({"msg": "Goodbye"})).into_response(),
        Err(e) => internal(&e),
    }
}

/// The token's identity, type, payload and expiry.
async fn protected(jwt: Jwt) -> Response {
    let claims = jwt.claims();
    let raw_data = match serde_json::to_value(claims) {
        Ok(v) => v,
        Err(e) => return internal(&e),
    };
    Json(json!({
        "identity": jwt.identity(),
        "type": "access",
        "raw_data": raw_data,
        "exp": python_utc(claims.exp),
    }))
    .into_response()
}

/// `str(datetime.utcfromtimestamp(secs))`: `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn python_utc(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (never negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A store failure: 500, the reason in the log only.
fn internal(e: &dyn Error) -> Response {
    eprintln!("sanic_logout: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"msg": "Internal Server Error"}))).into_response()
}
