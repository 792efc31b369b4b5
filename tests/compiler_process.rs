//! The `switchboard` binary compiles plugins in a process of its own, at
//! the lowest priority, so that a long compile never shares the serving
//! process (see the runtime's `compile.rs`). These tests run the real
//! binary: the server, and the compiler it starts.

#[allow(dead_code)]
#[path = "../benches/support/large_component.rs"]
mod large_component;
mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use support::{install_and_enable, plugin_upload, spawn_server_logging};
use tokio::io::AsyncWriteExt;

const TOKEN: &str = "compiler-admin-token";

/// The one engine directory under the server's plugin cache: its name is
/// the engine key a compiler must make code for.
fn engine_dir(data: &std::path::Path) -> std::path::PathBuf {
    let mut dirs: Vec<_> = std::fs::read_dir(data.join("plugin-cache"))
        .expect("the plugin cache")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.remove(0)
}

#[tokio::test]
async fn the_server_compiles_in_a_compiler_process_and_reports_its_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    let (server, base) = spawn_server_logging(&data, TOKEN, &[("SWITCHBOARD_LOG", "info")], &log).await;
    let client = reqwest::Client::new();
    let team = client.post(format!("{base}/api/teams")).bearer_auth(TOKEN).json(&json!({"name": "Ops"})).send();
    assert_eq!(team.await.expect("team").status(), 201);
    let guest = &switchboard_artifacts::HELLO_CHANNEL;
    install_and_enable(&client, &base, TOKEN, guest, json!({}), &["tickets", "storage"]).await;

    // The log names the compiler process, which is not the server.
    let text = std::fs::read_to_string(&log).expect("log");
    let line = text
        .lines()
        .find(|l| l.contains("compiled in a compiler process") && l.contains("hello-channel"))
        .unwrap_or_else(|| panic!("no compiler process in the log:\n{text}"));
    let pid = line.split("compiler_pid=").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("a pid");
    assert_ne!(pid, server.id().expect("server pid").to_string());
    let sha = switchboard_runtime::sha256_hex(&guest.wasm_bytes());
    assert!(engine_dir(&data).join(format!("{sha}.cwasm")).is_file(), "the compiled code is in the cache");

    // The plugin it compiled serves.
    let opened = client
        .post(format!("{base}/c/ops/hello-channel/"))
        .json(&json!({"title": "compiled elsewhere"}))
        .send()
        .await
        .expect("public");
    assert_eq!(opened.status(), 201, "{}", opened.text().await.unwrap_or_default());

    // What the compiler refuses comes back as the client's mistake, with
    // the compiler's reason, and leaves nothing behind.
    let form = plugin_upload(&guest.manifest_text(), b"\0asm\x0d\0\x01\0 truncated".to_vec());
    let refused = client.post(format!("{base}/api/plugins?wait=true")).bearer_auth(TOKEN).multipart(form).send().await;
    let refused = refused.expect("install");
    assert_eq!(refused.status(), 422);
    let body: serde_json::Value = refused.json().await.expect("json");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("is not a valid component") && detail.len() > 60, "{body}");
    let leftovers: Vec<_> = std::fs::read_dir(engine_dir(&data))
        .expect("cache")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".cwasm"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Reads the scheduling policy of a process from `/proc/<pid>/sched`.
fn policy(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/sched")).ok()?;
    text.lines().find(|l| l.starts_with("policy")).and_then(|l| l.split(':').nth(1)).and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn the_compiler_runs_at_idle_priority_and_refuses_another_engine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (child, _base) = spawn_server_logging(&data, TOKEN, &[], &dir.path().join("log")).await;
    let engine = engine_dir(&data);
    let key = engine.file_name().expect("name").to_string_lossy().into_owned();
    let out = dir.path().join("out.cwasm");
    let compiler = |engine: &str| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command.args(["compile-component", "--pooling", "--engine", engine, "--out"]).arg(&out);
        command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        command
    };

    // While it waits for its input the process is already at SCHED_IDLE
    // (policy 5), as every thread it starts will be.
    let mut running = compiler(&key).spawn().expect("spawn the compiler");
    let pid = running.id().expect("pid");
    let mut seen = None;
    for _ in 0..200 {
        seen = policy(pid);
        if seen == Some(5) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(seen, Some(5), "the compiler's scheduling policy");
    let mut stdin = running.stdin.take().expect("stdin");
    stdin.write_all(&switchboard_artifacts::HELLO_CHANNEL.wasm_bytes()).await.expect("write");
    drop(stdin);
    let done = running.wait_with_output().await.expect("wait");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(std::fs::metadata(&out).expect("the precompiled file").len() > 1000);

    // Code for another engine would not load in the server: refused.
    let mut other = compiler("0123456789abcdef01234567").spawn().expect("spawn");
    drop(other.stdin.take());
    let done = other.wait_with_output().await.expect("wait");
    assert!(!done.status.success());
    let said = String::from_utf8_lossy(&done.stderr);
    assert!(said.contains(&format!("makes code for engine \"{key}\", not \"0123456789abcdef01234567\"")), "{said}");
    drop(child);
}

