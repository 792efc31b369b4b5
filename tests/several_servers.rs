//! Several servers behind one load balancer: three `switchboard` binaries
//! on one PostgreSQL database and one NATS server, all private to the test.
//! What one server acknowledges, the others show at once; a plugin
//! installed through one is served by all; a server killed under load, or a
//! NATS restart under traffic, loses nothing acknowledged.

mod chat_kit;
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{install_and_enable, spawn_server};
use switchboard_bus::throwaway::TempNats;
use switchboard_store_postgres::throwaway::TempPostgres;
use tokio::process::Child;

const TOKEN: &str = "several-servers-admin-token";

/// Three servers sharing a fresh database and `nats`, started together as
/// a deploy starts them.
struct Cluster {
    servers: Vec<(Child, String)>,
    url: String,
    _dirs: Vec<tempfile::TempDir>,
    client: reqwest::Client,
}

async fn start_cluster(nats: &TempNats) -> Cluster {
    start_cluster_with(nats, &[]).await
}

/// As [`start_cluster`], with more environment for the servers.
async fn start_cluster_with(nats: &TempNats, env: &[(&'static str, &'static str)]) -> Cluster {
    let postgres = tokio::task::spawn_blocking(TempPostgres::shared).await.expect("join").expect("postgres");
    let url = postgres.new_database().expect("database");
    let bus = nats.url();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().expect("tempdir")).collect();
    let starts = dirs.iter().map(|dir| {
        let (url, bus, env) = (url.clone(), bus.clone(), env.to_vec());
        let data = dir.path().join("data");
        async move {
            let mut all = vec![("SWITCHBOARD_STORE", url.as_str()), ("SWITCHBOARD_BUS", bus.as_str())];
            all.extend(env);
            spawn_server(&data, TOKEN, &all).await
        }
    });
    let servers = futures_join_all(starts).await;
    Cluster { servers, url, _dirs: dirs, client: reqwest::Client::new() }
}

/// Runs the futures concurrently and returns their outputs in order.
async fn futures_join_all<F: std::future::Future<Output = T> + Send + 'static, T: Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<T> {
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.expect("task"));
    }
    out
}

impl Cluster {
    fn base(&self, i: usize) -> &str {
        &self.servers[i].1
    }

    async fn post(&self, i: usize, path: &str, body: Value) -> reqwest::Response {
        self.client.post(format!("{}{path}", self.base(i))).bearer_auth(TOKEN).json(&body).send().await.expect("post")
    }

