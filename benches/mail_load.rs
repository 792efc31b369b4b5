//! Load benchmark for inbound e-mail: messages/s accepted over SMTP, each
//! a new ticket, durable (250 means the message and its ticket are on
//! disk), with 16 concurrent senders, and the time from the end of DATA to
//! the 250. The same run measures the API's ticket creation with as many
//! clients, as the baseline: the ratio says what SMTP, the kept copy and
//! the plugin add to a durable ticket.
//!
//! Starts the real `switchboard` binary (release, as `cargo bench` builds
//! it) with the shipped `email-alias` plugin enabled for team "Load".
//! Each sender holds one SMTP session and sends message after message
//! (MAIL, RCPT and DATA pipelined, as a mail server relaying to us would),
//! each from a sender address of its own so that the per-sender cap does
//! not apply. Rounds of SMTP and of the API are interleaved so that each
//! sees the same machine noise; the medians of the rounds are reported.
//!
//! Then the outbox: agents' replies posted through the API at 16 clients
//! on the tickets the mail opened, each handed to the e-mail channel,
//! queued, and sent to a relay the benchmark runs (an SMTP sink on
//! loopback); replies/s counts from the first post to the last mail the
//! sink took.
//!
//! Run: `cargo bench -p switchboard --bench mail_load`
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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use measure::{median, percentile};
use serde_json::json;
use server::{BenchServer, TOKEN, env_or};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One round's figures.
struct Round {
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
}

/// Reads one SMTP reply and returns its code.
async fn reply(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> u16 {
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).await.expect("read a reply");
        assert!(n >= 4, "the server closed the session");
        if line.as_bytes()[3] != b'-' {
            return line[..3].parse().expect("a reply code");
        }
    }
}

/// A message from sender `s`, number `i`, to team "load".
fn message(round: usize, s: usize, i: u64) -> String {
    format!(
        "From: Sender {s} <s{s}-{i}@customer.example>\r\nTo: load@localhost\r\nSubject: Order {i} from sender {s}\r\n\
         Message-ID: <r{round}-s{s}-m{i}@customer.example>\r\nDate: Wed, 2 Dec 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nmy order {i} has not arrived yet.\r\nRegards\r\n.\r\n"
    )
}

async fn smtp_round(addr: &str, round: usize, senders: usize, seconds: f64) -> Round {
    let running = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|s| {
            let (running, addr) = (Arc::clone(&running), addr.to_owned());
            tokio::spawn(async move {
                let (read, mut write) = TcpStream::connect(&addr).await.expect("connect").into_split();
                let mut reader = BufReader::new(read);
                assert_eq!(reply(&mut reader).await, 220);
                write.write_all(b"EHLO bench.example\r\n").await.expect("ehlo");
                assert_eq!(reply(&mut reader).await, 250);
                let mut latencies = Vec::new();
                let mut i = 0u64;
                while running.load(Ordering::Relaxed) {
                    i += 1;
                    let envelope =
                        format!("MAIL FROM:<s{s}-{i}@customer.example>\r\nRCPT TO:<load@localhost>\r\nDATA\r\n");
                    write.write_all(envelope.as_bytes()).await.expect("envelope");
                    for expected in [250, 250, 354] {
                        assert_eq!(reply(&mut reader).await, expected);
                    }
                    let data_end = Instant::now();
                    write.write_all(message(round, s, i).as_bytes()).await.expect("data");
                    let code = reply(&mut reader).await;
                    assert_eq!(code, 250, "the message was not accepted");
                    latencies.push(data_end.elapsed().as_micros() as u64);
                }
                let _ = write.write_all(b"QUIT\r\n").await;
                latencies
            })
        })
        .collect();
    finish_round(tasks, &running, started, seconds).await
}

