//! Sync: the only path from a store into an index. Load the live rules, then follow the
//! store's feed by sequence number; a feed position that was pruned away means reload.
//!
//! Events are applied strictly in sequence: a hole (an event not visible yet) stops the
//! batch, and the next round resumes there, so no event is ever skipped.
//!
//! ## Push, repair, reconnect
//! Following is push first and polling underneath ([`Follower::follow_once`]): a round
//! waits on the store's push channel ([`Store::wait_for_change`]: LISTEN/NOTIFY on
//! PostgreSQL, a blocking stream read on Redis, an in-process signal on SQLite) for at
//! most the poll interval, then reads the feed by sequence number whatever woke it. A
//! lost notification therefore costs at most one interval, and a reconnect of the push
//! channel always ends the wait, so the events of the outage are read at once. A round
//! that fails is retried with backoff (100 ms doubling to 5 s) by the facade's task.
//!
//! ## When the store cannot be reached
//! [`OnUnreachable`] decides: keep answering from the last known index (the default; a
//! revocation made elsewhere during the outage reaches this process when the store
//! answers again), or refuse checks with [`crate::Error::NotReady`] once no round has
//! succeeded for [`STALE_AFTER`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use crate::index::Index;
use crate::rules::{Event, Op};
use crate::store::{Store, StoreError, StoreResult};

/// Own events kept to re-apply after a reload (their store commit preceded the snapshot
/// only if their seq is at or below it).
const RECENT_OWN: usize = 4096;
const BATCH: usize = 1000;

/// How long without a successful feed round before the store counts as unreachable
/// (and, in [`OnUnreachable::Refuse`] mode, checks are refused).
pub const STALE_AFTER: Duration = Duration::from_secs(2);

/// What checks do while the store cannot be reached (`on_store_unreachable`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnUnreachable {
    /// Keep answering from the last known index (`serve_last_known`, the default):
    /// available, but a revocation made on another instance during the outage is not
    /// seen here until the store answers again.
    #[default]
    ServeLastKnown,
    /// Refuse checks ([`crate::Error::NotReady`], a 503 in the service) once no feed
    /// round has succeeded for [`STALE_AFTER`] (`refuse`): never answers from an index
    /// that may be missing a revocation, at the cost of availability.
    Refuse,
}

impl std::str::FromStr for OnUnreachable {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "serve_last_known" => Ok(OnUnreachable::ServeLastKnown),
            "refuse" => Ok(OnUnreachable::Refuse),
            other => Err(crate::Error::InvalidRequest(format!(
                "on_store_unreachable must be \"serve_last_known\" or \"refuse\", not \"{other}\""
            ))),
        }
    }
}

/// Where following stands, for metrics and readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStats {
    /// The last sequence number applied in order.
    pub applied_seq: u64,
    /// The highest sequence number known to exist (read from the feed or announced by
    /// the push channel).
    pub head_seq: u64,
    /// Time since the last successful feed round.
    pub since_last_round: Duration,
    /// Whether the store counts as reachable (a feed round succeeded within
    /// [`STALE_AFTER`], or longer for a long poll interval).
    pub store_reachable: bool,
    /// Feed rounds that failed.
    pub failed_rounds: u64,
    /// Outages: times the store went from reachable to unreachable.
    pub outages: u64,
    /// The push channel's state (`None`: the store has none; following polls).
    pub push: Option<crate::store::PushStatus>,
}

/// Follows a store into an index.
#[derive(Debug)]
pub struct Follower {
    store: Arc<dyn Store>,
    index: ArcSwap<Index>,
    applied: AtomicU64,
    head: AtomicU64,
    started: Instant,
    /// Milliseconds since `started` of the last successful round.
    last_ok_ms: AtomicU64,
    failed_rounds: AtomicU64,
    outages: AtomicU64,
    /// Whether the last check of [`Follower::refresh_health`] found the feed current.
    fresh: AtomicBool,
    /// Own events recently applied, to re-apply after feed batches and reloads.
    recent: Mutex<VecDeque<Event>>,
    round: tokio::sync::Mutex<()>,
    /// What the event at the applied position was (when known), to notice a store
    /// whose feed was rewritten under us (a restore, a Redis that lost its tail).
    last: Mutex<Option<Mark>>,
    /// Rounds in a row whose push wake came early and brought nothing.
    idle_wakes: AtomicU64,
}

