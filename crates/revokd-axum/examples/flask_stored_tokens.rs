//! flask-jwt-extended's older stored-tokens example (seed 004) on revokd-axum.
//!
//! `cargo run -p revokd-axum --example flask_stored_tokens`, then:
//!
//! ```text
//! curl -s -XPOST localhost:3000/login -H 'content-type: application/json' -d '{"username":"test","password":"test"}'
//! curl -s localhost:3000/auth/tokens -H "Authorization: Bearer $ACCESS"             # test's tokens
//! curl -s -XPUT localhost:3000/auth/tokens/revoke/$JTI -H "Authorization: Bearer $ACCESS"
//! curl -s -XPOST localhost:3000/refresh -H "Authorization: Bearer $REFRESH"         # 401 if $JTI was its jti
//! curl -s -XPUT localhost:3000/auth/tokens/unrevoke/$JTI -H "Authorization: Bearer $ACCESS"
//! ```
//!
//! Routes, methods, statuses and JSON bodies are the Python app's when it runs on
//! flask-jwt-extended 4.7.4 (`flask_stored_tokens.py` next to this file, the seed adapted
//! to 4.x with its 1.x token store made an in-memory dict); the integration test
//! `flask_stored_tokens` sends both the same requests. The token lists come from revokd's
//! registry ([`Revokd::tokens_of`]), each entry in the 1.x store's format
//! `{"token": {"jti", "identity", "type", "iat", "exp"}, "revoked": bool}`, `revoked`
//! meaning a live revocation of that jti (whether or not its type is checked).
//!
//! As in the seed, only refresh tokens are checked against revocation
//! (`JWT_BLACKLIST_TOKEN_CHECKS = 'refresh'`), and access tokens live 5 minutes: a
//! revoked access token is listed as revoked but still accepted until it expires.
//!
//! Seed bugs, ported by intent: its login accepts any password for `test` (`and` where
//! `or` is meant); its revoke/unrevoke routes call `jwt_get_identity` and
//! `get_stored_token`, which it never defines (meant: the caller's identity, and the
//! stored token of that jti, 404 `Token not found` when there is none or it is another
//! user's). `/auth/all-tokens` is unprotected in the seed, whose comment says only
//! trusted users (administrators) should reach it: here, as flask-jwt-extended documents
//! an admin-only route, every token carries an `is_administrator` claim, true for the
//! user `admin` (password `admin`; the seed has only `test`/`test`), and anyone else gets
//! 403 `{"msg": "Admins only!"}`.
//!
//! Environment: `LISTEN` (default `127.0.0.1:3000`); `REVOKD_STORE`, a revokd store URL
//! (default: a SQLite file in a fresh temporary folder, removed on Ctrl-C). The
//! listening address is printed on stderr.

use std::error::Error;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use revokd::store::{self, Durability};
use revokd::{Algorithm, IssueRequest, Key, KeySet, Revokd, RuleKind, Target, TokenType};
use revokd_axum::{Auth, AuthBuilder, Jwt, RefreshJwt, Rejection, flask_jwt_extended_response};
use serde_json::{Map, Value, json};

type BoxError = Box<dyn Error + Send + Sync>;

/// The signing secret (the seed's `app.secret_key = 'super-secret'`; revokd wants at
/// least 32 bytes for HS256). Every process of this example signs and verifies with it.
const SECRET: &[u8] = b"super-secret, change this! (at least 32 bytes)";

