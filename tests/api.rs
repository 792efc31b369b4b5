//! End-to-end tests of the HTTP API: the real server on port 0 with a
//! temporary data directory, used over HTTP like any client would.

mod support;

use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN, Server};

async fn team(server: &Server, name: &str) -> Value {
    server.post("/api/teams", json!({"name": name})).await.expect(201)
}

async fn ticket(server: &Server, team: &str, body: Value) -> Value {
    server.post(&format!("/api/teams/{team}/tickets"), body).await.expect(201)
}

async fn agent_token(server: &Server, name: &str) -> String {
    let created = server.post("/api/users", json!({"name": name, "role": "agent", "teams": ["ops"]})).await;
    let created = created.expect(201);
    created["token"].as_str().expect("token").to_owned()
}

fn ids(list: &Value) -> Vec<u64> {
    list.as_array().expect("list").iter().map(|t| t["id"].as_u64().expect("id")).collect()
}

#[tokio::test]
async fn team_gets_slug_alias_and_default_stages() {
    let s = Server::start().await;
    let t = team(&s, "Customer Care").await;
    assert_eq!(t["slug"], "customer-care");
    assert_eq!(t["alias"], "customer-care");
    assert_eq!(t["alias_address"], "customer-care@help.example.com");
    let stages: Vec<(String, bool)> = t["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| (s["name"].as_str().expect("name").to_owned(), s["closing"].as_bool().expect("closing")))
        .collect();
    assert_eq!(
        stages,
        [("New".into(), false), ("In Progress".into(), false), ("Solved".into(), true), ("Cancelled".into(), true)]
    );
    assert_eq!(s.get("/api/teams/customer-care").await.expect(200)["name"], "Customer Care");
    assert_eq!(s.get("/api/teams").await.expect(200).as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn slug_and_alias_conflicts_are_409_and_bad_alias_is_422() {
    let s = Server::start().await;
    team(&s, "Customer Care").await;
    s.post("/api/teams", json!({"name": "customer care!"})).await.expect_error(409, "conflict", "\"customer-care\"");
    s.post("/api/teams", json!({"name": "Billing", "alias": "customer-care"})).await.expect_error(
        409,
        "conflict",
        "alias \"customer-care\" is taken by team \"customer-care\"",
    );
    let billing = s.post("/api/teams", json!({"name": "Billing", "alias": "Money@help.example.com"})).await.expect(201);
    assert_eq!(billing["alias"], "money");

    // Editing: rename keeps the slug; the alias must be valid and free.
    let patched =
        s.patch("/api/teams/billing", json!({"name": "Billing & Refunds", "alias": "refunds"})).await.expect(200);
    assert_eq!((patched["slug"].as_str(), patched["alias"].as_str()), (Some("billing"), Some("refunds")));
    s.patch("/api/teams/billing", json!({"alias": "CUSTOMER-CARE"})).await.expect_error(409, "conflict", "taken");
    let bad = s.patch("/api/teams/billing", json!({"alias": "two words"})).await.expect_error(
        422,
        "invalid_field",
        "\"two words\"",
    );
    assert_eq!(bad["field"], "alias");
    s.patch("/api/teams/billing", json!({"alias": "x@other.org"})).await.expect_error(
        422,
        "invalid_field",
        "other.org",
    );
    s.post("/api/teams", json!({"name": "  "})).await.expect_error(422, "invalid_field", "name");
    s.post("/api/teams", json!({"name": "Ops", "slug": "Not A Slug"})).await.expect_error(422, "invalid_field", "slug");
    // The old alias is free again.
    s.post("/api/teams", json!({"name": "Money"})).await.expect(201);
}

#[tokio::test]
async fn tokens_are_required_and_roles_enforced() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    for path in ["/api/teams", "/api/teams/ops", "/api/openapi.json", "/api/nope", "/metrics"] {
        s.call(Method::GET, path, None, None).await.expect_error(401, "unauthorized", "missing bearer token");
        s.call(Method::GET, path, Some("wrong"), None).await.expect_error(401, "unauthorized", "invalid token");
    }
    let raw = s.raw(Method::GET, "/api/teams").header("authorization", "Basic abc").send().await.expect("send");
    assert_eq!(raw.status(), 401);
    assert_eq!(raw.headers().get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    assert_eq!(s.call(Method::GET, "/health", None, None).await.expect(200)["status"], "ok");

    let agent = agent_token(&s, "Ada").await;
    assert!(agent.len() > 40, "tokens are long and random");
    // Agents work tickets and read teams, but admin routes are 403.
    s.call(Method::GET, "/api/teams/ops", Some(&agent), None).await.expect(200);
    s.call(Method::POST, "/api/teams/ops/tickets", Some(&agent), Some(json!({"title": "From an agent"})))
        .await
        .expect(201);
    for (method, path, body) in [
        (Method::POST, "/api/teams", json!({"name": "Nope"})),
        (Method::PATCH, "/api/teams/ops", json!({"name": "Nope"})),
        (Method::POST, "/api/teams/ops/stages", json!({"name": "Nope"})),
        (Method::POST, "/api/teams/ops/sla-policies", json!({"name": "n", "target_stage": 3, "hours": 1})),
        (Method::POST, "/api/users", json!({"name": "Eve", "role": "admin"})),
    ] {
        s.call(method, path, Some(&agent), Some(body)).await.expect_error(403, "forbidden", "\"Ada\" is an agent");
    }
    s.call(Method::GET, "/api/users", Some(&agent), None).await.expect(403);
    // The user list never shows tokens.
    let users = s.get("/api/users").await.expect(200);
    assert!(!users.to_string().contains(&agent));
    assert!(users.as_array().expect("users").iter().all(|u| u.get("token").is_none()));
    s.post("/api/users", json!({"name": "Bob", "role": "boss"})).await.expect_error(422, "invalid_field", "role");
}

/// An agent reaches the tickets of the teams they work in; another team's
/// tickets, their threads and files are "unknown", like missing ones, and
/// so is the team's ticket list.
#[tokio::test]
async fn agents_reach_only_their_teams_tickets() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    team(&s, "Sales").await;
    let created = ticket(&s, "sales", json!({"title": "Quote for ACME"})).await;
    let theirs = created["id"].as_u64().expect("id");
    let agent = agent_token(&s, "Ada").await;
    let own = s.call(Method::POST, "/api/teams/ops/tickets", Some(&agent), Some(json!({"title": "Printer"}))).await;
    let own = own.expect(201)["id"].as_u64().expect("id");
    s.call(Method::GET, &format!("/api/tickets/{own}"), Some(&agent), None).await.expect(200);
    s.call(Method::GET, &format!("/api/tickets/{own}/messages"), Some(&agent), None).await.expect(200);
    let note = json!({"kind": "note", "body": "Toner ordered"});
    s.call(Method::POST, &format!("/api/tickets/{own}/messages"), Some(&agent), Some(note.clone())).await.expect(201);
    s.call(Method::GET, "/api/teams/ops/tickets", Some(&agent), None).await.expect(200);

    for (method, path, body) in [
        (Method::GET, format!("/api/tickets/{theirs}"), None),
        (Method::PATCH, format!("/api/tickets/{theirs}"), Some(json!({"priority": 3}))),
        (Method::GET, format!("/api/tickets/{theirs}/messages"), None),
        (Method::POST, format!("/api/tickets/{theirs}/messages"), Some(note.clone())),
        (Method::GET, format!("/api/tickets/{theirs}/messages/1/attachments/0"), None),
    ] {
        s.call(method, &path, Some(&agent), body).await.expect_error(
            404,
            "not_found",
            &format!("unknown ticket {theirs}"),
        );
    }
    for (method, path, body) in [
        (Method::GET, "/api/teams/sales/tickets", None),
        (Method::POST, "/api/teams/sales/tickets", Some(json!({"title": "Sneaky"}))),
    ] {
        s.call(method, path, Some(&agent), body).await.expect_error(404, "not_found", "unknown team \"sales\"");
    }
    let untouched = s.get(&format!("/api/tickets/{theirs}")).await.expect(200);
    assert_eq!(untouched["priority"], created["priority"], "the other team's ticket was not changed");
    let thread = s.get(&format!("/api/tickets/{theirs}/messages")).await.expect(200);
    assert!(!thread.to_string().contains("Toner"), "nothing was written to the other team's ticket: {thread}");
    assert_eq!(ids(&s.get("/api/teams/sales/tickets").await.expect(200)), vec![theirs], "no ticket was opened there");
}

#[tokio::test]
async fn generated_admin_token_is_written_owner_only_and_works() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start_with(|c| c.admin_token = None).await;
    let path = s.dir.path().join("data/admin-token");
    let mode = std::fs::metadata(&path).expect("token file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&path).expect("read").trim().to_owned();
    s.call(Method::GET, "/api/teams", Some(&token), None).await.expect(200);
    s.call(Method::GET, "/api/teams", Some(ADMIN), None).await.expect(401);
    // A restart keeps the same admin; no second token is generated.
    let dir = s.stop().await;
    let s = support::Server::start_in(dir, |c| c.admin_token = None).await;
    let again = std::fs::read_to_string(s.dir.path().join("data/admin-token")).expect("read");
    assert_eq!(again.trim(), token);
    s.call(Method::GET, "/api/teams", Some(&token), None).await.expect(200);
}

#[tokio::test]
async fn lists_sort_by_priority_then_age_and_filter() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    let mut made = Vec::new();
    for (title, priority) in
        [("low old", json!(0)), ("urgent", json!("urgent")), ("high", json!(2)), ("low new", json!("low"))]
    {
        made.push(ticket(&s, "ops", json!({"title": title, "priority": priority})).await["id"].as_u64().expect("id"));
        s.clock.advance(SignedDuration::from_mins(1));
    }
    let list = s.get("/api/teams/ops/tickets").await.expect(200);
    assert_eq!(ids(&list), [made[1], made[2], made[0], made[3]]);

    s.patch(&format!("/api/tickets/{}", made[3]), json!({"priority": 3, "stage": "In Progress"})).await.expect(200);
    assert_eq!(ids(&s.get("/api/teams/ops/tickets").await.expect(200)), [made[1], made[3], made[2], made[0]]);
    assert_eq!(ids(&s.get("/api/teams/ops/tickets?stage=in%20progress").await.expect(200)), [made[3]]);
    assert_eq!(ids(&s.get("/api/teams/ops/tickets?stage=2").await.expect(200)), [made[3]]);
    assert_eq!(ids(&s.get("/api/teams/ops/tickets?priority=high").await.expect(200)), [made[2]]);
    assert_eq!(ids(&s.get("/api/teams/ops/tickets?limit=2&offset=1").await.expect(200)), [made[3], made[2]]);
    assert_eq!(ids(&s.get("/api/teams/ops/tickets?breached=false").await.expect(200)).len(), 4);
    s.get("/api/teams/ops/tickets?stage=Limbo").await.expect_error(422, "invalid_field", "\"Limbo\"");
    s.get("/api/teams/ops/tickets?priority=9").await.expect_error(422, "invalid_field", "priority");
    s.get("/api/teams/ops/tickets?limit=0").await.expect_error(422, "invalid_field", "limit");
    s.get("/api/teams/ops/tickets?breached=maybe").await.expect_error(422, "invalid_field", "\"maybe\"");
    s.get("/api/teams/ops/tickets?colour=red").await.expect_error(422, "invalid_field", "unknown filter");
    s.get("/api/teams/nope/tickets").await.expect_error(404, "not_found", "unknown team \"nope\"");
}

#[tokio::test]
async fn tickets_are_created_edited_and_threaded() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    let t = ticket(&s, "ops", json!({"title": "  Printer\non fire ", "description": "Help!"})).await;
    assert_eq!(t["title"], "Printer on fire");
    assert_eq!((t["priority"].as_u64(), t["priority_name"].as_str()), (Some(0), Some("low")));
    assert_eq!(t["stage"]["name"], "New");
    assert_eq!(t["origin"], "api");
    assert!(t["sla"].is_null(), "no policy, no deadline");
    let id = t["id"].as_u64().expect("id");
    let path = format!("/api/tickets/{id}");

    s.clock.advance(SignedDuration::from_secs(5));
    let edited = s.patch(&path, json!({"title": "Printer fixed?", "stage": 2})).await.expect(200);
    assert_eq!(edited["stage"]["name"], "In Progress");
    assert_ne!(edited["updated_at"], t["updated_at"]);
    assert_eq!(s.get(&path).await.expect(200)["title"], "Printer fixed?");

    let note =
        s.post(&format!("{path}/messages"), json!({"kind": "note", "body": "Checked the toner"})).await.expect(201);
    assert_eq!((note["kind"].as_str(), note["author"]["type"].as_str()), (Some("note"), Some("user")));
    s.post(&format!("{path}/messages"), json!({"kind": "reply", "body": "On our way"})).await.expect(201);
    s.post(&format!("{path}/messages"), json!({"kind": "event", "body": "forged"})).await.expect_error(
        422,
        "invalid_field",
        "kind",
    );
    s.post(&format!("{path}/messages"), json!({"kind": "note", "body": "  "})).await.expect_error(
        422,
        "invalid_field",
        "body",
    );
    s.post(&format!("{path}/messages"), json!({"kind": "customer", "body": "hi"})).await.expect_error(
        422,
        "invalid_field",
        "no contact",
    );
    let thread = s.get(&format!("{path}/messages")).await.expect(200);
    let entries: Vec<(String, String)> = thread
        .as_array()
        .expect("thread")
        .iter()
        .map(|m| (m["kind"].as_str().expect("kind").to_owned(), m["body"].as_str().expect("body").to_owned()))
        .collect();
    assert_eq!(
        entries,
        [
            ("event".into(), "Ticket created via api in stage New".into()),
            ("event".into(), "Title changed from \"Printer on fire\" to \"Printer fixed?\"".into()),
            ("event".into(), "Stage changed from New to In Progress".into()),
            ("note".into(), "Checked the toner".into()),
            ("reply".into(), "On our way".into()),
        ]
    );

    s.patch(&path, json!({"stage": 99})).await.expect_error(422, "invalid_field", "no stage 99");
    s.patch(&path, json!({"priority": "critical"})).await.expect_error(422, "invalid_field", "\"critical\"");
    s.patch(&path, json!({"title": ""})).await.expect_error(422, "invalid_field", "title");
    s.get("/api/tickets/424242").await.expect_error(404, "not_found", "unknown ticket 424242");
    s.get("/api/tickets/abc").await.expect_error(404, "not_found", "\"abc\"");
    s.get("/api/tickets/424242/messages").await.expect_error(404, "not_found", "424242");
    s.post("/api/teams/nope/tickets", json!({"title": "x"})).await.expect_error(
        404,
        "not_found",
        "unknown team \"nope\"",
    );
    s.post("/api/teams/ops/tickets", json!({"description": "no title"})).await.expect_error(
        422,
        "invalid_field",
        "title",
    );

    let with_fields =
        ticket(&s, "ops", json!({"title": "Refund", "fields": {"order_id": "A-17", "plan": "pro", "empty": ""}})).await;
    assert_eq!(with_fields["fields"], json!({"order_id": "A-17", "plan": "pro"}));
    s.post("/api/teams/ops/tickets", json!({"title": "x", "fields": {"bad key": "1"}})).await.expect_error(
        422,
        "invalid_field",
        "\"bad key\" is not a field key",
    );
}

