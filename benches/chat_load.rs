//! Load benchmark for live chat: many visitors on real websockets, each
//! sending one message a second, and operator connections that follow
//! every conversation and receive each message. Reports the delivery
//! latency (from the visitor's send to the operator's receipt; both ends
//! run in this process, so one clock measures both), the messages
//! delivered per second, and the server's resident memory and CPU (in
//! cores, and per message delivered).
//!
//! Starts the real `switchboard` binary (release, as `cargo bench` builds
//! it) with the shipped `live-chat` plugin enabled for team "Load" with no
//! chatbot script, so that each conversation goes straight to the
//! operators' queue. Visitors connect at `LOAD_RAMP` a second; once all
//! are in, operators follow their conversations, then every visitor sends
//! a message a second (at its own phase in the second) for
//! `LOAD_SECONDS`. Each message is written to disk before anyone hears of
//! it, as in production.
//!
//! Run: `cargo bench -p switchboard --bench chat_load`
//! Tune: `LOAD_VISITORS` (default 10000), `LOAD_SECONDS` (default 20),
//! `LOAD_RAMP` connections a second (default 1000).

// Each bench uses a different part of the shared measures.
#[allow(dead_code)]
#[path = "support/measure.rs"]
mod measure;
// Each bench uses a different part of the shared server code.
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use measure::{metric, percentile, process_cpu_us, rss_mib};
use serde_json::{Value, json};
use server::{BenchServer, TOKEN, env_or};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Conversations one operator connection follows.
const PER_OPERATOR: usize = 1_000;

/// The store's flushes and durable writes so far.
async fn store_counters(server: &BenchServer) -> (f64, f64) {
    let reply = server.http.get(format!("{}/metrics", server.base)).bearer_auth(TOKEN).send().await;
    let text = match reply {
        Ok(reply) => reply.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    (metric(&text, "switchboard_store_flushes_total"), metric(&text, "switchboard_store_durable_writes_total"))
}

/// One visitor: opens a conversation, says when it is in, then sends a
/// message a second stamped with microseconds since `epoch` until `stop`.
async fn visitor(
    url: String,
    index: usize,
    epoch: Instant,
    opened: tokio::sync::mpsc::Sender<u64>,
    mut go: tokio::sync::watch::Receiver<Option<Instant>>,
) {
    let (socket, _) = match tokio_tungstenite::connect_async(&url).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("visitor {index} could not connect: {e}");
            return;
        }
    };
    let (mut tx, mut rx) = socket.split();
    let start = json!({"type": "start", "channel": "Load", "page_url": "https://shop.example/", "language": "en"});
    if tx.send(Message::Text(start.to_string().into())).await.is_err() {
        return;
    }
    // The welcome frame names the conversation.
    while let Some(Ok(message)) = rx.next().await {
        if let Message::Text(text) = message {
            let frame: Value = serde_json::from_str(&text).unwrap_or_default();
            if frame["type"] == "welcome" {
                let _ = opened.send(frame["conversation"].as_u64().unwrap_or(0)).await;
                break;
            }
        }
    }
    // Frames to the visitor (its own messages, acks) are read and dropped.
    tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
    let Ok(start) = go.wait_for(Option::is_some).await.map(|s| s.unwrap_or_else(Instant::now)) else { return };
    let phase = Duration::from_micros((index as u64 * 7919) % 1_000_000);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(start + phase), Duration::from_secs(1));
    loop {
        tick.tick().await;
        if go.borrow().is_none() {
            return;
        }
        let sent = epoch.elapsed().as_micros() as u64;
        let say = json!({"type": "say", "body": format!("v{index} t{sent}")});
        if tx.send(Message::Text(say.to_string().into())).await.is_err() {
            return;
        }
    }
}

