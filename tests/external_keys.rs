//! External keys end to end: a webhook delivered many times at once
//! through the real hello-channel component opens one ticket and is claimed
//! once, and the API refuses a second ticket with a taken key, also after
//! a restart.

mod support;

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;
use support::Server;
use switchboard_artifacts::HELLO_CHANNEL;

/// The same delivery sent 50 times from 8 concurrent clients makes one
/// ticket (one 201, the rest 200 with the same ticket), and exactly one
/// copy wins the plugin's `set-if-absent` claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_sent_fifty_times_at_once_opens_one_ticket() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    let s = std::sync::Arc::new(s);
    let mut clients = Vec::new();
    for client in 0..8 {
        let s = std::sync::Arc::clone(&s);
        clients.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for attempt in (client..50).step_by(8) {
                let body = json!({"title": format!("Order 1042, attempt {attempt}"), "delivery": "wh-1042"});
                let reply = s.call(Method::POST, "/c/ops/hello-channel/", None, Some(body)).await;
                assert!(matches!(reply.status, 200 | 201), "status {}: {}", reply.status, reply.text);
                answers.push((reply.status, reply.body));
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.expect("client"));
    }
    assert_eq!(answers.len(), 50);
    let tickets: BTreeSet<u64> = answers.iter().map(|(_, b)| b["ticket"].as_u64().expect("ticket")).collect();
    assert_eq!(tickets.len(), 1, "every copy got the same ticket");
    let created = answers.iter().filter(|(status, b)| *status == 201 && b["created"] == true).count();
    assert_eq!(created, 1, "one copy created it");
    let claims = answers.iter().filter(|(_, b)| b["first_claim"] == true).count();
    assert_eq!(claims, 1, "one copy won the claim");
    let listed = s.tickets("ops").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["external_key"], "delivery:wh-1042");
    let thread = s.get(&format!("/api/tickets/{}/messages", listed[0]["id"])).await.expect(200);
    assert_eq!(thread.as_array().map(Vec::len), Some(1), "one \"created\" event, not fifty");
}

/// A second API ticket with a taken external key is a 409 that names the
/// ticket holding it, before and after a restart; another team may use it.
#[tokio::test]
async fn the_api_refuses_a_taken_external_key_also_after_a_restart() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let first =
        s.post("/api/teams/ops/tickets", json!({"title": "Imported", "external_key": "crm-7"})).await.expect(201);
    let id = first["id"].as_u64().expect("id");
    let again = json!({"title": "Imported again", "external_key": "crm-7"});
    s.post("/api/teams/ops/tickets", again.clone()).await.expect_error(409, "conflict", &format!("ticket {id}"));
    s.post("/api/teams/sales/tickets", again.clone()).await.expect(201);
    let dir = s.stop().await;
    let s = Server::start_in(dir, |_| {}).await;
    s.post("/api/teams/ops/tickets", again).await.expect_error(409, "conflict", "\"crm-7\"");
    assert_eq!(s.tickets("ops").await.len(), 1);
}
