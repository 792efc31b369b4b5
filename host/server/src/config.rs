//! Server settings: defaults, then a TOML file, then environment variables,
//! then command-line flags, each overriding the one before.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::clock::{Clock, SystemClock};
use crate::store_location::StoreLocation;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything [`crate::serve`] needs to run.
#[derive(Clone)]
pub struct Config {
    /// The data directory: the plugin cache, the generated admin token,
    /// and by default the database.
    pub data_dir: PathBuf,
    /// Where the tickets, teams and plugins are kept: by default sled in
    /// `<data>/db`.
    pub store: StoreLocation,
    /// How often a server compares the plugins it has loaded with the
    /// store even when the bus said nothing: the safety net for an
    /// announcement that was lost.
    pub plugin_resync: Duration,
    /// The NATS server that connects the servers sharing a store
    /// (`nats://host:4222`); `None` for one server alone, whose bus is
    /// in-process.
    pub bus: Option<String>,
    /// The domain of team e-mail aliases, such as `support.example.com`.
    pub mail_domain: String,
    /// The SMTP listener that receives mail for team aliases.
    pub smtp: crate::mail::settings::SmtpConfig,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The first admin's token, from `SWITCHBOARD_ADMIN_TOKEN`; generated
    /// and written to `<data>/admin-token` when absent.
    pub admin_token: Option<String>,
    /// How often running SLA deadlines are checked for breaches.
    pub sla_sweep_interval: Duration,
    /// How long a server holds a robot run it started: longer than any
    /// robot may take. A run whose server died is taken over after it,
    /// and written "outcome unknown" (or started again, if the robot is
    /// safe to retry).
    pub robot_lease: Duration,
    /// Create a "Demo" team at start if there is none.
    pub demo: bool,
    /// Where the time comes from.
    pub clock: Arc<dyn Clock>,
    /// Plugins installed (or upgraded) at start; by default the ones under
    /// `plugins/`, built into the binary.
    pub bundled: Vec<BundledPlugin>,
    /// The largest request body on public plugin routes, in bytes.
    pub public_body_limit: usize,
    /// The largest plugin component accepted on upload, in bytes.
    pub plugin_upload_limit: usize,
    /// Requests per second per client on public plugin routes; 0 means no
    /// limit.
    pub public_rate: u32,
    /// Requests a client may burst above the rate.
    pub public_burst: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// The country database (`.mmdb`) chat visitors' countries come from;
    /// without one, their country is not known.
    pub country_db: Option<PathBuf>,
    /// The address the public reaches this server at, such as
    /// `https://help.example.com`, for the embed snippets and links the
    /// admin API hands out; without it, the address the admin used.
    pub public_url: Option<String>,
    /// Caps on chat connections.
    pub chat_limits: crate::chat::ChatLimits,
    /// How often a chat connection looks at the store without a hint.
    pub chat_look_every: Duration,
    /// Try wasmtime's pooling allocator.
    pub pooling: bool,
    /// The program that compiles components in a process of its own (the
    /// `switchboard` binary sets itself); `None` compiles on a thread.
    pub compiler: Option<switchboard_runtime::CompilerProcess>,
    /// The most memory the store's page cache may use, in bytes.
    pub store_cache_bytes: u64,
    /// The most plugin instances live at once (the instance pool's size);
    /// calls past it wait for one to end.
    pub plugin_instances: u32,
    /// How long a plugin call waits for a free instance before it is
    /// refused as busy (503 with `Retry-After` on a route).
    pub plugin_instance_wait: Duration,
    /// The file holding the key that seals plugin secrets; by default
    /// beside the data directory (`<data>.key`), so that a copy of the data
    /// directory does not carry it. Made on the first secret.
    pub secret_key_file: PathBuf,
    /// Vendor keys (ed25519 public keys) whose signed bundles may be
    /// installed.
    pub trusted_keys: Vec<[u8; 32]>,
    /// Install bundles that carry no signature (off by default). Uploads
    /// of a bare manifest and component, for plugins in development, are
    /// not bundles and are not affected.
    pub allow_unsigned_bundles: bool,
    /// Called, on a thread of its own, when the store stopped after a fault
    /// and [`crate::serve`] has still not returned a few seconds later.
    /// sled blocks the threads that call it, tokio's workers among them, so
    /// a store stuck on a failing disk can leave `serve` unable to return
    /// at all; the binary exits the process here, so that a supervisor
    /// restarts it. `None` (the default) only logs.
    pub on_stuck_fault: Option<fn(&str)>,
}

/// A plugin that ships with the server.
#[derive(Debug, Clone)]
pub struct BundledPlugin {
    /// Its manifest (TOML).
    pub manifest: String,
    /// Its component.
    pub wasm: Vec<u8>,
}

