//! The service's HTTP boundary: a request of the fuzzer's choosing (method, one of the
//! API's routes plus an arbitrary tail, content type, credentials, a forwarded method,
//! body) through the real router of `revokd serve` (memory store, cookie mode, an admin
//! token, a feed token, an HS256 key, a client). Credentials include a live holder's
//! access and refresh tokens, as bearer tokens and as the access cookie with and without
//! the right CSRF value, so the holder endpoints, refresh and cookie mode are explored
//! past authentication. Never a panic, never a 500, and every answer with a body is
//! JSON (API.md: "every rejection is JSON"), apart from the Prometheus text of `/metrics`.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

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
    "/metrics",
];
const TYPES: &[&str] =
    &["application/json", "application/x-www-form-urlencoded", "text/plain", "", "application/json; charset=utf-8"];
const FEED: &str = "feed-token-0123456789ab";
const CLIENT_BASIC: &str = "Basic YXBwOmFwcC1zZWNyZXQtMDEyMzQ1Njc4OQ==";
const FORWARDED: &[&str] = &["", "GET", "POST", "DELETE", "get", "POST, GET"];

/// The request, from the fuzzer's bytes: `[method, route, content type, credentials,
/// forwarded method]`, then the tail of the path up to the first `\n`, then the body.
/// In the tail and the body, `$A`, `$R` and `$C` become a valid access token, refresh
/// token and CSRF value of the current holder.
#[derive(Debug)]
struct Input<'a> {
    method: u8,
    route: u8,
    content_type: u8,
    auth: u8,
    forwarded: u8,
    tail: &'a [u8],
    body: &'a [u8],
}

impl<'a> Input<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let (head, rest) = data.split_at_checked(5)?;
        let (tail, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        Some(Input {
            method: head[0],
            route: head[1],
            content_type: head[2],
            auth: head[3],
            forwarded: head[4],
            tail,
            body,
        })
    }
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
                "store = \"memory://\"\nadmin_tokens = [\"{ADMIN}\"]\nfeed_tokens = [\"{FEED}\"]\n\
                 issuer = \"https://revokd.test\"\nrate_limit_per_minute = 0\ncookies = true\n\
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

/// A holder's tokens: access, refresh, CSRF value.
#[derive(Clone)]
struct Holder {
    access: String,
    refresh: String,
    csrf: String,
}

/// A new holder every 256 inputs (inputs log out, refresh and revoke: a holder whose
/// tokens all died would leave the holder endpoints unexplored); a new subject each
/// time, so no holder piles up thousands of tokens.
fn holder() -> Holder {
    static CURRENT: Mutex<Option<(Holder, u32)>> = Mutex::new(None);
    let mut current = CURRENT.lock().unwrap();
    if let Some((h, uses)) = current.as_mut()
        && *uses < 256
    {
        *uses += 1;
        return h.clone();
    }
    static N: AtomicU64 = AtomicU64::new(0);
    let sub = format!("holder-{}", N.fetch_add(1, Ordering::Relaxed));
    let req = Request::post("/v1/tokens")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::json!({ "sub": sub }).to_string()))
        .unwrap();
    let router = router().clone();
    let pair: serde_json::Value = runtime().block_on(async move {
        let res = router.oneshot(req).await.unwrap();
        assert_eq!(res.status(), 201, "the harness could not log a holder in");
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
    });
    let field = |k: &str| pair[k].as_str().unwrap_or_default().to_owned();
    let h = Holder { access: field("access_token"), refresh: field("refresh_token"), csrf: field("csrf") };
    assert!(!h.csrf.is_empty(), "cookie mode returns a csrf value: {pair}");
    *current = Some((h.clone(), 1));
    h
}

fn fill(bytes: &[u8], h: &Holder) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let sub = match bytes.get(i..i + 2) {
            Some(b"$A") => Some(&h.access),
            Some(b"$R") => Some(&h.refresh),
            Some(b"$C") => Some(&h.csrf),
            _ => None,
        };
        match sub {
            Some(v) => {
                out.extend_from_slice(v.as_bytes());
                i += 2;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else { return };
    let h = holder();
    let methods = [Method::GET, Method::POST, Method::DELETE, Method::PUT, Method::PATCH, Method::HEAD];
    let method = methods[input.method as usize % methods.len()].clone();
    let mut uri = ROUTES[input.route as usize % ROUTES.len()].as_bytes().to_vec();
    uri.extend(fill(input.tail, &h));
    let Ok(uri) = axum::http::Uri::try_from(uri) else { return };
    let mut req = Request::builder().method(method).uri(uri);
    let ct = TYPES[input.content_type as usize % TYPES.len()];
    if !ct.is_empty() {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    req = match input.auth % 10 {
        0 => req,
        1 => req.header(header::AUTHORIZATION, format!("Bearer {ADMIN}")),
        2 => req.header(header::AUTHORIZATION, CLIENT_BASIC),
        3 => req.header(header::AUTHORIZATION, "Bearer not-a-token"),
        4 => req.header(header::AUTHORIZATION, format!("Bearer {}", h.access)),
        5 => req.header(header::AUTHORIZATION, format!("Bearer {}", h.refresh)),
        6 => req.header(header::AUTHORIZATION, format!("Bearer {FEED}")),
        7 => req.header(header::COOKIE, format!("access_token_cookie={}", h.access)).header("x-csrf-token", &h.csrf),
        8 => req.header(header::COOKIE, format!("access_token_cookie={}", h.access)).header("x-csrf-token", "wrong"),
        _ => req.header(header::COOKIE, format!("access_token_cookie={}; other=1", h.refresh)),
    };
    let fwd = FORWARDED[input.forwarded as usize % FORWARDED.len()];
    if !fwd.is_empty() {
        req = req.header("x-forwarded-method", fwd);
    }
    let Ok(req) = req.body(Body::from(fill(input.body, &h))) else { return };
    let path = req.uri().path().to_owned();
    let router = router().clone();
    runtime().block_on(async move {
        let res = router.oneshot(req).await.expect("the router is infallible");
        let status = res.status();
        assert_ne!(status.as_u16(), 500, "a 500 for {path}");
        if path == "/v1/revocations/stream" && status.is_success() {
            return; // an event stream never ends
        }
        let ct = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let body = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        // every body is JSON but the Prometheus text of /metrics
        if !body.is_empty() && path != "/metrics" {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
                "{status} for {path}: not JSON: {ct} {body:?}"
            );
        }
    });
});
