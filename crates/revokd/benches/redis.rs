//! Redis: durable revocations per second with 64 concurrent writers (`appendfsync
//! always`, then `everysec`), and the start-up load of 1M live rules (connect +
//! snapshot, then the index).
//!
//! `cargo bench -p revokd --features redis --bench redis`. Starts its own
//! `redis-server` on a free port, its data in a scratch folder on the project's disk
//! (so fsync costs what it costs), and shuts it down at the end.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use revokd::index::Index;
use revokd::store::{Change, RedisStore, Store};

struct Server {
    port: u16,
}

impl Server {
    fn start() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = common::scratch(&format!("redis-{port}"));
        let out = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(&dir)
            .args(["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "yes"])
            .args(["--logfile", "redis.log"])
            .output()
            .unwrap();
        assert!(out.status.success(), "redis-server: {}", String::from_utf8_lossy(&out.stderr));
        let s = Server { port };
        for _ in 0..100 {
            if s.cli(&["PING"]).contains("PONG") {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server on port {port} did not start");
    }

    fn url(&self, prefix: &str) -> String {
        format!("redis://127.0.0.1:{}?prefix={prefix}", self.port)
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.cli(&["SHUTDOWN", "NOSAVE"]);
        let _ = std::fs::remove_dir_all(common::scratch(&format!("redis-{}", self.port)));
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn throughput(store: &Arc<RedisStore>, writers: usize, secs: u64) -> (u64, f64, f64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, done) = (Arc::clone(store), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w as u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                store.append(Change::Revoke(common::new_rule(i))).await.unwrap();
                lat.push(t.elapsed());
                done.fetch_add(1, Ordering::Relaxed);
                i += writers as u64;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort();
    let n = done.load(Ordering::Relaxed);
    (n, n as f64 / elapsed, pct(&lat, 0.50), pct(&lat, 0.99))
}

async fn bulk_load(store: &Arc<RedisStore>, n: u64) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..512 {
        let (store, next) = (Arc::clone(store), Arc::clone(&next));
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

fn main() {
    let server = Server::start();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Arc::new(RedisStore::connect(&server.url("bench:")).await.unwrap());
        for fsync in ["always", "everysec"] {
            server.cli(&["CONFIG", "SET", "appendfsync", fsync]);
            let (n, rate, p50, p99) = throughput(&store, 64, 5).await;
            println!(
                "appendfsync {fsync}, 64 writers, 5 s: {n} acknowledged revocations, {rate:.0}/s, latency p50 {p50:.2} ms, p99 {p99:.2} ms"
            );
        }
        let n = 1_000_000;
        // The bulk load needs no fsync per write; the data is the same.
        server.cli(&["CONFIG", "SET", "appendfsync", "no"]);
        // A prefix of its own: only the million below is live there.
        let store = Arc::new(RedisStore::connect(&server.url("bulk:")).await.unwrap());
        let t = Instant::now();
        bulk_load(&store, n).await;
        println!("bulk-wrote {n} live rules in {:.1} s ({:.0}/s)", t.elapsed().as_secs_f64(), n as f64 / t.elapsed().as_secs_f64());
        drop(store);
        for run in 0..2 {
            let t = Instant::now();
            let store = RedisStore::connect(&server.url("bulk:")).await.unwrap();
            let snapshot = store.snapshot().await.unwrap();
            let read = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let index = Index::new();
            index.load(&snapshot.rules);
            let load = t.elapsed().as_secs_f64();
            let rules = snapshot.rules.len();
            println!(
                "start-up (run {run}): connect + snapshot of {rules} rules {read:.2} s ({:.0} rules/s), index load {load:.2} s ({:.0} rules/s), total {:.2} s",
                rules as f64 / read,
                rules as f64 / load,
                read + load
            );
        }
    });
    drop(server);
}
