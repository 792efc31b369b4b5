//! The `switchboard` command: `serve` runs the helpdesk server, `openapi`
//! prints the API description.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use switchboard_runtime::CompilerProcess;
use switchboard_server::{Config, FileConfig, LogFormat, SmtpListen, TlsFiles};

mod mail_cli;
mod plugin_cli;
mod plugin_new;

/// The server allocates and frees many small objects on every request from
/// several threads at once; mimalloc's per-thread heaps handle that with
/// less contention than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "A self-hosted helpdesk whose channels and robots are sandboxed WebAssembly components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Print the OpenAPI document of the HTTP API.
    Openapi,
    /// Install, list, enable, disable and remove plugins through the API.
    Plugin {
        #[command(flatten)]
        api: plugin_cli::ApiArgs,
        #[command(subcommand)]
        command: plugin_cli::PluginCommand,
    },
    /// List and run again the mail a team's e-mail channel failed on.
    Mail {
        #[command(flatten)]
        api: plugin_cli::ApiArgs,
        #[command(subcommand)]
        command: mail_cli::MailCommand,
    },
    /// Compile a component for the server's plugin cache. The server runs
    /// this itself, so that a long compile never shares its process.
    #[command(hide = true)]
    CompileComponent {
        /// The engine key the server expects the code to be for.
        #[arg(long)]
        engine: String,
        /// Where to write the precompiled component.
        #[arg(long)]
        out: PathBuf,
        /// The server runs the pooling allocator.
        #[arg(long)]
        pooling: bool,
    },
}