/// The identity of one feed event.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    seq: u64,
    op: Op,
    id: String,
}

impl Mark {
    fn of(e: &Event) -> Mark {
        Mark { seq: e.seq, op: e.op, id: e.revocation.id.clone() }
    }
}

/// What one feed read found.
enum Read {
    Events(Vec<Event>),
    /// The event at the applied position is gone or different: the store's history is
    /// not the one this index was built from.
    Rewritten,
}

impl Follower {
    /// Loads the store's live rules into a fresh index. Returns once loaded.
    pub async fn load(store: Arc<dyn Store>) -> StoreResult<Self> {
        let snapshot = store.snapshot().await?;
        let index = Index::new();
        index.load(&snapshot.rules);
        let f = Follower {
            store,
            index: ArcSwap::from_pointee(index),
            applied: AtomicU64::new(snapshot.seq),
            head: AtomicU64::new(snapshot.seq),
            started: Instant::now(),
            last_ok_ms: AtomicU64::new(0),
            failed_rounds: AtomicU64::new(0),
            outages: AtomicU64::new(0),
            fresh: AtomicBool::new(true),
            recent: Mutex::new(VecDeque::new()),
            round: tokio::sync::Mutex::new(()),
            last: Mutex::new(None),
            idle_wakes: AtomicU64::new(0),
        };
        f.remember_mark(snapshot.seq).await;
        Ok(f)
    }

    /// Reads and keeps the identity of the event at `seq` (nothing if it is pruned or
    /// the read fails: the check is then skipped until the next applied event).
    async fn remember_mark(&self, seq: u64) {
        let mark = match seq {
            0 => None,
            _ => match self.store.events_after(seq - 1, 1).await {
                Ok(ev) => ev.first().filter(|e| e.seq == seq).map(Mark::of),
                Err(_) => None,
            },
        };
        *self.last.lock() = mark;
    }

