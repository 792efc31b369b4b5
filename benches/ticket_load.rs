//! Load benchmark: tickets/s through the direct API,
//! `POST /api/teams/{slug}/tickets`, and through a channel plugin,
//! `POST /c/{team}/hello-channel/`, in the same run.
//!
//! Starts the real `switchboard` binary (release, as `cargo bench` builds
//! it) on a temporary data directory, installs the real hello-channel
//! component, and drives both paths over loopback with 1, 4, 16 and 64
//! concurrent clients, interleaving rounds so that every path sees the same
//! machine noise. Every request is durable: the server answers 201 only
//! after the group-commit flush. `plugin` does the same single write as
//! `api` (hello-channel with `count_submissions` off); `plugin+storage`
//! also counts the submission in the plugin's storage, a second durable
//! write after the first. `form` posts the shipped web form's default
//! fields (name, e-mail, subject, description) as a browser does, so each
//! submission also finds or creates its contact, and expects the 303 to
//! the thank-you page. Reports each round and the medians: tickets/s, p50
//! and p99 latency, writes per flush, the server's CPU per ticket (with the
//! shares of its tokio workers, of sled's IO threads and of the store's
//! writer thread, from `/proc`), and the plugin path's rate as a ratio of
//! the API path's.
//!
//! Run: `cargo bench -p switchboard --bench ticket_load`
//! Tune: `LOAD_SECONDS` per round (default 5), `LOAD_ROUNDS` (default 3),
//! `LOAD_CLIENTS` (default "1,4,16,64": 4 is where a flush delay that only
//! pays off under saturation would show as a loss, and 16 is where the
//! plugin path is weakest against the API), `LOAD_PATHS` (default
//! "api,plugin,plugin+storage,form"). `LOAD_BASELINE` names another
//! `switchboard` binary (an older build, say) to run beside this one: every
//! round then runs on both, one after the other, and the medians show each
//! and their ratio, so that a change is measured against its baseline in
//! the same run. An older build may not link this build's hello-channel
//! (built against a newer WIT): `LOAD_BASELINE_GUESTS` names the folder of
//! the baseline's own guest builds (its `target/guests/wasm32-wasip2/release`),
//! and `LOAD_BASELINE_WIT` the WIT version they were built against (default
//! 0.1.0, as `c22d8bf`'s).
//! `LOAD_OTHERS` adds more servers of this build's WIT, as comma-separated
//! `label=binary` pairs (say, this build with the `measure-without-sync`
//! feature, to show what the power-loss sync costs); they too are measured
//! round by round and compared with the baseline.
//! `LOAD_STORES` (default "sled") lists the stores to run this build on:
//! "sled,postgres" adds a server on a private PostgreSQL (started for the
//! run, on this machine), measured round by round beside the sled one and
//! compared with it. Its CPU per ticket counts the switchboard process
//! only, not PostgreSQL's.
//! The report ends with each server's resident memory.

#[path = "support/measure.rs"]
mod measure;
// Only the SMTP flag's check and the knobs' parsing are used here.
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use std::process::Stdio;
use std::time::{Duration, Instant};

use server::env_or;

use measure::{median, metric, percentile, rss_mib, stat_cpu_us};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const TOKEN: &str = "bench-admin-token";

/// One round's figures.
#[derive(Debug, Clone, Copy)]
struct Round {
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    writes_per_flush: f64,
    /// Server CPU time (user + system) per ticket.
    cpu_us: f64,
    /// Of that, the tokio workers' (HTTP, handlers, plugins, transactions).
    workers_us: f64,
    /// Of that, sled's IO threads' (writing and syncing its log). Threads
    /// sled retires during the round take their time with them, so this is
    /// a floor.
    sled_io_us: f64,
    /// Of that, the store's writer thread's (the transactions of plugins'
    /// host calls).
    writer_us: f64,
}

/// The server's CPU time so far in µs.
fn server_cpu_us(pid: u32) -> f64 {
    measure::process_cpu_us(pid)
}

