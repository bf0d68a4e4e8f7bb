//! The verified-token cache: a hit answers exactly as a full verification would, every
//! check but the signature still runs, revocation is never cached, keys that leave stop
//! their tokens, and the size stays bounded.

use std::sync::Arc;

use proptest::prelude::*;
use revokd::clock::ManualClock;
use revokd::store::{MemoryStore, Store};
use revokd::token::{CacheConfig, ForeignIssuer, Tokens};
use revokd::{Algorithm, Claims, Error, IssueRequest, Key, KeySet, Revokd, Target, TokenPolicy, TokenType};
use serde_json::json;

use crate::common::{T0_MS, hs_keys, pem};

const NOW: u64 = T0_MS / 1000;

fn cache() -> CacheConfig {
    CacheConfig::default()
}

fn claims(sub: &str, jti_n: u64, exp: u64, token_type: TokenType, extra: serde_json::Value) -> Claims {
    let mut v = json!({
        "jti": format!("01941f29-7c00-7000-8000-{jti_n:012x}"),
        "sub": sub, "iat": NOW, "nbf": NOW, "exp": exp,
        "type": token_type.as_str(), "fresh": false, "fam": "01943b9a-5c00-7000-8000-0000000000ff",
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    serde_json::from_value(v).unwrap()
}

fn keys() -> Vec<Key> {
    vec![
        Key::hmac("hs256", Algorithm::HS256, &[7u8; 32]).unwrap(),
        Key::hmac("hs512", Algorithm::HS512, &[9u8; 64]).unwrap(),
        Key::from_private_pem("rs", Algorithm::RS256, &pem("rsa.pem")).unwrap(),
        Key::from_private_pem("es", Algorithm::ES256, &pem("ec.pem")).unwrap(),
        Key::from_private_pem("ed", Algorithm::EdDSA, &pem("ed.pem")).unwrap(),
    ]
}

/// The same outcome: both Ok with equal claims, or both the same error.
fn same(a: &Result<revokd::Verified, Error>, b: &Result<revokd::Verified, Error>) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x.claims == y.claims && x.origin == y.origin && x.issued_ms == y.issued_ms,
        (Err(x), Err(y)) => x.code() == y.code(),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// For random claims, algorithms and keys: the cached answer equals a fresh verify's,
    /// for the valid token, for the other type, later in time, and for the token with one
    /// signature byte changed after the original was cached.
    #[test]
    fn a_cached_answer_equals_a_fresh_verification(
        key_i in 0usize..5,
        sub in "[a-z]{1,12}",
        n in 0u64..1_000_000,
        ttl in 1u64..600,
        later in 0u64..700,
        refresh in any::<bool>(),
        flip in 0usize..64,
        role in "[a-z]{0,8}",
    ) {
        let key = keys().swap_remove(key_i);
        let set = KeySet::new().with(key).unwrap();
        let plain = Tokens::new(set.clone(), TokenPolicy::default());
        let cached = Tokens::new(set, TokenPolicy::default()).with_cache(cache());
        let t = if refresh { TokenType::Refresh } else { TokenType::Access };
        let token = plain.sign(&claims(&sub, n, NOW + ttl, t, json!({"role": role}))).unwrap();
        for (expected, at) in [(t, NOW), (t, NOW), (TokenType::Access, NOW), (t, NOW + later)] {
            prop_assert!(same(&cached.verify(&token, expected, at), &plain.verify(&token, expected, at)));
        }
        // tamper with one signature byte (its base64 text), the original being cached
        let sig_start = token.rfind('.').unwrap() + 1;
        let mut bytes = token.clone().into_bytes();
        let i = sig_start + flip % (bytes.len() - sig_start);
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        prop_assume!(tampered != token);
        let fresh = plain.verify(&tampered, t, NOW);
        prop_assert!(fresh.is_err());
        prop_assert!(same(&cached.verify(&tampered, t, NOW), &fresh));
        // access tokens are cached; refresh tokens (one use per rotation) are not
        prop_assert_eq!(cached.cache_stats().unwrap().hits >= 1, !refresh);
    }
}

async fn revokd(clock: &ManualClock) -> Revokd {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    Revokd::builder(hs_keys(), store)
        .clock(Arc::new(clock.clone()))
        .verify_cache(Some(cache()))
        .poll_interval(None)
        .prune_interval(None)
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cached_token_is_refused_once_revoked_by_any_rule() {
    let clock = ManualClock::new(T0_MS);
    let r = revokd(&clock).await;
    let targets = |v: &revokd::Verified| {
        vec![
            Target::Jti { iss: None, jti: v.claims.jti.clone(), exp: Some(v.claims.exp) },
            Target::Subject { iss: None, sub: v.claims.sub.clone(), before_ms: None },
            Target::Family { fam: v.claims.fam.clone().unwrap() },
            Target::All { before_ms: None },
        ]
    };
    for kind in 0..4 {
        clock.advance_ms(5);
        let pair = r.issue(IssueRequest::new(format!("user{kind}"))).await.unwrap();
        let v = r.verify(&pair.access_token, TokenType::Access).unwrap();
        r.verify(&pair.access_token, TokenType::Access).unwrap();
        let before = r.cache_stats().unwrap().hits;
        let rev = r.revoke(targets(&v).swap_remove(kind), None, "test").await.unwrap();
        assert!(matches!(r.verify(&pair.access_token, TokenType::Access), Err(Error::TokenRevoked)), "{rev:?}");
        assert!(r.cache_stats().unwrap().hits > before, "answered from the cache, and still refused");
        if kind < 2 {
            r.unrevoke(&rev.id).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_cached_token_is_refused_from_its_exp_on() {
    let clock = ManualClock::new(T0_MS);
    let r = revokd(&clock).await;
    let pair = r.issue(IssueRequest { access_ttl: Some(60), ..IssueRequest::new("alice") }).await.unwrap();
    r.verify(&pair.access_token, TokenType::Access).unwrap();
    clock.advance_ms(59_000);
    r.verify(&pair.access_token, TokenType::Access).unwrap();
    clock.advance_ms(1_000);
    assert!(matches!(r.verify(&pair.access_token, TokenType::Access), Err(Error::TokenExpired)));
}

#[test]
fn an_entry_lives_no_longer_than_max_lifetime() {
    let t = Tokens::new(KeySet::new().with(keys().swap_remove(0)).unwrap(), TokenPolicy::default())
        .with_cache(CacheConfig { max_lifetime_secs: 10, ..cache() });
    let token = t.sign(&claims("a", 1, NOW + 600, TokenType::Access, json!({}))).unwrap();
    t.verify(&token, TokenType::Access, NOW).unwrap();
    t.verify(&token, TokenType::Access, NOW + 9).unwrap();
    assert_eq!(t.cache_stats().unwrap().hits, 1);
    t.verify(&token, TokenType::Access, NOW + 10).unwrap();
    let s = t.cache_stats().unwrap();
    assert_eq!((s.hits, s.misses), (1, 2), "verified in full again after 10 s");
}

#[test]
fn removing_a_key_stops_its_cached_tokens_and_leaves_others_alone() {
    let rs = Key::from_private_pem("idp-1", Algorithm::RS256, &pem("rsa.pem")).unwrap();
    let es = Key::from_private_pem("idp-2", Algorithm::ES256, &pem("ec.pem")).unwrap();
    let idp = |k: &Key| Tokens::new(KeySet::new().with(k.clone()).unwrap(), TokenPolicy::default());
    let ours = Tokens::new(hs_keys(), TokenPolicy::default())
        .with_foreign(ForeignIssuer {
            issuer: "https://idp".into(),
            audience: None,
            keys: KeySet::new().with(rs.clone()).unwrap().with(es.clone()).unwrap(),
        })
        .with_cache(cache());
    let mint = |k: &Key, n| {
        let mut c = claims("alice", n, NOW + 300, TokenType::Access, json!({}));
        c.iss = Some("https://idp".into());
        idp(k).sign(&c).unwrap()
    };
    let (old, new) = (mint(&rs, 1), mint(&es, 2));
    for t in [&old, &new, &old, &new] {
        ours.verify(t, TokenType::Access, NOW).unwrap();
    }
    assert_eq!(ours.cache_stats().unwrap().hits, 2);
    // the IdP drops idp-1 from its JWKS: a purge drops its entry at once, not the other
    ours.foreign()[0].keys.replace(KeySet::new().with(es.clone()).unwrap());
    assert_eq!(ours.cache_stats().unwrap().entries, 2);
    ours.purge_cache(NOW);
    assert_eq!(ours.cache_stats().unwrap().entries, 1, "idp-1's entry purged, idp-2's kept");
    assert!(matches!(ours.verify(&old, TokenType::Access, NOW), Err(Error::UnknownKey)));
    let hits = ours.cache_stats().unwrap().hits;
    ours.verify(&new, TokenType::Access, NOW).unwrap();
    assert_eq!(ours.cache_stats().unwrap().hits, hits + 1, "idp-2's token still answered from the cache");
    // idp-2 replaced by other material under the same kid: its cached token stops too
    let other = Key::from_private_pem("idp-2", Algorithm::EdDSA, &pem("ed.pem")).unwrap();
    ours.foreign()[0].keys.replace(KeySet::new().with(other).unwrap());
    assert!(ours.verify(&new, TokenType::Access, NOW).is_err());
    assert!(matches!(ours.verify(&old, TokenType::Access, NOW), Err(Error::UnknownKey)));
}

#[test]
fn a_flood_of_distinct_valid_tokens_never_grows_the_cache_past_its_capacity() {
    let t = Tokens::new(hs_keys(), TokenPolicy::default()).with_cache(CacheConfig { capacity: 10_000, ..cache() });
    let mut sample = Vec::new();
    for n in 0..100_000u64 {
        let token = t.sign(&claims(&format!("u{n}"), n, NOW + 300, TokenType::Access, json!({}))).unwrap();
        let v = t.verify(&token, TokenType::Access, NOW).unwrap();
        assert_eq!(v.claims.sub, format!("u{n}"));
        if n % 997 == 0 {
            sample.push((n, token));
        }
        if n % 10_000 == 0 {
            assert!(t.cache_stats().unwrap().entries <= 10_000);
        }
    }
    let s = t.cache_stats().unwrap();
    assert!(s.entries <= 10_000, "{s:?}");
    assert!(s.evictions >= 90_000, "{s:?}");
    for (n, token) in sample {
        assert_eq!(t.verify(&token, TokenType::Access, NOW).unwrap().claims.sub, format!("u{n}"));
    }
    // a token over max_token_bytes is verified every time, never cached
    let small =
        Tokens::new(hs_keys(), TokenPolicy::default()).with_cache(CacheConfig { max_token_bytes: 64, ..cache() });
    let token = small.sign(&claims("a", 1, NOW + 300, TokenType::Access, json!({}))).unwrap();
    small.verify(&token, TokenType::Access, NOW).unwrap();
    small.verify(&token, TokenType::Access, NOW).unwrap();
    assert_eq!(small.cache_stats().unwrap(), revokd::token::CacheStats::default());
}

#[test]
fn a_hit_still_checks_time_issuer_and_audience_against_the_moment() {
    // nbf in the future relative to a clock moved back: refused from the cache
    let t = Tokens::new(hs_keys(), TokenPolicy::default()).with_cache(cache());
    let mut c = claims("a", 1, NOW + 600, TokenType::Access, json!({}));
    c.nbf = Some(NOW + 50);
    let token = t.sign(&c).unwrap();
    t.verify(&token, TokenType::Access, NOW + 100).unwrap();
    assert!(matches!(t.verify(&token, TokenType::Access, NOW), Err(Error::TokenNotYetValid)));
    assert_eq!(t.cache_stats().unwrap().hits, 1, "refused by the hit's own check");
    // a cached token of another issuer or audience than a policy wants is refused too
    let strict =
        Tokens::new(hs_keys(), TokenPolicy::default().issuer("https://ours").audience("api")).with_cache(cache());
    let mut c = claims("a", 2, NOW + 600, TokenType::Access, json!({}));
    c.iss = Some("https://ours".into());
    c.aud = Some(revokd::token::Audience::One("api".into()));
    let good = strict.sign(&c).unwrap();
    strict.verify(&good, TokenType::Access, NOW).unwrap();
    strict.verify(&good, TokenType::Access, NOW).unwrap();
    assert_eq!(strict.cache_stats().unwrap().hits, 1);
}
