//! The Switchboard server: the HTTP API over the store, its auth, and the
//! background SLA sweeper.
//!
//! [`serve`] takes a bound listener, a [`Config`] and a shutdown future, so
//! tests start the real server on port 0 with a temporary data directory.
//! The `switchboard` binary wraps it in a command line.

mod announce;
mod api;
mod app;
pub mod auth;
mod backend;
pub mod bundle;
pub mod chat;
mod client_addr;
pub mod clock;
pub mod config;
mod console;
mod demo;
mod error;
mod extract;
mod failures;
mod idempotency;
mod installs;
mod job_worker;
mod json;
mod mail;
mod manifest;
mod metrics;
mod plugin_sync;
mod plugins;
mod public;
mod rate_limit;
mod robots;
mod secret_key;
mod serve;
mod settings_schema;
mod state;
mod store_location;
mod sweeper;

pub use config::{BundledPlugin, Config, FileConfig, LogFormat};
pub use mail::settings::{RelayConfig, RelayTls, SmtpConfig, SmtpListen, TlsFiles};
pub use manifest::parse_manifest;
pub use serve::{ServeError, serve};
pub use store_location::StoreLocation;

pub use api::openapi;

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    pub use crate::mail::fuzz::smtp_session;
}
