//! End-to-end tests of robots on stages: the admin API that sets them,
//! and the runs a stage entry starts, in order, with their delays, across
//! a restart, and cancelled when the ticket leaves. The real server and
//! the real hello-robot component, which appends a note per run.

mod support;

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::{Value, json};
use support::Server;
use switchboard_artifacts::{HELLO_CHANNEL, HELLO_ROBOT};
use switchboard_server::clock::Clock;

/// A server with team Ops and hello-robot enabled for it.
async fn ops() -> Server {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.install(&HELLO_ROBOT).await.expect(201);
    s.enable("ops", "hello-robot", json!({"note": "default note"}), &["tickets"]).await.expect(201);
    s
}

fn note(text: &str) -> Value {
    json!({"plugin": "hello-robot", "settings": {"note": text}})
}

async fn ticket(s: &Server, title: &str) -> u64 {
    let t = s.post("/api/teams/ops/tickets", json!({"title": title})).await.expect(201);
    t["id"].as_u64().expect("id")
}

async fn thread(s: &Server, id: u64) -> Vec<String> {
    let messages = s.get(&format!("/api/tickets/{id}/messages")).await.expect(200);
    messages.as_array().expect("list").iter().map(|m| m["body"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Waits until the thread has a line containing `needle`, then returns it.
async fn wait_for(s: &Server, id: u64, needle: &str) -> Vec<String> {
    for _ in 0..200 {
        let lines = thread(s, id).await;
        if lines.iter().any(|l| l.contains(needle)) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no line with {needle:?} in {:?}", thread(s, id).await);
}

/// Like [`wait_for`], but moves the server's clock on by a few seconds at
/// each look, for runs that wait.
async fn wait_advancing(s: &Server, id: u64, needle: &str) -> Vec<String> {
    for _ in 0..200 {
        let lines = thread(s, id).await;
        if lines.iter().any(|l| l.contains(needle)) {
            return lines;
        }
        s.clock.advance(SignedDuration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no line with {needle:?} in {:?}", thread(s, id).await);
}

fn position(lines: &[String], needle: &str) -> usize {
    lines.iter().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no {needle:?} in {lines:?}"))
}

#[tokio::test]
async fn a_stage_robot_list_is_checked_and_kept() {
    let s = ops().await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    let put = |body: Value| s.put("/api/teams/ops/stages/2/robots", body);
    put(json!({"robots": [{"plugin": "nobody"}]})).await.expect_error(422, "invalid_field", "robots[0].plugin");
    put(json!({"robots": [note("a"), {"plugin": "hello-channel"}]})).await.expect_error(
        422,
        "invalid_field",
        "robots[1].plugin: plugin \"hello-channel\" is a channel",
    );
    // The schema (no unknown keys) judges the stage's settings over the
    // team's, and names the robot.
    let unknown = json!({"robots": [{"plugin": "hello-robot", "settings": {"colour": "red"}}]});
    put(unknown).await.expect_error(422, "invalid_field", "robots[0].settings");
    // The plugin's own check runs too.
    let long = json!({"robots": [note(&"x".repeat(1001))]});
    put(long).await.expect_error(422, "invalid_field", "robots[0].settings");
    let first_waits = json!({"robots": [{"plugin": "hello-robot", "after_previous": true}]});
    put(first_waits).await.expect_error(422, "invalid_field", "after_previous");
    let too_many = json!({"robots": vec![note("a"); 17]});
    put(too_many).await.expect_error(422, "invalid_field", "17 robots given");
    put(json!({"robots": [{"plugin": "hello-robot", "delay_seconds": 2_592_001}]})).await.expect_error(
        422,
        "invalid_field",
        "delay_seconds",
    );

    let robots = json!({"robots": [
        note("first"),
        {"plugin": "hello-robot", "settings": {"note": "second"}, "after_previous": true, "delay_seconds": 5},
    ]});
    let saved = put(robots).await.expect(200);
    let listed = s.get("/api/teams/ops/stages/In%20Progress/robots").await.expect(200);
    assert_eq!(saved, listed, "the stage is found by id or by name");
    assert_eq!(listed["stage"], 2);
    assert_eq!(listed["robots"][1]["after_previous"], true);
    assert_eq!(listed["robots"][1]["delay_seconds"], 5);
    assert_eq!(listed["robots"][1]["settings"], json!({"note": "second"}));
    s.get("/api/teams/ops/stages/99/robots").await.expect_error(422, "invalid_field", "unknown stage \"99\"");
    // Only admins set robots.
    let agent = s.post("/api/users", json!({"name": "Ann", "role": "agent", "teams": ["ops"]})).await.expect(201);
    let token = agent["token"].as_str().expect("token");
    let reply =
        s.call(reqwest::Method::PUT, "/api/teams/ops/stages/2/robots", Some(token), Some(json!({"robots": []}))).await;
    reply.expect_error(403, "forbidden", "admin");
}

#[tokio::test]
async fn entering_a_stage_runs_its_robots_side_by_side_and_after_previous_in_order() {
    let s = ops().await;
    let robots = json!({"robots": [
        note("A on #{ticket}"),
        {"plugin": "hello-robot", "settings": {"note": "B after A"}, "after_previous": true},
        note("C alongside"),
    ]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Printer on fire").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": "In Progress"})).await.expect(200);
    wait_for(&s, id, "Robot hello-robot (#2 of stage In Progress) done").await;
    // The thread only grows: a later look has everything an earlier had.
    let lines = wait_for(&s, id, "Robot hello-robot (#3 of stage In Progress) done").await;
    assert!(lines.contains(&format!("A on #{id}")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "B after A") && lines.iter().any(|l| l == "C alongside"), "{lines:?}");
    // B starts only once A has finished; each run is started, then done.
    let a_done = position(&lines, "(#1 of stage In Progress) done");
    let b_started = position(&lines, "(#2 of stage In Progress) started");
    assert!(a_done < b_started, "{lines:?}");
    assert!(position(&lines, "(#1 of stage In Progress) started") < position(&lines, &format!("A on #{id}")));
    assert_eq!(lines.iter().filter(|l| l.ends_with(") started")).count(), 3, "each robot runs once: {lines:?}");
    // Staying in the stage starts nothing more.
    s.patch(&format!("/api/tickets/{id}"), json!({"title": "Printer still on fire"})).await.expect(200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(thread(&s, id).await.iter().filter(|l| l.ends_with(") started")).count(), 3);
}

#[tokio::test]
async fn leaving_a_stage_cancels_the_runs_that_have_not_started() {
    let s = ops().await;
    let robots = json!({"robots": [
        {"plugin": "hello-robot", "settings": {"note": "too late"}, "delay_seconds": 3600},
        {"plugin": "hello-robot", "settings": {"note": "behind it"}, "after_previous": true},
    ]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Refund").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 3})).await.expect(200);
    let lines = thread(&s, id).await;
    let cancelled: Vec<_> = lines.iter().filter(|l| l.contains("cancelled")).collect();
    assert_eq!(cancelled.len(), 2, "the delayed robot and the one behind it: {lines:?}");
    assert!(cancelled[0].starts_with("Robot hello-robot (#1 of stage In Progress) cancelled"));
    // The hour passes: nothing runs.
    s.clock.advance(SignedDuration::from_hours(2));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let lines = thread(&s, id).await;
    assert!(!lines.iter().any(|l| l.ends_with(") started") || l == "too late"), "{lines:?}");
}

#[tokio::test]
async fn a_delay_survives_a_restart() {
    let s = ops().await;
    let robots =
        json!({"robots": [{"plugin": "hello-robot", "settings": {"note": "a minute later"}, "delay_seconds": 60}]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Call me back").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!thread(&s, id).await.iter().any(|l| l.ends_with(") started")), "not before its delay");
    let dir = s.stop().await;
    let s = Server::start_in(dir, |_| {}).await;
    s.clock.advance(SignedDuration::from_secs(61));
    let lines = wait_for(&s, id, "(#1 of stage In Progress) done").await;
    assert!(lines.iter().any(|l| l == "a minute later"), "{lines:?}");
}

#[tokio::test]
async fn opening_a_ticket_enters_the_first_stage() {
    let s = ops().await;
    s.put("/api/teams/ops/stages/New/robots", json!({"robots": [note("welcome to #{ticket}")]})).await.expect(200);
    let id = ticket(&s, "Hello").await;
    let lines = wait_for(&s, id, "(#1 of stage New) done").await;
    assert!(lines.contains(&format!("welcome to #{id}")), "{lines:?}");
}

#[tokio::test]
async fn templates_are_checked_when_saved_and_rendered_for_each_run() {
    let s = ops().await;
    let typo = json!({"robots": [note("Hi {{ contact.nmae }}")]});
    s.put("/api/teams/ops/stages/2/robots", typo).await.expect_error(
        422,
        "invalid_field",
        "robots[0].settings.note: unknown template value \"contact.nmae\"",
    );
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [note("Hi {{ ticket.id ")]})).await.expect_error(
        422,
        "invalid_field",
        "robots[0].settings.note: syntax error",
    );
    // The team's own settings of the plugin are templates too.
    s.enable("ops", "hello-robot", json!({"note": "{{ team.nmae }}"}), &["tickets"]).await.expect_error(
        422,
        "invalid_field",
        "settings.note: unknown template value \"team.nmae\"",
    );
    let text = "Hi {{ contact.name }}, #{{ ticket.id }} \"{{ ticket.title }}\" is {{ ticket.stage }} ({{ ticket.priority }}) at {{ team.name }}";
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [note(text)]})).await.expect(200);
    let body = json!({"title": "Printer <on> fire", "priority": "high", "contact": {"name": "Ann", "email": "ann@example.com"}});
    let id = s.post("/api/teams/ops/tickets", body).await.expect(201)["id"].as_u64().expect("id");
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let lines = wait_for(&s, id, "(#1 of stage In Progress) done").await;
    let expected = format!("Hi Ann, #{id} \"Printer <on> fire\" is In Progress (high) at Ops");
    assert!(lines.contains(&expected), "{lines:?}");
}

/// A run that another server claimed and never finished (it died) is not
/// run again once the lease runs out: it may have sent its SMS already.
/// The thread says "outcome unknown", and the robot behind it is released.
#[tokio::test]
async fn a_run_whose_server_died_is_reported_as_outcome_unknown_and_not_run_again() {
    let s = ops().await;
    let robots = json!({"robots": [
        {"plugin": "hello-robot", "settings": {"note": "must not appear"}, "delay_seconds": 60},
        {"plugin": "hello-robot", "settings": {"note": "released after it"}, "after_previous": true},
    ]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Call me back").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let due = s.clock.now() + SignedDuration::from_secs(61);
    let dir = s.stop().await;
    {
        // Another server claims the run when it is due, and dies.
        let store = support::open_store(&dir.path().join("data")).await;
        let lease = SignedDuration::from_secs(120);
        let claimed = store.claim_jobs("robots", "dead-server", due, lease, 10).await.expect("claim");
        assert_eq!(claimed.durable().await.expect("durable").len(), 1);
    }
    let s = Server::start_in(dir, |_| {}).await;
    s.clock.advance(SignedDuration::from_secs(61 + 121));
    let lines = wait_for(&s, id, "(#2 of stage In Progress) done").await;
    let unknown = position(&lines, "Robot hello-robot (#1 of stage In Progress): outcome unknown");
    assert!(unknown < position(&lines, "(#2 of stage In Progress) started"), "{lines:?}");
    assert!(!lines.iter().any(|l| l == "must not appear"), "the run was not made again: {lines:?}");
    assert!(!lines.iter().any(|l| l.ends_with("(#1 of stage In Progress) started")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "released after it"), "{lines:?}");
}

#[tokio::test]
async fn triggers_are_checked_and_a_customer_reply_reopens_a_solved_ticket() {
    let s = ops().await;
    let put = |body: Value| s.put("/api/teams/ops/triggers", body);
    let one = |t: Value| json!({"triggers": [t]});
    put(one(json!({"event": "customer_wrote", "to_stage": "2"}))).await.expect_error(
        422,
        "invalid_field",
        "triggers[0].event: unknown event \"customer_wrote\"",
    );
    put(one(json!({"event": "channel_message", "to_stage": "2"}))).await.expect_error(
        422,
        "invalid_field",
        "triggers[0].channel: is needed",
    );
    put(one(json!({"event": "sla_breached", "priority": "high", "to_stage": "2"}))).await.expect_error(
        422,
        "invalid_field",
        "triggers[0].priority: is not used",
    );
    put(one(json!({"event": "sla_breached", "to_stage": "Limbo"}))).await.expect_error(
        422,
        "invalid_field",
        "triggers[0].to_stage: unknown stage \"Limbo\"",
    );
    let reopen = json!({"event": "customer_replied", "to_stage": "In Progress", "from_stages": ["Solved"]});
    let saved = put(one(reopen)).await.expect(200);
    assert_eq!(saved, s.get("/api/teams/ops/triggers").await.expect(200));
    assert_eq!(saved[0]["to_stage"], json!({"id": 2, "name": "In Progress"}));
    assert_eq!(saved[0]["from_stages"], json!([{"id": 3, "name": "Solved"}]));
    // A stage a trigger names cannot be removed.
    s.delete("/api/teams/ops/stages/3").await.expect_error(409, "conflict", "trigger 0");

    let body = json!({"title": "Printer on fire", "contact": {"name": "Ann", "email": "ann@example.com"}});
    let id = s.post("/api/teams/ops/tickets", body).await.expect(201)["id"].as_u64().expect("id");
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": "Solved"})).await.expect(200);
    s.post(&format!("/api/tickets/{id}/messages"), json!({"kind": "customer", "body": "Still on fire"}))
        .await
        .expect(201);
    let t = s.get(&format!("/api/tickets/{id}")).await.expect(200);
    assert_eq!(t["stage"]["name"], "In Progress", "{t}");
    let lines = thread(&s, id).await;
    assert!(
        lines.contains(&"Stage changed from Solved to In Progress by a trigger: the customer replied".to_owned()),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_trigger_loop_is_cut_off_and_says_so() {
    let s = ops().await;
    let triggers = json!({"triggers": [
        {"event": "priority_became", "priority": "urgent", "to_stage": "2", "from_stages": ["1"]},
        {"event": "priority_became", "priority": "low", "to_stage": "1", "from_stages": ["2"]},
    ]});
    s.put("/api/teams/ops/triggers", triggers).await.expect(200);
    let id = ticket(&s, "Flip-flop").await;
    for i in 0..9 {
        let priority = if i % 2 == 0 { "urgent" } else { "low" };
        s.patch(&format!("/api/tickets/{id}"), json!({"priority": priority})).await.expect(200);
    }
    let lines = thread(&s, id).await;
    let moves = lines.iter().filter(|l| l.contains("by a trigger: the priority became")).count();
    assert_eq!(moves, 8, "{lines:?}");
    let cut = lines.last().expect("a line");
    assert!(
        cut.starts_with("Trigger not applied: the priority became urgent would move the ticket to In Progress"),
        "{cut}"
    );
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["stage"]["name"], "New");
    // A person moves it: triggers work again.
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": "Solved"})).await.expect(200);
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": "New", "priority": "low"})).await.expect(200);
    s.patch(&format!("/api/tickets/{id}"), json!({"priority": "urgent"})).await.expect(200);
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["stage"]["name"], "In Progress");
}

#[tokio::test]
async fn a_dry_run_shows_what_a_real_run_then_does_and_does_nothing() {
    let s = ops().await;
    let robots = json!({"robots": [
        note("Hi {{ contact.name }}, #{{ ticket.id }} is {{ ticket.stage }}"),
        {"plugin": "hello-robot", "settings": {"note": "Then: {{ ticket.title | upper }}"}, "after_previous": true, "delay_seconds": 5},
    ]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let body = json!({"title": "Printer on fire", "contact": {"name": "Ann", "email": "ann@example.com"}});
    let id = s.post("/api/teams/ops/tickets", body).await.expect(201)["id"].as_u64().expect("id");
    let before = thread(&s, id).await;
    let dry = s.post("/api/teams/ops/stages/In%20Progress/robots/dry-run", json!({"ticket": id})).await.expect(200);
    assert_eq!(dry["robots"][0]["starts"], json!({"after": null, "wait_seconds": 0}));
    assert_eq!(dry["robots"][1]["starts"], json!({"after": 0, "wait_seconds": 5}));
    let first = dry["robots"][0]["settings"]["note"].as_str().expect("rendered").to_owned();
    let second = dry["robots"][1]["settings"]["note"].as_str().expect("rendered").to_owned();
    assert_eq!(first, format!("Hi Ann, #{id} is In Progress"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(thread(&s, id).await, before, "a dry run writes nothing and runs nothing");
    s.post("/api/teams/ops/stages/2/robots/dry-run", json!({"ticket": 999})).await.expect_error(
        404,
        "not_found",
        "999",
    );

    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let lines = wait_for(&s, id, "(#1 of stage In Progress) done").await;
    assert!(lines.contains(&first), "the real run wrote what the dry run showed: {lines:?}");
    // The second is released when the first has finished, due 5 s later:
    // time goes on until it has run.
    let lines = wait_advancing(&s, id, "(#2 of stage In Progress) done").await;
    assert!(lines.contains(&second), "{lines:?}");
}

#[tokio::test]
async fn skipped_and_failed_runs_say_why_and_stage_settings_go_over_the_teams() {
    let s = ops().await;
    let robots = json!({"robots": [
        {"plugin": "hello-robot"},
        note(" "),
    ]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Printer on fire").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    wait_for(&s, id, "(#2 of stage In Progress) skipped").await;
    let lines = wait_for(&s, id, "(#1 of stage In Progress) done").await;
    assert!(lines.iter().any(|l| l == "default note"), "no stage settings: the team's are used: {lines:?}");
    assert!(lines.contains(&"Robot hello-robot (#2 of stage In Progress) skipped: the note is empty".to_owned()));

    // Without the tickets grant the robot's write is denied: the run fails
    // and the thread says with what.
    s.enable("ops", "hello-robot", json!({"note": "default note"}), &[]).await.expect(200);
    s.put("/api/teams/ops/stages/3/robots", json!({"robots": [note("denied")]})).await.expect(200);
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 3})).await.expect(200);
    let lines = wait_for(&s, id, "(#1 of stage Solved) failed").await;
    let failed = lines.iter().find(|l| l.contains("(#1 of stage Solved) failed")).expect("line");
    assert!(failed.contains("tickets"), "the denied capability is named: {failed}");
}

/// A robot's secrets live on the team's plugin: a stage cannot set one,
/// and a dry run never shows one.
#[tokio::test]
async fn a_stage_cannot_set_a_secret_and_a_dry_run_shows_none() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let manifest = format!(
        "{}\n[settings_schema.properties.token]\ntype = \"string\"\nwriteOnly = true\n",
        HELLO_ROBOT.manifest_text()
    );
    s.install_with(&manifest, HELLO_ROBOT.wasm_bytes()).await.expect(201);
    let secret = "s3cret-provider-token";
    s.enable("ops", "hello-robot", json!({"note": "hi", "token": secret}), &["tickets"]).await.expect(201);
    let with_secret = json!({"robots": [{"plugin": "hello-robot", "settings": {"token": "mine"}}]});
    s.put("/api/teams/ops/stages/2/robots", with_secret).await.expect_error(
        422,
        "invalid_field",
        "robots[0].settings.token: is a secret; set it on the team's plugin",
    );
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [note("hello")]})).await.expect(200);
    let id = ticket(&s, "Printer on fire").await;
    let dry = s.post("/api/teams/ops/stages/2/robots/dry-run", json!({"ticket": id})).await.expect(200);
    assert_eq!(dry["robots"][0]["settings"], json!({"note": "hello"}));
    assert!(!dry.to_string().contains(secret));
}

/// Runs already queued keep the robot and settings they were queued with:
/// changing the stage's list afterwards changes the next entry, not them.
#[tokio::test]
async fn queued_runs_keep_the_robots_they_were_queued_with() {
    let s = ops().await;
    let robots = json!({"robots": [{"plugin": "hello-robot", "settings": {"note": "as queued"}, "delay_seconds": 60}]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Call me back").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [note("as changed")]})).await.expect(200);
    s.clock.advance(SignedDuration::from_secs(61));
    let lines = wait_for(&s, id, "(#1 of stage In Progress) done").await;
    assert!(lines.iter().any(|l| l == "as queued") && !lines.iter().any(|l| l == "as changed"), "{lines:?}");
}

/// A robot that says it is safe to retry is started again, as the next
/// attempt of the same run, when a dead server had started it.
#[tokio::test]
async fn a_retry_safe_robot_whose_server_died_is_started_again_as_the_next_attempt() {
    let s = ops().await;
    s.install(&switchboard_artifacts::MISBEHAVE_ROBOT).await.expect(201);
    s.enable("ops", "misbehave-robot", json!({"mode": "done"}), &["tickets"]).await.expect(201);
    let robots = json!({"robots": [{"plugin": "misbehave-robot", "delay_seconds": 60}]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Retry me").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let due = s.clock.now() + SignedDuration::from_secs(61);
    let dir = s.stop().await;
    {
        let store = support::open_store(&dir.path().join("data")).await;
        let claimed = store.claim_jobs("robots", "dead-server", due, SignedDuration::from_secs(120), 10).await;
        assert_eq!(claimed.expect("claim").durable().await.expect("durable").len(), 1);
    }
    let s = Server::start_in(dir, |_| {}).await;
    s.clock.advance(SignedDuration::from_secs(61 + 121));
    let lines = wait_for(&s, id, "(#1 of stage In Progress) done").await;
    assert!(
        lines.iter().any(|l| l.ends_with(
            "started again (attempt 2): the last attempt did not report back, and the robot is safe to retry"
        )),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with(&format!("done: run {id}/2/0 attempt 2"))),
        "the robot got the run's id and attempt: {lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("outcome unknown")), "{lines:?}");
}

/// A robot's preview, for the dry run, may read but neither write nor
/// call out, whatever it was granted.
#[tokio::test]
async fn a_preview_can_neither_write_nor_call_out() {
    let s = ops().await;
    s.install(&switchboard_artifacts::MISBEHAVE_ROBOT).await.expect(201);
    let settings = json!({"mode": "done", "url": "http://allowed.example/"});
    s.enable("ops", "misbehave-robot", settings, &["tickets", "http:allowed.example"]).await.expect(201);
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [{"plugin": "misbehave-robot"}]})).await.expect(200);
    let id = ticket(&s, "Preview me").await;
    let dry = s.post("/api/teams/ops/stages/2/robots/dry-run", json!({"ticket": id})).await.expect(200);
    let reason = dry["robots"][0]["plan"]["reason"].as_str().expect("a reason").to_owned();
    assert!(reason.contains("tickets: denied: a preview reads and writes nothing"), "{reason}");
    assert!(reason.contains("http: denied: capability \"http:allowed.example:80\" was not granted"), "{reason}");
    assert!(!thread(&s, id).await.iter().any(|l| l == "from a preview"), "nothing was written");
}

/// A run whose server wrote how it ended and died before finishing its
/// job has ended: the next claim releases the robot after it, and writes
/// neither "outcome unknown" nor runs it again.
#[tokio::test]
async fn a_run_that_recorded_its_end_before_its_server_died_is_not_reported_again() {
    let s = ops().await;
    let robots = json!({"robots": [
        {"plugin": "hello-robot", "settings": {"note": "must not appear"}, "delay_seconds": 60},
        {"plugin": "hello-robot", "settings": {"note": "released after it"}, "after_previous": true},
    ]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Half done").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let due = s.clock.now() + SignedDuration::from_secs(61);
    let dir = s.stop().await;
    {
        // Another server claims the run, records it done, and dies.
        let store = support::open_store(&dir.path().join("data")).await;
        let claimed = store.claim_jobs("robots", "dead-server", due, SignedDuration::from_secs(120), 10).await;
        assert_eq!(claimed.expect("claim").durable().await.expect("durable").len(), 1);
        let author = switchboard_core::Author::Plugin { id: "hello-robot".into() };
        let line = "Robot hello-robot (#1 of stage In Progress) done";
        let draft = switchboard_core::MessageDraft::new(switchboard_core::MessageKind::Event, author, line);
        store.append_message(id, draft, due, None).await.expect("append").durable().await.expect("durable");
    }
    let s = Server::start_in(dir, |_| {}).await;
    s.clock.advance(SignedDuration::from_secs(61 + 121));
    let lines = wait_for(&s, id, "(#2 of stage In Progress) done").await;
    assert!(!lines.iter().any(|l| l.contains("outcome unknown")), "{lines:?}");
    assert!(!lines.iter().any(|l| l == "must not appear"), "{lines:?}");
    assert!(lines.iter().any(|l| l == "released after it"), "{lines:?}");
}

/// A robot safe to retry is not started past the most attempts (5): one
/// whose every attempt took its server down gets "outcome unknown".
#[tokio::test]
async fn a_retry_safe_robot_is_not_started_again_past_five_attempts() {
    let s = ops().await;
    s.install(&switchboard_artifacts::MISBEHAVE_ROBOT).await.expect(201);
    s.enable("ops", "misbehave-robot", json!({"mode": "done"}), &["tickets"]).await.expect(201);
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [{"plugin": "misbehave-robot", "delay_seconds": 60}]}))
        .await
        .expect(200);
    let id = ticket(&s, "Crashes its server").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let due = s.clock.now() + SignedDuration::from_secs(61);
    let dir = s.stop().await;
    let lease = SignedDuration::from_secs(120);
    {
        // Five servers in a row claim the run and die.
        let store = support::open_store(&dir.path().join("data")).await;
        for dead in 0..5 {
            let at = due + SignedDuration::from_secs(121 * dead);
            let claimed = store.claim_jobs("robots", &format!("dead-{dead}"), at, lease, 10).await;
            assert_eq!(claimed.expect("claim").durable().await.expect("durable").len(), 1, "claim {dead}");
        }
    }
    let s = Server::start_in(dir, |_| {}).await;
    s.clock.advance(SignedDuration::from_secs(61 + 121 * 5));
    let lines = wait_for(&s, id, "outcome unknown").await;
    assert!(!lines.iter().any(|l| l.contains("started again")), "{lines:?}");
}