/// The pid of the compiler process the server `server` started, if one
/// runs now.
fn compiler_of(server: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
        let parent = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        let ppid: u32 = parent.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()?;
        (ppid == server && cmdline.windows(17).any(|w| w == b"compile-component")).then_some(pid)
    })
}

/// The state letter of a process (`R`, `S`, `T` for stopped, ...).
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().next()?.chars().next()
}

/// The CPU time a process has used, in clock ticks (user and system).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    // After the name: state is field 0, utime 11 and stime 12.
    [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum()
}

/// Samples a process's state every 5 ms for `span`: how many samples were
/// stopped, and how many were taken.
async fn stopped_share(pid: u32, span: Duration) -> (usize, usize) {
    let (mut stopped, mut seen) = (0, 0);
    let started = std::time::Instant::now();
    while started.elapsed() < span {
        match state(pid) {
            Some('T') => (stopped, seen) = (stopped + 1, seen + 1),
            Some(_) => seen += 1,
            None => break,
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (stopped, seen)
}

#[tokio::test]
async fn the_compiler_is_held_while_the_server_serves_and_goes_on_when_it_is_quiet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, base) = spawn_server_logging(&dir.path().join("data"), TOKEN, &[], &dir.path().join("log")).await;
    let server_pid = server.id().expect("pid");
    let client = reqwest::Client::new();
    let team = client.post(format!("{base}/api/teams")).bearer_auth(TOKEN).json(&json!({"name": "Ops"})).send();
    assert_eq!(team.await.expect("team").status(), 201);
    let settings = json!({"count_submissions": false});
    install_and_enable(&client, &base, TOKEN, &switchboard_artifacts::HELLO_CHANNEL, settings, &["tickets", "storage"])
        .await;

    // Customers keep the server busy.
    let stop = Arc::new(AtomicBool::new(false));
    let mut customers = Vec::new();
    for c in 0..8 {
        let (client, stop, url) = (client.clone(), Arc::clone(&stop), format!("{base}/c/ops/hello-channel/"));
        customers.push(tokio::spawn(async move {
            let mut served = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let sent = client.post(&url).json(&json!({"title": format!("customer {c}")})).send().await;
                assert_eq!(sent.expect("post").status(), 201);
                served += 1;
            }
            served
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A large component is uploaded meanwhile; its compiler is held
    // most of the time the customers are served.
    let manifest = "id = \"large\"\nname = \"Large\"\nversion = \"0.1.0\"\nkind = \"channel\"\nvendor = \"Test\"\nwit = \"0.1.7\"\n";
    let form = plugin_upload(manifest, large_component::large_component(3000, 17));
    let accepted = client.post(format!("{base}/api/plugins")).bearer_auth(TOKEN).multipart(form).send().await;
    let job: serde_json::Value = accepted.expect("upload").json().await.expect("job");
    let job = format!("{base}/api/plugin-installs/{}", job["id"].as_str().expect("a job id"));
    let mut compiler = None;
    for _ in 0..1000 {
        compiler = compiler_of(server_pid);
        if compiler.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let compiler = compiler.expect("the server started a compiler process");
    let (stopped, seen) = stopped_share(compiler, Duration::from_secs(2)).await;
    assert!(seen > 100 && stopped * 2 > seen, "stopped in {stopped} of {seen} samples while serving");
    // ...but not all of it: one window in twenty it runs regardless.
    assert!(stopped < seen, "never ran in {seen} samples while serving");

    // When the customers go, it runs, and the install ends.
    stop.store(true, Ordering::Relaxed);
    for customer in customers {
        assert!(customer.await.expect("customer") > 0);
    }
    // The store may still write out (and clean) what the customers left
    // for a while, which is work of the server's too: wait until the
    // server is quiet, as its own CPU time shows. The governor counts a
    // 25 ms window with 2.5 ms of the server's CPU as busy, so a server
    // still working in bursts is not yet quiet: it must stay at one tick
    // (10 ms) or less in two half-seconds in a row.
    let mut quiet = false;
    let mut calm = 0;
    for _ in 0..60 {
        let before = cpu_ticks(server_pid);
        tokio::time::sleep(Duration::from_millis(500)).await;
        calm = if cpu_ticks(server_pid).saturating_sub(before) <= 1 { calm + 1 } else { 0 };
        if calm == 2 {
            quiet = true;
            break;
        }
    }
    assert!(quiet, "the server did not become quiet in 30 s after its customers left");
    let (stopped, seen) = stopped_share(compiler, Duration::from_millis(500)).await;
    assert!(stopped * 10 <= seen, "stopped in {stopped} of {seen} samples on a quiet server");
    for _ in 0..1200 {
        let now: serde_json::Value =
            client.get(&job).bearer_auth(TOKEN).send().await.expect("job").json().await.expect("json");
        if matches!(now["phase"].as_str(), Some("installed" | "failed")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the install did not end once the server was quiet");
}
