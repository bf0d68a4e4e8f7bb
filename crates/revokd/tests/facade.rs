//! The facade: issue, verify, revoke every kind, unrevoke, check_types, registry, expiry.

use std::sync::Arc;

use revokd::clock::ManualClock;
use revokd::store::{MemoryStore, Store};
use revokd::token::{ForeignIssuer, Tokens};
use revokd::{Algorithm, Error, IssueRequest, Key, KeySet, Revokd, Target, TokenPolicy, TokenType};
use serde_json::json;

use crate::common::{T0_MS, hs_keys, memory_revokd, pem};

#[tokio::test]
async fn a_revoked_token_is_refused_and_an_unrevoked_one_accepted_again() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default()).await;
    let pair = r.issue(IssueRequest::new("alice").fresh(true).claim("role", "admin")).await.unwrap();
    let v = r.verify(&pair.access_token, TokenType::Access).unwrap();
    assert!(v.claims.fresh);
    assert_eq!(v.claims.custom::<String>("role").as_deref(), Some("admin"));
    assert_eq!(v.claims.fam, pair.refresh.fam, "access tokens carry the family");
    let rev = r
        .revoke(
            Target::Jti { iss: None, jti: v.claims.jti.clone(), exp: Some(v.claims.exp) },
            Some("leaked".into()),
            "admin",
        )
        .await
        .unwrap();
    assert_eq!(rev.reason.as_deref(), Some("leaked"));
    assert_eq!(rev.actor, "admin");
    assert_eq!(rev.expires_at, v.claims.exp);
    assert!(matches!(r.verify(&pair.access_token, TokenType::Access), Err(Error::TokenRevoked)));
    r.verify(&pair.refresh_token, TokenType::Refresh).unwrap();
    // revoking again returns the same rule
    let again = r.revoke(Target::Jti { iss: None, jti: v.claims.jti.clone(), exp: None }, None, "admin").await.unwrap();
    assert_eq!(again.id, rev.id);
    r.unrevoke(&rev.id).await.unwrap();
    r.verify(&pair.access_token, TokenType::Access).unwrap();
    assert!(matches!(r.unrevoke(&rev.id).await, Err(Error::NotFound)));
    assert!(matches!(r.unrevoke("no-such-id").await, Err(Error::NotFound)));
}

#[tokio::test]
async fn a_subject_cutoff_refuses_tokens_issued_up_to_its_millisecond() {
    let clock = ManualClock::new(T0_MS + 500);
    let r = memory_revokd(&clock, TokenPolicy::default()).await;
    let before = r.issue(IssueRequest::new("alice")).await.unwrap();
    let other = r.issue(IssueRequest::new("bob")).await.unwrap();
    let rev =
        r.revoke(Target::Subject { iss: None, sub: "alice".into(), before_ms: None }, None, "admin").await.unwrap();
    assert_eq!(rev.before_ms, Some(T0_MS + 500));
    // issued in the same millisecond as the cutoff: refused
    assert!(matches!(r.verify(&before.access_token, TokenType::Access), Err(Error::TokenRevoked)));
    assert!(matches!(r.verify(&before.refresh_token, TokenType::Refresh), Err(Error::TokenRevoked)));
    r.verify(&other.access_token, TokenType::Access).unwrap();
    // one millisecond later (same second): valid
    clock.advance_ms(1);
    let after = r.issue(IssueRequest::new("alice")).await.unwrap();
    r.verify(&after.access_token, TokenType::Access).unwrap();
    // undo
    r.unrevoke(&rev.id).await.unwrap();
    r.verify(&before.access_token, TokenType::Access).unwrap();
}

#[tokio::test]
async fn a_family_revocation_refuses_access_and_refresh_and_cannot_be_undone() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default()).await;
    let login = r.issue(IssueRequest::new("alice")).await.unwrap();
    let other_login = r.issue(IssueRequest::new("alice")).await.unwrap();
    let rev = r.revoke_token(&login.refresh_token, None, "holder").await.unwrap();
    assert_eq!(rev.kind, revokd::RuleKind::Family);
    assert_eq!(rev.expires_at, login.refresh.exp, "a family rule lives as long as the family's latest token");
    assert!(matches!(r.verify(&login.access_token, TokenType::Access), Err(Error::TokenRevoked)));
    assert!(matches!(r.verify(&login.refresh_token, TokenType::Refresh), Err(Error::TokenRevoked)));
    r.verify(&other_login.access_token, TokenType::Access).unwrap();
    assert!(matches!(r.unrevoke(&rev.id).await, Err(Error::NotReversible)));
}

