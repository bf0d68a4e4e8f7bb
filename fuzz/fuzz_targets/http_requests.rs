//! The service's HTTP boundary: a request of the fuzzer's choosing (method, one of the
//! API's routes plus an arbitrary tail, content type, credentials, body) through the
//! real router of `revokd serve` (memory store, an admin token, an HS256 key, a client).
//! Never a panic, never a 500, and every answer with a body is JSON (API.md: "every
//! rejection is JSON"), apart from the Prometheus text of `/metrics`.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{Method, Request, header};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use revokd_server::app::{self, Shared};
use revokd_server::config::{Overrides, Settings};
use tower::ServiceExt;

const ADMIN: &str = "admin-token-0123456789";
const ROUTES: &[&str] = &[
    "/v1/verify",
    "/v1/verify/",
    "/v1/tokens",
    "/v1/tokens/refresh",
    "/v1/revocations",
    "/v1/revocations/snapshot",
    "/v1/revocations/stream",
    "/v1/subjects/alice/tokens",
    "/v1/subjects/alice/logout",
    "/v1/me/tokens",
    "/v1/me/logout",
    "/oauth/revoke",
    "/oauth/introspect",
    "/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server",
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/",
];
const TYPES: &[&str] =
    &["application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/json; charset=utf-8"];

#[derive(Debug, Arbitrary)]
struct Input {
    method: u8,
    route: u8,
    tail: String,
    content_type: u8,
    auth: u8,
    body: Vec<u8>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap())
}

fn state() -> &'static Shared {
    static STATE: OnceLock<Shared> = OnceLock::new();
    STATE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("revokd-fuzz-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("revokd.toml");
        std::fs::write(
            &path,
            format!(
                "store = \"memory://\"\nadmin_tokens = [\"{ADMIN}\"]\nissuer = \"https://revokd.test\"\n\
                 rate_limit_per_minute = 0\n\
                 [[keys]]\nkid = \"k1\"\nalgorithm = \"HS256\"\nsecret = \"0123456789abcdef0123456789abcdef\"\n\
                 [[clients]]\nid = \"app\"\nsecret = \"app-secret-0123456789\"\n"
            ),
        )
        .unwrap();
        let settings = Settings::resolve(Some(&path), std::iter::empty(), &Overrides::default()).unwrap();
        runtime().block_on(app::start(settings)).unwrap()
    })
}

/// Built once: building it renders the OpenAPI document, which would cost more than
/// the request.
fn router() -> &'static axum::Router {
    static ROUTER: OnceLock<axum::Router> = OnceLock::new();
    ROUTER.get_or_init(|| app::router(state().clone()))
}

fuzz_target!(|input: Input| {
    let methods = [Method::GET, Method::POST, Method::DELETE, Method::PUT, Method::PATCH, Method::HEAD];
    let method = methods[input.method as usize % methods.len()].clone();
    let mut uri = ROUTES[input.route as usize % ROUTES.len()].to_owned();
    uri.push_str(&input.tail);
    let Ok(uri) = uri.parse::<axum::http::Uri>() else { return };
    let mut req = Request::builder().method(method).uri(uri);
    let ct = TYPES[input.content_type as usize % TYPES.len()];
    if !ct.is_empty() {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    req = match input.auth % 4 {
        0 => req,
        1 => req.header(header::AUTHORIZATION, format!("Bearer {ADMIN}")),
        2 => req.header(header::AUTHORIZATION, "Basic YXBwOmFwcC1zZWNyZXQtMDEyMzQ1Njc4OQ=="),
        _ => req.header(header::AUTHORIZATION, "Bearer not-a-token"),
    };
    let Ok(req) = req.body(Body::from(input.body)) else { return };
    let is_stream = req.uri().path() == "/v1/revocations/stream";
    let router = router().clone();
    runtime().block_on(async move {
        let res = router.oneshot(req).await.expect("the router is infallible");
        let status = res.status();
        assert_ne!(status.as_u16(), 500, "a 500");
        if is_stream && status.is_success() {
            return; // an event stream never ends
        }
        let ct = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let body = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        if !body.is_empty() && !ct.starts_with("text/plain") {
            assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok(), "{status}: not JSON: {ct} {body:?}");
        }
    });
});