/// One operator: follows `conversations` and records each visitor
/// message's delivery latency.
async fn operator(base: String, conversations: Vec<u64>, epoch: Instant, latencies: Arc<Mutex<Vec<u64>>>) {
    let mut request =
        format!("{}/api/operator/ws", base.replacen("http://", "ws://", 1)).into_client_request().expect("url");
    request.headers_mut().insert("authorization", format!("Bearer {TOKEN}").parse().expect("header"));
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("operator connects");
    let (mut tx, mut rx) = socket.split();
    for id in &conversations {
        let frame = json!({"type": "follow", "conversation": id, "after": 0});
        tx.send(Message::Text(frame.to_string().into())).await.expect("follow");
    }
    while let Some(Ok(message)) = rx.next().await {
        let Message::Text(text) = message else { continue };
        // Cheap look before parsing: only visitor messages matter.
        if !text.contains("\"type\":\"message\"") || !text.contains("\"visitor\"") {
            continue;
        }
        let frame: Value = serde_json::from_str(&text).unwrap_or_default();
        let Some(sent) =
            frame["body"].as_str().and_then(|b| b.rsplit_once(" t")).and_then(|(_, t)| t.parse::<u64>().ok())
        else {
            continue;
        };
        let now = epoch.elapsed().as_micros() as u64;
        latencies.lock().expect("latencies").push(now.saturating_sub(sent));
    }
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; any other run (such as `cargo test
    // --benches`) only checks that this starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("chat_load: run with `cargo bench -p switchboard --bench chat_load`");
        return;
    }
    let visitors: usize = env_or("LOAD_VISITORS", 10_000);
    let seconds: u64 = env_or("LOAD_SECONDS", 20);
    let ramp: u64 = env_or("LOAD_RAMP", 1_000);
    let server = BenchServer::start().await;
    server
        .enable("live-chat", json!({"channels": [{"name": "Load"}]}), &["chat", "tickets", "storage", "timers"])
        .await;
    let url = format!("{}/c/load/live-chat/ws", server.base.replacen("http://", "ws://", 1));
    println!("chat_load: {visitors} visitors, {seconds} s of one message a second each, ramp {ramp}/s");
    let rss_idle = rss_mib(server.pid);

    let epoch = Instant::now();
    let (opened_tx, mut opened) = tokio::sync::mpsc::channel(visitors.max(1));
    let (go_tx, go) = tokio::sync::watch::channel(None);
    let ramp_started = Instant::now();
    for index in 0..visitors {
        tokio::spawn(visitor(url.clone(), index, epoch, opened_tx.clone(), go.clone()));
        if ((index + 1) as u64).is_multiple_of(ramp.max(1)) {
            let due = ramp_started + Duration::from_secs((index as u64 + 1) / ramp.max(1));
            tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        }
    }
    drop(opened_tx);
    let mut conversations = Vec::with_capacity(visitors);
    while conversations.len() < visitors {
        match tokio::time::timeout(Duration::from_secs(30), opened.recv()).await {
            Ok(Some(id)) => conversations.push(id),
            _ => break,
        }
    }
    println!(
        "opened {} conversations in {:.1} s; server RSS {:.0} MiB (idle {:.0} MiB)",
        conversations.len(),
        ramp_started.elapsed().as_secs_f64(),
        rss_mib(server.pid),
        rss_idle
    );

    let latencies = Arc::new(Mutex::new(Vec::<u64>::new()));
    for chunk in conversations.chunks(PER_OPERATOR) {
        tokio::spawn(operator(server.base.clone(), chunk.to_vec(), epoch, Arc::clone(&latencies)));
    }
    // Following is set up before the first message.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = go_tx.send(Some(Instant::now()));
    // The first seconds warm up; then the window is measured.
    tokio::time::sleep(Duration::from_secs(3)).await;
    latencies.lock().expect("latencies").clear();
    let measured = Instant::now();
    let cpu_before = process_cpu_us(server.pid);
    let own_before = process_cpu_us(std::process::id());
    let (flushes_before, writes_before) = store_counters(&server).await;
    let mut rss_peak: f64 = 0.0;
    while measured.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_peak = rss_peak.max(rss_mib(server.pid));
    }
    let mut got = std::mem::take(&mut *latencies.lock().expect("latencies"));
    let window = measured.elapsed().as_secs_f64();
    let cpu = process_cpu_us(server.pid) - cpu_before;
    let own = process_cpu_us(std::process::id()) - own_before;
    let (flushes, writes) = store_counters(&server).await;
    let (flushes, writes) = (flushes - flushes_before, writes - writes_before);
    let _ = go_tx.send(None);
    got.sort_unstable();
    println!(
        "delivered {} messages in {:.1} s ({:.0}/s; sent {:.0}/s); latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; server RSS peak {:.0} MiB, CPU {:.2} cores ({:.0} µs a message); this load tool {:.2} cores; {:.0} flushes/s of {:.1} writes each",
        got.len(),
        window,
        got.len() as f64 / window,
        conversations.len() as f64,
        percentile(&got, 0.5) / 1000.0,
        percentile(&got, 0.99) / 1000.0,
        got.last().copied().unwrap_or(0) as f64 / 1000.0,
        rss_peak,
        cpu / 1e6 / window,
        cpu / got.len().max(1) as f64,
        own / 1e6 / window,
        flushes / window,
        writes / flushes.max(1.0)
    );
}
