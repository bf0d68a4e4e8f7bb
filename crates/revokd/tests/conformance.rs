//! The store conformance suite: written once, run against every backend.

use std::sync::Arc;

use revokd::TokenType;
use revokd::rules::{NewRevocation, Op, RuleKind};
use revokd::store::{Change, Consumption, IssuedToken, Store, StoreError};

/// A store and whatever must outlive it (a temporary folder).
pub(crate) struct Fixture {
    pub(crate) store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    /// A per-test database or key prefix, removed on drop (after the store).
    _server: Option<Box<dyn std::any::Any + Send>>,
}

pub(crate) async fn memory() -> Fixture {
    Fixture { store: Arc::new(revokd::store::MemoryStore::new()), _dir: None, _server: None }
}

fn sqlite_with(durability: revokd::store::Durability) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = revokd::store::SqliteStore::open(dir.path().join("revokd.db"), durability).unwrap();
    Fixture { store: Arc::new(store), _dir: Some(dir), _server: None }
}

pub(crate) async fn sqlite() -> Fixture {
    sqlite_with(revokd::store::Durability::Full)
}

pub(crate) async fn sqlite_process() -> Fixture {
    sqlite_with(revokd::store::Durability::Process)
}

#[cfg(feature = "postgres")]
pub(crate) async fn postgres() -> Fixture {
    let db = crate::common::backends::PgDatabase::create("conf");
    let store = revokd::store::PostgresStore::connect(&db.url).await.unwrap();
    Fixture { store: Arc::new(store), _dir: None, _server: Some(Box::new(db)) }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn new(kind: RuleKind, target: Option<&str>, expires_in: u64) -> NewRevocation {
    NewRevocation {
        kind,
        target: target.map(str::to_owned),
        iss: None,
        before_ms: matches!(kind, RuleKind::Subject | RuleKind::All).then_some(now() * 1000),
        created_at: now(),
        expires_at: now() + expires_in,
        reason: Some("test".into()),
        actor: "admin".into(),
    }
}

async fn revoke(s: &dyn Store, kind: RuleKind, target: Option<&str>) -> revokd::rules::Event {
    s.append(Change::Revoke(new(kind, target, 3600))).await.unwrap()
}

pub(crate) async fn sequence_starts_at_one_and_has_no_gaps(f: Fixture) {
    let s = &*f.store;
    assert_eq!(s.last_seq().await.unwrap(), 0);
    assert!(s.events_after(0, 10).await.unwrap().is_empty());
    let a = revoke(s, RuleKind::Jti, Some("a")).await;
    let b = revoke(s, RuleKind::Subject, Some("alice")).await;
    let c = revoke(s, RuleKind::All, None).await;
    assert_eq!((a.seq, b.seq, c.seq), (1, 2, 3));
    assert_eq!(a.revocation.seq, 1);
    let all = s.events_after(0, 10).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(all[1], b);
    assert_eq!(s.events_after(2, 10).await.unwrap(), vec![c.clone()]);
    assert_eq!(s.events_after(0, 2).await.unwrap().len(), 2);
    assert_eq!(s.last_seq().await.unwrap(), 3);
    assert_eq!(s.revocation(&b.revocation.id).await.unwrap(), Some(b.revocation.clone()));
    assert_eq!(s.revocation("nope").await.unwrap(), None);
    let snap = s.snapshot().await.unwrap();
    assert_eq!(snap.seq, 3);
    assert_eq!(snap.rules.len(), 3);
}

pub(crate) async fn one_live_rule_per_jti_and_family(f: Fixture) {
    let s = &*f.store;
    let a = revoke(s, RuleKind::Jti, Some("a")).await;
    let again = revoke(s, RuleKind::Jti, Some("a")).await;
    assert_eq!(again.revocation.id, a.revocation.id);
    let mut other_issuer = new(RuleKind::Jti, Some("a"), 3600);
    other_issuer.iss = Some("https://idp".into());
    let o = s.append(Change::Revoke(other_issuer)).await.unwrap();
    assert_ne!(o.revocation.id, a.revocation.id, "scoped by issuer");
    let f1 = revoke(s, RuleKind::Family, Some("fam")).await;
    assert_eq!(revoke(s, RuleKind::Family, Some("fam")).await.revocation.id, f1.revocation.id);
    // two subject cutoffs may coexist
    let s1 = revoke(s, RuleKind::Subject, Some("alice")).await;
    let s2 = revoke(s, RuleKind::Subject, Some("alice")).await;
    assert_ne!(s1.revocation.id, s2.revocation.id);
    assert_eq!(s.last_seq().await.unwrap(), 5);
}

pub(crate) async fn targets_with_separators_never_collide(f: Fixture) {
    let s = &*f.store;
    let with_iss = |iss: Option<&str>, jti: &str| {
        let mut n = new(RuleKind::Jti, Some(jti), 3600);
        n.iss = iss.map(str::to_owned);
        Change::Revoke(n)
    };
    let a = s.append(with_iss(Some("a|b"), "c")).await.unwrap();
    let b = s.append(with_iss(Some("a"), "b|c")).await.unwrap();
    let c = s.append(with_iss(None, "a|b|c")).await.unwrap();
    assert_eq!((a.seq, b.seq, c.seq), (1, 2, 3), "three rules, not one returned three times");
    assert_eq!(s.snapshot().await.unwrap().rules.len(), 3);
    let again = s.append(with_iss(Some("a|b"), "c")).await.unwrap();
    assert_eq!(again.revocation.id, a.revocation.id, "the same target is still one rule");
}

pub(crate) async fn unrevoke_removes_only_reversible_rules(f: Fixture) {
    let s = &*f.store;
    let a = revoke(s, RuleKind::Jti, Some("a")).await;
    let fam = revoke(s, RuleKind::Family, Some("fam")).await;
    let all = revoke(s, RuleKind::All, None).await;
    let u = s.append(Change::Unrevoke { id: a.revocation.id.clone() }).await.unwrap();
    assert_eq!((u.seq, u.op), (4, Op::Unrevoke));
    assert_eq!(u.revocation, a.revocation);
    assert!(matches!(s.append(Change::Unrevoke { id: a.revocation.id.clone() }).await, Err(StoreError::NotFound)));
    assert!(matches!(s.append(Change::Unrevoke { id: "nope".into() }).await, Err(StoreError::NotFound)));
    for id in [&fam.revocation.id, &all.revocation.id] {
        assert!(matches!(s.append(Change::Unrevoke { id: id.clone() }).await, Err(StoreError::NotReversible)));
    }
    assert_eq!(s.last_seq().await.unwrap(), 4, "refused changes append nothing");
    let snap = s.snapshot().await.unwrap();
    assert!(snap.rules.iter().all(|r| r.id != a.revocation.id));
    assert_eq!(snap.rules.len(), 2);
    // the jti can be revoked again, as a new rule
    let again = revoke(s, RuleKind::Jti, Some("a")).await;
    assert_ne!(again.revocation.id, a.revocation.id);
}

pub(crate) async fn concurrent_appends_get_distinct_gap_free_sequence_numbers(f: Fixture) {
    // A reader follows the feed while writers append: it must only ever see the next
    // number (nothing skipped, nothing twice).
    let reader = {
        let s = Arc::clone(&f.store);
        tokio::spawn(async move {
            let mut at = 0;
            while at < 640 {
                for e in s.events_after(at, 50).await.unwrap() {
                    assert_eq!(e.seq, at + 1, "the reader saw a gap or a repeat");
                    at = e.seq;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut tasks = Vec::new();
    for w in 0..64 {
        let s = Arc::clone(&f.store);
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                let e = s.append(Change::Revoke(new(RuleKind::Jti, Some(&format!("{w}-{i}")), 3600))).await.unwrap();
                seqs.push(e.seq);
            }
            // each writer's own appends ascend
            assert!(seqs.windows(2).all(|p| p[0] < p[1]));
            seqs
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    acked.sort();
    assert_eq!(acked, (1..=640).collect::<Vec<u64>>());
    tokio::time::timeout(std::time::Duration::from_secs(20), reader).await.unwrap().unwrap();
    let mut seen = Vec::new();
    let mut since = 0;
    loop {
        let batch = f.store.events_after(since, 100).await.unwrap();
        if batch.is_empty() {
            break;
        }
        since = batch.last().unwrap().seq;
        seen.extend(batch.into_iter().map(|e| e.seq));
    }
    assert_eq!(seen, (1..=640).collect::<Vec<u64>>());
}

pub(crate) async fn concurrent_refresh_consumption_has_exactly_one_winner(f: Fixture) {
    let mut tasks = Vec::new();
    for i in 0..32u64 {
        let s = Arc::clone(&f.store);
        tasks.push(tokio::spawn(async move { s.consume_refresh("refresh-1", 1_000 + i, now() + 60).await.unwrap() }));
    }
    let mut winners = 0;
    let mut first_ms = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Consumption::First => winners += 1,
            Consumption::Reused { first_used_ms } => first_ms.push(first_used_ms),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(first_ms.len(), 31);
    assert!(first_ms.windows(2).all(|p| p[0] == p[1]), "every loser sees the winner's instant");
    assert_eq!(f.store.consume_refresh("refresh-2", 5, now() + 60).await.unwrap(), Consumption::First);
}

pub(crate) async fn live_rules_are_found_by_target(f: Fixture) {
    let s = &*f.store;
    let a = revoke(s, RuleKind::Jti, Some("a")).await;
    let s1 = revoke(s, RuleKind::Subject, Some("alice")).await;
    let s2 = revoke(s, RuleKind::Subject, Some("alice")).await;
    assert_eq!(s.live_rule(RuleKind::Jti, None, "a").await.unwrap(), Some(a.revocation.clone()));
    assert_eq!(s.live_rule(RuleKind::Jti, Some("https://idp"), "a").await.unwrap(), None);
    assert_eq!(s.live_rule(RuleKind::Subject, None, "alice").await.unwrap().unwrap().id, s2.revocation.id);
    s.append(Change::Unrevoke { id: a.revocation.id.clone() }).await.unwrap();
    assert_eq!(s.live_rule(RuleKind::Jti, None, "a").await.unwrap(), None);
    s.append(Change::Unrevoke { id: s2.revocation.id.clone() }).await.unwrap();
    assert_eq!(s.live_rule(RuleKind::Subject, None, "alice").await.unwrap().unwrap().id, s1.revocation.id);
}

pub(crate) async fn waiting_for_a_change_returns_when_one_is_there(f: Fixture) {
    let s = &*f.store;
    let long = std::time::Duration::from_secs(30);
    revoke(s, RuleKind::Jti, Some("a")).await;
    // something after 0 exists: no wait
    tokio::time::timeout(std::time::Duration::from_secs(5), s.wait_for_change(0, long)).await.unwrap().unwrap();
    // nothing after 1: returns after the timeout at the latest
    let t = std::time::Instant::now();
    s.wait_for_change(1, std::time::Duration::from_millis(50)).await.unwrap();
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
}

pub(crate) async fn a_live_rule_can_change_hands(f: Fixture) {
    let s = &*f.store;
    let mut mine = new(RuleKind::Jti, Some("a"), 3600);
    mine.actor = "subject:alice".into();
    let first = s.append(Change::Revoke(mine)).await.unwrap();
    let e = s
        .append(Change::Reassign {
            id: first.revocation.id.clone(),
            actor: "admin".into(),
            reason: Some("audit".into()),
        })
        .await
        .unwrap();
    assert_eq!((e.seq, e.op), (2, Op::Revoke));
    assert_eq!((e.revocation.id.as_str(), e.revocation.actor.as_str()), (first.revocation.id.as_str(), "admin"));
    assert_eq!(e.revocation.reason.as_deref(), Some("audit"));
    assert_eq!(s.live_rule(RuleKind::Jti, None, "a").await.unwrap().unwrap().actor, "admin");
    assert_eq!(s.events_after(1, 10).await.unwrap(), vec![e.clone()]);
    s.append(Change::Unrevoke { id: first.revocation.id.clone() }).await.unwrap();
    let gone =
        s.append(Change::Reassign { id: first.revocation.id.clone(), actor: "admin".into(), reason: None }).await;
    assert!(matches!(gone, Err(StoreError::NotFound)));
}

pub(crate) async fn lifetime_and_secrets_are_kept(f: Fixture) {
    let s = &*f.store;
    assert_eq!(s.max_lifetime().await.unwrap(), 0);
    assert_eq!(s.raise_max_lifetime(900).await.unwrap(), 900);
    assert_eq!(s.raise_max_lifetime(600).await.unwrap(), 900, "never lowered");
    assert_eq!(s.raise_max_lifetime(3600).await.unwrap(), 3600);
    assert_eq!(s.max_lifetime().await.unwrap(), 3600);
    assert_eq!(s.secret_or_insert("k", b"first".to_vec()).await.unwrap(), b"first");
    assert_eq!(s.secret_or_insert("k", b"second".to_vec()).await.unwrap(), b"first");
    assert_eq!(s.secret_or_insert("j", b"other".to_vec()).await.unwrap(), b"other");
}

pub(crate) async fn the_registry_lists_a_subjects_tokens_in_pages(f: Fixture) {
    let s = &*f.store;
    let t = |n: u32, sub: &str, fam: &str, exp: u64| IssuedToken {
        jti: format!("0000-{n:04}"),
        sub: sub.into(),
        token_type: if n.is_multiple_of(2) { TokenType::Access } else { TokenType::Refresh },
        fam: Some(fam.into()),
        iat: now(),
        exp,
    };
    for n in 0..7 {
        s.record_token(t(n, "alice", "f1", now() + 100 + n as u64)).await.unwrap();
    }
    s.record_token(t(100, "bob", "f2", now() + 5)).await.unwrap();
    let p1 = s.tokens(Some("alice"), None, 3).await.unwrap();
    assert_eq!(p1.items.iter().map(|x| x.jti.as_str()).collect::<Vec<_>>(), ["0000-0000", "0000-0001", "0000-0002"]);
    let p2 = s.tokens(Some("alice"), p1.next.as_deref(), 3).await.unwrap();
    assert_eq!(p2.items.iter().map(|x| x.jti.as_str()).collect::<Vec<_>>(), ["0000-0003", "0000-0004", "0000-0005"]);
    let p3 = s.tokens(Some("alice"), p2.next.as_deref(), 3).await.unwrap();
    assert_eq!(p3.items.len(), 1);
    assert_eq!(p3.next, None);
    assert_eq!(s.tokens(None, None, 100).await.unwrap().items.len(), 8);
    assert_eq!(s.token("0000-0100").await.unwrap().unwrap().sub, "bob");
    assert_eq!(s.token("missing").await.unwrap(), None);
    assert_eq!(s.family_latest_exp("f1").await.unwrap(), Some(now() + 106));
    assert_eq!(s.family_latest_exp("nope").await.unwrap(), None);
}

pub(crate) async fn pruning_removes_expired_rules_and_old_events_as_a_prefix(f: Fixture) {
    let s = &*f.store;
    let short = s.append(Change::Revoke(new(RuleKind::Jti, Some("short"), 10))).await.unwrap();
    let long = s.append(Change::Revoke(new(RuleKind::Jti, Some("long"), 100_000))).await.unwrap();
    let short2 = s.append(Change::Revoke(new(RuleKind::Jti, Some("short2"), 10))).await.unwrap();
    s.consume_refresh("r", 1, now() + 10).await.unwrap();
    // within the feed retention nothing leaves the feed
    assert_eq!(s.prune(now() + 5).await.unwrap().rules, 0);
    assert_eq!(s.events_after(0, 10).await.unwrap().len(), 3);
    let later = now() + 5_000;
    let pruned = s.prune(later).await.unwrap();
    assert_eq!(pruned.rules, 2, "{pruned:?}");
    let snap = s.snapshot().await.unwrap();
    assert_eq!(snap.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), vec![long.revocation.id.clone()]);
    assert_eq!(snap.seq, 3);
    // every event older than the retention left the feed, the live rule's too (the
    // snapshot holds it): a reader from before reloads, one at the head reads on
    assert!(matches!(s.events_after(0, 10).await, Err(StoreError::FeedGone { since: 0, oldest: 3 })));
    assert!(matches!(s.events_after(2, 10).await, Err(StoreError::FeedGone { since: 2, oldest: 3 })));
    assert!(s.events_after(3, 10).await.unwrap().is_empty());
    assert_eq!(s.revocation(&long.revocation.id).await.unwrap(), Some(long.revocation.clone()), "live: kept");
    let _ = short2;
    assert_eq!(s.revocation(&short.revocation.id).await.unwrap(), None, "expired and out of the feed: gone");
    // the expired rule no longer blocks a new one for the same jti
    let again = revoke(s, RuleKind::Jti, Some("short")).await;
    assert_eq!(again.seq, 4);
    assert_eq!(s.consume_refresh("r", 2, later + 10).await.unwrap(), Consumption::First, "expired consumptions leave");
}

macro_rules! conformance {
    ($backend:ident) => {
        mod $backend {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sequence_starts_at_one_and_has_no_gaps() {
                super::sequence_starts_at_one_and_has_no_gaps(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn one_live_rule_per_jti_and_family() {
                super::one_live_rule_per_jti_and_family(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn targets_with_separators_never_collide() {
                super::targets_with_separators_never_collide(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn unrevoke_removes_only_reversible_rules() {
                super::unrevoke_removes_only_reversible_rules(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_appends_get_distinct_gap_free_sequence_numbers() {
                super::concurrent_appends_get_distinct_gap_free_sequence_numbers(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_refresh_consumption_has_exactly_one_winner() {
                super::concurrent_refresh_consumption_has_exactly_one_winner(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn live_rules_are_found_by_target() {
                super::live_rules_are_found_by_target(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn waiting_for_a_change_returns_when_one_is_there() {
                super::waiting_for_a_change_returns_when_one_is_there(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_live_rule_can_change_hands() {
                super::a_live_rule_can_change_hands(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lifetime_and_secrets_are_kept() {
                super::lifetime_and_secrets_are_kept(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn the_registry_lists_a_subjects_tokens_in_pages() {
                super::the_registry_lists_a_subjects_tokens_in_pages(super::$backend().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn pruning_removes_expired_rules_and_old_events_as_a_prefix() {
                super::pruning_removes_expired_rules_and_old_events_as_a_prefix(super::$backend().await).await
            }
        }
    };
}

conformance!(memory);
conformance!(sqlite);
conformance!(sqlite_process);
#[cfg(feature = "postgres")]
conformance!(postgres);

#[cfg(unix)]
#[test]
fn sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = rt.block_on(sqlite());
    let dir = f._dir.as_ref().unwrap().path().to_path_buf();
    rt.block_on(async { revoke(&*f.store, RuleKind::Jti, Some("x")).await });
    for name in ["revokd.db", "revokd.db-wal", "revokd.db-shm"] {
        let mode = std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
}

#[cfg(feature = "redis")]
pub(crate) async fn redis() -> Fixture {
    let p = crate::common::backends::RedisPrefix::create("conf");
    let store = revokd::store::RedisStore::connect(&p.url).await.unwrap();
    Fixture { store: Arc::new(store), _dir: None, _server: Some(Box::new(p)) }
}

#[cfg(feature = "redis")]
conformance!(redis);