#[tokio::test]
async fn a_global_cutoff_refuses_everything_issued_before_it() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default()).await;
    let a = r.issue(IssueRequest::new("alice")).await.unwrap();
    let rev = r.revoke(Target::All { before_ms: None }, Some("key compromise".into()), "cli").await.unwrap();
    assert!(matches!(r.verify(&a.access_token, TokenType::Access), Err(Error::TokenRevoked)));
    clock.advance_ms(1);
    let b = r.issue(IssueRequest::new("alice")).await.unwrap();
    r.verify(&b.access_token, TokenType::Access).unwrap();
    assert!(matches!(r.unrevoke(&rev.id).await, Err(Error::NotReversible)));
}

#[tokio::test]
async fn check_types_leaves_unchecked_types_alone() {
    let clock = ManualClock::new(T0_MS);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let r = Revokd::builder(hs_keys(), store)
        .clock(Arc::new(clock.clone()))
        .check_types(&[TokenType::Access])
        .poll_interval(None)
        .prune_interval(None)
        .build()
        .await
        .unwrap();
    let login = r.issue(IssueRequest::new("alice")).await.unwrap();
    r.revoke(Target::Subject { iss: None, sub: "alice".into(), before_ms: None }, None, "admin").await.unwrap();
    assert!(r.verify(&login.access_token, TokenType::Access).is_err());
    r.verify(&login.refresh_token, TokenType::Refresh).unwrap();
}

#[tokio::test]
async fn access_and_refresh_tokens_are_not_interchangeable_and_reserved_claims_are_refused() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default()).await;
    let login = r.issue(IssueRequest::new("alice")).await.unwrap();
    assert!(matches!(r.verify(&login.refresh_token, TokenType::Access), Err(Error::WrongTokenType { .. })));
    assert!(matches!(r.verify(&login.access_token, TokenType::Refresh), Err(Error::WrongTokenType { .. })));
    for name in ["jti", "sub", "exp", "type", "fam", "fresh", "csrf", "iss", "aud", "iat", "nbf"] {
        let e = r.issue(IssueRequest::new("alice").claim(name, 1)).await.unwrap_err();
        assert!(matches!(&e, Error::ReservedClaim(n) if n == name), "{name}: {e}");
        assert_eq!(e.code(), "reserved_claim");
    }
}

#[tokio::test]
async fn rules_expire_with_what_they_match_and_are_pruned() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default().leeway(10)).await;
    let login = r.issue(IssueRequest { access_ttl: Some(60), ..IssueRequest::new("alice") }).await.unwrap();
    let jti_rule = r.revoke_token(&login.access_token, None, "admin").await.unwrap();
    assert_eq!(jti_rule.expires_at, login.access.exp + 10, "exp + leeway");
    let sub_rule =
        r.revoke(Target::Subject { iss: None, sub: "bob".into(), before_ms: None }, None, "admin").await.unwrap();
    // the longest lifetime ever issued is the default refresh TTL (30 days)
    assert_eq!(sub_rule.expires_at, T0_MS / 1000 + 2_592_000 + 10);
    assert_eq!(r.index_stats().jtis, 1);
    // issuing a longer TTL raises the longest lifetime, durably
    r.issue(IssueRequest { refresh_ttl: Some(5_000_000), ..IssueRequest::new("carol") }).await.unwrap();
    assert_eq!(r.store().max_lifetime().await.unwrap(), 5_000_000);
    let later =
        r.revoke(Target::Subject { iss: None, sub: "dave".into(), before_ms: None }, None, "admin").await.unwrap();
    assert_eq!(later.expires_at, T0_MS / 1000 + 5_000_000 + 10);
    // prune the store once the jti rule has expired: it leaves; the subject rules stay
    let now = jti_rule.expires_at;
    r.store().prune(now).await.unwrap();
    let snap = r.store().snapshot().await.unwrap();
    assert!(snap.rules.iter().all(|x| x.id != jti_rule.id));
    assert!(snap.rules.iter().any(|x| x.id == sub_rule.id));
}

#[tokio::test]
async fn a_subject_lists_its_tokens_with_status() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default()).await;
    let first = r.issue(IssueRequest { access_ttl: Some(10), ..IssueRequest::new("alice") }).await.unwrap();
    clock.advance_ms(1000);
    let second = r.issue(IssueRequest::new("alice")).await.unwrap();
    r.issue(IssueRequest::new("bob")).await.unwrap();
    r.revoke_token(&second.access_token, None, "admin").await.unwrap();
    clock.advance_ms(20_000);
    let page = r.tokens_of(Some("alice"), None, 3).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let next = page.next.clone().expect("a fourth token remains");
    let rest = r.tokens_of(Some("alice"), Some(&next), 3).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next, None);
    let all: Vec<_> = page.items.into_iter().chain(rest.items).collect();
    let status = |jti: &str| all.iter().find(|t| t.token.jti == jti).unwrap().status;
    assert_eq!(status(&first.access.jti), "expired");
    assert_eq!(status(&first.refresh.jti), "active");
    assert_eq!(status(&second.access.jti), "revoked");
    assert_eq!(status(&second.refresh.jti), "active");
}