#[tokio::test]
async fn contacts_are_reused_by_email_or_phone() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    team(&s, "Sales").await;
    let a = ticket(
        &s,
        "ops",
        json!({"title": "a", "contact": {"name": "Ann Lee", "email": "Ann@Example.com",
        "company": {"name": "Acme", "phones": [{"number": "+1 555 0100", "type": "work"}]}}}),
    )
    .await;
    let b = ticket(
        &s,
        "sales",
        json!({"title": "b", "contact": {"email": "ann@example.com",
        "phones": [{"number": "+44 20 7946 0958", "type": "mobile"}]}}),
    )
    .await;
    let c = ticket(&s, "ops", json!({"title": "c", "contact": {"phone": "0044 (20) 7946-0958"}})).await;
    assert_eq!(a["contact_id"], b["contact_id"]);
    assert_eq!(a["contact_id"], c["contact_id"]);
    let found = s.get("/api/contacts?phone=%2B442079460958").await.expect(200);
    assert_eq!(found["id"], a["contact_id"]);
    assert_eq!(found["name"], "Ann Lee");
    assert_eq!(found["emails"], json!([{"address": "ann@example.com", "type": "other"}]));
    assert_eq!(found["phones"], json!([{"number": "+442079460958", "type": "mobile"}]));
    assert_eq!(found["company"]["name"], "Acme");
    let other = ticket(&s, "ops", json!({"title": "d", "contact": {"email": "bob@example.com"}})).await;
    assert_ne!(other["contact_id"], a["contact_id"]);
    s.get("/api/contacts?email=nobody@example.com").await.expect_error(404, "not_found", "nobody@example.com");
    s.post("/api/teams/ops/tickets", json!({"title": "x", "contact": {"email": "not an address"}})).await.expect_error(
        422,
        "invalid_field",
        "\"not an address\"",
    );
    s.post("/api/teams/ops/tickets", json!({"title": "x", "contact": {"phone": "12"}})).await.expect_error(
        422,
        "invalid_field",
        "phone",
    );
    // WhatsApp sends a number's digits without the +; it is the same
    // person as the number written with it.
    let wa = ticket(&s, "ops", json!({"title": "wa", "contact": {"phone": "12015550123"}})).await;
    let sms = ticket(&s, "ops", json!({"title": "sms", "contact": {"phone": "+1 (201) 555-0123"}})).await;
    assert_eq!(wa["contact_id"], sms["contact_id"]);
    s.post("/api/teams/ops/tickets", json!({"title": "x", "contact": {"phone": "020 7946 0958"}})).await.expect_error(
        422,
        "invalid_field",
        "needs its country code",
    );
    // An international domain is one address in either spelling.
    let idn = ticket(&s, "ops", json!({"title": "idn", "contact": {"email": "Olena@Bücher.DE"}})).await;
    let puny = ticket(&s, "ops", json!({"title": "puny", "contact": {"email": "olena@xn--bcher-kva.de"}})).await;
    assert_eq!(idn["contact_id"], puny["contact_id"]);
    let olena = s.get(&format!("/api/contacts/{}", idn["contact_id"])).await.expect(200);
    assert_eq!(olena["emails"][0]["address"], "olena@bücher.de");
    // The customer message is attributed to the ticket's contact.
    let m = s
        .post(&format!("/api/tickets/{}/messages", a["id"]), json!({"kind": "customer", "body": "Any news?"}))
        .await
        .expect(201);
    assert_eq!(m["author"], json!({"type": "contact", "id": a["contact_id"], "name": "Ann Lee"}));
}