    /// Reads the events after `since`, first checking (one extra event) that the event
    /// at `since` is still the one applied there.
    async fn read(&self, since: u64) -> StoreResult<Read> {
        let mark = self.last.lock().clone().filter(|m| m.seq == since && since > 0);
        if let Some(mark) = mark {
            match self.store.events_after(since - 1, BATCH + 1).await {
                Ok(mut events) => {
                    return Ok(match events.first() {
                        Some(e) if Mark::of(e) == mark => {
                            events.remove(0);
                            Read::Events(events)
                        }
                        _ => Read::Rewritten,
                    });
                }
                // pruned up to the applied position: nothing to compare with
                Err(StoreError::FeedGone { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.store.events_after(since, BATCH).await.map(Read::Events)
    }

    /// The index, current.
    #[inline]
    pub fn index(&self) -> arc_swap::Guard<Arc<Index>> {
        self.index.load()
    }

    /// The last sequence number applied in order.
    pub fn applied_seq(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Whether the store counts as reachable: a feed round succeeded within
    /// [`STALE_AFTER`] (as of the last [`Follower::refresh_health`]; a successful round
    /// sets it at once).
    #[inline]
    pub fn store_reachable(&self) -> bool {
        self.fresh.load(Ordering::Relaxed)
    }

    fn mark_ok(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_ok_ms.fetch_max(ms, Ordering::Relaxed);
        if !self.fresh.swap(true, Ordering::Relaxed) {
            tracing::info!(seq = self.applied_seq(), "store reachable again; the revocation index is current");
        }
    }

    /// Counts a failed round (also one the caller gave up on).
    pub(crate) fn mark_failed(&self) {
        self.failed_rounds.fetch_add(1, Ordering::Relaxed);
    }

    /// Re-evaluates [`Follower::store_reachable`]: reachable while a round succeeded
    /// within `stale_after` ([`STALE_AFTER`], or longer for
    /// a long poll interval). The facade's task calls it a few times a second. Returns
    /// the new value and whether it changed.
    pub fn refresh_health(&self, stale_after: Duration) -> (bool, bool) {
        let since = self.since_last_round();
        let now = since < stale_after;
        let before = self.fresh.swap(now, Ordering::Relaxed);
        if before && !now {
            self.outages.fetch_add(1, Ordering::Relaxed);
        }
        (now, before != now)
    }

    fn since_last_round(&self) -> Duration {
        let ok = self.last_ok_ms.load(Ordering::Relaxed);
        self.started.elapsed().saturating_sub(Duration::from_millis(ok))
    }

    /// Where following stands.
    pub fn stats(&self) -> SyncStats {
        let push = self.store.push_status();
        let announced = push.map_or(0, |p| p.announced_seq);
        SyncStats {
            applied_seq: self.applied_seq(),
            head_seq: self.head.load(Ordering::Relaxed).max(announced).max(self.applied_seq()),
            since_last_round: self.since_last_round(),
            store_reachable: self.store_reachable(),
            failed_rounds: self.failed_rounds.load(Ordering::Relaxed),
            outages: self.outages.load(Ordering::Relaxed),
            push,
        }
    }

    /// Applies an event this process just appended (acknowledged by the store), at
    /// once, ahead of the feed. The feed applies it again in its turn; own events newer
    /// than the feed's position are re-applied after every feed batch, so an older feed
    /// event (say, an unrevoke) can never undo a newer own one.
    pub fn apply_own(&self, e: &Event) {
        let mut recent = self.recent.lock();
        self.index.load().apply_event(e);
        recent.push_back(e.clone());
        if recent.len() > RECENT_OWN {
            recent.pop_front();
        }
    }

    /// One following round: waits for the store's push channel to signal a change (or
    /// `timeout`: the repair poll), then reads the feed whatever ended the wait, a
    /// failed push channel included (the feed may still answer). A push channel that
    /// keeps waking early with nothing to read is not trusted: after two such rounds the
    /// next one simply sleeps `timeout` (polling), so a confused channel can never spin.
    pub async fn follow_once(&self, timeout: Duration) -> StoreResult<usize> {
        let started = Instant::now();
        if self.idle_wakes.load(Ordering::Relaxed) >= 2 {
            tokio::time::sleep(timeout).await;
        } else if let Err(e) = self.store.wait_for_change(self.applied_seq(), timeout).await {
            tracing::debug!(error = %e, "the store's push channel failed; reading the feed anyway");
        }
        let n = self.catch_up().await?;
        if n == 0 && started.elapsed() < timeout / 2 {
            self.idle_wakes.fetch_add(1, Ordering::Relaxed);
        } else {
            self.idle_wakes.store(0, Ordering::Relaxed);
        }
        Ok(n)
    }

    /// One round: reads every event after the applied position and applies them in
    /// order. Returns how many were applied.
    pub async fn catch_up(&self) -> StoreResult<usize> {
        let _round = self.round.lock().await;
        let mut applied = 0;
        loop {
            let since = self.applied_seq();
            let events = match self.read(since).await {
                Ok(Read::Events(e)) => e,
                Ok(Read::Rewritten) => {
                    tracing::error!(
                        seq = since,
                        "the store's feed no longer holds the event this instance applied at its position: \
                         the store lost data or was restored; reloading the revocation index"
                    );
                    if let Err(e) = self.reload().await {
                        self.mark_failed();
                        return Err(e);
                    }
                    continue;
                }
                Err(StoreError::FeedGone { .. }) => {
                    if let Err(e) = self.reload().await {
                        self.mark_failed();
                        return Err(e);
                    }
                    continue;
                }
                Err(e) => {
                    self.mark_failed();
                    return Err(e);
                }
            };
            self.mark_ok();
            if let Some(last) = events.last() {
                self.head.fetch_max(last.seq, Ordering::Relaxed);
            }
            let n = events.len();
            let mut expected = since + 1;
            let mut hole = false;
            {
                let mut recent = self.recent.lock();
                let index = self.index.load();
                for e in &events {
                    if e.seq != expected {
                        // A hole: the missing event is not visible yet. Stop here.
                        tracing::debug!(expected, found = e.seq, "feed hole; retrying later");
                        hole = true;
                        break;
                    }
                    index.apply_event(e);
                    self.applied.store(e.seq, Ordering::Release);
                    *self.last.lock() = Some(Mark::of(e));
                    expected += 1;
                    applied += 1;
                }
                let at = self.applied_seq();
                recent.retain(|e| e.seq > at);
                let mut newer: Vec<&Event> = recent.iter().collect();
                newer.sort_by_key(|e| e.seq);
                for e in newer {
                    index.apply_event(e);
                }
            }
            if hole || n < BATCH {
                return Ok(applied);
            }
        }
    }

    /// Loads a fresh snapshot into a new index and swaps it in; readers keep the old
    /// one until the new one is complete.
    pub async fn reload(&self) -> StoreResult<()> {
        let snapshot = self.store.snapshot().await?;
        self.remember_mark(snapshot.seq).await;
        let index = Arc::new(Index::new());
        index.load(&snapshot.rules);
        let recent = self.recent.lock();
        let mut newer: Vec<&Event> = recent.iter().filter(|e| e.seq > snapshot.seq).collect();
        newer.sort_by_key(|e| e.seq);
        for e in newer {
            index.apply_event(e);
        }
        self.index.store(index);
        self.applied.store(snapshot.seq, Ordering::Release);
        self.head.store(snapshot.seq, Ordering::Relaxed);
        tracing::info!(seq = snapshot.seq, rules = snapshot.rules.len(), "revocation index reloaded");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::rules::{NewRevocation, RuleKind};
    use crate::store::{Change, Consumption, IssuedToken, MemoryStore, Page, Pruned, Snapshot};

    fn rule(jti: &str) -> Change {
        Change::Revoke(NewRevocation {
            kind: RuleKind::Jti,
            target: Some(jti.into()),
            iss: None,
            before_ms: None,
            created_at: 0,
            expires_at: u32::MAX as u64,
            reason: None,
            actor: "t".into(),
        })
    }

    fn revoked(f: &Follower, jti: &str) -> bool {
        f.index().check_parts(None, jti, "s", None, 5)
    }

    /// A store that hides one event from readers until told to show it: a late commit.
    #[derive(Debug)]
    struct Late {
        inner: MemoryStore,
        hide: AtomicU64,
        shown: AtomicBool,
    }

    #[async_trait]
    impl Store for Late {
        async fn append(&self, c: Change) -> StoreResult<Event> {
            self.inner.append(c).await
        }
        async fn events_after(&self, since: u64, limit: usize) -> StoreResult<Vec<Event>> {
            let hide = self.hide.load(Ordering::SeqCst);
            let mut v = self.inner.events_after(since, limit).await?;
            if !self.shown.load(Ordering::SeqCst) {
                v.retain(|e| e.seq != hide);
            }
            Ok(v)
        }
        async fn last_seq(&self) -> StoreResult<u64> {
            self.inner.last_seq().await
        }
        async fn snapshot(&self) -> StoreResult<Snapshot> {
            self.inner.snapshot().await
        }
        async fn revocation(&self, id: &str) -> StoreResult<Option<Revocation>> {
            self.inner.revocation(id).await
        }
        async fn prune(&self, now: u64) -> StoreResult<Pruned> {
            self.inner.prune(now).await
        }
        async fn consume_refresh(&self, j: &str, n: u64, e: u64) -> StoreResult<Consumption> {
            self.inner.consume_refresh(j, n, e).await
        }
        async fn raise_max_lifetime(&self, s: u64) -> StoreResult<u64> {
            self.inner.raise_max_lifetime(s).await
        }
        async fn max_lifetime(&self) -> StoreResult<u64> {
            self.inner.max_lifetime().await
        }
        async fn secret_or_insert(&self, n: &str, v: Vec<u8>) -> StoreResult<Vec<u8>> {
            self.inner.secret_or_insert(n, v).await
        }
        async fn record_token(&self, t: IssuedToken) -> StoreResult<()> {
            self.inner.record_token(t).await
        }
        async fn tokens(&self, s: Option<&str>, c: Option<&str>, l: usize) -> StoreResult<Page<IssuedToken>> {
            self.inner.tokens(s, c, l).await
        }
        async fn token(&self, j: &str) -> StoreResult<Option<IssuedToken>> {
            self.inner.token(j).await
        }
        async fn family_latest_exp(&self, f: &str) -> StoreResult<Option<u64>> {
            self.inner.family_latest_exp(f).await
        }
        async fn live_rule(&self, k: RuleKind, i: Option<&str>, t: &str) -> StoreResult<Option<Revocation>> {
            self.inner.live_rule(k, i, t).await
        }
    }

    use crate::rules::Revocation;

    #[tokio::test]
    async fn a_hole_stops_the_round_and_nothing_after_it_is_skipped() {
        let store =
            Arc::new(Late { inner: MemoryStore::new(), hide: AtomicU64::new(2), shown: AtomicBool::new(false) });
        let f = Follower::load(store.clone()).await.unwrap();
        for j in ["a", "b", "c"] {
            store.append(rule(j)).await.unwrap();
        }
        assert_eq!(f.catch_up().await.unwrap(), 1, "stops before the hole at seq 2");
        assert_eq!(f.applied_seq(), 1);
        assert!(revoked(&f, "a") && !revoked(&f, "b") && !revoked(&f, "c"));
        store.shown.store(true, Ordering::SeqCst);
        assert_eq!(f.catch_up().await.unwrap(), 2);
        assert!(revoked(&f, "b") && revoked(&f, "c"));
    }

    #[tokio::test]
    async fn a_pruned_position_reloads_the_snapshot() {
        let store = Arc::new(MemoryStore::new());
        let f = Follower::load(store.clone()).await.unwrap();
        let a = store.append(rule("a")).await.unwrap();
        store.append(Change::Unrevoke { id: a.revocation.id.clone() }).await.unwrap();
        store.append(rule("b")).await.unwrap();
        // both events of "a" are dead and old: the feed drops them
        let far = crate::clock::Clock::now_secs(&crate::clock::SystemClock) + 10_000;
        store.prune(far).await.unwrap();
        assert!(matches!(store.events_after(0, 10).await, Err(StoreError::FeedGone { .. })));
        f.catch_up().await.unwrap();
        assert!(!revoked(&f, "a") && revoked(&f, "b"));
        assert_eq!(f.applied_seq(), 3);
    }

    #[tokio::test]
    async fn an_older_feed_event_never_undoes_a_newer_own_one() {
        let store = Arc::new(MemoryStore::new());
        let f = Follower::load(store.clone()).await.unwrap();
        let a = store.append(rule("a")).await.unwrap(); // seq 1 (another process)
        store.append(Change::Unrevoke { id: a.revocation.id.clone() }).await.unwrap(); // seq 2
        let again = store.append(rule("a")).await.unwrap(); // seq 3: ours
        f.apply_own(&again);
        assert!(revoked(&f, "a"));
        // the feed now applies 1, 2 (unrevoke) and 3: "a" must end revoked, and stay so
        // at every point after the own event was acknowledged
        f.catch_up().await.unwrap();
        assert!(revoked(&f, "a"));
        assert_eq!(f.applied_seq(), 3);
    }

    #[tokio::test]
    async fn following_wakes_on_a_push_and_otherwise_polls() {
        let store = Arc::new(MemoryStore::new());
        let f = Arc::new(Follower::load(store.clone()).await.unwrap());
        let g = Arc::clone(&f);
        let waiter = tokio::spawn(async move { g.follow_once(Duration::from_secs(30)).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        store.append(rule("x")).await.unwrap();
        let n = tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap().unwrap();
        assert_eq!(n, 1);
        assert!(revoked(&f, "x"));
    }
}
