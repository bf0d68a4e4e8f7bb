//! Helpers shared by the integration tests.
#![allow(dead_code)]

#[path = "backends.rs"]
pub(crate) mod backends;

use std::path::PathBuf;
use std::sync::Arc;

use revokd::clock::ManualClock;
use revokd::store::{MemoryStore, Store};
use revokd::{Algorithm, Key, KeySet, Revokd, TokenPolicy};

pub(crate) const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

pub(crate) fn key_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys").join(name)
}

pub(crate) fn pem(name: &str) -> Vec<u8> {
    std::fs::read(key_path(name)).expect("test key fixture")
}

pub(crate) fn hs_keys() -> KeySet {
    KeySet::new().with(Key::hmac("hs", Algorithm::HS256, SECRET).unwrap()).unwrap()
}

/// 2025-01-01T00:00:00Z
pub(crate) const T0_MS: u64 = 1_735_689_600_000;

pub(crate) async fn memory_revokd(clock: &ManualClock, policy: TokenPolicy) -> Revokd {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    Revokd::builder(hs_keys(), store)
        .policy(policy)
        .clock(Arc::new(clock.clone()))
        .poll_interval(None)
        .prune_interval(None)
        .build()
        .await
        .unwrap()
}

/// Re-runs this test binary as a child executing only `test` (an `#[ignore]`d test
/// that acts when `REVOKD_CHILD` is set).
pub(crate) fn child(test: &str, envs: &[(&str, String)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    cmd.env("REVOKD_CHILD", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}
