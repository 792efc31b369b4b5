//! A 2xx means the data is on disk: the real `switchboard` binary is
//! SIGKILLed while clients create tickets (through the API, and through a
//! channel plugin that writes twice per request), restarted on the same
//! data directory, and must still have every ticket that got a 201.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{install_and_enable, spawn_server};
use tokio::process::Child;

const TOKEN: &str = "durability-admin-token";

/// Starts the binary on port 0 and returns it with its base URL.
async fn start(data: &std::path::Path) -> (Child, String) {
    spawn_server(data, TOKEN, &[]).await
}

/// Starts the binary on a fresh data directory and creates team "ops";
/// returns the server, its base URL and a client.
async fn start_with_team(data: &std::path::Path) -> (Child, String, reqwest::Client) {
    let (child, base) = start(data).await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/api/teams"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Ops"}))
        .send()
        .await
        .expect("create team");
    assert_eq!(created.status(), 201);
    (child, base, client)
}

/// Installs hello-channel and enables it for "ops", counting submissions
/// in its storage: every request is then two writes, the ticket and the
/// count.
async fn enable_hello_channel(client: &reqwest::Client, base: &str) {
    let settings = json!({"count_submissions": true});
    install_and_enable(client, base, TOKEN, &switchboard_artifacts::HELLO_CHANNEL, settings, &["tickets", "storage"])
        .await;
}

/// Opens a ticket titled `title`, through the API or through
/// hello-channel's public route, and returns its id once acknowledged.
async fn open_ticket(client: &reqwest::Client, base: &str, through_plugin: bool, title: &str) -> Option<u64> {
    let request = if through_plugin {
        client.post(format!("{base}/c/ops/hello-channel/"))
    } else {
        client.post(format!("{base}/api/teams/ops/tickets")).bearer_auth(TOKEN)
    };
    // Once the server is killed, requests fail; stop then.
    let resp = request.json(&json!({"title": title})).send().await.ok()?;
    if resp.status() != 201 {
        return None;
    }
    let body = resp.json::<Value>().await.ok()?;
    body[if through_plugin { "ticket" } else { "id" }].as_u64()
}

/// Checks in `/metrics` that writes went to the store's writer thread and
/// that some of them shared a transaction, so that a kill meets batches
/// that were committed but not yet acknowledged (on sled); or that the
/// writes were committed transactions (on PostgreSQL).
async fn assert_writes_were_batched(client: &reqwest::Client, base: &str) {
    let metrics = client.get(format!("{base}/metrics")).bearer_auth(TOKEN).send().await.expect("metrics");
    let text = metrics.text().await.expect("metrics text");
    let counter = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
    };
    if support::on_postgres() {
        // On PostgreSQL every acknowledged write is a transaction that
        // committed before its answer: a kill meets commits in flight.
        let commits = counter("switchboard_store_commits_total");
        assert!(commits >= 400, "only {commits} transactions committed before the kill:\n{text}");
        return;
    }
    let handed_over = counter("switchboard_store_handed_over_writes_total");
    assert!(handed_over > 0, "no write went to the store's writer thread:\n{text}");
    let batched = counter("switchboard_store_batched_writes_total");
    assert!(batched > 0, "the writer never committed writes together:\n{text}");
}

