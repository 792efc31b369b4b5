//! Misbehaving guests against the real server: an infinite loop, a memory
//! bomb, a trap, a call to an ungranted host and a huge response, from a
//! channel and from a robot. Each gets a clear error naming the cause,
//! while a stream of requests to a well-behaved plugin keeps succeeding.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use support::Server;
use switchboard_artifacts::{HELLO_CHANNEL, MISBEHAVE_CHANNEL, MISBEHAVE_ROBOT};

/// A generous bound for "answers promptly": failures must be reported in
/// about their budget, not hang. It is a liveness check, not a benchmark.
const PROMPT: Duration = Duration::from_secs(10);

/// The tests here measure CPU budgets on a 2-core machine; run side by side,
/// one's load would preempt the other's guests in the middle of their
/// budget. They take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A local server the fixtures try to reach; it must never be reached.
async fn forbidden_target() -> (String, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    (format!("http://{addr}/secret"), hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_plugins_fail_clearly_while_others_keep_serving() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = Arc::new(Server::start().await);
    for name in ["Ops", "Big", "Mem"] {
        s.post("/api/teams", json!({"name": name})).await.expect(201);
    }
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.install(&MISBEHAVE_CHANNEL).await.expect(201);
    s.install(&MISBEHAVE_ROBOT).await.expect(201);
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    s.enable("ops", "misbehave-channel", json!({}), &["tickets", "http:allowed.example"]).await.expect(201);
    // Team "mem" keeps the 64 MiB default but a CPU budget that filling
    // 64 MiB cannot exhaust on a busy machine, so its memory cases end on
    // memory, as they mean to.
    s.put(
        "/api/teams/mem/plugins/misbehave-channel",
        json!({"grants": ["tickets"], "declined": ["http:allowed.example", "http:127.0.0.1"], "limits": {"cpu_ms": 1000, "memory_mib": 64}}),
    )
    .await
    .expect(201);
    // Team "big" gives the fixture 256 MiB, enough to build a 20 MiB answer.
    s.put(
        "/api/teams/big/plugins/misbehave-channel",
        json!({"grants": ["tickets"], "declined": ["http:allowed.example", "http:127.0.0.1"], "limits": {"cpu_ms": 1000, "memory_mib": 256}}),
    )
    .await
    .expect(201);

    // A well-behaved stream: hello-channel opening tickets the whole time.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut stream = Vec::new();
    for c in 0..4 {
        let (s, stop, ok, failed) = (Arc::clone(&s), Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failed));
        stream.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let reply = s
                    .call(
                        Method::POST,
                        "/c/ops/hello-channel/",
                        None,
                        Some(json!({"title": format!("steady {c}-{i}")})),
                    )
                    .await;
                if reply.status == 201 {
                    ok.fetch_add(1, Ordering::Relaxed)
                } else {
                    failed.fetch_add(1, Ordering::Relaxed)
                };
                i += 1;
            }
        }));
    }

    let (target, hits) = forbidden_target().await;
    let port = target.split(':').nth(2).and_then(|p| p.split('/').next()).expect("port");
    let cases: Vec<(String, u16, &str, String)> = vec![
        (
            "/c/ops/misbehave-channel/loop".into(),
            504,
            "plugin_timeout",
            "plugin \"misbehave-channel\" exceeded its CPU budget of 100 ms".into(),
        ),
        (
            "/c/mem/misbehave-channel/bomb".into(),
            502,
            "plugin_failed",
            "plugin \"misbehave-channel\" exceeded its memory limit of 64 MiB".into(),
        ),
        ("/c/ops/misbehave-channel/trap".into(), 502, "plugin_failed", "plugin \"misbehave-channel\" crashed: ".into()),
        (
            format!("/c/ops/misbehave-channel/fetch?url={target}"),
            502,
            "plugin_failed",
            format!(
                "capability \"http:127.0.0.1:{port}\" was not granted to plugin \"misbehave-channel\" in team \"ops\""
            ),
        ),
        (
            "/c/mem/misbehave-channel/huge?mb=100".into(),
            502,
            "plugin_failed",
            "exceeded its memory limit of 64 MiB".into(),
        ),
        (
            "/c/big/misbehave-channel/huge?mb=20".into(),
            502,
            "plugin_failed",
            "answered with 20971520 bytes; the limit is 8388608".into(),
        ),
    ];
    for (path, status, code, needle) in &cases {
        let started = Instant::now();
        let reply = s.call(Method::GET, path, None, None).await;
        assert!(started.elapsed() < PROMPT, "{path} took {:?}", started.elapsed());
        // The anonymous caller learns the status and a request id, and
        // nothing of the plugin's insides: not its name, its team, the
        // capability it lacked or how it failed.
        let text = reply.text.clone();
        let header = reply.request_id.clone();
        let body = reply.expect_error(*status, code, "request id");
        let id = body["request_id"].as_str().expect("request id in the body").to_owned();
        assert_eq!(header.as_deref(), Some(id.as_str()), "X-Request-Id");
        for secret in ["misbehave", "capability", "memory", "crashed", "CPU", "ops", "mem", "big", "127.0.0.1", "bytes"]
        {
            assert!(!text.contains(secret), "{path}: the public answer shows {secret:?}: {text}");
        }
        // The admin finds the cause under that id.
        let failures = s.get("/api/plugins/misbehave-channel/failures").await.expect(200);
        let failure = failures
            .as_array()
            .and_then(|all| all.iter().find(|f| f["request_id"] == id.as_str()))
            .unwrap_or_else(|| panic!("{path}: no failure {id} in {failures}"));
        assert!(failure["detail"].as_str().unwrap_or_default().contains(needle.as_str()), "{path}: {failure}");
        assert_eq!(failure["status"], *status);
        assert_eq!(failure["team"], path.split('/').nth(2).unwrap_or_default());
    }
    // Only admins read the failures, and only of a plugin that exists.
    s.call(Method::GET, "/api/plugins/misbehave-channel/failures", None, None).await.expect(401);
    s.get("/api/plugins/nobody/failures").await.expect_error(404, "not_found", "nobody");
    assert_eq!(hits.load(Ordering::Relaxed), 0, "the ungranted host was never contacted");

    // The same misbehaviour from a robot: the run is marked failed with the
    // reason, in the response and in the ticket's thread. As with the
    // channel, the memory case runs in team "mem", whose CPU budget filling
    // 64 MiB cannot exhaust on a busy machine.
    let mut tickets = std::collections::HashMap::new();
    for team in ["ops", "mem"] {
        let ticket = s.post(&format!("/api/teams/{team}/tickets"), json!({"title": "Robot target"})).await.expect(201);
        tickets.insert(team, ticket["id"].as_u64().expect("id"));
    }
    let robot_cases = [
        ("ops", json!({"mode": "loop"}), "exceeded its CPU budget of 100 ms".to_owned()),
        ("mem", json!({"mode": "bomb"}), "exceeded its memory limit of 64 MiB".to_owned()),
        ("ops", json!({"mode": "trap"}), "crashed: ".to_owned()),
        (
            "ops",
            json!({"mode": "fetch", "url": target}),
            format!("capability \"http:127.0.0.1:{port}\" was not granted"),
        ),
        ("ops", json!({"mode": "fail"}), "permanent: the fixture was asked to fail".to_owned()),
    ];
    for (team, settings, needle) in &robot_cases {
        let enabled = s
            .put(
                &format!("/api/teams/{team}/plugins/misbehave-robot"),
                json!({
                    "settings": settings,
                    "grants": ["tickets", "http:allowed.example"],
                    "limits": {"cpu_ms": if *team == "mem" { 1000 } else { 100 }, "memory_mib": 64},
                }),
            )
            .await;
        assert!(matches!(enabled.status, 200 | 201), "{settings}: {}", enabled.text);
        let id = tickets[team];
        let started = Instant::now();
        let run = s.post(&format!("/api/tickets/{id}/robots/misbehave-robot"), json!({})).await.expect(200);
        assert!(started.elapsed() < PROMPT);
        assert_eq!(run["outcome"], "failed", "{settings}: {run}");
        let detail = run["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle.as_str()), "{settings}: {detail}");
        let last = s.last_message(id).await;
        assert_eq!(last["body"], format!("Robot misbehave-robot failed: {detail}"));
    }
    s.enable("ops", "misbehave-robot", json!({"mode": "explode"}), &[]).await.expect_error(
        422,
        "invalid_field",
        "mode: \"explode\" is not one of",
    );
    assert_eq!(hits.load(Ordering::Relaxed), 0);

    // After all that, the fixture still answers normally, and so does the
    // server; the steady stream never saw a failure.
    assert_eq!(s.call(Method::GET, "/c/ops/misbehave-channel/ok", None, None).await.status, 200);
    stop.store(true, Ordering::Relaxed);
    for t in stream {
        t.await.expect("stream task");
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "the well-behaved plugin failed while others misbehaved");
    assert!(ok.load(Ordering::Relaxed) > 0);
    s.get("/health").await.expect(200);
    let metrics = s.call(Method::GET, "/metrics", Some(support::ADMIN), None).await.text;
    assert!(metrics.contains("switchboard_plugin_errors_total{plugin=\"misbehave-channel\"} 6"), "{metrics}");
    assert!(metrics.contains("switchboard_plugin_errors_total{plugin=\"misbehave-robot\"} 5"), "{metrics}");
    assert!(metrics.contains("switchboard_plugin_errors_total{plugin=\"hello-channel\"} 0"), "{metrics}");
}

