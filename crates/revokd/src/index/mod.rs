//! The index: the in-memory copy of every live rule, answering "is this verified token
//! revoked?" without locks, allocation or I/O.
//!
//! - `jti` rules live in a sharded lock-free table (`index/table.rs`) keyed by 16 bytes:
//!   for our tokens two independently seeded foldhash values of the jti text (cheaper
//!   than parsing the UUID); for foreign ones a keyed SipHash-1-3-128 of issuer and
//!   `jti`. Seeds are random per process, so nobody can aim keys at one slot;
//! - `subject` rules in a small table of the effective cutoff per (issuer, subject),
//!   keyed by two independently seeded foldhash values (a collision could only refuse
//!   more, never less: cutoffs merge by maximum); the writer keeps every cutoff so an
//!   unrevoke can fall back to the next one;
//! - `family` rules in a small table; `all` in one atomic.
//!
//! A check loads the tables' views with one atomic load, computes only the keys it
//! needs, and probes. The index knows neither stores nor sync: it is fed
//! [`Revocation`]s and asked.
//! Expired rules leave through [`Index::prune`], a bounded step that the caller repeats.

mod table;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use siphasher::sip128::{Hasher128, SipHasher13};

use crate::rules::{Event, Op, Revocation, RuleKind};
use crate::token::{Origin, Tokens, Verified};
use table::{Table, View};

/// The keys of one token, computed eagerly (see [`Index::check_parts`] for the lazy
/// path the facade uses).
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

struct Writer {
    jti: Table,
    sub: Table,
    fam: Table,
    subjects: HashMap<(u64, u64), Vec<SubjectRule>>,
    /// Subject rules by expiry, so pruning pops only what expired.
    subject_expiry: BinaryHeap<Reverse<(u64, (u64, u64))>>,
    /// When the rule behind the global cutoff expires.
    global_expires: u64,
    jti_cursor: usize,
    fam_cursor: usize,
}

/// The three tables as readers see them, swapped in as one.
struct Views {
    jti: View,
    sub: View,
    fam: View,
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
    views: ArcSwap<Views>,
    jti_count: AtomicUsize,
    subject_count: AtomicUsize,
    family_count: AtomicUsize,
    /// The `all` cutoff + 1 (0: none).
    global: AtomicU64,
    sip: (u64, u64),
    fold: (foldhash::quality::FixedState, foldhash::quality::FixedState),
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
    /// An empty index with fresh random hash keys.
    pub fn new() -> Self {
        let writer = Writer {
            jti: Table::new(256),
            sub: Table::new(16),
            fam: Table::new(16),
            subjects: HashMap::new(),
            subject_expiry: BinaryHeap::new(),
            global_expires: 0,
            jti_cursor: 0,
            fam_cursor: 0,
        };
        let views = Views { jti: writer.jti.view(), sub: writer.sub.view(), fam: writer.fam.view() };
        Index {
            views: ArcSwap::from_pointee(views),
            jti_count: AtomicUsize::new(0),
            subject_count: AtomicUsize::new(0),
            family_count: AtomicUsize::new(0),
            global: AtomicU64::new(0),
            sip: (rand::random(), rand::random()),
            fold: (
                foldhash::quality::FixedState::with_seed(rand::random()),
                foldhash::quality::FixedState::with_seed(rand::random()),
            ),
            writer: Mutex::new(writer),
        }
    }

    fn sip(&self, tag: u8, scope: Option<&str>, value: &str) -> (u64, u64) {
        let mut h = SipHasher13::new_with_keys(self.sip.0, self.sip.1);
        h.write_u8(tag);
        if let Some(s) = scope {
            h.write(s.as_bytes());
        }
        h.write_u8(0xff);
        h.write(value.as_bytes());
        table::normalize(h.finish128().as_u128())
    }

    /// Two independently seeded foldhash values of `value`: 128 bits.
    #[inline]
    fn fold<T: std::hash::Hash>(&self, value: T) -> (u64, u64) {
        table::normalize(((self.fold.0.hash_one(&value) as u128) << 64) | self.fold.1.hash_one(&value) as u128)
    }

    /// Our own tokens' jti (a UUID in text) → 128-bit seeded hash of the text: 8 ns,
    /// where parsing the UUID costs 23 ns (docs/BENCHMARKS.md). Foreign jtis → keyed
    /// SipHash-1-3-128 with the issuer.
    #[inline]
    fn jti_key(&self, iss: Option<&str>, jti: &str) -> (u64, u64) {
        match iss {
            None => self.fold((b'J', jti)),
            Some(_) => self.sip(b'J', iss, jti),
        }
    }

    #[inline]
    fn family_key(&self, fam: &str) -> (u64, u64) {
        self.fold((b'F', fam))
    }

    #[inline]
    fn subject_key(&self, iss: Option<&str>, sub: &str) -> (u64, u64) {
        self.fold((b'S', iss, sub))
    }

