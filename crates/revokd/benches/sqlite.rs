//! SQLite: durable revocations per second with 1 and 64 concurrent writers, and the
//! start-up load of 1M live rules (open + snapshot + index).
//!
//! `cargo bench -p revokd --bench sqlite`. The files live under `target/bench-data`
//! (the project's disk, so fsync costs what it costs); the 1M-rule file is made once.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use revokd::store::{Change, Durability, SqliteStore, Store};
use revokd::sync::Follower;

async fn throughput(durability: Durability, writers: usize, secs: u64) -> f64 {
    let dir = common::scratch("throughput");
    let path = dir.join(format!("t-{writers}-{durability:?}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, durability).unwrap());
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    let start = Instant::now();
    for w in 0..writers {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            let mut i = w as u64;
            while Instant::now() < deadline {
                store.append(Change::Revoke(common::new_rule(i))).await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                i += writers as u64;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn startup(n: u64) {
    let dir = common::scratch("startup");
    let path = dir.join(format!("live-{n}.db"));
    if !path.exists() {
        eprintln!("making {} with {n} live rules (once)…", path.display());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, Durability::Process).unwrap());
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..256 {
            let (store, next) = (Arc::clone(&store), Arc::clone(&next));
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    store.append(Change::Revoke(common::new_rule(i))).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    for run in 0..3 {
        let start = Instant::now();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path, Durability::Full).unwrap());
        let follower = Follower::load(store).await.unwrap();
        let took = start.elapsed();
        println!(
            "start-up load of {} live rules (run {run}): {:.2} s",
            follower.index().stats().jtis,
            took.as_secs_f64()
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        for durability in [Durability::Full, Durability::Process] {
            for writers in [1, 64] {
                let rate = throughput(durability, writers, 3).await;
                println!("{durability:?} durability, {writers} writers: {rate:.0} acknowledged revocations/s");
            }
        }
        startup(1_000_000).await;
    });
}
