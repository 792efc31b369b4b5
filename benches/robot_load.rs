//! Load benchmark for robots on stages: the start latency of a robot, from
//! a ticket's stage change to the provider's request, and the runs per
//! second sustained, when 1,000 tickets enter a stage with the shipped SMS
//! robot at once.
//!
//! Starts the real `switchboard` binary (release, as `cargo bench` builds
//! it) and a Twilio stand-in on loopback that notes when each message
//! arrives and answers 201 at once. Each round opens 1,000 tickets, each
//! with a contact of its own number (not timed), then moves them all into
//! the robot's stage with 64 clients. A run's latency is from its
//! ticket's move being answered (the stage change and the queued run are
//! on disk) to its message reaching the stand-in; runs/s is the tickets
//! over the time from the first move sent to the last message received.
//! The same round measures the moves alone (tickets/s of the `PATCH`es) as
//! the baseline the robot's work is judged against.
//!
//! Run: `cargo bench -p switchboard --bench robot_load`
//! Tune: `LOAD_TICKETS` per round (default 1000), `LOAD_ROUNDS` (default
//! 3), `LOAD_CLIENTS` (default 64).

// Each bench uses a different part of the shared measures.
#[allow(dead_code)]
#[path = "support/measure.rs"]
mod measure;
// Each bench uses a different part of the shared server code.
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use measure::{median, percentile};
use serde_json::{Value, json};
use server::{BenchServer, TOKEN, env_or};

const ACCOUNT: &str = "AC00000000000000000000000000000042";

/// When each number's message reached the stand-in.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn message(State(arrivals): State<Arrivals>, body: axum::body::Bytes) -> (axum::http::StatusCode, String) {
    let at = Instant::now();
    let to = form_urlencoded::parse(&body).find(|(k, _)| k == "To").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let n = {
        let mut arrivals = arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        arrivals.insert(to.clone(), at);
        arrivals.len()
    };
    let body = json!({"sid": format!("SM{n:032x}"), "status": "queued", "to": to}).to_string();
    (axum::http::StatusCode::CREATED, body)
}

/// Starts the stand-in; returns its base URL and its arrivals.
async fn stand_in() -> (String, Arrivals) {
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route("/2010-04-01/Accounts/{account}/Messages.json", axum::routing::post(message))
        .with_state(Arc::clone(&arrivals));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, arrivals)
}

/// Installs robot-sms granting loopback (as a newer version, over the
/// shipped one), enables it with the stand-in as provider, and puts it on
/// stage 2.
async fn set_up(s: &BenchServer, provider: &str) {
    let guest = switchboard_artifacts::ROBOT_SMS;
    let manifest = guest
        .manifest_text()
        .replace("\"http:api.twilio.com\"]", "\"http:api.twilio.com\", \"http:127.0.0.1\"]")
        .replace("version = \"1.0.0\"", "version = \"1.0.1\"");
    let form = reqwest::multipart::Form::new()
        .text("manifest", manifest)
        .part("component", reqwest::multipart::Part::bytes(guest.wasm_bytes()).file_name("c.wasm"));
    let installed = s.http.post(s.api("/plugins?wait=true")).bearer_auth(TOKEN).multipart(form).send().await;
    assert!(installed.expect("install").status().is_success());
    let settings =
        json!({"base_url": provider, "account_sid": ACCOUNT, "auth_token": "t", "from_numbers": ["+15550000001"]});
    let enable =
        json!({"settings": settings, "grants": ["storage", "http:127.0.0.1"], "declined": ["http:api.twilio.com"]});
    let enabled = s.http.put(s.api("/teams/load/plugins/robot-sms")).bearer_auth(TOKEN).json(&enable).send().await;
    assert!(enabled.expect("enable").status().is_success());
    let robots = json!({"robots": [{"plugin": "robot-sms", "settings": {"text": "Ticket {{ ticket.id }} is in progress", "phone_type": "mobile"}}]});
    let put = s.http.put(s.api("/teams/load/stages/2/robots")).bearer_auth(TOKEN).json(&robots).send().await;
    assert_eq!(put.expect("robots").status(), 200);
}

