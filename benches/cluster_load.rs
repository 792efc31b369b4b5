//! Load benchmark for several servers on one PostgreSQL database: durable
//! tickets/s through `POST /api/teams/{slug}/tickets` with the clients
//! spread over 1, 2 and 3 servers, in the same run, on this machine.
//!
//! Starts a private PostgreSQL and NATS server, and three `switchboard`
//! binaries (release, as `cargo bench` builds them) sharing them. Each
//! round sends the clients to the first `n` servers in turn (client `c` to
//! server `c % n`), and rounds for 1, 2 and 3 servers are interleaved so
//! that each sees the same machine noise. Reports each round and the
//! medians: tickets/s, p50 and p99 latency, and the CPU per ticket of the
//! switchboard processes and of PostgreSQL's, which shows what limits the
//! rate: on a machine of few cores, more servers share the same cores with
//! the database.
//!
//! Then it measures failover: how long after a server dies in the middle
//! of leased work another server has taken that work over. The work is the
//! SLA sweep, which the servers take in turns under a lease (sweeps every
//! second here, so leases of 3 s); the bench leaves the sweep job leased to
//! a holder that never comes back, exactly what a server SIGKILLed
//! mid-sweep leaves, and times until a live server has swept.
//!
//! Run: `cargo bench -p switchboard --bench cluster_load`
//! Tune: `LOAD_SECONDS` per round (default 5), `LOAD_ROUNDS` (default 3),
//! `LOAD_CLIENTS` (default 64), `LOAD_SERVERS` (default "1,2,3").

// Each bench uses a different part of the shared measures.
#[allow(dead_code)]
#[path = "support/measure.rs"]
mod measure;
// Each bench uses a different part of the shared server code.
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use measure::{median, percentile, process_cpu_us, stat_cpu_us};
use serde_json::json;
use server::{BenchServer, TOKEN, env_or};
use switchboard_bus::throwaway::TempNats;
use switchboard_store_postgres::throwaway::TempPostgres;

