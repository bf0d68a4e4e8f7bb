//! The `sanic_logout` example over HTTP, as separate processes.
//!
//! As in `flask_blocklist`: the example's processes are this test binary run again with
//! `CHILD` (`common::procs`) set, running the example's own `serve` (the example file is compiled in
//! below), so the tests never depend on a possibly stale `target/*/examples/` binary.
//!
//! One script of requests ([`script`]) with the answers the seed app gives on sanic
//! 25.12 and sanic-jwt-extended 1.0.dev12 (the release with the seed's API; it needs
//! PyJWT 1.x, so it has its own venv, `target/pyenv-sanic`, which `scripts/test-deps.sh`
//! makes) is sent to the example ([`answers_as_recorded_from_sanic`]) and, side by side,
//! to the Python app `examples/sanic_logout.py` ([`answers_as_the_sanic_app`]; without
//! that venv, or with `REVOKD_TEST_SANIC_PYTHON` pointing at no Python, it fails and says
//! so). Answers are compared by status and JSON body, tokens as `"<jwt>"`; in
//! `/protected`'s answer, `raw_data` is compared on the claims both libraries put in a
//! payload (`sub`, `jti`, `iat`, `nbf`, `exp`: values as their relations, e.g.
//! `"<iat+900>"`) and `exp` as whether it is `raw_data.exp` printed as Python prints a
//! UTC `datetime`.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::procs::{self, Proc, client, python, sqlite_url};

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/sanic_logout.rs"]
mod example;

const DEPS: &str = "run scripts/test-deps.sh (./test.sh does) to create target/pyenv-sanic with sanic 25.12 and sanic-jwt-extended 1.0.dev12";

/// Not a test of its own: the body of the example processes the other tests start (this
/// binary again, with `CHILD` set). Without it, it returns at once.
#[test]
fn example_process() {
    procs::child(example::serve);
}

/// The Python app on sanic 25.12 and sanic-jwt-extended 1.0.dev12.
fn sanic() -> Proc {
    let python = python("REVOKD_TEST_SANIC_PYTHON", "pyenv-sanic", DEPS);
    // The venv must hold the versions the answers were recorded from.
    let v = procs::versions(&python, &["sanic", "sanic-jwt-extended"]);
    assert!(v.starts_with("25.12.") && v.ends_with(" 1.0.dev12"), "{v} in {}: {DEPS}", python.display());
    Proc::python_app(&python, "sanic_logout.py", DEPS)
}

// ---------------------------------------------------------------------------------------
// The script

/// The credential a step sends: `(header, value)`, `{NAME}` in the value standing for
/// the token saved under `NAME`.
type Cred = Option<(&'static str, &'static str)>;

/// One request and the sanic app's answer to it.
struct Step {
    method: Method,
    path: &'static str,
    cred: Cred,
    /// `(content type, body)`.
    body: Option<(&'static str, &'static str)>,
    /// Tokens of the answer to keep: `(JSON key, name)`.
    save: &'static [(&'static str, &'static str)],
    status: u16,
    /// The JSON body as compared (see [`shape`]); `None`: not a JSON answer (sanic's
    /// text error pages, answered by us without a body).
    json: Option<Value>,
}

fn step(method: Method, path: &'static str, cred: Cred, status: u16, json: Option<Value>) -> Step {
    Step { method, path, cred, body: None, save: &[], status, json }
}

fn msg(m: &str) -> Option<Value> {
    Some(json!({ "msg": m }))
}

const JSON: &str = "application/json";
const AUTH: &str = "Authorization";
const REFRESH: &str = "X-Refresh-Token";

/// `/protected`'s answer, as compared.
fn protected_answer() -> Option<Value> {
    Some(json!({
        "identity": "test",
        "type": "access",
        "raw_data": {"sub": "test", "jti": "<uuid>", "iat": "<iat>", "nbf": "<iat>", "exp": "<iat+900>"},
        "exp": "<raw_data.exp as a Python UTC datetime>",
    }))
}