fn number(round: usize, i: usize) -> String {
    format!("+1555{round:02}{i:05}")
}

/// One round's figures.
struct Round {
    p50_ms: f64,
    p99_ms: f64,
    runs_per_sec: f64,
    moves_per_sec: f64,
}

async fn round(s: &BenchServer, arrivals: &Arrivals, r: usize, tickets: usize, clients: usize) -> Round {
    // Open the tickets, untimed.
    let mut ids = Vec::with_capacity(tickets);
    for i in 0..tickets {
        let contact = json!({"name": format!("C {r}-{i}"), "phones": [{"number": number(r, i), "type": "mobile"}]});
        let created = s
            .http
            .post(s.api("/teams/load/tickets"))
            .bearer_auth(TOKEN)
            .json(&json!({"title": "Load", "contact": contact}))
            .send()
            .await;
        let created: Value = created.expect("ticket").json().await.expect("json");
        ids.push((i, created["id"].as_u64().expect("id")));
    }
    let queue = Arc::new(Mutex::new(ids));
    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let mut movers = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (queue, acked, http, base) = (Arc::clone(&queue), Arc::clone(&acked), s.http.clone(), s.base.clone());
        movers.spawn(async move {
            loop {
                let Some((i, id)) = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop() else {
                    return;
                };
                let moved = http
                    .patch(format!("{base}/api/tickets/{id}"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"stage": 2}))
                    .send()
                    .await;
                assert_eq!(moved.expect("move").status(), 200);
                acked.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(number(r, i), Instant::now());
            }
        });
    }
    while movers.join_next().await.is_some() {}
    let moves_done = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let arrived = (0..tickets)
            .filter(|i| arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains_key(&number(r, *i)))
            .count();
        if arrived == tickets {
            break;
        }
        assert!(Instant::now() < deadline, "only {arrived} of {tickets} messages arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrivals = arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let acked = acked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut latencies: Vec<u64> = (0..tickets)
        .map(|i| {
            let n = number(r, i);
            arrivals[&n].saturating_duration_since(acked[&n]).as_micros() as u64
        })
        .collect();
    latencies.sort_unstable();
    let last = (0..tickets).map(|i| arrivals[&number(r, i)]).max().expect("arrivals");
    Round {
        p50_ms: percentile(&latencies, 0.50) / 1000.0,
        p99_ms: percentile(&latencies, 0.99) / 1000.0,
        runs_per_sec: tickets as f64 / last.duration_since(started).as_secs_f64(),
        moves_per_sec: tickets as f64 / moves_done.as_secs_f64(),
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("robot_load: bench");
        return;
    }
    let (tickets, rounds, clients) =
        (env_or("LOAD_TICKETS", 1000_usize), env_or("LOAD_ROUNDS", 3_usize), env_or("LOAD_CLIENTS", 64_usize));
    let (provider, arrivals) = stand_in().await;
    let s = BenchServer::start().await;
    set_up(&s, &provider).await;
    let mut all = Vec::new();
    for r in 0..rounds {
        let got = round(&s, &arrivals, r, tickets, clients).await;
        println!(
            "round {r}: start latency p50 {:.1} ms, p99 {:.1} ms; {:.0} runs/s; moves alone {:.0}/s",
            got.p50_ms, got.p99_ms, got.runs_per_sec, got.moves_per_sec
        );
        all.push(got);
    }
    println!(
        "robot_load: {tickets} tickets x {rounds} rounds at {clients} clients: start latency p50 {:.1} ms, p99 {:.1} ms (medians); {:.0} runs/s; the moves alone {:.0}/s",
        median(all.iter().map(|r| r.p50_ms).collect()),
        median(all.iter().map(|r| r.p99_ms).collect()),
        median(all.iter().map(|r| r.runs_per_sec).collect()),
        median(all.iter().map(|r| r.moves_per_sec).collect()),
    );
}
