//! RFC 7009 revocation and RFC 7662 introspection.

use serde_json::{Value, json};

use crate::common::{ADMIN, SECRET, Server, claims, config, jti};

const CLIENT: (&str, &str) = ("app", "app-secret-0123456789");

/// A client whose id and secret both change under form-url-encoding (RFC 6749 §2.3.1):
/// `:` would split the id, `+` stands for a space, `%41` is an escape for `A`, and the
/// rest is non-ASCII or reserved.
const WEB: (&str, &str) = ("web:app", "s3cret+%41: é/=&0123456789");
/// `WEB`, form-url-encoded as a client must send it in Basic credentials.
const WEB_ENCODED: (&str, &str) = ("web%3Aapp", "s3cret%2B%2541%3A+%C3%A9%2F%3D%260123456789");

/// `config` with the `WEB` client too (TOML literal strings: written as they are).
fn config_with_web(extra: &str) -> String {
    format!("{}[[clients]]\nid = '{}'\nsecret = '{}'\n", config(extra), WEB.0, WEB.1)
}

/// What an answer shows a caller: status, headers and body, with `date` left out (its
/// value is the clock's current second, the same for any token; no other header is
/// left out). Headers sorted by name, so their order in the map does not matter; values
/// as their exact `Debug` text (every byte, escaped where not printable).
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status().as_u16();
    let mut headers: Vec<_> = res
        .headers()
        .iter()
        .filter(|(k, _)| *k != reqwest::header::DATE)
        .map(|(k, v)| (k.as_str().to_owned(), format!("{v:?}")))
        .collect();
    headers.sort();
    Answer { status, headers, body: res.bytes().await.unwrap().to_vec() }
}

/// `claims` signed HS256 with `secret` under the kid `k1` (the server's key is `k1`
/// with `SECRET`).
fn signed(secret: &str, claims: &Value) -> String {
    let key = revokd::Key::hmac("k1", revokd::Algorithm::HS256, secret.as_bytes()).unwrap();
    let tokens = revokd::token::Tokens::new(revokd::KeySet::new().with(key).unwrap(), revokd::TokenPolicy::default());
    tokens.sign(&serde_json::from_value(claims.clone()).unwrap()).unwrap()
}

/// The claims of a real access token with a new jti (a UUIDv7 of now, with `iat` and
/// `nbf` its second, as the server would issue), a new family and subject: a token the
/// server never issued nor recorded.
fn never_issued(template: &Value) -> Value {
    let id = uuid::Uuid::now_v7();
    let (secs, _) = id.get_timestamp().unwrap().to_unix();
    let mut c = template.clone();
    c["jti"] = json!(id.to_string());
    c["fam"] = json!(uuid::Uuid::now_v7().to_string());
    c["sub"] = json!("mallory");
    c["iat"] = json!(secs);
    c["nbf"] = json!(secs);
    c["exp"] = json!(secs + 900);
    c
}

/// The feed's events after `since`, as (kind, target, actor), and the last seq.
async fn events_since(s: &Server, since: u64) -> (Vec<(String, String, String)>, u64) {
    let url = s.url(&format!("/v1/revocations?since={since}&limit=1000"));
    let feed: Value = s.http.get(url).bearer_auth(ADMIN).send().await.unwrap().json().await.unwrap();
    let events = feed["events"].as_array().unwrap();
    let out = events
        .iter()
        .map(|e| {
            assert_eq!(e["op"], "revoke", "{e}");
            let r = &e["revocation"];
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (text(&r["kind"]), text(&r["target"]), text(&r["actor"]))
        })
        .collect();
    (out, feed["next"].as_u64().unwrap())
}

