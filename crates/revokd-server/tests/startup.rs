//! Start-up with no configuration, and bad configurations.

use std::process::Command;

use serde_json::json;

use crate::common::Server;

#[tokio::test]
async fn with_no_configuration_it_generates_a_key_and_an_admin_token_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None, &[]);
    assert!(dir.path().join("revokd.db").exists());
    let token_file = dir.path().join("revokd.admin-token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["revokd.admin-token", "revokd.db"] {
            let mode = std::fs::metadata(dir.path().join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    assert!(s.admin.len() >= 16);
    let log = s.log_text();
    assert!(log.contains("generated an Ed25519 signing key"), "{log}");
    assert!(log.contains(&token_file.display().to_string()) || log.contains("revokd.admin-token"), "{log}");
    assert!(!log.contains(&s.admin), "the admin token must never be logged");

    // the five-line flow of the README: issue, check, revoke, check
    let pair = s.login(json!({"sub": "alice"})).await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(s.verify(access).await.0, 200);
    let res = s
        .http
        .post(s.url("/v1/revocations"))
        .bearer_auth(&s.admin)
        .json(&json!({"token": access}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(s.verify(access).await.1["error"], "token_revoked");
    // the JWKS publishes the generated key
    let jwks: serde_json::Value =
        s.http.get(s.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
}

#[tokio::test]
async fn the_generated_key_and_admin_token_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // only the issuer is fixed: the port changes between the two runs
    let toml = "issuer = \"https://revokd.test\"";
    let mut a = Server::start(dir.path(), Some(toml), &[]);
    let pair = a.login(json!({"sub": "alice"})).await;
    let admin = a.admin.clone();
    assert_eq!(a.terminate(), Some(0));
    let b = Server::start(dir.path(), Some(toml), &[]);
    assert_eq!(b.admin, admin);
    assert_eq!(b.verify(pair["access_token"].as_str().unwrap()).await.0, 200, "same key after restart");
    assert!(b.log_text().contains("using the signing key kept in the store"));
}

fn start_fails(toml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("revokd.toml"), toml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_revokd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("{toml:?} should stop start-up, but revokd is running");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{toml:?} should stop start-up");
    assert_eq!(status.code(), Some(2), "configuration errors exit with 2: {err}");
    err
}

#[test]
fn a_bad_configuration_stops_start_up_naming_the_key() {
    for (toml, key) in [
        ("colour = \"blue\"", "colour"),
        ("[[keys]]\nkid = \"k\"\nalgorithm = \"HS256\"\nsecret = \"short\"", "keys[0]"),
        ("[[keys]]\nkid = \"k\"\nalgorithm = \"RS256\"\nprivate_key_pem = \"missing.pem\"", "keys[0].private_key_pem"),
        ("store = \"ftp://x\"", "store"),
        ("admin_tokens = [\"short\"]", "admin_tokens"),
        ("durability = \"sometimes\"", "durability"),
    ] {
        let err = start_fails(toml);
        assert!(err.contains(key), "{toml:?}: {err}");
    }
}

/// While the service loads (here: a JWKS URL that never answers holds start-up for its
/// 5 s timeout), the port already answers: alive (`/healthz` 200), not ready (`/readyz`
/// 503 `unavailable`), every other route 503; then the service takes over.
#[tokio::test]
async fn while_loading_the_port_answers_alive_but_not_ready() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    // accepts connections, never answers
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_addr = hole.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = crate::common::config(&format!(
        "[[issuers]]\nissuer = \"https://idp.example\"\njwks_url = \"http://{hole_addr}/jwks.json\""
    ));
    std::fs::write(dir.path().join("revokd.toml"), toml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_revokd"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("revokd logs its loading address").unwrap();
        if let Some(rest) = line.split("addr=").nth(1).filter(|_| line.contains("revokd loading")) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap();
    let url = |p: &str| format!("http://{addr}{p}");
    assert_eq!(http.get(url("/healthz")).send().await.unwrap().status(), 200);
    for path in ["/readyz", "/v1/verify", "/v1/revocations"] {
        let res = http.get(url(path)).send().await.unwrap();
        assert_eq!(res.status(), 503, "{path}");
        let b: serde_json::Value = res.json().await.unwrap();
        assert_eq!(b["error"], "unavailable", "{path}");
    }
    // once loaded (the JWKS fetch gave up after 5 s), the service answers
    let start = std::time::Instant::now();
    loop {
        if http.get(url("/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "never became ready");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let res = http.get(url("/v1/verify")).send().await.unwrap();
    assert_eq!(res.status(), 401, "the real service answers now");
    let _ = child.kill();
    let _ = child.wait();
    drop(hole);
}