#[tokio::test]
async fn stages_are_added_renamed_reordered_and_removed() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    let waiting =
        s.post("/api/teams/ops/stages", json!({"name": "Waiting on Customer", "position": 2})).await.expect(201);
    let wid = waiting["id"].as_u64().expect("id");
    s.post("/api/teams/ops/stages", json!({"name": "waiting on customer"})).await.expect_error(
        409,
        "conflict",
        "already has a stage",
    );
    s.patch(&format!("/api/teams/ops/stages/{wid}"), json!({"name": "On Hold"})).await.expect(200);
    let stages = s.get("/api/teams/ops/stages").await.expect(200);
    let names: Vec<_> =
        stages.as_array().expect("stages").iter().map(|s| s["name"].as_str().expect("n").to_owned()).collect();
    assert_eq!(names, ["New", "In Progress", "On Hold", "Solved", "Cancelled"]);

    let reordered = s.put("/api/teams/ops/stages/order", json!({"order": [2, 1, wid, 3, 4]})).await.expect(200);
    assert_eq!(reordered[0]["name"], "In Progress");
    // New tickets start in the first stage, whatever it is now.
    let t = ticket(&s, "ops", json!({"title": "x"})).await;
    assert_eq!(t["stage"]["name"], "In Progress");
    assert_eq!(s.get("/api/teams/ops/stages").await.expect(200)[0]["tickets"], 1);

    s.put("/api/teams/ops/stages/order", json!({"order": [2, 1]})).await.expect_error(422, "invalid_field", "missing");
    s.put("/api/teams/ops/stages/order", json!({"order": [2, 2, 1, 3, 4, wid]})).await.expect_error(
        422,
        "invalid_field",
        "twice",
    );
    s.delete("/api/teams/ops/stages/2").await.expect_error(409, "conflict", "holds 1 tickets");
    assert_eq!(s.delete(&format!("/api/teams/ops/stages/{wid}")).await.status, 204);
    s.delete(&format!("/api/teams/ops/stages/{wid}")).await.expect_error(404, "not_found", "stage");
    s.patch("/api/teams/ops/stages/77", json!({"name": "x"})).await.expect_error(404, "not_found", "unknown stage 77");
}

