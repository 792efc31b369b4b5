//! Mail going out, end to end: agents' replies and the channel's own mail
//! through the outbox to a relay started by the test (plain, STARTTLS or
//! TLS, with credentials), retried when it defers, failed when it refuses;
//! and the `mail` import's checks.

mod mail_kit;
mod mail_sink;
mod support;

use std::time::Duration;

use mail_kit::{FIRST, Mail, base64, customer_bodies, mail_server, send, thread_of};
use mail_sink::{Sink, SinkTls};
use serde_json::{Value, json};
use support::{Server, eventually};

/// A mail server whose channel may send through `relay`, with the first
/// mail's ticket; returns the server and that ticket's id.
async fn with_first_ticket(relay: switchboard_server::RelayConfig) -> (Mail, u64) {
    let m = mail_server(move |c| c.smtp.relay = Some(relay)).await;
    m.server.enable("care", "email-alias", json!({}), &["tickets", "mail:team"]).await.expect(200);
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 250);
    let id = m.server.tickets("care").await[0]["id"].as_u64().expect("id");
    (m, id)
}

/// Posts an agent's reply on `ticket` and returns its entry's id.
async fn reply(s: &Server, ticket: u64, body: &str) -> u64 {
    let posted = s.post(&format!("/api/tickets/{ticket}/messages"), json!({"kind": "reply", "body": body})).await;
    posted.expect(201)["id"].as_u64().expect("entry")
}

/// Waits until entry `entry` of `ticket` shows delivery state `state`,
/// and returns its delivery.
async fn delivery_becomes(s: &Server, ticket: u64, entry: u64, state: &str) -> Value {
    eventually(&format!("entry {entry} {state}"), || async {
        let d = delivery(s, ticket, entry).await;
        (d["state"] == state).then_some(d)
    })
    .await
}

