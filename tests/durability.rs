//! A 2xx means the data is on disk: the real `switchboard` binary is
//! SIGKILLed while clients create tickets, restarted on the same data
//! directory, and must still have every ticket that got a 201.

mod support;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::listening_address;
use tokio::process::{Child, Command};

const TOKEN: &str = "durability-admin-token";

/// Starts the binary on port 0 and returns it with its base URL, read from
/// the line it prints on stdout.
async fn start(data: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("SWITCHBOARD_ADMIN_TOKEN", TOKEN)
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn switchboard");
    let base = listening_address(&mut child).await;
    // serve() opens the store before accepting; wait until it answers.
    let client = reqwest::Client::new();
    for _ in 0..500 {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("server did not come up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_ticket_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, base) = start(dir.path()).await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/api/teams"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "Ops"}))
        .send()
        .await
        .expect("create team");
    assert_eq!(created.status(), 201);

    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let mut clients = Vec::new();
    for c in 0..16 {
        let (client, base, acked) = (client.clone(), base.clone(), Arc::clone(&acked));
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let title = format!("client {c} ticket {i}");
                let resp = client
                    .post(format!("{base}/api/teams/ops/tickets"))
                    .bearer_auth(TOKEN)
                    .json(&json!({"title": title}))
                    .send()
                    .await;
                // Once the server is killed, requests fail; stop then.
                let Ok(resp) = resp else { return };
                if resp.status() != 201 {
                    return;
                }
                let Ok(body) = resp.json::<Value>().await else {
                    return;
                };
                let id = body["id"].as_u64().expect("id");
                acked.lock().expect("lock").push((id, title));
            }
        }));
    }

    // Kill the server mid-stream, with requests in flight.
    let started = Instant::now();
    while acked.lock().expect("lock").len() < 400 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
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
