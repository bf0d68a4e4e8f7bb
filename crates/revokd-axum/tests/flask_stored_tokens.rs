//! The `flask_stored_tokens` example over HTTP, as separate processes.
//!
//! As in `flask_blocklist`: the example's processes are this test binary run again with
//! `CHILD` (`common::procs`) set, running the example's own `serve` (the example file is compiled in
//! below), so the tests never depend on a possibly stale `target/*/examples/` binary.
//!
//! One script of requests ([`script`]) with the answers flask-jwt-extended 4.7.4 gives
//! is sent to the example ([`answers_as_recorded_from_flask`]) and, side by side, to the
//! Python app `examples/flask_stored_tokens.py` ([`answers_as_the_flask_app`]). Answers
//! are compared by status and JSON body, with tokens as `"<jwt>"`, jtis as `"<uuid>"`,
//! a listed token's `iat` as `"<iat>"` and its `exp` as `"<iat+lifetime>"`, and the
//! token lists in a canonical order (the Python app lists by creation, revokd's registry
//! by jti). The live comparison needs the venv `scripts/test-deps.sh` makes in
//! `target/pyenv` (`REVOKD_TEST_PYTHON` points at another Python); without it the test
//! fails and says so.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::procs::{self, Proc, client, python, sqlite_url};

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/flask_stored_tokens.rs"]
mod example;

const DEPS: &str = "run scripts/test-deps.sh (./test.sh does) to create target/pyenv with flask-jwt-extended 4.7.4";

/// Not a test of its own: the body of the example processes the other tests start (this
/// binary again, with `CHILD` set). Without it, it returns at once.
#[test]
fn example_process() {
    procs::child(example::serve);
}

/// The Python app on flask-jwt-extended 4.7.4.
fn flask() -> Proc {
    let python = python("REVOKD_TEST_PYTHON", "pyenv", DEPS);
    // The venv must hold the versions the answers were recorded from.
    let v = procs::versions(&python, &["flask-jwt-extended"]);
    assert_eq!(v, "4.7.4", "flask-jwt-extended in {}: {DEPS}", python.display());
    Proc::python_app(&python, "flask_stored_tokens.py", DEPS)
}

// ---------------------------------------------------------------------------------------
// The script

