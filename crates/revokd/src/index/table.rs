//! A sharded open-addressing hash table from 128-bit keys to non-zero `u64` values,
//! read without locks or allocation.
//!
//! The writer side ([`Table`], used under the index's writer mutex) owns the shards; the
//! reader side is a [`View`], the shards' slot arrays, published by the index in one
//! `ArcSwap` so a check costs one atomic load however many tables it reads. Writers
//! follow two rules that make torn reads impossible without a reader-side lock:
//! - a slot's key is written once per slot array: `value`, `lo`, `hi`, then its one-byte
//!   tag with release ordering; a reader that sees the tag (acquire) sees the key and
//!   value written before it. Removed entries keep their key with value 0 (a tombstone)
//!   and are never reused for another key;
//! - tags (7 bits of the hash with the high bit set; 0 = empty) live in their own
//!   array in groups of eight, one `AtomicU64` per group, compared eight at a time
//!   (SWAR); probing moves group by group, so a miss usually reads one word, and the
//!   tags stay cache-resident far longer than the slots (1 byte instead of 24 per slot);
//! - when live entries and tombstones fill 80% of a shard, the writer copies the live
//!   entries into a fresh array sized for ~56% load and the index publishes a new view.
//!   Readers still on the old array finish there; it is freed when the last one leaves.
//!   A copy touches one shard (1/256 of the jti table), so no writer pauses for long.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes per slot: two key halves, a value and a tag.
pub(crate) const SLOT_BYTES: usize = 25;
const MIN_SLOTS: usize = 8;

#[derive(Default)]
struct Slot {
    hi: AtomicU64,
    lo: AtomicU64,
    value: AtomicU64,
}

