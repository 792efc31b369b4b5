//! Shared by the end-to-end tests: the real server on port 0 with a
//! temporary data directory, and a small JSON client for it.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use switchboard_server::clock::ManualClock;
use switchboard_server::{Config, serve};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The multipart body of `POST /api/plugins`: a manifest and a component.
pub fn plugin_upload(manifest: &str, wasm: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("manifest", manifest.to_owned())
        .part("component", reqwest::multipart::Part::bytes(wasm).file_name("plugin.wasm"))
}

/// Whether this test binary runs its tests on PostgreSQL: the same test
/// file is built twice, as `NAME` on sled and as `NAME_postgres`, so that
/// every test in it holds for both backends.
pub fn on_postgres() -> bool {
    env!("CARGO_CRATE_NAME").ends_with("_postgres")
}

/// The store for the server whose data directory is `data`: on sled, in
/// the data directory as by default; on PostgreSQL, a fresh database on
/// this test binary's private server, remembered beside the data directory
/// so that a restart on the same data opens the same database.
pub fn store_for(data: &std::path::Path) -> Option<String> {
    if !on_postgres() {
        return None;
    }
    let remembered = data.with_extension("store-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Some(url);
    }
    let server = switchboard_store_postgres::throwaway::TempPostgres::shared().expect("start postgres");
    let url = server.new_database().expect("create a database");
    std::fs::write(&remembered, &url).expect("remember the database");
    Some(url)
}

/// Opens, outside any server, the store of the server whose data
/// directory is `data`, as a test that stages what a crash or an old build
/// left behind needs. Drop it before starting a server on the same data.
pub async fn open_store(data: &std::path::Path) -> Arc<dyn switchboard_store::Store> {
    match store_for(data) {
        Some(url) => Arc::new(
            switchboard_store_postgres::PgStore::open(&switchboard_store_postgres::PgConfig::new(url))
                .await
                .expect("open the PostgreSQL store"),
        ),
        None => Arc::new(
            switchboard_store_sled::SledStore::open(&data.join("db"), Default::default()).expect("open the store"),
        ),
    }
}

/// The admin token the test servers are started with.
pub const ADMIN: &str = "test-admin-token";

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The clock the server reads; tests move it to pass deadlines.
    pub clock: Arc<ManualClock>,
    /// The data directory, removed when the server is dropped.
    pub dir: tempfile::TempDir,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A response: status and JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body as JSON.
    pub body: Value,
    /// The body as text.
    pub text: String,
    /// The `X-Request-Id` header, when there was one.
    pub request_id: Option<String>,
}

