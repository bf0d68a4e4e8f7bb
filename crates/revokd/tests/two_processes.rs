//! Two processes on one SQLite file: a revocation made by one is refused by the other
//! within a second, through the feed (polling).

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
        let out = child(
            "two_processes::child_revokes",
            &[("REVOKD_SHARED_DB", db.display().to_string()), (env, token.0.clone())],
        )
        .output()
        .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("ACKED"), "{}", String::from_utf8_lossy(&out.stderr));
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
    }
}
