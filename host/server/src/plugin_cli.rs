//! `switchboard plugin …`: plugin administration through the HTTP API, so
//! that it works against a running server, local or remote.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Where the API is and how to log in.
#[derive(Args)]
pub struct ApiArgs {
    /// The server's base URL.
    #[arg(long, env = "SWITCHBOARD_URL", default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// An admin token; read from `--token-file` when absent.
    #[arg(long, env = "SWITCHBOARD_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// A file holding the admin token.
    #[arg(long, default_value = "data/admin-token", global = true)]
    token_file: PathBuf,
}

/// Plugin commands.
#[derive(Subcommand)]
pub enum PluginCommand {
    /// Install (or upgrade) a plugin from its manifest and component.
    Install {
        /// The manifest, `plugin.toml`.
        #[arg(long)]
        manifest: PathBuf,
        /// The component, a `.wasm` file.
        #[arg(long)]
        component: PathBuf,
    },
    /// List installed plugins.
    List,
    /// Enable a plugin for a team, or change its settings and grants.
    Enable {
        /// The plugin's id.
        id: String,
        /// The team's slug.
        #[arg(long)]
        team: String,
        /// Settings as JSON.
        #[arg(long, default_value = "{}")]
        settings: String,
        /// A capability to grant; repeat for several.
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// A capability the plugin asks for that is not granted; repeat for
        /// several. Each capability asked for is granted or declined.
        #[arg(long = "decline")]
        declined: Vec<String>,
        /// CPU time per call, in milliseconds.
        #[arg(long)]
        cpu_ms: Option<u32>,
        /// Memory per call, in MiB.
        #[arg(long)]
        memory_mib: Option<u32>,
    },
    /// Disable a plugin for a team.
    Disable {
        /// The plugin's id.
        id: String,
        /// The team's slug.
        #[arg(long)]
        team: String,
    },
    /// Uninstall a plugin that no team has enabled.
    Remove {
        /// The plugin's id.
        id: String,
    },
}

impl ApiArgs {
    fn token(&self) -> anyhow::Result<String> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let text = std::fs::read_to_string(&self.token_file)
            .with_context(|| format!("no --token given and cannot read \"{}\"", self.token_file.display()))?;
        Ok(text.trim().to_owned())
    }
}

/// Prints a JSON answer, or fails with the API's error detail.
async fn finish(response: reqwest::Response) -> anyhow::Result<()> {
    let status = response.status();
    let text = response.text().await.context("reading the answer")?;
    if !status.is_success() {
        let detail = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["detail"].as_str().map(str::to_owned))
            .unwrap_or(text);
        bail!("{status}: {detail}");
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Err(_) if text.is_empty() => println!("done"),
        Err(_) => println!("{text}"),
    }
    Ok(())
}

/// Runs a plugin command.
pub async fn run(api: ApiArgs, command: PluginCommand) -> anyhow::Result<()> {
    let token = api.token()?;
    let client = reqwest::Client::new();
    let base = api.url.trim_end_matches('/').to_owned();
    let url = |path: &str| format!("{base}{path}");
    let (token, base) = (&token, &base);
    let send = |req: reqwest::RequestBuilder| async move {
        req.bearer_auth(token).send().await.with_context(|| format!("cannot reach {base}"))
    };
    let response = match command {
        PluginCommand::Install { manifest, component } => {
            let manifest_text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("cannot read manifest \"{}\"", manifest.display()))?;
            let wasm = std::fs::read(&component)
                .with_context(|| format!("cannot read component \"{}\"", component.display()))?;
            let form = reqwest::multipart::Form::new()
                .text("manifest", manifest_text)
                .part("component", reqwest::multipart::Part::bytes(wasm).file_name("component.wasm"));
            send(client.post(url("/api/plugins")).multipart(form)).await?
        }
        PluginCommand::List => send(client.get(url("/api/plugins"))).await?,
        PluginCommand::Enable { id, team, settings, grants, declined, cpu_ms, memory_mib } => {
            let settings: Value = serde_json::from_str(&settings).context("--settings is not JSON")?;
            let mut body = json!({"settings": settings, "grants": grants, "declined": declined});
            if cpu_ms.is_some() || memory_mib.is_some() {
                body["limits"] = json!({"cpu_ms": cpu_ms.unwrap_or(100), "memory_mib": memory_mib.unwrap_or(64)});
            }
            send(client.put(url(&format!("/api/teams/{team}/plugins/{id}"))).json(&body)).await?
        }
        PluginCommand::Disable { id, team } => {
            send(client.delete(url(&format!("/api/teams/{team}/plugins/{id}")))).await?
        }
        PluginCommand::Remove { id } => send(client.delete(url(&format!("/api/plugins/{id}")))).await?,
    };
    finish(response).await
}
