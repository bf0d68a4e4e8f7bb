//! Shared helpers: a `Revokd` on a manual clock, an app with one route per extractor,
//! and a request helper.

#[path = "../../../revokd/tests/common/backends.rs"]
pub(crate) mod backends;
pub(crate) mod procs;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::{delete, get, post};
use http_body_util::BodyExt;
use revokd::clock::ManualClock;
use revokd::store::{self, Durability};
use revokd::{Algorithm, IssueRequest, Key, KeySet, Revokd, TokenPair};
use revokd_axum::{Auth, AuthBuilder, CurrentUser, FreshJwt, Jwt, OptionalJwt, RefreshJwt};
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-01-01T00:00:00Z in milliseconds.
pub(crate) const START_MS: u64 = 1_767_225_600_000;

pub(crate) struct Fixture {
    pub(crate) revokd: Revokd,
    pub(crate) clock: ManualClock,
}

pub(crate) async fn fixture() -> Fixture {
    fixture_on("memory://").await
}

pub(crate) async fn fixture_on(url: &str) -> Fixture {
    let keys = KeySet::new()
        .with(Key::hmac("k1", Algorithm::HS256, b"a secret of at least thirty-two bytes!").unwrap())
        .unwrap();
    let clock = ManualClock::new(START_MS);
    let revokd = Revokd::builder(keys, store::open(url, Durability::Process).await.unwrap())
        .clock(Arc::new(clock.clone()))
        .poll_interval(None)
        .prune_interval(None)
        .build()
        .await
        .unwrap();
    Fixture { revokd, clock }
}

/// Issues a pair for `sub` (fresh), through `auth` so that loaders and csrf apply.
pub(crate) async fn login(auth: &Auth, sub: &str) -> TokenPair {
    auth.issue(IssueRequest::new(sub).fresh(true)).await.unwrap()
}

#[derive(serde::Deserialize)]
pub(crate) struct Role {
    pub(crate) role: String,
}

/// One route per extractor, and the revoke helpers.
pub(crate) fn app(auth: &Auth) -> Router {
    Router::new()
        .route(
            "/protected",
            get(|jwt: Jwt| async move { axum::Json(json!({"sub": jwt.identity(), "at": jwt.location().as_str()})) })
                .post(|jwt: Jwt| async move { jwt.identity().to_owned() }),
        )
        .route(
            "/optional",
            get(|OptionalJwt(jwt): OptionalJwt| async move {
                axum::Json(json!({"sub": jwt.map(|j| j.identity().to_owned())}))
            }),
        )
        .route("/fresh", get(|FreshJwt(jwt): FreshJwt| async move { jwt.identity().to_owned() }))
        .route(
            "/refresh",
            post(|RefreshJwt(jwt): RefreshJwt, body: Option<axum::Json<Value>>| async move {
                axum::Json(json!({"sub": jwt.identity(), "type": jwt.claims().token_type, "body": body.map(|b| b.0)}))
            }),
        )
        .route("/typed", get(|jwt: Jwt<Role>| async move { jwt.custom.role.clone() }))
        .route("/user", get(|CurrentUser(user): CurrentUser<String>| async move { user }))
        .route(
            "/logout",
            delete(|jwt: Jwt| async move { jwt.revoke().await.map(|r| r.kind.to_string()).map_err(|e| e.to_string()) }),
        )
        .route(
            "/logout/family",
            delete(|jwt: Jwt| async move {
                jwt.revoke_family().await.map(|r| r.kind.to_string()).map_err(|e| e.to_string())
            }),
        )
        .route(
            "/logout/all",
            delete(|jwt: Jwt| async move {
                jwt.revoke_subject().await.map(|r| r.kind.to_string()).map_err(|e| e.to_string())
            }),
        )
        .layer(auth.layer())
}

pub(crate) fn auth(revokd: &Revokd, f: impl FnOnce(AuthBuilder) -> AuthBuilder) -> Auth {
    f(Auth::builder(revokd.clone())).build().unwrap()
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

pub(crate) async fn call(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Answer { status: parts.status, headers: parts.headers, text: String::from_utf8_lossy(&bytes).into_owned() }
}

pub(crate) fn get_with(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
}

pub(crate) fn bare(method: &str, uri: &str) -> Request<Body> {
    Request::builder().method(method).uri(uri).body(Body::empty()).unwrap()
}
