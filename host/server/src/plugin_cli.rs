//! `switchboard plugin …`: plugin administration through the HTTP API, so
//! that it works against a running server, local or remote.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use switchboard_server::bundle::{Bundle, VendorKey};

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
    /// Install (or upgrade) a plugin from its manifest and component, or
    /// from a bundle.
    Install {
        /// The manifest, `plugin.toml`.
        #[arg(long, required_unless_present = "bundle", conflicts_with = "bundle")]
        manifest: Option<PathBuf>,
        /// The component, a `.wasm` file.
        #[arg(long, required_unless_present = "bundle", conflicts_with = "bundle")]
        component: Option<PathBuf>,
        /// A bundle made by `plugin pack`, signed by `plugin sign`.
        #[arg(long)]
        bundle: Option<PathBuf>,
    },
    /// Make a bundle of a plugin's manifest, component and README, to sign
    /// and ship as one file. Works offline.
    Pack {
        /// The manifest, `plugin.toml`.
        #[arg(long)]
        manifest: PathBuf,
        /// The component, a `.wasm` file.
        #[arg(long)]
        component: PathBuf,
        /// The README to ship with it.
        #[arg(long)]
        readme: PathBuf,
        /// Where to write the bundle.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a bundle, in place, with a vendor key from `plugin keygen`.
    /// Works offline.
    Sign {
        /// The bundle.
        bundle: PathBuf,
        /// The vendor key file.
        #[arg(long)]
        key: PathBuf,
    },
    /// Make a new plugin project that builds and installs as it is. Works
    /// offline.
    New {
        /// `channel` or `robot`.
        #[arg(long, value_enum)]
        kind: crate::plugin_new::Kind,
        /// The plugin's id, which also names the project.
        name: String,
        /// Where to make it [default: ./NAME].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The SDK folder of a Switchboard checkout [default: the one this binary was built from].
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Make a vendor signing key: writes the secret key to FILE (readable
    /// by you only) and the public key, for admins to trust, to FILE.pub.
    /// Works offline.
    Keygen {
        /// Where to write the secret key.
        #[arg(long)]
        out: PathBuf,
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
        /// Public route: requests per second per client (0: no limit).
        #[arg(long)]
        public_rate: Option<u32>,
        /// Public route: requests a client may send at once.
        #[arg(long)]
        public_burst: Option<u32>,
        /// Public route: the largest request body, in bytes.
        #[arg(long)]
        public_body_bytes: Option<u32>,
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
    /// The URL of an API path on the server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url.trim_end_matches('/'))
    }

    /// Sends `request` with the token; an error names the server.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let token = self.token()?;
        request.bearer_auth(token).send().await.with_context(|| format!("cannot reach {}", self.url))
    }

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
pub(crate) async fn finish(response: reqwest::Response) -> anyhow::Result<()> {
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
    let command = match command {
        PluginCommand::Pack { manifest, component, readme, out } => return pack(&manifest, &component, &readme, &out),
        PluginCommand::Sign { bundle, key } => return sign(&bundle, &key),
        PluginCommand::Keygen { out } => return keygen(&out),
        PluginCommand::New { kind, name, dir, sdk } => return crate::plugin_new::run(kind, &name, dir, sdk),
        online => online,
    };
    let token = api.token()?;
    let client = reqwest::Client::new();
    let base = api.url.trim_end_matches('/').to_owned();
    let url = |path: &str| format!("{base}{path}");
    let (token, base) = (&token, &base);
    let send = |req: reqwest::RequestBuilder| async move {
        req.bearer_auth(token).send().await.with_context(|| format!("cannot reach {base}"))
    };
    let response = match command {
        PluginCommand::Install { manifest, component, bundle } => {
            let form = match (bundle, manifest, component) {
                (Some(bundle), _, _) => {
                    let bytes = read(&bundle, "bundle")?;
                    reqwest::multipart::Form::new()
                        .part("bundle", reqwest::multipart::Part::bytes(bytes).file_name("plugin.bundle"))
                }
                (None, Some(manifest), Some(component)) => {
                    reqwest::multipart::Form::new().text("manifest", read_text(&manifest, "manifest")?).part(
                        "component",
                        reqwest::multipart::Part::bytes(read(&component, "component")?).file_name("component.wasm"),
                    )
                }
                _ => bail!("give --manifest and --component, or --bundle"),
            };
            let accepted = send(client.post(url("/api/plugins")).multipart(form)).await?;
            if accepted.status() != reqwest::StatusCode::ACCEPTED {
                return finish(accepted).await;
            }
            let job: Value = accepted.json().await.context("reading the install job")?;
            return follow_install(&client, base, token, &job).await;
        }
        PluginCommand::List => send(client.get(url("/api/plugins"))).await?,
        PluginCommand::Enable {
            id,
            team,
            settings,
            grants,
            declined,
            cpu_ms,
            memory_mib,
            public_rate,
            public_burst,
            public_body_bytes,
        } => {
            let settings: Value = serde_json::from_str(&settings).context("--settings is not JSON")?;
            let mut body = json!({"settings": settings, "grants": grants, "declined": declined});
            if cpu_ms.is_some() || memory_mib.is_some() {
                body["limits"] = json!({"cpu_ms": cpu_ms.unwrap_or(100), "memory_mib": memory_mib.unwrap_or(64)});
            }
            if public_rate.is_some() || public_burst.is_some() || public_body_bytes.is_some() {
                body["public_limits"] =
                    json!({"rate": public_rate, "burst": public_burst, "body_bytes": public_body_bytes});
            }
            send(client.put(url(&format!("/api/teams/{team}/plugins/{id}"))).json(&body)).await?
        }
        PluginCommand::Disable { id, team } => {
            send(client.delete(url(&format!("/api/teams/{team}/plugins/{id}")))).await?
        }
        PluginCommand::Remove { id } => send(client.delete(url(&format!("/api/plugins/{id}")))).await?,
        PluginCommand::Pack { .. }
        | PluginCommand::Sign { .. }
        | PluginCommand::Keygen { .. }
        | PluginCommand::New { .. } => {
            unreachable!("offline commands return above")
        }
    };
    finish(response).await
}

/// Follows an install job until it ends, telling the user each phase on
/// stderr, then prints the plugin, or fails with the install's error.
async fn follow_install(client: &reqwest::Client, base: &str, token: &str, job: &Value) -> anyhow::Result<()> {
    let id = job["id"].as_str().context("the install job has no id")?;
    let what = format!(
        "{} {} ({} bytes)",
        job["plugin"].as_str().unwrap_or("?"),
        job["version"].as_str().unwrap_or("?"),
        job["size"]
    );
    let mut shown = String::new();
    loop {
        let response = client
            .get(format!("{base}/api/plugin-installs/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?;
        if !response.status().is_success() {
            return finish(response).await;
        }
        let job: Value = response.json().await.context("reading the install job")?;
        let phase = job["phase"].as_str().unwrap_or("?").to_owned();
        if phase != shown {
            eprintln!("{what}: {} after {} ms", phase.replace('_', " "), job["elapsed_ms"]);
            shown = phase;
        }
        match shown.as_str() {
            "installed" => {
                println!("{}", serde_json::to_string_pretty(&job["plugin_record"])?);
                return Ok(());
            }
            "failed" => {
                let detail = job["error"]["detail"].as_str().unwrap_or("the install failed");
                bail!("{}: {detail}", job["status"]);
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} \"{}\"", path.display()))
}

fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} \"{}\"", path.display()))
}