/// The users and their passwords: the seed's `test`, and `admin`, the administrator.
const USERS: &[(&str, &str)] = &[("test", "test"), ("admin", "admin")];

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
            let dir = tempfile::Builder::new().prefix("flask_stored_tokens-").tempdir()?;
            (format!("sqlite://{}", dir.path().join("revokd.db").display()), Some(dir))
        }
    };
    let app = app(&url).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    // Never the credentials of a `postgres://user:password@…` URL.
    match url.rsplit_once('@') {
        Some((_, rest)) => eprintln!("flask_stored_tokens: store …@{rest}"),
        None => eprintln!("flask_stored_tokens: store {url}"),
    }
    eprintln!("flask_stored_tokens: listening on http://{}", listener.local_addr()?);
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
    // The seed's settings: access tokens live 5 minutes, only refresh tokens are checked
    // against revocation; the registry (on by default) is its token store.
    let revokd = Revokd::builder(keys, store::open(store_url, Durability::Full).await?)
        .access_ttl(300)
        .check_types(&[TokenType::Refresh])
        .record_tokens(true)
        .build()
        .await?;
    let auth = flask_auth(Auth::builder(revokd)).additional_claims_loader(|sub| {
        let mut claims = Map::new();
        claims.insert("is_administrator".into(), Value::Bool(sub == "admin"));
        claims
    });
    Ok(router(auth.build()?))
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

/// The seed's seven routes behind the layer.
pub(crate) fn router(auth: Auth) -> Router {
    Router::new()
        .route("/login", post(login).options(allow("POST, OPTIONS")))
        .route("/refresh", post(refresh).options(allow("POST, OPTIONS")))
        .route("/auth/tokens", get(list_identity_tokens).options(allow("HEAD, GET, OPTIONS")))
        .route("/auth/all-tokens", get(list_all_tokens).options(allow("HEAD, GET, OPTIONS")))
        .route("/auth/tokens/revoke/{jti}", put(revoke).options(allow("PUT, OPTIONS")))
        .route("/auth/tokens/unrevoke/{jti}", put(unrevoke).options(allow("PUT, OPTIONS")))
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

/// Login: `test`/`test` and `admin`/`admin`.
async fn login(State(auth): State<Auth>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match json_body(&headers, &body) {
        Ok(v) => v,
        Err(refused) => return refused.into_response(),
    };
    // On a JSON body that is not an object (`[]`, `null`) the seed's `request.json.get`
    // raises and Flask answers 500; this answers 400.
    let Some(fields) = body.as_object() else {
        return (StatusCode::BAD_REQUEST, "Bad Request").into_response();
    };
    // Seed bug, ported by intent: the seed's `username != 'test' and password != 'test'`
    // lets any password through for `test`; both must match.
    let user = USERS.iter().find(|(name, password)| {
        fields.get("username").and_then(Value::as_str) == Some(name)
            && fields.get("password").and_then(Value::as_str) == Some(password)
    });
    let Some((name, _)) = user else {
        return (StatusCode::UNAUTHORIZED, Json(json!({"msg": "Bad username or password"}))).into_response();
    };
    match auth.issue(IssueRequest::new(*name)).await {
        Ok(pair) => {
            Json(json!({"access_token": pair.access_token, "refresh_token": pair.refresh_token})).into_response()
        }
        Err(e) => internal(&e),
    }
}

/// The lifetime of the refresh tokens `/refresh` issues and throws away, seconds: their
/// mark in the registry, which [`stored_tokens`] leaves out.
///
/// revokd issues tokens in pairs and records both; flask-jwt-extended's `/refresh`
/// creates an access token only, and the seed's store never holds a refresh token from
/// it. Until revokd can issue an access token alone, the unused refresh token gets the
/// shortest lifetime, which no handed-out refresh token has (they live 30 days).
const UNUSED_REFRESH_TTL: u64 = 1;

/// A new access token for a refresh token's holder; a revoked refresh token is refused.
async fn refresh(State(auth): State<Auth>, RefreshJwt(jwt): RefreshJwt) -> Response {
    // In the refresh token's family (so that revoking the family ends it too).
    let req = IssueRequest {
        family: jwt.claims().fam.clone(),
        refresh_ttl: Some(UNUSED_REFRESH_TTL),
        ..IssueRequest::new(jwt.identity())
    };
    match auth.issue(req).await {
        Ok(pair) => Json(json!({"access_token": pair.access_token})).into_response(),
        Err(e) => internal(&e),
    }
}

/// The registry's tokens of `sub` (all when `None`), in the seed's stored format.
async fn stored_tokens(revokd: &Revokd, sub: Option<&str>) -> Result<Vec<Value>, revokd::Error> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = revokd.tokens_of(sub, cursor.as_deref(), 1000).await?;
        for t in page.items {
            let issued = &t.token;
            if issued.token_type == TokenType::Refresh && issued.exp.saturating_sub(issued.iat) == UNUSED_REFRESH_TTL {
                continue; // never handed out (see UNUSED_REFRESH_TTL)
            }
            // `revoked` is the token's own revocation, as the seed's flag was: the
            // status does not say it for access tokens, which are not checked.
            let rule = revokd.store().live_rule(RuleKind::Jti, None, &t.token.jti).await?;
            let t = t.token;
            out.push(json!({
                "token": {"jti": t.jti, "identity": t.sub, "type": t.token_type, "iat": t.iat, "exp": t.exp},
                "revoked": rule.is_some() || (t.token_type == TokenType::Refresh && revokd.status_of(&t) == "revoked"),
            }));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Endpoint for listing tokens that have the same identity as you.
async fn list_identity_tokens(State(auth): State<Auth>, jwt: Jwt) -> Response {
    match stored_tokens(auth.revokd(), Some(jwt.identity())).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => internal(&e),
    }
}

/// Endpoint for listing all tokens: administrators only.
async fn list_all_tokens(State(auth): State<Auth>, jwt: Jwt) -> Response {
    if jwt.custom.get("is_administrator") != Some(&Value::Bool(true)) {
        return (StatusCode::FORBIDDEN, Json(json!({"msg": "Admins only!"}))).into_response();
    }
    match stored_tokens(auth.revokd(), None).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => internal(&e),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"msg": "Token not found"}))).into_response()
}

