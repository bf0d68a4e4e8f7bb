//! Second implementations against the real binary: Authlib's OAuth client (RFC 7009,
//! RFC 7662), PyJWT verifying our tokens from our JWKS and minting a foreign issuer's,
//! and Debian's nginx in front of an app with `auth_request` to `/v1/verify`, configured
//! with the block docs/PROXY.md gives users (bearer tokens, and cookie mode with its CSRF
//! check).
//!
//! They need a Python venv in `target/pyenv` (PyJWT, Authlib, requests) and nginx:
//! `scripts/test-deps.sh` installs both, and `./test.sh` runs it first. When either is
//! missing these tests fail (never skip) and say so. `REVOKD_TEST_PYTHON` and
//! `REVOKD_TEST_NGINX` point at other binaries.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use serde_json::{Value, json};

use crate::common::{ADMIN, Server, config, jti};

const CLIENT: (&str, &str) = ("app", "app-secret-0123456789");
const DEPS: &str = "run scripts/test-deps.sh (./test.sh does) to install the external test dependencies";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's Python, with PyJWT and Authlib.
fn python() -> PathBuf {
    let p = match std::env::var_os("REVOKD_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => manifest_dir().join("../../target/pyenv/bin/python"),
    };
    assert!(p.exists(), "{} is missing: {DEPS}", p.display());
    p
}

/// Debian's nginx (`/usr/sbin` is not on every user's `PATH`).
fn nginx() -> PathBuf {
    if let Some(p) = std::env::var_os("REVOKD_TEST_NGINX") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("nginx is missing: {DEPS}"))
}

/// Runs `tests/external/<script>` with the venv's Python; returns its standard output.
/// A non-zero exit fails the test with the script's output (and revokd's log, if given).
async fn run_py(script: &str, args: &[&str], server: Option<&Server>) -> String {
    let path = manifest_dir().join("tests/external").join(script);
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(&path).args(args).kill_on_drop(true).stdin(Stdio::null());
    // loopback only: no proxy from the environment, no bytecode in the source tree
    cmd.env("PYTHONDONTWRITEBYTECODE", "1").env("NO_PROXY", "*").env("no_proxy", "*");
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish in 120 s"))
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {DEPS}", python().display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        panic!(
            "{script} {args:?} failed ({}; a missing module? {DEPS}):\n--- stdout\n{stdout}\n--- stderr\n{}\n\
             --- revokd log\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            server.map(Server::log_text).unwrap_or_default()
        );
    }
    println!("--- {script}\n{stdout}"); // shown with --nocapture
    stdout
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("no string `{k}` in {v}"))
}

// ---------------------------------------------------------------------------------------
// 1. Authlib: RFC 7009 and RFC 7662

// Found by this test: a 401 sent before a request's body has arrived (credentials are checked
// first) used to close the connection without `Connection: close`, and a client reusing it
// (requests, so Authlib) sometimes lost its next POST. revokd now says `Connection: close`
// whenever a body was left unread (src/guard.rs); the script reuses one session on purpose.
#[tokio::test]
async fn authlib_introspects_and_revokes_through_rfc_7009_and_7662() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("")), &[]);
    let one = s.login(json!({"sub": "alice"})).await;
    let two = s.login(json!({"sub": "bob"})).await;
    let (a1, r1) = (str_of(&one, "access_token"), str_of(&one, "refresh_token"));
    let (a2, r2) = (str_of(&two, "access_token"), str_of(&two, "refresh_token"));
    assert_eq!(s.verify(a1).await.0, 200);
    assert_eq!(s.verify(a2).await.0, 200);

    // introspect active → revoke (confidential client) → introspect inactive; the holder
    // (public client) revokes its refresh token
    let out = run_py("oauth_authlib.py", &[&s.base, CLIENT.0, CLIENT.1, a1, r1, r2], Some(&s)).await;
    assert!(out.trim_end().ends_with("PASS"), "{out}");

    // what Authlib revoked, /v1/verify refuses
    let (st, body, headers) = s.verify(a1).await;
    assert_eq!((st, str_of(&body, "error")), (401, "token_revoked"), "{body}");
    assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer error=\"invalid_token\""));
    let (st, body, _) = s.verify(a2).await;
    assert_eq!((st, str_of(&body, "error")), (401, "token_revoked"), "the holder's logout ended the family");
    // an access token's revocation took its jti only: that login's refresh token still works
    let res = s.http.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": r1})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // the feed says who revoked what
    let feed: Value =
        s.http.get(s.url("/v1/revocations?since=0")).bearer_auth(ADMIN).send().await.unwrap().json().await.unwrap();
    let revs: Vec<(&str, &str, &str)> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["revocation"])
        .map(|r| (str_of(r, "kind"), str_of(r, "actor"), r["target"].as_str().unwrap_or("")))
        .collect();
    let fam = crate::common::claims(r2)["fam"].as_str().unwrap().to_owned();
    assert_eq!(revs, [("jti", "client:app", jti(a1).as_str()), ("family", "holder", fam.as_str())], "{feed}");
}

