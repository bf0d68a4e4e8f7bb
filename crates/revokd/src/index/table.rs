//! A sharded open-addressing hash table from 128-bit keys to non-zero `u64` values,
//! read without locks or allocation.
//!
//! Readers load the shard's current slot array through an [`ArcSwap`] and probe it with
//! atomic loads. Writers (one at a time per shard, under the shard's mutex) follow two
//! rules that make torn reads impossible without any reader-side lock:
//! - a slot's key is written once per slot array: `value`, then `lo`, then `hi` with
//!   release ordering; a reader that sees `hi` (acquire) sees the `lo` and `value`
//!   written before it. Removed entries keep their key with value 0 (a tombstone) and
//!   are never reused for another key;
//! - when live entries and tombstones fill 80% of the slots, the writer copies the live
//!   entries into a fresh array sized for ~56% load and swaps it in. Readers still on
//!   the old array finish there; it is freed when the last one leaves. A copy touches
//!   one shard (1/256 of the table), so no writer ever pauses for long.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use parking_lot::Mutex;

/// Bytes per slot: two key halves and a value.
pub(crate) const SLOT_BYTES: usize = 24;
const MIN_SLOTS: usize = 8;

#[derive(Default)]
struct Slot {
    hi: AtomicU64,
    lo: AtomicU64,
    value: AtomicU64,
}

struct Slots {
    slots: Box<[Slot]>,
}

impl Slots {
    fn with_len(len: usize) -> Self {
        let mut v = Vec::with_capacity(len);
        v.resize_with(len, Slot::default);
        Slots { slots: v.into_boxed_slice() }
    }

    #[inline]
    fn start(&self, h: u64) -> usize {
        ((h as u128 * self.slots.len() as u128) >> 64) as usize
    }
}

#[derive(Default)]
struct Counts {
    live: usize,
    used: usize,
    /// Where the incremental sweep of this shard resumes.
    cursor: usize,
}

struct Shard {
    slots: ArcSwap<Slots>,
    counts: Mutex<Counts>,
}

/// The table. Keys must have a non-zero high half (see [`normalize`]); values are
/// non-zero (0 marks a removed entry).
pub(crate) struct Table {
    shards: Box<[Shard]>,
    shard_mask: u64,
}

/// Makes a key usable: the high half must be non-zero, since 0 marks an empty slot.
#[inline]
pub(crate) fn normalize(key: u128) -> (u64, u64) {
    let hi = (key >> 64) as u64;
    let lo = key as u64;
    (if hi == 0 { 0x8000_0000_0000_0000 } else { hi }, lo)
}

#[inline]
fn mix(hi: u64, lo: u64) -> u64 {
    let x = (lo ^ hi.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 31)
}

impl Table {
    /// A table with `shards` shards (a power of two).
    pub(crate) fn new(shards: usize) -> Self {
        let shards = shards.next_power_of_two();
        let v: Vec<Shard> = (0..shards)
            .map(|_| Shard {
                slots: ArcSwap::from_pointee(Slots::with_len(MIN_SLOTS)),
                counts: Mutex::new(Counts::default()),
            })
            .collect();
        Table { shards: v.into_boxed_slice(), shard_mask: shards as u64 - 1 }
    }

    #[inline]
    fn shard(&self, h: u64) -> &Shard {
        // The low bits pick the shard, the high bits the slot: independent.
        &self.shards[(h & self.shard_mask) as usize]
    }

    /// The value for `key`, if live. Lock-free, allocation-free.
    #[inline]
    pub(crate) fn get(&self, key: (u64, u64)) -> Option<u64> {
        let (hi, lo) = key;
        let h = mix(hi, lo);
        let guard = self.shard(h).slots.load();
        let slots = &guard.slots;
        let len = slots.len();
        let mut i = guard.start(h);
        loop {
            let s = &slots[i];
            let shi = s.hi.load(Ordering::Acquire);
            if shi == 0 {
                return None;
            }
            if shi == hi && s.lo.load(Ordering::Relaxed) == lo {
                let v = s.value.load(Ordering::Acquire);
                return (v != 0).then_some(v);
            }
            i += 1;
            if i == len {
                i = 0;
            }
        }
    }

    /// Sets `key` to `value` (non-zero) with `merge(old, new)` deciding the stored value
    /// when the key is live. Returns whether the key was newly live.
    pub(crate) fn upsert(&self, key: (u64, u64), value: u64, merge: impl Fn(u64, u64) -> u64) -> bool {
        debug_assert!(value != 0);
        let (hi, lo) = key;
        let h = mix(hi, lo);
        let shard = self.shard(h);
        let mut counts = shard.counts.lock();
        let slots = shard.slots.load_full();
        let mut i = slots.start(h);
        loop {
            let s = &slots.slots[i];
            let shi = s.hi.load(Ordering::Relaxed);
            if shi == 0 {
                break;
            }
            if shi == hi && s.lo.load(Ordering::Relaxed) == lo {
                let old = s.value.load(Ordering::Relaxed);
                if old == 0 {
                    s.value.store(value, Ordering::Release);
                    counts.live += 1;
                    return true;
                }
                s.value.store(merge(old, value), Ordering::Release);
                return false;
            }
            i = (i + 1) % slots.slots.len();
        }
        // A new key: make room first if the array would pass 80% use.
        let slots = if (counts.used + 1) * 5 > slots.slots.len() * 4 {
            let fresh = Self::rebuild(&slots, counts.live + 1);
            shard.slots.store(Arc::clone(&fresh));
            counts.used = counts.live;
            counts.cursor = 0;
            fresh
        } else {
            slots
        };
        let mut i = slots.start(h);
        loop {
            let s = &slots.slots[i];
            if s.hi.load(Ordering::Relaxed) == 0 {
                s.value.store(value, Ordering::Relaxed);
                s.lo.store(lo, Ordering::Relaxed);
                s.hi.store(hi, Ordering::Release);
                counts.live += 1;
                counts.used += 1;
                return true;
            }
            i = (i + 1) % slots.slots.len();
        }
    }