#[tokio::test]
async fn sla_deadline_follows_priority_and_breach_is_recorded() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.post("/api/teams/ops/sla-policies", json!({"name": "Standard", "target_stage": "Solved", "hours": 48}))
        .await
        .expect(201);
    let fast = s
        .post(
            "/api/teams/ops/sla-policies",
            json!({"name": "Fast", "min_priority": "high", "target_stage": 3, "hours": 4}),
        )
        .await
        .expect(201);
    assert_eq!(fast["min_priority"], 2);
    s.post("/api/teams/ops/sla-policies", json!({"name": "Bad", "target_stage": "Limbo", "hours": 1}))
        .await
        .expect_error(422, "invalid_field", "target_stage");
    s.post("/api/teams/ops/sla-policies", json!({"name": "Bad", "target_stage": 3, "hours": -1})).await.expect_error(
        422,
        "invalid_field",
        "hours",
    );

    let t = ticket(&s, "ops", json!({"title": "Slow burn"})).await;
    let created: jiff::Timestamp = t["created_at"].as_str().expect("created").parse().expect("time");
    let deadline =
        |t: &Value| -> jiff::Timestamp { t["sla"]["deadline"].as_str().expect("deadline").parse().expect("time") };
    assert_eq!(deadline(&t), created + SignedDuration::from_hours(48));
    assert_eq!(t["sla"]["policy"], "Standard");
    assert_eq!(t["sla"]["status"], "running");

    // Raising the priority moves the deadline to 4 hours after creation.
    let path = format!("/api/tickets/{}", t["id"]);
    s.clock.advance(SignedDuration::from_hours(1));
    let raised = s.patch(&path, json!({"priority": "urgent"})).await.expect(200);
    assert_eq!(deadline(&raised), created + SignedDuration::from_hours(4));
    assert_eq!(raised["sla"]["policy"], "Fast");

    // Passing the deadline: the sweeper marks the ticket breached.
    s.clock.advance(SignedDuration::from_hours(4));
    let mut breached = Value::Null;
    for _ in 0..100 {
        breached = s.get("/api/teams/ops/tickets?breached=true").await.expect(200);
        if !ids(&breached).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ids(&breached), [t["id"].as_u64().expect("id")]);
    assert_eq!(breached[0]["sla"]["status"], "breached");
    let thread = s.get(&format!("{path}/messages")).await.expect(200);
    assert!(
        thread
            .as_array()
            .expect("thread")
            .iter()
            .any(|m| { m["body"].as_str().is_some_and(|b| b.starts_with("SLA \"Fast\" breached")) })
    );

    // Reaching the target stage in time records success.
    let quick = ticket(&s, "ops", json!({"title": "Quick", "priority": 3})).await;
    let solved = s.patch(&format!("/api/tickets/{}", quick["id"]), json!({"stage": "Solved"})).await.expect(200);
    assert_eq!(solved["sla"]["status"], "met");
    assert!(solved["sla"]["reached_at"].is_string());

    // Policies can be replaced and removed.
    let fid = fast["id"].as_u64().expect("id");
    let review = s.post("/api/teams/ops/stages", json!({"name": "Review", "position": 2})).await.expect(201);
    let replaced = s
        .put(
            &format!("/api/teams/ops/sla-policies/{fid}"),
            json!({"name": "Fast", "min_priority": 3, "target_stage": "review", "hours": 2}),
        )
        .await
        .expect(200);
    assert_eq!((replaced["hours"].as_f64(), &replaced["target_stage"]), (Some(2.0), &review["id"]));
    s.delete(&format!("/api/teams/ops/stages/{}", review["id"])).await.expect_error(
        409,
        "conflict",
        "target of sla policy \"Fast\"",
    );
    assert_eq!(s.delete(&format!("/api/teams/ops/sla-policies/{fid}")).await.status, 204);
    assert_eq!(s.get("/api/teams/ops/sla-policies").await.expect(200).as_array().map(Vec::len), Some(1));
    assert_eq!(s.delete(&format!("/api/teams/ops/stages/{}", review["id"])).await.status, 204);
}

