//! The verified-token cache: successful signature checks, remembered by the token's
//! exact bytes, so a client sending the same RS256 or EdDSA token on every request pays
//! for the signature once.
//!
//! What a hit skips is the signature check and the parse, nothing else: time (`exp`,
//! `nbf`, leeway), type, issuer, audience and lifetime are checked on every hit against
//! the clock of that moment, and the revocation check runs after it as on a miss, so a
//! token revoked after it was cached is refused on the next request. Safe where Envoy's
//! and PostgREST's JWT caches are not, because the revocation check never comes from the
//! cache.
//!
//! - Identity is the whole token: a keyed hash (seeded per process, so nobody can aim
//!   tokens at one slot) picks the slot, and a hit requires the stored token to be
//!   byte-for-byte equal. Two tokens with the same hash never answer for each other.
//! - Only successes are cached, so garbage cannot fill it; tokens longer than
//!   `max_token_bytes` are never cached.
//! - An entry lives until the earlier of the token's `exp` and `max_lifetime`.
//! - An entry is tied to the key material that verified it (its fingerprint, not its
//!   `kid`): on every hit the key the token names must still be in the key set with the
//!   same fingerprint, so a key removed, or replaced under the same `kid`, or dropped from
//!   a foreign issuer's JWKS, stops its tokens at once.
//! - The size is bounded: each of the shards holds at most its share of `capacity`;
//!   inserting into a full shard evicts (an expired entry if one is found, else another).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{Claims, Origin};

const SHARDS: usize = 16;

/// Settings of the cache (API.md's `[verify_cache]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries held.
    pub capacity: usize,
    /// Longer tokens are verified every time.
    pub max_token_bytes: usize,
    /// Longest an entry lives, seconds (a token's `exp` may end it sooner).
    pub max_lifetime_secs: u64,
}

impl Default for CacheConfig {
    /// API.md's defaults: 100,000 entries, tokens up to 8,192 bytes, 300 s.
    fn default() -> Self {
        CacheConfig { capacity: 100_000, max_token_bytes: 8192, max_lifetime_secs: 300 }
    }
}

/// Counters of the cache, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Verifications answered from the cache.
    pub hits: u64,
    /// Verifications that were not (then verified in full).
    pub misses: u64,
    /// Entries pushed out to make room.
    pub evictions: u64,
    /// Entries held now.
    pub entries: u64,
}

/// What a hit hands back: the claims and where they come from, and what must still
/// hold for them to be used.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pub(crate) claims: Claims,
    pub(crate) origin: Origin,
    /// The `kid` of the header (`None`: the set's only key was used).
    pub(crate) kid: Option<Box<str>>,
    /// The fingerprint of the key that verified the signature.
    pub(crate) fingerprint: [u8; 32],
}

struct Entry {
    hash: u64,
    token: Box<str>,
    cached: Arc<Cached>,
    /// Unix seconds from which the entry is not used.
    until: u64,
}

/// One shard: the entries in a dense vector (so a victim can be drawn uniformly at
/// random), and an index from the token's hash to its position.
struct Shard {
    index: HashMap<u64, usize, foldhash::fast::RandomState>,
    entries: Vec<Entry>,
}

impl Shard {
    fn remove_at(&mut self, i: usize) {
        let gone = self.entries.swap_remove(i);
        self.index.remove(&gone.hash);
        if let Some(moved) = self.entries.get(i) {
            self.index.insert(moved.hash, i);
        }
    }

    fn remove_hash(&mut self, hash: u64) {
        if let Some(&i) = self.index.get(&hash) {
            self.remove_at(i);
        }
    }
}

/// The cache. Cheap to share (`&self` everywhere); internally sharded.
pub(crate) struct VerifyCache {
    config: CacheConfig,
    per_shard: usize,
    hasher: foldhash::quality::RandomState,
    shards: Vec<Mutex<Shard>>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache").field("config", &self.config).field("stats", &self.stats()).finish()
    }
}

impl VerifyCache {
    pub(crate) fn new(config: CacheConfig) -> Self {
        // Never more than `capacity` in all: fewer shards for a small cache, and each
        // shard's share rounded down.
        let n = config.capacity.clamp(1, SHARDS);
        let per_shard = config.capacity / n;
        let shards = (0..n)
            .map(|_| Mutex::new(Shard { index: HashMap::with_hasher(Default::default()), entries: Vec::new() }))
            .collect();
        VerifyCache {
            config,
            per_shard,
            hasher: foldhash::quality::RandomState::default(),
            shards,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// Whether `token` may be cached at all.
    pub(crate) fn accepts(&self, token: &str) -> bool {
        self.per_shard > 0 && token.len() <= self.config.max_token_bytes
    }

    fn slot(&self, token: &str) -> (u64, &Mutex<Shard>) {
        let h = self.hasher.hash_one(token.as_bytes());
        (h, &self.shards[(h >> 32) as usize % self.shards.len()])
    }

    /// The cached verification of exactly `token`, if one is held, still in its
    /// lifetime at `now`, and `still_valid` (its key is still the same key). The lock
    /// is held only for the lookup; `still_valid` runs outside it.
    pub(crate) fn get(&self, token: &str, now: u64, still_valid: impl FnOnce(&Cached) -> bool) -> Option<Arc<Cached>> {
        let (h, shard) = self.slot(token);
        let found = {
            let mut g = shard.lock();
            let at = g.index.get(&h).copied().filter(|&i| *g.entries[i].token == *token);
            match at {
                Some(i) if now < g.entries[i].until => Some(Arc::clone(&g.entries[i].cached)),
                Some(i) => {
                    g.remove_at(i);
                    None
                }
                None => None,
            }
        };
        let found = match found {
            Some(c) if still_valid(&c) => Some(c),
            Some(_) => {
                shard.lock().remove_hash(h);
                None
            }
            None => None,
        };
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Remembers a successful verification of `token`.
    pub(crate) fn insert(&self, token: &str, cached: Cached, now: u64) {
        if !self.accepts(token) {
            return;
        }
        let until = cached.claims.exp.min(now.saturating_add(self.config.max_lifetime_secs));
        if until <= now {
            return;
        }
        let (h, shard) = self.slot(token);
        let entry = Entry { hash: h, token: token.into(), cached: Arc::new(cached), until };
        let mut g = shard.lock();
        if let Some(&i) = g.index.get(&h) {
            g.entries[i] = entry;
            return;
        }
        if g.entries.len() >= self.per_shard {
            // Room: an expired entry if a few random draws find one, else a random one.
            let len = g.entries.len();
            let draws: [usize; 4] = std::array::from_fn(|_| rand::random_range(0..len));
            let victim = draws.iter().copied().find(|&i| g.entries[i].until <= now).unwrap_or(draws[0]);
            g.remove_at(victim);
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        let i = g.entries.len();
        g.entries.push(entry);
        g.index.insert(h, i);
    }

    /// Drops every entry `keep` refuses (a key set changed), and every expired one.
    pub(crate) fn retain(&self, now: u64, mut keep: impl FnMut(&Cached) -> bool) {
        for shard in &self.shards {
            let mut g = shard.lock();
            let mut i = 0;
            while i < g.entries.len() {
                if g.entries[i].until <= now || !keep(&g.entries[i].cached) {
                    g.remove_at(i);
                } else {
                    i += 1;
                }
            }
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: self.shards.iter().map(|s| s.lock().entries.len() as u64).sum(),
        }
    }
}
