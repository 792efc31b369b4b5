//! The `switchboard` command line: settings from a TOML file, overridden by
//! environment variables and flags; JSON logs on request; clear errors for
//! a bad config file.

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::listening_address;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const TOKEN: &str = "cli-admin-token";

fn switchboard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env_remove("SWITCHBOARD_MAIL_DOMAIN")
        .env_remove("SWITCHBOARD_LISTEN")
        .env_remove("SWITCHBOARD_DATA")
        .env_remove("SWITCHBOARD_LOG_FORMAT")
        .env("SWITCHBOARD_ADMIN_TOKEN", TOKEN)
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn file_env_and_flags_layer_in_that_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("switchboard.toml");
    let data = dir.path().join("data-from-file");
    std::fs::write(
        &config,
        format!(
            "data = \"{}\"\nlisten = \"127.0.0.1:0\"\nsmtp = \"127.0.0.1:0\"\nmail_domain = \"file.example\"\nlog_format = \"json\"\n",
            data.display()
        ),
    )
    .expect("write config");
    let mut child = switchboard()
        .args(["serve", "--config"])
        .arg(&config)
        .env("SWITCHBOARD_MAIL_DOMAIN", "env.example")
        .env("SWITCHBOARD_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let base = listening_address(&mut child).await;
    let client = reqwest::Client::new();
    let mut created = None;
    for _ in 0..500 {
        if let Ok(r) =
            client.post(format!("{base}/api/teams")).bearer_auth(TOKEN).json(&json!({"name": "Ops"})).send().await
        {
            created = Some(r.json::<Value>().await.expect("json"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let team = created.expect("server answered");
    // The environment beats the file; the file's data directory is used.
    assert_eq!(team["alias_address"], "ops@env.example");
    assert!(data.join("db").is_dir(), "data directory from the config file");
    child.start_kill().expect("kill");
    // Logs went to stderr as JSON lines.
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let first = stderr.next_line().await.expect("read").expect("a log line");
    let parsed: Value = serde_json::from_str(&first).expect("log line is JSON");
    assert!(parsed["level"].is_string() && parsed["fields"].is_object(), "{first}");

    // A flag beats the environment.
    let mut child = switchboard()
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--mail-domain", "flag.example", "--data"])
        .arg(dir.path().join("other"))
        .env("SWITCHBOARD_MAIL_DOMAIN", "env.example")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let base = listening_address(&mut child).await;
    let mut team = Value::Null;
    for _ in 0..500 {
        if let Ok(r) =
            client.post(format!("{base}/api/teams")).bearer_auth(TOKEN).json(&json!({"name": "Ops"})).send().await
        {
            team = r.json().await.expect("json");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(team["alias_address"], "ops@flag.example");
    child.start_kill().expect("kill");
}

#[tokio::test]
async fn bad_config_file_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\ncolour = \"red\"\n").expect("write");
    let out = switchboard().args(["serve", "--config"]).arg(&config).output().await.expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("colour"), "{err}");

    let missing = switchboard().args(["serve", "--config", "/nonexistent/x.toml"]).output().await.expect("run");
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success() && err.contains("/nonexistent/x.toml"), "{err}");
}

/// `--store` names a backend; anything else is refused before the server
/// starts, with the password of a URL kept out of the message, and a
/// database that cannot be reached is named rather than waited for.
#[tokio::test]
async fn a_bad_store_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = switchboard()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--smtp",
            "127.0.0.1:0",
            "--store",
            "mysql://root:hunter2@db/x",
            "--data",
        ])
        .arg(dir.path())
        .output()
        .await
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("unknown store \"mysql://root:***@db/x\""), "{err}");
    assert!(!err.contains("hunter2"), "{err}");

    // A port nothing listens on: the kernel refuses at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("postgres://switchboard:hunter2@127.0.0.1:{port}/helpdesk");
    let out = switchboard()
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--store", &url, "--data"])
        .arg(dir.path())
        .output()
        .await
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no database connection"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// `--bus` takes a NATS URL, and a NATS server that cannot be reached stops
/// the start with its reason rather than leaving a server that would not
/// hear the others.
#[tokio::test]
async fn a_bad_bus_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |bus: String| {
        let mut command = switchboard();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--bus", &bus, "--data"])
            .arg(dir.path());
        async move { command.output().await.expect("run") }
    };
    let out = run("http://nats.example:4222".into()).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("\"http://nats.example:4222\" is not a nats:// URL"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), run(format!("nats://127.0.0.1:{port}")))
        .await
        .expect("the start gives up in time");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("cannot connect to NATS"), "{err}");
}

