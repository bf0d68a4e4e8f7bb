//! The index: the in-memory copy of every live rule, answering "is this verified token
//! revoked?" without locks, allocation or I/O.
//!
//! - `jti` rules live in a sharded lock-free table (`index/table.rs`) keyed by 16 bytes: the
//!   UUID itself for our tokens, a keyed SipHash-1-3-128 of issuer and `jti` for
//!   foreign ones (keyed per process, so nobody can aim keys at one slot);
//! - `subject` rules in a small table of the effective cutoff per (issuer, subject);
//!   the writer keeps every cutoff so an unrevoke can fall back to the next one;
//! - `family` rules in a small table; `all` in one atomic.
//!
//! The index knows neither stores nor sync: it is fed [`Revocation`]s and asked.
//! Expired rules leave through [`Index::prune`], a bounded step that the caller repeats.

mod table;

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use siphasher::sip128::{Hasher128, SipHasher13};
use uuid::Uuid;

use crate::rules::{Event, Op, Revocation, RuleKind};
use crate::token::{Origin, Tokens, Verified};
use table::Table;

/// The keys of one token, computed once per check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    jti: Option<(u64, u64)>,
    sub: (u64, u64),
    fam: Option<(u64, u64)>,
    issued_ms: u64,
}

#[derive(Debug, Clone)]
struct SubjectRule {
    id: String,
    before_ms: u64,
    expires_at: u64,
}

#[derive(Default)]
struct Writer {
    subjects: HashMap<(u64, u64), Vec<SubjectRule>>,
    sweep_shard: usize,
    families_shard: usize,
}

/// Sizes of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    /// Live `jti` rules.
    pub jtis: usize,
    /// Subjects with a live cutoff.
    pub subjects: usize,
    /// Live `family` rules.
    pub families: usize,
    /// The global cutoff in milliseconds, if any.
    pub global_cutoff_ms: Option<u64>,
    /// Bytes held by the tables.
    pub memory_bytes: usize,
}

/// What one [`Index::prune`] step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneStep {
    /// Rules removed.
    pub removed: usize,
    /// Slots visited (bounded by the budget).
    pub visited: usize,
}

/// The in-memory index of live revocation rules.
pub struct Index {
    jtis: Table,
    subjects: Table,
    families: Table,
    subject_count: AtomicUsize,
    family_count: AtomicUsize,
    /// The `all` cutoff + 1 (0: none).
    global: AtomicU64,
    k0: u64,
    k1: u64,
    writer: Mutex<Writer>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("stats", &self.stats()).finish()
    }
}

impl Default for Index {
    fn default() -> Self {
        Index::new()
    }
}

impl Index {
    /// An empty index with a fresh random hash key.
    pub fn new() -> Self {
        Index {
            jtis: Table::new(256),
            subjects: Table::new(16),
            families: Table::new(16),
            subject_count: AtomicUsize::new(0),
            family_count: AtomicUsize::new(0),
            global: AtomicU64::new(0),
            k0: rand::random(),
            k1: rand::random(),
            writer: Mutex::new(Writer::default()),
        }
    }

    fn hash(&self, tag: u8, scope: Option<&str>, value: &str) -> (u64, u64) {
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        h.write_u8(tag);
        if let Some(s) = scope {
            h.write(s.as_bytes());
        }
        h.write_u8(0xff);
        h.write(value.as_bytes());
        table::normalize(h.finish128().as_u128())
    }

    fn jti_key(&self, iss: Option<&str>, jti: &str) -> (u64, u64) {
        match (iss, Uuid::try_parse(jti)) {
            (None, Ok(u)) => table::normalize(u.as_u128()),
            _ => self.hash(b'J', iss, jti),
        }
    }

    fn family_key(&self, fam: &str) -> (u64, u64) {
        match Uuid::try_parse(fam) {
            Ok(u) => table::normalize(u.as_u128()),
            Err(_) => self.hash(b'F', None, fam),
        }
    }

    fn subject_key(&self, iss: Option<&str>, sub: &str) -> (u64, u64) {
        self.hash(b'S', iss, sub)
    }

    /// The keys of a verified token. Its issuer scope is `None` for our tokens and the
    /// foreign issuer's name otherwise.
    pub fn probe(&self, verified: &Verified, tokens: &Tokens) -> Probe {
        let scope = match verified.origin {
            Origin::Own => None,
            Origin::Foreign(i) => tokens.foreign().get(i).map(|f| f.issuer.as_str()),
        };
        let c = &verified.claims;
        Probe {
            jti: (!c.jti.is_empty()).then(|| self.jti_key(scope, &c.jti)),
            sub: self.subject_key(scope, &c.sub),
            fam: c.fam.as_deref().filter(|_| scope.is_none()).map(|f| self.family_key(f)),
            issued_ms: verified.issued_ms,
        }
    }

    /// The keys of a token described by its parts (for tests and callers that verify
    /// tokens elsewhere).
    pub fn probe_parts(&self, iss: Option<&str>, jti: &str, sub: &str, fam: Option<&str>, issued_ms: u64) -> Probe {
        Probe {
            jti: (!jti.is_empty()).then(|| self.jti_key(iss, jti)),
            sub: self.subject_key(iss, sub),
            fam: fam.filter(|_| iss.is_none()).map(|f| self.family_key(f)),
            issued_ms,
        }
    }

    /// Whether any live rule matches. Lock-free, allocation-free, no I/O.
    #[inline]
    pub fn is_revoked(&self, p: &Probe) -> bool {
        let g = self.global.load(Ordering::Acquire);
        if g != 0 && p.issued_ms < g {
            return true;
        }
        if let Some(j) = p.jti
            && self.jtis.get(j).is_some()
        {
            return true;
        }
        if self.subject_count.load(Ordering::Relaxed) != 0
            && let Some(c) = self.subjects.get(p.sub)
            && p.issued_ms < c
        {
            return true;
        }
        if let Some(f) = p.fam
            && self.family_count.load(Ordering::Relaxed) != 0
            && self.families.get(f).is_some()
        {
            return true;
        }
        false
    }

