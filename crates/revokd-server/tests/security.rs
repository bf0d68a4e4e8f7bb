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
    let key = revokd::Key::hmac("k1", revokd::Algorithm::HS256, crate::common::SECRET.as_bytes()).unwrap();
    let tokens = revokd::token::Tokens::new(revokd::KeySet::new().with(key).unwrap(), revokd::TokenPolicy::default());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let ms = now.as_millis() as u64;
    let jti = uuid::Uuid::from_bytes({
        let mut b = *uuid::Uuid::now_v7().as_bytes();
        b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        b
    });
    let claims: revokd::Claims = serde_json::from_value(json!({
        "jti": jti.to_string(), "sub": "alice\r\nX-Injected: 1", "iat": now.as_secs(),
        "exp": now.as_secs() + 60, "type": "access", "iss": "https://revokd.test",
    }))
    .unwrap();
    let token = tokens.sign(&claims).unwrap();
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