/// The credential a step sends.
#[derive(Clone, Copy)]
enum Cred {
    Anon,
    /// `Authorization: Bearer <the token saved under this name>`.
    Bearer(&'static str),
    /// This `Authorization` header, as is.
    Header(&'static str),
}

/// One request and flask-jwt-extended 4.7.4's answer to it.
struct Step {
    method: Method,
    /// The path; `{NAME}` stands for the jti of the token saved under `NAME`.
    path: &'static str,
    cred: Cred,
    /// `(content type, body)`.
    body: Option<(&'static str, &'static str)>,
    /// Tokens of the answer to keep: `(JSON key, name)`.
    save: &'static [(&'static str, &'static str)],
    status: u16,
    /// The JSON body as compared (see [`shape`]); `None`: not a JSON answer (Flask's
    /// HTML error pages, answered by us in plain text).
    json: Option<Value>,
}

fn step(method: Method, path: &'static str, cred: Cred, status: u16, json: Option<Value>) -> Step {
    Step { method, path, cred, body: None, save: &[], status, json }
}

fn msg(m: &str) -> Option<Value> {
    Some(json!({ "msg": m }))
}

const JSON: &str = "application/json";
const ACCESS_TTL: u64 = 300;
const REFRESH_TTL: u64 = 30 * 24 * 3600;

/// A listed token, as compared.
fn listed(identity: &str, ty: &str, revoked: bool) -> Value {
    let ttl = if ty == "access" { ACCESS_TTL } else { REFRESH_TTL };
    json!({
        "token": {"jti": "<uuid>", "identity": identity, "type": ty, "iat": "<iat>", "exp": format!("<iat+{ttl}>")},
        "revoked": revoked,
    })
}

/// The requests, in order, with the Flask app's answers.
fn script() -> Vec<Step> {
    use Cred::*;
    let (get, post, put) = (Method::GET, Method::POST, Method::PUT);
    let login = |body: &'static str, status: u16, json: Option<Value>| Step {
        body: Some((JSON, body)),
        ..step(Method::POST, "/login", Anon, status, json)
    };
    let tokens = Some(json!({"access_token": "<jwt>", "refresh_token": "<jwt>"}));
    let access = Some(json!({"access_token": "<jwt>"}));
    let bad_login = msg("Bad username or password");
    let missing = msg("Missing Authorization Header");
    let revoked = msg("Token has been revoked");
    let not_refresh = msg("Only non-refresh tokens are allowed");
    let only_refresh = msg("Only refresh tokens are allowed");
    let not_found = msg("Token not found");
    let admins_only = msg("Admins only!");
    let done = msg("Token successfully revoked");
    let undone = msg("Token successfully unrevoked");
    let hello = Some(json!({"hello": "world"}));
    let list = |items: &[(&str, &str, bool)]| {
        Some(Value::Array(items.iter().map(|(who, ty, rev)| listed(who, ty, *rev)).collect()))
    };
    vec![
        // login: Flask's 415 and 400 when request.json cannot be read
        Step { body: Some(("text/plain", "username=test")), ..step(post.clone(), "/login", Anon, 415, None) },
        login("{bad", 400, None),
        // Seed bug, ported by intent: the seed accepted both of these (`and` for `or`).
        login(r#"{"username": "test", "password": "nope"}"#, 401, bad_login.clone()),
        login(r#"{"username": "alice", "password": "test"}"#, 401, bad_login.clone()),
        login(r#"{"username": "admin", "password": "test"}"#, 401, bad_login.clone()),
        login(r#"{"username": "test"}"#, 401, bad_login),
        Step {
            save: &[("access_token", "A1"), ("refresh_token", "R1")],
            ..login(r#"{"username": "test", "password": "test"}"#, 200, tokens.clone())
        },
        Step {
            save: &[("access_token", "AA"), ("refresh_token", "AR")],
            ..login(r#"{"username": "admin", "password": "admin"}"#, 200, tokens)
        },
        // routing
        step(get.clone(), "/login", Anon, 405, None),
        step(get.clone(), "/auth/tokens/revoke/{R1}", Bearer("A1"), 405, None),
        step(put.clone(), "/auth/tokens/revoke/", Bearer("A1"), 404, None),
        step(post.clone(), "/auth/all-tokens", Bearer("AA"), 405, None),
        step(Method::OPTIONS, "/auth/tokens", Anon, 200, None),
        step(Method::OPTIONS, "/auth/tokens/unrevoke/x", Anon, 200, None),
        // the caller's tokens
        step(get.clone(), "/auth/tokens", Anon, 401, missing.clone()),
        step(get.clone(), "/auth/tokens", Header("Bearer abc"), 422, msg("Not enough segments")),
        step(get.clone(), "/auth/tokens", Bearer("R1"), 422, not_refresh.clone()),
        step(
            get.clone(),
            "/auth/tokens",
            Bearer("A1"),
            200,
            list(&[("test", "access", false), ("test", "refresh", false)]),
        ),
        step(
            get.clone(),
            "/auth/tokens",
            Bearer("AA"),
            200,
            list(&[("admin", "access", false), ("admin", "refresh", false)]),
        ),
        // all tokens: administrators only
        step(get.clone(), "/auth/all-tokens", Anon, 401, missing.clone()),
        step(get.clone(), "/auth/all-tokens", Bearer("A1"), 403, admins_only.clone()),
        step(get.clone(), "/auth/all-tokens", Bearer("AR"), 422, not_refresh.clone()),
        step(
            get.clone(),
            "/auth/all-tokens",
            Bearer("AA"),
            200,
            list(&[
                ("test", "access", false),
                ("test", "refresh", false),
                ("admin", "access", false),
                ("admin", "refresh", false),
            ]),
        ),
        // the ownership check: another's token, an unknown one
        step(put.clone(), "/auth/tokens/revoke/{AR}", Bearer("A1"), 404, not_found.clone()),
        step(put.clone(), "/auth/tokens/revoke/{R1}", Bearer("AA"), 404, not_found.clone()),
        step(put.clone(), "/auth/tokens/unrevoke/{AA}", Bearer("A1"), 404, not_found.clone()),
        step(put.clone(), "/auth/tokens/revoke/nope", Bearer("A1"), 404, not_found.clone()),
        step(put.clone(), "/auth/tokens/unrevoke/nope", Bearer("A1"), 404, not_found),
        step(put.clone(), "/auth/tokens/revoke/{R1}", Anon, 401, missing),
        step(put.clone(), "/auth/tokens/revoke/{R1}", Bearer("R1"), 422, not_refresh.clone()),
        step(post.clone(), "/refresh", Bearer("AR"), 200, access.clone()),
        // revoking one's refresh token ends /refresh for it
        step(post.clone(), "/refresh", Bearer("A1"), 422, only_refresh),
        step(put.clone(), "/auth/tokens/revoke/{R1}", Bearer("A1"), 200, done.clone()),
        step(post.clone(), "/refresh", Bearer("R1"), 401, revoked.clone()),
        step(put.clone(), "/auth/tokens/revoke/{R1}", Bearer("A1"), 200, done.clone()),
        step(
            get.clone(),
            "/auth/tokens",
            Bearer("A1"),
            200,
            list(&[("test", "access", false), ("test", "refresh", true)]),
        ),
        // an access token revoked is listed so, but (only refresh tokens are checked)
        // still accepted
        step(put.clone(), "/auth/tokens/revoke/{A1}", Bearer("A1"), 200, done),
        step(get.clone(), "/protected", Bearer("A1"), 200, hello.clone()),
        step(
            get.clone(),
            "/auth/tokens",
            Bearer("A1"),
            200,
            list(&[("test", "access", true), ("test", "refresh", true)]),
        ),
        step(
            get.clone(),
            "/auth/all-tokens",
            Bearer("AA"),
            200,
            list(&[
                ("test", "access", true),
                ("test", "refresh", true),
                ("admin", "access", false),
                ("admin", "refresh", false),
                ("admin", "access", false),
            ]),
        ),
        // unrevoking gives /refresh back; unrevoking twice is fine
        step(put.clone(), "/auth/tokens/unrevoke/{R1}", Bearer("A1"), 200, undone.clone()),
        Step { save: &[("access_token", "A2")], ..step(post.clone(), "/refresh", Bearer("R1"), 200, access.clone()) },
        step(put.clone(), "/auth/tokens/unrevoke/{R1}", Bearer("A2"), 200, undone.clone()),
        step(put.clone(), "/auth/tokens/unrevoke/{A2}", Bearer("A2"), 200, undone),
        step(post.clone(), "/refresh", Bearer("R1"), 200, access),
        step(
            get.clone(),
            "/auth/tokens",
            Bearer("A2"),
            200,
            list(&[
                ("test", "access", true),
                ("test", "refresh", false),
                ("test", "access", false),
                ("test", "access", false),
            ]),
        ),
        // /protected
        step(get.clone(), "/protected", Anon, 401, msg("Missing Authorization Header")),
        step(get.clone(), "/protected", Bearer("R1"), 422, not_refresh),
        step(get.clone(), "/protected", Bearer("A2"), 200, hello),
        step(get, "/auth/all-tokens", Bearer("A2"), 403, admins_only),
        step(post.clone(), "/refresh", Header("Bearer a.b.c"), 422, msg("Invalid header padding")),
        step(put, "/auth/tokens/revoke/{R1}", Bearer("A2"), 200, msg("Token successfully revoked")),
        step(Method::POST, "/refresh", Bearer("R1"), 401, revoked),
    ]
}

/// An answer as compared: status and JSON body, `None` for a body that is not JSON.
type Answer = (u16, Option<Value>);

/// A token's shape: three dot-separated base64url parts, the first a JSON header.
fn is_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        && s.starts_with("eyJ")
}

/// A UUID's text: 8-4-4-4-12 hex digits.
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// A body as compared: tokens as `"<jwt>"`, UUIDs as `"<uuid>"`, an object's `iat` and
/// `exp` (numbers) as `"<iat>"` and `"<iat+lifetime>"`, arrays sorted.
fn shape(v: &Value) -> Value {
    match v {
        Value::String(s) if is_jwt(s) => Value::from("<jwt>"),
        Value::String(s) if is_uuid(s) => Value::from("<uuid>"),
        Value::Object(m) => {
            let mut m: serde_json::Map<String, Value> = m.iter().map(|(k, v)| (k.clone(), shape(v))).collect();
            if let (Some(iat), Some(exp)) = (m.get("iat").and_then(Value::as_u64), m.get("exp").and_then(Value::as_u64))
            {
                m.insert("iat".into(), Value::from("<iat>"));
                m.insert("exp".into(), Value::from(format!("<iat+{}>", exp.wrapping_sub(iat))));
            }
            Value::Object(m)
        }
        Value::Array(a) => {
            let mut a: Vec<Value> = a.iter().map(shape).collect();
            a.sort_by_cached_key(|v| v.to_string());
            Value::Array(a)
        }
        other => other.clone(),
    }
}

/// The `jti` of a saved token, from its payload.
fn jti_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64url_decode(payload)).unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

/// Unpadded base64url (the crate has no base64 dependency of its own).
fn base64url_decode(s: &str) -> Vec<u8> {
    let sextet = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url: {s}"),
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        acc = (acc << 6) | u32::from(sextet(c));
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// `path` with each `{NAME}` replaced by the jti of the token saved under `NAME`.
fn resolve(path: &str, saved: &HashMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some((before, after)) = rest.split_once('{') {
        let (name, after) = after.split_once('}').unwrap();
        out.push_str(before);
        out.push_str(&jti_of(saved.get(name).unwrap_or_else(|| panic!("no token {name} saved"))));
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Runs [`script`] against `base`; returns each step's answer.
async fn run(base: &str) -> Vec<Answer> {
    let http = client();
    let mut saved = HashMap::<&str, String>::new();
    let mut answers = Vec::new();
    for s in script() {
        let path = resolve(s.path, &saved);
        let mut req = http.request(s.method.clone(), format!("{base}{path}"));
        req = match s.cred {
            Cred::Anon => req,
            Cred::Bearer(name) => {
                let t = saved.get(name).unwrap_or_else(|| panic!("no token {name} saved"));
                req.header("authorization", format!("Bearer {t}"))
            }
            Cred::Header(value) => req.header("authorization", value),
        };
        if let Some((ct, body)) = s.body {
            req = req.header("content-type", ct).body(body);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{} {path}: {e}", s.method));
        let status = res.status().as_u16();
        let is_json = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        let text = res.text().await.unwrap();
        let json = is_json.then(|| serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{text}: {e}")));
        for (key, name) in s.save {
            let t = json.as_ref().and_then(|j| j[key].as_str()).unwrap_or_else(|| panic!("no {key} in {text}"));
            saved.insert(name, t.to_owned());
        }
        answers.push((status, json.as_ref().map(shape)));
    }
    answers
}

fn describe(s: &Step) -> String {
    let cred = match s.cred {
        Cred::Anon => String::new(),
        Cred::Bearer(n) => format!(" [Bearer {n}]"),
        Cred::Header(h) => format!(" [Authorization: {h}]"),
    };
    let body = s.body.map(|(ct, b)| format!(" {ct} {b}")).unwrap_or_default();
    format!("{} {}{cred}{body}", s.method, s.path)
}

/// Every step where `got` differs from `want`, one line each.
fn differences(label: &str, got: &[Answer], want: &[Answer]) -> Vec<String> {
    let mut diff: Vec<String> = script()
        .iter()
        .zip(got.iter().zip(want))
        .enumerate()
        .filter(|(_, (_, (g, w)))| g != w)
        .map(|(i, (s, (g, w)))| format!("step {i}: {}: {label} {g:?}, expected {w:?}", describe(s)))
        .collect();
    if got.len() != want.len() {
        diff.push(format!("{} answers, expected {}", got.len(), want.len()));
    }
    diff
}

fn recorded() -> Vec<Answer> {
    script().into_iter().map(|s| (s.status, s.json.as_ref().map(shape))).collect()
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn answers_as_recorded_from_flask() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Proc::example("flask_stored_tokens", &sqlite_url(dir.path()));
    let got = run(&ours.base).await;
    let diff = differences("revokd-axum answered", &got, &recorded());
    assert!(diff.is_empty(), "{}\n--- example log\n{}", diff.join("\n"), ours.log());

    // A JSON body that is not an object crashes the seed's login (Flask answers 500);
    // the port answers 400.
    let res =
        client().post(format!("{}/login", ours.base)).header("content-type", JSON).body("[]").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

#[tokio::test]
async fn answers_as_the_flask_app() {
    let flask = flask();
    let dir = tempfile::tempdir().unwrap();
    let ours = Proc::example("flask_stored_tokens", &sqlite_url(dir.path()));
    let theirs = run(&flask.base).await;
    let got = run(&ours.base).await;
    let diff = differences("revokd-axum answered", &got, &theirs);
    assert!(diff.is_empty(), "{}\n--- example log\n{}", diff.join("\n"), ours.log());
    // The recorded answers (which the other test checks without Python) are still Flask's.
    let stale = differences("flask-jwt-extended answered", &theirs, &recorded());
    assert!(stale.is_empty(), "update script():\n{}\n--- Flask log\n{}", stale.join("\n"), flask.log());
}

/// Polls `req` until it answers `want`, for at most `limit` (the other process sees a
/// change after its next feed round, every 100 ms by default); any other answer than
/// `want` and `meanwhile` fails.
async fn eventually(
    what: &str,
    (want, meanwhile): (u16, u16),
    limit: Duration,
    req: impl Fn() -> reqwest::RequestBuilder,
) -> Value {
    let start = Instant::now();
    loop {
        let res = req().send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status == want {
            return body;
        }
        assert_eq!(status, meanwhile, "{what}: {body}");
        assert!(start.elapsed() < limit, "{what}: still {meanwhile} after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_processes_share_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let (a, b) = (Proc::example("flask_stored_tokens", &url), Proc::example("flask_stored_tokens", &url));
    let http = client();
    let bearer = |base: &str, method: Method, path: &str, token: &str| {
        http.request(method, format!("{base}{path}")).header("authorization", format!("Bearer {token}"))
    };

    let login: Value = http
        .post(format!("{}/login", a.base))
        .json(&json!({"username": "test", "password": "test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (access, refresh) = (login["access_token"].as_str().unwrap(), login["refresh_token"].as_str().unwrap());
    let jti = jti_of(refresh);

    // B lists the tokens A issued (one registry) and revokes one of them.
    let res = bearer(&b.base, Method::GET, "/auth/tokens", access).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let listed: Value = res.json().await.unwrap();
    assert_eq!(shape(&listed), shape(&json!([listed_value("access", false), listed_value("refresh", false)])));
    let res = bearer(&b.base, Method::PUT, &format!("/auth/tokens/revoke/{jti}"), access).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let body = eventually("A, the refresh token revoked through B", (401, 200), Duration::from_secs(60), || {
        bearer(&a.base, Method::POST, "/refresh", refresh)
    })
    .await;
    assert_eq!(body, json!({"msg": "Token has been revoked"}));
    // A lists it revoked (its refresh tokens only: each 200 above issued an access token).
    let listed: Value =
        bearer(&a.base, Method::GET, "/auth/tokens", access).send().await.unwrap().json().await.unwrap();
    let refresh_tokens: Vec<Value> =
        listed.as_array().unwrap().iter().filter(|t| t["token"]["type"] == "refresh").cloned().collect();
    assert_eq!(shape(&Value::Array(refresh_tokens)), shape(&json!([listed_value("refresh", true)])));

    // Unrevoked through A: B accepts it again.
    let res = bearer(&a.base, Method::PUT, &format!("/auth/tokens/unrevoke/{jti}"), access).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    eventually("B, the refresh token unrevoked through A", (200, 401), Duration::from_secs(60), || {
        bearer(&b.base, Method::POST, "/refresh", refresh)
    })
    .await;

    // Revoked again through B; a restarted process reads the revocation from the file.
    let res = bearer(&b.base, Method::PUT, &format!("/auth/tokens/revoke/{jti}"), access).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    drop(a);
    let c = Proc::example("flask_stored_tokens", &url);
    let res = bearer(&c.base, Method::POST, "/refresh", refresh).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert!(b.log().contains("listening on http://127.0.0.1:"), "{}", b.log());
}

/// A listed token of `test` with real-looking values, for [`shape`] to compare.
fn listed_value(ty: &str, revoked: bool) -> Value {
    let ttl = if ty == "access" { ACCESS_TTL } else { REFRESH_TTL };
    json!({
        "token": {"jti": "00000000-0000-0000-0000-000000000000", "identity": "test", "type": ty, "iat": 1, "exp": 1 + ttl},
        "revoked": revoked,
    })
}
