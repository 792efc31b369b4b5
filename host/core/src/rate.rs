//! The token bucket behind every rate limit, and the bounded map of
//! buckets by key that public routes (per client) and the `rate-limit`
//! import (per plugin key) both use.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Allowances that refill evenly: `burst` at most, `rate` per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(burst: f64, now: Instant) -> Self {
        TokenBucket { tokens: burst, at: now }
    }

    /// Takes one allowance, or says how long until one is there.
    pub fn take(&mut self, rate: f64, burst: f64, now: Instant) -> Result<(), Duration> {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    /// Whether the bucket is full again by `now`, so forgetting it loses
    /// nothing.
    pub fn is_full(&self, rate: f64, burst: f64, now: Instant) -> bool {
        self.tokens + now.saturating_duration_since(self.at).as_secs_f64() * rate >= burst
    }
}

/// One key's bucket with the limit it was last taken under, so pruning
/// knows when it has refilled.
#[derive(Debug, Clone, Copy)]
struct Entry {
    bucket: TokenBucket,
    rate: f64,
    burst: f64,
}

impl Entry {
    /// How long until this key could take an allowance; trying a copy
    /// measures the wait without using it.
    fn wait(&self, now: Instant) -> Duration {
        let mut bucket = self.bucket;
        bucket.take(self.rate, self.burst, now).err().unwrap_or_default()
    }
}

/// Token buckets by key, at most `cap` of them. Keys come from outside
/// (client addresses, a plugin's choice), so the map is bounded: when it is
/// full, buckets that have refilled are forgotten, which loses nothing, and
/// if none has, the tenth closest to full go. Either way the next clean-up
/// is a tenth of `cap` inserts away, so each call costs O(1) amortized.
#[derive(Debug, Clone)]
pub struct KeyedBuckets<K> {
    entries: HashMap<K, Entry>,
    cap: usize,
}

impl<K: Hash + Eq> KeyedBuckets<K> {
    /// An empty map that keeps at most `cap` keys (at least 1).
    pub fn new(cap: usize) -> Self {
        KeyedBuckets { entries: HashMap::new(), cap: cap.max(1) }
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Takes one allowance for `key` under a limit of `rate` per second and
    /// bursts of `burst`, or says how long until one is there. A key's
    /// limit may change between calls; the latest applies.
    pub fn take(&mut self, key: K, rate: f64, burst: f64, now: Instant) -> Result<(), Duration> {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.cap {
            self.make_room(now);
        }
        let entry =
            self.entries.entry(key).or_insert_with(|| Entry { bucket: TokenBucket::full(burst, now), rate, burst });
        entry.rate = rate;
        entry.burst = burst;
        entry.bucket.take(rate, burst, now)
    }

    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, e| !e.bucket.is_full(e.rate, e.burst, now));
        if self.entries.len() < self.cap {
            return;
        }
        // Every key is inside its window: forget the tenth whose buckets
        // are closest to full, which loses the least.
        let drop = (self.cap / 10).max(1);
        let mut waits: Vec<Duration> = self.entries.values().map(|e| e.wait(now)).collect();
        let (_, cutoff, _) = waits.select_nth_unstable(drop - 1);
        let cutoff = *cutoff;
        let mut dropped = 0;
        self.entries.retain(|_, e| {
            let keep = e.wait(now) > cutoff || dropped >= drop;
            if !keep {
                dropped += 1;
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_apart_and_limits_can_change() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::new(10);
        assert!(buckets.take("a", 1.0, 1.0, t0).is_ok());
        assert_eq!(buckets.take("a", 1.0, 1.0, t0), Err(Duration::from_secs(1)));
        assert!(buckets.take("b", 1.0, 1.0, t0).is_ok(), "another key");
        assert!(buckets.take("a", 2.0, 1.0, t0 + Duration::from_millis(500)).is_ok(), "the faster limit applies");
    }

    #[test]
    fn stays_bounded_and_forgets_the_least_used_first() {
        let t0 = Instant::now();
        let mut buckets = KeyedBuckets::new(100);
        // One heavy client, then a flood of new ones that never refill.
        for _ in 0..5 {
            let _ = buckets.take(0u32, 1.0 / 600.0, 5.0, t0);
        }
        for key in 1..10_000u32 {
            let _ = buckets.take(key, 1.0 / 600.0, 5.0, t0);
            assert!(buckets.len() <= 100);
        }
        assert!(buckets.take(0, 1.0 / 600.0, 5.0, t0).is_err(), "the heavy client is still limited");
    }

    #[test]
    fn bursts_then_refills_evenly() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(2.0, t0);
        assert!(b.take(1.0, 2.0, t0).is_ok());
        assert!(b.take(1.0, 2.0, t0).is_ok());
        assert_eq!(b.take(1.0, 2.0, t0), Err(Duration::from_secs(1)));
        assert!(!b.is_full(1.0, 2.0, t0 + Duration::from_millis(1500)));
        assert!(b.take(1.0, 2.0, t0 + Duration::from_millis(1500)).is_ok());
        assert!(b.is_full(1.0, 2.0, t0 + Duration::from_secs(4)));
    }
}
