//! The configuration parser: arbitrary text as `revokd.toml` (and as the value of a
//! `REVOKD_*` variable). Never a panic: every input is either settings or an error that
//! names a key.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use revokd_server::config::{Overrides, Settings};

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("revokd-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Key files named by the input would be read: keep them to the fuzzer's folder.
    if text.contains("pem") || text.contains("jwks_file") {
        return;
    }
    let path = dir().join("revokd.toml");
    std::fs::write(&path, text).unwrap();
    let _ = Settings::resolve(Some(&path), std::iter::empty(), &Overrides::default());
    // the same text as every environment variable's value
    let env = [
        "REVOKD_LISTEN",
        "REVOKD_STORE",
        "REVOKD_ADMIN_TOKENS",
        "REVOKD_ACCESS_TTL",
        "REVOKD_CHECK_TYPES",
        "REVOKD_COOKIES",
    ]
    .map(|k| (k.to_owned(), text.to_owned()));
    std::fs::write(&path, "").unwrap();
    let _ = Settings::resolve(Some(&path), env, &Overrides::default());
});
