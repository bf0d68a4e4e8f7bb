//! Boundaries of docs/SECURITY.md's review that no other test file covers.

use serde_json::json;

use crate::common::{Server, config};

/// A subject (or any claim copied into an `X-Auth-*` header) with bytes a header cannot
/// carry never becomes a header: issuing refuses it, and a token minted elsewhere with
/// one is refused at `/v1/verify` rather than passed on without its identity.
#[tokio::test]
async fn identity_headers_are_never_built_from_unsafe_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("issuer = \"https://revokd.test\"")), &[]);
    let res = s
        .http
        .post(s.url("/v1/tokens"))
        .bearer_auth(&s.admin)
        .json(&json!({"sub": "alice\r\nX-Injected: 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"], "invalid_request");
    // a token with such a subject, signed with the service's own key
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let token = crate::common::sign_own(json!({
        "sub": "alice\r\nX-Injected: 1", "iat": now, "exp": now + 60, "type": "access", "iss": "https://revokd.test",
    }));
    let (st, b, h) = s.verify(&token).await;
    assert_eq!((st, b["error"].as_str()), (401, Some("token_invalid")), "{b}");
    assert!(h.keys().all(|k| !k.as_str().starts_with("x-auth") && k != "x-injected"), "{h:?}");
    assert!(!s.log_text().contains("panicked"));
}

/// A client that sends its request headers slowly (or never finishes them) is cut off
/// after `request_timeout`, rather than holding a connection for as long as it likes.
#[tokio::test]
async fn a_client_dribbling_its_headers_is_cut_off() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("request_timeout = 1")), &[]);
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
    slow.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 512];
    // the server closes the connection (an answer, if any, is not a 200)
    let n = slow.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(!text.contains(" 200 "), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "still open after {:?}", started.elapsed());
    // and the service still answers everyone else
    assert_eq!(s.http.get(s.url("/healthz")).send().await.unwrap().status(), 200);
}

/// Secrets and tokens never reach the log, even at `RUST_LOG=trace` (every crate's
/// trace output, hyper's and the stores' included): a full round of what callers send
/// (admin and feed tokens, the HMAC key, a client's Basic credentials, access and refresh
/// tokens through every endpoint that takes one, wrong credentials too). The test checks
/// its own log; `scripts/check-logs.sh` checks it again with every other kept log.
#[tokio::test]
async fn secrets_are_not_logged_even_at_trace_level() {
    use crate::common::{ADMIN, FEED, SECRET};
    let dir = tempfile::tempdir().unwrap();
    let toml = config("issuer = \"https://revokd.test\"");
    let s = Server::start_env(dir.path(), Some(&toml), &[], &[("RUST_LOG", "trace")]);
    let c = &s.http;
    let pair = s.login(json!({"sub": "alice"})).await;
    let (access, refresh) = (pair["access_token"].as_str().unwrap(), pair["refresh_token"].as_str().unwrap());
    assert_eq!(s.verify(access).await.0, 200);
    let next: serde_json::Value =
        c.post(s.url("/v1/tokens/refresh")).bearer_auth(refresh).send().await.unwrap().json().await.unwrap();
    let access2 = next["access_token"].as_str().unwrap().to_owned();
    let refresh2 = next["refresh_token"].as_str().unwrap().to_owned();
    let basic = ("app", "app-secret-0123456789");
    for path in ["/oauth/introspect", "/oauth/revoke"] {
        let res = c.post(s.url(path)).basic_auth(basic.0, Some(basic.1)).form(&[("token", &access2)]).send();
        assert_eq!(res.await.unwrap().status(), 200, "{path}");
        // the wrong secret, and a token as a client secret
        let res = c.post(s.url(path)).basic_auth(basic.0, Some(&refresh2)).form(&[("token", access)]).send();
        assert_eq!(res.await.unwrap().status(), 401, "{path}");
    }
    assert_eq!(c.get(s.url("/v1/me/tokens")).bearer_auth(access).send().await.unwrap().status(), 200);
    assert_eq!(c.post(s.url("/v1/me/logout")).bearer_auth(access).send().await.unwrap().status(), 204);
    let res = c.get(s.url("/v1/revocations/snapshot")).bearer_auth(FEED).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let bob = s.login(json!({"sub": "bob"})).await;
    s.revoke(json!({"token": bob["access_token"]})).await;
    // credentials in the wrong places: an admin token as a user token and the reverse,
    // the HMAC key as a bearer token
    for t in [ADMIN, SECRET, FEED] {
        assert_eq!(s.verify(t).await.0, 401);
    }
    let res = c.get(s.url("/v1/revocations")).bearer_auth(&refresh2).send().await.unwrap();
    assert_eq!(res.status(), 401);
    // the request and connection spans close asynchronously: give them a moment
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = s.log_text();
    assert!(log.contains(" TRACE ") && log.contains(" DEBUG "), "trace logging did not take effect:\n{log}");
    for (what, secret) in [
        ("the admin token", ADMIN),
        ("the feed token", FEED),
        ("the HMAC key", SECRET),
        ("the client secret", basic.1),
        ("an access token", access),
        ("a refresh token", refresh),
        ("a refreshed access token", &access2),
        ("a refreshed refresh token", &refresh2),
    ] {
        if let Some(line) = log.lines().find(|l| l.contains(secret)) {
            panic!("{what} is in the trace log: {line}");
        }
    }
    let basic_header =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{}:{}", basic.0, basic.1));
    assert!(!log.contains(&basic_header), "the Basic credentials are in the trace log");
}

