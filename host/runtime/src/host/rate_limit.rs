//! `rate-limit`: token buckets in memory, private to each installation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use switchboard_core::KeyedBuckets;

use crate::bindings::channel::switchboard::plugin::rate_limit::Host;
use crate::host::HostState;

/// The most keys one installation may track. A plugin picks its keys, so
/// without a cap a stream of new client addresses would grow memory
/// without end.
const MAX_KEYS: usize = 10_000;

/// The longest key accepted; longer keys are cut, which at worst merges
/// two clients into one allowance.
const MAX_KEY_LEN: usize = 256;

/// An installation: (team, plugin).
type InstallationKey = (Arc<str>, Arc<str>);

/// Every installation's buckets.
#[derive(Default)]
pub(crate) struct RateLimits {
    installations: Mutex<HashMap<InstallationKey, KeyedBuckets<String>>>,
}

impl RateLimits {
    /// Takes one of `limit` allowances per `window` seconds for `key`;
    /// `None` when allowed, else whole seconds to wait (at least 1).
    pub(crate) fn take(
        &self,
        installation: InstallationKey,
        key: &str,
        limit: u32,
        window: u32,
        now: Instant,
    ) -> Option<u32> {
        if limit == 0 || window == 0 {
            return None;
        }
        let (burst, rate) = (f64::from(limit), f64::from(limit) / f64::from(window));
        let mut key = key;
        if key.len() > MAX_KEY_LEN {
            let mut cut = MAX_KEY_LEN;
            while !key.is_char_boundary(cut) {
                cut -= 1;
            }
            key = &key[..cut];
        }
        let mut all = self.installations.lock().unwrap_or_else(PoisonError::into_inner);
        let buckets = all.entry(installation).or_insert_with(|| KeyedBuckets::new(MAX_KEYS));
        match buckets.take(key.to_owned(), rate, burst, now) {
            Ok(()) => None,
            Err(wait) => Some(u32::try_from(wait.as_secs().saturating_add(1)).unwrap_or(u32::MAX)),
        }
    }
}

impl Host for HostState {
    async fn take(&mut self, key: String, limit: u32, window_seconds: u32) -> Option<u32> {
        let installation = (Arc::clone(&self.scope.team), Arc::clone(&self.scope.plugin));
        self.services.rate_limits.take(installation, &key, limit, window_seconds, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(team: &str) -> InstallationKey {
        (team.into(), "web-form".into())
    }

    #[test]
    fn limits_per_key_and_installation() {
        let limits = RateLimits::default();
        let t0 = Instant::now();
        assert_eq!(limits.take(at("a"), "1.2.3.4", 2, 60, t0), None);
        assert_eq!(limits.take(at("a"), "1.2.3.4", 2, 60, t0), None);
        assert_eq!(limits.take(at("a"), "1.2.3.4", 2, 60, t0), Some(31));
        assert_eq!(limits.take(at("a"), "5.6.7.8", 2, 60, t0), None, "another client");
        assert_eq!(limits.take(at("b"), "1.2.3.4", 2, 60, t0), None, "another team");
        assert_eq!(limits.take(at("a"), "1.2.3.4", 2, 60, t0 + Duration::from_secs(30)), None, "refilled one");
        assert_eq!(limits.take(at("a"), "1.2.3.4", 0, 60, t0), None, "0 allows everything");
    }

    #[test]
    fn keeps_a_bounded_number_of_keys() {
        let limits = RateLimits::default();
        let t0 = Instant::now();
        for i in 0..MAX_KEYS + 50 {
            limits.take(at("a"), &format!("client-{i}"), 1, 600, t0);
        }
        let all = limits.installations.lock().expect("lock");
        let kept = all[&at("a")].len();
        assert!((MAX_KEYS * 9 / 10..=MAX_KEYS).contains(&kept), "{kept} keys kept");
    }
}