/// One shard's slot array and its tags (eight per word).
pub(crate) struct Slots {
    tags: Box<[AtomicU64]>,
    slots: Box<[Slot]>,
}

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Bytes of `word` that may equal `tag`, as high bits (false positives possible,
/// never false negatives: every candidate is checked against the full key).
#[inline]
fn matches(word: u64, tag: u8) -> u64 {
    let x = word ^ (LOW * tag as u64);
    x.wrapping_sub(LOW) & !x & HIGH
}

/// Empty bytes of `word` as high bits (exact: every tag has its high bit set).
#[inline]
fn empties(word: u64) -> u64 {
    !word & HIGH
}

impl Slots {
    fn with_len(len: usize) -> Arc<Self> {
        let groups = len.div_ceil(8).max(1);
        let mut v = Vec::with_capacity(groups * 8);
        v.resize_with(groups * 8, Slot::default);
        let mut t = Vec::with_capacity(groups);
        t.resize_with(groups, AtomicU64::default);
        Arc::new(Slots { tags: t.into_boxed_slice(), slots: v.into_boxed_slice() })
    }

    fn groups(&self) -> usize {
        self.tags.len()
    }

    #[inline]
    fn start(&self, h: u64) -> usize {
        ((h as u128 * self.tags.len() as u128) >> 64) as usize
    }

    /// Finds `key` from its hash: the slot index if present (live or tombstone).
    #[inline]
    fn find(&self, h: u64, hi: u64, lo: u64, order: Ordering) -> Option<usize> {
        let want = tag(h);
        let groups = self.groups();
        let mut g = self.start(h);
        loop {
            let word = self.tags[g].load(order);
            let mut m = matches(word, want);
            while m != 0 {
                let i = g * 8 + (m.trailing_zeros() / 8) as usize;
                let s = &self.slots[i];
                if s.hi.load(Ordering::Relaxed) == hi && s.lo.load(Ordering::Relaxed) == lo {
                    return Some(i);
                }
                m &= m - 1;
            }
            if empties(word) != 0 {
                return None;
            }
            g += 1;
            if g == groups {
                g = 0;
            }
        }
    }

    /// Writes a new key into the first empty slot of its probe sequence: key and value
    /// first, the tag last (release). Only the writer calls this.
    fn insert(&self, h: u64, hi: u64, lo: u64, value: u64) {
        let groups = self.groups();
        let mut g = self.start(h);
        loop {
            let word = self.tags[g].load(Ordering::Relaxed);
            let e = empties(word);
            if e != 0 {
                let b = e.trailing_zeros() / 8;
                let s = &self.slots[g * 8 + b as usize];
                s.value.store(value, Ordering::Relaxed);
                s.lo.store(lo, Ordering::Relaxed);
                s.hi.store(hi, Ordering::Relaxed);
                self.tags[g].store(word | ((tag(h) as u64) << (b * 8)), Ordering::Release);
                return;
            }
            g += 1;
            if g == groups {
                g = 0;
            }
        }
    }

    fn is_filled(&self, i: usize) -> bool {
        (self.tags[i / 8].load(Ordering::Relaxed) >> ((i % 8) * 8)) & 0x80 != 0
    }
}

/// What readers see of a table: its shards' slot arrays.
#[derive(Clone)]
pub(crate) struct View {
    shards: Box<[Arc<Slots>]>,
    mask: u64,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    live: usize,
    used: usize,
    /// Where the incremental sweep of this shard resumes.
    cursor: usize,
}

/// The writer side of a table.
pub(crate) struct Table {
    view: View,
    counts: Vec<Counts>,
    /// Whether a shard's array was replaced since the last [`Table::take_changed`].
    changed: bool,
}

/// Makes a key usable: the high half must be non-zero, since 0 marks an empty slot.
#[inline]
pub(crate) fn normalize(key: u128) -> (u64, u64) {
    let hi = (key >> 64) as u64;
    let lo = key as u64;
    (if hi == 0 { 0x8000_0000_0000_0000 } else { hi }, lo)
}

/// Mixes both key halves into one well-spread 64-bit hash (two folded multiplies, as
/// wyhash does): every bit of the key reaches every bit of the hash. Keys are already
/// random (UUID bits) or keyed hashes, so this only has to spread, not to resist.
#[inline]
fn mix(hi: u64, lo: u64) -> u64 {
    #[inline]
    fn fold(a: u64, b: u64) -> u64 {
        let m = a as u128 * b as u128;
        (m as u64) ^ ((m >> 64) as u64)
    }
    fold(fold(lo ^ 0xa076_1d64_78bd_642f, hi ^ 0xe703_7ed1_a0b4_28db), 0x8ebc_6af0_9c88_c6e3)
}

/// 7 bits of the hash not used to pick the shard or (mostly) the slot; never 0.
#[inline]
fn tag(h: u64) -> u8 {
    ((h >> 20) as u8) | 0x80
}

impl View {
    /// The value for `key`, if live. Lock-free, allocation-free.
    #[inline]
    pub(crate) fn get(&self, key: (u64, u64)) -> Option<u64> {
        let (hi, lo) = key;
        let h = mix(hi, lo);
        // The low bits pick the shard, the high bits the group: independent.
        let arr = &self.shards[(h & self.mask) as usize];
        let i = arr.find(h, hi, lo, Ordering::Acquire)?;
        let v = arr.slots[i].value.load(Ordering::Acquire);
        (v != 0).then_some(v)
    }
}

impl Table {
    /// A table with `shards` shards (rounded up to a power of two).
    pub(crate) fn new(shards: usize) -> Self {
        let shards = shards.next_power_of_two();
        Table {
            view: View { shards: (0..shards).map(|_| Slots::with_len(MIN_SLOTS)).collect(), mask: shards as u64 - 1 },
            counts: vec![Counts::default(); shards],
            changed: true,
        }
    }

    /// The readers' view, current.
    pub(crate) fn view(&self) -> View {
        self.view.clone()
    }

    /// Whether a shard array was replaced since the last call (the view must then be
    /// republished).
    pub(crate) fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Sets `key` to `value` (non-zero) with `merge(old, new)` deciding the stored value
    /// when the key is live. Returns whether the key was newly live.
    pub(crate) fn upsert(&mut self, key: (u64, u64), value: u64, merge: impl Fn(u64, u64) -> u64) -> bool {
        debug_assert!(value != 0);
        let (hi, lo) = key;
        let h = mix(hi, lo);
        let shard = (h & self.view.mask) as usize;
        let slots = Arc::clone(&self.view.shards[shard]);
        if let Some(i) = slots.find(h, hi, lo, Ordering::Relaxed) {
            let s = &slots.slots[i];
            let old = s.value.load(Ordering::Relaxed);
            if old == 0 {
                s.value.store(value, Ordering::Release);
                self.counts[shard].live += 1;
                return true;
            }
            s.value.store(merge(old, value), Ordering::Release);
            return false;
        }
        // A new key: make room first if the array would pass 80% use.
        let counts = &mut self.counts[shard];
        let slots = if (counts.used + 1) * 5 > slots.slots.len() * 4 {
            let fresh = rebuild(&slots, counts.live + 1);
            self.view.shards[shard] = Arc::clone(&fresh);
            self.changed = true;
            counts.used = counts.live;
            counts.cursor = 0;
            fresh
        } else {
            slots
        };
        slots.insert(h, hi, lo, value);
        counts.live += 1;
        counts.used += 1;
        true
    }

    /// Removes `key`. Returns whether a live entry was removed.
    pub(crate) fn remove(&mut self, key: (u64, u64)) -> bool {
        let (hi, lo) = key;
        let h = mix(hi, lo);
        let shard = (h & self.view.mask) as usize;
        let slots = &self.view.shards[shard];
        let Some(i) = slots.find(h, hi, lo, Ordering::Relaxed) else { return false };
        let s = &slots.slots[i];
        if s.value.load(Ordering::Relaxed) == 0 {
            return false;
        }
        s.value.store(0, Ordering::Release);
        self.counts[shard].live -= 1;
        true
    }

    /// Sweeps up to `budget` slots, shard by shard from where the last sweep stopped,
    /// removing entries for which `expired(value)` holds. A shard that is mostly
    /// tombstones is compacted. Returns (entries removed, slots visited).
    pub(crate) fn sweep(
        &mut self,
        budget: usize,
        expired: impl Fn(u64) -> bool,
        shard_cursor: &mut usize,
    ) -> (usize, usize) {
        let (mut removed, mut visited, mut shards_seen) = (0, 0, 0);
        let n = self.counts.len();
        while visited < budget && shards_seen <= n {
            let shard = *shard_cursor % n;
            let slots = Arc::clone(&self.view.shards[shard]);
            let counts = &mut self.counts[shard];
            let len = slots.slots.len();
            while counts.cursor < len && visited < budget {
                let s = &slots.slots[counts.cursor];
                let v = s.value.load(Ordering::Relaxed);
                if v != 0 && slots.is_filled(counts.cursor) && expired(v) {
                    s.value.store(0, Ordering::Release);
                    counts.live -= 1;
                    removed += 1;
                }
                counts.cursor += 1;
                visited += 1;
            }
            if counts.cursor >= len {
                counts.cursor = 0;
                // Compact when tombstones are most of what is used.
                if counts.used > MIN_SLOTS && counts.live * 4 < counts.used {
                    self.view.shards[shard] = rebuild(&slots, counts.live);
                    counts.used = counts.live;
                    self.changed = true;
                }
                *shard_cursor = (shard + 1) % n;
                shards_seen += 1;
            }
        }
        (removed, visited)
    }

    /// Live entries.
    pub(crate) fn len(&self) -> usize {
        self.counts.iter().map(|c| c.live).sum()
    }

    /// Total slots across shards.
    pub(crate) fn slots(&self) -> usize {
        self.view.shards.iter().map(|s| s.slots.len()).sum()
    }

    /// Bytes held by the slot arrays and shard bookkeeping.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots() * SLOT_BYTES
            + self.counts.len() * (std::mem::size_of::<Counts>() + 2 * std::mem::size_of::<Arc<Slots>>())
    }
}