    /// Copies the live entries into an array sized for ~56% load.
    fn rebuild(old: &Slots, live: usize) -> Arc<Slots> {
        let len = (live * 16 / 9).max(MIN_SLOTS);
        let fresh = Slots::with_len(len);
        for s in old.slots.iter() {
            let v = s.value.load(Ordering::Relaxed);
            let hi = s.hi.load(Ordering::Relaxed);
            if v == 0 || hi == 0 {
                continue;
            }
            let lo = s.lo.load(Ordering::Relaxed);
            let mut i = fresh.start(mix(hi, lo));
            while fresh.slots[i].hi.load(Ordering::Relaxed) != 0 {
                i = (i + 1) % len;
            }
            let d = &fresh.slots[i];
            d.value.store(v, Ordering::Relaxed);
            d.lo.store(lo, Ordering::Relaxed);
            d.hi.store(hi, Ordering::Relaxed);
        }
        Arc::new(fresh)
    }

    /// Removes `key`, or with `only_if`, removes it only when its value satisfies it.
    /// Returns whether a live entry was removed.
    pub(crate) fn remove(&self, key: (u64, u64), only_if: impl Fn(u64) -> bool) -> bool {
        let (hi, lo) = key;
        let h = mix(hi, lo);
        let shard = self.shard(h);
        let mut counts = shard.counts.lock();
        let slots = shard.slots.load();
        let mut i = slots.start(h);
        loop {
            let s = &slots.slots[i];
            let shi = s.hi.load(Ordering::Relaxed);
            if shi == 0 {
                return false;
            }
            if shi == hi && s.lo.load(Ordering::Relaxed) == lo {
                let v = s.value.load(Ordering::Relaxed);
                if v != 0 && only_if(v) {
                    s.value.store(0, Ordering::Release);
                    counts.live -= 1;
                    return true;
                }
                return false;
            }
            i = (i + 1) % slots.slots.len();
        }
    }

    /// Sweeps up to `budget` slots, shard by shard from where the last sweep stopped,
    /// removing entries for which `expired(value)` holds. A shard whose array is mostly
    /// tombstones is compacted. Returns (entries removed, slots visited).
    pub(crate) fn sweep(
        &self,
        budget: usize,
        expired: impl Fn(u64) -> bool,
        start_shard: &mut usize,
    ) -> (usize, usize) {
        let mut removed = 0;
        let mut visited = 0;
        let mut shards_seen = 0;
        while visited < budget && shards_seen <= self.shards.len() {
            let shard = &self.shards[*start_shard % self.shards.len()];
            let mut counts = shard.counts.lock();
            let slots = shard.slots.load_full();
            let len = slots.slots.len();
            while counts.cursor < len && visited < budget {
                let s = &slots.slots[counts.cursor];
                let v = s.value.load(Ordering::Relaxed);
                if v != 0 && s.hi.load(Ordering::Relaxed) != 0 && expired(v) {
                    s.value.store(0, Ordering::Release);
                    counts.live -= 1;
                    removed += 1;
                }
                counts.cursor += 1;
                visited += 1;
            }
            if counts.cursor >= len {
                counts.cursor = 0;
                // Compact when tombstones are most of what is used and the array is
                // far larger than the live entries need.
                if counts.used > MIN_SLOTS && counts.live * 4 < counts.used {
                    let fresh = Self::rebuild(&slots, counts.live);
                    shard.slots.store(fresh);
                    counts.used = counts.live;
                }
                *start_shard = (*start_shard + 1) % self.shards.len();
                shards_seen += 1;
            }
        }
        (removed, visited)
    }

    /// Live entries.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.counts.lock().live).sum()
    }

    /// Total slots across shards.
    pub(crate) fn slots(&self) -> usize {
        self.shards.iter().map(|s| s.slots.load().slots.len()).sum()
    }

    /// Bytes held by the slot arrays and shard headers.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots() * SLOT_BYTES + self.shards.len() * std::mem::size_of::<Shard>()
    }

    /// Removes everything.
    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            let mut counts = shard.counts.lock();
            shard.slots.store(Arc::new(Slots::with_len(MIN_SLOTS)));
            *counts = Counts::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove_and_regrow() {
        let t = Table::new(4);
        for k in 1..10_000u64 {
            assert!(t.upsert((k, k * 7), k, |_, n| n));
        }
        assert_eq!(t.len(), 9_999);
        for k in 1..10_000u64 {
            assert_eq!(t.get((k, k * 7)), Some(k));
        }
        assert_eq!(t.get((10_001, 1)), None);
        for k in (1..10_000u64).step_by(2) {
            assert!(t.remove((k, k * 7), |_| true));
        }
        assert_eq!(t.get((1, 7)), None);
        assert_eq!(t.get((2, 14)), Some(2));
        // a removed key comes back in its own slot
        assert!(t.upsert((1, 7), 5, |_, n| n));
        assert_eq!(t.get((1, 7)), Some(5));
    }

    #[test]
    fn sweep_removes_expired_and_compacts() {
        let t = Table::new(2);
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
        for k in 4_900..5_000u64 {
            assert_eq!(t.get((k, 0)), Some(k));
        }
    }
}
