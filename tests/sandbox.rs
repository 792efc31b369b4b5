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
