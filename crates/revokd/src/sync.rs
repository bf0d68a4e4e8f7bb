//! Sync: the only path from a store into an index. Load the live rules, then follow the
//! store's feed by sequence number; a feed position that was pruned away means reload.
//!
//! Events are applied strictly in sequence: a hole (an event not visible yet) stops the
//! batch, and the next round resumes there, so no event is ever skipped.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use crate::index::Index;
use crate::rules::Event;
use crate::store::{Store, StoreError, StoreResult};

/// Own events kept to re-apply after a reload (their store commit preceded the snapshot
/// only if their seq is at or below it).
const RECENT_OWN: usize = 4096;
const BATCH: usize = 1000;

/// Follows a store into an index.
#[derive(Debug)]
pub struct Follower {
    store: Arc<dyn Store>,
    index: ArcSwap<Index>,
    applied: AtomicU64,
    reachable: AtomicBool,
    lock: Mutex<VecDeque<Event>>,
    round: tokio::sync::Mutex<()>,
}

impl Follower {
    /// Loads the store's live rules into a fresh index. Returns once loaded.
    pub async fn load(store: Arc<dyn Store>) -> StoreResult<Self> {
        let snapshot = store.snapshot().await?;
        let index = Index::new();
        index.load(&snapshot.rules);
        Ok(Follower {
            store,
            index: ArcSwap::from_pointee(index),
            applied: AtomicU64::new(snapshot.seq),
            reachable: AtomicBool::new(true),
            lock: Mutex::new(VecDeque::new()),
            round: tokio::sync::Mutex::new(()),
        })
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

    /// Whether the last round reached the store.
    pub fn store_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// Applies an event this process just appended (acknowledged by the store), at
    /// once, ahead of the feed. Applying it again from the feed is harmless.
    pub fn apply_own(&self, e: &Event) {
        let mut recent = self.lock.lock();
        self.index.load().apply_event(e);
        recent.push_back(e.clone());
        if recent.len() > RECENT_OWN {
            recent.pop_front();
        }
    }

    /// One round: reads every event after the applied position and applies them in
    /// order. Returns how many were applied.
    pub async fn catch_up(&self) -> StoreResult<usize> {
        let _round = self.round.lock().await;
        let mut applied = 0;
        loop {
            let since = self.applied_seq();
            let events = match self.store.events_after(since, BATCH).await {
                Ok(e) => e,
                Err(StoreError::FeedGone { .. }) => {
                    self.reload().await?;
                    continue;
                }
                Err(e) => {
                    self.reachable.store(false, Ordering::Relaxed);
                    return Err(e);
                }
            };
            self.reachable.store(true, Ordering::Relaxed);
            let n = events.len();
            let mut expected = since + 1;
            {
                let _g = self.lock.lock();
                let index = self.index.load();
                for e in &events {
                    if e.seq != expected {
                        // A hole: the missing event is not visible yet. Stop here.
                        tracing::debug!(expected, found = e.seq, "feed hole; retrying later");
                        return Ok(applied);
                    }
                    index.apply_event(e);
                    self.applied.store(e.seq, Ordering::Release);
                    expected += 1;
                    applied += 1;
                }
            }
            if n < BATCH {
                return Ok(applied);
            }
        }
    }

    /// Loads a fresh snapshot into a new index and swaps it in; readers keep the old
    /// one until the new one is complete.
    pub async fn reload(&self) -> StoreResult<()> {
        let snapshot = self.store.snapshot().await?;
        let index = Arc::new(Index::new());
        index.load(&snapshot.rules);
        let recent = self.lock.lock();
        for e in recent.iter().filter(|e| e.seq > snapshot.seq) {
            index.apply_event(e);
        }
        self.index.store(index);
        self.applied.store(snapshot.seq, Ordering::Release);
        tracing::info!(seq = snapshot.seq, rules = snapshot.rules.len(), "revocation index reloaded");
        Ok(())
    }
}
