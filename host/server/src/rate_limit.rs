//! A token bucket per client address, for public routes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many clients are tracked before idle ones are forgotten.
const PRUNE_AT: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Allows `rate` requests per second per client, with bursts of `burst`.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// A limiter; a `rate` of 0 allows everything.
    pub fn new(rate: u32, burst: u32) -> Self {
        RateLimiter { rate: f64::from(rate), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes a token for `client`, or says how long to wait for one.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= PRUNE_AT {
            // Forget clients whose bucket has refilled: they lose nothing.
            let full_after = Duration::from_secs_f64(self.burst / self.rate);
            buckets.retain(|_, b| now.duration_since(b.at) < full_after);
        }
        let bucket = buckets.entry(client).or_insert(Bucket { tokens: self.burst, at: now });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_per_client() {
        let limiter = RateLimiter::new(10, 3);
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(a, t0).is_ok());
        }
        let wait = limiter.check(a, t0).expect_err("burst used up");
        assert!(wait <= Duration::from_millis(100));
        assert!(limiter.check(b, t0).is_ok(), "clients are apart");
        assert!(limiter.check(a, t0 + Duration::from_millis(150)).is_ok(), "refilled");
        assert!(RateLimiter::new(0, 0).check(a, t0).is_ok());
    }
}
