//! What every request handler shares.

use std::sync::Arc;

use switchboard_runtime::Runtime;
use switchboard_store::Stores;

use crate::clock::Clock;
use crate::rate_limit::RateLimiter;

/// The server state every handler shares: one `Arc`, so that the clones
/// axum makes for every extractor and middleware of every request cost one
/// atomic increment. (Cloning the fields themselves, a dozen `Arc`s most
/// of which point at the same store, cost 7% of the server's CPU under
/// load: every request bounced the same reference counts between cores.)
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// State sharing `shared`.
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    /// Where everything is kept, one capability per field.
    pub stores: Stores,
    /// Where the time comes from.
    pub clock: Arc<dyn Clock>,
    /// The e-mail alias domain.
    pub mail_domain: Arc<str>,
    /// Runs plugins.
    pub runtime: Runtime,
    /// Live chat: the hub, the country database, the sockets' caps.
    pub chat: crate::chat::Chat,
    /// Wakes this server's reply worker when a reply to deliver is written.
    pub wake_replies: Arc<tokio::sync::Notify>,
    /// Limits public plugin routes per client.
    pub public_limiter: Arc<RateLimiter>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// The address the public reaches this server at, if configured.
    pub public_url: Option<Arc<str>>,
    /// The largest plugin component accepted on upload.
    pub plugin_upload_limit: usize,
    /// The largest request body on public plugin routes.
    pub public_body_limit: usize,
    /// The largest request body on other routes.
    pub body_limit: usize,
    /// Vendor keys whose signed bundles are installed.
    pub trusted_keys: Arc<[[u8; 32]]>,
    /// Whether a bundle without a signature may be installed.
    pub allow_unsigned_bundles: bool,
    /// Plugin installs running in the background.
    pub installs: crate::installs::Installs,
    /// Tells the other servers sharing the store about plugin changes.
    pub plugin_sync: crate::plugin_sync::PluginSync,
    /// Seals plugin secrets at rest and opens them for calls.
    pub secret_key: Arc<crate::secret_key::SecretKey>,
    /// The newest failures of each plugin's public routes, for admins.
    pub failures: crate::failures::Failures,
    /// The storage backend's own counters, for `/metrics`; each backend
    /// names and describes its own.
    pub store_stats: Arc<dyn Fn() -> Vec<crate::metrics::Counter> + Send + Sync>,
    /// Wakes this server's robot worker: a run was released or enqueued
    /// here, so it need not wait for its next look.
    pub robot_wake: Arc<tokio::sync::Notify>,
    /// The bus every server sharing the store listens on: live boards
    /// follow ticket changes on it.
    pub bus: Arc<dyn switchboard_bus::Bus>,
    /// Limits console sign-in attempts per client address.
    pub sign_in_limiter: Arc<std::sync::Mutex<switchboard_core::KeyedBuckets<std::net::IpAddr>>>,
    /// Dropped with the last clone of the state, so that `serve` learns
    /// when the last request is done with the store.
    pub _alive: tokio::sync::mpsc::Sender<()>,
}
