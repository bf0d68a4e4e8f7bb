//! PostgreSQL: durable revocations per second with 64 concurrent writers (with append
//! latency), and the start-up load of 1M live rules (connect + snapshot + index).
//!
//! `cargo bench -p revokd --features postgres --bench postgres`, against
//! `REVOKD_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`). Each
//! part runs in a fresh database of its own, dropped afterwards.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/common/backends.rs"]
mod backends;
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use revokd::index::Index;
use revokd::store::{Change, PostgresStore, Store};

use backends::PgDatabase;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn throughput(writers: usize, secs: u64) {
    let db = PgDatabase::create("bench_tp");
    println!(
        "server: synchronous_commit={} fsync={}",
        db.sql("SHOW synchronous_commit").trim(),
        db.sql("SHOW fsync").trim()
    );
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w as u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                store.append(Change::Revoke(common::new_rule(i))).await.unwrap();
                lat.push(t.elapsed());
                i += writers as u64;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let took = start.elapsed().as_secs_f64();
    lat.sort();
    let last = store.last_seq().await.unwrap();
    assert_eq!(last as usize, lat.len(), "every acknowledged append is in the feed");
    println!(
        "{writers} writers, {secs} s: {} durable revocations, {:.0} revocations/s, append latency p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        lat.len() as f64 / took,
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
    );
    drop(store);
}

async fn startup(n: u64) {
    let db = PgDatabase::create("bench_load");
    // the schema, by the store itself
    drop(PostgresStore::connect(&db.url).await.unwrap());
    let t = Instant::now();
    db.sql(&format!(
        "INSERT INTO revokd_revocations(id, seq, kind, target, iss, before_ms, created_at, expires_at, reason, actor, uniq)
           SELECT 'r' || g, g, 'jti', md5(g::text), NULL, NULL, 1, 4000000000 - g % 1000, NULL, 'bench',
                  'jti||' || md5(g::text)
           FROM generate_series(1, {n}) g;
         INSERT INTO revokd_events(seq, op, revocation_id, at) SELECT g, 'revoke', 'r' || g, 1 FROM generate_series(1, {n}) g;
         UPDATE revokd_feed_head SET seq = {n} WHERE id = 1;"
    ));
    db.sql("VACUUM ANALYZE revokd_revocations");
    db.sql("VACUUM ANALYZE revokd_events");
    eprintln!("inserted {n} live rules in {:.1} s", t.elapsed().as_secs_f64());
    for run in 0..3 {
        let start = Instant::now();
        let store = PostgresStore::connect(&db.url).await.unwrap();
        let connected = start.elapsed();
        let snap = store.snapshot().await.unwrap();
        let snapped = start.elapsed();
        let index = Index::new();
        index.load(&snap.rules);
        let took = start.elapsed();
        assert_eq!(snap.seq, n);
        assert_eq!(index.stats().jtis as u64, n);
        println!(
            "start-up load of {} live rules (run {run}): {:.2} s (connect {:.2} s, snapshot {:.2} s, index {:.2} s), {:.0} rules/s",
            index.stats().jtis,
            took.as_secs_f64(),
            connected.as_secs_f64(),
            (snapped - connected).as_secs_f64(),
            (took - snapped).as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
        drop((store, snap, index));
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        throughput(64, 5).await;
        startup(1_000_000).await;
    });
}