    fn scope<'a>(verified: &Verified, tokens: &'a Tokens) -> Option<&'a str> {
        match verified.origin {
            Origin::Own => None,
            Origin::Foreign(i) => tokens.foreign().get(i).map(|f| f.issuer.as_str()),
        }
    }

    /// The keys of a verified token, computed eagerly. Its issuer scope is `None` for
    /// our tokens and the foreign issuer's name otherwise.
    pub fn probe(&self, verified: &Verified, tokens: &Tokens) -> Probe {
        let c = &verified.claims;
        self.probe_parts(Self::scope(verified, tokens), &c.jti, &c.sub, c.fam.as_deref(), verified.issued_ms)
    }

    /// The keys of a token described by its parts.
    pub fn probe_parts(&self, iss: Option<&str>, jti: &str, sub: &str, fam: Option<&str>, issued_ms: u64) -> Probe {
        Probe {
            jti: (!jti.is_empty()).then(|| self.jti_key(iss, jti)),
            sub: self.subject_key(iss, sub),
            fam: fam.filter(|_| iss.is_none()).map(|f| self.family_key(f)),
            issued_ms,
        }
    }

    /// Whether any live rule matches the probe. Lock-free, allocation-free, no I/O.
    #[inline]
    pub fn is_revoked(&self, p: &Probe) -> bool {
        let g = self.global.load(Ordering::Acquire);
        if g != 0 && p.issued_ms < g {
            return true;
        }
        let v = self.views.load();
        if let Some(j) = p.jti
            && v.jti.get(j).is_some()
        {
            return true;
        }
        if self.subject_count.load(Ordering::Relaxed) != 0
            && let Some(c) = v.sub.get(p.sub)
            && p.issued_ms < c
        {
            return true;
        }
        if let Some(f) = p.fam
            && self.family_count.load(Ordering::Relaxed) != 0
            && v.fam.get(f).is_some()
        {
            return true;
        }
        false
    }

    /// Whether a verified token is revoked: what `Revokd::verify` runs. Keys are
    /// computed only for tables that hold rules. Lock-free, allocation-free, no I/O.
    #[inline]
    pub fn check(&self, verified: &Verified, tokens: &Tokens) -> bool {
        let c = &verified.claims;
        self.check_parts(Self::scope(verified, tokens), &c.jti, &c.sub, c.fam.as_deref(), verified.issued_ms)
    }

    /// [`check`](Index::check) for a token described by its parts.
    #[inline]
    pub fn check_parts(&self, iss: Option<&str>, jti: &str, sub: &str, fam: Option<&str>, issued_ms: u64) -> bool {
        let g = self.global.load(Ordering::Acquire);
        if g != 0 && issued_ms < g {
            return true;
        }
        let v = self.views.load();
        if !jti.is_empty() && self.jti_count.load(Ordering::Relaxed) != 0 && v.jti.get(self.jti_key(iss, jti)).is_some()
        {
            return true;
        }
        if self.subject_count.load(Ordering::Relaxed) != 0
            && let Some(c) = v.sub.get(self.subject_key(iss, sub))
            && issued_ms < c
        {
            return true;
        }
        if let Some(f) = fam
            && iss.is_none()
            && self.family_count.load(Ordering::Relaxed) != 0
            && v.fam.get(self.family_key(f)).is_some()
        {
            return true;
        }
        false
    }

    /// Publishes the tables' views again if a shard array was replaced.
    fn publish(&self, w: &mut Writer) {
        let a = w.jti.take_changed();
        let b = w.sub.take_changed();
        let c = w.fam.take_changed();
        if a || b || c {
            self.views.store(std::sync::Arc::new(Views { jti: w.jti.view(), sub: w.sub.view(), fam: w.fam.view() }));
        }
        self.jti_count.store(w.jti.len(), Ordering::Relaxed);
        self.family_count.store(w.fam.len(), Ordering::Relaxed);
        self.subject_count.store(w.sub.len(), Ordering::Relaxed);
    }

    /// Adds a rule.
    pub fn apply(&self, r: &Revocation) {
        let mut w = self.writer.lock();
        self.apply_locked(&mut w, r);
        self.publish(&mut w);
    }

    fn apply_locked(&self, w: &mut Writer, r: &Revocation) {
        let target = r.target.as_deref().unwrap_or("");
        let exp = r.expires_at.max(1);
        match r.kind {
            RuleKind::Jti => {
                w.jti.upsert(self.jti_key(r.iss.as_deref(), target), exp, u64::max);
            }
            RuleKind::Family => {
                w.fam.upsert(self.family_key(target), exp, u64::max);
            }
            RuleKind::All => {
                if let Some(b) = r.before_ms {
                    self.global.fetch_max(b.saturating_add(1), Ordering::AcqRel);
                    w.global_expires = w.global_expires.max(r.expires_at);
                }
            }
            RuleKind::Subject => {
                let Some(before_ms) = r.before_ms else { return };
                let key = self.subject_key(r.iss.as_deref(), target);
                let rules = w.subjects.entry(key).or_default();
                if rules.iter().any(|s| s.id == r.id) {
                    return;
                }
                rules.push(SubjectRule { id: r.id.clone(), before_ms, expires_at: r.expires_at });
                let max = rules.iter().map(|s| s.before_ms).max();
                w.subject_expiry.push(Reverse((r.expires_at, key)));
                Self::set_subject(w, key, max);
            }
        }
    }

    fn set_subject(w: &mut Writer, key: (u64, u64), cutoff: Option<u64>) {
        match cutoff {
            Some(c) => {
                w.sub.upsert(key, c.saturating_add(1), |_, n| n);
            }
            None => {
                w.subjects.remove(&key);
                w.sub.remove(key);
            }
        }
    }

    /// Removes a rule (unrevoke). Family and `all` rules are never removed.
    pub fn remove(&self, r: &Revocation) {
        let mut w = self.writer.lock();
        self.remove_locked(&mut w, r);
        self.publish(&mut w);
    }

    fn remove_locked(&self, w: &mut Writer, r: &Revocation) {
        let target = r.target.as_deref().unwrap_or("");
        match r.kind {
            RuleKind::Jti => {
                w.jti.remove(self.jti_key(r.iss.as_deref(), target));
            }
            RuleKind::Subject => {
                let key = self.subject_key(r.iss.as_deref(), target);
                let Some(rules) = w.subjects.get_mut(&key) else { return };
                rules.retain(|s| s.id != r.id);
                let max = rules.iter().map(|s| s.before_ms).max();
                Self::set_subject(w, key, max);
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

    /// Adds every rule of `rules` (to a fresh index: a start-up load), publishing once.
    pub fn load<'a>(&self, rules: impl IntoIterator<Item = &'a Revocation>) {
        let mut w = self.writer.lock();
        for r in rules {
            self.apply_locked(&mut w, r);
        }
        self.publish(&mut w);
    }

    /// One bounded pruning step at `now_secs`: visits at most `budget` slots of the
    /// `jti` and family tables (resuming where the last step stopped) and every subject
    /// cutoff, removing rules whose expiry has passed. Repeat it (e.g. every second);
    /// no step ever walks the whole index.
    pub fn prune(&self, now_secs: u64, budget: usize) -> PruneStep {
        let expired = |v: u64| v <= now_secs;
        let mut w = self.writer.lock();
        let w = &mut *w;
        let (mut removed, mut visited) = w.jti.sweep(budget, expired, &mut w.jti_cursor);
        let (fr, fv) = w.fam.sweep(budget, expired, &mut w.fam_cursor);
        removed += fr;
        visited += fv;
        // Subject cutoffs: pop only the ones whose expiry passed.
        while let Some(Reverse((at, key))) = w.subject_expiry.peek().copied() {
            if at > now_secs {
                break;
            }
            w.subject_expiry.pop();
            if let Some(rules) = w.subjects.get_mut(&key) {
                let n = rules.len();
                rules.retain(|s| s.expires_at > now_secs);
                if rules.len() != n {
                    removed += n - rules.len();
                    let max = rules.iter().map(|s| s.before_ms).max();
                    Self::set_subject(w, key, max);
                }
            }
        }
        // The global cutoff goes once the rule behind it (the latest) has expired.
        if w.global_expires != 0 && w.global_expires <= now_secs {
            self.global.store(0, Ordering::Release);
            w.global_expires = 0;
            removed += 1;
        }
        self.publish(w);
        PruneStep { removed, visited }
    }

    /// Prunes in one full pass over every table (tests and tools; the service uses
    /// bounded [`prune`](Index::prune) steps).
    pub fn prune_all(&self, now_secs: u64) -> usize {
        self.prune(now_secs, usize::MAX / 4).removed
    }

    /// Whether a family has a live rule (refuse to continue a revoked family).
    pub fn family_revoked(&self, fam: &str) -> bool {
        self.family_count.load(Ordering::Relaxed) != 0 && self.views.load().fam.get(self.family_key(fam)).is_some()
    }

    /// Current sizes.
    pub fn stats(&self) -> IndexStats {
        let g = self.global.load(Ordering::Acquire);
        let w = self.writer.lock();
        IndexStats {
            jtis: w.jti.len(),
            subjects: w.sub.len(),
            families: w.fam.len(),
            global_cutoff_ms: (g != 0).then(|| g - 1),
            memory_bytes: w.jti.memory_bytes() + w.sub.memory_bytes() + w.fam.memory_bytes(),
        }
    }
}

#[cfg(test)]
mod tests;
