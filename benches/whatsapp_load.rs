//! Load benchmark for the WhatsApp webhook: signed deliveries/s, each one
//! text message from a customer, durable (the 200 means the message is on
//! disk in the customer's conversation), with 16 concurrent senders. The
//! same run measures the web form with as many clients (one durable
//! ticket per submission) as the baseline: the ratio says what the
//! signature check, the notification's decoding and the conversation add.
//!
//! Starts the real `switchboard` binary (release, as `cargo bench` builds
//! it) with the shipped `whatsapp` and `web-form` plugins enabled for team
//! "Load" and no per-client rate limit. Each WhatsApp sender is one
//! customer number writing message after message (each with its own
//! `wamid`, signed with HMAC-SHA256 as Meta signs), so that every delivery
//! appends to an open conversation. Rounds of the two are interleaved so
//! that each sees the same machine noise; the medians of the rounds are
//! reported, with p50 and p99 latency.
//!
//! Run: `cargo bench -p switchboard --bench whatsapp_load`
//! Tune: `LOAD_SECONDS` per round (default 5), `LOAD_ROUNDS` (default 3),
//! `LOAD_SENDERS` (default 16).

// Each bench uses a different part of the shared measures.
#[allow(dead_code)]
#[path = "support/measure.rs"]
mod measure;
// Each bench uses a different part of the shared server code.
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use std::time::{Duration, Instant};

use measure::{median, percentile};
use serde_json::json;
use server::{BenchServer, env_or};

/// The app secret the deliveries are signed with.
const APP_SECRET: &str = "bench-app-secret";

/// One round's figures.
struct Round {
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    WhatsApp,
    Form,
}

/// A signed notification: one text message from sender `s`.
fn notification(round: usize, s: usize, i: u64) -> (String, String) {
    let wa_id = format!("3805{s:08}");
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": format!("Customer {s}")}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": format!("wamid.r{round}s{s}m{i}"), "timestamp": "1796315729", "type": "text",
            "text": {"body": "Hello, my order has not arrived yet."}}],
    }}]}]})
    .to_string();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, APP_SECRET.as_bytes());
    let mac: String = ring::hmac::sign(&key, body.as_bytes()).as_ref().iter().map(|b| format!("{b:02x}")).collect();
    (body, format!("sha256={mac}"))
}

async fn round(server: &BenchServer, target: Target, round: usize, senders: usize, seconds: f64) -> Round {
    // The form answers 303 to its thanks page; the page is not fetched,
    // as the 201 of the API is not followed by a read.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..senders {
        let (client, base) = (client.clone(), server.base.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let request = match target {
                    Target::WhatsApp => {
                        let (body, signature) = notification(round, s, i);
                        client
                            .post(format!("{base}/c/load/whatsapp/"))
                            .header("content-type", "application/json")
                            .header("x-hub-signature-256", signature)
                            .body(body)
                    }
                    Target::Form => {
                        let email = format!("client{s}@example.com");
                        let subject = format!("load r{round} s{s} #{i}");
                        let body = form_urlencoded::Serializer::new(String::new())
                            .extend_pairs([
                                ("name", "Load Client"),
                                ("email", email.as_str()),
                                ("subject", subject.as_str()),
                                ("description", "Hello, my order has not arrived yet."),
                                ("website", ""),
                            ])
                            .finish();
                        client
                            .post(format!("{base}/c/load/web-form/"))
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(body)
                    }
                };
                let sent = Instant::now();
                let response = request.send().await.expect("request");
                let wanted = if target == Target::Form { 303 } else { 200 };
                assert_eq!(response.status(), wanted, "{}", response.text().await.unwrap_or_default());
                response.bytes().await.expect("body");
                latencies.push(sent.elapsed().as_micros() as u64);
                i += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("sender"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    Round { per_sec: all.len() as f64 / elapsed, p50_us: percentile(&all, 0.50), p99_us: percentile(&all, 0.99) }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; any other run (such as `cargo test
    // --benches`) only checks that this starts.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let seconds: f64 = env_or("LOAD_SECONDS", 5.0);
    let rounds: usize = env_or("LOAD_ROUNDS", 3);
    let senders: usize = env_or("LOAD_SENDERS", 16);
    let server = BenchServer::start().await;
    let settings = json!({"phone_number_id": "106540352242922", "app_secret": APP_SECRET, "channel": "Load"});
    // It never calls out here (text messages need no file fetched), so the
    // outbound grants are declined.
    let enabled = server
        .http
        .put(server.api("/teams/load/plugins/whatsapp"))
        .bearer_auth(server::TOKEN)
        .json(&json!({"settings": settings, "grants": ["chat", "tickets", "storage"],
            "declined": ["http:setting:graph_url", "http:lookaside.fbsbx.com"]}))
        .send()
        .await
        .expect("enable whatsapp");
    assert_eq!(enabled.status(), 201, "{}", enabled.text().await.unwrap_or_default());
    server.enable("web-form", json!({"rate_limit": {"submissions": 0, "per_minutes": 10}}), &["tickets"]).await;
    // One warm-up round each, not counted.
    round(&server, Target::WhatsApp, 0, senders, 1.0).await;
    round(&server, Target::Form, 0, senders, 1.0).await;
    let (mut whatsapp, mut form) = (Vec::new(), Vec::new());
    for r in 1..=rounds {
        whatsapp.push(round(&server, Target::WhatsApp, r, senders, seconds).await);
        form.push(round(&server, Target::Form, r, senders, seconds).await);
    }
    let report = |name: &str, rounds: &[Round]| {
        let per_sec = median(rounds.iter().map(|r| r.per_sec).collect());
        let p50 = median(rounds.iter().map(|r| r.p50_us).collect());
        let p99 = median(rounds.iter().map(|r| r.p99_us).collect());
        println!("{name:>9}: {per_sec:8.0}/s  p50 {:6.2} ms  p99 {:6.2} ms", p50 / 1000.0, p99 / 1000.0);
        per_sec
    };
    println!("{senders} senders, {rounds} rounds of {seconds} s (medians)");
    let w = report("whatsapp", &whatsapp);
    let f = report("web form", &form);
    println!("ratio whatsapp / web form: {:.2}", w / f);
}
