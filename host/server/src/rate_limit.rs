//! A token bucket per client address, for public routes.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use switchboard_core::KeyedBuckets;

/// How many clients are tracked before idle ones are forgotten.
const MAX_CLIENTS: usize = 10_000;

/// Allows `rate` requests per second per client, with bursts of `burst`.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<KeyedBuckets<IpAddr>>,
}

impl RateLimiter {
    /// A limiter; a `rate` of 0 allows everything.
    pub fn new(rate: u32, burst: u32) -> Self {
        let buckets = Mutex::new(KeyedBuckets::new(MAX_CLIENTS));
        RateLimiter { rate: f64::from(rate), burst: f64::from(burst.max(1)), buckets }
    }

    /// Takes a token for `client`, or says how long to wait for one.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.take(client, self.rate, self.burst, now)
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