#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    let s = Server::start_with(|c| c.body_limit = 64 * 1024).await;
    team(&s, "Ops").await;
    let send = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = s.raw(Method::POST, "/api/teams/ops/tickets").bearer_auth(ADMIN).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        async move {
            let resp = req.send().await.expect("send");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("json error body");
            (status, body)
        }
    };
    let (status, body) = send("{\"title\": ", Some("application/json")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("not valid JSON")));
    let (status, body) = send("{\"title\": \"x\"}", None).await;
    assert_eq!((status, body["error"].as_str()), (415, Some("unsupported_media_type")));
    let (status, body) = send("{\"title\": \"x\", \"colour\": \"red\"}", Some("application/json")).await;
    assert_eq!(status, 422);
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("unknown field `colour`")), "{body}");

    let huge = json!({"title": "big", "description": "x".repeat(100 * 1024)});
    s.post("/api/teams/ops/tickets", huge).await.expect_error(413, "payload_too_large", "size limit");
    assert!(s.get("/api/teams/ops/tickets").await.expect(200).as_array().is_some_and(Vec::is_empty));

    s.put("/api/tickets/1", json!({})).await.expect_error(405, "method_not_allowed", "PUT");
    s.call(Method::DELETE, "/api/teams", Some(ADMIN), None).await.expect_error(405, "method_not_allowed", "/api/teams");
    s.get("/api/no/such/route").await.expect_error(404, "not_found", "/api/no/such/route");
    s.call(Method::GET, "/elsewhere", None, None).await.expect_error(404, "not_found", "/elsewhere");
}

