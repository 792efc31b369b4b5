//! End-to-end tests of the shipped SMS and call robots on stages, against
//! the real server and a local Twilio stand-in that checks every request
//! as Twilio would: what reaches the provider, in what order, once per
//! run, also when the server is SIGKILLed again and again; the provider's
//! refusals, retried or not; and a dry run that shows exactly what a real
//! run then sends.

mod support;
mod twilio_kit;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use serde_json::{Value, json};
use support::{Server, plugin_upload, spawn_server};
use switchboard_artifacts::{Guest, ROBOT_CALL, ROBOT_SMS};
use tokio::process::Child;
use twilio_kit::{ACCOUNT, TOKEN, TOKEN as AUTH_TOKEN, Twilio};

/// The robot's shipped manifest, with the stand-in's host added: an admin
/// whose provider is not api.twilio.com does the same.
async fn install_for(s: &Server, guest: &Guest) {
    let manifest = guest.manifest_text().replace(
        "capabilities = [\"storage\", \"http:api.twilio.com\"]",
        "capabilities = [\"storage\", \"http:api.twilio.com\", \"http:127.0.0.1\"]",
    );
    assert!(manifest.contains("http:127.0.0.1"), "the manifest's capabilities line changed");
    s.install_with(&manifest, guest.wasm_bytes()).await.expect(201);
}

/// A server with team Ops, the stand-in, and both robots enabled with the
/// stand-in as their provider.
async fn ops() -> (Server, Twilio) {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let twilio = Twilio::start().await;
    for guest in [&ROBOT_SMS, &ROBOT_CALL] {
        install_for(&s, guest).await;
        let provider = json!({
            "base_url": twilio.base, "account_sid": ACCOUNT, "auth_token": TOKEN,
            "from_numbers": ["+15550000001", "+15550000002"],
        });
        s.enable("ops", guest.name, provider, &["storage", "http:127.0.0.1"]).await.expect(201);
    }
    (s, twilio)
}

fn sms(text: &str) -> Value {
    json!({"plugin": "robot-sms", "settings": {"text": text, "phone_type": "mobile"}})
}

/// A ticket whose contact has a work number (`+1444…`, first) and a
/// mobile number (`mobile`, `+1555…`). Contacts are found by number, so
/// each mobile number is another contact.
async fn ticket(s: &Server, title: &str, mobile: &str) -> u64 {
    let work = mobile.replace("+1555", "+1444");
    let contact =
        json!({"name": "Ann", "phones": [{"number": work, "type": "work"}, {"number": mobile, "type": "mobile"}]});
    let t = s.post("/api/teams/ops/tickets", json!({"title": title, "contact": contact})).await.expect(201);
    t["id"].as_u64().expect("id")
}

