//! Load benchmark for the agent board: how long a team's board takes to
//! load with 10,000 tickets, on the server and until the page is usable in
//! chromium, and the delay from a ticket's creation to its card on an open
//! board.
//!
//! Starts the real `switchboard` binary (release, as `cargo bench` builds
//! it), opens `LOAD_TICKETS` tickets (default 10,000, each with a contact
//! of its own) with 64 clients, not timed, then:
//! - server time: `LOAD_ROUNDS` (default 20) reads of the board API,
//!   against the list API's first page of 100 tickets as the baseline
//!   measured in the same run;
//! - page: `LOAD_PAGES` (default 5) loads of `/console/board` in headless
//!   chromium, each timed from navigation start to the board's
//!   `board-ready` mark (its cards are in the page and take clicks);
//! - live delay: with the board open, `LOAD_LIVE` (default 100) tickets
//!   created one at a time over the API, each timed from its 201 to its
//!   card in the page (a MutationObserver notes the time; the server, the
//!   bench and chromium share the machine's clock).
//!
//! Run: `cargo bench -p switchboard --bench console_load`

// Each bench uses a different part of the shared measures.
#[allow(dead_code)]
#[path = "support/measure.rs"]
mod measure;
// Each bench uses a different part of the shared server code.
// The browser the end-to-end tests drive (it allows its own dead code).
#[path = "../tests/browser_kit.rs"]
mod browser_kit;
#[allow(dead_code)]
#[path = "support/server.rs"]
mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use measure::{median, percentile};
use serde_json::{Value, json};
use server::{BenchServer, TOKEN, env_or};

/// Opens `n` tickets in team "load" with `clients` at once.
async fn fill(s: &BenchServer, n: usize, clients: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, next) = (s.http.clone(), s.api("/teams/load/tickets"), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let body = json!({
                    "title": format!("Ticket {i}: the printer on floor {} is jammed", i % 7),
                    "priority": i % 4,
                    "contact": {"name": format!("Customer {i}"), "email": format!("c{i}@example.com")}
                });
                let answer = http.post(&url).bearer_auth(TOKEN).json(&body).send().await.expect("create");
                assert_eq!(answer.status(), 201);
            }
        }));
    }
    for task in tasks {
        task.await.expect("client");
    }
}

/// Milliseconds of `rounds` GETs of `path`, sorted.
async fn timed_gets(s: &BenchServer, path: &str, rounds: usize) -> Vec<u64> {
    let mut took = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let answer = s.http.get(s.api(path)).bearer_auth(TOKEN).send().await.expect("get");
        assert_eq!(answer.status(), 200, "{path}");
        let body = answer.bytes().await.expect("body");
        took.push(start.elapsed().as_micros() as u64);
        assert!(!body.is_empty());
    }
    took.sort_unstable();
    took
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let tickets = env_or("LOAD_TICKETS", 10_000usize);
    let rounds = env_or("LOAD_ROUNDS", 20usize);
    let pages = env_or("LOAD_PAGES", 5usize);
    let live = env_or("LOAD_LIVE", 100usize);
    let s = BenchServer::start().await;
    let start = Instant::now();
    fill(&s, tickets, 64).await;
    println!("opened {tickets} tickets in {:.1} s (not part of the figures)", start.elapsed().as_secs_f64());

    // Server time: the board against the list API's first page.
    let list = timed_gets(&s, "/teams/load/tickets?limit=100", rounds).await;
    let board = timed_gets(&s, "/teams/load/board", rounds).await;
    let searched = timed_gets(&s, "/teams/load/board?q=customer%209999", rounds).await;
    let ms = |us: f64| us / 1000.0;
    println!(
        "server: board median {:.1} ms, p99 {:.1} ms; list of 100 (baseline) median {:.1} ms; ratio {:.1}x",
        ms(percentile(&board, 0.5)),
        ms(percentile(&board, 0.99)),
        ms(percentile(&list, 0.5)),
        percentile(&board, 0.5) / percentile(&list, 0.5)
    );
    println!(
        "server: board with a search over titles and contacts median {:.1} ms, p99 {:.1} ms",
        ms(percentile(&searched, 0.5)),
        ms(percentile(&searched, 0.99))
    );

    // The page in chromium.
    let browser = browser_kit::Browser::start().await;
    browser.resize(1400, 1000).await;
    browser.open(&format!("{}/", s.base)).await;
    browser.type_into("#token", TOKEN).await;
    browser.click("form[action='/console/sign-in'] button[type=submit]").await;
    browser.wait_for("the board after sign-in", "document.body.dataset.page === 'board'", 20).await;
    let mut usable = Vec::new();
    for _ in 0..pages {
        browser.open(&format!("{}/console/board?team=load", s.base)).await;
        browser.wait_for("the board", "document.body.dataset.boardReady === 'true'", 60).await;
        let mark = browser.run("return performance.getEntriesByName('board-ready')[0].startTime").await;
        usable.push(mark.as_f64().unwrap_or(f64::NAN));
    }
    println!("page: usable after a median of {:.0} ms from navigation start ({pages} loads)", median(usable.clone()));

    // Creation to card, on the open board.
    browser.wait_for("the live feed", "document.body.dataset.live === 'true'", 20).await;
    browser
        .run(
            "window.__seen = {};\
             new MutationObserver(function () {\
               document.querySelectorAll('.ticket-card').forEach(function (c) {\
                 if (!(c.dataset.id in window.__seen)) window.__seen[c.dataset.id] = Date.now(); });\
             }).observe(document.getElementById('board'), {childList: true, subtree: true});\
             document.querySelectorAll('.ticket-card').forEach(function (c) { window.__seen[c.dataset.id] = 0; });",
        )
        .await;
    let mut created = Vec::new();
    for i in 0..live {
        let body = json!({"title": format!("Live {i}"), "priority": 3, "contact": {"name": format!("Live {i}")}});
        let sent = now_ms();
        let answer = s.http.post(s.api("/teams/load/tickets")).bearer_auth(TOKEN).json(&body).send().await;
        let acknowledged = now_ms();
        let answer: Value = answer.expect("create").json().await.expect("json");
        created.push((answer["id"].as_u64().expect("id"), sent, acknowledged));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let seen = browser.run("return window.__seen").await;
        if created.iter().all(|(id, _, _)| seen.get(id.to_string()).is_some()) || Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // From the request sent (the ticket's whole creation, its sync to
    // disk included) and from its 201: the card may show before the 201
    // reaches the client, as the feed and the answer race after the sync.
    let (mut from_sent, mut from_ack): (Vec<u64>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut missing = 0;
    for (id, sent, acknowledged) in &created {
        match seen.get(id.to_string()).and_then(Value::as_f64) {
            Some(shown) => {
                from_sent.push(((shown - sent).max(0.0) * 1000.0) as u64);
                from_ack.push(((shown - acknowledged) * 1000.0) as i64);
            }
            None => missing += 1,
        }
    }
    from_sent.sort_unstable();
    from_ack.sort_unstable();
    let ack_at = |p: f64| {
        from_ack.get(((from_ack.len().max(1) - 1) as f64 * p).round() as usize).map_or(f64::NAN, |v| *v as f64 / 1000.0)
    };
    println!(
        "live: creation to card p50 {:.1} ms, p99 {:.1} ms from the request sent; {:+.1} ms, {:+.1} ms from its 201; over {} tickets ({missing} never shown)",
        percentile(&from_sent, 0.5) / 1000.0,
        percentile(&from_sent, 0.99) / 1000.0,
        ack_at(0.5),
        ack_at(0.99),
        from_sent.len()
    );
}
