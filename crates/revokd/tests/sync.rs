//! Following a store that goes away and comes back: backoff, catch-up, and the two
//! `on_store_unreachable` modes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use revokd::rules::{Event, Revocation, RuleKind};
use revokd::store::{
    Change, Consumption, IssuedToken, MemoryStore, Page, Pruned, Snapshot, Store, StoreError, StoreResult,
};
use revokd::{Error, IssueRequest, OnUnreachable, Revokd, Target, TokenType};

use crate::common::hs_keys;

/// A store that can be switched off (every call fails as a lost connection would), or
/// replaced by another (a restore, a Redis that lost its data), or given a push channel
/// that always wakes at once.
#[derive(Debug, Default)]
struct Switch {
    data: parking_lot::Mutex<Arc<MemoryStore>>,
    down: AtomicBool,
    /// Calls refused while down.
    refused: AtomicU64,
    /// `wait_for_change` returns at once.
    restless: AtomicBool,
    /// Feed reads.
    reads: AtomicU64,
}

impl Switch {
    fn inner(&self) -> Arc<MemoryStore> {
        Arc::clone(&self.data.lock())
    }

    /// The store's data is gone: from now on it is an empty store.
    fn lose_everything(&self) {
        *self.data.lock() = Arc::new(MemoryStore::new());
    }

