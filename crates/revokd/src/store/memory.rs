//! The memory store: for tests and examples only. **Not durable**: everything is lost
//! when the process ends, and other processes cannot see it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::{
    Change, Consumption, FEED_RETENTION_SECS, IssuedToken, Page, Pruned, REGISTRY_RETENTION_SECS, Snapshot, Store,
    StoreError, StoreResult,
};
use crate::clock::{Clock, SystemClock};
use crate::rules::{Event, Op, Revocation, RuleKind};

#[derive(Debug, Default)]
struct Inner {
    events: BTreeMap<u64, (Event, u64)>,
    last_seq: u64,
    /// Events at or below this were pruned.
    watermark: u64,
    revocations: HashMap<String, (Revocation, bool)>,
    unique: HashMap<(RuleKind, Option<String>, String), String>,
    refresh: HashMap<String, (u64, u64)>,
    max_lifetime: u64,
    secrets: HashMap<String, Vec<u8>>,
    tokens: BTreeMap<String, IssuedToken>,
}

/// An in-process store. Not durable, not shared: for tests and examples.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    appended: Notify,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }
}

fn unique_key(r: &Revocation) -> Option<(RuleKind, Option<String>, String)> {
    match r.kind {
        RuleKind::Jti | RuleKind::Family => Some((r.kind, r.iss.clone(), r.target.clone().unwrap_or_default())),
        _ => None,
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn append(&self, change: Change) -> StoreResult<Event> {
        let now = SystemClock.now_secs();
        let mut g = self.inner.lock();
        let inner = &mut *g;
        match change {
            Change::Revoke(new) => {
                let probe = new.clone().into_revocation(String::new(), 0);
                if let Some(key) = unique_key(&probe)
                    && let Some(id) = inner.unique.get(&key)
                {
                    let (existing, _) = &inner.revocations[id];
                    return Ok(Event { seq: existing.seq, op: Op::Revoke, revocation: existing.clone() });
                }
                inner.last_seq += 1;
                let seq = inner.last_seq;
                let r = new.into_revocation(uuid::Uuid::now_v7().to_string(), seq);
                if let Some(key) = unique_key(&r) {
                    inner.unique.insert(key, r.id.clone());
                }
                inner.revocations.insert(r.id.clone(), (r.clone(), false));
                let e = Event { seq, op: Op::Revoke, revocation: r };
                inner.events.insert(seq, (e.clone(), now));
                self.appended.notify_waiters();
                Ok(e)
            }
            Change::Reassign { id, actor, reason } => {
                let Some((r, false)) = inner.revocations.get_mut(&id) else {
                    return Err(StoreError::NotFound);
                };
                r.actor = actor;
                if reason.is_some() {
                    r.reason = reason;
                }
                let r = r.clone();
                inner.last_seq += 1;
                let seq = inner.last_seq;
                let e = Event { seq, op: Op::Revoke, revocation: r };
                inner.events.insert(seq, (e.clone(), now));
                self.appended.notify_waiters();
                Ok(e)
            }
            Change::Unrevoke { id } => {
                let Some((r, removed)) = inner.revocations.get_mut(&id) else {
                    return Err(StoreError::NotFound);
                };
                if *removed {
                    return Err(StoreError::NotFound);
                }
                if !r.kind.is_reversible() {
                    return Err(StoreError::NotReversible);
                }
                *removed = true;
                let r = r.clone();
                if let Some(key) = unique_key(&r) {
                    inner.unique.remove(&key);
                }
                inner.last_seq += 1;
                let seq = inner.last_seq;
                let e = Event { seq, op: Op::Unrevoke, revocation: r };
                inner.events.insert(seq, (e.clone(), now));
                self.appended.notify_waiters();
                Ok(e)
            }
        }
    }

    async fn events_after(&self, since: u64, limit: usize) -> StoreResult<Vec<Event>> {
        let g = self.inner.lock();
        if since < g.watermark {
            return Err(StoreError::FeedGone { since, oldest: g.watermark });
        }
        Ok(g.events.range(since + 1..).take(limit).map(|(_, (e, _))| e.clone()).collect())
    }

    async fn last_seq(&self) -> StoreResult<u64> {
        Ok(self.inner.lock().last_seq)
    }

    async fn snapshot(&self) -> StoreResult<Snapshot> {
        let g = self.inner.lock();
        let mut rules: Vec<Revocation> =
            g.revocations.values().filter(|(_, removed)| !removed).map(|(r, _)| r.clone()).collect();
        rules.sort_by_key(|r| r.seq);
        Ok(Snapshot { seq: g.last_seq, rules })
    }

    async fn revocation(&self, id: &str) -> StoreResult<Option<Revocation>> {
        Ok(self.inner.lock().revocations.get(id).map(|(r, _)| r.clone()))
    }

    async fn prune(&self, now_secs: u64) -> StoreResult<Pruned> {
        let mut g = self.inner.lock();
        let inner = &mut *g;
        let mut pruned = Pruned::default();
        // Events leave as a prefix, once older than the retention (a reader further
        // behind reloads the snapshot, which holds every live rule).
        let mut through = inner.watermark;
        for (seq, (_, at)) in inner.events.iter() {
            if *at + FEED_RETENTION_SECS <= now_secs {
                through = *seq;
            } else {
                break;
            }
        }
        let gone: Vec<u64> = inner.events.range(..=through).map(|(s, _)| *s).collect();
        for s in gone {
            inner.events.remove(&s);
            pruned.events += 1;
        }
        inner.watermark = through;
        let expired: Vec<String> =
            inner.revocations.iter().filter(|(_, (r, _))| r.expires_at <= now_secs).map(|(id, _)| id.clone()).collect();
        for id in expired {
            if let Some((r, removed)) = inner.revocations.remove(&id)
                && !removed
            {
                pruned.rules += 1;
                if let Some(key) = unique_key(&r) {
                    inner.unique.remove(&key);
                }
            }
        }
        let before = inner.tokens.len() + inner.refresh.len();
        inner.tokens.retain(|_, t| t.exp.saturating_add(REGISTRY_RETENTION_SECS) > now_secs);
        inner.refresh.retain(|_, (_, exp)| *exp > now_secs);
        pruned.tokens = (before - inner.tokens.len() - inner.refresh.len()) as u64;
        Ok(pruned)
    }

    async fn consume_refresh(&self, jti: &str, now_ms: u64, expires_at: u64) -> StoreResult<Consumption> {
        let mut g = self.inner.lock();
        match g.refresh.get(jti) {
            Some((first, _)) => Ok(Consumption::Reused { first_used_ms: *first }),
            None => {
                g.refresh.insert(jti.to_owned(), (now_ms, expires_at));
                Ok(Consumption::First)
            }
        }
    }

    async fn raise_max_lifetime(&self, secs: u64) -> StoreResult<u64> {
        let mut g = self.inner.lock();
        g.max_lifetime = g.max_lifetime.max(secs);
        Ok(g.max_lifetime)
    }

    async fn max_lifetime(&self) -> StoreResult<u64> {
        Ok(self.inner.lock().max_lifetime)
    }

    async fn secret_or_insert(&self, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>> {
        Ok(self.inner.lock().secrets.entry(name.to_owned()).or_insert(value).clone())
    }

    async fn record_token(&self, token: IssuedToken) -> StoreResult<()> {
        self.inner.lock().tokens.insert(token.jti.clone(), token);
        Ok(())
    }

    async fn tokens(&self, sub: Option<&str>, cursor: Option<&str>, limit: usize) -> StoreResult<Page<IssuedToken>> {
        let g = self.inner.lock();
        let start = cursor.map_or(std::ops::Bound::Unbounded, |c| std::ops::Bound::Excluded(c.to_owned()));
        let items: Vec<IssuedToken> = g
            .tokens
            .range((start, std::ops::Bound::Unbounded))
            .map(|(_, t)| t)
            .filter(|t| sub.is_none_or(|s| t.sub == s))
            .take(limit + 1)
            .cloned()
            .collect();
        Ok(Page::from_one_extra(items, limit))
    }

    async fn token(&self, jti: &str) -> StoreResult<Option<IssuedToken>> {
        Ok(self.inner.lock().tokens.get(jti).cloned())
    }

    async fn family_latest_exp(&self, fam: &str) -> StoreResult<Option<u64>> {
        Ok(self.inner.lock().tokens.values().filter(|t| t.fam.as_deref() == Some(fam)).map(|t| t.exp).max())
    }

    async fn live_rule(&self, kind: RuleKind, iss: Option<&str>, target: &str) -> StoreResult<Option<Revocation>> {
        let g = self.inner.lock();
        Ok(g.revocations
            .values()
            .filter(|(r, removed)| {
                !removed && r.kind == kind && r.iss.as_deref() == iss && r.target.as_deref() == Some(target)
            })
            .map(|(r, _)| r)
            .max_by_key(|r| r.seq)
            .cloned())
    }

    async fn wait_for_change(&self, after: u64, timeout: Duration) -> StoreResult<()> {
        let notified = self.appended.notified();
        if self.inner.lock().last_seq > after {
            return Ok(());
        }
        let _ = tokio::time::timeout(timeout, notified).await;
        Ok(())
    }
}