/// The CPU time so far of the server's tokio workers, of sled's IO threads
/// and of the store's writer thread, in µs, from `/proc/<pid>/task/*/stat`.
fn thread_cpu_us(pid: u32) -> (f64, f64, f64) {
    let (mut workers, mut sled_io, mut writer) = (0.0, 0.0, 0.0);
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return (f64::NAN, f64::NAN, f64::NAN) };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        if comm.starts_with("tokio-rt-worker") {
            workers += stat_cpu_us(&stat);
        } else if comm.starts_with("sled-io") {
            sled_io += stat_cpu_us(&stat);
        } else if comm.starts_with("store-writer") {
            writer += stat_cpu_us(&stat);
        }
    }
    (workers, sled_io, writer)
}

/// The server's `/metrics` text.
async fn metrics(client: &reqwest::Client, base: &str) -> String {
    let reply = client.get(format!("{base}/metrics")).bearer_auth(TOKEN).send().await.expect("metrics");
    reply.text().await.expect("metrics text")
}

async fn store_counters(client: &reqwest::Client, base: &str) -> (f64, f64) {
    let text = metrics(client, base).await;
    (metric(&text, "switchboard_store_flushes_total"), metric(&text, "switchboard_store_durable_writes_total"))
}

/// Which endpoint a round drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `POST /api/teams/load/tickets`: one durable write.
    Api,
    /// `POST /c/load/hello-channel/` with `count_submissions` off: the
    /// same one durable write, through the plugin.
    Plugin,
    /// `POST /c/counted/hello-channel/` with the default settings: the
    /// ticket and the submission counter, two durable writes in a row.
    PluginCounting,
    /// `POST /c/load/web-form/`: a form submission with a contact, one
    /// durable write.
    Form,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Api => "api",
            Target::Plugin => "plugin",
            Target::PluginCounting => "plugin+storage",
            Target::Form => "form",
        }
    }
}

async fn round(client: &reqwest::Client, base: &str, pid: u32, target: Target, clients: usize, seconds: f64) -> Round {
    let (flushes0, writes0) = store_counters(client, base).await;
    let cpu0 = server_cpu_us(pid);
    let (workers0, sled_io0, writer0) = thread_cpu_us(pid);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let url = match target {
            Target::Api => format!("{base}/api/teams/load/tickets"),
            Target::Plugin => format!("{base}/c/load/hello-channel/"),
            Target::PluginCounting => format!("{base}/c/counted/hello-channel/"),
            Target::Form => format!("{base}/c/load/web-form/"),
        };
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let title = format!("load c{c} #{i}");
                let description = "A customer cannot log in after the password reset.";
                let sent = Instant::now();
                let req = match target {
                    Target::Api => {
                        client.post(&url).bearer_auth(TOKEN).json(&json!({"title": title, "description": description}))
                    }
                    Target::Form => {
                        let email = format!("client{c}@example.com");
                        let body = form_urlencoded::Serializer::new(String::new())
                            .extend_pairs([
                                ("name", "Load Client"),
                                ("email", &email),
                                ("subject", &title),
                                ("description", description),
                                ("website", ""),
                            ])
                            .finish();
                        client.post(&url).header("content-type", "application/x-www-form-urlencoded").body(body)
                    }
                    _ => client.post(&url).json(&json!({"title": title, "description": description})),
                };
                let resp = req.send().await.expect("request");
                let created = if target == Target::Form { 303 } else { 201 };
                assert_eq!(resp.status(), created, "ticket not created");
                resp.bytes().await.expect("body");
                latencies.push(sent.elapsed().as_micros() as u64);
                i += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (flushes1, writes1) = store_counters(client, base).await;
    let cpu = server_cpu_us(pid) - cpu0;
    let (workers1, sled_io1, writer1) = thread_cpu_us(pid);
    let tickets = all.len().max(1) as f64;
    all.sort_unstable();
    Round {
        per_sec: all.len() as f64 / elapsed,
        p50_us: percentile(&all, 0.50),
        p99_us: percentile(&all, 0.99),
        writes_per_flush: (writes1 - writes0) / (flushes1 - flushes0).max(1.0),
        cpu_us: cpu / tickets,
        workers_us: (workers1 - workers0) / tickets,
        sled_io_us: (sled_io1 - sled_io0) / tickets,
        writer_us: (writer1 - writer0) / tickets,
    }
}