/// On a busy server a guest that yields at an epoch tick may wait a long
/// time before it runs again; that wait is not the guest's CPU time. Here
/// 32 calls that each compute for about 15 ms share 2 threads under a 60 ms
/// budget: each one's own time is within it, their wall time is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_busy_server_does_not_count_against_the_cpu_budget() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = Arc::new(Server::start().await);
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.install(&MISBEHAVE_CHANNEL).await.expect(201);
    s.put(
        "/api/teams/ops/plugins/misbehave-channel",
        json!({"grants": ["tickets"], "declined": ["http:allowed.example", "http:127.0.0.1"], "limits": {"cpu_ms": 60, "memory_mib": 64}}),
    )
    .await
    .expect(201);
    // How many rounds take about 15 ms here, measured alone (the median of
    // three, with the HTTP round trip included, so it errs low).
    let probe = 2_000_000u64;
    let mut alone = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let reply = s.call(Method::GET, &format!("/c/ops/misbehave-channel/spin?n={probe}"), None, None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        alone.push(t.elapsed().as_secs_f64());
    }
    alone.sort_by(f64::total_cmp);
    let rounds = (probe as f64 * 0.015 / alone[1]) as u64;

    let calls: Vec<_> = (0..32)
        .map(|_| {
            let s = Arc::clone(&s);
            let path = format!("/c/ops/misbehave-channel/spin?n={rounds}");
            tokio::spawn(async move {
                let t = Instant::now();
                (s.call(Method::GET, &path, None, None).await, t.elapsed())
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for call in calls {
        let (reply, took) = call.await.expect("call");
        assert_eq!(reply.status, 200, "{}", reply.text);
        slowest = slowest.max(took);
    }
    // The point of the test: some call took longer than its budget from
    // start to answer, and still was not stopped.
    assert!(slowest > Duration::from_millis(60), "no call waited; slowest {slowest:?}");
    // A guest that really computes past its budget is still stopped.
    let looped = s.call(Method::GET, "/c/ops/misbehave-channel/loop", None, None).await;
    assert_eq!(looped.status, 504, "{}", looped.text);
}

/// The WASI table of `docs/plugin-toml.md`: a plugin gets no environment,
/// no arguments, empty stdin, no file (nothing is preopened) and no socket,
/// and does get the clock and random bytes.
#[tokio::test]
async fn wasi_gives_plugins_what_the_docs_say_and_nothing_more() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.install(&MISBEHAVE_CHANNEL).await.expect(201);
    s.enable("ops", "misbehave-channel", json!({}), &[]).await.expect(201);
    let report = s.call(Method::GET, "/c/ops/misbehave-channel/wasi", None, None).await.expect(200);
    assert_eq!(
        report,
        json!({"env": 0, "args": 0, "stdin_bytes": 0, "open_root": false, "open_file": false, "tcp": false,
            "dns": false, "clock_after_2020": true, "random": true})
    );
}

/// A loopback server that holds every request until `gate` gives it a
/// permit; `arrived` counts the requests that reached it.
async fn held_target() -> (String, Arc<AtomicU64>, Arc<tokio::sync::Semaphore>) {
    let arrived = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let (counter, held) = (Arc::clone(&arrived), Arc::clone(&gate));
    let app = axum::Router::new().route(
        "/held",
        axum::routing::get(move || {
            let (counter, held) = (Arc::clone(&counter), Arc::clone(&held));
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                if let Ok(permit) = held.acquire().await {
                    permit.forget();
                }
                "released"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/held"), arrived, gate)
}

/// Waits until `count` reaches `n`.
async fn until_count(count: &AtomicU64, n: u64) {
    let deadline = Instant::now() + PROMPT;
    while count.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < deadline, "only {} of {n} requests arrived", count.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The instance pool has a size (`plugin_instances`). A call past it used
/// to fail at instantiation, as a crash of the plugin; now it waits for an
/// instance to end, in line, and one that waits longer than
/// `plugin_instance_wait` is refused with a 503 and `Retry-After` that say
/// so. Nothing of the refused call ran, and the server carries on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_the_instance_pool_wait_for_an_instance_or_are_refused_as_busy() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = Arc::new(
        Server::start_with(|c| {
            c.plugin_instances = 2;
            c.plugin_instance_wait = Duration::from_millis(1500);
        })
        .await,
    );
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.install(&MISBEHAVE_CHANNEL).await.expect(201);
    s.enable("ops", "misbehave-channel", json!({}), &["tickets", "http:127.0.0.1"]).await.expect(201);
    let (target, arrived, gate) = held_target().await;
    let url = format!("{}/c/ops/misbehave-channel/fetch?url={target}", s.base);
    let fetch = || {
        let url = url.clone();
        tokio::spawn(async move { reqwest::get(url).await.expect("request") })
    };
    let answered = |r: reqwest::Response| async move { (r.status().as_u16(), r.text().await.expect("body")) };

    // Two calls hold both instances at the target; a third waits.
    let calls: Vec<_> = (0..3).map(|_| fetch()).collect();
    until_count(&arrived, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(arrived.load(Ordering::SeqCst), 2, "a third instance ran past the pool of two");
    let metrics = s.get("/metrics").await.text;
    assert!(metrics.contains("switchboard_plugin_instance_waits_total 1\n"), "{metrics}");
    // One ends; the waiting call gets its instance and goes on.
    gate.add_permits(1);
    until_count(&arrived, 3).await;
    gate.add_permits(2);
    for call in calls {
        let (status, body) = answered(call.await.expect("task")).await;
        assert_eq!((status, body.as_str()), (200, "fetched 200"));
    }

    // Both held again: a third call waits its 1.5 s and is refused.
    let held: Vec<_> = (0..2).map(|_| fetch()).collect();
    until_count(&arrived, 5).await;
    let started = Instant::now();
    let refused = reqwest::get(&url).await.expect("request");
    let waited = started.elapsed();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "unavailable");
    // The public sees a request id; the admin finds the cause under it.
    let id = body["request_id"].as_str().expect("request id").to_owned();
    let failures = s.get("/api/plugins/misbehave-channel/failures").await.expect(200);
    let failure = failures
        .as_array()
        .and_then(|all| all.iter().find(|f| f["request_id"] == id.as_str()))
        .unwrap_or_else(|| panic!("no failure {id} in {failures}"));
    assert_eq!(
        failure["detail"],
        "plugin \"misbehave-channel\" was not started: all 2 plugin instances were busy for 1500 ms"
    );
    assert!(waited >= Duration::from_millis(1400), "refused after {waited:?}, before its wait was over");
    assert_eq!(arrived.load(Ordering::SeqCst), 5, "the refused call reached the target");
    gate.add_permits(3);
    for call in held {
        let (status, body) = answered(call.await.expect("task")).await;
        assert_eq!((status, body.as_str()), (200, "fetched 200"));
    }
    // The server carries on.
    let after = reqwest::get(&url).await.expect("request");
    assert_eq!(answered(after).await, (200, "fetched 200".to_string()));
    let metrics = s.get("/metrics").await.text;
    assert!(metrics.contains("switchboard_plugin_instance_refusals_total 1\n"), "{metrics}");
}

/// The lines of ticket `id`'s thread.
async fn thread(s: &Server, id: u64) -> Vec<String> {
    let messages = s.get(&format!("/api/tickets/{id}/messages")).await.expect(200);
    messages.as_array().into_iter().flatten().map(|m| m["body"].as_str().unwrap_or_default().to_owned()).collect()
}

/// A robot run that finds every instance in use for longer than the wait
/// is not started, and says so in the thread; the same attempt runs again
/// a second later, since nothing of it ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_run_with_no_free_instance_is_not_started_and_runs_again() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let s = Server::start_with(|c| {
        c.plugin_instances = 2;
        c.plugin_instance_wait = Duration::from_millis(300);
    })
    .await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.install(&MISBEHAVE_CHANNEL).await.expect(201);
    s.install(&MISBEHAVE_ROBOT).await.expect(201);
    s.enable("ops", "misbehave-channel", json!({}), &["tickets", "http:127.0.0.1"]).await.expect(201);
    s.enable("ops", "misbehave-robot", json!({"mode": "done"}), &["tickets"]).await.expect(201);
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [{"plugin": "misbehave-robot"}]})).await.expect(200);
    let id = s.post("/api/teams/ops/tickets", json!({"title": "Busy"})).await.expect(201)["id"].as_u64().expect("id");
    let (target, arrived, gate) = held_target().await;
    let url = format!("{}/c/ops/misbehave-channel/fetch?url={target}", s.base);
    let held: Vec<_> = (0..2).map(|_| tokio::spawn(reqwest::get(url.clone()))).collect();
    until_count(&arrived, 2).await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let not_started = "(#1 of stage In Progress) not started: plugin \"misbehave-robot\" was not started: all 2 plugin instances were busy for 300 ms; trying again in 1 s";
    let deadline = Instant::now() + PROMPT;
    while !thread(&s, id).await.iter().any(|l| l.ends_with(not_started)) {
        assert!(Instant::now() < deadline, "no line saying the run was not started: {:?}", thread(&s, id).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gate.add_permits(2);
    for call in held {
        assert_eq!(call.await.expect("task").expect("request").status(), 200);
    }
    // A second later (on the server's clock) the same attempt runs.
    let deadline = Instant::now() + PROMPT;
    loop {
        let now = thread(&s, id).await;
        if now.iter().any(|l| l.contains("(#1 of stage In Progress) done")) {
            assert!(now.iter().any(|l| l.ends_with(&format!("done: run {id}/2/0 attempt 1"))), "{now:?}");
            assert!(!now.iter().any(|l| l.contains("outcome unknown")), "{now:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the run did not run again: {now:?}");
        s.clock.advance(jiff::SignedDuration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
