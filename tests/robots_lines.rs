//! End-to-end tests of the shipped mail and open-line robots on stages:
//! the mail robot's message reaches a real SMTP relay started by the test,
//! and the open-line robot's message reaches the customer where they last
//! wrote from (their e-mail thread, or the visitor's websocket of a live
//! chat), while a hidden one stays an internal note.

mod chat_kit;
mod mail_kit;
mod mail_sink;
mod support;

use chat_kit::Client;
use mail_kit::{FIRST, mail_server, send};
use mail_sink::Sink;
use serde_json::{Value, json};
use support::{Server, eventually};

async fn thread(s: &Server, id: u64) -> Vec<Value> {
    s.get(&format!("/api/tickets/{id}/messages")).await.expect(200).as_array().expect("thread").clone()
}

/// Waits for a thread line containing `needle`.
async fn line(s: &Server, id: u64, needle: &str) -> Value {
    eventually(&format!("a line with {needle:?}"), || async {
        thread(s, id).await.into_iter().find(|m| m["body"].as_str().is_some_and(|b| b.contains(needle)))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_robot_and_the_open_line_reach_the_relay_as_the_dry_run_showed() {
    let sink = Sink::start().await;
    let relay = sink.relay();
    let m = mail_server(move |c| c.smtp.relay = Some(relay)).await;
    let s = &m.server;
    s.enable("care", "email-alias", json!({}), &["tickets", "mail:team"]).await.expect(200);
    s.enable("care", "robot-mail", json!({}), &["tickets", "storage", "mail:team"]).await.expect(201);
    s.enable("care", "robot-open-line", json!({}), &["tickets", "storage"]).await.expect(201);
    let robots = json!({"robots": [
        {"plugin": "robot-mail", "settings": {
            "subject": "Your request #{{ ticket.id }}", "text": "Hello {{ contact.name }}, we are on it.", "address_type": "work"}},
        {"plugin": "robot-open-line", "settings": {"text": "Re: {{ ticket.title }}: a technician comes today."}, "after_previous": true},
        {"plugin": "robot-open-line", "settings": {"text": "Call her first.", "hidden": true}, "after_previous": true},
    ]});
    s.put("/api/teams/care/stages/2/robots", robots).await.expect(200);

    // A customer mails the alias; her contact also gets a work address.
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 250);
    let ticket = s.tickets("care").await[0]["id"].as_u64().expect("ticket");
    let contact = json!({"name": "Olena Koval", "emails": [{"address": "olena@work.example", "type": "work"}]});
    let other = s.post("/api/teams/care/tickets", json!({"title": "Desk phone", "contact": contact})).await.expect(201);
    let other = other["id"].as_u64().expect("id");

    let dry = s.post("/api/teams/care/stages/2/robots/dry-run", json!({"ticket": ticket})).await.expect(200);
    let plans: Vec<Value> = dry["robots"].as_array().expect("robots").iter().map(|r| r["plan"].clone()).collect();
    // The mailed-in contact has no work address: the mail robot would skip.
    assert_eq!(plans[0], json!({"does": "skip", "reason": "the contact has no work e-mail address"}));
    assert_eq!(plans[1]["summary"], "message to the customer through email-alias");
    assert_eq!(plans[2], json!({"does": "act", "summary": "internal note", "content": "Call her first."}));
    let dry_other = s.post("/api/teams/care/stages/2/robots/dry-run", json!({"ticket": other})).await.expect(200);
    let mail_plan = dry_other["robots"][0]["plan"].clone();
    assert_eq!(
        mail_plan["summary"],
        format!("mail to olena@work.example from care@help.example.com: Your request #{other}")
    );
    assert_eq!(
        dry_other["robots"][1]["plan"],
        json!({"does": "skip", "reason": "the ticket has no open line: the customer wrote through no channel that delivers replies"})
    );
    assert!(sink.received().is_empty(), "a dry run sends nothing");

    s.patch(&format!("/api/tickets/{other}"), json!({"stage": 2})).await.expect(200);
    let mailed = eventually("the robot's mail at the relay", || async { sink.received().first().cloned() }).await;
    let parsed = mail_parser::MessageParser::default().parse(&mailed).expect("a mail");
    assert_eq!(parsed.subject(), Some(format!("Your request #{other}").as_str()));
    assert_eq!(parsed.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("olena@work.example"));
    assert_eq!(parsed.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("care@help.example.com"));
    assert_eq!(parsed.body_text(0).as_deref(), mail_plan["content"].as_str(), "the dry run showed what was sent");
    line(s, other, "skipped: the ticket has no open line").await;

    s.patch(&format!("/api/tickets/{ticket}"), json!({"stage": 2})).await.expect(200);
    line(s, ticket, "(#3 of stage In Progress) done: internal note").await;
    let answer = eventually("the open line's reply at the relay", || async { sink.received().get(1).cloned() }).await;
    let parsed = mail_parser::MessageParser::default().parse(&answer).expect("a mail");
    assert_eq!(parsed.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("olena@customer.example"));
    assert!(
        parsed.body_text(0).is_some_and(|b| b.contains("Re: The printer is on fire: a technician comes today.")),
        "{:?}",
        parsed.body_text(0)
    );
    let entries = thread(s, ticket).await;
    let note = entries.iter().find(|m| m["body"] == "Call her first.").expect("the note");
    assert_eq!(note["kind"], "note");
    assert_eq!(sink.received().len(), 2, "the note is not mailed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_line_robot_reaches_the_visitors_websocket() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    s.enable("care", "live-chat", json!({}), &["chat", "tickets", "storage", "timers"]).await.expect(201);
    s.enable("care", "robot-open-line", json!({}), &["tickets", "storage"]).await.expect(201);
    let robots = json!({"robots": [{"plugin": "robot-open-line", "settings": {"text": "Ticket #{{ ticket.id }}: we are on it."}}]});
    s.put("/api/teams/care/stages/2/robots", robots).await.expect(200);
    let agent = s.post("/api/users", json!({"name": "Anna", "role": "agent", "teams": ["care"]})).await.expect(201);
    let token = agent["token"].as_str().expect("token").to_owned();

    let mut visitor = Client::visitor(&s.base, "care").await;
    let id = visitor.start("Care", "https://shop.example/", "en").await["conversation"].as_u64().expect("id");
    visitor.next_where(|f| f["type"] == "state" && f["state"] == "waiting").await;
    visitor.say("My charger broke").await;
    let mut anna = Client::operator(&s.base, &token).await;
    anna.ok(json!({"type": "join", "conversation": id})).await;
    anna.ok(json!({"type": "say", "conversation": id, "body": "/ticket"})).await;
    let ticket = s.tickets("care").await[0]["id"].as_u64().expect("ticket");

    s.patch(&format!("/api/tickets/{ticket}"), json!({"stage": 2})).await.expect(200);
    let text = format!("Ticket #{ticket}: we are on it.");
    let heard =
        visitor.next_where(|f| f["type"] == "message" && f["body"].as_str().is_some_and(|b| b.ends_with(&text))).await;
    assert_eq!(heard["conversation"], id);
    line(&s, ticket, "done: message to the customer through live-chat").await;
}