/// Read latency under write load: 64 clients create tickets through the
/// API for `seconds` while one more client reads, in turn, the newest
/// ticket of the list (trees being written: a read waits for the writes it
/// could see to be durable) and the team (a tree nobody writes). Returns
/// the medians and 99th percentiles, in µs, of both.
async fn reads_under_write_load(client: &reqwest::Client, base: &str, seconds: f64) -> [(f64, f64); 2] {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut writers = Vec::new();
    for c in 0..64 {
        let (client, url) = (client.clone(), format!("{base}/api/teams/load/tickets"));
        writers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let title = format!("read load c{c} #{i}");
                let resp = client.post(&url).bearer_auth(TOKEN).json(&json!({"title": title})).send().await;
                assert_eq!(resp.expect("request").status(), 201);
                i += 1;
            }
        }));
    }
    let (mut list, mut team) = (Vec::new(), Vec::new());
    while Instant::now() < deadline {
        for (url, into) in [
            (format!("{base}/api/teams/load/tickets?limit=1"), &mut list),
            (format!("{base}/api/teams/load"), &mut team),
        ] {
            let sent = Instant::now();
            let resp = client.get(url).bearer_auth(TOKEN).send().await.expect("read");
            assert_eq!(resp.status(), 200);
            resp.bytes().await.expect("body");
            into.push(sent.elapsed().as_micros() as u64);
        }
    }
    for w in writers {
        w.await.expect("writer");
    }
    [&mut list, &mut team].map(|v| {
        v.sort_unstable();
        (percentile(v, 0.5), percentile(v, 0.99))
    })
}

/// A server under load: the binary, its process and address.
struct Server {
    label: String,
    child: tokio::process::Child,
    pid: u32,
    base: String,
    _dir: tempfile::TempDir,
}