/// Flags override environment variables, which override the config file,
/// which overrides the defaults.
#[derive(Parser)]
struct ServeArgs {
    /// A TOML config file.
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory [default: ./data].
    #[arg(long, env = "SWITCHBOARD_DATA")]
    data: Option<PathBuf>,
    /// Where to keep the data: sled:<dir>, or postgres://… for a database several servers share [default: sled:<data>/db].
    #[arg(long, env = "SWITCHBOARD_STORE")]
    store: Option<String>,
    /// The NATS server that connects servers sharing a PostgreSQL store, as nats://host:4222 [default: none, one server alone].
    #[arg(long, env = "SWITCHBOARD_BUS")]
    bus: Option<String>,
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SWITCHBOARD_LISTEN")]
    listen: Option<SocketAddr>,
    /// The domain of team e-mail aliases [default: localhost].
    #[arg(long, env = "SWITCHBOARD_MAIL_DOMAIN")]
    mail_domain: Option<String>,
    /// The largest request body in bytes [default: 1048576].
    #[arg(long, env = "SWITCHBOARD_BODY_LIMIT")]
    body_limit: Option<usize>,
    /// Log lines as human text or JSON [default: human].
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Seconds between SLA breach checks [default: 30].
    #[arg(long, env = "SWITCHBOARD_SLA_SWEEP_SECONDS")]
    sla_sweep_seconds: Option<u64>,
    /// Seconds a server holds a robot run it started (10 to 86400): a run
    /// whose server died is taken over after it [default: 120].
    #[arg(long, env = "SWITCHBOARD_ROBOT_LEASE_SECONDS", value_parser = clap::value_parser!(u64).range(10..=86400))]
    robot_lease_seconds: Option<u64>,
    /// Public plugin requests per second per client; 0 for no limit [default: 20].
    #[arg(long, env = "SWITCHBOARD_PUBLIC_RATE")]
    public_rate: Option<u32>,
    /// The most memory the store's page cache may use, in MiB (1 to 65536) [default: 128].
    #[arg(long, env = "SWITCHBOARD_STORE_CACHE_MB", value_parser = clap::value_parser!(u64).range(1..=65536))]
    store_cache_mb: Option<u64>,
    /// The most plugin instances live at once (16 to 4096); calls past it wait for one [default: 256].
    #[arg(long, env = "SWITCHBOARD_PLUGIN_INSTANCES", value_parser = clap::value_parser!(u32).range(16..=4096))]
    plugin_instances: Option<u32>,
    /// The file of the key that seals plugin secrets [default: <data>.key, beside the data directory].
    #[arg(long, env = "SWITCHBOARD_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
    /// A vendor's public key (64 hex digits) whose signed bundles may be installed; repeat for several.
    #[arg(long = "trusted-key", env = "SWITCHBOARD_TRUSTED_KEYS", value_delimiter = ',')]
    trusted_keys: Vec<String>,
    /// Install plugin bundles that carry no signature.
    #[arg(long, env = "SWITCHBOARD_ALLOW_UNSIGNED_BUNDLES")]
    allow_unsigned_bundles: bool,
    /// A proxy whose X-Forwarded-For is believed; repeat for several.
    #[arg(long = "trusted-proxy", env = "SWITCHBOARD_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// A country database (.mmdb, such as GeoLite2-Country) for chat visitors' countries.
    #[arg(long, env = "SWITCHBOARD_COUNTRY_DB")]
    country_db: Option<PathBuf>,
    /// The address the public reaches this server at, such as https://help.example.com, for embed snippets and links.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Where to receive mail for team aliases over SMTP, or "off" [default: 127.0.0.1:2525].
    #[arg(long, env = "SWITCHBOARD_SMTP")]
    smtp: Option<String>,
    /// The largest message the SMTP listener accepts, in bytes [default: 25000000].
    #[arg(long, env = "SWITCHBOARD_SMTP_MAX_BYTES", value_parser = clap::value_parser!(u64).range(1024..=1_000_000_000))]
    smtp_max_bytes: Option<u64>,
    /// A certificate chain (PEM) for STARTTLS on the SMTP listener; with --smtp-key.
    #[arg(long, env = "SWITCHBOARD_SMTP_CERT", requires = "smtp_key")]
    smtp_cert: Option<PathBuf>,
    /// The private key (PEM) of --smtp-cert.
    #[arg(long, env = "SWITCHBOARD_SMTP_KEY", requires = "smtp_cert")]
    smtp_key: Option<PathBuf>,
    /// The relay outgoing mail is handed to: smtp://host[:port], smtp+starttls://user:password@host[:587] or smtps://…:465 [default: none, replies wait in the outbox].
    #[arg(long, env = "SWITCHBOARD_RELAY")]
    relay: Option<String>,
    /// A certificate (PEM) to trust for the relay, besides the usual roots.
    #[arg(long, env = "SWITCHBOARD_RELAY_ROOT_CERT")]
    relay_root_cert: Option<PathBuf>,
    /// Create a "Demo" team with SLA policies and a first ticket.
    #[arg(long)]
    demo: bool,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

async fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path).map_err(anyhow::Error::msg)?,
        None => FileConfig::default(),
    };
    init_logging(args.log_format.or(file.log_format).unwrap_or_default());
    let data = args.data.or(file.data).unwrap_or_else(|| PathBuf::from("data"));
    let listen = args.listen.or(file.listen).unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let mut config = Config::new(data);
    if let Some(store) = args.store.or(file.store) {
        config.store = store.parse().map_err(|e: String| anyhow::anyhow!("store: {e}"))?;
    }
    if let Some(bus) = args.bus.or(file.bus) {
        if !bus.starts_with("nats://") {
            anyhow::bail!("bus: \"{bus}\" is not a nats:// URL");
        }
        config.bus = Some(bus);
    }
    if let Some(domain) = args.mail_domain.or(file.mail_domain) {
        config.mail_domain = domain;
    }
    if let Some(max) = args.smtp_max_bytes.map(|m| m as usize).or(file.smtp_max_bytes) {
        if !(1024..=1_000_000_000).contains(&max) {
            anyhow::bail!("smtp_max_bytes: {max} is not between 1024 and 1000000000");
        }
        config.smtp.max_message_bytes = max;
    }
    match (args.smtp_cert.or(file.smtp_cert), args.smtp_key.or(file.smtp_key)) {
        (Some(cert), Some(key)) => config.smtp.tls = Some(TlsFiles { cert, key }),
        (None, None) => {}
        _ => anyhow::bail!("smtp_cert and smtp_key: give both, or neither"),
    }
    if let Some(relay) = args.relay.or(file.relay) {
        let mut relay = switchboard_server::RelayConfig::parse(&relay).map_err(anyhow::Error::msg)?;
        relay.root_cert = args.relay_root_cert.or(file.relay_root_cert);
        config.smtp.relay = Some(relay);
    }
    let smtp = args.smtp.or(file.smtp).unwrap_or_else(|| "127.0.0.1:2525".into());
    let smtp = match SmtpListen::parse(&smtp).map_err(anyhow::Error::msg)? {
        // Bound here, as the HTTP listener is, so that its address (port 0
        // picks one) is printed before serving starts.
        SmtpListen::Addr(addr) => {
            let bound =
                std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen for SMTP on {addr}"))?;
            SmtpListen::Bound(std::sync::Arc::new(bound))
        }
        other => other,
    };
    config.smtp.listen = smtp;
    if let Some(limit) = args.body_limit.or(file.body_limit) {
        config.body_limit = limit;
    }
    if let Some(secs) = args.robot_lease_seconds.or(file.robot_lease_seconds) {
        if !(10..=86_400).contains(&secs) {
            anyhow::bail!("robot_lease_seconds: {secs} is not between 10 and 86400");
        }
        config.robot_lease = Duration::from_secs(secs);
    }
    if let Some(secs) = args.sla_sweep_seconds.or(file.sla_sweep_seconds) {
        config.sla_sweep_interval = Duration::from_secs(secs.max(1));
    }
    if let Some(mb) = args.store_cache_mb.or(file.store_cache_mb) {
        if !(1..=65536).contains(&mb) {
            anyhow::bail!("store_cache_mb: {mb} is not between 1 and 65536");
        }
        config.store_cache_bytes = mb * 1024 * 1024;
    }
    if let Some(n) = args.plugin_instances.or(file.plugin_instances) {
        if !(16..=4096).contains(&n) {
            anyhow::bail!("plugin_instances: {n} is not between 16 and 4096");
        }
        config.plugin_instances = n;
    }
    if let Some(path) = args.secret_key_file.or(file.secret_key_file) {
        config.secret_key_file = path;
    }
    if let Some(rate) = args.public_rate.or(file.public_rate) {
        config.public_rate = rate;
        config.public_burst = rate.saturating_mul(2);
    }
    let keys = if args.trusted_keys.is_empty() { file.trusted_keys.unwrap_or_default() } else { args.trusted_keys };
    config.trusted_keys = keys
        .iter()
        .map(|k| switchboard_server::bundle::parse_public_key(k))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    config.allow_unsigned_bundles = args.allow_unsigned_bundles || file.allow_unsigned_bundles.unwrap_or(false);
    config.trusted_proxies =
        if args.trusted_proxies.is_empty() { file.trusted_proxies.unwrap_or_default() } else { args.trusted_proxies };
    config.country_db = args.country_db.or(file.country_db);
    config.public_url = match args.public_url.or(file.public_url) {
        Some(given) => Some(switchboard_server::config::public_url(&given).map_err(anyhow::Error::msg)?),
        None => None,
    };
    config.admin_token = std::env::var("SWITCHBOARD_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty());
    config.demo = args.demo;
    // Compiles run in a process of this same binary (see the runtime's
    // `compile.rs`); without its path, on a thread.
    match std::env::current_exe() {
        Ok(program) => {
            config.compiler = Some(CompilerProcess { program, args: vec!["compile-component".into()] });
        }
        Err(e) => tracing::warn!(error = %e, "cannot find this binary; compiling plugins on a thread"),
    }

    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr().context("listener has no address")?;
    // Scripts and tests read these lines to find the ports when listening
    // on port 0; logs go to stderr so that stdout stays these lines. Both
    // go in one write: a reader that takes the first and closes the pipe
    // must not make a second write fail.
    let mut out = std::io::stdout().lock();
    let mut lines = format!("switchboard listening on http://{addr}\n");
    if let SmtpListen::Bound(smtp) = &config.smtp.listen {
        let smtp = smtp.local_addr().context("SMTP listener has no address")?;
        lines.push_str(&format!("switchboard receiving mail on smtp://{smtp}\n"));
    }
    out.write_all(lines.as_bytes())?;
    out.flush()?;
    drop(out);
    // The store may be stuck for good on a failing disk, and with it the
    // threads that would return from `serve`.
    config.on_stuck_fault = Some(|reason| {
        eprintln!("error: the store stopped ({reason}) and the server could not stop in time; exiting");
        std::process::exit(1);
    });
    match switchboard_server::serve(listener, config, shutdown_signal()).await {
        // A store that stopped after a fault may hold threads that never
        // finish (a flush stuck on a failing disk): exit now, without the
        // runtime's and the store's orderly shutdown, so that a supervisor
        // restarts the server from what is on disk.
        Err(e @ switchboard_server::ServeError::StoreFault(_)) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        other => other.map_err(anyhow::Error::from),
    }
}

fn main() -> std::process::ExitCode {
    let command = match Cli::parse().command {
        Command::CompileComponent { engine, out, pooling } => {
            return switchboard_runtime::run_compiler_process(pooling, &engine, &out);
        }
        other => other,
    };
    match run(command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line with its causes, and never a backtrace: a refused
            // request or a bad setting is the user's to fix, and anyhow
            // would print a backtrace whenever RUST_BACKTRACE is set.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Openapi => {
            println!("{}", switchboard_server::openapi().to_pretty_json()?);
            Ok(())
        }
        Command::Serve(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(run_serve(*args)),
        Command::CompileComponent { .. } => anyhow::bail!("compile-component is run by the server itself"),
        Command::Plugin { api, command } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(plugin_cli::run(api, command)),
        Command::Mail { api, command } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(mail_cli::run(api, command)),
    }
}