/// The requests, in order, with the sanic app's answers.
fn script() -> Vec<Step> {
    let (get, post) = (Method::GET, Method::POST);
    let login = |body: &'static str, status: u16, json: Option<Value>| Step {
        body: Some((JSON, body)),
        ..step(Method::POST, "/login", None, status, json)
    };
    let bad_login = msg("Bad username or password");
    let bad_body =
        Some(json!({"description": "Bad Request", "status": 400, "message": "Failed when parsing body as json"}));
    let revoked = msg("Token has been revoked");
    let only_access = msg("Only access tokens are allowed");
    let only_refresh = msg("Only refresh tokens are allowed");
    let bad_auth = msg("Bad Authorization header. Expected value 'Bearer <JWT>'");
    let bad_refresh = msg("Bad X-Refresh-Token header. Expected value 'Bearer <JWT>'");
    let bye = msg("Goodbye");
    let tokens = Some(json!({"access_token": "<jwt>", "refresh_token": "<jwt>"}));
    vec![
        // login: sanic reads any body as JSON
        login("{bad", 400, bad_body.clone()),
        Step { body: Some(("text/plain", "username=test")), ..step(post.clone(), "/login", None, 400, bad_body) },
        // Seed bug, ported by intent: the seed checks no password.
        login(r#"{"username": "test", "password": "nope"}"#, 401, bad_login.clone()),
        login(r#"{"username": "test"}"#, 401, bad_login.clone()),
        login("[]", 401, bad_login.clone()),
        step(post.clone(), "/login", None, 401, bad_login),
        // Seed bug, ported by intent: the seed hands out no refresh token.
        Step {
            save: &[("access_token", "A1"), ("refresh_token", "R1")],
            ..login(r#"{"username": "test", "password": "test"}"#, 200, tokens.clone())
        },
        Step {
            save: &[("access_token", "A2"), ("refresh_token", "R2")],
            ..login(r#"{"username": "test", "password": "test"}"#, 200, tokens)
        },
        // routing
        step(get.clone(), "/login", None, 405, None),
        step(get.clone(), "/logout", None, 405, None),
        step(post.clone(), "/protected", None, 405, None),
        step(get.clone(), "/nope", None, 404, None),
        // /protected: no token, bad headers, malformed tokens, the wrong type
        step(get.clone(), "/protected", None, 401, msg("Missing header \"Authorization\"")),
        step(get.clone(), "/protected", Some((REFRESH, "Bearer {A1}")), 401, msg("Missing header \"Authorization\"")),
        step(get.clone(), "/protected", Some((AUTH, "Basic dGVzdDp0ZXN0")), 422, bad_auth.clone()),
        step(get.clone(), "/protected", Some((AUTH, "Bearer")), 422, bad_auth.clone()),
        step(get.clone(), "/protected", Some((AUTH, "Bearer a b")), 422, bad_auth),
        step(get.clone(), "/protected", Some((AUTH, "Bearer abc")), 422, msg("Not enough segments")),
        step(get.clone(), "/protected", Some((AUTH, "Bearer a.b.c")), 422, msg("Invalid header padding")),
        step(get.clone(), "/protected", Some((AUTH, "Bearer {R1}")), 422, only_access),
        step(get.clone(), "/protected", Some((AUTH, "Bearer {A1}")), 200, protected_answer()),
        // /logout: the refresh token in X-Refresh-Token
        step(post.clone(), "/logout", None, 401, msg("Missing header \"X-Refresh-Token\"")),
        step(post.clone(), "/logout", Some((AUTH, "Bearer {R1}")), 401, msg("Missing header \"X-Refresh-Token\"")),
        step(post.clone(), "/logout", Some((REFRESH, "{R1}")), 422, bad_refresh.clone()),
        step(post.clone(), "/logout", Some((REFRESH, "Basic {R1}")), 422, bad_refresh),
        step(post.clone(), "/logout", Some((REFRESH, "Bearer abc")), 422, msg("Not enough segments")),
        step(post.clone(), "/logout", Some((REFRESH, "Bearer {A1}")), 422, only_refresh.clone()),
        step(post.clone(), "/logout", Some((REFRESH, "Bearer {R1}")), 200, bye.clone()),
        // the refresh token is revoked, and only it
        step(post.clone(), "/logout", Some((REFRESH, "Bearer {R1}")), 401, revoked.clone()),
        step(post.clone(), "/logout", Some((REFRESH, "Bearer {A1}")), 422, only_refresh),
        step(get.clone(), "/protected", Some((AUTH, "Bearer {A1}")), 200, protected_answer()),
        step(get.clone(), "/protected", Some((AUTH, "Bearer {A2}")), 200, protected_answer()),
        step(post.clone(), "/logout", Some((REFRESH, "Bearer {R2}")), 200, bye),
        step(post, "/logout", Some((REFRESH, "Bearer {R2}")), 401, revoked),
        step(get, "/protected", Some((AUTH, "Bearer {A2}")), 200, protected_answer()),
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

/// A UUID's text, with or without hyphens (sanic-jwt-extended writes `uuid4().hex`).
fn is_uuid(s: &str) -> bool {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    (s.len() == 36 || s.len() == 32) && hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// A body as compared: tokens as `"<jwt>"`; `raw_data` as said in the module's comment.
fn shape(v: &Value) -> Value {
    match v {
        Value::String(s) if is_jwt(s) => Value::from("<jwt>"),
        Value::Object(m) if m.contains_key("raw_data") => {
            let mut m = m.clone();
            let raw = &m["raw_data"];
            let (iat, exp) = (raw["iat"].as_u64(), raw["exp"].as_u64());
            let rel = |v: &Value| match (v.as_u64(), iat) {
                (Some(t), Some(iat)) if t == iat => Value::from("<iat>"),
                (Some(t), Some(iat)) => Value::from(format!("<iat+{}>", t.wrapping_sub(iat))),
                _ => v.clone(),
            };
            let jti = match raw["jti"].as_str() {
                Some(s) if is_uuid(s) => Value::from("<uuid>"),
                _ => raw["jti"].clone(),
            };
            let shaped = json!({"sub": raw["sub"], "jti": jti, "iat": rel(&raw["iat"]), "nbf": rel(&raw["nbf"]), "exp": rel(&raw["exp"])});
            let printed = exp.map(example::python_utc);
            let exp_shape = if printed.is_some() && m.get("exp").and_then(Value::as_str) == printed.as_deref() {
                Value::from("<raw_data.exp as a Python UTC datetime>")
            } else {
                m.get("exp").cloned().unwrap_or(Value::Null)
            };
            m.insert("raw_data".into(), shaped);
            m.insert("exp".into(), exp_shape);
            Value::Object(m)
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        other => other.clone(),
    }
}

/// `value` with each `{NAME}` replaced by the token saved under `NAME`.
fn resolve(value: &str, saved: &HashMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some((before, after)) = rest.split_once('{') {
        let (name, after) = after.split_once('}').unwrap();
        out.push_str(before);
        out.push_str(saved.get(name).unwrap_or_else(|| panic!("no token {name} saved")));
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
        let mut req = http.request(s.method.clone(), format!("{base}{}", s.path));
        if let Some((name, value)) = s.cred {
            req = req.header(name, resolve(value, &saved));
        }
        if let Some((ct, body)) = s.body {
            req = req.header("content-type", ct).body(body);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{} {}: {e}", s.method, s.path));
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
    let cred = s.cred.map(|(h, v)| format!(" [{h}: {v}]")).unwrap_or_default();
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
    script().into_iter().map(|s| (s.status, s.json)).collect()
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn answers_as_recorded_from_sanic() {
    let dir = tempfile::tempdir().unwrap();
    let ours = Proc::example("sanic_logout", &sqlite_url(dir.path()));
    let got = run(&ours.base).await;
    let diff = differences("revokd-axum answered", &got, &recorded());
    assert!(diff.is_empty(), "{}\n--- example log\n{}", diff.join("\n"), ours.log());
}

#[tokio::test]
async fn answers_as_the_sanic_app() {
    let sanic = sanic();
    let dir = tempfile::tempdir().unwrap();
    let ours = Proc::example("sanic_logout", &sqlite_url(dir.path()));
    let theirs = run(&sanic.base).await;
    let got = run(&ours.base).await;
    let diff = differences("revokd-axum answered", &got, &theirs);
    assert!(diff.is_empty(), "{}\n--- example log\n{}", diff.join("\n"), ours.log());
    // The recorded answers (which the other test checks without Python) are still sanic's.
    let stale = differences("sanic-jwt-extended answered", &theirs, &recorded());
    assert!(stale.is_empty(), "update script():\n{}\n--- sanic log\n{}", stale.join("\n"), sanic.log());
}

#[test]
fn python_utc_prints_as_python() {
    // str(datetime.datetime.utcfromtimestamp(t)) for these t.
    assert_eq!(example::python_utc(0), "1970-01-01 00:00:00");
    assert_eq!(example::python_utc(951_782_400), "2000-02-29 00:00:00");
    assert_eq!(example::python_utc(1_795_556_099), "2026-11-24 21:34:59");
    assert_eq!(example::python_utc(4_102_444_799), "2099-12-31 23:59:59");
}

#[tokio::test]
async fn two_processes_share_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let (a, b) = (Proc::example("sanic_logout", &url), Proc::example("sanic_logout", &url));
    let http = client();
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
    let logout = |base: &str| http.post(format!("{base}/logout")).header(REFRESH, format!("Bearer {refresh}"));

    // Logged out through A: B refuses the refresh token after its next feed round.
    assert_eq!(logout(&a.base).send().await.unwrap().status().as_u16(), 200);
    let start = std::time::Instant::now();
    loop {
        let res = logout(&b.base).send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status == 401 {
            assert_eq!(body, json!({"msg": "Token has been revoked"}));
            break;
        }
        // B accepted it before it saw the revocation (revoking it again).
        assert_eq!((status, &body), (200, &json!({"msg": "Goodbye"})));
        assert!(start.elapsed() < Duration::from_secs(60), "B still accepts the revoked refresh token");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The access token is still valid in both, and in a restarted process, which reads
    // the revocation from the file.
    drop(a);
    let c = Proc::example("sanic_logout", &url);
    for p in [&b, &c] {
        let res = http.get(format!("{}/protected", p.base)).bearer_auth(access).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200);
    }
    let res = logout(&c.base).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
}
