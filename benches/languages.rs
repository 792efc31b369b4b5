//! Per-request cost of a plugin by the language it is written in: the same
//! channel (open a ticket from a POSTed JSON body) in Rust
//! (`examples/hello-channel`), Python (`sdk/python/examples/hello-channel-py`)
//! and JavaScript (`sdk/js/examples/hello-channel-js`), on one server, in
//! the same run.
//!
//! Starts the real `switchboard` binary (release), installs the three
//! (the Python and JavaScript components come from
//! `scripts/sdk-examples.sh`), and in each of `LANG_ROUNDS` rounds (default
//! 5) sends each plugin `LANG_REQUESTS` requests (default 300) one after
//! another from one client, then drives each with 16 clients for
//! `LANG_SECONDS` (default 3), the languages taking turns. Every request
//! opens a durable ticket. Reports medians over the rounds: latency p50 and
//! p99 at one client, requests/s at 16, and each as a ratio of Rust's.
//!
//! Run: `scripts/sdk-examples.sh && cargo bench -p switchboard --bench languages`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

#[path = "support/server.rs"]
mod server;

use server::{BenchServer, env_or};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn root(path: &str) -> String {
    format!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../{}"), path)
}

/// One round's figures for one plugin.
#[derive(Debug, Clone, Copy)]
struct Figures {
    p50_us: f64,
    p99_us: f64,
    per_sec_16: f64,
}

async fn one_client(client: &reqwest::Client, url: &str, n: usize) -> (f64, f64) {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let sent = Instant::now();
        let response = client.post(url).json(&json!({"title": format!("one {i}")})).send().await.expect("post");
        assert_eq!(response.status(), 201);
        latencies.push(sent.elapsed().as_micros() as f64);
    }
    latencies.sort_by(f64::total_cmp);
    (latencies[n / 2], latencies[(n * 99 / 100).min(n - 1)])
}

async fn sixteen_clients(client: &reqwest::Client, url: &str, seconds: u64) -> f64 {
    let (stop, done) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..16 {
        let (client, url, stop, done) = (client.clone(), url.to_owned(), Arc::clone(&stop), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let response = client.post(&url).json(&json!({"title": format!("c{c}")})).send().await.expect("post");
                assert_eq!(response.status(), 201);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("client");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; any other run (such as `cargo test
    // --all-targets`) only checks that this starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("languages: run with `cargo bench -p switchboard --bench languages`");
        return;
    }
    let (rounds, requests, seconds) =
        (env_or("LANG_ROUNDS", 5usize), env_or("LANG_REQUESTS", 300usize), env_or("LANG_SECONDS", 3u64));
    let server = BenchServer::start().await;
    let (base, http) = (server.base.clone(), server.http.clone());
    let rust = &switchboard_artifacts::HELLO_CHANNEL;
    let plugins = [
        ("rust", "hello-channel", rust.manifest_text(), rust.wasm_bytes(), json!({"count_submissions": false})),
        (
            "python",
            "hello-channel-py",
            std::fs::read_to_string(root("sdk/python/examples/hello-channel-py/plugin.toml")).expect("manifest"),
            std::fs::read(root("target/sdk-examples/hello-channel-py.wasm")).expect("run scripts/sdk-examples.sh"),
            json!({}),
        ),
        (
            "javascript",
            "hello-channel-js",
            std::fs::read_to_string(root("sdk/js/examples/hello-channel-js/plugin.toml")).expect("manifest"),
            std::fs::read(root("target/sdk-examples/hello-channel-js.wasm")).expect("run scripts/sdk-examples.sh"),
            json!({}),
        ),
    ];
    for (_, id, manifest, wasm, settings) in &plugins {
        server.install(manifest, wasm.clone()).await;
        let grants: &[&str] = if *id == "hello-channel" { &["tickets", "storage"] } else { &["tickets"] };
        server.enable(id, settings.clone(), grants).await;
    }
    let mut figures: Vec<Vec<Figures>> = vec![Vec::new(); plugins.len()];
    for round in 0..rounds {
        for (i, (language, id, ..)) in plugins.iter().enumerate() {
            let url = format!("{base}/c/load/{id}/");
            let (p50_us, p99_us) = one_client(&http, &url, requests).await;
            let per_sec_16 = sixteen_clients(&http, &url, seconds).await;
            println!(
                "round {round} {language:<10} 1 client p50 {p50_us:>6.0} µs p99 {p99_us:>6.0} µs; 16 clients {per_sec_16:>6.0}/s"
            );
            figures[i].push(Figures { p50_us, p99_us, per_sec_16 });
        }
    }
    println!("medians over {rounds} rounds (ratio to Rust):");
    let m = |i: usize, f: fn(&Figures) -> f64| median(figures[i].iter().map(f).collect());
    for (i, (language, ..)) in plugins.iter().enumerate() {
        println!(
            "  {language:<10} p50 {:>6.0} µs ({:.2}x)  p99 {:>6.0} µs ({:.2}x)  16 clients {:>6.0}/s ({:.2}x)",
            m(i, |f| f.p50_us),
            m(i, |f| f.p50_us) / m(0, |f| f.p50_us),
            m(i, |f| f.p99_us),
            m(i, |f| f.p99_us) / m(0, |f| f.p99_us),
            m(i, |f| f.per_sec_16),
            m(i, |f| f.per_sec_16) / m(0, |f| f.per_sec_16),
        );
    }
}
