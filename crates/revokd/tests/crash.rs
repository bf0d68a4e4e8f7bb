//! Crash test: a child process acknowledges revocations on SQLite and is killed with
//! SIGKILL mid-stream; after reopening, every acknowledged revocation is present.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;

use revokd::rules::{NewRevocation, RuleKind};
use revokd::store::{Change, Durability, SqliteStore, Store};

use crate::common::child;

/// The child: revokes as fast as it can from 16 concurrent writers, printing the id of
/// each revocation once the store has acknowledged it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by crash::acknowledged_revocations_survive_sigkill"]
async fn child_revokes_until_killed() {
    let Ok(path) = std::env::var("REVOKD_CRASH_DB") else { return };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, Durability::Full).unwrap());
    let mut tasks = Vec::new();
    for w in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let e = store
                    .append(Change::Revoke(NewRevocation {
                        kind: RuleKind::Jti,
                        target: Some(format!("{w}-{i}")),
                        iss: None,
                        before_ms: None,
                        created_at: 1,
                        expires_at: u32::MAX as u64,
                        reason: None,
                        actor: "crash-test".into(),
                    }))
                    .await
                    .unwrap();
                println!("ACK {} {}", e.seq, e.revocation.id);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_revocations_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    for round in 0..3 {
        let mut proc = child("crash::child_revokes_until_killed", &[("REVOKD_CRASH_DB", db.display().to_string())])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut acked = Vec::new();
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        while acked.len() < 300 {
            let line = lines.next().expect("child stopped early").unwrap();
            if let Some((_, rest)) = line.split_once("ACK ") {
                let (seq, id) = rest.split_once(' ').unwrap();
                acked.push((seq.parse::<u64>().unwrap(), id.to_owned()));
            }
        }
        proc.kill().unwrap(); // SIGKILL
        proc.wait().unwrap();
        // Any lines the child printed before dying were acknowledged too.
        for line in lines.map_while(Result::ok) {
            if let Some((_, rest)) = line.split_once("ACK ") {
                let (seq, id) = rest.split_once(' ').unwrap();
                acked.push((seq.parse::<u64>().unwrap(), id.to_owned()));
            }
        }
        let store = SqliteStore::open(&db, Durability::Full).unwrap();
        let snap = store.snapshot().await.unwrap();
        let stored: std::collections::HashSet<_> = snap.rules.iter().map(|r| r.id.clone()).collect();
        for (seq, id) in &acked {
            assert!(stored.contains(id), "round {round}: acknowledged revocation {id} (seq {seq}) was lost");
        }
        // and the log has no holes
        let events = store.events_after(0, 1_000_000).await.unwrap();
        assert!(events.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
        assert_eq!(events.len(), snap.rules.len());
    }
}
