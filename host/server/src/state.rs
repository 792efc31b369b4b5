//! What every request handler shares.

use std::sync::Arc;

use switchboard_runtime::Runtime;
use switchboard_store::Stores;

use crate::clock::Clock;
use crate::rate_limit::RateLimiter;

/// Shared, cheaply cloned server state.
#[derive(Clone)]
pub struct AppState {
    /// Where everything is kept, one capability per field.
    pub stores: Stores,
    /// Where the time comes from.
    pub clock: Arc<dyn Clock>,
    /// The e-mail alias domain.
    pub mail_domain: Arc<str>,
    /// Runs plugins.
    pub runtime: Runtime,
    /// Limits public plugin routes per client.
    pub public_limiter: Arc<RateLimiter>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// The largest plugin component accepted on upload.
    pub plugin_upload_limit: usize,
    /// The largest request body on public plugin routes.
    pub public_body_limit: usize,
    /// The largest request body on other routes.
    pub body_limit: usize,
    /// The storage backend's own counters, for `/metrics`.
    pub store_stats: Arc<dyn Fn() -> switchboard_store_sled::SledStats + Send + Sync>,
    /// Held by every clone of the state, so that `serve` learns when the
    /// last request is done with the store.
    pub _alive: tokio::sync::mpsc::Sender<()>,
}
