//! Injected storage faults against the real binary: a failed sync, a
//! failed transaction, a flush or writes that never return, a write that
//! panics, a full disk. After each the
//! server either answers correctly or has exited with an error, and every
//! write it acknowledged is there after a restart.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::spawn_server;

const TOKEN: &str = "faults-admin-token";

/// What the clients saw: acknowledged tickets, and the other statuses.
#[derive(Debug, Default)]
struct Seen {
    acked: Vec<(u64, String)>,
    refused: Vec<(u16, String)>,
}

/// Creates team "ops" and streams ticket creations from 16 clients until
/// `done` says so or the server stops answering.
async fn stream(base: &str, done: impl Fn(&Seen) -> bool + Send + Sync + 'static) -> Seen {
    // A server that neither answers nor exits fails the test instead of
    // hanging it.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let team = client.post(format!("{base}/api/teams")).bearer_auth(TOKEN).json(&json!({"name": "Ops"})).send().await;
    assert_eq!(team.expect("create team").status(), 201);
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let done = Arc::new(done);
    let mut clients = Vec::new();
    for c in 0..16 {
        let (client, base, seen, done) = (client.clone(), base.to_owned(), Arc::clone(&seen), Arc::clone(&done));
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                if done(&seen.lock().expect("lock")) {
                    return;
                }
                let title = format!("client {c} ticket {i}");
                let sent = client
                    .post(format!("{base}/api/teams/ops/tickets"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"title": title, "description": "A customer cannot log in. ".repeat(40)}))
                    .send()
                    .await;
                let Ok(resp) = sent else { return };
                let status = resp.status().as_u16();
                let Ok(body) = resp.json::<Value>().await else { return };
                let mut seen = seen.lock().expect("lock");
                match (status, body["id"].as_u64()) {
                    (201, Some(id)) => seen.acked.push((id, title)),
                    _ => seen.refused.push((status, title)),
                }
            }
        }));
    }
    for c in clients {
        c.await.expect("client");
    }
    Arc::try_unwrap(seen).expect("clients done").into_inner().expect("lock")
}

/// Waits for the server to exit by itself and returns whether it
/// succeeded.
async fn exits(child: &mut tokio::process::Child) -> bool {
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    status.expect("the server exited after the fault").expect("reaped").success()
}

/// Restarts on `data` without fault points and checks every acknowledged
/// ticket.
async fn every_acknowledged_ticket_is_there(data: &std::path::Path, acked: &[(u64, String)]) {
    let (mut child, base) = spawn_server(data, TOKEN, &[]).await;
    let client = reqwest::Client::new();
    for (id, title) in acked {
        let resp = client.get(format!("{base}/api/tickets/{id}")).bearer_auth(TOKEN).send().await.expect("get");
        assert_eq!(resp.status(), 200, "ticket {id} was acknowledged but is gone");
        assert_eq!(resp.json::<Value>().await.expect("json")["title"], title.as_str());
    }
    // Reaped before returning, so that a caller that starts the server on
    // the same data again does not find the store still locked.
    child.start_kill().expect("stop");
    child.wait().await.expect("reaped");
}

/// The server's `/metrics` counter `name`.
async fn counter(base: &str, name: &str) -> u64 {
    let text = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics:\n{text}"))
}

/// Starts the server with `failpoints` armed and streams writes at it: it
/// must stop by itself with an error well before the clients give up
/// (40 s), after some writes, refusing the rest with 503 only when
/// `only_503`, and every write it acknowledged must be there after a
/// restart.
async fn stops_by_itself_and_loses_nothing_acknowledged(failpoints: &str, only_503: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, base) = spawn_server(dir.path(), TOKEN, &[("SWITCHBOARD_FAILPOINTS", failpoints)]).await;
    let started = Instant::now();
    let seen = stream(&base, move |_| started.elapsed() > Duration::from_secs(40)).await;
    assert!(!exits(&mut child).await, "the server exits with an error");
    assert!(started.elapsed() < Duration::from_secs(40), "it stopped by itself, well before the clients gave up");
    assert!(seen.acked.len() > 20, "the fault came after some writes: {} acknowledged", seen.acked.len());
    if only_503 {
        assert!(seen.refused.iter().all(|(status, _)| *status == 503), "refused with 503 only: {:?}", seen.refused);
    }
    every_acknowledged_ticket_is_there(dir.path(), &seen.acked).await;
}

/// A failed sync is not retried: the server stops taking writes and exits
/// with an error, and what it acknowledged before is on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_stops_the_server_and_loses_nothing_acknowledged() {
    stops_by_itself_and_loses_nothing_acknowledged("sync=100*error", true).await;
}