async fn thread(s: &Server, id: u64) -> Vec<String> {
    let messages = s.get(&format!("/api/tickets/{id}/messages")).await.expect(200);
    messages.as_array().expect("list").iter().map(|m| m["body"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Waits until the thread has `count` lines containing `needle`, moving
/// the server's clock on a little at each look for runs that wait.
async fn wait_for(s: &Server, id: u64, needle: &str, count: usize) -> Vec<String> {
    for _ in 0..300 {
        let lines = thread(s, id).await;
        if lines.iter().filter(|l| l.contains(needle)).count() >= count {
            return lines;
        }
        s.clock.advance(SignedDuration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("fewer than {count} lines with {needle:?} in {:?}", thread(s, id).await);
}

#[tokio::test]
async fn sms_robots_text_the_contact_once_each_side_by_side_and_in_order() {
    let (s, twilio) = ops().await;
    let robots = json!({"robots": [
        sms("First: #{{ ticket.id }} {{ ticket.title }} is {{ ticket.stage }}"),
        {"plugin": "robot-sms", "settings": {"text": "Second", "from": "+15550000002"}},
        {"plugin": "robot-sms", "settings": {"text": "Third, after the second"}, "after_previous": true},
    ]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let id = ticket(&s, "Printer & co", "+15552220000").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let lines = wait_for(&s, id, "done: SMS SM", 3).await;

    let accepted = twilio.accepted();
    assert_eq!(twilio.violations(), Vec::<String>::new());
    assert_eq!(accepted.len(), 3, "{accepted:?}");
    let first = accepted.iter().find(|a| a.content.starts_with("First")).expect("first");
    assert_eq!(first.content, format!("First: #{id} Printer & co is In Progress"));
    assert_eq!((first.to.as_str(), first.from.as_str()), ("+15552220000", "+15550000001"));
    let second = accepted.iter().position(|a| a.content == "Second").expect("second");
    let third = accepted.iter().position(|a| a.content == "Third, after the second").expect("third");
    assert!(second < third, "the robot after the second waits for it: {accepted:?}");
    // Automatic: the contact's first number; a chosen from-number is used.
    assert_eq!(accepted[second].to, "+14442220000");
    assert_eq!(accepted[second].from, "+15550000002");
    // The thread names each message by the SID the provider gave.
    for a in &accepted {
        assert!(lines.iter().any(|l| l.contains(&format!("done: SMS {} to {}", a.sid, a.to))), "{a:?} in {lines:?}");
    }
}

#[tokio::test]
async fn a_bad_number_fails_with_the_providers_error_and_a_busy_provider_is_tried_again() {
    let (s, twilio) = ops().await;
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [sms("Hello")]})).await.expect(200);
    twilio.refuse_number("+15559990000");
    let bad = ticket(&s, "Bad number", "+15559990000").await;
    s.patch(&format!("/api/tickets/{bad}"), json!({"stage": 2})).await.expect(200);
    let lines = wait_for(&s, bad, "failed", 1).await;
    assert!(
        lines.iter().any(|l| l.contains("failed: permanent: provider error 21211 (HTTP 400): The 'To' number +15559990000 is not a valid phone number.")),
        "{lines:?}"
    );

    twilio.refuse_next(&[429, 503]);
    let busy = ticket(&s, "Busy", "+15552220000").await;
    s.patch(&format!("/api/tickets/{busy}"), json!({"stage": 2})).await.expect(200);
    let lines = wait_for(&s, busy, "done: SMS", 1).await;
    let retries: Vec<&String> = lines.iter().filter(|l| l.contains("trying again in")).collect();
    assert_eq!(retries.len(), 2, "{lines:?}");
    assert!(retries[0].contains("failed (attempt 1 of 5): rate-limited: provider error 20429"), "{lines:?}");
    assert!(retries[0].contains("trying again in 5 s"), "{lines:?}");
    assert!(retries[1].contains("failed (attempt 2 of 5): transient: provider error 20503"), "{lines:?}");
    assert!(retries[1].contains("trying again in 10 s"), "the wait grows: {lines:?}");
    assert!(lines.iter().any(|l| l.contains("started (attempt 3 of 5)")), "{lines:?}");
    let sent: Vec<_> = twilio.accepted().into_iter().filter(|a| a.to == "+15552220000").collect();
    assert_eq!(sent.len(), 1, "one message for the run: {sent:?}");
    assert_eq!(twilio.violations(), Vec::<String>::new());
}

/// A provider that stays busy is tried five times in all, after waits of
/// 5, 10, 20 and 40 seconds, and then the run fails, saying so.
#[tokio::test]
async fn a_provider_busy_five_times_fails_the_run_after_the_last_attempt() {
    let (s, twilio) = ops().await;
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [sms("Hello")]})).await.expect(200);
    twilio.refuse_next(&[503, 503, 503, 503, 503, 503]);
    let id = ticket(&s, "Always busy", "+15552220000").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let lines = wait_for(&s, id, "failed after 5 attempts", 1).await;
    let waits: Vec<&str> = lines.iter().filter_map(|l| l.split("trying again in ").nth(1)).collect();
    assert_eq!(waits, ["5 s", "10 s", "20 s", "40 s"], "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l
                .ends_with("failed after 5 attempts: transient: provider error 20503 (HTTP 503): Service Unavailable")),
        "{lines:?}"
    );
    assert_eq!(twilio.requests(), 5, "five attempts, no more");
    assert!(twilio.accepted().is_empty());
}

