//! A token bucket per client address and installation, for public routes.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use switchboard_core::{Installation, KeyedBuckets, PublicLimits};

/// How many (client, installation) pairs are tracked before idle ones are
/// forgotten.
const MAX_CLIENTS: usize = 10_000;

/// The route key every unknown public route shares. A hash of an existing
/// (team, plugin) pair landing on it would only share that bucket.
const UNKNOWN_ROUTE: u64 = u64::MAX;

/// Allows each client a number of requests per second on each plugin's
/// public route: the installation's own limits, or the server's defaults.
pub struct RateLimiter {
    rate: u32,
    burst: u32,
    /// Keyed by client and a hash of the installation, so a request
    /// allocates nothing to find its bucket.
    buckets: Mutex<KeyedBuckets<(IpAddr, u64)>>,
}

impl RateLimiter {
    /// A limiter whose defaults are `rate` per second (0: no limit) with
    /// bursts of `burst`.
    pub fn new(rate: u32, burst: u32) -> Self {
        RateLimiter { rate, burst: burst.max(1), buckets: Mutex::new(KeyedBuckets::new(MAX_CLIENTS)) }
    }

    /// The rate and burst that apply under `limits`. An installation that
    /// sets a rate without a burst may burst to twice its rate.
    pub fn effective(&self, limits: &PublicLimits) -> (u32, u32) {
        match (limits.rate, limits.burst) {
            (None, None) => (self.rate, self.burst),
            (rate, burst) => {
                let rate = rate.unwrap_or(self.rate);
                (rate, burst.unwrap_or_else(|| rate.saturating_mul(2).max(1)))
            }
        }
    }

    /// Takes a token for `client` from its bucket for routes that do not
    /// exist, at the server's default rate, or says how long to wait for
    /// one: probing for teams and plugins is limited like using them.
    pub fn check_unknown(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate == 0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.take((client, UNKNOWN_ROUTE), f64::from(self.rate), f64::from(self.burst), now)
    }

    /// Takes a token for `client` on `installation`'s route, or says how
    /// long to wait for one.
    pub fn check(&self, client: IpAddr, installation: &Installation, now: Instant) -> Result<(), Duration> {
        let (rate, burst) = self.effective(&installation.public_limits);
        if rate == 0 {
            return Ok(());
        }
        // A fixed hasher: the key only has to tell installations apart, and
        // team and plugin ids are chosen by admins, not by callers.
        let route = BuildHasherDefault::<DefaultHasher>::default().hash_one((&installation.team, &installation.plugin));
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.take((client, route), f64::from(rate), f64::from(burst), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installation(plugin: &str, public_limits: PublicLimits) -> Installation {
        Installation {
            team: "ops".into(),
            plugin: plugin.into(),
            settings: "{}".into(),
            secrets: Default::default(),
            grants: Vec::new(),
            declined: Vec::new(),
            limits: Default::default(),
            public_limits,
            enabled_at: switchboard_core::Timestamp::UNIX_EPOCH,
            updated_at: switchboard_core::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn bursts_then_refills_per_client_and_route() {
        let limiter = RateLimiter::new(10, 3);
        let form = installation("form", PublicLimits::default());
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(a, &form, t0).is_ok());
        }
        let wait = limiter.check(a, &form, t0).expect_err("burst used up");
        assert!(wait <= Duration::from_millis(100));
        assert!(limiter.check(b, &form, t0).is_ok(), "clients are apart");
        assert!(limiter.check(a, &installation("hook", PublicLimits::default()), t0).is_ok(), "routes are apart");
        assert!(limiter.check(a, &form, t0 + Duration::from_millis(150)).is_ok(), "refilled");
        assert!(RateLimiter::new(0, 0).check(a, &form, t0).is_ok());
    }

    #[test]
    fn an_installation_sets_its_own_rate_and_burst() {
        let limiter = RateLimiter::new(10, 3);
        let t0 = Instant::now();
        let a = IpAddr::from([10, 0, 0, 1]);
        let hook = installation("hook", PublicLimits { rate: Some(100), ..PublicLimits::default() });
        assert_eq!(limiter.effective(&hook.public_limits), (100, 200));
        assert_eq!((0..200).filter(|_| limiter.check(a, &hook, t0).is_ok()).count(), 200);
        assert!(limiter.check(a, &hook, t0).is_err(), "the burst of 200 is used up");
        let open = installation("open", PublicLimits { rate: Some(0), ..PublicLimits::default() });
        assert!((0..1000).all(|_| limiter.check(a, &open, t0).is_ok()), "0 means no limit");
        let bursty = PublicLimits { burst: Some(50), ..PublicLimits::default() };
        assert_eq!(limiter.effective(&bursty), (10, 50));
    }

    #[test]
    fn unknown_routes_share_one_bucket_apart_from_real_ones() {
        let limiter = RateLimiter::new(10, 3);
        let t0 = Instant::now();
        let (a, b) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        assert_eq!((0..5).filter(|_| limiter.check_unknown(a, t0).is_ok()).count(), 3);
        assert!(limiter.check(a, &installation("form", PublicLimits::default()), t0).is_ok());
        assert!(limiter.check_unknown(b, t0).is_ok(), "another client has its own bucket");
        assert!(RateLimiter::new(0, 0).check_unknown(a, t0).is_ok(), "no limit set, none applied");
    }
}