/// The registry's entry for `jti` if it is one of `sub`'s tokens.
async fn own_token(revokd: &Revokd, sub: &str, jti: &str) -> Result<Option<revokd::store::IssuedToken>, Response> {
    match revokd.store().token(jti).await {
        Ok(t) => Ok(t.filter(|t| t.sub == sub)),
        Err(e) => Err(internal(&e)),
    }
}

/// Endpoint for allowing users to revoke their tokens; another user's: 404.
async fn revoke(State(auth): State<Auth>, jwt: Jwt, Path(jti): Path<String>) -> Response {
    let revokd = auth.revokd();
    let token = match own_token(revokd, jwt.identity(), &jti).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(),
        Err(refused) => return refused,
    };
    let target = Target::Jti { iss: None, jti: token.jti, exp: Some(token.exp) };
    match revokd.revoke(target, None, format!("subject:{}", jwt.identity())).await {
        Ok(_) => Json(json!({"msg": "Token successfully revoked"})).into_response(),
        Err(e) => internal(&e),
    }
}

/// Endpoint for allowing users to unrevoke their tokens; another user's: 404. Like the
/// seed's flag, unrevoking a token that is not revoked succeeds.
async fn unrevoke(State(auth): State<Auth>, jwt: Jwt, Path(jti): Path<String>) -> Response {
    let revokd = auth.revokd();
    let token = match own_token(revokd, jwt.identity(), &jti).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(),
        Err(refused) => return refused,
    };
    // In this app only a token's owner revokes it by jti, so the live rule is theirs.
    match revokd.store().live_rule(RuleKind::Jti, None, &token.jti).await {
        Ok(Some(rule)) => match revokd.unrevoke(&rule.id).await {
            Ok(_) | Err(revokd::Error::NotFound) => {}
            Err(e) => return internal(&e),
        },
        Ok(None) => {}
        Err(e) => return internal(&e),
    }
    Json(json!({"msg": "Token successfully unrevoked"})).into_response()
}

/// Refuses missing and invalid access tokens.
async fn protected(_jwt: Jwt) -> Json<Value> {
    Json(json!({"hello": "world"}))
}

/// A store failure: 500, the reason in the log only.
fn internal(e: &dyn Error) -> Response {
    eprintln!("flask_stored_tokens: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"msg": "Internal Server Error"}))).into_response()
}
