//! Verify with every algorithm, with and without the revocation check.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use revokd::store::MemoryStore;
use revokd::token::Tokens;
use revokd::{IssueRequest, Revokd, TokenPolicy, TokenType};

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut g = c.benchmark_group("verify");
    for (alg, keys) in common::key_sets() {
        let revokd = rt.block_on(async {
            Revokd::builder(keys.clone(), Arc::new(MemoryStore::new()))
                .poll_interval(None)
                .prune_interval(None)
                .build()
                .await
                .unwrap()
        });
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
    }
    g.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