#[tokio::test]
async fn a_call_speaks_escaped_text_as_well_formed_twiml_and_the_dry_run_shows_it_first() {
    let (s, twilio) = ops().await;
    let call = json!({"plugin": "robot-call", "settings": {
        "text": "Hello {{ contact.name }}, ticket \"{{ ticket.title }}\" is solved",
        "voice": "Polly.Joanna", "rate": "slow", "volume": "loud", "phone_type": "mobile",
    }});
    s.put("/api/teams/ops/stages/2/robots", json!({"robots": [call, sms("SMS for {{ ticket.title }}")]}))
        .await
        .expect(200);
    let id = ticket(&s, "<b>Tom & Jerry</b>", "+15552220000").await;

    let dry = s.post("/api/teams/ops/stages/2/robots/dry-run", json!({"ticket": id})).await.expect(200);
    let plans: Vec<Value> = dry["robots"].as_array().expect("robots").iter().map(|r| r["plan"].clone()).collect();
    assert_eq!(plans[0]["does"], "act", "{dry}");
    assert_eq!(plans[0]["summary"], "call to +15552220000 from +15550000001");
    assert_eq!(plans[1]["summary"], "SMS to +15552220000 from +15550000001");
    assert_eq!(plans[1]["content"], "SMS for <b>Tom & Jerry</b>");
    assert_eq!(twilio.requests(), 0, "a dry run sends nothing");

    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    wait_for(&s, id, "done: call CA", 1).await;
    wait_for(&s, id, "done: SMS SM", 1).await;
    assert_eq!(twilio.violations(), Vec::<String>::new());
    let accepted = twilio.accepted();
    let placed = accepted.iter().find(|a| a.resource == "Calls").expect("a call");
    assert_eq!(placed.content, plans[0]["content"].as_str().expect("twiml"), "the dry run showed what was sent");
    assert!(
        placed.content.contains(
            "<Say voice=\"Polly.Joanna\" language=\"en-US\"><prosody rate=\"slow\" volume=\"loud\">Hello Ann, ticket &quot;&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;&quot; is solved</prosody></Say>"
        ),
        "{}",
        placed.content
    );
    let texted = accepted.iter().find(|a| a.resource == "Messages").expect("an SMS");
    assert_eq!(texted.content, plans[1]["content"].as_str().expect("text"));
}

#[tokio::test]
async fn missing_numbers_and_long_texts_skip_with_the_reason() {
    let (s, twilio) = ops().await;
    let long = format!("{}{{{{ ticket.title }}}}", "x".repeat(180));
    let robots = json!({"robots": [
        {"plugin": "robot-sms", "settings": {"text": "Hi", "phone_type": "home"}},
        sms(&long),
    ]});
    s.put("/api/teams/ops/stages/2/robots", robots).await.expect(200);
    let too_long = json!({"robots": [sms(&"y".repeat(201))]});
    s.put("/api/teams/ops/stages/3/robots", too_long).await.expect_error(
        422,
        "invalid_field",
        "is longer than 200 characters",
    );
    let id = ticket(&s, "A title long enough to pass 200", "+15552220000").await;
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": 2})).await.expect(200);
    let lines = wait_for(&s, id, "skipped", 2).await;
    assert!(lines.iter().any(|l| l.contains("skipped: the contact has no home phone number")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("skipped: the text is 211 characters once rendered; the most is 200")),
        "{lines:?}"
    );
    assert_eq!(twilio.requests(), 0);
}

#[tokio::test]
async fn the_auth_token_is_a_secret_never_shown() {
    let (s, _twilio) = ops().await;
    let shown = s.get("/api/teams/ops/plugins/robot-sms").await.expect(200);
    assert!(!shown.to_string().contains(TOKEN), "{shown}");
    assert_eq!(shown["settings"]["account_sid"], ACCOUNT);
}

