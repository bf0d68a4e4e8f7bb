//! Helpers shared by the benchmarks.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

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