impl Server {
    /// Starts a server with the default test settings.
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` has changed its config.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        Server::start_in(dir, tweak).await
    }

    /// Starts a server on an existing data directory.
    pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> Server {
        let clock = Arc::new(ManualClock::new());
        // The data directory is a folder of the temporary one, so that the
        // secret key file beside it is removed with it.
        let mut config = Config::new(dir.path().join("data"));
        config.admin_token = Some(ADMIN.into());
        config.mail_domain = "help.example.com".into();
        config.sla_sweep_interval = std::time::Duration::from_millis(50);
        config.clock = clock.clone();
        // Tests install the plugins they need; the rate limit is tested
        // where it is the point.
        config.bundled = Vec::new();
        config.public_rate = 0;
        if let Some(url) = store_for(&dir.path().join("data")) {
            config.store = switchboard_server::StoreLocation::Postgres(url);
        }
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            serve(listener, config, async {
                let _ = stopped.await;
            })
            .await
            .expect("server failed");
        });
        let server = Server { base, clock, dir, client: reqwest::Client::new(), stop: Some(stop), task: Some(task) };
        // serve() opens the store and sets up the admin before it accepts,
        // so poll until it answers.
        for _ in 0..200 {
            let health = server.client.get(format!("{}/health", server.base)).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("server did not come up");
    }

    /// Stops the server gracefully and returns its data directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        let dir = tempfile::tempdir().expect("placeholder");
        std::mem::replace(&mut self.dir, dir)
    }

    /// Sends a request with an optional token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let request_id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text, request_id }
    }

    /// GET as the admin.
    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(ADMIN), None).await
    }

    /// POST JSON as the admin.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(ADMIN), Some(body)).await
    }

    /// PATCH JSON as the admin.
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(ADMIN), Some(body)).await
    }

    /// PUT JSON as the admin.
    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(ADMIN), Some(body)).await
    }

    /// DELETE as the admin.
    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, Some(ADMIN), None).await
    }

    /// Installs a guest component with its own manifest, as the admin.
    pub async fn install(&self, guest: &switchboard_artifacts::Guest) -> Reply {
        self.install_with(&guest.manifest_text(), guest.wasm_bytes()).await
    }

    /// Installs a component with the given manifest text, as the admin.
    pub async fn install_with(&self, manifest: &str, wasm: Vec<u8>) -> Reply {
        let form = plugin_upload(manifest, wasm);
        let resp = self
            .client
            .post(format!("{}/api/plugins?wait=true", self.base))
            .bearer_auth(ADMIN)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        let status = resp.status().as_u16();
        let request_id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, text, request_id }
    }

    /// Enables a plugin for a team with settings and grants, as the admin.
    /// Every other capability the plugin asks for is declined, as an admin
    /// must decide on each.
    pub async fn enable(&self, team: &str, plugin: &str, settings: Value, grants: &[&str]) -> Reply {
        let asked = self.get(&format!("/api/plugins/{plugin}")).await.body["capabilities"].clone();
        let declined: Vec<&str> =
            asked.as_array().into_iter().flatten().filter_map(Value::as_str).filter(|c| !grants.contains(c)).collect();
        self.put(
            &format!("/api/teams/{team}/plugins/{plugin}"),
            serde_json::json!({"settings": settings, "grants": grants, "declined": declined}),
        )
        .await
    }

    /// A team's tickets, in list order.
    pub async fn tickets(&self, team: &str) -> Vec<Value> {
        self.get(&format!("/api/teams/{team}/tickets")).await.expect(200).as_array().cloned().unwrap_or_default()
    }

    /// The newest entry of a ticket's thread.
    pub async fn last_message(&self, ticket: u64) -> Value {
        let thread = self.get(&format!("/api/tickets/{ticket}/messages")).await.expect(200);
        thread.as_array().and_then(|t| t.last()).cloned().expect("the thread has an entry")
    }

    /// A raw request builder, for bodies and headers the helpers do not make.
    pub fn raw(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }
}

impl Reply {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self.body
    }

    /// Asserts an error reply: its status, its code, and that its detail
    /// contains `needle`.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str, needle: &str) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert_eq!(self.body["error"], code, "error code; body: {}", self.text);
        let detail = self.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "detail {detail:?} does not mention {needle:?}");
        self.body
    }
}

/// Starts the real `switchboard` binary on port 0 with data in `data`, the
/// admin token `token` and the extra environment `env`, and waits until it
/// answers; returns it with its base URL. Every client is 127.0.0.1, so
/// public routes have no per-client limit.
pub async fn spawn_server(
    data: &std::path::Path,
    token: &str,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    spawn_server_to(data, token, env, std::process::Stdio::inherit()).await
}

/// As [`spawn_server`], with the server's log (its stderr, at the level
/// `SWITCHBOARD_LOG` in `env` gives) appended to the file `log`.
pub async fn spawn_server_logging(
    data: &std::path::Path,
    token: &str,
    env: &[(&str, &str)],
    log: &std::path::Path,
) -> (tokio::process::Child, String) {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    spawn_server_to(data, token, env, std::process::Stdio::from(file)).await
}

async fn spawn_server_to(
    data: &std::path::Path,
    token: &str,
    env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> (tokio::process::Child, String) {
    let (child, base, _smtp) = spawn_server_full(data, token, env, stderr).await;
    (child, base)
}

/// As [`spawn_server`], and returns the address of its SMTP listener too.
#[allow(dead_code)]
pub async fn spawn_server_with_smtp(
    data: &std::path::Path,
    token: &str,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String, std::net::SocketAddr) {
    spawn_server_full(data, token, env, std::process::Stdio::inherit()).await
}

async fn spawn_server_full(
    data: &std::path::Path,
    token: &str,
    env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> (tokio::process::Child, String, std::net::SocketAddr) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--public-rate", "0", "--data"])
        .arg(data);
    if let Some(url) = store_for(data) {
        command.arg("--store").arg(url);
    }
    let mut child = command
        .env("SWITCHBOARD_ADMIN_TOKEN", token)
        .env("SWITCHBOARD_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn switchboard");
    let (base, smtp) = listening_addresses(&mut child).await;
    let smtp = smtp.expect("the server receives mail");
    // serve() opens the store before accepting; wait until it answers.
    let client = reqwest::Client::new();
    for _ in 0..500 {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            return (child, base, smtp);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("server did not come up");
}

/// Reads the lines `switchboard serve` prints on stdout once it listens,
/// within 60 s: the base URL, and the SMTP listener's address if it has one.
pub async fn listening_addresses(child: &mut tokio::process::Child) -> (String, Option<std::net::SocketAddr>) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
        .await
        .expect("the server printed its address in time")
        .expect("read stdout")
        .expect("an address line");
    let base = line.strip_prefix("switchboard listening on ").expect("address line").to_owned();
    let smtp = match tokio::time::timeout(std::time::Duration::from_secs(5), lines.next_line()).await {
        Ok(Ok(Some(line))) => line.strip_prefix("switchboard receiving mail on smtp://").and_then(|a| a.parse().ok()),
        _ => None,
    };
    (base, smtp)
}

/// Reads the line `switchboard serve` prints on stdout once it listens,
/// within 60 s, and returns the base URL in it.
#[allow(dead_code)]
pub async fn listening_address(child: &mut tokio::process::Child) -> String {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let line = tokio::time::timeout(std::time::Duration::from_secs(60), BufReader::new(stdout).lines().next_line())
        .await
        .expect("the server printed its address in time")
        .expect("read stdout")
        .expect("an address line");
    line.strip_prefix("switchboard listening on ").expect("address line").to_owned()
}

/// Runs `switchboard plugin <args>` (against `base` with `token` when
/// given, else offline); returns whether it succeeded, its stdout and its
/// stderr. A user's error must print one line even where backtraces are
/// asked for, so `RUST_BACKTRACE` is set.
pub async fn plugin_cli(base_and_token: Option<(&str, &str)>, args: &[&str]) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env("RUST_BACKTRACE", "1").arg("plugin").args(args);
    if let Some((base, token)) = base_and_token {
        cmd.args(["--url", base, "--token", token]);
    }
    let out = cmd.output().await.expect("run the cli");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Installs `guest` on the server at `base` (with the admin token `token`)
/// and enables it for "ops" with `settings` and `grants`.
pub async fn install_and_enable(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    guest: &switchboard_artifacts::Guest,
    settings: serde_json::Value,
    grants: &[&str],
) {
    let form = plugin_upload(&guest.manifest_text(), guest.wasm_bytes());
    let installed = client
        .post(format!("{base}/api/plugins?wait=true"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(installed.status(), 201);
    // What the plugin asks for and is not granted here is declined.
    let asked: serde_json::Value = installed.json().await.expect("plugin");
    let declined: Vec<&str> = asked["capabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .filter(|c| !grants.contains(c))
        .collect();
    // The fixtures' and examples' plugin ids are their package names.
    let id = guest.name;
    let enabled = client
        .put(format!("{base}/api/teams/ops/plugins/{id}"))
        .bearer_auth(token)
        .json(&serde_json::json!({"settings": settings, "grants": grants, "declined": declined}))
        .send()
        .await
        .expect("enable");
    assert!(enabled.status().is_success(), "enable {id}: {}", enabled.status());
}

/// Polls `check` until it gives a value, for up to 10 s: for what a
/// server does after it answered (a queued delivery, a robot's run).
pub async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    for _ in 0..400 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen in time");
}

/// Reads server-sent events from `answer` until one named `name`.
pub async fn next_event(answer: &mut reqwest::Response, buffer: &mut String, name: &str) -> Value {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if event == name {
                return serde_json::from_str(&data).unwrap_or(Value::String(data));
            }
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), answer.chunk()).await;
        let chunk = chunk.expect("an event within 10 s").expect("stream").expect("open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}