impl BundledPlugin {
    /// The plugins under `plugins/`, built into this binary.
    pub fn shipped() -> Vec<BundledPlugin> {
        switchboard_artifacts::BUNDLED
            .iter()
            .map(|b| BundledPlugin { manifest: b.manifest.to_owned(), wasm: b.wasm.to_vec() })
            .collect()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("store", &self.store)
            .field("bus", &self.bus)
            .field("mail_domain", &self.mail_domain)
            .field("smtp", &self.smtp)
            .field("body_limit", &self.body_limit)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .field("sla_sweep_interval", &self.sla_sweep_interval)
            .field("robot_lease", &self.robot_lease)
            .field("demo", &self.demo)
            .field("bundled", &self.bundled.len())
            .field("public_body_limit", &self.public_body_limit)
            .field("public_rate", &self.public_rate)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("country_db", &self.country_db)
            .field("public_url", &self.public_url)
            .field("store_cache_bytes", &self.store_cache_bytes)
            .field("secret_key_file", &self.secret_key_file)
            .field("trusted_keys", &self.trusted_keys.len())
            .field("allow_unsigned_bundles", &self.allow_unsigned_bundles)
            .field("on_stuck_fault", &self.on_stuck_fault.is_some())
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Defaults for a data directory: mail domain `localhost`, a 1 MiB body
    /// limit (256 KiB on public routes, 32 MiB for plugin uploads), a 30 s
    /// SLA sweep, 20 public requests per second per client with bursts of
    /// 40, the shipped plugins, and the system clock.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        // The runtime's own defaults for what it runs.
        let runtime = switchboard_runtime::RuntimeConfig::new(data_dir.join("plugin-cache"));
        Config {
            secret_key_file: default_secret_key_file(&data_dir),
            store: StoreLocation::Sled(data_dir.join("db")),
            bus: None,
            plugin_resync: Duration::from_secs(60),
            trusted_keys: Vec::new(),
            allow_unsigned_bundles: false,
            on_stuck_fault: None,
            data_dir,
            mail_domain: "localhost".into(),
            smtp: crate::mail::settings::SmtpConfig::default(),
            body_limit: 1024 * 1024,
            admin_token: None,
            sla_sweep_interval: Duration::from_secs(30),
            robot_lease: Duration::from_secs(120),
            demo: false,
            clock: Arc::new(SystemClock),
            bundled: BundledPlugin::shipped(),
            public_body_limit: 256 * 1024,
            plugin_upload_limit: 32 * 1024 * 1024,
            public_rate: 20,
            public_burst: 40,
            trusted_proxies: Vec::new(),
            country_db: None,
            public_url: None,
            chat_limits: crate::chat::ChatLimits::default(),
            chat_look_every: Duration::from_secs(5),
            pooling: true,
            compiler: None,
            store_cache_bytes: switchboard_store_sled::SledConfig::default().cache_bytes,
            plugin_instances: runtime.max_instances,
            plugin_instance_wait: runtime.instance_wait,
        }
    }
}

/// `<data>.key` beside the data directory `<data>`; inside it only when the
/// directory has no name of its own (such as `/`).
pub fn default_secret_key_file(data_dir: &Path) -> PathBuf {
    match data_dir.file_name() {
        Some(name) => data_dir.with_file_name(format!("{}.key", name.to_string_lossy())),
        None => data_dir.join("secrets.key"),
    }
}

/// The settings a TOML config file may hold. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The data directory.
    pub data: Option<PathBuf>,
    /// The store: `sled:<dir>` or `postgres://…`.
    pub store: Option<String>,
    /// The NATS server between servers sharing a store.
    pub bus: Option<String>,
    /// The address to listen on.
    pub listen: Option<SocketAddr>,
    /// The e-mail alias domain.
    pub mail_domain: Option<String>,
    /// The SMTP listener's address, or `off`.
    pub smtp: Option<String>,
    /// The largest message the SMTP listener accepts, in bytes.
    pub smtp_max_bytes: Option<usize>,
    /// The certificate chain (PEM) STARTTLS offers.
    pub smtp_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub smtp_key: Option<PathBuf>,
    /// The relay for outgoing mail, as a URL.
    pub relay: Option<String>,
    /// A certificate (PEM) to trust for the relay.
    pub relay_root_cert: Option<PathBuf>,
    /// The request body limit in bytes.
    pub body_limit: Option<usize>,
    /// The log format.
    pub log_format: Option<LogFormat>,
    /// Seconds between SLA breach sweeps.
    pub sla_sweep_seconds: Option<u64>,
    /// Seconds a server holds a robot run.
    pub robot_lease_seconds: Option<u64>,
    /// Public requests per second per client (0: no limit).
    pub public_rate: Option<u32>,
    /// The store's page cache, in MiB.
    pub store_cache_mb: Option<u64>,
    /// The most plugin instances live at once.
    pub plugin_instances: Option<u32>,
    /// The file of the key that seals plugin secrets.
    pub secret_key_file: Option<PathBuf>,
    /// Trusted vendor keys, 64 hex digits each.
    pub trusted_keys: Option<Vec<String>>,
    /// Install bundles without a signature.
    pub allow_unsigned_bundles: Option<bool>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// The country database for chat visitors.
    pub country_db: Option<PathBuf>,
    /// The address the public reaches this server at.
    pub public_url: Option<String>,
}

impl FileConfig {
    /// Reads and parses a config file, naming the file in any error.
    pub fn load(path: &Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file \"{}\": {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config file \"{}\": {e}", path.display()))
    }
}

/// Checks a public address (`--public-url`): an absolute `http` or
/// `https` URL without query or fragment, which may end in a path prefix
/// (a proxy that serves the helpdesk under `/help`). Returns it without
/// its trailing slash, ready to have paths appended.
pub fn public_url(given: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(given.trim()).map_err(|e| format!("public url \"{given}\": {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("public url \"{given}\": the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("public url \"{given}\": a host is needed"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!("public url \"{given}\": no user, query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::public_url;

    #[test]
    fn a_public_url_is_an_absolute_web_address_kept_without_its_trailing_slash() {
        assert_eq!(public_url("https://help.example.com").as_deref(), Ok("https://help.example.com"));
        assert_eq!(public_url("https://help.example.com/").as_deref(), Ok("https://help.example.com"));
        assert_eq!(public_url("http://example.com:8080/help/").as_deref(), Ok("http://example.com:8080/help"));
        for bad in ["help.example.com", "ftp://example.com", "https://example.com/?a=1", "https://u:p@example.com", ""]
        {
            let error = public_url(bad).expect_err(bad);
            assert!(error.contains(&format!("\"{bad}\"")), "{error}");
        }
    }
}