/// Cookie mode's CSRF check cannot be skipped by a method header a client adds: every
/// method the request names counts (both method headers, every value, the request's
/// own), and any that is not a safe method needs the double submit. Behind a proxy that
/// sets only `X-Original-Method` and passes the client's other headers on, a client's
/// `X-Forwarded-Method: GET` used to win and skip the check.
#[tokio::test]
async fn a_client_cannot_talk_its_way_past_the_csrf_check() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("cookies = true")), &[]);
    let pair = s.login(json!({"sub": "alice"})).await;
    let csrf = pair["csrf"].as_str().unwrap().to_owned();
    let cookie = format!("access_token_cookie={}", pair["access_token"].as_str().unwrap());
    let call = |method: &str, headers: &[(&str, &str)]| {
        let mut r = s
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), s.url("/v1/verify"))
            .header("cookie", &cookie);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    let needs_csrf: &[(&str, &[(&str, &str)])] = &[
        ("GET", &[("x-forwarded-method", "GET"), ("x-original-method", "POST")]),
        ("GET", &[("x-original-method", "GET"), ("x-forwarded-method", "DELETE")]),
        ("POST", &[("x-forwarded-method", "GET")]),
        ("GET", &[("x-forwarded-method", "GET, POST")]),
        ("GET", &[("x-forwarded-method", "GET"), ("x-forwarded-method", "PUT")]),
        ("GET", &[("x-forwarded-method", "PROPFIND")]),
        ("GET", &[("x-forwarded-method", "")]),
        ("GET", &[("x-forwarded-method", "get")]),
        ("MKCOL", &[]),
    ];
    for (method, headers) in needs_csrf {
        assert_eq!(call(method, headers).await, 401, "{method} {headers:?} without X-CSRF-TOKEN");
        let mut with = headers.to_vec();
        with.push(("x-csrf-token", &csrf));
        assert_eq!(call(method, &with).await, 200, "{method} {headers:?} with X-CSRF-TOKEN");
    }
    let safe: &[(&str, &[(&str, &str)])] = &[
        ("GET", &[]),
        ("HEAD", &[]),
        ("OPTIONS", &[("x-forwarded-method", "OPTIONS")]),
        ("GET", &[("x-forwarded-method", " GET "), ("x-original-method", "HEAD")]),
    ];
    for (method, headers) in safe {
        assert_eq!(call(method, headers).await, 200, "{method} {headers:?} needs no CSRF value");
    }
}