    /// Adds a rule.
    pub fn apply(&self, r: &Revocation) {
        let target = r.target.as_deref().unwrap_or("");
        let exp = r.expires_at.max(1);
        match r.kind {
            RuleKind::Jti => {
                self.jtis.upsert(self.jti_key(r.iss.as_deref(), target), exp, u64::max);
            }
            RuleKind::Family => {
                if self.families.upsert(self.family_key(target), exp, u64::max) {
                    self.family_count.fetch_add(1, Ordering::Relaxed);
                }
            }
            RuleKind::All => {
                if let Some(b) = r.before_ms {
                    self.global.fetch_max(b + 1, Ordering::AcqRel);
                }
            }
            RuleKind::Subject => {
                let Some(before_ms) = r.before_ms else { return };
                let key = self.subject_key(r.iss.as_deref(), target);
                let mut w = self.writer.lock();
                let rules = w.subjects.entry(key).or_default();
                if rules.iter().any(|s| s.id == r.id) {
                    return;
                }
                rules.push(SubjectRule { id: r.id.clone(), before_ms, expires_at: r.expires_at });
                self.publish_subject(key, rules);
            }
        }
    }

    fn publish_subject(&self, key: (u64, u64), rules: &[SubjectRule]) {
        match rules.iter().map(|s| s.before_ms).max() {
            Some(c) => {
                if self.subjects.upsert(key, c + 1, |_, n| n) {
                    self.subject_count.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                if self.subjects.remove(key, |_| true) {
                    self.subject_count.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Removes a rule (unrevoke). Family and `all` rules are never removed.
    pub fn remove(&self, r: &Revocation) {
        let target = r.target.as_deref().unwrap_or("");
        match r.kind {
            RuleKind::Jti => {
                self.jtis.remove(self.jti_key(r.iss.as_deref(), target), |_| true);
            }
            RuleKind::Subject => {
                let key = self.subject_key(r.iss.as_deref(), target);
                let mut w = self.writer.lock();
                let Some(rules) = w.subjects.get_mut(&key) else { return };
                rules.retain(|s| s.id != r.id);
                let empty = rules.is_empty();
                let snapshot = rules.clone();
                if empty {
                    w.subjects.remove(&key);
                }
                self.publish_subject(key, &snapshot);
            }
            RuleKind::Family | RuleKind::All => {}
        }
    }

    /// Applies one feed event.
    pub fn apply_event(&self, e: &Event) {
        match e.op {
            Op::Revoke => self.apply(&e.revocation),
            Op::Unrevoke => self.remove(&e.revocation),
        }
    }

    /// Replaces the whole content with `rules`.
    pub fn load<'a>(&self, rules: impl IntoIterator<Item = &'a Revocation>) {
        {
            let mut w = self.writer.lock();
            w.subjects.clear();
            self.jtis.clear();
            self.subjects.clear();
            self.families.clear();
            self.subject_count.store(0, Ordering::Relaxed);
            self.family_count.store(0, Ordering::Relaxed);
            self.global.store(0, Ordering::Release);
        }
        for r in rules {
            self.apply(r);
        }
    }

    /// One bounded pruning step at `now_secs`: visits at most `budget` slots of the
    /// `jti` and family tables (resuming where the last step stopped) and every subject
    /// cutoff, removing rules whose expiry has passed. Repeat it (e.g. every second);
    /// no step ever walks the whole index.
    pub fn prune(&self, now_secs: u64, budget: usize) -> PruneStep {
        let expired = |v: u64| v <= now_secs;
        let mut w = self.writer.lock();
        let mut cursor = w.sweep_shard;
        let (mut removed, mut visited) = self.jtis.sweep(budget, expired, &mut cursor);
        w.sweep_shard = cursor;
        let mut fcursor = w.families_shard;
        let (fr, fv) = self.families.sweep(budget, expired, &mut fcursor);
        w.families_shard = fcursor;
        self.family_count.fetch_sub(fr, Ordering::Relaxed);
        removed += fr;
        visited += fv;
        let stale: Vec<(u64, u64)> = w
            .subjects
            .iter()
            .filter(|(_, rules)| rules.iter().any(|s| s.expires_at <= now_secs))
            .map(|(k, _)| *k)
            .collect();
        for key in stale {
            if let Some(rules) = w.subjects.get_mut(&key) {
                let n = rules.len();
                rules.retain(|s| s.expires_at > now_secs);
                removed += n - rules.len();
                let snapshot = rules.clone();
                if snapshot.is_empty() {
                    w.subjects.remove(&key);
                }
                self.publish_subject(key, &snapshot);
            }
        }
        PruneStep { removed, visited }
    }

    /// Prunes in one full pass over every table (tests and tools; the service uses
    /// bounded [`prune`](Index::prune) steps).
    pub fn prune_all(&self, now_secs: u64) -> usize {
        self.prune(now_secs, usize::MAX / 4).removed
    }

    /// Current sizes.
    pub fn stats(&self) -> IndexStats {
        let g = self.global.load(Ordering::Acquire);
        IndexStats {
            jtis: self.jtis.len(),
            subjects: self.subject_count.load(Ordering::Relaxed),
            families: self.family_count.load(Ordering::Relaxed),
            global_cutoff_ms: (g != 0).then(|| g - 1),
            memory_bytes: self.jtis.memory_bytes() + self.subjects.memory_bytes() + self.families.memory_bytes(),
        }
    }
}

#[cfg(test)]
mod tests;