/// Lets the round's clients run for `seconds`, stops them, and sums up
/// what each measured: one latency per request answered.
async fn finish_round(
    tasks: Vec<tokio::task::JoinHandle<Vec<u64>>>,
    running: &AtomicBool,
    started: Instant,
    seconds: f64,
) -> Round {
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    running.store(false, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("client"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Round {
        per_sec: latencies.len() as f64 / elapsed,
        p50_us: percentile(&latencies, 0.5),
        p99_us: percentile(&latencies, 0.99),
    }
}

async fn api_round(server: &BenchServer, clients: usize, seconds: f64) -> Round {
    let running = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, running, url) = (server.http.clone(), Arc::clone(&running), server.api("/teams/load/tickets"));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while running.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let body = json!({"title": "Order 1 has not arrived", "description": "Hello, my order has not arrived yet.",
                                      "contact": {"email": "someone@customer.example"}});
                    let resp = client.post(&url).bearer_auth(TOKEN).json(&body).send().await.expect("post");
                    assert_eq!(resp.status(), 201);
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                latencies
            })
        })
        .collect();
    finish_round(tasks, &running, started, seconds).await
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; any other run (such as `cargo test
    // --benches`) only checks that this starts.
    if !std::env::args().any(|a| a == "--bench") {
        println!("mail_load: run with `cargo bench -p switchboard --bench mail_load`");
        return;
    }
    let seconds: f64 = env_or("LOAD_SECONDS", 5.0);
    let rounds: usize = env_or("LOAD_ROUNDS", 3);
    let senders: usize = env_or("LOAD_SENDERS", 16);
    let sink = Sink::start().await;
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let server = BenchServer::spawn(binary, &["--relay", &format!("smtp://{}", sink.addr)]).await;
    let team = server.http.post(server.api("/teams")).bearer_auth(TOKEN).json(&json!({"name": "Load"})).send();
    assert_eq!(team.await.expect("team").status(), 201);
    assert!(!server.smtp.is_empty(), "the server printed no SMTP address");
    let settings = json!({"new_tickets_per_sender_per_hour": 10000});
    server.enable("email-alias", settings, &["tickets", "mail:team"]).await;
    println!("mail_load: {senders} senders, {rounds} rounds of {seconds} s, smtp {}", server.smtp);
    let (mut smtp, mut api) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let m = smtp_round(&server.smtp, r, senders, seconds).await;
        println!(
            "round {r}: smtp {:.0} msgs/s, DATA end to 250 p50 {:.0} µs p99 {:.0} µs",
            m.per_sec, m.p50_us, m.p99_us
        );
        let a = api_round(&server, senders, seconds).await;
        println!("round {r}: api  {:.0} tickets/s, p50 {:.0} µs p99 {:.0} µs", a.per_sec, a.p50_us, a.p99_us);
        smtp.push(m);
        api.push(a);
    }
    let med = |rs: &[Round], f: fn(&Round) -> f64| median(rs.iter().map(f).collect());
    let tickets = ticket_ids(&server).await;
    let mut outbox = Vec::new();
    for r in 0..rounds {
        let (posted, per_sec) = outbox_round(&server, &sink, &tickets, senders, seconds).await;
        println!("round {r}: outbox {per_sec:.0} replies/s delivered to the relay ({posted} replies)");
        outbox.push(per_sec);
    }
    let (smtp_rate, api_rate) = (med(&smtp, |r| r.per_sec), med(&api, |r| r.per_sec));
    println!(
        "median: smtp {smtp_rate:.0} msgs/s (p50 {:.0} µs, p99 {:.0} µs); api {api_rate:.0} tickets/s (p50 {:.0} µs, p99 {:.0} µs); smtp/api {:.2}x",
        med(&smtp, |r| r.p50_us),
        med(&smtp, |r| r.p99_us),
        med(&api, |r| r.p50_us),
        med(&api, |r| r.p99_us),
        smtp_rate / api_rate
    );
    println!("median: outbox {:.0} replies/s delivered to the relay", median(outbox));
}

/// Ids of tickets in team "load" (the mail rounds opened them).
async fn ticket_ids(server: &BenchServer) -> Vec<u64> {
    let url = server.api("/teams/load/tickets?limit=1000");
    let list: serde_json::Value =
        server.http.get(url).bearer_auth(TOKEN).send().await.expect("list").json().await.expect("json");
    let ids: Vec<u64> = list.as_array().expect("tickets").iter().filter_map(|t| t["id"].as_u64()).collect();
    assert!(!ids.is_empty(), "the mail rounds opened tickets");
    ids
}

/// Posts replies for `seconds` from `clients` clients, then waits until
/// the sink has them all; the rate is from the first post to the last
/// mail taken.
async fn outbox_round(server: &BenchServer, sink: &Sink, tickets: &[u64], clients: usize, seconds: f64) -> (u64, f64) {
    let before = sink.count.load(Ordering::SeqCst);
    let running = Arc::new(AtomicBool::new(true));
    let posted = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, running, posted) = (server.http.clone(), Arc::clone(&running), Arc::clone(&posted));
            let urls: Vec<String> = tickets
                .iter()
                .skip(c)
                .step_by(clients)
                .map(|id| server.api(&format!("/tickets/{id}/messages")))
                .collect();
            tokio::spawn(async move {
                for url in urls.iter().cycle() {
                    if !running.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = json!({"kind": "reply", "body": "Thank you, your order ships today.\nRegards"});
                    let resp = client.post(url).bearer_auth(TOKEN).json(&body).send().await.expect("post");
                    assert_eq!(resp.status(), 201);
                    posted.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    running.store(false, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("client");
    }
    let posted = posted.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(120);
    while sink.count.load(Ordering::SeqCst) - before < posted {
        assert!(
            Instant::now() < deadline,
            "the relay got {} of {posted} replies",
            sink.count.load(Ordering::SeqCst) - before
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (posted, posted as f64 / started.elapsed().as_secs_f64())
}

/// A relay on loopback that takes every message and counts it.
struct Sink {
    addr: std::net::SocketAddr,
    count: Arc<AtomicU64>,
}

impl Sink {
    async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let (addr, count) = (listener.local_addr().expect("addr"), Arc::new(AtomicU64::new(0)));
        let counted = Arc::clone(&count);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(Sink::session(stream, Arc::clone(&counted)));
            }
        });
        Sink { addr, count }
    }

    async fn session(stream: TcpStream, count: Arc<AtomicU64>) {
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let _ = write.write_all(b"220 sink ESMTP\r\n").await;
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let verb = line.get(..4).map(|v| v.to_ascii_uppercase()).unwrap_or_default();
            let reply: &[u8] = match verb.as_slice() {
                b"QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                b"DATA" => {
                    let _ = write.write_all(b"354 go\r\n").await;
                    loop {
                        line.clear();
                        if reader.read_until(b'\n', &mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == b".\r\n" {
                            break;
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    b"250 2.0.0 queued\r\n"
                }
                b"EHLO" | b"HELO" => b"250 sink\r\n",
                _ => b"250 2.0.0 ok\r\n",
            };
            let _ = write.write_all(reply).await;
        }
    }
}