// The SMS robot under SIGKILL: the real `switchboard` binary is killed 30
// times at random moments while 200 tickets move into a stage whose robot
// texts each contact, and restarted on the same data. The Twilio stand-in
// must never see two messages for one run, and every run must end in the
// thread: done, failed, or outcome unknown.

const KILL_TOKEN: &str = "robots-kill-admin-token";
const TICKETS: usize = 200;
const KILLS: usize = 30;
/// The label of the one robot's runs in each thread.
const LABEL: &str = "Robot robot-sms (#1 of stage In Progress)";

/// A small generator of random moments, seeded from the clock and printed,
/// so that a failing order can be replayed.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client.request(method, url).bearer_auth(KILL_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

/// Sets up team Ops, robot-sms (its manifest granting the stand-in's host)
/// with the stand-in as provider, and the robot on stage 2.
async fn set_up(client: &reqwest::Client, base: &str, twilio: &Twilio) {
    let post = |path: &str, body: Value| call(client, reqwest::Method::POST, format!("{base}{path}"), Some(body));
    assert_eq!(post("/api/teams", json!({"name": "Ops"})).await.status(), 201);
    let guest = switchboard_artifacts::ROBOT_SMS;
    // Above the shipped version, or a restart would put the shipped
    // manifest (without this host) back.
    let manifest = guest
        .manifest_text()
        .replace("\"http:api.twilio.com\"]", "\"http:api.twilio.com\", \"http:127.0.0.1\"]")
        .replace("version = \"1.0.0\"", "version = \"1.0.1\"");
    assert!(manifest.contains("1.0.1") && manifest.contains("http:127.0.0.1"), "the manifest changed: {manifest}");
    let installed = client
        .post(format!("{base}/api/plugins?wait=true"))
        .bearer_auth(KILL_TOKEN)
        .multipart(plugin_upload(&manifest, guest.wasm_bytes()))
        .send()
        .await
        .expect("install");
    // The binary ships robot-sms: this upgrades it.
    assert!(installed.status().is_success(), "{}", installed.status());
    let settings = json!({"base_url": twilio.base, "account_sid": ACCOUNT, "auth_token": AUTH_TOKEN, "from_numbers": ["+15550000001"]});
    let enable =
        json!({"settings": settings, "grants": ["storage", "http:127.0.0.1"], "declined": ["http:api.twilio.com"]});
    let enabled =
        call(client, reqwest::Method::PUT, format!("{base}/api/teams/ops/plugins/robot-sms"), Some(enable)).await;
    assert!(enabled.status().is_success(), "{}", enabled.status());
    let robots = json!({"robots": [{"plugin": "robot-sms", "settings": {"text": "Ticket {{ ticket.id }} is in progress", "phone_type": "mobile"}}]});
    let put = call(client, reqwest::Method::PUT, format!("{base}/api/teams/ops/stages/2/robots"), Some(robots)).await;
    assert_eq!(put.status(), 200);
}

fn number(i: usize) -> String {
    format!("+1555100{i:04}")
}

/// How each ticket's run ended, by its thread: the lines of the run that
/// say so.
async fn endings(client: &reqwest::Client, base: &str, id: u64) -> Vec<String> {
    let thread: Value = call(client, reqwest::Method::GET, format!("{base}/api/tickets/{id}/messages"), None)
        .await
        .json()
        .await
        .expect("thread");
    thread
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .filter_map(|b| b.strip_prefix(LABEL))
        .filter(|rest| {
            [" done", " skipped:", " failed: ", " failed after ", ": outcome unknown"]
                .iter()
                .any(|e| rest.starts_with(e))
        })
        .map(str::to_owned)
        .collect()
}