    fn up(&self) -> StoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Connection("switched off".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl Store for Switch {
    async fn append(&self, c: Change) -> StoreResult<Event> {
        self.up()?;
        self.inner().append(c).await
    }
    async fn events_after(&self, since: u64, limit: usize) -> StoreResult<Vec<Event>> {
        self.up()?;
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner().events_after(since, limit).await
    }
    async fn last_seq(&self) -> StoreResult<u64> {
        self.up()?;
        self.inner().last_seq().await
    }
    async fn snapshot(&self) -> StoreResult<Snapshot> {
        self.up()?;
        self.inner().snapshot().await
    }
    async fn revocation(&self, id: &str) -> StoreResult<Option<Revocation>> {
        self.up()?;
        self.inner().revocation(id).await
    }
    async fn prune(&self, now: u64) -> StoreResult<Pruned> {
        self.up()?;
        self.inner().prune(now).await
    }
    async fn consume_refresh(&self, j: &str, n: u64, e: u64) -> StoreResult<Consumption> {
        self.up()?;
        self.inner().consume_refresh(j, n, e).await
    }
    async fn raise_max_lifetime(&self, s: u64) -> StoreResult<u64> {
        self.up()?;
        self.inner().raise_max_lifetime(s).await
    }
    async fn max_lifetime(&self) -> StoreResult<u64> {
        self.up()?;
        self.inner().max_lifetime().await
    }
    async fn secret_or_insert(&self, n: &str, v: Vec<u8>) -> StoreResult<Vec<u8>> {
        self.up()?;
        self.inner().secret_or_insert(n, v).await
    }
    async fn record_token(&self, t: IssuedToken) -> StoreResult<()> {
        self.up()?;
        self.inner().record_token(t).await
    }
    async fn tokens(&self, s: Option<&str>, c: Option<&str>, l: usize) -> StoreResult<Page<IssuedToken>> {
        self.up()?;
        self.inner().tokens(s, c, l).await
    }
    async fn token(&self, j: &str) -> StoreResult<Option<IssuedToken>> {
        self.up()?;
        self.inner().token(j).await
    }
    async fn family_latest_exp(&self, f: &str) -> StoreResult<Option<u64>> {
        self.up()?;
        self.inner().family_latest_exp(f).await
    }
    async fn live_rule(&self, k: RuleKind, i: Option<&str>, t: &str) -> StoreResult<Option<Revocation>> {
        self.up()?;
        self.inner().live_rule(k, i, t).await
    }
    async fn wait_for_change(&self, after: u64, timeout: Duration) -> StoreResult<()> {
        self.up()?;
        if self.restless.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.inner().wait_for_change(after, timeout).await
    }
}

async fn following(store: Arc<Switch>, mode: OnUnreachable) -> Revokd {
    Revokd::builder(hs_keys(), store)
        .poll_interval(Some(Duration::from_millis(50)))
        .prune_interval(None)
        .on_store_unreachable(mode)
        .build()
        .await
        .unwrap()
}

/// Polls `f` every 20 ms for up to 10 s.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("not within 10 s: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_the_last_known_index_through_an_outage_then_catching_up() {
    let store = Arc::new(Switch::default());
    let a = following(Arc::clone(&store), OnUnreachable::ServeLastKnown).await;
    // another process on the same store: following off, it only writes
    let writer = Revokd::builder(hs_keys(), Arc::clone(&store) as Arc<dyn Store>)
        .poll_interval(None)
        .prune_interval(None)
        .build()
        .await
        .unwrap();
    let pair = writer.issue(IssueRequest::new("alice")).await.unwrap();
    a.verify(&pair.access_token, TokenType::Access).unwrap();

    store.down.store(true, Ordering::SeqCst);
    eventually("the store counts as unreachable", || !a.store_reachable()).await;
    assert!(a.ready(), "serve_last_known stays ready");
    a.verify(&pair.access_token, TokenType::Access).expect("answered from the last known index");
    assert!(a.sync_stats().outages >= 1);

    // Backoff: over a second and a half down, a handful of rounds, not a hot loop.
    let before = a.sync_stats().failed_rounds;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rounds = a.sync_stats().failed_rounds - before;
    assert!(rounds <= 8, "{rounds} failed rounds in 1.5 s: no backoff");

    // The revocation is made while A cannot see the store; it arrives once it can.
    store.down.store(false, Ordering::SeqCst);
    let v = writer.verify(&pair.access_token, TokenType::Access).unwrap();
    writer
        .revoke(Target::Jti { iss: None, jti: v.claims.jti.clone(), exp: Some(v.claims.exp) }, None, "admin")
        .await
        .unwrap();
    eventually("A refuses the revoked token", || {
        matches!(a.verify(&pair.access_token, TokenType::Access), Err(Error::TokenRevoked))
    })
    .await;
    eventually("reachable again", || a.store_reachable()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_mode_answers_not_ready_while_the_store_is_away() {
    let store = Arc::new(Switch::default());
    let a = following(Arc::clone(&store), OnUnreachable::Refuse).await;
    let pair = a.issue(IssueRequest::new("bob")).await.unwrap();
    a.verify(&pair.access_token, TokenType::Access).unwrap();
    assert!(a.ready());

    store.down.store(true, Ordering::SeqCst);
    eventually("checks refused", || matches!(a.verify(&pair.access_token, TokenType::Access), Err(Error::NotReady)))
        .await;
    assert!(!a.ready());
    assert_eq!(Error::NotReady.code(), "unavailable");

    store.down.store(false, Ordering::SeqCst);
    eventually("checks answered again", || a.verify(&pair.access_token, TokenType::Access).is_ok()).await;
    assert!(a.ready() && a.store_reachable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_builder_without_following_never_refuses() {
    let store = Arc::new(Switch::default());
    let a = Revokd::builder(hs_keys(), Arc::clone(&store) as Arc<dyn Store>)
        .poll_interval(None)
        .prune_interval(None)
        .on_store_unreachable(OnUnreachable::Refuse)
        .build()
        .await
        .unwrap();
    let pair = a.issue(IssueRequest::new("carol")).await.unwrap();
    store.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(a.verify(&pair.access_token, TokenType::Access).is_ok(), "no follower: nothing can go stale");
    assert!(a.catch_up().await.is_err());
}

#[test]
fn the_modes_parse_from_their_configuration_names() {
    assert_eq!("serve_last_known".parse::<OnUnreachable>().unwrap(), OnUnreachable::ServeLastKnown);
    assert_eq!("refuse".parse::<OnUnreachable>().unwrap(), OnUnreachable::Refuse);
    assert!("Refuse".parse::<OnUnreachable>().is_err());
    assert_eq!(OnUnreachable::default(), OnUnreachable::ServeLastKnown);
}

fn jti_target(r: &revokd::TokenPair) -> Target {
    Target::Jti { iss: None, jti: r.access.jti.clone(), exp: Some(r.access.exp) }
}

async fn writer(store: &Arc<Switch>) -> Revokd {
    Revokd::builder(hs_keys(), Arc::clone(store) as Arc<dyn Store>)
        .poll_interval(None)
        .prune_interval(None)
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_lost_its_data_is_reloaded_not_trusted() {
    let store = Arc::new(Switch::default());
    let a = following(Arc::clone(&store), OnUnreachable::ServeLastKnown).await;
    let w = writer(&store).await;
    let old: Vec<_> = pairs(&w, 2).await;
    for p in &old {
        w.revoke(jti_target(p), None, "admin").await.unwrap();
    }
    for p in &old {
        let t = p.access_token.clone();
        eventually("A applied the old revocations", || a.verify(&t, TokenType::Access).is_err()).await;
    }
    // The store loses everything; new revocations start again at seq 1, below A's
    // position. A must notice and reload, not wait for seq 3 forever.
    store.lose_everything();
    let w = writer(&store).await;
    let new = pairs(&w, 1).await;
    w.revoke(jti_target(&new[0]), None, "admin").await.unwrap();
    let t = new[0].access_token.clone();
    eventually("A refuses a revocation of the new history", || {
        matches!(a.verify(&t, TokenType::Access), Err(Error::TokenRevoked))
    })
    .await;
    assert_eq!(a.applied_seq(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_history_longer_than_before_is_noticed() {
    let store = Arc::new(Switch::default());
    let a = following(Arc::clone(&store), OnUnreachable::ServeLastKnown).await;
    let w = writer(&store).await;
    let old = pairs(&w, 2).await;
    for p in &old {
        w.revoke(jti_target(p), None, "admin").await.unwrap();
    }
    eventually("A at seq 2", || a.applied_seq() == 2).await;
    // A new history that passes A's position: reading on from seq 2 would skip 1 and 2.
    store.lose_everything();
    let w = writer(&store).await;
    let new = pairs(&w, 4).await;
    for p in &new {
        w.revoke(jti_target(p), None, "admin").await.unwrap();
    }
    for p in &new {
        let t = p.access_token.clone();
        eventually("A refuses every revocation of the new history", || {
            matches!(a.verify(&t, TokenType::Access), Err(Error::TokenRevoked))
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_channel_that_always_wakes_never_makes_a_hot_loop() {
    let store = Arc::new(Switch::default());
    store.restless.store(true, Ordering::SeqCst);
    let a = following(Arc::clone(&store), OnUnreachable::ServeLastKnown).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = store.reads.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let reads = store.reads.load(Ordering::SeqCst) - before;
    // polling every 50 ms, with at most two early rounds per poll: about 60 at most
    assert!(reads < 100, "{reads} feed reads in a second");
    // and a revocation still arrives
    let w = writer(&store).await;
    let p = pairs(&w, 1).await;
    w.revoke(jti_target(&p[0]), None, "admin").await.unwrap();
    let t = p[0].access_token.clone();
    eventually("A refuses it", || a.verify(&t, TokenType::Access).is_err()).await;
}

async fn pairs(w: &Revokd, n: usize) -> Vec<revokd::TokenPair> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(w.issue(IssueRequest::new(format!("user{i}"))).await.unwrap());
    }
    v
}