/// Copies the live entries into an array sized for ~56% load.
fn rebuild(old: &Slots, live: usize) -> Arc<Slots> {
    let fresh = Slots::with_len((live * 16 / 9).max(MIN_SLOTS));
    for (i, s) in old.slots.iter().enumerate() {
        let v = s.value.load(Ordering::Relaxed);
        if v == 0 || !old.is_filled(i) {
            continue;
        }
        let (hi, lo) = (s.hi.load(Ordering::Relaxed), s.lo.load(Ordering::Relaxed));
        fresh.insert(mix(hi, lo), hi, lo, v);
    }
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_and_regrow() {
        let mut t = Table::new(4);
        for k in 1..10_000u64 {
            assert!(t.upsert((k, k * 7), k, |_, n| n));
        }
        assert_eq!(t.len(), 9_999);
        let v = t.view();
        for k in 1..10_000u64 {
            assert_eq!(v.get((k, k * 7)), Some(k));
        }
        assert_eq!(v.get((10_001, 1)), None);
        for k in (1..10_000u64).step_by(2) {
            assert!(t.remove((k, k * 7)));
        }
        let v = t.view();
        assert_eq!(v.get((1, 7)), None);
        assert_eq!(v.get((2, 14)), Some(2));
        // a removed key comes back in its own slot
        assert!(t.upsert((1, 7), 5, |_, n| n));
        assert_eq!(t.view().get((1, 7)), Some(5));
    }

    #[test]
    fn an_old_view_stays_readable_after_a_rebuild() {
        let mut t = Table::new(1);
        t.upsert((1, 1), 11, |_, n| n);
        let old = t.view();
        for k in 2..1_000u64 {
            t.upsert((k, k), k, |_, n| n);
        }
        assert!(t.take_changed());
        assert_eq!(old.get((1, 1)), Some(11));
        assert_eq!(t.view().get((999, 999)), Some(999));
    }

    #[test]
    fn sweep_removes_expired_and_compacts() {
        let mut t = Table::new(2);
        for k in 1..5_000u64 {
            t.upsert((k, 0), k, |_, n| n);
        }
        let before = t.slots();
        let mut cursor = 0;
        let mut total = 0;
        for _ in 0..100 {
            total += t.sweep(500, |v| v < 4_900, &mut cursor).0;
        }
        assert_eq!(total, 4_899);
        assert_eq!(t.len(), 100);
        assert!(t.slots() < before / 4, "{} vs {}", t.slots(), before);
        let v = t.view();
        for k in 4_900..5_000u64 {
            assert_eq!(v.get((k, 0)), Some(k));
        }
    }
}