#[tokio::test]
async fn openapi_documents_every_route() {
    let s = Server::start().await;
    let doc = s.get("/api/openapi.json").await.expect(200);
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    let mut expected = vec![
        "GET /api/contacts",
        "GET /api/contacts/{id}",
        "GET /api/openapi.json",
        "GET /api/operator/ws",
        "GET /api/teams",
        "POST /api/teams",
        "GET /api/teams/{slug}",
        "PATCH /api/teams/{slug}",
        "GET /api/teams/{slug}/sla-policies",
        "POST /api/teams/{slug}/sla-policies",
        "PUT /api/teams/{slug}/sla-policies/{id}",
        "DELETE /api/teams/{slug}/sla-policies/{id}",
        "GET /api/teams/{slug}/stages",
        "POST /api/teams/{slug}/stages",
        "PUT /api/teams/{slug}/stages/order",
        "PATCH /api/teams/{slug}/stages/{id}",
        "DELETE /api/teams/{slug}/stages/{id}",
        "GET /api/teams/{slug}/stages/{id}/robots",
        "PUT /api/teams/{slug}/stages/{id}/robots",
        "POST /api/teams/{slug}/stages/{id}/robots/dry-run",
        "GET /api/teams/{slug}/triggers",
        "PUT /api/teams/{slug}/triggers",
        "GET /api/teams/{slug}/tickets",
        "POST /api/teams/{slug}/tickets",
        "GET /api/teams/{slug}/mail/failed",
        "POST /api/teams/{slug}/mail/failed/{receipt}/retry",
        "GET /api/tickets/{id}",
        "PATCH /api/tickets/{id}",
        "GET /api/tickets/{id}/messages",
        "POST /api/tickets/{id}/messages",
        "GET /api/tickets/{id}/messages/{message}/attachments/{index}",
        "GET /api/conversations/{id}/messages/{seq}/attachments/{index}",
        "GET /api/users",
        "POST /api/users",
        "PATCH /api/users/{id}",
        "POST /api/users/{id}/token",
        "GET /api/session",
        "GET /api/sessions",
        "DELETE /api/sessions/{id}",
        "GET /api/teams/{slug}/board",
        "GET /api/plugins",
        "POST /api/plugins",
        "GET /api/plugins/{id}",
        "DELETE /api/plugins/{id}",
        "GET /api/plugins/{id}/failures",
        "GET /api/plugin-installs/{job}",
        "GET /api/teams/{slug}/plugins",
        "PUT /api/teams/{slug}/plugins/{id}",
        "GET /api/teams/{slug}/plugins/{id}",
        "DELETE /api/teams/{slug}/plugins/{id}",
        "POST /api/tickets/{id}/robots/{plugin}",
    ];
    expected.sort();
    assert_eq!(documented, expected);
    // Every operation documents the errors the shared layers give.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let responses = op["responses"].as_object().expect("responses");
            let mut needed = vec!["400", "401"];
            if path.contains('{') {
                needed.push("404");
            }
            if op.get("requestBody").is_some() {
                needed.extend(["413", "415", "422"]);
            }
            for status in needed {
                assert!(responses.contains_key(status), "{method} {path} does not document {status}");
            }
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["TicketOut"].is_object());
    // Every documented route is really served: without a token each is a
    // 401, never a 404 or 405.
    for entry in &expected {
        let (method, path) = entry.split_once(' ').expect("entry");
        let path = path.replace("{slug}", "ops").replace("{id}", "1").replace("{plugin}", "p");
        let path = path.replace("{message}", "1").replace("{index}", "0");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        assert_eq!(s.call(method, &path, None, None).await.status, 401, "{entry}");
    }
}

