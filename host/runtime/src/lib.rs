//! Switchboard's plugin runtime: the only crate that touches wasmtime.
//!
//! Channels and robots are WebAssembly components built against the
//! `switchboard:plugin` WIT package. [`Runtime`] compiles each component
//! once (keeping the precompiled form on disk, keyed by the engine's
//! compatibility hash), checks that it implements the world its manifest
//! declares, and runs every event in a fresh store from a cached `*Pre`:
//!
//! - an epoch-based CPU budget per call (counting only the guest's own
//!   running time: not host calls, not waits to be scheduled), a memory cap, a resource-table cap and a wall-clock timeout;
//! - WASI with nothing preopened, no environment and no sockets; guest
//!   stdout and stderr go to `tracing`, tagged with the plugin and team;
//! - host imports (tickets, storage, log, http) scoped to the installation's
//!   team, each checking the installation's grants; `secrets` and
//!   `digest` use the installation's secrets without handing them over.

mod bindings;
mod cache;
mod call;
mod chat;
mod compile;
mod compile_governor;
mod convert;
mod engine;
mod error;
mod guest_clock;
mod host;
mod mail;
mod metrics;
mod outbox;
mod plugin;
mod secrets;
mod setting_hosts;
mod stage_robot;
mod stdio;

pub use call::{HttpRequest, HttpResponse, Outcome, PluginFailure, RunInput};
pub use chat::{ChatEvent, ChatLink, CountryFn, TIMER_QUEUE, TimerJob};
pub use compile::{CompilerProcess, run_compiler_process};
pub use engine::{Prepared, Runtime, RuntimeConfig, sha256_hex};
pub use error::RuntimeError;
pub use mail::{Envelope, InboundMail, MailOutcome, ReplyInput};
pub use metrics::{PluginStats, RuntimeStats};
pub use outbox::{MAIL_OUT_QUEUE, OutboxMail, REPLY_OUT_QUEUE, ReplyJob};
pub use plugin::PluginInfo;
pub use secrets::Secrets;
pub use stage_robot::{Plan, StageOutcome, StageRun};

/// The WIT package versions this host links. A component built against
/// any of them loads: the host provides the newest, and wasmtime matches
/// semver-compatible names, so older components find what they import.
pub const SUPPORTED_WIT: &[&str] =
    &["0.1.0", "0.1.1", "0.1.2", "0.1.3", "0.1.4", "0.1.5", "0.1.6", "0.1.7", "0.1.8", "0.1.9", "0.1.10", "0.1.11"];

/// Returns the current time; passed in so that tests can move it.
pub type NowFn = std::sync::Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;