/// The delivery state of thread entry `entry` of `ticket`.
async fn delivery(s: &Server, ticket: u64, entry: u64) -> Value {
    let thread = thread_of(s, ticket).await;
    thread.into_iter().find(|m| m["id"] == entry).map(|m| m["delivery"].clone()).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_reply_goes_out_by_mail_and_the_answer_threads_back() {
    let sink = Sink::start().await;
    let (m, id) = with_first_ticket(sink.relay()).await;

    let posted = m
        .server
        .post(&format!("/api/tickets/{id}/messages"), json!({"kind": "reply", "body": "Вже лагодимо.\nWe are on it."}))
        .await
        .expect(201);
    assert_eq!(posted["delivery"]["state"], "queued", "{posted}");
    let entry = posted["id"].as_u64().expect("entry");
    let raw = eventually("the reply reaching the relay", || async { sink.received().first().cloned() }).await;
    let mail = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
    assert_eq!(mail.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("care@help.example.com"));
    assert_eq!(mail.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("olena@customer.example"));
    assert_eq!(mail.subject(), Some(format!("Re: The printer is on fire [#{id}]").as_str()));
    assert_eq!(mail.in_reply_to().as_text(), Some("first-1@customer.example"));
    assert_eq!(mail.references().as_text(), Some("first-1@customer.example"));
    assert!(mail.header_raw("Auto-Submitted").is_none(), "an agent's reply is not automatic");
    assert_eq!(mail.body_text(0).as_deref(), Some("Вже лагодимо.\r\nWe are on it."));
    let our_id = mail.message_id().expect("a Message-ID").to_owned();
    let sent = delivery_becomes(&m.server, id, entry, "sent").await;
    assert!(sent["detail"].as_str().is_some_and(|d| d.contains("250")), "{sent}");

    // The customer's answer names our Message-ID, and lands on the ticket.
    let answer = format!(
        "From: olena@customer.example\nSubject: Re: The printer is on fire [#{id}]\nMessage-ID: <answer@customer.example>\nIn-Reply-To: <{our_id}>\n\nThanks, it prints.\n"
    );
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", &answer).await.code, 250);
    assert_eq!(m.server.tickets("care").await.len(), 1);
    assert!(customer_bodies(&m.server, id).await.last().is_some_and(|b| b.contains("Thanks, it prints.")));

    // The next reply references the whole thread, oldest first.
    let second = reply(&m.server, id, "Glad to hear.").await;
    let raw = eventually("the second reply", || async { sink.received().get(1).cloned() }).await;
    let mail = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
    let refs: Vec<String> =
        mail.references().as_text_list().map(|l| l.iter().map(|r| r.to_string()).collect()).unwrap_or_default();
    assert_eq!(refs, ["first-1@customer.example", our_id.as_str(), "answer@customer.example"]);
    assert_eq!(mail.in_reply_to().as_text(), Some("answer@customer.example"));
    delivery_becomes(&m.server, id, second, "sent").await;
    // A note is never mailed.
    m.server
        .post(&format!("/api/tickets/{id}/messages"), json!({"kind": "note", "body": "internal"}))
        .await
        .expect(201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_defers_is_tried_again_and_one_that_refuses_fails_the_reply() {
    let sink = Sink::start().await;
    let (m, id) = with_first_ticket(sink.relay()).await;

    sink.answer_with(451);
    let entry = reply(&m.server, id, "First try.").await;
    let deferred = delivery_becomes(&m.server, id, entry, "deferred").await;
    assert!(deferred["detail"].as_str().is_some_and(|d| d.contains("451")), "{deferred}");
    sink.answer_with(250);
    m.server.clock.advance(jiff::SignedDuration::from_secs(5));
    delivery_becomes(&m.server, id, entry, "sent").await;
    assert_eq!(sink.received().len(), 1, "sent once");

    sink.answer_with(550);
    let refused = reply(&m.server, id, "Second.").await;
    let failed = delivery_becomes(&m.server, id, refused, "failed").await;
    assert!(failed["detail"].as_str().is_some_and(|d| d.contains("550")), "{failed}");
}

/// A relay reached over STARTTLS or over TLS from the first byte, with
/// credentials: the reply goes out encrypted, after AUTH with the user and
/// password of the relay setting, and is marked sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reach_a_relay_over_starttls_and_tls_with_credentials() {
    for mode in [SinkTls::StartTls, SinkTls::Wrapper] {
        let sink = Sink::start_with(mode).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let (m, id) = with_first_ticket(sink.relay_in(dir.path(), Some("bot%40help.example.com:s3cret"))).await;
        let entry = reply(&m.server, id, "Sent over TLS.").await;
        delivery_becomes(&m.server, id, entry, "sent").await;
        assert_eq!(sink.encrypted(), [true], "{mode:?}: the message came over TLS");
        let plain = base64(b"\0bot@help.example.com\0s3cret");
        assert_eq!(sink.logins(), [(vec!["PLAIN".to_owned(), plain], true)], "{mode:?}");
        let raw = String::from_utf8(sink.received()[0].clone()).expect("utf-8");
        assert!(raw.contains(&base64(b"Sent over TLS.")), "{mode:?}: {raw}");
    }
}

/// A relay whose certificate is not trusted is not sent to: the reply
/// is deferred with the TLS failure, and nothing reaches the relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_an_untrusted_certificate_gets_nothing() {
    let sink = Sink::start_with(SinkTls::StartTls).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut relay = sink.relay_in(dir.path(), Some("bot:s3cret"));
    relay.root_cert = None;
    let (m, id) = with_first_ticket(relay).await;
    let entry = reply(&m.server, id, "Not to an impostor.").await;
    let deferred = delivery_becomes(&m.server, id, entry, "deferred").await;
    let detail = deferred["detail"].as_str().unwrap_or_default().to_lowercase();
    assert!(detail.contains("certificate") || detail.contains("tls"), "{deferred}");
    assert!(sink.received().is_empty() && sink.logins().is_empty(), "the password went to an untrusted relay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_waits_without_a_relay_or_a_grant_and_says_why() {
    let m = mail_server(|_| {}).await;
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 250);
    let id = m.server.tickets("care").await[0]["id"].as_u64().expect("id");
    // Without `mail:team` the channel may not send from the alias.
    let entry = reply(&m.server, id, "Hello").await;
    let denied = delivery_becomes(&m.server, id, entry, "deferred").await;
    assert!(
        denied["detail"]
            .as_str()
            .is_some_and(|d| d.contains("mail:care@help.example.com") && d.contains("not granted")),
        "{denied}"
    );
    // Granted, but no relay: the mail waits in the outbox.
    m.server.enable("care", "email-alias", json!({}), &["tickets", "mail:team"]).await.expect(200);
    m.server.clock.advance(jiff::SignedDuration::from_secs(5));
    let waiting = eventually("the mail deferred for the relay", || async {
        let d = delivery(&m.server, id, entry).await;
        d["detail"].as_str().is_some_and(|t| t.contains("no mail relay")).then_some(d)
    })
    .await;
    assert_eq!(waiting["state"], "deferred");
}

/// The `mail` import's checks, through a fixture that queues whatever a
/// request describes: only a granted sender, only a From header that is
/// the sender, 1 to 50 valid recipients, at most 10 MiB, and only a
/// ticket of the installation's team.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_import_sends_only_what_it_was_granted() {
    let m = mail_server(|_| {}).await;
    m.server.install(&switchboard_artifacts::MAIL_SENDER).await.expect(201);
    // Building a 10 MiB message in the sandbox takes more than the default
    // CPU budget on a loaded machine; the point here is the host's checks.
    let enable = json!({"settings": {}, "grants": ["tickets", "mail:team"], "declined": ["mail:billing@help.example.com"],
                        "limits": {"cpu_ms": 2000, "memory_mib": 64}});
    m.server.put("/api/teams/care/plugins/mail-sender", enable).await.expect(201);
    let ticket =
        m.server.post("/api/teams/care/tickets", json!({"title": "t"})).await.expect(201)["id"].as_u64().expect("id");
    m.server.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let theirs =
        m.server.post("/api/teams/sales/tickets", json!({"title": "t"})).await.expect(201)["id"].as_u64().expect("id");
    let send = async |body: Value| {
        let r = m.server.raw(reqwest::Method::POST, "/c/care/mail-sender/send").json(&body).send().await.expect("send");
        (r.status().as_u16(), r.text().await.expect("text"))
    };
    let mail = |sender: &str, header: &str, to: Value, size: usize, ticket: u64| json!({"ticket": ticket, "sender": sender, "from_header": header, "recipients": to, "size": size});
    let (status, entry) =
        send(mail("care@help.example.com", "Care <care@help.example.com>", json!(["a@customer.example"]), 10, ticket))
            .await;
    assert_eq!(status, 200, "{entry}");
    let entry: u64 = entry.parse().expect("an entry id");
    let thread = thread_of(&m.server, ticket).await;
    let recorded = thread.iter().find(|e| e["id"] == entry).expect("the entry that records the mail");
    assert!(recorded["body"].as_str().is_some_and(|b| b.contains("a@customer.example")), "{recorded}");
    assert!(recorded["delivery"]["state"].is_string(), "{recorded}");

    let refusals = [
        (
            mail("billing@help.example.com", "billing@help.example.com", json!(["a@customer.example"]), 10, ticket),
            "mail:billing@help.example.com",
        ),
        (
            mail("other@help.example.com", "other@help.example.com", json!(["a@customer.example"]), 10, ticket),
            "not granted",
        ),
        (mail("care@help.example.com", "ceo@bank.example", json!(["a@customer.example"]), 10, ticket), "From header"),
        (mail("care@help.example.com", "care@help.example.com", json!([]), 10, ticket), "1 to 50"),
        (
            mail("care@help.example.com", "care@help.example.com", json!(vec!["a@customer.example"; 51]), 10, ticket),
            "1 to 50",
        ),
        (
            mail("care@help.example.com", "care@help.example.com", json!(["not an address"]), 10, ticket),
            "not an e-mail address",
        ),
        (
            mail(
                "care@help.example.com",
                "care@help.example.com",
                json!(["a@customer.example"]),
                10 * 1024 * 1024 + 1,
                ticket,
            ),
            "the most is",
        ),
        (
            mail("care@help.example.com", "care@help.example.com", json!(["a@customer.example"]), 10, theirs),
            "not a ticket of team",
        ),
    ];
    for (body, needle) in refusals {
        let (status, text) = send(body.clone()).await;
        assert_eq!(status, 422, "{body}: {text}");
        assert!(text.contains(needle), "{body}: {text} should mention {needle}");
    }
    let theirs_thread = thread_of(&m.server, theirs).await;
    assert!(theirs_thread.iter().all(|e| e["delivery"].is_null()), "nothing was queued on another team's ticket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_tickets_per_sender_are_capped_and_acknowledged_as_automatic() {
    let sink = Sink::start().await;
    let relay = sink.relay();
    let m = mail_server(move |c| c.smtp.relay = Some(relay)).await;
    let settings = json!({"new_tickets_per_sender_per_hour": 2, "acknowledge_new_tickets": true});
    m.server.enable("care", "email-alias", settings, &["tickets", "mail:team"]).await.expect(200);
    for i in 0..3 {
        let mail = format!(
            "From: flood@customer.example\nSubject: Request {i}\nMessage-ID: <flood-{i}@customer.example>\n\nHelp\n"
        );
        assert_eq!(send(m.smtp, "flood@customer.example", "care+web@help.example.com", &mail).await.code, 250);
    }
    let tickets = m.server.tickets("care").await;
    assert_eq!(tickets.len(), 2, "the third new mail in an hour opened nothing: {tickets:?}");
    // Each new ticket was acknowledged, from the alias without its tag,
    // marked automatic, naming the ticket, and threaded on the mail.
    let acks =
        eventually("two acknowledgements", || async { (sink.received().len() == 2).then(|| sink.received()) }).await;
    for raw in acks {
        let ack = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
        assert_eq!(ack.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
        assert_eq!(ack.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("care@help.example.com"));
        assert!(ack.subject().is_some_and(|s| s.contains("[#")), "{:?}", ack.subject());
        assert!(ack.in_reply_to().as_text().is_some_and(|id| id.starts_with("flood-")));
    }
    // Our automatic mail coming back (an auto-responder answering it) is
    // ignored, not threaded as the customer's.
    let bounce_back =
        "From: flood@customer.example\nSubject: Auto: Re: Request 0\nAuto-Submitted: auto-replied\n\nAway\n";
    assert_eq!(send(m.smtp, "flood@customer.example", "care@help.example.com", bounce_back).await.code, 250);
    assert_eq!(m.server.tickets("care").await.len(), 2);
}

/// With the default mail domain, `localhost`, which has no dot, the team
/// still receives mail and sends its replies from its alias.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_mail_domain_receives_and_sends() {
    let sink = Sink::start().await;
    let relay = sink.relay();
    let m = mail_server(move |c| {
        c.mail_domain = "localhost".into();
        c.smtp.relay = Some(relay);
    })
    .await;
    m.server.enable("care", "email-alias", json!({}), &["tickets", "mail:team"]).await.expect(200);
    assert_eq!(send(m.smtp, "olena@customer.example", "care@localhost", FIRST).await.code, 250);
    let id = m.server.tickets("care").await[0]["id"].as_u64().expect("id");
    let entry = reply(&m.server, id, "On it.").await;
    delivery_becomes(&m.server, id, entry, "sent").await;
    let raw = sink.received().first().cloned().expect("the reply");
    let mail = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
    assert_eq!(mail.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("care@localhost"));
}