/// A disk that stops answering (a flush that never returns, as after sled's
/// own flusher met a full disk) stops the store after 10 s the same way;
/// the writes waiting on it are never acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_that_never_returns_stops_the_server_and_loses_nothing_acknowledged() {
    stops_by_itself_and_loses_nothing_acknowledged("sync=100*hang", true).await;
}

/// Writes that never return (every transaction after the 100th blocks its
/// thread, as sled's do once its log is stuck) take every runtime worker
/// with them, so the server cannot stop itself the usual way: the store
/// sees no write become durable for 10 s and stops, and the process exits
/// with an error from a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_that_never_return_stop_the_server_and_lose_nothing_acknowledged() {
    stops_by_itself_and_loses_nothing_acknowledged("commit=100+*hang", true).await;
}

/// A transaction that fails in storage stops the store the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_transaction_stops_the_server_and_loses_nothing_acknowledged() {
    stops_by_itself_and_loses_nothing_acknowledged("commit=150*error", false).await;
}

/// A full disk, made real with a file-size limit (`ulimit -f`, with
/// SIGXFSZ ignored so that writes past it fail with `EFBIG` as they would
/// with `ENOSPC`): sled's log write fails, the flush reports it, and the
/// server stops and exits with an error; what it acknowledged is on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_server_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tokio::process::Command::new("sh")
        .args(["-c", r#"ulimit -f 4096; trap "" XFSZ; exec "$0" "$@""#, env!("CARGO_BIN_EXE_switchboard")])
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp", "127.0.0.1:0", "--public-rate", "0", "--data"])
        .arg(dir.path())
        .env("SWITCHBOARD_ADMIN_TOKEN", TOKEN)
        .env("SWITCHBOARD_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn switchboard");
    let base = support::listening_address(&mut child).await;
    let started = Instant::now();
    let seen = stream(&base, move |_| started.elapsed() > Duration::from_secs(60)).await;
    assert!(!exits(&mut child).await, "the server exits with an error");
    assert!(seen.acked.len() > 20, "the disk filled after some writes: {} acknowledged", seen.acked.len());
    assert!(seen.refused.iter().all(|(status, _)| *status == 503), "refused with 503 only: {:?}", seen.refused);
    every_acknowledged_ticket_is_there(dir.path(), &seen.acked).await;
}

/// A write that panics on the writer thread fails alone: the server keeps
/// answering, the other writes are made, and nothing of it is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_panics_fails_alone_and_the_server_carries_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, base) = spawn_server(dir.path(), TOKEN, &[("SWITCHBOARD_FAILPOINTS", "writer=40*panic")]).await;
    let seen = stream(&base, |seen| seen.acked.len() >= 600).await;
    assert_eq!(counter(&base, "switchboard_store_write_panics_total").await, 1, "the fault point fired once");
    // A panic in a batch gives the batch up; its writes run again alone,
    // and the one that panicked is answered 500 unless its rerun went
    // through.
    assert!(seen.refused.iter().all(|(status, _)| *status == 500), "{:?}", seen.refused);
    assert!(seen.refused.len() <= 1, "only the write that panicked failed: {:?}", seen.refused);
    let health = reqwest::get(format!("{base}/health")).await.expect("health");
    assert_eq!(health.status(), 200, "the server carries on");
    child.start_kill().expect("stop");
    child.wait().await.expect("reaped");
    every_acknowledged_ticket_is_there(dir.path(), &seen.acked).await;
    let (_child, base) = spawn_server(dir.path(), TOKEN, &[]).await;
    let listed: Value = reqwest::Client::new()
        .get(format!("{base}/api/teams/ops/tickets?limit=1000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let titles: Vec<&str> = listed.as_array().expect("list").iter().filter_map(|t| t["title"].as_str()).collect();
    for (_, title) in &seen.refused {
        assert!(!titles.contains(&title.as_str()), "the write that failed left ticket {title:?} behind");
    }
}

/// A read does not show another client a write that is not yet durable:
/// with every sync slowed to 300 ms, a GET of a ticket whose creation has
/// committed but not yet been synced answers only once the sync is done,
/// not before the creation's own 201.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_waits_until_the_write_it_sees_is_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_child, base) = spawn_server(dir.path(), TOKEN, &[("SWITCHBOARD_FAILPOINTS", "sync=delay")]).await;
    // A server that neither answers nor exits fails the test instead of
    // hanging it.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let team = client.post(format!("{base}/api/teams")).bearer_auth(TOKEN).json(&json!({"name": "Ops"}));
    assert_eq!(team.send().await.expect("team").status(), 201);
    let create = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move {
            let resp = client
                .post(format!("{base}/api/teams/ops/tickets"))
                .bearer_auth(TOKEN)
                .json(&json!({"title": "Not durable yet"}))
                .send()
                .await
                .expect("create");
            assert_eq!(resp.status(), 201);
            Instant::now()
        }
    });
    // The first ticket of a new server is number 1. Ask for it until it is
    // visible: the write commits at once, and its sync takes 300 ms.
    let started = Instant::now();
    let shown = loop {
        let resp = client.get(format!("{base}/api/tickets/1")).bearer_auth(TOKEN).send().await.expect("get");
        if resp.status() == 200 {
            break Instant::now();
        }
        assert_eq!(resp.status(), 404);
        assert!(started.elapsed() < Duration::from_secs(10), "the ticket never showed");
    };
    let acknowledged = create.await.expect("create task");
    // The GET that showed the ticket waited for the same sync as the
    // creation: it cannot have answered well before the 201.
    assert!(
        shown + Duration::from_millis(100) >= acknowledged,
        "the ticket was shown {:?} before its creation was acknowledged",
        acknowledged.duration_since(shown)
    );
}