    async fn get(&self, i: usize, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base(i))).bearer_auth(TOKEN).send().await.expect("get")
    }

    /// Waits until `path` on server `i` answers a public POST with 201, and
    /// says how long that took.
    async fn served_within(&self, i: usize, path: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let resp = self.client.post(format!("{}{path}", self.base(i))).json(&json!({"title": "t"})).send().await;
            if resp.is_ok_and(|r| r.status() == 201) {
                return started.elapsed();
            }
            assert!(started.elapsed() < limit, "server {i} did not serve {path} within {limit:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Opens a ticket through server `base`, returning its id once acknowledged.
async fn open_ticket(client: &reqwest::Client, base: &str, title: &str) -> Option<u64> {
    let resp = client
        .post(format!("{base}/api/teams/ops/tickets"))
        .bearer_auth(TOKEN)
        .json(&json!({"title": title}))
        .send()
        .await
        .ok()?;
    if resp.status() != 201 {
        return None;
    }
    resp.json::<Value>().await.ok()?["id"].as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_one_server_writes_every_server_shows_and_serves() {
    let nats = tokio::task::spawn_blocking(TempNats::start).await.expect("join").expect("nats");
    let cluster = start_cluster(&nats).await;
    assert_eq!(cluster.post(0, "/api/teams", json!({"name": "Ops"})).await.status(), 201);
    // A second team with the same name through another server is refused
    // by the database's constraint, not by a check on one server.
    assert_eq!(cluster.post(1, "/api/teams", json!({"name": "Ops"})).await.status(), 409);

    // A board open on server 2 follows tickets made through every server.
    let feed = cluster.client.get(format!("{}/console/events/ops", cluster.base(2))).bearer_auth(TOKEN).send();
    let mut feed = feed.await.expect("feed");
    let mut buffer = String::new();
    support::next_event(&mut feed, &mut buffer, "reload").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = open_ticket(&cluster.client, cluster.base(i), &format!("through {i}")).await.expect("created");
        ids.push(id);
        for j in 0..3 {
            let seen = cluster.get(j, &format!("/api/tickets/{id}")).await;
            assert_eq!(seen.status(), 200, "ticket {id} made through server {i} is not visible through {j}");
        }
    }
    let mut carded = Vec::new();
    while carded.len() < 3 {
        let card = support::next_event(&mut feed, &mut buffer, "card").await;
        carded.push(card["id"].as_u64().expect("id"));
    }
    carded.sort_unstable();
    assert_eq!(carded, ids, "the board on server 2 got every card live");
    let listed: Value = cluster.get(2, "/api/teams/ops/tickets").await.json().await.expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");

    // A plugin installed and enabled through server 1 is served by all.
    let settings = json!({});
    install_and_enable(
        &cluster.client,
        cluster.base(1),
        TOKEN,
        &switchboard_artifacts::HELLO_CHANNEL,
        settings,
        &["tickets", "storage"],
    )
    .await;
    for i in [0, 2] {
        let took = cluster.served_within(i, "/c/ops/hello-channel/", Duration::from_secs(10)).await;
        eprintln!("server {i} served the plugin installed through server 1 after {took:?}");
    }

    // Removed through server 2, it stops being served everywhere.
    let disabled =
        cluster.client.delete(format!("{}/api/teams/ops/plugins/hello-channel", cluster.base(2))).bearer_auth(TOKEN);
    assert!(disabled.send().await.expect("disable").status().is_success());
    let removed = cluster.client.delete(format!("{}/api/plugins/hello-channel", cluster.base(2))).bearer_auth(TOKEN);
    assert_eq!(removed.send().await.expect("remove").status(), 204);
    for i in 0..3 {
        let resp = cluster.client.post(format!("{}/c/ops/hello-channel/", cluster.base(i))).json(&json!({})).send();
        assert_eq!(resp.await.expect("post").status(), 404, "server {i} still serves a removed plugin");
    }
}

/// Clients spread over the three servers create tickets; one server is
/// SIGKILLed mid-stream; every ticket any server acknowledged is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_loses_nothing_acknowledged() {
    let nats = tokio::task::spawn_blocking(TempNats::start).await.expect("join").expect("nats");
    let mut cluster = start_cluster(&nats).await;
    assert_eq!(cluster.post(0, "/api/teams", json!({"name": "Ops"})).await.status(), 201);
    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let mut clients = Vec::new();
    for c in 0..12 {
        let (client, base, acked) = (cluster.client.clone(), cluster.base(c % 3).to_owned(), Arc::clone(&acked));
        clients.push(tokio::spawn(async move {
            for i in 0..150 {
                let title = format!("client {c} ticket {i}");
                let Some(id) = open_ticket(&client, &base, &title).await else { return };
                acked.lock().expect("lock").push((id, title));
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().expect("lock").len() < 300 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (killed, _) = &mut cluster.servers[1];
    killed.start_kill().expect("SIGKILL");
    killed.wait().await.expect("reaped");
    for c in clients {
        c.await.expect("client");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 300, "only {} acknowledged", acked.len());
    for (id, title) in &acked {
        let resp = cluster.get(0, &format!("/api/tickets/{id}")).await;
        assert_eq!(resp.status(), 200, "ticket {id} was acknowledged but is gone");
        assert_eq!(resp.json::<Value>().await.expect("json")["title"], title.as_str());
    }
}

/// NATS is killed and started again while clients create tickets: tickets
/// go on (the database, not the bus, holds them), nothing acknowledged is
/// lost, and once the servers have reconnected a plugin installed through
/// one is again served by the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_under_traffic_loses_nothing_and_the_servers_reconnect() {
    let mut nats = tokio::task::spawn_blocking(TempNats::start).await.expect("join").expect("nats");
    let cluster = start_cluster(&nats).await;
    assert_eq!(cluster.post(0, "/api/teams", json!({"name": "Ops"})).await.status(), 201);
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut clients = Vec::new();
    for c in 0..6 {
        let (client, base) = (cluster.client.clone(), cluster.base(c % 3).to_owned());
        let (acked, running) = (Arc::clone(&acked), Arc::clone(&running));
        clients.push(tokio::spawn(async move {
            let mut i = 0;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                let id = open_ticket(&client, &base, &format!("client {c} ticket {i}")).await;
                acked.lock().expect("lock").push(id.expect("the database keeps serving while NATS is down"));
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    nats.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = acked.lock().expect("lock").len();
    let nats = tokio::task::spawn_blocking(move || nats.resume().map(|()| nats)).await.expect("join").expect("restart");
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() > during, "tickets went on after NATS came back");
    for id in &acked {
        assert_eq!(cluster.get(2, &format!("/api/tickets/{id}")).await.status(), 200, "ticket {id} is gone");
    }

    install_and_enable(
        &cluster.client,
        cluster.base(0),
        TOKEN,
        &switchboard_artifacts::HELLO_CHANNEL,
        json!({}),
        &["tickets", "storage"],
    )
    .await;
    for i in [1, 2] {
        let took = cluster.served_within(i, "/c/ops/hello-channel/", Duration::from_secs(20)).await;
        eprintln!("after the NATS restart, server {i} served the new plugin after {took:?}");
    }
    drop(nats);
}

/// The SLA sweep runs on one server at a time, under a lease. A server
/// killed mid-sweep leaves the sweep job leased to it; no other server
/// sweeps until that lease runs out (three sweep intervals, at least 2 s),
/// and then one takes it over and the survivors go on taking turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_left_by_a_killed_server_is_taken_over_after_its_lease() {
    use switchboard_store::{JobDraft, JobStore};

    let nats = tokio::task::spawn_blocking(TempNats::start).await.expect("join").expect("nats");
    let mut cluster = start_cluster_with(&nats, &[("SWITCHBOARD_SLA_SWEEP_SECONDS", "1")]).await;
    let store = switchboard_store_postgres::PgStore::open(&switchboard_store_postgres::PgConfig::new(&cluster.url))
        .await
        .expect("store");
    // Enqueueing the sweep's key again returns the job as it stands.
    let sweep = || async {
        let now = jiff::Timestamp::now();
        let lookup = JobDraft {
            queue: "sweeps".into(),
            key: "sla-and-idempotency".into(),
            payload: vec![],
            due_at: now,
            held_by: None,
        };
        store.enqueue_job(lookup, now).await.expect("job").durable().await.expect("durable").record
    };
    let started = Instant::now();
    while sweep().await.attempts < 2 {
        assert!(started.elapsed() < Duration::from_secs(10), "the servers are not sweeping");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Server 1 dies in the middle of a sweep: the job stays leased to it.
    let (child, _) = &mut cluster.servers[1];
    let pid = child.id().expect("pid");
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("reaped");
    let dead = format!("pid {pid} killed mid-sweep");
    let lease = jiff::SignedDuration::from_secs(3);
    let claimed = loop {
        let now = jiff::Timestamp::now();
        let mut got =
            store.claim_jobs("sweeps", &dead, now, lease, 1).await.expect("claim").durable().await.expect("durable");
        if let Some(job) = got.pop() {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let until = claimed.lease.as_ref().expect("leased").until;
    let orphaned = Instant::now();
    let taken_over = loop {
        let job = sweep().await;
        if job.attempts > claimed.attempts {
            assert!(jiff::Timestamp::now() >= until, "another server swept while the lease held: {job:?}");
            break orphaned.elapsed();
        }
        assert!(orphaned.elapsed() < Duration::from_secs(10), "no server took over the sweep: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!("the sweep was taken over {taken_over:?} after its holder died (lease 3 s, turns every 1 s)");
    let later = Instant::now();
    while sweep().await.attempts < claimed.attempts + 3 {
        assert!(later.elapsed() < Duration::from_secs(10), "the survivors stopped sweeping");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Servers that share a store converge on its plugins even when no
/// announcement reaches them (here they have no bus at all): each compares
/// its plugins with the store on a timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_announcements_a_server_still_loads_what_another_installed() {
    let postgres = tokio::task::spawn_blocking(TempPostgres::shared).await.expect("join").expect("postgres");
    let url = postgres.new_database().expect("database");
    let on_shared_store = |c: &mut switchboard_server::Config| {
        c.store = switchboard_server::StoreLocation::Postgres(url.clone());
        c.plugin_resync = Duration::from_millis(200);
    };
    let a = support::Server::start_with(on_shared_store).await;
    let b = support::Server::start_with(on_shared_store).await;
    a.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    a.install(&switchboard_artifacts::HELLO_CHANNEL).await.expect(201);
    a.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    let started = Instant::now();
    loop {
        let resp = b.raw(reqwest::Method::POST, "/c/ops/hello-channel/").json(&json!({"title": "t"})).send().await;
        if resp.is_ok_and(|r| r.status() == 201) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "server b never loaded the plugin a installed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The live chat across servers: a visitor connected to one server and an
/// operator connected to another talk as if on one, the operator's team
/// list follows the visitor's conversation, and the visitor picks it up
/// again through a third server without losing a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_and_an_operator_on_different_servers_talk_as_if_on_one() {
    let nats = tokio::task::spawn_blocking(TempNats::start).await.expect("join").expect("nats");
    let cluster = start_cluster(&nats).await;
    assert_eq!(cluster.post(0, "/api/teams", json!({"name": "Ops"})).await.status(), 201);
    let enabled = cluster
        .client
        .put(format!("{}/api/teams/ops/plugins/live-chat", cluster.base(0)))
        .bearer_auth(TOKEN)
        .json(&json!({"settings": {}, "grants": ["chat", "tickets", "storage", "timers"], "declined": []}))
        .send()
        .await
        .expect("enable");
    assert_eq!(enabled.status(), 201);
    let agent = cluster.post(0, "/api/users", json!({"name": "Anna", "role": "agent", "teams": ["ops"]})).await;
    let agent: Value = agent.json().await.expect("agent");
    let token = agent["token"].as_str().expect("token");

    let mut anna = chat_kit::Client::operator(cluster.base(1), token).await;
    anna.ok(json!({"type": "watch", "team": "ops"})).await;
    anna.next_of("conversations").await;
    let mut visitor = chat_kit::Client::visitor(cluster.base(0), "ops").await;
    let welcome = visitor.start("Ops", "https://shop.example/", "en").await;
    let id = welcome["conversation"].as_u64().expect("id");
    // No script: the conversation waits for an operator, and the operator
    // on the other server hears of it.
    anna.next_where(|f| {
        f["type"] == "conversation" && f["conversation"]["id"] == id && f["conversation"]["state"] == "waiting"
    })
    .await;
    anna.ok(json!({"type": "join", "conversation": id})).await;
    visitor.next_where(|f| f["type"] == "message" && f["body"] == "Anna joined").await;
    visitor.say("Hello from server 0").await;
    anna.next_where(|f| f["type"] == "message" && f["body"] == "Hello from server 0").await;
    anna.ok(json!({"type": "say", "conversation": id, "body": "Hello from server 1"})).await;
    let heard = visitor.next_where(|f| f["type"] == "message" && f["body"] == "Hello from server 1").await;
    let seen = heard["seq"].as_u64().expect("seq");
    drop(visitor);

    anna.ok(json!({"type": "say", "conversation": id, "body": "Said while you were away"})).await;
    let mut back = chat_kit::Client::visitor(cluster.base(2), "ops").await;
    back.send(json!({"type": "resume", "token": welcome["token"], "after": seen})).await;
    back.next_of("resumed").await;
    let missed = back.next_of("message").await;
    assert_eq!((missed["seq"].as_u64(), missed["body"].as_str()), (Some(seen + 1), Some("Said while you were away")));
    back.say("Back, through server 2").await;
    anna.next_where(|f| f["type"] == "message" && f["body"] == "Back, through server 2").await;
}
