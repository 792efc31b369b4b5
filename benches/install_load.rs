//! Install under load: how long a large component takes to install, and
//! what its compiling does to another plugin's route meanwhile.
//!
//! Starts the real `switchboard` binary (release, as `cargo bench` builds
//! it), enables hello-channel, and drives its public route with
//! `INSTALL_CLIENTS` clients (default 16). Each round measures the route
//! three times, one after the other: for `INSTALL_SECONDS` (default 5)
//! with nothing else going on, while a large component uploaded without
//! `?wait` compiles in the background, and alone again. The large component is made here:
//! one core module of `INSTALL_FUNCTIONS` functions (default 6000) of
//! straight-line arithmetic, several MB, about what a Python or JavaScript
//! plugin gives cranelift to do. It implements no world, so its install
//! ends failed after compiling, which is the part being measured.
//!
//! `INSTALL_COMPONENT` and `INSTALL_MANIFEST` name a real component and its
//! manifest to install instead (say, the Python example that
//! `scripts/sdk-examples.sh` builds); each round appends a custom section
//! of its own, so that every round compiles.
//!
//! `INSTALL_BINARY` runs another build of the server (an older commit's)
//! instead of the one cargo built.
//!
//! The mean of the two measurements alone is the baseline: a long install
//! leaves the route with many more tickets, which slow it by themselves.
//!
//! Reports per round and as medians over `INSTALL_ROUNDS` (default 3): the
//! install time (the job's own clock), and the route's requests/s, p50 and
//! p99 without and with the install, with their ratio.
//!
//! Run: `cargo bench -p switchboard --bench install_load`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "support/large_component.rs"]
mod large_component;
#[path = "support/server.rs"]
mod server;

use large_component::{append_custom_section, large_component};
use server::{BenchServer, TOKEN, env_or};

const LARGE_MANIFEST: &str = "id = \"large-bench\"\nname = \"Large\"\nversion = \"0.1.0\"\nkind = \"channel\"\nvendor = \"Bench\"\nwit = \"0.1.7\"\n";