/// A robot reaches nothing outside the server before its run's claim is
/// on disk: with every sync slowed to 300 ms, a robot that calls out at
/// once (the misbehaving fixture's `fetch`) reaches its server no sooner
/// than a sync after its ticket's move was acknowledged. The run's reads
/// and the robot's start overlap the claim's flush, but a robot acting on
/// a claim a crash could forget would be started again as a first
/// attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_reaches_nothing_outside_before_its_claim_is_durable() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let heard = Arc::clone(&arrivals);
    let app = axum::Router::new().route(
        "/robot",
        axum::routing::get(move || {
            heard.lock().expect("lock").push(Instant::now());
            async { "ok" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/robot", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("tempdir");
    let (_child, base) = spawn_server(dir.path(), TOKEN, &[("SWITCHBOARD_FAILPOINTS", "sync=delay")]).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let send = |method: reqwest::Method, path: &str, body: Value| {
        client.request(method, format!("{base}{path}")).bearer_auth(TOKEN).json(&body).send()
    };
    let status = |r: reqwest::Result<reqwest::Response>| r.expect("answer").status().as_u16();
    assert_eq!(status(send(reqwest::Method::POST, "/api/teams", json!({"name": "Ops"})).await), 201);
    let robot = switchboard_artifacts::MISBEHAVE_ROBOT;
    let manifest = robot.manifest_text().replace("\"http:allowed.example\"", "\"http:127.0.0.1\"");
    assert!(manifest.contains("http:127.0.0.1"), "the fixture's manifest changed: {manifest}");
    let installed = client
        .post(format!("{base}/api/plugins?wait=true"))
        .bearer_auth(TOKEN)
        .multipart(support::plugin_upload(&manifest, robot.wasm_bytes()))
        .send()
        .await;
    assert_eq!(status(installed), 201);
    let enable = json!({"settings": {"mode": "fetch", "url": url}, "grants": ["tickets", "http:127.0.0.1"]});
    let enabled = status(send(reqwest::Method::PUT, "/api/teams/ops/plugins/misbehave-robot", enable).await);
    assert!((200..300).contains(&enabled), "enable: {enabled}");
    let robots = json!({"robots": [{"plugin": "misbehave-robot"}]});
    assert_eq!(status(send(reqwest::Method::PUT, "/api/teams/ops/stages/2/robots", robots).await), 200);
    let ticket = send(reqwest::Method::POST, "/api/teams/ops/tickets", json!({"title": "Call out"})).await;
    let ticket: Value = ticket.expect("ticket").json().await.expect("json");
    let id = ticket["id"].as_u64().expect("id");

    let moved = send(reqwest::Method::PATCH, &format!("/api/tickets/{id}"), json!({"stage": 2})).await;
    assert_eq!(status(moved), 200);
    let acknowledged = Instant::now();
    let called = loop {
        if let Some(at) = arrivals.lock().expect("lock").first() {
            break *at;
        }
        assert!(acknowledged.elapsed() < Duration::from_secs(20), "the robot never called out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // The claim is written after the move is durable (the move wakes the
    // worker), so its own slowed sync lies between the two.
    let after = called.saturating_duration_since(acknowledged);
    assert!(
        after >= Duration::from_millis(200),
        "the robot called out {after:?} after the move, before its claim's sync"
    );
}
