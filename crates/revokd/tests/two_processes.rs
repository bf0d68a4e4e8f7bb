//! Two processes on one SQLite file: a revocation made by one is refused by the other
//! within a second, through the feed (polling).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use revokd::store::{Durability, SqliteStore, Store};
use revokd::{IssueRequest, Revokd, Target, TokenType};

use crate::common::{child, hs_keys};

/// The child: opens the same file, revokes the jti (or the subject) it is given, and
/// prints when the store acknowledged it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by two_processes::a_revocation_in_one_process_is_refused_by_the_other"]
async fn child_revokes() {
    let Ok(path) = std::env::var("REVOKD_SHARED_DB") else { return };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, Durability::Full).unwrap());
    let r = Revokd::builder(hs_keys(), store).poll_interval(None).prune_interval(None).build().await.unwrap();
    let target = match (std::env::var("REVOKD_JTI"), std::env::var("REVOKD_SUB")) {
        (Ok(jti), _) => Target::Jti { iss: None, jti, exp: None },
        (_, Ok(sub)) => Target::Subject { iss: None, sub, before_ms: None },
        _ => panic!("nothing to revoke"),
    };
    r.revoke(target, Some("other process".into()), "cli").await.unwrap();
    println!("ACKED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_in_one_process_is_refused_by_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db, Durability::Full).unwrap());
    let r = Revokd::builder(hs_keys(), store).poll_interval(Some(Duration::from_millis(100))).build().await.unwrap();
    let a = r.issue(IssueRequest::new("alice")).await.unwrap();
    let b = r.issue(IssueRequest::new("bob")).await.unwrap();
    r.verify(&a.access_token, TokenType::Access).unwrap();

    for (env, token) in
        [("REVOKD_JTI", (a.access.jti.clone(), &a.access_token)), ("REVOKD_SUB", ("bob".to_owned(), &b.refresh_token))]
    {
        let mut proc = child(
            "two_processes::child_revokes",
            &[("REVOKD_SHARED_DB", db.display().to_string()), (env, token.0.clone())],
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
        // The clock starts when the child prints its acknowledgement.
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        assert!(lines.any(|l| l.is_ok_and(|l| l.contains("ACKED"))), "the child never acknowledged");
        let acked = Instant::now();
        let expected = if env == "REVOKD_SUB" { TokenType::Refresh } else { TokenType::Access };
        loop {
            match r.verify(token.1, expected) {
                Err(revokd::Error::TokenRevoked) => break,
                Ok(_) => assert!(acked.elapsed() < Duration::from_secs(1), "{env}: still accepted after a second"),
                Err(e) => panic!("{e}"),
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        proc.wait().unwrap();
    }
}

/// The child: tries to consume one refresh token, and says whether it won.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by two_processes::a_refresh_token_is_consumed_once_across_processes"]
async fn child_consumes() {
    let Ok(path) = std::env::var("REVOKD_SHARED_DB") else { return };
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    // start together: wait for the go file
    let go = std::path::PathBuf::from(std::env::var("REVOKD_GO").unwrap());
    while !go.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut wins = 0;
    for i in 0..20 {
        if store.consume_refresh(&format!("refresh-{i}"), 1, u32::MAX as u64).await.unwrap()
            == revokd::store::Consumption::First
        {
            wins += 1;
        }
    }
    println!("WINS {wins}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_is_consumed_once_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("consume.db");
    drop(SqliteStore::open(&db, Durability::Full).unwrap()); // create the schema first
    let go = dir.path().join("go");
    let procs: Vec<_> = (0..4)
        .map(|_| {
            child(
                "two_processes::child_consumes",
                &[("REVOKD_SHARED_DB", db.display().to_string()), ("REVOKD_GO", go.display().to_string())],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, b"go").unwrap();
    let mut total = 0;
    for p in procs {
        let out = p.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let wins: u32 = text
            .lines()
            .find_map(|l| l.split_once("WINS ").map(|(_, w)| w))
            .unwrap_or_else(|| panic!("child did not report: {text}\n{}", String::from_utf8_lossy(&out.stderr)))
            .trim()
            .parse()
            .unwrap();
        total += wins;
    }
    assert_eq!(total, 20, "each of the 20 refresh tokens has exactly one winner across 4 processes");
}
