//! Arbitrary bytes as a token, through every verifier (HS256 set, RS256/EdDSA/ES256 set,
//! with and without the verified-token cache, and `Revokd::verify` with a revocation
//! check), for both token types, and through the unverified `insecure_decode`.
//!
//! Oracle: never a panic; an `Ok` only for a token whose `header.payload` one of our keys
//! signed at setup and whose signature stops verifying when any one character of it is
//! changed (so neither a forged message nor a malleable/ignored signature is accepted);
//! the revoked token is never accepted by `Revokd`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use revokd::TokenType;
use revokd_fuzz::{MAX_TOKEN_BYTES, NOW, REVOKED_JTI, assert_genuine, fixture};

fn check(token: &str) {
    let f = fixture();
    for verifier in &f.verifiers {
        for expected in [TokenType::Access, TokenType::Refresh] {
            if let Ok(v) = verifier.verify(token, expected, NOW) {
                assert_eq!(v.claims.token_type, expected);
                assert!(v.claims.exp > NOW, "accepted an expired token");
                assert_genuine(verifier, token, expected);
            }
        }
    }
    for expected in [TokenType::Access, TokenType::Refresh] {
        if let Ok(v) = f.revokd.verify(token, expected) {
            assert_ne!(v.claims.jti, REVOKED_JTI, "Revokd accepted a revoked token");
            assert_genuine(f.revokd.tokens(), token, expected);
        }
    }
    let _ = revokd::token::dangerous::insecure_decode(token, MAX_TOKEN_BYTES);
}

fuzz_target!(|data: &[u8]| {
    match std::str::from_utf8(data) {
        Ok(s) => check(s),
        // The API takes `&str`: what a server would get after a lossy conversion.
        Err(_) => check(&String::from_utf8_lossy(data)),
    }
});
