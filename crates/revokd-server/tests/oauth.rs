//! RFC 7009 revocation and RFC 7662 introspection.

use serde_json::{Value, json};

use crate::common::{ADMIN, Server, config};

const CLIENT: (&str, &str) = ("app", "app-secret-0123456789");

#[tokio::test]
async fn revoke_answers_alike_for_every_token_and_revokes_what_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("")), &[]);
    let c = &s.http;
    let url = s.url("/oauth/revoke");
    let one = s.login(json!({"sub": "alice"})).await;
    let two = s.login(json!({"sub": "bob"})).await;

    // a client revokes an access token: 200, empty
    let res = c
        .post(&url)
        .basic_auth(CLIENT.0, Some(CLIENT.1))
        .form(&[("token", one["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().is_empty());
    assert_eq!(s.verify(one["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    // garbage, unknown, already revoked: the same answer
    for t in ["garbage", "a.b.c", one["access_token"].as_str().unwrap()] {
        let res =
            c.post(&url).basic_auth(CLIENT.0, Some(CLIENT.1)).form(&[("token", t), ("token_type_hint", "x")]).send();
        let res = res.await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().is_empty());
    }
    // the holder, no credentials, logs out with its refresh token: the family ends
    let res = c.post(&url).form(&[("token", two["refresh_token"].as_str().unwrap())]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(s.verify(two["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    // missing token, bad credentials
    let res = c.post(&url).basic_auth(CLIENT.0, Some(CLIENT.1)).form(&[("x", "y")]).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"], "invalid_request");
    assert!(e["error_description"].is_string());
    let res = c.post(&url).basic_auth(CLIENT.0, Some("wrong")).form(&[("token", "t")]).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Basic realm=\"revokd\"");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");
    let res = c.post(&url).bearer_auth("not-an-admin-token-123").form(&[("token", "t")]).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"revokd\"");
    // wrong content type, and no body at all: RFC 6749 shape, invalid_request
    let res = c.post(&url).basic_auth(CLIENT.0, Some(CLIENT.1)).json(&json!({"token": "t"})).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_request");
    let res = c.post(&url).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.unwrap();
    assert_eq!((e["error"].as_str(), e["error_description"].is_string()), (Some("invalid_request"), true));
    // bad credentials win over a bad body
    let res = c.post(&url).basic_auth(CLIENT.0, Some("wrong")).body("{").send().await.unwrap();
    assert_eq!(res.status(), 401);
    // percent-encoded Basic credentials (RFC 6749 §2.3.1)
    let res =
        c.post(&url).basic_auth("app", Some("app-secret-0123456789")).form(&[("token", "t")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn introspection_is_for_clients_and_admins_and_reports_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("")), &[]);
    let c = &s.http;
    let url = s.url("/oauth/introspect");
    let one = s.login(json!({"sub": "alice"})).await;
    let access = one["access_token"].as_str().unwrap();
    let res = c.post(&url).form(&[("token", access)]).send().await.unwrap();
    assert_eq!(res.status(), 401, "no holder mode");
    let info: Value = c
        .post(&url)
        .basic_auth(CLIENT.0, Some(CLIENT.1))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["active"], true);
    assert_eq!(
        (info["sub"].as_str(), info["token_type"].as_str(), info["type"].as_str()),
        (Some("alice"), Some("Bearer"), Some("access"))
    );
    for k in ["jti", "exp", "iat", "nbf", "iss"] {
        assert!(info.get(k).is_some(), "{k}");
    }
    let refresh: Value = c
        .post(&url)
        .bearer_auth(ADMIN)
        .form(&[("token", one["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((refresh["active"].as_bool(), refresh["type"].as_str()), (Some(true), Some("refresh")));
    c.post(s.url("/oauth/revoke"))
        .basic_auth(CLIENT.0, Some(CLIENT.1))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    let info: Value = c
        .post(&url)
        .basic_auth(CLIENT.0, Some(CLIENT.1))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info, json!({"active": false}));
    let garbage: Value =
        c.post(&url).bearer_auth(ADMIN).form(&[("token", "x")]).send().await.unwrap().json().await.unwrap();
    assert_eq!(garbage, json!({"active": false}));
}

/// An answer sent before the request's body was read (bad client credentials are refused
/// first) says `Connection: close`, so a client never writes its next request into a
/// connection the server is closing; a request whose body was read keeps the connection.
#[tokio::test]
async fn an_early_refusal_closes_the_connection_and_says_so() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("")), &[]);
    let addr = s.base.trim_start_matches("http://").to_owned();
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode("app:wrong-secret-0123456789")
    };
    let head = |conn: &mut std::net::TcpStream| {
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed before an answer");
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).to_lowercase()
    };
    // Headers only; the body would follow.
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /oauth/introspect HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\n"
    )
    .unwrap();
    let answer = head(&mut conn);
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    // With the body read (good credentials), the connection stays open for the next one.
    let good = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode("app:app-secret-0123456789")
    };
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /oauth/introspect HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {good}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\ntoken=abc"
    )
    .unwrap();
    let answer = head(&mut conn);
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(!answer.contains("connection: close"), "{answer}");
}