async fn restart(data: &std::path::Path, child: &mut Child) -> String {
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("reaped");
    let (next, base) = spawn_server(data, KILL_TOKEN, &[("SWITCHBOARD_ROBOT_LEASE_SECONDS", "10")]).await;
    *child = next;
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_never_sends_a_runs_sms_twice_and_every_run_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let twilio = Twilio::start().await;
    let client = reqwest::Client::new();
    let (mut child, mut base) = spawn_server(&data, KILL_TOKEN, &[("SWITCHBOARD_ROBOT_LEASE_SECONDS", "10")]).await;
    set_up(&client, &base, &twilio).await;
    let mut ids = Vec::with_capacity(TICKETS);
    for i in 0..TICKETS {
        let contact = json!({"name": format!("Customer {i}"), "phones": [{"number": number(i), "type": "mobile"}]});
        let body = json!({"title": format!("Ticket {i}"), "contact": contact});
        let created = call(&client, reqwest::Method::POST, format!("{base}/api/teams/ops/tickets"), Some(body)).await;
        assert_eq!(created.status(), 201);
        ids.push(created.json::<Value>().await.expect("ticket")["id"].as_u64().expect("id"));
    }

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seed = u64::from(std::process::id()) ^ now.subsec_nanos() as u64 ^ now.as_secs();
    eprintln!("moments seed {seed}");
    let mut moments = Moments(seed);
    let per_round = TICKETS.div_ceil(KILLS);
    for round in 0..KILLS {
        // Move this round's tickets at once, and kill the server at a
        // random moment while they and the robots run.
        for &id in ids.iter().skip(round * per_round).take(per_round) {
            let (client, url) = (client.clone(), format!("{base}/api/tickets/{id}"));
            tokio::spawn(async move {
                let _ = client.patch(url).bearer_auth(KILL_TOKEN).json(&json!({"stage": 2})).send().await;
            });
        }
        tokio::time::sleep(Duration::from_millis(moments.next_ms(300))).await;
        base = restart(&data, &mut child).await;
    }

    // A move the kill cut off before it was durable is made again.
    for &id in &ids {
        let ticket: Value = call(&client, reqwest::Method::GET, format!("{base}/api/tickets/{id}"), None)
            .await
            .json()
            .await
            .expect("ticket");
        if ticket["stage"] != 2 {
            let moved =
                call(&client, reqwest::Method::PATCH, format!("{base}/api/tickets/{id}"), Some(json!({"stage": 2})))
                    .await;
            assert_eq!(moved.status(), 200);
        }
    }
    // Every run ends, runs a dead server held once their 10 s lease is out.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut ended = BTreeMap::new();
    for &id in &ids {
        loop {
            let lines = endings(&client, &base, id).await;
            if !lines.is_empty() {
                ended.insert(id, lines);
                break;
            }
            assert!(Instant::now() < deadline, "ticket {id}'s run never ended (seed {seed})");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let accepted = twilio.accepted();
    assert_eq!(twilio.violations(), Vec::<String>::new());
    let mut per_number: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &accepted {
        *per_number.entry(a.to.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = per_number.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "a run's SMS went twice: {twice:?} (seed {seed})");
    let mut done = 0;
    let mut unknown = 0;

    for (id, lines) in &ended {
        assert_eq!(lines.len(), 1, "ticket {id}'s run ended more than once: {lines:?} (seed {seed})");
        let line = &lines[0];
        if line.starts_with(" done: SMS ") {
            done += 1;
        } else if line.starts_with(": outcome unknown") {
            unknown += 1;
        } else {
            // The provider is up and never refuses here: no run may fail.
            panic!("ticket {id}: {line} (seed {seed})");
        }
    }
    // Every message the provider took is one a run reported done, or one
    // whose server died before it could say: never one more.
    assert!(
        done <= accepted.len() && accepted.len() <= done + unknown,
        "{done} done, {unknown} unknown, {} sent (seed {seed})",
        accepted.len()
    );
    eprintln!("{} runs: {done} done, {unknown} outcome unknown, {} sent; seed {seed}", ended.len(), accepted.len());
    child.start_kill().expect("stop");
}
