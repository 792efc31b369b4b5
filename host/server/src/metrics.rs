//! `/metrics`: the store's and the plugin runtime's counters, encoded by
//! `prometheus-client` (the Prometheus project's Rust client) in the
//! OpenMetrics text format that Prometheus scrapes.
//!
//! The counters live in the store and the runtime as plain atomics; a
//! scrape takes one snapshot of each and encodes it, so the server keeps
//! no second copy of its counters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use switchboard_runtime::{PluginStats, RuntimeStats};

use crate::error::ApiError;
use crate::state::AppState;

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One counter of the storage backend: the backend names and describes
/// its own, so that this module shows any backend's.
#[derive(Debug, Clone)]
pub struct Counter {
    name: &'static str,
    help: &'static str,
    value: u64,
}

impl Counter {
    /// A counter named `name` (without `_total`, which the encoder adds).
    pub fn new(name: &'static str, help: &'static str, value: u64) -> Self {
        Counter { name, help, value }
    }
}

/// One scrape's snapshot of every counter.
#[derive(Debug)]
struct Snapshot {
    store: Vec<Counter>,
    runtime: RuntimeStats,
}

/// Picks one counter out of a plugin's counters.
type Pick = fn(&PluginStats) -> u64;

/// Encodes a counter without labels. The encoder adds the `_total`
/// suffix that counters carry.
fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let runtime = &self.runtime;
        let e = &mut encoder;
        for c in &self.store {
            counter(e, c.name, c.help, c.value)?;
        }
        counter(e, "switchboard_plugin_compilations", "Plugin components compiled by this process.", runtime.compiled)?;
        counter(
            e,
            "switchboard_plugin_cache_loads",
            "Plugin components loaded precompiled from disk.",
            runtime.cache_hits,
        )?;
        counter(
            e,
            "switchboard_plugin_instance_waits",
            "Plugin calls that found every instance in use and waited for one.",
            runtime.instance_waits,
        )?;
        counter(
            e,
            "switchboard_plugin_instance_refusals",
            "Plugin calls not started because no instance came free in time.",
            runtime.instance_refusals,
        )?;
        let pooling = ConstGauge::new(i64::from(runtime.pooling));
        pooling.encode(e.encode_descriptor(
            "switchboard_plugin_pooling",
            "Whether the pooling instance allocator is in use.",
            None,
            pooling.metric_type(),
        )?)?;
        let per_plugin: [(&str, &str, Pick); 3] = [
            ("switchboard_plugin_calls", "Plugin calls.", |s| s.calls),
            ("switchboard_plugin_errors", "Plugin calls that failed.", |s| s.errors),
            ("switchboard_plugin_busy_microseconds", "Wall-clock time spent in plugin calls.", |s| s.busy_us),
        ];
        for (name, help, pick) in per_plugin {
            let mut family = e.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
            for (plugin, stats) in &runtime.plugins {
                let labels = [("plugin", plugin.as_str())];
                ConstCounter::new(pick(stats)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// The metrics of this server. It needs a token like the API.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot { store: (state.store_stats)(), runtime: state.runtime.stats() }));
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &registry) {
        Ok(()) => (StatusCode::OK, [(CONTENT_TYPE, OPENMETRICS)], body).into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}