/// Starts `binary` on a fresh data directory, with teams "load" and
/// "counted", hello-channel enabled in both and the web form in "load".
/// `guests`, if given, is the folder of hello-channel's component for this
/// binary; the manifest then states the oldest WIT version, which every
/// build links.
async fn start(
    label: &str,
    binary: &str,
    guests: Option<&str>,
    store: Option<&str>,
    client: &reqwest::Client,
) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--public-rate", "0"])
        .args(server::smtp_args(std::path::Path::new(binary)).await)
        .arg("--data")
        .arg(dir.path());
    if let Some(store) = store {
        command.args(["--store", store]);
    }
    let mut child = command
        .env("SWITCHBOARD_ADMIN_TOKEN", TOKEN)
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn switchboard");
    let pid = child.id().expect("server pid");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = lines.next_line().await.expect("stdout").expect("address line");
    let base = line.strip_prefix("switchboard listening on ").expect("address line").to_owned();
    for _ in 0..500 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for team in ["Load", "Counted"] {
        let created = client
            .post(format!("{base}/api/teams"))
            .bearer_auth(TOKEN)
            .json(&json!({"name": team}))
            .send()
            .await
            .expect("team");
        assert_eq!(created.status(), 201);
    }
    let guest = switchboard_artifacts::HELLO_CHANNEL;
    let (manifest, wasm) = match guests {
        Some(dir) => {
            let wasm = std::fs::read(format!("{dir}/hello_channel.wasm")).expect("the baseline's hello-channel");
            // The baseline's guest names its own WIT version.
            let wit = std::env::var("LOAD_BASELINE_WIT").unwrap_or_else(|_| "0.1.0".to_owned());
            let manifest = guest.manifest_text();
            let manifest: Vec<String> = manifest
                .lines()
                .map(|l| if l.starts_with("wit = ") { format!("wit = \"{wit}\"") } else { l.to_owned() })
                .collect();
            (manifest.join("\n"), wasm)
        }
        None => (guest.manifest_text(), guest.wasm_bytes()),
    };
    let form = reqwest::multipart::Form::new()
        .text("manifest", manifest)
        .part("component", reqwest::multipart::Part::bytes(wasm).file_name("c.wasm"));
    let installed = client
        .post(format!("{base}/api/plugins?wait=true"))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .expect("install");
    assert_eq!(installed.status(), 201, "install hello-channel on {label}");
    for (team, settings) in [("load", json!({"count_submissions": false})), ("counted", json!({}))] {
        let enabled = client
            .put(format!("{base}/api/teams/{team}/plugins/hello-channel"))
            .bearer_auth(TOKEN)
            .json(&json!({"settings": settings, "grants": ["tickets", "storage"]}))
            .send()
            .await
            .expect("enable");
        assert_eq!(enabled.status(), 201);
    }
    // The web form ships with the server; without a per-client limit, since
    // every bench client comes from 127.0.0.1.
    let enabled = client
        .put(format!("{base}/api/teams/load/plugins/web-form"))
        .bearer_auth(TOKEN)
        .json(&json!({"settings": {"rate_limit": {"submissions": 0, "per_minutes": 10}}, "grants": ["tickets"]}))
        .send()
        .await
        .expect("enable web-form");
    assert_eq!(enabled.status(), 201);
    Server { label: label.to_owned(), child, pid, base, _dir: dir }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; any other run (such as `cargo test
    // --benches`) only checks that this starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("ticket_load: run with `cargo bench -p switchboard --bench ticket_load`");
        return;
    }
    let seconds: f64 = env_or("LOAD_SECONDS", 5.0);
    let rounds: usize = env_or("LOAD_ROUNDS", 3);
    let levels: Vec<usize> = std::env::var("LOAD_CLIENTS")
        .unwrap_or_else(|_| "1,4,16,64".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();

    let targets: Vec<Target> = std::env::var("LOAD_PATHS")
        .unwrap_or_else(|_| "api,plugin,plugin+storage,form".into())
        .split(',')
        .filter_map(|s| match s.trim() {
            "api" => Some(Target::Api),
            "plugin" => Some(Target::Plugin),
            "plugin+storage" => Some(Target::PluginCounting),
            "form" => Some(Target::Form),
            _ => None,
        })
        .collect();

    // Redirects are not followed: the form's 303 is its success answer.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let stores: Vec<String> = std::env::var("LOAD_STORES")
        .unwrap_or_else(|_| "sled".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let this = env!("CARGO_BIN_EXE_switchboard");
    let mut servers = Vec::new();
    // Kept for the whole run: the PostgreSQL server stops when dropped.
    let mut _postgres = None;
    for store in &stores {
        match store.as_str() {
            "sled" => {
                let label = if stores.len() > 1 { "sled" } else { "this" };
                servers.push(start(label, this, None, None, &client).await);
            }
            "postgres" => {
                let pg = switchboard_store_postgres::throwaway::TempPostgres::start().expect("start postgres");
                let url = pg.new_database().expect("database");
                servers.push(start("postgres", this, None, Some(&url), &client).await);
                _postgres = Some(pg);
            }
            other => panic!("LOAD_STORES: unknown store \"{other}\" (sled or postgres)"),
        }
    }
    if let Ok(baseline) = std::env::var("LOAD_BASELINE") {
        let guests = std::env::var("LOAD_BASELINE_GUESTS").ok();
        servers.push(start("baseline", &baseline, guests.as_deref(), None, &client).await);
    }
    for other in std::env::var("LOAD_OTHERS").unwrap_or_default().split(',').filter(|s| !s.trim().is_empty()) {
        let (label, binary) = other.split_once('=').expect("LOAD_OTHERS takes label=binary pairs");
        servers.push(start(label.trim(), binary.trim(), None, None, &client).await);
    }
    // Ratios are against the baseline build, or else against sled when
    // stores are compared.
    let baseline =
        servers.iter().position(|s| s.label == "baseline").or_else(|| servers.iter().position(|s| s.label == "sled"));
    let idle: Vec<f64> = servers.iter().map(|s| rss_mib(s.pid)).collect();
    // Warm up connections and caches on every path.
    for server in &servers {
        for &target in &targets {
            round(&client, &server.base, server.pid, target, 8, 1.0).await;
        }
    }

    println!("durable ticket creation, {seconds}s per round, {rounds} rounds, paths and servers interleaved");
    println!(
        "{:>9} {:>14} {:>8} {:>6} {:>12} {:>10} {:>10} {:>14} {:>12} {:>10} {:>10} {:>10}",
        "server",
        "path",
        "clients",
        "round",
        "tickets/s",
        "p50 µs",
        "p99 µs",
        "writes/flush",
        "cpu µs/tkt",
        "workers",
        "sled io",
        "writer"
    );
    let count = servers.len();
    let mut results: Vec<(usize, Target, usize, Vec<Round>)> = levels
        .iter()
        .flat_map(|&c| targets.iter().flat_map(move |&t| (0..count).map(move |s| (s, t, c, Vec::new()))))
        .collect();
    for r in 0..rounds {
        for (server, target, clients, got_rounds) in &mut results {
            let s = &servers[*server];
            let got = round(&client, &s.base, s.pid, *target, *clients, seconds).await;
            println!(
                "{:>9} {:>14} {:>8} {:>6} {:>12.0} {:>10.0} {:>10.0} {:>14.1} {:>12.0} {:>10.0} {:>10.0} {:>10.0}",
                s.label,
                target.name(),
                clients,
                r + 1,
                got.per_sec,
                got.p50_us,
                got.p99_us,
                got.writes_per_flush,
                got.cpu_us,
                got.workers_us,
                got.sled_io_us,
                got.writer_us
            );
            got_rounds.push(got);
        }
    }
    println!("\nmedians over {rounds} rounds:");
    let rate_of = |s: usize, t: Target, c: usize| {
        results
            .iter()
            .find(|(ss, tt, cc, _)| *ss == s && *tt == t && *cc == c)
            .map(|(_, _, _, r)| median(r.iter().map(|x| x.per_sec).collect()))
    };
    for (server, target, clients, got_rounds) in &results {
        let rate = median(got_rounds.iter().map(|x| x.per_sec).collect());
        let vs_api = rate_of(*server, Target::Api, *clients).map_or(f64::NAN, |api| rate / api);
        let vs_baseline = baseline.and_then(|b| rate_of(b, *target, *clients)).map_or(f64::NAN, |base| rate / base);
        println!(
            "{:>9} {:>14} {:>3} clients: {:>7.0} tickets/s  p50 {:>7.0} µs  p99 {:>7.0} µs  {:>5.1} writes/flush  {:>4.0} server cpu µs/ticket ({:>3.0} workers, {:>3.0} sled io, {:>3.0} writer)  {:>5.2}x api  {:>5.2}x baseline",
            servers[*server].label,
            target.name(),
            clients,
            rate,
            median(got_rounds.iter().map(|x| x.p50_us).collect()),
            median(got_rounds.iter().map(|x| x.p99_us).collect()),
            median(got_rounds.iter().map(|x| x.writes_per_flush).collect()),
            median(got_rounds.iter().map(|x| x.cpu_us).collect()),
            median(got_rounds.iter().map(|x| x.workers_us).collect()),
            median(got_rounds.iter().map(|x| x.sled_io_us).collect()),
            median(got_rounds.iter().map(|x| x.writer_us).collect()),
            vs_api,
            vs_baseline,
        );
    }
    println!("\nreads while 64 clients write, {seconds}s per round, {rounds} rounds (medians of p50 / p99, µs):");
    let mut reads: Vec<Vec<[(f64, f64); 2]>> = vec![Vec::new(); servers.len()];
    for _ in 0..rounds {
        for (server, got) in servers.iter().zip(&mut reads) {
            got.push(reads_under_write_load(&client, &server.base, seconds).await);
        }
    }
    for (server, got) in servers.iter().zip(&reads) {
        let m =
            |which: usize, p99: bool| median(got.iter().map(|r| if p99 { r[which].1 } else { r[which].0 }).collect());
        println!(
            "{:>9}: newest ticket p50 {:>7.0} p99 {:>7.0}   team p50 {:>7.0} p99 {:>7.0}",
            server.label,
            m(0, false),
            m(0, true),
            m(1, false),
            m(1, true)
        );
    }
    for (server, idle) in servers.iter().zip(idle) {
        let text = metrics(&client, &server.base).await;
        let calls = metric(&text, "switchboard_plugin_calls_total{plugin=\"hello-channel\"}");
        let busy = metric(&text, "switchboard_plugin_busy_microseconds_total{plugin=\"hello-channel\"}");
        println!(
            "\n{}: resident memory {idle:.0} MiB idle, {:.0} MiB after the load; hello-channel: {calls} calls, mean {:.0} µs inside the runtime per call",
            server.label,
            rss_mib(server.pid),
            busy / calls
        );
    }
    for mut server in servers {
        server.child.start_kill().expect("stop server");
        let _ = server.child.wait().await;
    }
}
