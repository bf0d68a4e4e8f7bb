//! Helpers shared by the benchmarks.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use revokd::rules::{NewRevocation, RuleKind};
use revokd::{Algorithm, Key, KeySet};

pub(crate) fn pem(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys").join(name)).unwrap()
}

/// One signing key set per algorithm benchmarked.
pub(crate) fn key_sets() -> Vec<(&'static str, KeySet)> {
    let one = |k: Key| KeySet::new().with(k).unwrap();
    vec![
        ("HS256", one(Key::hmac("hs", Algorithm::HS256, &[7u8; 32]).unwrap())),
        ("RS256", one(Key::from_private_pem("rs", Algorithm::RS256, &pem("rsa.pem")).unwrap())),
        ("ES256", one(Key::from_private_pem("es", Algorithm::ES256, &pem("ec.pem")).unwrap())),
        ("EdDSA", one(Key::from_private_pem("ed", Algorithm::EdDSA, &pem("ed.pem")).unwrap())),
    ]
}

/// A scratch folder on the project's disk (not a tmpfs), so fsync costs what it costs.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `jti` rule for the `i`-th write of a store benchmark: a fresh target, a far expiry.
pub(crate) fn new_rule(i: u64) -> NewRevocation {
    NewRevocation {
        kind: RuleKind::Jti,
        target: Some(format!("{}", uuid::Uuid::now_v7())),
        iss: None,
        before_ms: None,
        created_at: 1,
        expires_at: u32::MAX as u64 - i % 1000,
        reason: None,
        actor: "bench".into(),
    }
}