// ---------------------------------------------------------------------------------------
// 2. PyJWT verifies tokens revokd minted, with the keys from revokd's JWKS

#[tokio::test]
async fn pyjwt_verifies_our_tokens_from_our_jwks() {
    let keys = manifest_dir().join("../revokd/tests/keys");
    let key = |kid: &str, alg: &str, file: &str| {
        let pem = keys.join(file);
        format!("[[keys]]\nkid = \"{kid}\"\nalgorithm = \"{alg}\"\nprivate_key_pem = \"{}\"\n", pem.display())
    };
    let cases = [
        ("EdDSA", String::new()), // no [[keys]]: the generated Ed25519 key
        ("RS256", key("rsa-1", "RS256", "rsa.pem")),
        ("ES256", key("ec-1", "ES256", "ec.pem")),
    ];
    for (alg, keys) in cases {
        let dir = tempfile::tempdir().unwrap();
        // a fixed issuer: the port, and so the default issuer, changes with a restart
        let toml = format!("admin_tokens = [\"{ADMIN}\"]\nissuer = \"https://revokd.test\"\n{keys}");
        let mut s = Server::start(dir.path(), Some(&toml), &[]);
        let pair = s.login(json!({"sub": "alice", "access_ttl": 600})).await;
        let token = str_of(&pair, "access_token").to_owned();
        let out = run_py("pyjwt_verify.py", &[&s.base, &token, alg, "alice", "600"], Some(&s)).await;
        assert!(out.trim_end().ends_with("PASS"), "{alg}: {out}");
        if keys.is_empty() {
            // the generated key is kept in the store: after a restart the JWKS still
            // verifies the tokens signed before it
            assert!(s.log_text().contains("generated an Ed25519"), "{}", s.log_text());
            s.terminate();
            let s = Server::start(dir.path(), Some(&toml), &[]);
            let out = run_py("pyjwt_verify.py", &[&s.base, &token, alg, "alice", "600"], Some(&s)).await;
            assert!(out.trim_end().ends_with("PASS"), "after a restart: {out}");
            assert_eq!(s.verify(&token).await.0, 200);
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. A foreign issuer: PyJWT mints, revokd verifies from a JWKS file and revokes

#[tokio::test]
async fn a_foreign_issuer_minted_by_pyjwt_is_verified_and_revoked() {
    const ISS: &str = "https://idp.example";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run_py("foreign_idp.py", &[d, ISS, "api"], None).await;
    let t: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let extra = format!("[[issuers]]\nissuer = \"{ISS}\"\naudience = \"api\"\njwks_file = \"idp-jwks.json\"");
    let s = Server::start(dir.path(), Some(&config(&extra)), &[]);

    // RS256, ES256, EdDSA keys of the IdP all verify, with the identity headers
    for (name, sub) in [("alice", "alice"), ("bob", "bob"), ("carol", "carol")] {
        let (st, body, headers) = s.verify(str_of(&t, name)).await;
        assert_eq!(st, 200, "{name}: {body}\n{}", s.log_text());
        assert_eq!(headers["x-auth-subject"], sub);
        assert_eq!(headers["x-auth-jti"].to_str().unwrap(), format!("idp-{sub}"));
    }
    // what the rules refuse: exp - iat > max_token_lifetime, no iat, another audience, an
    // unknown kid, another issuer
    for name in ["too_long", "no_iat", "wrong_aud", "unknown_kid", "wrong_iss"] {
        let (st, body, _) = s.verify(str_of(&t, name)).await;
        assert_eq!((st, body["error"].as_str()), (401, Some("token_invalid")), "{name}: {body}");
    }

    // RFC 7662 introspection knows them too
    let alice = str_of(&t, "alice");
    let introspect = |token: &str| {
        let req = s.http.post(s.url("/oauth/introspect")).basic_auth(CLIENT.0, Some(CLIENT.1));
        let req = req.form(&[("token", token)]);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let info = introspect(alice).await;
    assert_eq!(
        (info["active"].as_bool(), info["iss"].as_str(), info["sub"].as_str()),
        (Some(true), Some(ISS), Some("alice")),
        "{info}"
    );
    assert_eq!(info["aud"], "api", "{info}");

    // revoke alice's token by its jti in the IdP's scope
    let rec = s.revoke(json!({"jti": "idp-alice", "iss": ISS, "reason": "lost laptop"})).await;
    assert_eq!((str_of(&rec, "kind"), str_of(&rec, "target"), str_of(&rec, "iss")), ("jti", "idp-alice", ISS));
    let alice_exp = crate::common::claims(alice)["exp"].as_u64().unwrap();
    assert!(rec["expires_at"].as_f64().unwrap() >= alice_exp as f64, "the rule outlives the token: {rec}");
    let (st, body, _) = s.verify(alice).await;
    assert_eq!((st, body["error"].as_str()), (401, Some("token_revoked")), "{body}");
    assert_eq!(introspect(alice).await, json!({"active": false}));
    // a jti rule without `iss` is ours: the IdP's bob is untouched
    s.revoke(json!({"jti": "idp-bob"})).await;
    assert_eq!(s.verify(str_of(&t, "bob")).await.0, 200);
    // the IdP's bob by subject, in its scope
    s.revoke(json!({"sub": "bob", "iss": ISS})).await;
    assert_eq!(s.verify(str_of(&t, "bob")).await.1["error"], "token_revoked");
    // the foreign token itself given to revokd
    let carol = str_of(&t, "carol");
    let res = s.http.post(s.url("/v1/revocations")).bearer_auth(ADMIN).json(&json!({"token": carol})).send();
    let res = res.await.unwrap();
    let (st, rec): (u16, Value) = (res.status().as_u16(), res.json().await.unwrap_or(Value::Null));
    assert_eq!((st, rec["iss"].as_str(), rec["target"].as_str()), (201, Some(ISS), Some("idp-carol")), "{rec}");
    assert_eq!(s.verify(carol).await.1["error"], "token_revoked");
}

// ---------------------------------------------------------------------------------------
// 4. nginx `auth_request` in front of an app, with docs/PROXY.md's configuration

/// A small app behind nginx: answers every request with what it received, as JSON
/// (`headers`: lower-case name → every value), and records it.
struct Echo {
    base: String,
    seen: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Echo {
    async fn start() -> Echo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                let mut h = serde_json::Map::new();
                for (name, value) in &headers {
                    let v = h.entry(name.as_str()).or_insert_with(|| json!([]));
                    v.as_array_mut().unwrap().push(json!(String::from_utf8_lossy(value.as_bytes())));
                }
                let seen = json!({
                    "method": method.as_str(), "uri": uri.to_string(), "headers": h,
                    "body": String::from_utf8_lossy(&body),
                });
                sink.lock().unwrap().push(seen.clone());
                axum::Json(seen)
            }
        });
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Echo { base, seen, task }
    }

    fn seen(&self) -> Vec<Value> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// nginx as a child process, everything (pid, logs, temp files) in its own folder.
struct Nginx {
    child: Option<Child>,
    base: String,
    dir: PathBuf,
}

impl Nginx {
    /// Writes `conf(port)` as `DIR/nginx.conf` for a free loopback port and starts nginx
    /// on it; tries another port if that one was taken meanwhile.
    fn start(dir: &Path, conf: impl Fn(u16) -> String) -> Nginx {
        let bin = nginx();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            std::fs::write(dir.join("nginx.conf"), conf(port)).unwrap();
            let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
            let child = Command::new(&bin)
                .arg("-p")
                .arg(format!("{}/", dir.display()))
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"))
                .args(["-g", "daemon off;"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}; {DEPS}", bin.display()));
            let mut n = Nginx { child: Some(child), base: format!("http://127.0.0.1:{port}"), dir: dir.to_path_buf() };
            let start = Instant::now();
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return n;
                }
                if n.child.as_mut().unwrap().try_wait().unwrap().is_some() {
                    break;
                }
                assert!(start.elapsed() < Duration::from_secs(15), "nginx did not listen:\n{}", n.logs());
                std::thread::sleep(Duration::from_millis(20));
            }
            let logs = n.logs();
            assert!(logs.contains("Address already in use"), "nginx did not start:\n{logs}");
        }
        panic!("nginx found no free port");
    }

    fn logs(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("--- stderr\n{}--- error.log\n{}", read("stderr.log"), read("error.log"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let Some(mut c) = self.child.take() else { return };
        // SIGTERM: a fast stop, the master stops its workers; SIGKILL if it hangs
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The nginx configuration users are given: docs/PROXY.md's ```` ```nginx ```` block
/// between its `tested-config` markers (upstreams and a server, for the `http` context).
fn proxy_doc_config() -> String {
    let path = manifest_dir().join("../../docs/PROXY.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, rest) = doc.split_once("<!-- tested-config: begin -->\n").expect("docs/PROXY.md: no begin marker");
    let (block, _) = rest.split_once("<!-- tested-config: end -->").expect("docs/PROXY.md: no end marker");
    let block = block.trim_end().strip_prefix("```nginx\n").and_then(|b| b.strip_suffix("```"));
    block.expect("docs/PROXY.md: the tested block is not one ```nginx fence").to_owned()
}

/// `text` with `from`, which must occur exactly once, replaced by `to`: a line of the
/// document the test relies on that changed fails here, by name.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "docs/PROXY.md's block must contain `{from}` once:\n{text}");
    text.replacen(from, to, 1)
}

/// The block that starts with `head` (`location … {`) up to its `}`; it has no inner block.
fn nginx_block<'a>(conf: &'a str, head: &str) -> &'a str {
    let start = conf.find(head).unwrap_or_else(|| panic!("docs/PROXY.md's block has no `{head}`:\n{conf}"));
    let len = conf[start..].find('}').unwrap() + 1;
    let block = &conf[start..start + len];
    assert_eq!(block.matches('{').count(), 1, "`{head}` has an inner block: {block}");
    block
}

/// docs/PROXY.md's configuration, its three addresses replaced (`revokd` and `app` are
/// `http://host:port`), inside an `http` block whose files are all in `dir`. The test
/// adds locations made from the document's own: `/fresh/` (its variant: the `/_revokd`
/// location with `?fresh=true`) and `/spy/`, whose auth subrequest goes to the echo app
/// instead, so that the test sees what revokd is sent.
fn nginx_conf(dir: &Path, port: u16, revokd: &str, app: &str) -> String {
    let addr = |base: &str| base.strip_prefix("http://").unwrap().to_owned();
    let conf = proxy_doc_config();
    let conf = replace_once(&conf, "server 127.0.0.1:8080;", &format!("server {};", addr(revokd)));
    let conf = replace_once(&conf, "server 127.0.0.1:3000;", &format!("server {};", addr(app)));
    let conf = replace_once(&conf, "listen 80;", &format!("listen 127.0.0.1:{port};"));

    let auth = nginx_block(&conf, "location = /_revokd {");
    let auth_as = |name: &str, target: &str| {
        let b = replace_once(auth, "location = /_revokd {", &format!("location = {name} {{"));
        replace_once(&b, "proxy_pass http://revokd/v1/verify;", &format!("proxy_pass {target};"))
    };
    let app_location = nginx_block(&conf, "location / {");
    let checked_by = |prefix: &str, auth: &str| {
        replace_once(app_location, "location / {", &format!("location {prefix} {{\n        auth_request {auth};"))
    };
    let extra = [
        auth_as("/_revokd_fresh", "http://revokd/v1/verify?fresh=true"),
        auth_as("/_revokd_spy", "http://app/auth-subrequest"),
        checked_by("/fresh/", "/_revokd_fresh"),
        checked_by("/spy/", "/_revokd_spy"),
    ];
    // before the `}` that closes the server block
    let end = conf.rfind('}').unwrap();
    let conf = format!("{}\n    # added by the test\n    {}\n{}", &conf[..end], extra.join("\n    "), &conf[end..]);
    format!(
        "worker_processes 1;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{conf}
}}
",
        d = dir.display(),
    )
}