/// One measurement of the route: requests/s, p50 and p99 in µs.
#[derive(Debug, Clone, Copy)]
struct Load {
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Drives hello-channel with `clients` clients until `stop` is set.
async fn drive(base: String, clients: usize, stop: Arc<AtomicBool>) -> Load {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, stop, url) = (client.clone(), Arc::clone(&stop), format!("{base}/c/load/hello-channel/"));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let body = json!({"title": format!("c{c} n{n}")});
                let sent = Instant::now();
                let response = client.post(&url).json(&body).send().await.expect("post");
                assert_eq!(response.status(), 201, "the route failed under load");
                latencies.push(sent.elapsed().as_micros() as f64);
                n += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Load { per_sec: all.len() as f64 / elapsed, p50_us: at(0.5), p99_us: at(0.99) }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; any other run (such as `cargo test
    // --all-targets`) only checks that this starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("install_load: run with `cargo bench -p switchboard --bench install_load`");
        return;
    }
    let (seconds, rounds, clients, functions) = (
        env_or("INSTALL_SECONDS", 5u64),
        env_or("INSTALL_ROUNDS", 3usize),
        env_or("INSTALL_CLIENTS", 16usize),
        env_or("INSTALL_FUNCTIONS", 6000u32),
    );
    let binary = std::env::var("INSTALL_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_switchboard").to_owned());
    let server = BenchServer::start_binary(std::path::Path::new(&binary)).await;
    let (base, http) = (server.base.clone(), server.http.clone());
    let api = |path: &str| server.api(path);
    let guest = &switchboard_artifacts::HELLO_CHANNEL;
    server.install(&guest.manifest_text(), guest.wasm_bytes()).await;
    server.enable("hello-channel", json!({"count_submissions": false}), &["tickets", "storage"]).await;

    let installing =
        std::env::var("INSTALL_COMPONENT").unwrap_or_else(|_| format!("a component of {functions} functions"));
    println!("hello-channel route, {clients} clients; {installing} installing meanwhile");
    let (mut quiet, mut busy, mut install_s, mut size_mb) = (Vec::new(), Vec::new(), Vec::new(), 0.0);
    for round in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn(drive_for(base.clone(), clients, Arc::clone(&stop), seconds));
        let alone = load.await.expect("quiet round");

        let (manifest, wasm) = match (std::env::var("INSTALL_COMPONENT"), std::env::var("INSTALL_MANIFEST")) {
            (Ok(component), Ok(manifest)) => {
                let mut wasm = std::fs::read(&component).expect("INSTALL_COMPONENT");
                // A custom section of this round's own: same code, another
                // hash, so the compile cache does not serve it.
                append_custom_section(&mut wasm, "bench-round", &round.to_le_bytes());
                (std::fs::read_to_string(&manifest).expect("INSTALL_MANIFEST"), wasm)
            }
            _ => (LARGE_MANIFEST.to_owned(), large_component(functions, 7919 + round as i64)),
        };
        size_mb = wasm.len() as f64 / 1e6;
        let stop = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn(drive(base.clone(), clients, Arc::clone(&stop)));
        let form = reqwest::multipart::Form::new()
            .text("manifest", manifest)
            .part("component", reqwest::multipart::Part::bytes(wasm).file_name("large.wasm"));
        let accepted = http.post(api("/plugins")).bearer_auth(TOKEN).multipart(form).send().await.expect("upload");
        assert_eq!(accepted.status(), 202);
        let job: Value = accepted.json().await.expect("job");
        let location = api(&format!("/plugin-installs/{}", job["id"].as_str().expect("id")));
        let ended = loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let job: Value =
                http.get(&location).bearer_auth(TOKEN).send().await.expect("job").json().await.expect("json");
            if matches!(job["phase"].as_str(), Some("installed" | "failed")) {
                break job;
            }
        };
        stop.store(true, Ordering::Relaxed);
        let during = load.await.expect("busy round");
        // The route slows as its tickets pile up, and a long install piles
        // up many: so "alone" is measured again after it, and the two
        // measurements' mean is what the install is compared with.
        let stop = Arc::new(AtomicBool::new(false));
        let after = drive_for(base.clone(), clients, Arc::clone(&stop), seconds).await;
        let alone = Load {
            per_sec: (alone.per_sec + after.per_sec) / 2.0,
            p50_us: (alone.p50_us + after.p50_us) / 2.0,
            p99_us: (alone.p99_us + after.p99_us) / 2.0,
        };
        let took = ended["elapsed_ms"].as_f64().unwrap_or(0.0) / 1000.0;
        println!(
            "round {round}: install {took:.1} s; alone {:.0}/s p50 {:.0} µs p99 {:.0} µs; installing {:.0}/s p50 {:.0} µs p99 {:.0} µs",
            alone.per_sec, alone.p50_us, alone.p99_us, during.per_sec, during.p50_us, during.p99_us
        );
        quiet.push(alone);
        busy.push(during);
        install_s.push(took);
    }
    let m = |v: &[Load], f: fn(&Load) -> f64| median(v.iter().map(f).collect());
    println!("medians over {rounds} rounds (component {size_mb:.1} MB):");
    println!("  install time                 {:.1} s", median(install_s));
    println!(
        "  requests/s    alone {:>8.0}  installing {:>8.0}  ratio {:.2}",
        m(&quiet, |l| l.per_sec),
        m(&busy, |l| l.per_sec),
        m(&busy, |l| l.per_sec) / m(&quiet, |l| l.per_sec)
    );
    println!(
        "  p50 µs        alone {:>8.0}  installing {:>8.0}  ratio {:.2}",
        m(&quiet, |l| l.p50_us),
        m(&busy, |l| l.p50_us),
        m(&busy, |l| l.p50_us) / m(&quiet, |l| l.p50_us)
    );
    println!(
        "  p99 µs        alone {:>8.0}  installing {:>8.0}  ratio {:.2}",
        m(&quiet, |l| l.p99_us),
        m(&busy, |l| l.p99_us),
        m(&busy, |l| l.p99_us) / m(&quiet, |l| l.p99_us)
    );
}

/// Drives the route for `seconds`.
async fn drive_for(base: String, clients: usize, stop: Arc<AtomicBool>, seconds: u64) -> Load {
    let stopper = Arc::clone(&stop);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stopper.store(true, Ordering::Relaxed);
    });
    drive(base, clients, stop).await
}
