//! The admin CLI, on the store a running server uses.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Server, config, jti};

fn revokd(dir: &std::path::Path, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_revokd")).args(args).current_dir(dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_cli_revocation_is_refused_by_the_running_server_within_a_second() {
    cli_revocation_reaches_the_server("").await;
}

#[tokio::test]
async fn on_postgres_a_cli_revocation_reaches_the_server() {
    let db = crate::common::backends::PgDatabase::create("cli");
    cli_revocation_reaches_the_server(&format!("store = \"{}\"", db.url)).await;
}

#[tokio::test]
async fn on_redis_a_cli_revocation_reaches_the_server() {
    let p = crate::common::backends::RedisPrefix::create("cli");
    cli_revocation_reaches_the_server(&format!("store = \"{}\"", p.url)).await;
}

/// The server and the CLI read one `revokd.toml`; `store` is its store line.
async fn cli_revocation_reaches_the_server(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config(&format!("issuer = \"https://revokd.test\"\n{store}"))), &[]);
    let pair = s.login(json!({"sub": "alice"})).await;
    let access = pair["access_token"].as_str().unwrap();
    let (ok, rec, err) = revokd(dir.path(), &["revoke", "--jti", &jti(access), "--reason", "leaked"]);
    assert!(ok, "{err}");
    assert_eq!((rec["kind"].as_str(), rec["actor"].as_str()), (Some("jti"), Some("cli")));
    let acked = Instant::now();
    while s.verify(access).await.0 != 401 {
        assert!(acked.elapsed() < Duration::from_secs(1), "the server still accepts the token after a second");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // unrevoke by id, from the CLI too
    let (ok, _, err) = revokd(dir.path(), &["unrevoke", rec["id"].as_str().unwrap()]);
    assert!(ok, "{err}");
    let acked = Instant::now();
    while s.verify(access).await.0 != 200 {
        assert!(acked.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn issue_tokens_inspect_keys_and_prune() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("revokd.toml"), config("issuer = \"https://revokd.test\"")).unwrap();
    let (ok, pair, err) = revokd(dir.path(), &["issue", "alice", "--fresh", "--claims", "{\"role\":\"ops\"}"]);
    assert!(ok, "{err}");
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let (ok, list, _) = revokd(dir.path(), &["tokens", "alice"]);
    assert!(ok);
    assert_eq!(list["tokens"].as_array().unwrap().len(), 2);
    let (ok, info, _) = revokd(dir.path(), &["inspect", &access]);
    assert!(ok);
    assert_eq!((info["valid"].as_bool(), info["claims"]["role"].as_str()), (Some(true), Some("ops")));
    assert_eq!(info["header"]["kid"], "k1");
    let (_, _, _) = revokd(dir.path(), &["revoke", "--token", &access]);
    let (_, info, _) = revokd(dir.path(), &["inspect", &access]);
    assert_eq!((info["valid"].as_bool(), info["reason"]["code"].as_str()), (Some(false), Some("token_revoked")));
    let (_, info, _) = revokd(dir.path(), &["inspect", "garbage"]);
    assert_eq!((info["valid"].as_bool(), info["reason"]["code"].as_str()), (Some(false), Some("token_malformed")));
    let (ok, keys, _) = revokd(dir.path(), &["keys"]);
    assert!(ok);
    assert_eq!((keys["keys"][0]["kid"].as_str(), keys["keys"][0]["algorithm"].as_str()), (Some("k1"), Some("HS256")));
    let (ok, pruned, _) = revokd(dir.path(), &["prune"]);
    assert!(ok);
    assert!(pruned.get("rules").is_some());
    // errors: a non-zero exit and a message
    let (ok, _, err) = revokd(dir.path(), &["revoke"]);
    assert!(!ok && err.contains("exactly one"), "{err}");
    let (ok, _, err) = revokd(dir.path(), &["revoke", "--jti", "x", "--before", "1700000000"]);
    assert!(!ok && err.contains("--before goes with --sub"), "{err}");
    let (ok, _, err) = revokd(dir.path(), &["revoke", "--family", "f", "--iss", "https://idp"]);
    assert!(!ok && err.contains("--iss goes with"), "{err}");
    let (ok, _, err) = revokd(dir.path(), &["unrevoke", "no-such-id"]);
    assert!(!ok && err.contains("not found"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_revokd")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "issue", "revoke", "unrevoke", "tokens", "inspect", "keys", "prune"] {
        assert!(help.contains(cmd), "--help lists {cmd}");
    }
}

#[tokio::test]
async fn in_cookie_mode_the_cli_issues_tokens_with_a_csrf_claim() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("revokd.toml"), config("issuer = \"https://revokd.test\"\ncookies = true")).unwrap();
    let (ok, pair, err) = revokd(dir.path(), &["issue", "alice"]);
    assert!(ok, "{err}");
    let csrf = pair["csrf"].as_str().expect("csrf returned");
    assert_eq!(crate::common::claims(pair["access_token"].as_str().unwrap())["csrf"], csrf);
}