/// revokd (`config(extra)`), the echo app and nginx with docs/PROXY.md's configuration
/// in front of them, each in a folder of the returned one.
async fn nginx_stack(extra: &str) -> (tempfile::TempDir, Server, Echo, Nginx) {
    let dir = tempfile::tempdir().unwrap();
    let (rdir, ndir) = (dir.path().join("revokd"), dir.path().join("nginx"));
    std::fs::create_dir_all(&rdir).unwrap();
    std::fs::create_dir_all(&ndir).unwrap();
    let s = Server::start(&rdir, Some(&config(extra)), &[]);
    let app = Echo::start().await;
    let nginx = Nginx::start(&ndir, |port| nginx_conf(&ndir, port, &s.base, &app.base));
    (dir, s, app, nginx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_lets_valid_tokens_through_and_refuses_revoked_ones() {
    let (_dir, s, app, nginx) = nginx_stack("").await;
    let c = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", nginx.base);
    let ctx = || format!("{}\n--- revokd\n{}", nginx.logs(), s.log_text());

    let alice = s.login(json!({"sub": "alice"})).await;
    let access = str_of(&alice, "access_token");

    // a valid token passes; forged identity headers are replaced or dropped
    let res = c
        .get(url("/app/orders?page=2"))
        .bearer_auth(access)
        .header("X-Auth-Subject", "admin")
        .header("X-Auth-Jti", "forged")
        .header("X-Auth-Type", "refresh")
        .header("X-Auth-Roles", "admin")
        .header("X-Auth-Anything", "1")
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", ctx());
    let got: Value = res.json().await.unwrap();
    assert_eq!((str_of(&got, "method"), str_of(&got, "uri")), ("GET", "/app/orders?page=2"));
    let h = &got["headers"];
    assert_eq!(h["x-auth-subject"], json!(["alice"]), "{got}");
    assert_eq!(h["x-auth-jti"], json!([jti(access)]), "{got}");
    assert_eq!(h["x-auth-type"], json!(["access"]), "{got}");
    let auth_headers: Vec<&String> = h.as_object().unwrap().keys().filter(|k| k.starts_with("x-auth-")).collect();
    assert_eq!(auth_headers, ["x-auth-jti", "x-auth-subject", "x-auth-type"], "only revokd's: {got}");
    assert_eq!(h["authorization"], json!([format!("Bearer {access}")]));
    assert_eq!(h["accept"], json!(["application/json"]));
    // a POST with a body reaches the app whole
    let res = c
        .post(url("/app/orders"))
        .bearer_auth(access)
        .header("content-type", "application/json")
        .header("X-Auth-Subject", "admin")
        .body(r#"{"item": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", ctx());
    let got: Value = res.json().await.unwrap();
    assert_eq!((str_of(&got, "method"), str_of(&got, "body")), ("POST", r#"{"item": 1}"#));
    assert_eq!(
        (&got["headers"]["x-auth-subject"], &got["headers"]["content-type"]),
        (&json!(["alice"]), &json!(["application/json"]))
    );
    // the document's public location: no check, and no client-sent X-Auth-* header either
    let res = c.get(url("/public/login")).header("X-Auth-Subject", "admin").header("X-Auth-Roles", "admin");
    let res = res.send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", ctx());
    let got: Value = res.json().await.unwrap();
    assert_eq!(str_of(&got, "uri"), "/public/login");
    assert!(!got["headers"].as_object().unwrap().keys().any(|k| k.starts_with("x-auth-")), "{got}");
    // the auth location is nginx's own
    assert_eq!(c.get(url("/_revokd")).bearer_auth(access).send().await.unwrap().status(), 404);

    let app_calls = || app.seen().iter().filter(|r| r["uri"].as_str().unwrap().starts_with("/app/")).count();
    let before = app_calls();
    // refusals: 401 from nginx, with revokd's challenge; the app never sees the request
    let refusals = [
        ("no token", None, "Bearer realm=\"revokd\""),
        ("garbage", Some("not.a.token"), "the token is invalid"),
        ("refresh token", Some(str_of(&alice, "refresh_token")), "a refresh token cannot be used here"),
    ];
    for (what, token, challenge) in refusals {
        let mut req = c.get(url("/app/orders")).header("X-Auth-Subject", "alice");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{what}: {}", ctx());
        let www = res.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(www.contains(challenge), "{what}: {www}");
    }
    // revoked through revokd's API: nginx refuses it at once
    s.revoke(json!({"jti": jti(access)})).await;
    let res = c.get(url("/app/orders")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status(), 401, "{}", ctx());
    let www = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(www.starts_with("Bearer error=\"invalid_token\"") && www.contains("revoked"), "{www}");
    let res = c.post(url("/app/orders")).bearer_auth(access).body("x").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app_calls(), before, "no refused request reached the app");

    // ?fresh=true: a fresh login passes, a refreshed (not fresh) token does not
    let fresh = s.login(json!({"sub": "bob", "fresh": true})).await;
    let res = c.get(url("/fresh/settings")).bearer_auth(str_of(&fresh, "access_token")).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", ctx());
    assert_eq!(res.json::<Value>().await.unwrap()["headers"]["x-auth-subject"], json!(["bob"]));
    let stale = s.login(json!({"sub": "bob"})).await;
    let res = c.get(url("/fresh/settings")).bearer_auth(str_of(&stale, "access_token")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let www = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(www.contains("insufficient_user_authentication"), "{www}");

    // what the auth subrequest carries: the original method and URI, the token, no body
    let carol = s.login(json!({"sub": "carol"})).await;
    let token = str_of(&carol, "access_token");
    let res = c.delete(url("/spy/orders/7?why=test")).bearer_auth(token).body("gone").send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", ctx());
    let seen = app.seen();
    let sub = seen.iter().find(|r| r["uri"] == "/auth-subrequest").unwrap_or_else(|| panic!("{seen:?}"));
    let h = &sub["headers"];
    assert_eq!(h["x-forwarded-method"], json!(["DELETE"]), "{sub}");
    assert_eq!(h["x-original-method"], json!(["DELETE"]), "{sub}");
    assert_eq!(h["x-original-uri"], json!(["/spy/orders/7?why=test"]), "{sub}");
    assert_eq!(h["authorization"], json!([format!("Bearer {token}")]), "{sub}");
    assert_eq!((str_of(sub, "method"), str_of(sub, "body")), ("GET", ""), "{sub}");
    let main = seen.iter().find(|r| r["uri"] == "/spy/orders/7?why=test").unwrap();
    assert_eq!((str_of(main, "method"), str_of(main, "body")), ("DELETE", "gone"));
    // and revokd answers such a subrequest as nginx needs
    let res = s
        .http
        .get(s.url("/v1/verify"))
        .bearer_auth(token)
        .header("X-Forwarded-Method", "DELETE")
        .header("X-Original-URI", "/spy/orders/7?why=test")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-auth-subject"], "carol");
}

/// The `x-auth-*` headers a request reached the echo app with.
fn auth_headers_seen(req: &Value) -> serde_json::Map<String, Value> {
    let h = req["headers"].as_object().unwrap();
    h.iter().filter(|(k, _)| k.starts_with("x-auth-")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

// Cookie mode behind docs/PROXY.md's nginx: the CSRF double submit is checked for the
// method nginx received, whatever method headers the client sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_cookie_mode_needs_the_csrf_double_submit_whatever_method_the_client_claims() {
    let (_dir, s, app, nginx) = nginx_stack("cookies = true").await;
    let c = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", nginx.base);
    let ctx = || format!("{}\n--- revokd\n{}", nginx.logs(), s.log_text());

    let pair = s.login(json!({"sub": "alice"})).await;
    let (access, csrf) = (str_of(&pair, "access_token"), str_of(&pair, "csrf"));
    let cookie = format!("theme=dark; access_token_cookie={access}");
    // every request forges identity headers: none may reach the app
    let send = |method: Method, path: &str, headers: &[(&str, &str)]| {
        let mut req = c
            .request(method.clone(), url(path))
            .header("cookie", &cookie)
            .header("X-Auth-Subject", "admin")
            .header("X-Auth-Roles", "admin")
            .header("X-Auth-Jti", "forged");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if method != Method::GET {
            req = req.header("content-type", "application/json").body(r#"{"item": 1}"#);
        }
        req.send()
    };
    let identity = json!({"x-auth-subject": ["alice"], "x-auth-jti": [jti(access)], "x-auth-type": ["access"]});
    let app_calls = || app.seen().len();

    // a GET with the cookie passes, no CSRF header needed; the app gets revokd's identity
    // and the cookie
    let res = send(Method::GET, "/app/profile", &[]).await.unwrap();
    assert_eq!(res.status(), 200, "{}", ctx());
    let got: Value = res.json().await.unwrap();
    assert_eq!(Value::Object(auth_headers_seen(&got)), identity, "{got}");
    assert_eq!(got["headers"]["cookie"], json!([cookie]), "{got}");

    // a state-changing request with the cookie and no X-CSRF-TOKEN: refused by nginx with
    // revokd's 401; claiming another method (X-Forwarded-Method and X-Original-Method:
    // GET, in any case) changes nothing; a wrong value is refused too
    let before = app_calls();
    let claim_get = [("X-Forwarded-Method", "GET"), ("X-Original-Method", "GET")];
    let claim_get_lower = [("x-forwarded-method", "get"), ("x-original-method", "get")];
    let wrong_csrf = [("X-Forwarded-Method", "GET"), ("X-CSRF-TOKEN", "wrong")];
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        for (what, headers, reason) in [
            ("no CSRF header", &[][..], "missing X-CSRF-TOKEN"),
            ("claims GET", &claim_get, "missing X-CSRF-TOKEN"),
            ("claims get", &claim_get_lower, "missing X-CSRF-TOKEN"),
            ("wrong CSRF value", &wrong_csrf, "does not match"),
        ] {
            let res = send(method.clone(), "/app/orders", headers).await.unwrap();
            assert_eq!(res.status(), 401, "{method} {what}: {}", ctx());
            let www = res.headers()["www-authenticate"].to_str().unwrap();
            assert!(
                www.starts_with("Bearer error=\"invalid_token\"") && www.contains(reason),
                "{method} {what}: {www}"
            );
        }
    }
    assert_eq!(app_calls(), before, "no refused request reached the app: {:?}", &app.seen()[before..]);

    // the double submit passes, even with forged method headers; the app gets the request
    // whole, with revokd's identity only
    for headers in [&[("X-CSRF-TOKEN", csrf)][..], &[("X-CSRF-TOKEN", csrf), claim_get[0], claim_get[1]]] {
        let res = send(Method::POST, "/app/orders", headers).await.unwrap();
        assert_eq!(res.status(), 200, "{headers:?}: {}", ctx());
        let got: Value = res.json().await.unwrap();
        assert_eq!((str_of(&got, "method"), str_of(&got, "body")), ("POST", r#"{"item": 1}"#));
        assert_eq!(Value::Object(auth_headers_seen(&got)), identity, "{got}");
        assert_eq!(got["headers"]["x-csrf-token"], json!([csrf]), "{got}");
    }

    // what revokd is sent: nginx's method headers, not the client's, and the cookie and
    // the CSRF header
    let mut spy_headers = vec![("X-CSRF-TOKEN", csrf)];
    spy_headers.extend(claim_get);
    let res = send(Method::POST, "/spy/orders", &spy_headers).await.unwrap();
    assert_eq!(res.status(), 200, "{}", ctx());
    let seen = app.seen();
    let sub = seen.iter().rev().find(|r| r["uri"] == "/auth-subrequest").unwrap_or_else(|| panic!("{seen:?}"));
    let h = &sub["headers"];
    assert_eq!((&h["x-forwarded-method"], &h["x-original-method"]), (&json!(["POST"]), &json!(["POST"])), "{sub}");
    assert_eq!((&h["cookie"], &h["x-csrf-token"]), (&json!([cookie]), &json!([csrf])), "{sub}");
    assert_eq!((str_of(sub, "method"), str_of(sub, "body")), ("GET", ""), "{sub}");

    // no request of this test reached the app with a client's X-Auth-* header: those
    // revokd checked carry its identity, the /spy/ one (checked by the echo app, which
    // answers no identity) none
    for req in app.seen().iter().filter(|r| r["uri"] != "/auth-subrequest") {
        let expected = if req["uri"] == "/spy/orders" { json!({}) } else { identity.clone() };
        assert_eq!(Value::Object(auth_headers_seen(req)), expected, "{req}");
    }

    // a revoked cookie token is refused at once
    s.revoke(json!({"jti": jti(access)})).await;
    let res = send(Method::GET, "/app/profile", &[]).await.unwrap();
    assert_eq!(res.status(), 401, "{}", ctx());
    assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("revoked"));
}