/// Streams ticket creations from at least 16 clients, SIGKILLs the server
/// after at least 400 acknowledgements, restarts it, and checks every
/// acknowledged ticket. There are enough clients that the server hands
/// writes to the store's writer thread, which commits the writes queued
/// together in one transaction; the test checks that both happened.
async fn acknowledged_tickets_survive_sigkill(through_plugin: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, base, client) = start_with_team(dir.path()).await;
    if through_plugin {
        enable_hello_channel(&client, &base).await;
    }

    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let mut clients = Vec::new();
    // Writes are handed over above two requests in progress per CPU.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    for c in 0..16.max(4 * cpus) {
        let (client, base, acked) = (client.clone(), base.clone(), Arc::clone(&acked));
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let title = format!("client {c} ticket {i}");
                let Some(id) = open_ticket(&client, &base, through_plugin, &title).await else { return };
                acked.lock().expect("lock").push((id, title));
            }
        }));
    }

    // Kill the server mid-stream, with requests in flight.
    let started = Instant::now();
    while acked.lock().expect("lock").len() < 400 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_writes_were_batched(&client, &base).await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("reaped");
    for c in clients {
        c.await.expect("client task");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 400, "only {} tickets were acknowledged", acked.len());

    let (_child, base) = start(dir.path()).await;
    for (id, title) in &acked {
        let resp = client.get(format!("{base}/api/tickets/{id}")).bearer_auth(TOKEN).send().await.expect("get");
        assert_eq!(resp.status(), 200, "ticket {id} was acknowledged but is gone after SIGKILL");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["title"], title.as_str());
    }
    let listed: Value = client
        .get(format!("{base}/api/teams/ops/tickets?limit=1000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert!(listed.as_array().expect("list").len() >= acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_ticket_survives_sigkill() {
    acknowledged_tickets_survive_sigkill(false).await;
}

/// A plugin's writes do not wait for the disk one by one (its instance
/// ends first); the answer still leaves only once all of them are durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ticket_a_plugin_acknowledged_survives_sigkill() {
    acknowledged_tickets_survive_sigkill(true).await;
}

/// The second write of a plugin call (hello-channel's count, after the
/// ticket) is on disk when the answer arrives: each SIGKILL right after a
/// 201 keeps the count it reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_last_write_is_durable_before_its_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, mut base, client) = start_with_team(dir.path()).await;
    enable_hello_channel(&client, &base).await;
    // A flush usually follows within microseconds anyway, so one kill
    // would rarely catch an answer sent before it; ten usually do.
    for expected in 1..=10u64 {
        let resp = client
            .post(format!("{base}/c/ops/hello-channel/"))
            .json(&json!({"title": format!("submission {expected}")}))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["submissions"], expected, "the count survived every earlier SIGKILL");
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
        (child, base) = start(dir.path()).await;
    }
}

/// A plugin's write is on disk before its outbound request leaves: a
/// stand-in service SIGKILLs the server the moment the request that names
/// the new ticket reaches it, and after a restart the ticket is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_write_is_durable_before_its_outbound_request() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, mut base, client) = start_with_team(dir.path()).await;
    let guest = switchboard_artifacts::MISBEHAVE_CHANNEL;
    install_and_enable(&client, &base, TOKEN, &guest, json!({}), &["tickets", "http:127.0.0.1"]).await;
    let service = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/notify", service.local_addr().expect("addr"));

    // The flush usually follows the write within a millisecond, so one kill
    // rarely lands between them: without the wait, about one round in
    // twenty-five here loses its ticket, so thirty rounds usually show it.
    for _ in 0..30 {
        let call = tokio::spawn({
            let (client, base, url) = (client.clone(), base.clone(), url.clone());
            async move { client.get(format!("{base}/c/ops/misbehave-channel/open-then-fetch?url={url}")).send().await }
        });
        let (mut conn, _) = service.accept().await.expect("the plugin's request");
        let mut head = vec![0u8; 1024];
        let n = conn.read(&mut head).await.expect("read request");
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("reaped");
        let line = String::from_utf8_lossy(&head[..n]).lines().next().unwrap_or_default().to_owned();
        let id: u64 = line
            .split("ticket=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no ticket id in {line:?}"));
        let _ = conn.shutdown().await;
        let _ = call.await;
        (child, base) = start(dir.path()).await;
        let resp = client.get(format!("{base}/api/tickets/{id}")).bearer_auth(TOKEN).send().await.expect("get");
        assert_eq!(resp.status(), 200, "ticket {id} was announced to the outside before it was on disk");
    }
}
