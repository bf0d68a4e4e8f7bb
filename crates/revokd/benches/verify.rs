//! Verify with every algorithm, with and without the revocation check.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use revokd::store::{MemoryStore, Store};
use revokd::token::{CacheConfig, Tokens};
use revokd::{IssueRequest, Revokd, Target, TokenPolicy, TokenType};

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut g = c.benchmark_group("verify");
    for (alg, keys) in common::key_sets() {
        // An index with 100k revoked jtis, 1k subject cutoffs and 1k families, so the
        // check really looks (an empty index short-circuits).
        // The same store for both: one without the verified-token cache, one with it.
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let build = |cache: Option<CacheConfig>| {
            let (keys, store) = (keys.clone(), Arc::clone(&store));
            rt.block_on(async move {
                Revokd::builder(keys, store)
                    .verify_cache(cache)
                    .poll_interval(None)
                    .prune_interval(None)
                    .build()
                    .await
                    .unwrap()
            })
        };
        let revokd = build(None);
        rt.block_on(async {
            for i in 0..100_000u32 {
                let target = match i % 100 {
                    0 => Target::Subject { iss: None, sub: format!("user{i}"), before_ms: None },
                    1 => Target::Family { fam: uuid::Uuid::now_v7().to_string() },
                    _ => Target::Jti { iss: None, jti: uuid::Uuid::now_v7().to_string(), exp: None },
                };
                revokd.revoke(target, None, "bench").await.unwrap();
            }
        });
        let cached = build(Some(CacheConfig::default()));
        let pair = rt.block_on(revokd.issue(IssueRequest::new("alice").claim("role", "admin"))).unwrap();
        let tokens = Tokens::new(keys, TokenPolicy::default());
        let now = pair.access.iat;
        let token = pair.access_token.clone();
        g.bench_function(format!("{alg}/signature_and_claims"), |b| {
            b.iter(|| tokens.verify(black_box(&token), TokenType::Access, now).unwrap())
        });
        g.bench_function(format!("{alg}/with_revocation_check"), |b| {
            b.iter(|| revokd.verify(black_box(&token), TokenType::Access).unwrap())
        });
        // A cache hit: every check but the signature, and the revocation check.
        cached.verify(&token, TokenType::Access).unwrap();
        g.bench_function(format!("{alg}/cache_hit_with_revocation_check"), |b| {
            b.iter(|| cached.verify(black_box(&token), TokenType::Access).unwrap())
        });
        assert!(cached.cache_stats().unwrap().hits > 0);
    }
    g.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
