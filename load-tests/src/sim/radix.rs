//! A radix heap: the completion queue of the event loop.
//!
//! A monotone priority queue (Ahuja, Mehlhorn, Orlin and Tarjan, "Faster
//! algorithms for the shortest path problem", 1990): keys pushed are never
//! below the last key popped, which holds for event times (a completion is
//! scheduled at or after the current time, and the current time is at or
//! after the last event popped). Keys are the bits of non-negative `f64`
//! times, which order like the times. An item sits in the bucket of the
//! highest bit where its key differs from the last popped key; a pop takes
//! from bucket 0 (keys equal to it) or, when that is empty, empties the
//! lowest non-empty bucket into lower ones around its minimum. Each item
//! moves a few times at most, with no comparisons between items, so push
//! and pop cost a few nanoseconds where a binary heap of a few hundred
//! items takes eight sift steps each.
//!
//! [`RadixHeap::peek`] must not advance the last key (an arrival processed
//! before the next completion may schedule an earlier one), so the minimum
//! is kept separately: lowered on push, found again after a pop.

/// A min-queue of `(key, value)` with monotone keys (see the module docs).
#[derive(Debug, Clone)]
pub(super) struct RadixHeap {
    /// Bucket `i` holds keys whose highest bit differing from `last` is
    /// bit `i - 1`; bucket 0 keys equal to `last`.
    buckets: Vec<Vec<(u64, u64)>>,
    /// Bit `i` set when bucket `i` is not empty.
    occupied: u128,
    /// The last key popped (0 before any).
    last: u64,
    /// Items held.
    len: usize,
    /// The smallest key held (meaningful when `len > 0`).
    min: u64,
}

impl RadixHeap {
    /// An empty heap.
    pub(super) fn new() -> RadixHeap {
        RadixHeap {
            buckets: vec![Vec::new(); 65],
            occupied: 0,
            last: 0,
            len: 0,
            min: 0,
        }
    }

    /// The bucket of `key` relative to the last key popped.
    #[inline]
    fn bucket(&self, key: u64) -> usize {
        (64 - (key ^ self.last).leading_zeros()) as usize
    }

    /// Adds `value` at `key` (a key below the last popped is taken as the
    /// last popped: the queue never goes back in time).
    #[inline]
    pub(super) fn push(&mut self, key: u64, value: u64) {
        let key = key.max(self.last);
        let b = self.bucket(key);
        self.buckets[b].push((key, value));
        self.occupied |= 1 << b;
        if self.len == 0 || key < self.min {
            self.min = key;
        }
        self.len += 1;
    }

    /// The smallest key, if any.
    #[inline]
    pub(super) fn peek(&self) -> Option<u64> {
        (self.len > 0).then_some(self.min)
    }

    /// Removes an item with the smallest key.
    #[inline]
    pub(super) fn pop(&mut self) -> Option<(u64, u64)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = self.occupied.trailing_zeros() as usize;
            let mut items = std::mem::take(&mut self.buckets[i]);
            self.occupied &= !(1 << i);
            // The minimum is in the lowest non-empty bucket; every item of
            // that bucket lands in a lower one around it.
            self.last = self.min;
            for &(k, v) in &items {
                let b = self.bucket(k);
                self.buckets[b].push((k, v));
                self.occupied |= 1 << b;
            }
            items.clear();
            self.buckets[i] = items;
        }
        let item = self.buckets[0].pop();
        if self.buckets[0].is_empty() {
            self.occupied &= !1;
        }
        self.len -= 1;
        if self.len > 0 {
            self.min = if self.buckets[0].is_empty() {
                let i = self.occupied.trailing_zeros() as usize;
                self.buckets[i]
                    .iter()
                    .map(|x| x.0)
                    .min()
                    .unwrap_or(self.last)
            } else {
                self.last
            };
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::RadixHeap;
    use crate::dist::{Dist, rng};
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn pops_in_key_order_like_a_binary_heap() {
        let mut r = rng(5);
        let service = Dist::lognormal(2.0, 30.0).unwrap();
        let gap = Dist::exponential(0.05).unwrap();
        let mut radix = RadixHeap::new();
        let mut reference = BinaryHeap::new();
        let mut now = 0.0f64;
        let mut seq = 0;
        for step in 0..200_000 {
            // Interleave arrivals (pushes at now + service) and pops.
            now += gap.sample(&mut r);
            let next = radix.peek();
            assert_eq!(next, reference.peek().map(|x: &Reverse<(u64, u64)>| x.0.0));
            if next.is_some_and(|k| f64::from_bits(k) <= now) && step % 3 != 0 {
                let got = radix.pop().unwrap();
                let want = reference.pop().unwrap().0;
                assert_eq!(got.0, want.0);
                now = f64::from_bits(got.0).max(now);
            } else {
                let key = (now + service.sample(&mut r)).to_bits();
                seq += 1;
                radix.push(key, seq);
                reference.push(Reverse((key, seq)));
            }
        }
        while let Some(got) = radix.pop() {
            assert_eq!(got.0, reference.pop().unwrap().0.0);
        }
        assert!(reference.is_empty());
        assert_eq!(radix.peek(), None);
    }

    #[test]
    fn equal_keys_and_zero() {
        let mut h = RadixHeap::new();
        for v in 0..5 {
            h.push(0, v);
            h.push(7, v);
        }
        let keys: Vec<u64> = std::iter::from_fn(|| h.pop().map(|x| x.0)).collect();
        assert_eq!(keys, [0, 0, 0, 0, 0, 7, 7, 7, 7, 7]);
    }
}