/// Writes `bytes` to `path`, readable by its owner only when `private`.
fn write(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut file = options.open(path).with_context(|| format!("cannot write \"{}\"", path.display()))?;
    std::io::Write::write_all(&mut file, bytes).with_context(|| format!("cannot write \"{}\"", path.display()))
}

/// `plugin pack`: checks the manifest as the server would, then writes the
/// bundle.
fn pack(manifest: &Path, component: &Path, readme: &Path, out: &Path) -> anyhow::Result<()> {
    let text = read_text(manifest, "manifest")?;
    let parsed = switchboard_server::parse_manifest(&text)
        .map_err(|(field, reason)| anyhow::anyhow!("{}: {field}: {reason}", manifest.display()))?;
    let bundle = Bundle::new(text, read(component, "component")?, read_text(readme, "README")?);
    write(out, &bundle.to_bytes(), false)?;
    println!("packed {} {} into {} (unsigned)", parsed.id, parsed.version, out.display());
    Ok(())
}

/// `plugin sign`: signs a bundle in place.
fn sign(path: &Path, key: &Path) -> anyhow::Result<()> {
    let mut bundle = Bundle::parse(&read(path, "bundle")?).with_context(|| format!("\"{}\"", path.display()))?;
    let seed = hex::decode(read_text(key, "key")?.trim())
        .ok()
        .filter(|s| s.len() == 32)
        .with_context(|| format!("\"{}\" is not a key from `switchboard plugin keygen`", key.display()))?;
    let key = VendorKey::from_seed(&seed).map_err(anyhow::Error::msg)?;
    bundle.sign(&key);
    write(path, &bundle.to_bytes(), false)?;
    println!("signed {} with key {}", path.display(), hex::encode(key.public()));
    Ok(())
}

/// `plugin keygen`: a new vendor key.
fn keygen(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("\"{}\" exists; refusing to overwrite a key", out.display());
    }
    let (key, seed) = VendorKey::generate().map_err(anyhow::Error::msg)?;
    write(out, format!("{}\n", hex::encode(seed)).as_bytes(), true)?;
    let public = hex::encode(key.public());
    let mut public_path = out.as_os_str().to_owned();
    public_path.push(".pub");
    write(Path::new(&public_path), format!("{public}\n").as_bytes(), false)?;
    println!("{public}");
    eprintln!(
        "wrote the secret key to {} (keep it safe) and the public key to {}; admins trust it with --trusted-key {public}",
        out.display(),
        Path::new(&public_path).display()
    );
    Ok(())
}
