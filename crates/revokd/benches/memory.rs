//! Memory per revoked token, measured with a counting allocator: after loading N jti
//! rules, the peak during growth, and the steady state after churn (half the rules
//! expire and are pruned, as many new ones arrive).
//!
//! `cargo bench -p revokd --bench memory` (sizes: `REVOKD_BENCH_SIZES`, default 1M,10M).
#![allow(missing_docs, clippy::unwrap_used)]

use peak_alloc::PeakAlloc;
use revokd::index::Index;
use revokd::rules::{Revocation, RuleKind};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

fn rule(target: String, expires_at: u64) -> Revocation {
    Revocation {
        id: String::new(),
        seq: 0,
        kind: RuleKind::Jti,
        target: Some(target),
        iss: None,
        before_ms: None,
        created_at: 0,
        expires_at,
        reason: None,
        actor: String::new(),
    }
}

fn v7() -> String {
    let ms = 1_735_689_600_000 + rand::random::<u32>() as u64;
    uuid::Builder::from_unix_timestamp_millis(ms, &rand::random()).into_uuid().to_string()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let sizes: Vec<usize> = std::env::var("REVOKD_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000]);
    println!(
        "| revoked jtis | after load B/token | peak during growth B/token | steady state after churn B/token | index's own count B/token |"
    );
    println!("|---|---|---|---|---|");
    for n in sizes {
        let base = ALLOC.current_usage();
        ALLOC.reset_peak_usage();
        let idx = Index::new();
        for i in 0..n {
            // half expire at 100, half at 1000
            idx.apply(&rule(v7(), if i % 2 == 0 { 100 } else { 1000 }));
        }
        let loaded = ALLOC.current_usage() - base;
        let peak_growth = ALLOC.peak_usage() - base;
        // churn: the first half expires and is pruned in bounded steps; as many new arrive
        let mut removed = 0;
        while removed < n / 2 {
            removed += idx.prune(100, 1 << 16).removed;
        }
        for _ in 0..n / 2 {
            idx.apply(&rule(v7(), 2000));
        }
        // one more full sweep so compaction settles
        idx.prune(100, usize::MAX / 4);
        let steady = ALLOC.current_usage() - base;
        assert_eq!(idx.stats().jtis, n);
        let per = |b: usize| b as f64 / n as f64;
        println!(
            "| {n} | {:.1} | {:.1} | {:.1} | {:.1} |",
            per(loaded),
            per(peak_growth),
            per(steady),
            per(idx.stats().memory_bytes)
        );
        drop(idx);
    }
}