/// RFC 7009 §2.2: the answer tells nothing about the token. For each way API.md lets a
/// caller in (client, admin, no credentials), every kind of token gets a byte-identical
/// answer (status, headers but `date`, body), the same in every mode; and exactly the
/// tokens that verify are revoked (the feed shows what was, and by whom).
#[tokio::test]
async fn revoke_answers_alike_for_every_token_and_revokes_what_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("")), &[]);
    let c = &s.http;
    let url = s.url("/oauth/revoke");
    let template = claims(s.login(json!({"sub": "alice"})).await["access_token"].as_str().unwrap());
    let (_, mut seq) = events_since(&s, 0).await;
    let mut reference: Option<(String, Answer)> = None;

    for (mode, actor) in [("client", "client:app"), ("admin", "admin"), ("no credentials", "holder")] {
        let access = s.login(json!({"sub": "alice"})).await["access_token"].as_str().unwrap().to_owned();
        let session = s.login(json!({"sub": "alice"})).await;
        let refresh = session["refresh_token"].as_str().unwrap().to_owned();
        let unknown_claims = never_issued(&template);
        let unknown = signed(SECRET, &unknown_claims);
        let other_key = signed("another-key-not-the-servers-0123456789", &never_issued(&template));
        let revoked = s.login(json!({"sub": "alice"})).await["access_token"].as_str().unwrap().to_owned();
        s.revoke(json!({"jti": jti(&revoked)})).await;
        // the starting point: the unknown token verifies (our key; the registry of
        // issued tokens is not consulted), the others are refused
        assert_eq!(s.verify(&unknown).await.0, 200, "a validly signed token of ours verifies");
        assert_eq!(s.verify(&other_key).await.1["error"], "token_invalid");
        assert_eq!(s.verify(&revoked).await.1["error"], "token_revoked");
        let (before, next) = events_since(&s, seq).await;
        assert_eq!(before.len(), 1, "only the admin's revocation: {before:?}");
        seq = next;

        let tokens = [
            ("valid access token", access.as_str()),
            ("valid refresh token", refresh.as_str()),
            ("validly signed, never issued", unknown.as_str()),
            ("signed by another key", other_key.as_str()),
            ("garbage", "garbage"),
            ("three empty-ish parts", "a.b.c"),
            ("already revoked", revoked.as_str()),
        ];
        for (what, token) in tokens {
            let req = c.post(&url).form(&[("token", token), ("token_type_hint", "access_token")]);
            let req = match mode {
                "client" => req.basic_auth(CLIENT.0, Some(CLIENT.1)),
                "admin" => req.bearer_auth(ADMIN),
                _ => req,
            };
            let got = answer(req.send().await.unwrap()).await;
            let name = format!("{mode}: {what}");
            match &reference {
                None => {
                    assert_eq!((got.status, got.body.is_empty()), (200, true), "{name}: {got:?}");
                    reference = Some((name, got));
                }
                Some((first, want)) => assert_eq!(&got, want, "{name} answered unlike {first}"),
            }
        }

        // what verified is revoked: the access token, the refresh token's family (its
        // access token too), the never-issued token; nothing else, by this caller
        let (mut changes, next) = events_since(&s, seq).await;
        seq = next;
        changes.sort();
        let mut want = vec![
            ("family".to_owned(), claims(&refresh)["fam"].as_str().unwrap().to_owned(), actor.to_owned()),
            ("jti".to_owned(), jti(&access), actor.to_owned()),
            ("jti".to_owned(), unknown_claims["jti"].as_str().unwrap().to_owned(), actor.to_owned()),
        ];
        want.sort();
        assert_eq!(changes, want, "{mode}");
        for t in [&access, session["access_token"].as_str().unwrap(), &unknown, &revoked] {
            assert_eq!(s.verify(t).await.1["error"], "token_revoked", "{mode}");
        }
        assert_eq!(s.verify(&other_key).await.1["error"], "token_invalid", "{mode}");
    }
    let (first, want) = reference.unwrap();
    eprintln!("every answer as {first}'s: {want:?}");

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
}

/// Basic credentials are form-url-decoded (RFC 6749 §2.3.1, API.md): a client whose id
/// and secret change under that encoding is let in when they are encoded (upper- or
/// lower-case escapes, a space as `+` or `%20`), on both endpoints, and refused when any
/// character that encoding changes is sent as it is.
#[tokio::test]
async fn basic_credentials_are_percent_decoded_and_must_be_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config_with_web("")), &[]);
    let c = &s.http;
    let (id, secret) = WEB_ENCODED;
    // the letters outside the escapes are lower-case already
    let lower = (id.to_lowercase(), secret.to_lowercase());
    let spaced = secret.replace('+', "%20");
    for (what, id, secret) in [
        ("encoded", id, secret),
        ("lower-case escapes", lower.0.as_str(), lower.1.as_str()),
        ("space as %20", id, spaced.as_str()),
    ] {
        let pair = s.login(json!({"sub": "alice"})).await;
        let access = pair["access_token"].as_str().unwrap();
        let res = c.post(s.url("/oauth/introspect")).basic_auth(id, Some(secret)).form(&[("token", access)]);
        let res = res.send().await.unwrap();
        assert_eq!(res.status(), 200, "{what}");
        assert_eq!(res.json::<Value>().await.unwrap()["active"], true, "{what}");
        // revoked as the client `web:app` (not as an anonymous holder)
        let (_, seq) = events_since(&s, 0).await;
        let res = c.post(s.url("/oauth/revoke")).basic_auth(id, Some(secret)).form(&[("token", access)]);
        assert_eq!(res.send().await.unwrap().status(), 200, "{what}");
        let (changes, _) = events_since(&s, seq).await;
        assert_eq!(changes, [("jti".to_owned(), jti(access), "client:web:app".to_owned())], "{what}");
    }

    // Each character the encoding changes, sent as it is: refused.
    let refused = [
        ("nothing encoded", WEB.0.to_owned(), WEB.1.to_owned()),
        ("the id's ':' raw (it splits the id)", WEB.0.to_owned(), secret.to_owned()),
        ("the secret raw", id.to_owned(), WEB.1.to_owned()),
        ("'+' raw (a space)", id.to_owned(), secret.replace("%2B", "+")),
        ("'%41' raw (an 'A')", id.to_owned(), secret.replace("%2541", "%41")),
        ("encoded twice", id.replace('%', "%25"), secret.replace('%', "%25")),
        ("the plain client's id with this secret", "app".to_owned(), secret.to_owned()),
    ];
    for (what, id, secret) in refused {
        for path in ["/oauth/revoke", "/oauth/introspect"] {
            let res = c.post(s.url(path)).basic_auth(&id, Some(&secret)).form(&[("token", "t")]).send();
            let res = res.await.unwrap();
            assert_eq!(res.status(), 401, "{what} on {path}");
            assert_eq!(res.headers()["www-authenticate"], "Basic realm=\"revokd\"", "{what}");
            assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client", "{what}");
        }
    }
    // the plain client still gets in beside it
    let res = c.post(s.url("/oauth/revoke")).basic_auth(CLIENT.0, Some(CLIENT.1)).form(&[("token", "t")]);
    assert_eq!(res.send().await.unwrap().status(), 200);
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