#[tokio::test]
async fn foreign_rules_are_scoped_to_their_issuer() {
    let clock = ManualClock::new(T0_MS);
    let idp = Tokens::new(
        KeySet::new().with(Key::from_private_pem("idp", Algorithm::ES256, &pem("ec.pem")).unwrap()).unwrap(),
        TokenPolicy::default(),
    );
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let r = Revokd::builder(hs_keys(), store)
        .clock(Arc::new(clock.clone()))
        .foreign_issuer(ForeignIssuer {
            issuer: "https://idp".into(),
            audience: None,
            keys: KeySet::from_jwks(&idp.keys().jwks()).unwrap(),
        })
        .poll_interval(None)
        .build()
        .await
        .unwrap();
    let now = T0_MS / 1000;
    let foreign = |iat: u64| {
        idp.sign(
            &serde_json::from_value(
                json!({"sub": "alice", "iss": "https://idp", "iat": iat, "exp": iat + 300, "jti": format!("j{iat}")}),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let ours = r.issue(IssueRequest::new("alice")).await.unwrap();
    let theirs = foreign(now);
    r.verify(&theirs, TokenType::Access).unwrap();
    // our "alice" logged out everywhere: the IdP's alice is untouched
    r.revoke(Target::Subject { iss: None, sub: "alice".into(), before_ms: Some(T0_MS + 999) }, None, "admin")
        .await
        .unwrap();
    assert!(r.verify(&ours.access_token, TokenType::Access).is_err());
    r.verify(&theirs, TokenType::Access).unwrap();
    // the IdP's alice, cutoff within the token's iat second: refused (iat granularity)
    r.revoke(
        Target::Subject { iss: Some("https://idp".into()), sub: "alice".into(), before_ms: Some(T0_MS + 1) },
        None,
        "admin",
    )
    .await
    .unwrap();
    assert!(matches!(r.verify(&theirs, TokenType::Access), Err(Error::TokenRevoked)));
    clock.advance_ms(1000);
    r.verify(&foreign(now + 1), TokenType::Access).unwrap();
    // revoke a foreign token by jti
    let t2 = foreign(now + 1);
    r.revoke_token(&t2, None, "admin").await.unwrap();
    assert!(matches!(r.verify(&t2, TokenType::Access), Err(Error::TokenRevoked)));
}

#[tokio::test]
async fn a_generated_key_is_kept_in_the_store_and_shared() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.db");
    let open = || -> Arc<dyn Store> {
        Arc::new(revokd::store::SqliteStore::open(&path, revokd::store::Durability::Full).unwrap())
    };
    let (first, created) = Revokd::generated_key(&*open()).await.unwrap();
    assert!(created);
    assert_eq!(first.algorithm(), Algorithm::EdDSA);
    let (again, created_again) = Revokd::generated_key(&*open()).await.unwrap();
    assert!(!created_again);
    assert_eq!(again.kid(), first.kid());
    assert_eq!(again.fingerprint(), first.fingerprint());
    // what one signs, the other verifies
    let a = Tokens::new(KeySet::new().with(first).unwrap(), TokenPolicy::default());
    let b = Tokens::new(KeySet::new().with(again).unwrap(), TokenPolicy::default());
    let mut c: revokd::Claims =
        serde_json::from_value(json!({"jti": "x", "sub": "s", "iat": 1, "exp": 4_000_000_000u64})).unwrap();
    c.jti = uuid::Uuid::now_v7().to_string();
    b.verify(&a.sign(&c).unwrap(), TokenType::Access, 2).unwrap();
}

#[tokio::test]
async fn absurd_lifetimes_and_cutoffs_are_refused_not_wrapped() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default()).await;
    for ttl in [0, revokd::MAX_TTL + 1, u64::MAX] {
        let e = r.issue(IssueRequest { access_ttl: Some(ttl), ..IssueRequest::new("a") }).await.unwrap_err();
        assert_eq!(e.code(), "invalid_request", "{ttl}");
    }
    for before_ms in [u64::MAX, u64::MAX - 1] {
        let e = r.revoke(Target::All { before_ms: Some(before_ms) }, None, "admin").await.unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        let e =
            r.revoke(Target::Subject { iss: None, sub: "a".into(), before_ms: Some(before_ms) }, None, "admin").await;
        assert_eq!(e.unwrap_err().code(), "invalid_request");
    }
    // a far-future exp is kept, saturated, and still refuses the token
    let pair = r.issue(IssueRequest::new("a")).await.unwrap();
    let rev = r
        .revoke(Target::Jti { iss: None, jti: pair.access.jti.clone(), exp: Some(u64::MAX) }, None, "a")
        .await
        .unwrap();
    assert_eq!(rev.expires_at, u64::MAX);
    assert!(matches!(r.verify(&pair.access_token, TokenType::Access), Err(Error::TokenRevoked)));
    r.store().prune(T0_MS / 1000 + 100_000).await.unwrap();
    assert!(r.store().snapshot().await.unwrap().rules.iter().any(|x| x.id == rev.id));
}