/// CPU time so far of every PostgreSQL process on the machine, in µs: the
/// benchmark's own server is the only one running.
fn postgres_cpu_us() -> f64 {
    let Ok(procs) = std::fs::read_dir("/proc") else { return f64::NAN };
    procs
        .flatten()
        .filter(|p| std::fs::read_to_string(p.path().join("comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(|p| stat_cpu_us(&std::fs::read_to_string(p.path().join("stat")).unwrap_or_default()))
        .sum()
}

/// One round's figures.
struct Round {
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    server_cpu_us: f64,
    postgres_cpu_us: f64,
}

async fn round(client: &reqwest::Client, servers: &[BenchServer], n: usize, clients: usize, seconds: f64) -> Round {
    let running = Arc::new(AtomicBool::new(true));
    let cpu0: f64 = servers.iter().map(|s| process_cpu_us(s.pid)).sum();
    let pg0 = postgres_cpu_us();
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, running) = (client.clone(), Arc::clone(&running));
            let url = format!("{}/api/teams/load/tickets", servers[c % n].base);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while running.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let resp = client.post(&url).bearer_auth(TOKEN).json(&json!({"title": "load"})).send().await;
                    assert_eq!(resp.expect("create").status(), 201);
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    running.store(false, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu: f64 = servers.iter().map(|s| process_cpu_us(s.pid)).sum::<f64>() - cpu0;
    let pg = postgres_cpu_us() - pg0;
    latencies.sort_unstable();
    let count = latencies.len() as f64;
    Round {
        per_sec: count / elapsed,
        p50_us: percentile(&latencies, 0.5),
        p99_us: percentile(&latencies, 0.99),
        server_cpu_us: cpu / count,
        postgres_cpu_us: pg / count,
    }
}

/// Leaves the sweep job leased to a holder that is gone, and returns how
/// long until a live server had swept after the claim.
async fn failover(store: &switchboard_store_postgres::PgStore) -> Duration {
    use switchboard_store::{JobDraft, JobStore};
    let lookup = || JobDraft {
        queue: "sweeps".into(),
        key: "sla-and-idempotency".into(),
        payload: Vec::new(),
        due_at: jiff::Timestamp::now(),
        held_by: None,
    };
    let attempts_now = || async {
        let job = store.enqueue_job(lookup(), jiff::Timestamp::now()).await.expect("job");
        job.durable().await.expect("durable").record.attempts
    };
    let lease = jiff::SignedDuration::from_secs(3);
    let claimed = loop {
        let claim = store.claim_jobs("sweeps", "a server that died", jiff::Timestamp::now(), lease, 1).await;
        if let Some(job) = claim.expect("claim").durable().await.expect("durable").pop() {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let orphaned = Instant::now();
    while attempts_now().await <= claimed.attempts {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    orphaned.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("cluster_load: run with `cargo bench -p switchboard --bench cluster_load`");
        return;
    }
    let seconds: f64 = env_or("LOAD_SECONDS", 5.0);
    let rounds: usize = env_or("LOAD_ROUNDS", 3);
    let clients: usize = env_or("LOAD_CLIENTS", 64);
    let counts: Vec<usize> = std::env::var("LOAD_SERVERS")
        .unwrap_or_else(|_| "1,2,3".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|n| (1..=8).contains(n))
        .collect();
    let most = counts.iter().copied().max().unwrap_or(1);

    let postgres = TempPostgres::start().expect("postgres");
    let nats = TempNats::start().expect("nats");
    let url = postgres.new_database().expect("database");
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("client");
    let mut servers = Vec::new();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let bus = nats.url();
    let args = ["--sla-sweep-seconds", "1", "--store", url.as_str(), "--bus", bus.as_str()];
    for _ in 0..most {
        servers.push(BenchServer::spawn(binary, &args).await);
    }
    let created = client
        .post(format!("{}/api/teams", servers[0].base))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Load"}))
        .send()
        .await
        .expect("team");
    assert_eq!(created.status(), 201);
    for &n in &counts {
        round(&client, &servers, n, clients.min(8), 1.0).await;
    }

    println!("durable tickets through the API, {clients} clients, {seconds}s per round, {rounds} rounds, interleaved");
    println!(
        "{:>8} {:>6} {:>12} {:>10} {:>10} {:>16} {:>16}",
        "servers", "round", "tickets/s", "p50 µs", "p99 µs", "switchboard µs", "postgres µs"
    );
    let mut results: Vec<(usize, Vec<Round>)> = counts.iter().map(|&n| (n, Vec::new())).collect();
    for r in 0..rounds {
        for (n, got) in &mut results {
            let one = round(&client, &servers, *n, clients, seconds).await;
            println!(
                "{:>8} {:>6} {:>12.0} {:>10.0} {:>10.0} {:>16.0} {:>16.0}",
                n,
                r + 1,
                one.per_sec,
                one.p50_us,
                one.p99_us,
                one.server_cpu_us,
                one.postgres_cpu_us
            );
            got.push(one);
        }
    }
    println!("\nmedians over {rounds} rounds (CPU per ticket: all switchboard processes, all PostgreSQL processes):");
    let one_server = results.first().map(|(_, r)| median(r.iter().map(|x| x.per_sec).collect()));
    for (n, got) in &results {
        let rate = median(got.iter().map(|x| x.per_sec).collect());
        println!(
            "{n} servers: {:>7.0} tickets/s  p50 {:>7.0} µs  p99 {:>7.0} µs  cpu/ticket {:>4.0} µs switchboard + {:>4.0} µs postgres  {:>5.2}x {} server",
            rate,
            median(got.iter().map(|x| x.p50_us).collect()),
            median(got.iter().map(|x| x.p99_us).collect()),
            median(got.iter().map(|x| x.server_cpu_us).collect()),
            median(got.iter().map(|x| x.postgres_cpu_us).collect()),
            one_server.map_or(f64::NAN, |one| rate / one),
            results.first().map_or(0, |(n, _)| *n),
        );
    }

    let store = switchboard_store_postgres::PgStore::open(&switchboard_store_postgres::PgConfig::new(&url))
        .await
        .expect("store");
    let mut takeovers = Vec::new();
    for _ in 0..rounds {
        takeovers.push(failover(&store).await.as_secs_f64());
    }
    println!(
        "\nfailover of leased work (the sweep; lease 3 s, turns every 1 s): taken over {:.2} s after its holder died (median of {rounds}; {takeovers:.2?})",
        median(takeovers.clone())
    );
}
