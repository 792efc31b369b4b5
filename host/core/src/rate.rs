//! The token bucket behind every rate limit: public routes per client, and
//! the limits plugins keep through the `rate-limit` import.

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

#[cfg(test)]
mod tests {
    use super::*;

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