#[tokio::test]
async fn data_survives_a_restart() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    let t =
        ticket(&s, "ops", json!({"title": "Persist me", "priority": 2, "contact": {"email": "p@example.com"}})).await;
    let agent = agent_token(&s, "Ada").await;
    let dir = s.stop().await;
    let s = Server::start_in(dir, |_| {}).await;
    let again = s.get(&format!("/api/tickets/{}", t["id"])).await.expect(200);
    assert_eq!((again["title"].as_str(), again["priority"].as_u64()), (Some("Persist me"), Some(2)));
    s.call(Method::GET, "/api/teams/ops", Some(&agent), None).await.expect(200);
    let next = ticket(&s, "ops", json!({"title": "Next"})).await;
    assert_eq!(next["id"].as_u64(), t["id"].as_u64().map(|i| i + 1));
}

#[tokio::test]
async fn metrics_show_store_counters() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    let reply = s.raw(Method::GET, "/metrics").bearer_auth(ADMIN).send().await.expect("metrics");
    assert_eq!(reply.status(), 200);
    let content_type = reply.headers()["content-type"].to_str().unwrap_or_default().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{content_type}");
    let text = reply.text().await.expect("text");
    // OpenMetrics: every family is typed and described, and the document
    // ends with its end marker.
    assert!(text.ends_with("# EOF\n"), "{text}");
    let value = |name: &str| {
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')).and_then(|v| v.parse::<u64>().ok())
    };
    if support::on_postgres() {
        // Each write is its own committed transaction; the team was one.
        assert!(text.contains("# TYPE switchboard_store_commits counter\n"), "{text}");
        assert!(value("switchboard_store_commits_total").is_some_and(|v| v > 0), "the team was committed: {text}");
        assert!(value("switchboard_store_conflict_retries_total").is_some(), "{text}");
    } else {
        assert!(text.contains("# TYPE switchboard_store_flushes counter\n"), "{text}");
        assert!(text.contains("# HELP switchboard_store_flushes Group-commit flushes"), "{text}");
        assert!(value("switchboard_store_flushes_total").is_some_and(|v| v > 0), "the team was flushed: {text}");
        assert!(value("switchboard_store_durable_writes_total").is_some_and(|v| v > 0), "{text}");
    }
    assert_eq!(value("switchboard_plugin_pooling"), Some(1), "{text}");
    s.call(Method::GET, "/metrics", None, None).await.expect_error(401, "unauthorized", "bearer token");
}
