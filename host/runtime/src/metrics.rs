//! Counters per plugin and for compilation, for `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters of one plugin's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PluginStats {
    /// Calls made.
    pub calls: u64,
    /// Calls that failed: trapped, ran out of budget, or returned an error.
    pub errors: u64,
    /// Wall-clock time spent in calls, in microseconds.
    pub busy_us: u64,
}

/// A snapshot of the runtime's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Components compiled by this process.
    pub compiled: u64,
    /// Components loaded from the precompiled cache without compiling.
    pub cache_hits: u64,
    /// Whether the pooling allocator is in use.
    pub pooling: bool,
    /// Calls that found every instance in use and waited for one.
    pub instance_waits: u64,
    /// Calls that waited for an instance in vain and were not started.
    pub instance_refusals: u64,
    /// Per-plugin call counters, by plugin id.
    pub plugins: BTreeMap<String, PluginStats>,
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) compiled: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    instance_waits: AtomicU64,
    instance_refusals: AtomicU64,
    plugins: Mutex<BTreeMap<String, PluginStats>>,
}

impl Metrics {
    /// Records one call.
    pub(crate) fn record(&self, plugin: &str, took: Duration) {
        let mut plugins = self.plugins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = plugins.entry(plugin.to_owned()).or_default();
        entry.calls += 1;
        entry.busy_us += u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    }

    /// Records that a call failed: it trapped, ran out of budget, returned
    /// its own error, or answered with something the host refused.
    pub(crate) fn failed(&self, plugin: &str) {
        let mut plugins = self.plugins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        plugins.entry(plugin.to_owned()).or_default().errors += 1;
    }

    /// Records that a call found every instance in use.
    pub(crate) fn instance_waited(&self) {
        self.instance_waits.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that a call was not started: no instance came free in time.
    pub(crate) fn instance_refused(&self) {
        self.instance_refusals.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot.
    pub(crate) fn snapshot(&self, pooling: bool) -> RuntimeStats {
        RuntimeStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            pooling,
            instance_waits: self.instance_waits.load(Ordering::Relaxed),
            instance_refusals: self.instance_refusals.load(Ordering::Relaxed),
            plugins: self.plugins.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
        }
    }
}
