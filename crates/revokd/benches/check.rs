//! The revocation check alone at 0, 1M and 10M revoked jtis (plus 10k subject cutoffs
//! and 10k families when non-empty), hit and miss, one thread and two; an HS256 verify
//! in the same run for the ratio.
//!
//! `REVOKD_BENCH_SIZES=0,1000000` limits the sizes (default: 0, 1M, 10M).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use revokd::index::{Index, Probe};
use revokd::rules::{Revocation, RuleKind};
use revokd::token::Tokens;
use revokd::{IssueRequest, Revokd, TokenPolicy, TokenType};
use uuid::Uuid;

const POOL: usize = 1 << 20;

fn rule(kind: RuleKind, target: Option<String>, before_ms: Option<u64>) -> Revocation {
    Revocation {
        id: Uuid::now_v7().to_string(),
        seq: 0,
        kind,
        target,
        iss: None,
        before_ms,
        created_at: 0,
        expires_at: u32::MAX as u64,
        reason: None,
        actor: "bench".into(),
    }
}

fn v7() -> Uuid {
    let ms = 1_735_689_600_000 + rand::random::<u32>() as u64;
    uuid::Builder::from_unix_timestamp_millis(ms, &rand::random()).into_uuid()
}

/// An index with `n` revoked jtis (+ 10k subjects, 10k families if n > 0), and probe
/// pools for hits and misses (random order, so the table is walked as real traffic
/// would: not from cache).
fn build(n: usize) -> (Index, Vec<Probe>, Vec<Probe>) {
    let idx = Index::new();
    let mut hits = Vec::with_capacity(POOL);
    let sample = (n / POOL).max(1);
    for i in 0..n {
        let u = v7().to_string();
        idx.apply(&rule(RuleKind::Jti, Some(u.clone()), None));
        if i % sample == 0 && hits.len() < POOL {
            hits.push(idx.probe_parts(None, &u, "user", None, 1));
        }
    }
    if n > 0 {
        for i in 0..10_000 {
            idx.apply(&rule(RuleKind::Subject, Some(format!("user{i}")), Some(1_000)));
            idx.apply(&rule(RuleKind::Family, Some(v7().to_string()), None));
        }
    }
    if hits.is_empty() {
        hits.push(idx.probe_parts(None, &v7().to_string(), "user", None, 1));
    }
    let misses: Vec<Probe> = (0..POOL)
        .map(|i| {
            idx.probe_parts(None, &v7().to_string(), &format!("user{}", i % 20_000), Some(&v7().to_string()), 2_000)
        })
        .collect();
    shuffle(&mut hits);
    (idx, hits, misses)
}

type Cold = Vec<(String, String, String)>;

/// Token parts for cold checks: revoked jtis (hits) sampled from the index, and fresh
/// ones (misses), in random order. The hit pool is rebuilt by revoking fresh jtis.
fn cold_tokens(idx: &Index, n: usize) -> (Cold, Cold) {
    const COLD: usize = 1 << 18;
    let mut hits = Vec::new();
    if n > 0 {
        for i in 0..COLD {
            let jti = v7().to_string();
            idx.apply(&rule(RuleKind::Jti, Some(jti.clone()), None));
            hits.push((jti, format!("user{}", i % 20_000), v7().to_string()));
        }
    }
    let misses: Cold = (0..COLD).map(|i| (v7().to_string(), format!("user{}", i % 20_000), v7().to_string())).collect();
    shuffle(&mut hits);
    (hits, misses)
}

fn shuffle<T>(v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rand::random::<u64>() as usize % (i + 1);
        v.swap(i, j);
    }
}

fn two_threads(idx: &Index, probes: &[Probe], iters: u64) -> Duration {
    std::thread::scope(|s| {
        let run = |offset: usize| {
            let start = Instant::now();
            let mut i = offset;
            for _ in 0..iters {
                i = (i + 1) % probes.len();
                black_box(idx.is_revoked(black_box(&probes[i])));
            }
            start.elapsed()
        };
        let a = s.spawn(move || run(0));
        let b = s.spawn(move || run(probes.len() / 2));
        a.join().unwrap().max(b.join().unwrap())
    })
}

fn check(c: &mut Criterion) {
    let sizes: Vec<usize> = std::env::var("REVOKD_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![0, 1_000_000, 10_000_000]);

    // The baseline of the ratio: an HS256 verify, in the same run.
    let (_, keys) = common::key_sets().remove(0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let revokd = rt.block_on(async {
        Revokd::builder(keys.clone(), Arc::new(revokd::store::MemoryStore::new()))
            .poll_interval(None)
            .prune_interval(None)
            .build()
            .await
            .unwrap()
    });
    let pair = rt.block_on(revokd.issue(IssueRequest::new("alice"))).unwrap();
    let tokens = Tokens::new(keys, TokenPolicy::default());
    let verified = tokens.verify(&pair.access_token, TokenType::Access, pair.access.iat).unwrap();
    let mut g = c.benchmark_group("check");
    g.bench_function("hs256_verify_baseline", |b| {
        b.iter(|| tokens.verify(black_box(&pair.access_token), TokenType::Access, pair.access.iat).unwrap())
    });
    // The whole check as `Revokd::verify` runs it: keys from the claims, then lookups.
    g.bench_function("revokd_check_of_verified_token/empty", |b| b.iter(|| revokd.check(black_box(&verified))));

    for n in sizes {
        let (idx, hits, misses) = build(n);
        let label = match n {
            0 => "0".to_owned(),
            n if n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
            n => n.to_string(),
        };
        eprintln!("index {label}: {:?}", idx.stats());
        for (kind, probes) in [("hit", &hits), ("miss", &misses)] {
            if n == 0 && kind == "hit" {
                continue;
            }
            let mut i = 0usize;
            g.bench_function(format!("lookup/{label}/{kind}/1thread"), |b| {
                b.iter(|| {
                    i = (i + 1) % probes.len();
                    idx.is_revoked(black_box(&probes[i]))
                })
            });
            g.bench_function(format!("lookup/{label}/{kind}/2threads"), |b| {
                b.iter_custom(|iters| two_threads(&idx, probes, iters))
            });
        }
        // what `Revokd::verify` adds to a verify: keys from the claims, then lookups
        g.bench_function(format!("check_of_verified_token/{label}/miss"), |b| {
            b.iter(|| idx.check(black_box(&verified), &tokens))
        });
        // the same, cold: a different token each time (keys hashed from the text)
        let cold = cold_tokens(&idx, n);
        for (kind, pool) in [("hit", &cold.0), ("miss", &cold.1)] {
            if pool.is_empty() {
                continue;
            }
            let mut i = 0usize;
            g.bench_function(format!("check_cold/{label}/{kind}"), |b| {
                b.iter(|| {
                    i = (i + 1) % pool.len();
                    let (jti, sub, fam) = &pool[i];
                    idx.check_parts(None, black_box(jti), sub, Some(fam), 5_000)
                })
            });
        }
        // and hot, for a revoked token (jti hit)
        idx.apply(&rule(RuleKind::Jti, Some(verified.claims.jti.clone()), None));
        g.bench_function(format!("check_of_verified_token/{label}/hit"), |b| {
            b.iter(|| idx.check(black_box(&verified), &tokens))
        });
        idx.remove(&rule(RuleKind::Jti, Some(verified.claims.jti.clone()), None));
        drop((idx, hits, misses, cold));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = check
}
criterion_main!(benches);