/// `--public-url` must be an absolute http or https address; anything else
/// stops the start, naming it.
#[tokio::test]
async fn a_bad_public_url_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = switchboard()
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "off", "--public-url", "help.example.com", "--data"])
        .arg(dir.path())
        .output()
        .await
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("public url \"help.example.com\""), "{err}");
}

/// Starts the binary with piped stdout and stderr, returning it, its base
/// URL, and the stderr lines collected so far.
async fn start_logged(
    data: &std::path::Path,
) -> (tokio::process::Child, String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let mut child = switchboard()
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("SWITCHBOARD_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let base = listening_address(&mut child).await;
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&log);
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            sink.lock().expect("log").push(line);
        }
    });
    let client = reqwest::Client::new();
    for _ in 0..1000 {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (child, base, log)
}

async fn cli(base: &str, args: &[&str]) -> (bool, String, String) {
    support::plugin_cli(Some((base, TOKEN)), args).await
}

#[tokio::test]
async fn plugin_commands_work_through_the_api_and_guest_output_is_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, base, log) = start_logged(dir.path()).await;
    let client = reqwest::Client::new();
    let team = client
        .post(format!("{base}/api/teams"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Ops"}))
        .send()
        .await
        .expect("team");
    assert_eq!(team.status(), 201);

    let fixture = switchboard_artifacts::MISBEHAVE_CHANNEL;
    let (ok, out, err) = cli(&base, &["install", "--manifest", fixture.manifest, "--component", fixture.wasm]).await;
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).expect("json")["id"], "misbehave-channel");
    let (ok, out, _) = cli(&base, &["list"]).await;
    assert!(ok && out.contains("\"misbehave-channel\""), "{out}");
    let (ok, _, err) = cli(&base, &["enable", "misbehave-channel", "--team", "ops", "--grant", "sockets"]).await;
    assert!(!ok && err.contains("\"sockets\""), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line, no backtrace: {err}");
    assert!(err.starts_with("error: "), "{err}");
    let (ok, _, err) =
        cli(&base, &["enable", "misbehave-channel", "--team", "ops", "--grant", "tickets", "--cpu-ms", "200"]).await;
    assert!(!ok && err.contains("grant or decline each"), "{err}");
    let (ok, out, err) = cli(
        &base,
        &[
            "enable",
            "misbehave-channel",
            "--team",
            "ops",
            "--grant",
            "tickets",
            "--decline",
            "http:allowed.example",
            "--decline",
            "http:127.0.0.1",
            "--cpu-ms",
            "200",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).expect("json")["limits"]["cpu_ms"], 200);

    let printed = client.get(format!("{base}/c/ops/misbehave-channel/print")).send().await.expect("print");
    assert_eq!(printed.status(), 200);
    // A public failure: the caller gets a request id, and the log has the
    // cause under it.
    let trapped = client.get(format!("{base}/c/ops/misbehave-channel/trap")).send().await.expect("trap");
    assert_eq!(trapped.status(), 502);
    let request_id = trapped.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    let logged = |log: &std::sync::Arc<std::sync::Mutex<Vec<String>>>| {
        log.lock().expect("log").iter().any(|l| l.contains(&request_id) && l.contains("crashed"))
    };
    for _ in 0..200 {
        if logged(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(logged(&log), "no log line with {request_id} and the cause: {:?}", log.lock().expect("log"));
    let (ok, _, err) = cli(&base, &["remove", "misbehave-channel"]).await;
    assert!(!ok && err.contains("enabled for 1 teams"), "{err}");
    let (ok, _, err) = cli(&base, &["disable", "misbehave-channel", "--team", "ops"]).await;
    assert!(ok, "{err}");
    let gone = client.get(format!("{base}/c/ops/misbehave-channel/print")).send().await.expect("print");
    assert_eq!(gone.status(), 404);

    // The guest's stdout and stderr went to the server log, one event per
    // line, tagged with the plugin and the team.
    let mut found = (false, false);
    for _ in 0..200 {
        let lines = log.lock().expect("log").clone();
        let tagged = |needle: &str| {
            lines.iter().any(|l| l.contains(needle) && l.contains("misbehave-channel") && l.contains("team=ops"))
        };
        found = (tagged("hello from the guest's stdout"), tagged("and from its stderr"));
        if found == (true, true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(found, (true, true), "guest output missing from the log: {:?}", log.lock().expect("log"));
    child.start_kill().expect("kill");
}

#[tokio::test]
async fn without_room_for_the_instance_pool_plugins_still_run() {
    // A 16 GB address-space limit leaves no room for the pooling
    // allocator's reservation, so the runtime must fall back to allocating
    // instances on demand, and say so.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -v 16000000 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .env("SWITCHBOARD_ADMIN_TOKEN", TOKEN)
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let base = listening_address(&mut child).await;
    let client = reqwest::Client::new();
    let mut metrics = String::new();
    for _ in 0..1000 {
        if let Ok(r) = client.get(format!("{base}/metrics")).bearer_auth(TOKEN).send().await {
            metrics = r.text().await.expect("text");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(metrics.contains("switchboard_plugin_pooling 0"), "{metrics}");

    let team = client
        .post(format!("{base}/api/teams"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Ops"}))
        .send()
        .await
        .expect("team");
    assert_eq!(team.status(), 201);
    let guest = switchboard_artifacts::HELLO_CHANNEL;
    let (ok, _, err) = cli(&base, &["install", "--manifest", guest.manifest, "--component", guest.wasm]).await;
    assert!(ok, "{err}");
    let (ok, _, err) =
        cli(&base, &["enable", "hello-channel", "--team", "ops", "--grant", "tickets", "--grant", "storage"]).await;
    assert!(ok, "{err}");
    let created = client
        .post(format!("{base}/c/ops/hello-channel/"))
        .json(&json!({"title": "on demand"}))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    child.start_kill().expect("kill");
}

/// The README's table of settings states each default; they are the ones
/// `Config::new` gives, so the table cannot drift from the code.
#[test]
fn the_readme_states_the_defaults_the_server_uses() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
    // The default column's first value in backquotes, by file key.
    let stated = |key: &str| -> String {
        let row = readme
            .lines()
            .find(|line| line.starts_with('|') && line.contains(&format!("| `{key}` |")))
            .unwrap_or_else(|| panic!("no README row for {key}"));
        let default = row.trim_end_matches('|').rsplit('|').next().expect("default column");
        default.split('`').nth(1).unwrap_or_else(|| panic!("no default in {row}")).to_owned()
    };
    let config = switchboard_server::Config::new("./data");
    assert_eq!(stated("data"), config.data_dir.display().to_string());
    assert_eq!(stated("mail_domain"), config.mail_domain);
    assert_eq!(stated("body_limit"), config.body_limit.to_string());
    assert_eq!(stated("sla_sweep_seconds"), config.sla_sweep_interval.as_secs().to_string());
    assert_eq!(stated("robot_lease_seconds"), config.robot_lease.as_secs().to_string());
    assert_eq!(stated("public_rate"), config.public_rate.to_string());
    assert_eq!(stated("store_cache_mb"), (config.store_cache_bytes / (1024 * 1024)).to_string());
    assert_eq!(stated("plugin_instances"), config.plugin_instances.to_string());
    assert_eq!(stated("secret_key_file"), config.secret_key_file.display().to_string());
    assert_eq!(stated("smtp_max_bytes"), config.smtp.max_message_bytes.to_string());
    // Settings with no default still have their row.
    for key in ["country_db", "public_url", "trusted_proxies", "relay"] {
        assert!(readme.contains(&format!("| `{key}` |")), "no README row for {key}");
    }
    // The SMTP limits the e-mail section names.
    let smtp = &config.smtp;
    let limits = format!(
        "messages being read at once share {} MiB, and one\n  that does not fit is refused for now (452). A client may hold {}\n  sessions, {} recipients a message, {} idle minutes and {} minutes a\n  session.",
        smtp.max_buffered_bytes / (1024 * 1024),
        smtp.max_sessions_per_client,
        smtp.max_recipients,
        smtp.idle_timeout.as_secs() / 60,
        smtp.session_timeout.as_secs() / 60,
    );
    assert!(readme.contains(&limits), "the README states the SMTP limits as:\n{limits}");
}

/// Runs cargo in a scaffolded project with the guests' target directory, so
/// that the SDK and its dependencies are not built again.
async fn cargo_in(project: &std::path::Path, args: &[&str]) {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/guests"));
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_BUILD_RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    let out = cmd.output().await.expect("run cargo");
    assert!(out.status.success(), "cargo {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// `plugin new` makes a channel and a robot that pass their own tests,
/// build, install and work unchanged: the channel opens a ticket, the robot
/// adds a note to it.
#[tokio::test]
async fn scaffolded_plugins_build_install_and_work_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, _, err) = cli("http://unused", &["new", "--kind", "channel", "Not An Id", "--dir", "x"]).await;
    assert!(!ok && err.contains("is not a plugin id"), "{err}");
    for (kind, name) in [("channel", "first-hook"), ("robot", "first-robot")] {
        let project = dir.path().join(name);
        let (ok, out, err) =
            cli("http://unused", &["new", "--kind", kind, name, "--dir", &project.to_string_lossy()]).await;
        assert!(ok, "{err}");
        assert!(out.contains(&format!("made the {kind} \"{name}\"")), "{out}");
        let (ok, _, err) =
            cli("http://unused", &["new", "--kind", kind, name, "--dir", &project.to_string_lossy()]).await;
        assert!(!ok && err.contains("is not empty"), "a second run does not overwrite: {err}");
        cargo_in(&project, &["test", "-q"]).await;
        cargo_in(&project, &["build", "-q", "--release", "--target", "wasm32-wasip2"]).await;
    }

    let (mut child, base, _log) = start_logged(&dir.path().join("data")).await;
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{base}/api{path}");
    let team = client.post(api("/teams")).bearer_auth(TOKEN).json(&json!({"name": "Ops"})).send().await.expect("team");
    assert_eq!(team.status(), 201);
    let wasm = |name: &str| {
        format!(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/guests/wasm32-wasip2/release/{}.wasm"),
            name.replace('-', "_")
        )
    };
    for name in ["first-hook", "first-robot"] {
        let manifest = dir.path().join(name).join("plugin.toml");
        let (ok, out, err) =
            cli(&base, &["install", "--manifest", &manifest.to_string_lossy(), "--component", &wasm(name)]).await;
        assert!(ok, "{err}");
        assert!(err.contains("installed after"), "the install's phases are shown: {err}");
        assert_eq!(serde_json::from_str::<Value>(&out).expect("json")["id"], name);
        let (ok, _, err) = cli(&base, &["enable", name, "--team", "ops", "--grant", "tickets"]).await;
        assert!(ok, "{err}");
    }
    let created = client
        .post(format!("{base}/c/ops/first-hook/"))
        .json(&json!({"title": "My first ticket"}))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    let ticket = created.json::<Value>().await.expect("json")["ticket"].as_u64().expect("ticket");
    let run = client
        .post(api(&format!("/tickets/{ticket}/robots/first-robot")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("run");
    assert_eq!(run.json::<Value>().await.expect("json")["outcome"], "done");
    let thread: Value = client
        .get(api(&format!("/tickets/{ticket}/messages")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("thread")
        .json()
        .await
        .expect("json");
    let notes: Vec<&str> = thread.as_array().expect("list").iter().filter_map(|m| m["body"].as_str()).collect();
    assert!(notes.contains(&format!("first-robot ran on ticket {ticket}").as_str()), "{notes:?}");
    child.start_kill().expect("kill");
}

/// `serve --demo` shows what the product does: the Demo team has every
/// shipped channel enabled with working settings, and start-up names the
/// address of each public page, which answers.
#[tokio::test]
async fn the_demo_enables_every_shipped_channel_and_names_its_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = switchboard()
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env("SWITCHBOARD_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let base = listening_address(&mut child).await;
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (mut pages, mut mailed) = (Vec::new(), Vec::new());
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(60), stderr.next_line()).await {
        if let Some(page) = line.split("public page: ").nth(1) {
            pages.push(page.trim().to_owned());
        }
        if let Some(to) = line.split("mail to: ").nth(1) {
            mailed.push(to.trim().to_owned());
        }
        if line.contains("serving") {
            break;
        }
    }
    let shipped: Vec<String> = switchboard_artifacts::BUNDLED
        .iter()
        .filter(|b| b.manifest.contains("kind = \"channel\""))
        .map(|b| {
            let id = b.manifest.lines().find_map(|l| l.strip_prefix("id = \"")?.strip_suffix('"')).expect("id");
            format!("{base}/c/demo/{id}/")
        })
        .collect();
    assert!(!shipped.is_empty());
    // The e-mail channel is reached by mail, at the demo team's alias.
    assert_eq!(mailed, ["demo@localhost (email-alias)"]);
    // WhatsApp needs a Meta business number and its secrets: the demo
    // cannot make those up, so it leaves the channel off.
    let shipped: Vec<String> =
        shipped.into_iter().filter(|p| !p.ends_with("/email-alias/") && !p.ends_with("/whatsapp/")).collect();
    assert_eq!(pages, shipped, "every shipped channel's page is named at start");
    for page in &pages {
        let answer = reqwest::get(page).await.expect("page");
        assert_eq!(answer.status(), 200, "{page}");
        let html = answer.text().await.expect("html");
        // The web form serves its form; the live chat its chat window's page.
        assert!(html.contains("<form") || html.contains("widget.js"), "{page} serves its page: {html}");
    }
    child.start_kill().expect("kill");
}

/// `--smtp off` runs no listener, and a bad `--smtp` or `--relay` is
/// refused at start with the reason.
#[tokio::test]
async fn smtp_can_be_turned_off_and_bad_mail_settings_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = switchboard()
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "off", "--data"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let (_base, smtp) = support::listening_addresses(&mut child).await;
    assert_eq!(smtp, None, "no SMTP listener");
    child.start_kill().expect("kill");
    // Without --smtp it listens where the README says.
    let mut child = switchboard()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data3"))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let (_base, smtp) = support::listening_addresses(&mut child).await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
    let row = readme.lines().find(|l| l.contains("| `smtp` |")).expect("the README's smtp row");
    assert!(row.contains(&format!("`{}`", smtp.expect("a listener"))), "{row}");
    child.start_kill().expect("kill");
    for (args, needle) in [
        (["--smtp", "localhost", "--mail-domain", "x.example"], "invalid --smtp \"localhost\""),
        (["--smtp", "127.0.0.1:0", "--relay", "http://user:hunter2@mx.example"], "the scheme must be smtp"),
    ] {
        let out = switchboard()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .arg("--data")
            .arg(dir.path().join("data2"))
            .output()
            .await
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("hunter2"), "the relay's password is not shown: {err}");
    }
}