#[tokio::test]
async fn our_issuer_name_scopes_as_ours_and_unknown_issuers_are_refused() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default().issuer("https://revokd.example")).await;
    let pair = r.issue(IssueRequest::new("alice")).await.unwrap();
    let rev = r
        .revoke(
            Target::Subject { iss: Some("https://revokd.example".into()), sub: "alice".into(), before_ms: None },
            None,
            "admin",
        )
        .await
        .unwrap();
    assert_eq!(rev.iss, None, "our own issuer is stored as ours");
    assert!(matches!(r.verify(&pair.access_token, TokenType::Access), Err(Error::TokenRevoked)));
    let e =
        r.revoke(Target::Jti { iss: Some("https://unknown".into()), jti: "x".into(), exp: None }, None, "admin").await;
    assert_eq!(e.unwrap_err().code(), "invalid_request");
    // a jti given in another UUID spelling still matches
    let other = r.issue(IssueRequest::new("bob")).await.unwrap();
    r.revoke(Target::Jti { iss: None, jti: other.access.jti.to_uppercase(), exp: None }, None, "admin").await.unwrap();
    assert!(matches!(r.verify(&other.access_token, TokenType::Access), Err(Error::TokenRevoked)));
}

#[tokio::test]
async fn a_revoked_family_cannot_be_continued() {
    let clock = ManualClock::new(T0_MS);
    let r = memory_revokd(&clock, TokenPolicy::default()).await;
    let login = r.issue(IssueRequest::new("alice")).await.unwrap();
    let fam = login.refresh.fam.clone().unwrap();
    let next = r.issue(IssueRequest { family: Some(fam.clone()), ..IssueRequest::new("alice") }).await.unwrap();
    assert_eq!(next.access.fam.as_deref(), Some(fam.as_str()));
    r.revoke(Target::Family { fam: fam.to_uppercase() }, None, "admin").await.unwrap();
    let e = r.issue(IssueRequest { family: Some(fam), ..IssueRequest::new("alice") }).await.unwrap_err();
    assert!(matches!(e, Error::TokenRevoked));
    assert!(r.verify(&next.access_token, TokenType::Access).is_err());
}

#[tokio::test]
async fn rules_use_the_longest_lifetime_any_process_issued() {
    let clock = ManualClock::new(T0_MS);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let build = || {
        Revokd::builder(hs_keys(), Arc::clone(&store))
            .clock(Arc::new(clock.clone()))
            .poll_interval(None)
            .prune_interval(None)
            .build()
    };
    let a = build().await.unwrap();
    let b = build().await.unwrap();
    // b issues a token longer-lived than anything a has seen
    b.issue(IssueRequest { refresh_ttl: Some(9_000_000), ..IssueRequest::new("x") }).await.unwrap();
    let rule = a.revoke(Target::Subject { iss: None, sub: "x".into(), before_ms: None }, None, "admin").await.unwrap();
    assert_eq!(rule.expires_at, T0_MS / 1000 + 9_000_000);
}

#[tokio::test]
async fn listing_follows_check_types() {
    let clock = ManualClock::new(T0_MS);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let r = Revokd::builder(hs_keys(), store)
        .clock(Arc::new(clock.clone()))
        .check_types(&[TokenType::Access])
        .poll_interval(None)
        .build()
        .await
        .unwrap();
    let login = r.issue(IssueRequest::new("alice")).await.unwrap();
    r.revoke_token(&login.refresh_token, None, "admin").await.unwrap();
    let page = r.tokens_of(Some("alice"), None, 10).await.unwrap();
    let status = |jti: &str| page.items.iter().find(|t| t.token.jti == jti).unwrap().status;
    assert_eq!(status(&login.access.jti), "revoked");
    assert_eq!(status(&login.refresh.jti), "active", "refresh tokens are not checked, so not listed revoked");
    r.verify(&login.refresh_token, TokenType::Refresh).unwrap();
}
