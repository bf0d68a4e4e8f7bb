//! Starts the real `revokd` binary on a free port, in its own folder.
#![allow(dead_code)]

#[path = "../../../revokd/tests/common/backends.rs"]
pub(crate) mod backends;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) const ADMIN: &str = "admin-token-0123456789";
pub(crate) const FEED: &str = "feed-token-0123456789ab";
pub(crate) const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A running `revokd serve`.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) base: String,
    pub(crate) dir: PathBuf,
    pub(crate) log: Arc<Mutex<Vec<String>>>,
    pub(crate) http: reqwest::Client,
    pub(crate) admin: String,
}

/// The usual test configuration: known admin and feed tokens, an HS256 key, a client.
pub(crate) fn config(extra: &str) -> String {
    format!(
        "admin_tokens = [\"{ADMIN}\"]\nfeed_tokens = [\"{FEED}\"]\n{extra}\n\
         [[keys]]\nkid = \"k1\"\nalgorithm = \"HS256\"\nsecret = \"{SECRET}\"\n\
         [[clients]]\nid = \"app\"\nsecret = \"app-secret-0123456789\"\n"
    )
}

impl Server {
    /// Starts in `dir` with `toml` as `revokd.toml` (`None`: no configuration at all).
    pub(crate) fn start(dir: &Path, toml: Option<&str>, args: &[&str]) -> Server {
        Server::start_env(dir, toml, args, &[])
    }

    /// [`start`](Server::start) with these environment variables set (after every
    /// inherited `REVOKD_*` and `RUST_LOG` was removed).
    pub(crate) fn start_env(dir: &Path, toml: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Server {
        if let Some(t) = toml {
            std::fs::write(dir.join("revokd.toml"), t).unwrap();
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_revokd"));
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").args(args).current_dir(dir);
        cmd.env_remove("RUST_LOG").stdout(Stdio::null()).stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("REVOKD_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("the revokd binary runs");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("addr=").nth(1).filter(|_| line.contains("revokd listening")) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("revokd did not start:\n{}", log.lock().unwrap().join("\n"));
            }
        };
        let admin = match toml {
            Some(t) if t.contains(ADMIN) => ADMIN.to_owned(),
            _ => std::fs::read_to_string(dir.join("revokd.admin-token")).unwrap_or_default().trim().to_owned(),
        };
        Server {
            child: Some(child),
            base: format!("http://{addr}"),
            dir: dir.to_path_buf(),
            log,
            // A bound on every request, so a test that waits on a wrong answer fails rather than hangs.
            http: reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap(),
            admin,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGKILL and waits.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status code.
    pub(crate) fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let start = Instant::now();
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s.code();
            }
            assert!(start.elapsed() < Duration::from_secs(15), "revokd did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Issues a login for `sub` as admin; returns the token response.
    pub(crate) async fn login(&self, body: Value) -> Value {
        let res = self.http.post(self.url("/v1/tokens")).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    /// `POST /v1/revocations` as admin; returns the record (the answer must be 201).
    pub(crate) async fn revoke(&self, body: Value) -> Value {
        let res =
            self.http.post(self.url("/v1/revocations")).bearer_auth(&self.admin).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    /// `DELETE /v1/revocations/{id}` as admin; returns the status.
    pub(crate) async fn unrevoke(&self, id: &str) -> u16 {
        let url = self.url(&format!("/v1/revocations/{id}"));
        self.http.delete(url).bearer_auth(&self.admin).send().await.unwrap().status().as_u16()
    }

    /// A counter from `/metrics`: the sum of the lines of `name` that contain every part
    /// of `labels`.
    pub(crate) async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        let text = self.http.get(self.url("/metrics")).send().await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with(name) && labels.iter().all(|p| l.contains(p)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// `GET /v1/verify` with a bearer token; returns (status, body, headers).
    pub(crate) async fn verify(&self, token: &str) -> (u16, Value, reqwest::header::HeaderMap) {
        let res = self.http.get(self.url("/v1/verify")).bearer_auth(token).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.json().await.unwrap_or(Value::Null);
        (status, body, headers)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        keep_log(&self.log_text());
    }
}

/// A UUIDv7 text whose instant is `ms` (our tokens' issue instant is their jti's).
pub(crate) fn v7(ms: u64) -> String {
    let mut b = *uuid::Uuid::now_v7().as_bytes();
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    uuid::Uuid::from_bytes(b).to_string()
}

/// A token with these claims signed by the test configuration's own key (`k1`, HS256,
/// [`SECRET`]), with a `jti` issued now added: for claims `POST /v1/tokens` would never
/// issue.
pub(crate) fn sign_own(mut claims: Value) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    claims["jti"] = Value::String(v7(now.as_millis() as u64));
    let key = revokd::Key::hmac("k1", revokd::Algorithm::HS256, SECRET.as_bytes()).unwrap();
    let tokens = revokd::token::Tokens::new(revokd::KeySet::new().with(key).unwrap(), revokd::TokenPolicy::default());
    tokens.sign(&serde_json::from_value(claims).unwrap()).unwrap()
}

/// Every server's log is kept under `target/test-logs/` for the end of the run:
/// `scripts/check-logs.sh` (run by `./test.sh`) fails if any secret the tests use, or a
/// token, appears in one.
pub(crate) fn keep_log(text: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-logs");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(format!("revokd-{}.log", uuid::Uuid::new_v4())), text);
    }
}

/// The `jti` claim of a token (unverified; tests only).
pub(crate) fn jti(token: &str) -> String {
    claims(token)["jti"].as_str().unwrap().to_owned()
}

/// The claims of a token (unverified; tests only).
pub(crate) fn claims(token: &str) -> Value {
    use base64::Engine;
    let p = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}
