//! What the load benchmarks share: the real `switchboard` binary (release,
//! as `cargo bench` builds it) on a temporary data directory, with a team
//! to load, and plugins installed and enabled through the API.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The environment variable `name` parsed, or `default` when it is unset
/// or does not parse: how every benchmark takes its knobs.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The admin token the benchmark server is started with.
pub const TOKEN: &str = "bench-admin-token";

/// A running server and what a benchmark needs to talk to it.
pub struct BenchServer {
    /// The server process, killed when this is dropped.
    _child: Child,
    /// Its process id, for reading its CPU time.
    #[allow(dead_code)]
    pub pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The SMTP listener's address, `127.0.0.1:<port>`.
    #[allow(dead_code)]
    pub smtp: String,
    /// A client for the API.
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl BenchServer {
    /// Starts the server with no public rate limit and a team "Load":
    /// this build's binary, or the one `LOAD_BINARY` names (another
    /// commit's build, to compare two builds with the same bench).
    #[allow(dead_code)]
    pub async fn start() -> BenchServer {
        let binary = std::env::var_os("LOAD_BINARY")
            .map_or_else(|| std::path::PathBuf::from(env!("CARGO_BIN_EXE_switchboard")), std::path::PathBuf::from);
        BenchServer::start_binary(&binary).await
    }

    /// [`BenchServer::start`] with another build of the binary (an older
    /// commit's, to compare with in the same run).
    pub async fn start_binary(binary: &std::path::Path) -> BenchServer {
        let server = BenchServer::spawn(binary, &[]).await;
        let team = server.http.post(server.api("/teams")).bearer_auth(TOKEN).json(&json!({"name": "Load"})).send();
        assert_eq!(team.await.expect("team").status(), 201);
        server
    }

    /// Starts `binary` with `args` added to `serve`'s and waits until it
    /// answers; makes no team (servers that share a store share teams).
    pub async fn spawn(binary: &std::path::Path, args: &[&str]) -> BenchServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--public-rate", "0"])
            .args(smtp_args(binary).await)
            .args(args)
            .arg("--data")
            .arg(dir.path().join("data"))
            .env("SWITCHBOARD_ADMIN_TOKEN", TOKEN)
            .env("SWITCHBOARD_LOG", "error")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn");
        let pid = child.id().expect("pid");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = lines.next_line().await.expect("read").expect("line");
        let base = line.strip_prefix("switchboard listening on ").expect("address").to_owned();
        // Builds from before the SMTP listener print one line only.
        let smtp = match tokio::time::timeout(Duration::from_millis(500), lines.next_line()).await {
            Ok(Ok(Some(line))) => line.strip_prefix("switchboard receiving mail on smtp://").unwrap_or("").to_owned(),
            _ => String::new(),
        };
        let http = reqwest::Client::new();
        for _ in 0..500 {
            if http.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        BenchServer { _child: child, pid, base, smtp, http, _dir: dir }
    }

    /// The URL of an API path.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api{path}", self.base)
    }

    /// Installs a component and waits for the install to end.
    pub async fn install(&self, manifest: &str, wasm: Vec<u8>) {
        let form = reqwest::multipart::Form::new()
            .text("manifest", manifest.to_owned())
            .part("component", reqwest::multipart::Part::bytes(wasm).file_name("c.wasm"));
        let installed = self
            .http
            .post(self.api("/plugins?wait=true"))
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
            .await
            .expect("install");
        assert_eq!(installed.status(), 201, "{}", installed.text().await.unwrap_or_default());
    }

    /// Enables a plugin in team "load" with `settings` and `grants`.
    pub async fn enable(&self, plugin: &str, settings: Value, grants: &[&str]) {
        let enabled = self
            .http
            .put(self.api(&format!("/teams/load/plugins/{plugin}")))
            .bearer_auth(TOKEN)
            .json(&json!({"settings": settings, "grants": grants}))
            .send()
            .await
            .expect("enable");
        assert_eq!(enabled.status(), 201, "{plugin}");
    }
}

/// `--smtp 127.0.0.1:0` for builds that have the SMTP listener, so that
/// servers started together do not all want port 2525; nothing for older
/// builds a benchmark compares with.
pub async fn smtp_args(binary: &std::path::Path) -> Vec<&'static str> {
    let help = Command::new(binary).args(["serve", "--help"]).output().await.expect("serve --help");
    if String::from_utf8_lossy(&help.stdout).contains("--smtp") { vec!["--smtp", "127.0.0.1:0"] } else { Vec::new() }
}
