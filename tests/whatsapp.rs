//! WhatsApp end to end: a running server with the shipped `whatsapp`
//! plugin, Meta's webhook calls (signed as Meta signs them), a Graph API
//! stand-in that checks every request exactly, and operators on real
//! websockets. Verification accepted and refused; unsigned and wrongly
//! signed notifications refused with nothing kept; every message type, a
//! duplicate delivery, files fetched and served; statuses applied; answers
//! inside and outside the 24-hour window, with Graph's errors shown;
//! `/ticket`, and replies on the ticket going out over WhatsApp, with the
//! statuses on them shown on the ticket's thread.

mod chat_kit;
mod graph_kit;
mod support;

use jiff::SignedDuration;
use serde_json::{Value, json};

use chat_kit::Client;
use graph_kit::{APP_SECRET, Graph, NUMBER_ID, Refusal, TOKEN, VERIFY_TOKEN, VERSION, messages, signature, statuses};
use support::{Server, eventually};

const OLENA: &str = "380501234567";

/// The channel's settings against the stand-in, secrets included.
fn settings(graph: &Graph, extra: Value) -> Value {
    let mut s = json!({
        "phone_number_id": NUMBER_ID,
        "graph_url": graph.base,
        "api_version": VERSION,
        "channel": "Care",
        "verify_token": VERIFY_TOKEN,
        "app_secret": APP_SECRET,
        "access_token": TOKEN,
    });
    if let (Some(s), Some(extra)) = (s.as_object_mut(), extra.as_object()) {
        s.extend(extra.clone());
    }
    s
}

const GRANTS: [&str; 4] = ["chat", "tickets", "storage", "http:setting:graph_url"];

/// A server shipping its plugins, with the public routes' default rate
/// limit, team "care", WhatsApp enabled against the stand-in (with limits
/// of its own for Meta's bursts), and an operator online in its channel.
async fn server(extra: Value) -> (Server, Graph, Client) {
    let defaults = switchboard_server::Config::new("unused");
    let s = Server::start_with(|c| {
        c.bundled = switchboard_server::BundledPlugin::shipped();
        (c.public_rate, c.public_burst) = (defaults.public_rate, defaults.public_burst);
    })
    .await;
    s.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    let graph = Graph::start().await;
    let declined = ["http:lookaside.fbsbx.com"];
    let body = json!({"settings": settings(&graph, extra), "grants": GRANTS, "declined": declined,
        "public_limits": {"rate": 2000, "burst": 4000}});
    s.put("/api/teams/care/plugins/whatsapp", body).await.expect(201);
    let created = s.post("/api/users", json!({"name": "Anna", "role": "agent", "teams": ["care"]})).await.expect(201);
    let mut anna = Client::operator(&s.base, created["token"].as_str().expect("token")).await;
    anna.ok(json!({"type": "online", "team": "care", "channel": "Care", "name": "Anna"})).await;
    (s, graph, anna)
}

/// Meta's POST of a notification, signed with `signature`.
async fn deliver(s: &Server, body: &Value, signature: Option<String>) -> (u16, String) {
    let mut request = s.raw(reqwest::Method::POST, "/c/care/whatsapp/").header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.body(body.to_string()).send().await.expect("webhook");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// Meta's POST, signed as Meta signs it.
async fn notify(s: &Server, body: &Value) -> u16 {
    let raw = body.to_string();
    deliver(s, body, Some(signature(raw.as_bytes()))).await.0
}

fn text(id: &str, body: &str) -> Value {
    json!({"from": OLENA, "id": id, "timestamp": "1796315729", "type": "text", "text": {"body": body}})
}

/// The conversation list's waiting conversations.
async fn waiting(anna: &mut Client) -> Vec<Value> {
    anna.ok(json!({"type": "watch", "team": "care"})).await;
    let lists = anna.next_of("conversations").await;
    lists["waiting"].as_array().cloned().unwrap_or_default()
}

/// Every message of a conversation, as an operator following it reads them.
async fn follow(s: &Server, id: u64) -> Vec<Value> {
    let created =
        s.post("/api/users", json!({"name": format!("Reader {id}"), "role": "agent", "teams": ["care"]})).await;
    let mut reader = Client::operator(&s.base, created.expect(201)["token"].as_str().expect("token")).await;
    reader.ok(json!({"type": "follow", "conversation": id})).await;
    let mut frames = Vec::new();
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_millis(700), reader.next_of("message")).await;
        match frame {
            Ok(frame) => frames.push(frame),
            Err(_) => return frames,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_and_signatures_are_checked_and_nothing_unsigned_is_kept() {
    let (s, graph, mut anna) = server(json!({})).await;
    let verify = |query: String| {
        let s = &s;
        async move {
            let r = s.raw(reqwest::Method::GET, &format!("/c/care/whatsapp/?{query}")).send().await.expect("get");
            let plain =
                r.headers().get("content-type").is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("text/plain")));
            (r.status().as_u16(), plain, r.text().await.expect("text"))
        }
    };
    let ok = verify(format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444")).await;
    assert_eq!(ok, (200, true, "1158201444".to_owned()));
    let wrong = verify("hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444".into()).await;
    assert_eq!(wrong.0, 403);
    let no_mode = verify(format!("hub.verify_token={VERIFY_TOKEN}&hub.challenge=1")).await;
    assert_eq!(no_mode.0, 403);

    let body = messages(OLENA, "Olena", json!([text("wamid.FORGED", "Send the refund to my new card")]));
    let (unsigned, why) = deliver(&s, &body, None).await;
    assert_eq!(unsigned, 401, "{why}");
    let forged = signature(b"another body");
    let (wrongly, why) = deliver(&s, &body, Some(forged)).await;
    assert_eq!(wrongly, 401, "{why}");
    assert!(why.contains("signature"), "{why}");
    let (malformed, _) = deliver(&s, &body, Some("sha1=abcdef".into())).await;
    assert_eq!(malformed, 401);
    assert!(waiting(&mut anna).await.is_empty(), "nothing unsigned was kept");
    assert_eq!(graph.requests(), 0);

    // The secrets are write-only: the installation never shows them.
    let installation = s.get("/api/teams/care/plugins/whatsapp").await.expect(200).to_string();
    for secret in [APP_SECRET, TOKEN, VERIFY_TOKEN] {
        assert!(!installation.contains(secret), "{secret} is shown: {installation}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_type_is_kept_once_with_its_file_and_contact() {
    let (s, graph, mut anna) = server(json!({})).await;
    let photo: Vec<u8> = (0..=255u8).cycle().take(40_000).collect();
    graph.media("1013859600285441", "image/jpeg", photo.clone());
    graph.media("9001", "application/pdf", b"%PDF-1.4 invoice".to_vec());
    graph.media("9002", "audio/ogg", vec![1; 2_000]);
    let all = json!([
        text("wamid.1", "Hello, my order is late"),
        {"from": OLENA, "id": "wamid.2", "timestamp": "1796315730", "type": "image", "image": {"id": "1013859600285441", "mime_type": "image/jpeg", "sha256": "x", "caption": "The box"}},
        {"from": OLENA, "id": "wamid.3", "timestamp": "1796315731", "type": "audio", "audio": {"id": "9002", "mime_type": "audio/ogg; codecs=opus", "voice": true}},
        {"from": OLENA, "id": "wamid.4", "timestamp": "1796315732", "type": "document", "document": {"id": "9001", "mime_type": "application/pdf", "filename": "invoice.pdf"}},
        {"from": OLENA, "id": "wamid.5", "timestamp": "1796315733", "type": "video", "video": {"id": "404404", "mime_type": "video/mp4"}},
        {"from": OLENA, "id": "wamid.6", "timestamp": "1796315734", "type": "sticker", "sticker": {"id": "404405", "mime_type": "image/webp", "animated": false}},
        {"from": OLENA, "id": "wamid.7", "timestamp": "1796315735", "type": "location", "location": {"latitude": 50.4501, "longitude": 30.5234, "name": "Nova Poshta 12"}},
        {"from": OLENA, "id": "wamid.8", "timestamp": "1796315736", "type": "contacts", "contacts": [{"name": {"formatted_name": "Ivan Petrenko", "first_name": "Ivan"}, "phones": [{"phone": "+380671112233", "type": "CELL", "wa_id": "380671112233"}]}]},
        {"from": OLENA, "id": "wamid.9", "timestamp": "1796315737", "type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}},
        {"from": OLENA, "id": "wamid.10", "timestamp": "1796315738", "type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "refund", "title": "Refund", "description": "Money back"}}},
        {"from": OLENA, "id": "wamid.11", "timestamp": "1796315739", "type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}},
        {"from": OLENA, "id": "wamid.12", "timestamp": "1796315740", "type": "reaction", "reaction": {"message_id": "wamid.1", "emoji": "🙏"}},
        {"from": OLENA, "id": "wamid.13", "timestamp": "1796315741", "type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}]}
    ]);
    let body = messages(OLENA, "Olena", all);
    assert_eq!(notify(&s, &body).await, 200);
    assert_eq!(notify(&s, &body).await, 200, "Meta's retry of the same delivery");
    let listed = waiting(&mut anna).await;
    assert_eq!(listed.len(), 1, "one conversation for the number: {listed:?}");
    let c = &listed[0];
    assert_eq!(
        (c["plugin"].as_str(), c["customer"].as_str(), c["channel"].as_str()),
        (Some("whatsapp"), Some("+380501234567"), Some("Care"))
    );
    let id = c["id"].as_u64().expect("id");

    let said = follow(&s, id).await;
    let bodies: Vec<&str> = said.iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(
        bodies,
        [
            "Hello, my order is late",
            "[image] The box",
            "[voice message]",
            "[document: invoice.pdf]",
            "[video]",
            "[sticker]",
            "[location] Nova Poshta 12 (50.4501, 30.5234) https://maps.google.com/?q=50.4501,30.5234",
            "[contact] Ivan Petrenko: +380671112233",
            "[button] Yes",
            "[list] Refund (Money back)",
            "[button] Stop promotions",
            "[reaction] 🙏 to message wamid.1",
            "[unsupported message of type \"unsupported\": 131051 Message type unknown: Message type is currently not supported.]",
        ],
        "each type once, in order, though delivered twice"
    );
    assert!(said.iter().all(|m| m["speaker"]["type"] == "visitor"));

    // The photo was fetched with the token and is served to the team's operators.
    let file = &said[1]["attachments"][0];
    assert_eq!(
        (file["name"].as_str(), file["content_type"].as_str(), file["size"].as_u64()),
        (Some("image.jpg"), Some("image/jpeg"), Some(40_000))
    );
    let url = file["url"].as_str().expect("url");
    let fetched = s.raw(reqwest::Method::GET, url).bearer_auth(support::ADMIN).send().await.expect("file");
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["x-content-type-options"], "nosniff");
    assert_eq!(fetched.bytes().await.expect("bytes").as_ref(), photo.as_slice());
    assert_eq!(said[3]["attachments"][0]["name"], "invoice.pdf");
    let missing = &said[4]["attachments"][0];
    assert!(missing["url"].is_null() && missing["dropped"].as_str().is_some_and(|d| d.contains("100")), "{missing}");
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let outsider = s.post("/api/users", json!({"name": "Bob", "role": "agent", "teams": ["sales"]})).await.expect(201);
    let refused = s.raw(reqwest::Method::GET, url).bearer_auth(outsider["token"].as_str().expect("token")).send().await;
    assert_eq!(refused.expect("refused").status(), 404, "another team's operator cannot fetch it");

    // The contact is found or made by number, named by the profile.
    let contact = s.get(&format!("/api/contacts/{}", c["contact"])).await.expect(200);
    assert_eq!(contact["name"], "Olena");
    assert_eq!(contact["phones"][0]["number"], "+380501234567");
    assert!(graph.violations().is_empty(), "{:?}", graph.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_go_out_as_text_and_statuses_land_on_them() {
    let (s, graph, mut anna) = server(json!({})).await;
    assert_eq!(notify(&s, &messages(OLENA, "Olena", json!([text("wamid.in1", "Is it shipped?")]))).await, 200);
    let id = waiting(&mut anna).await[0]["id"].as_u64().expect("id");
    anna.ok(json!({"type": "join", "conversation": id})).await;
    anna.ok(json!({"type": "say", "conversation": id, "body": "Yes, it left today."})).await;
    let sent = eventually("the answer reaches the Graph API", || {
        let graph = graph.clone();
        async move { graph.accepted().pop() }
    })
    .await;
    assert_eq!(
        sent.body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": OLENA, "type": "text", "text": {"preview_url": false, "body": "Yes, it left today."}})
    );
    let answer_of = |frames: &[Value]| frames.iter().find(|m| m["body"] == "Yes, it left today.").cloned();
    let sent_state = eventually("the answer shows as sent", || {
        let s = &s;
        async move { answer_of(&follow(s, id).await).filter(|m| m["delivery"]["state"] == "sent") }
    })
    .await;
    assert_eq!(sent_state["delivery"]["detail"], sent.id);

    let report = |state: &str| json!({"id": sent.id, "status": state, "timestamp": "1796315800", "recipient_id": OLENA, "conversation": {"id": "c1", "origin": {"type": "service"}}, "pricing": {"billable": true, "pricing_model": "CBP", "category": "service"}});
    assert_eq!(notify(&s, &statuses(json!([report("delivered"), report("read")]))).await, 200);
    assert_eq!(notify(&s, &statuses(json!([report("delivered")]))).await, 200, "a late report");
    let read = answer_of(&follow(&s, id).await).expect("answer");
    assert_eq!(
        (read["delivery"]["state"].as_str(), read["delivery"]["detail"].as_str()),
        (Some("read"), Some(sent.id.as_str()))
    );
    // Anna, who joined and follows the conversation, saw the ticks live:
    // each frame shows the state as it then was (a burst may show once),
    // never moving back, ending with read; the late report sent none.
    let seq = read["seq"].clone();
    let mut ticks = Vec::new();
    while ticks.last().map(String::as_str) != Some("read") {
        let tick = tokio::time::timeout(std::time::Duration::from_secs(10), anna.next_of("delivery"))
            .await
            .unwrap_or_else(|_| panic!("a live delivery frame after {ticks:?}"));
        assert_eq!((&tick["conversation"], &tick["seq"]), (&json!(id), &seq), "{tick}");
        assert_eq!(tick["delivery"]["detail"], sent.id, "{tick}");
        ticks.push(tick["delivery"]["state"].as_str().unwrap_or_default().to_owned());
    }
    let rank = |state: &str| ["sent", "delivered", "read"].iter().position(|s| *s == state);
    assert!(ticks.windows(2).all(|w| rank(&w[0]) < rank(&w[1])), "only forward, each once: {ticks:?}");
    let late = tokio::time::timeout(std::time::Duration::from_millis(500), anna.next_of("delivery")).await;
    assert!(late.is_err(), "the late report sent no frame: {late:?}");

    // Graph's errors show on the answer and in the conversation.
    graph.refuse_next(Refusal::Undeliverable);
    anna.ok(json!({"type": "say", "conversation": id, "body": "Are you there?"})).await;
    let failed = eventually("the refusal shows", || {
        let s = &s;
        async move {
            follow(s, id)
                .await
                .into_iter()
                .find(|m| m["body"] == "Are you there?" && m["delivery"]["state"] == "failed")
        }
    })
    .await;
    assert!(failed["delivery"]["detail"].as_str().is_some_and(|d| d.contains("131026")), "{failed}");
    graph.refuse_next(Refusal::ReEngagement);
    anna.ok(json!({"type": "say", "conversation": id, "body": "One more thing"})).await;
    let refused = eventually("the re-engagement refusal shows", || {
        let s = &s;
        async move {
            follow(s, id)
                .await
                .into_iter()
                .find(|m| m["body"] == "One more thing" && m["delivery"]["state"] == "failed")
        }
    })
    .await;
    let why = refused["delivery"]["detail"].as_str().expect("why");
    assert!(why.contains("131047") && why.contains("24 hours"), "{why}");
    graph.refuse_next(Refusal::ExpiredToken);
    anna.ok(json!({"type": "say", "conversation": id, "body": "Hello?"})).await;
    let notice = eventually("the expired token shows", || {
        let s = &s;
        async move {
            follow(s, id)
                .await
                .into_iter()
                .find(|m| m["speaker"]["type"] == "system" && m["body"].as_str().is_some_and(|b| b.contains("(190)")))
        }
    })
    .await;
    assert!(
        notice["body"].as_str().is_some_and(|b| b.starts_with("Not sent over WhatsApp") && b.contains("access token")),
        "{notice}"
    );
    assert!(graph.violations().is_empty(), "{:?}", graph.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_window_the_template_goes_and_without_one_the_operator_is_told() {
    let template =
        json!({"template": {"name": "order_update", "language": "uk", "parameters": ["contact.name", "message"]}});
    for with_template in [false, true] {
        let (s, graph, mut anna) = server(if with_template { template.clone() } else { json!({}) }).await;
        assert_eq!(notify(&s, &messages(OLENA, "Olena", json!([text("wamid.in1", "Hello")]))).await, 200);
        let id = waiting(&mut anna).await[0]["id"].as_u64().expect("id");
        anna.ok(json!({"type": "join", "conversation": id})).await;
        s.clock.advance(SignedDuration::from_hours(25));
        anna.ok(json!({"type": "say", "conversation": id, "body": "Your parcel is at the post office."})).await;
        if with_template {
            let sent = eventually("the template goes", || {
                let graph = graph.clone();
                async move { graph.accepted().pop() }
            })
            .await;
            assert_eq!(
                sent.body["template"],
                json!({"name": "order_update", "language": {"code": "uk"}, "components": [{"type": "body", "parameters": [{"type": "text", "text": "Olena"}, {"type": "text", "text": "Your parcel is at the post office."}]}]})
            );
            let notice = eventually("the operator is told", || {
                let s = &s;
                async move {
                    follow(s, id)
                        .await
                        .into_iter()
                        .find(|m| m["body"].as_str().is_some_and(|b| b.contains("template \"order_update\"")))
                }
            })
            .await;
            assert_eq!(notice["speaker"]["type"], "system");
        } else {
            let failed = eventually("the operator is told why", || {
                let s = &s;
                async move { follow(s, id).await.into_iter().find(|m| m["delivery"]["state"] == "failed") }
            })
            .await;
            let why = failed["delivery"]["detail"].as_str().expect("why");
            assert!(why.contains("24 hours") && why.contains("template"), "{why}");
            assert_eq!(graph.requests(), 0, "no free text is tried outside the window");
            // Inside the window again once the customer writes, text goes.
            assert_eq!(notify(&s, &messages(OLENA, "Olena", json!([text("wamid.in2", "I am back")]))).await, 200);
            anna.ok(json!({"type": "say", "conversation": id, "body": "Welcome back!"})).await;
            let sent = eventually("text goes again", || {
                let graph = graph.clone();
                async move { graph.accepted().pop() }
            })
            .await;
            assert_eq!(sent.body["text"]["body"], "Welcome back!");
        }
        assert!(graph.violations().is_empty(), "{:?}", graph.violations());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_ticket_makes_a_ticket_whose_replies_go_over_whatsapp() {
    let (s, graph, mut anna) = server(json!({})).await;
    assert_eq!(notify(&s, &messages(OLENA, "Olena", json!([text("wamid.in1", "The charger broke")]))).await, 200);
    let id = waiting(&mut anna).await[0]["id"].as_u64().expect("id");
    anna.ok(json!({"type": "join", "conversation": id})).await;
    anna.ok(json!({"type": "say", "conversation": id, "body": "/ticket Broken charger"})).await;
    let ticket = eventually("the ticket is made", || {
        let s = &s;
        async move { s.tickets("care").await.pop() }
    })
    .await;
    assert_eq!((ticket["title"].as_str(), ticket["origin"].as_str()), (Some("Broken charger"), Some("whatsapp")));
    assert!(ticket["description"].as_str().is_some_and(|d| d.contains("The charger broke")), "{ticket}");
    let contact = s.get(&format!("/api/contacts/{}", ticket["contact_id"])).await.expect(200);
    assert_eq!(contact["phones"][0]["number"], "+380501234567");
    assert_eq!(graph.requests(), 0, "a command is not sent to the customer");

    let number = ticket["id"].as_u64().expect("id");
    let reply = s
        .post(
            &format!("/api/tickets/{number}/messages"),
            json!({"kind": "reply", "body": "A new charger is on its way."}),
        )
        .await
        .expect(201);
    let sent = eventually("the reply goes over WhatsApp", || {
        let graph = graph.clone();
        async move { graph.accepted().pop() }
    })
    .await;
    assert_eq!(
        (sent.body["to"].as_str(), sent.body["text"]["body"].as_str()),
        (Some(OLENA), Some("A new charger is on its way."))
    );
    let entry = reply["id"].as_u64().expect("entry");
    let state_of = |entry: u64, state: &'static str| {
        let s = &s;
        async move {
            let thread = s.get(&format!("/api/tickets/{number}/messages")).await.expect(200);
            thread.as_array()?.iter().find(|m| m["id"] == entry && m["delivery"]["state"] == state).cloned()
        }
    };
    let shown = eventually("the reply shows as sent", || state_of(entry, "sent")).await;
    assert_eq!(shown["delivery"]["detail"], sent.id, "under WhatsApp's id");
    for status in ["delivered", "read", "delivered"] {
        let report = json!([{"id": sent.id, "status": status, "timestamp": "1796315900", "recipient_id": OLENA}]);
        assert_eq!(notify(&s, &statuses(report)).await, 200);
    }
    let read = eventually("the reply shows as read", || state_of(entry, "read")).await;
    assert_eq!(read["delivery"]["detail"], sent.id, "the late \"delivered\" changed nothing");

    let second = s
        .post(&format!("/api/tickets/{number}/messages"), json!({"kind": "reply", "body": "Did it arrive?"}))
        .await
        .expect(201);
    let second_sent = eventually("the second reply goes over WhatsApp", || {
        let graph = graph.clone();
        async move { graph.accepted().into_iter().find(|r| r.body["text"]["body"] == "Did it arrive?") }
    })
    .await;
    let second = second["id"].as_u64().expect("entry");
    eventually("the second reply shows as sent", || state_of(second, "sent")).await;
    let failed = json!([{"id": second_sent.id, "status": "failed", "timestamp": "1796315900", "recipient_id": OLENA,
        "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable", "error_data": {"details": "Message Undeliverable."}}]}]);
    assert_eq!(notify(&s, &statuses(failed)).await, 200);
    let failed = eventually("the failure shows on the reply", || state_of(second, "failed")).await;
    assert!(failed["delivery"]["detail"].as_str().is_some_and(|d| d.contains("131026")), "{failed}");
    let read = state_of(entry, "read").await;
    assert!(read.is_some(), "the first reply is still read");
    assert!(graph.violations().is_empty(), "{:?}", graph.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_meta_passes_the_installations_own_rate_limit() {
    let (s, graph, mut anna) = server(json!({})).await;
    let mut sent = Vec::new();
    // 100 customers at once: more than the server's default burst, and
    // what one operator's list shows.
    for i in 0..100 {
        let body = messages(
            &format!("3805000{i:05}"),
            "Customer",
            json!([{"from": format!("3805000{i:05}"), "id": format!("wamid.burst{i}"), "timestamp": "1796315729", "type": "text", "text": {"body": "Hi"}}]),
        );
        let s = &s;
        sent.push(async move { notify(s, &body).await });
    }
    let statuses = futures_util::future::join_all(sent).await;
    assert!(statuses.iter().all(|&st| st == 200), "{statuses:?}");
    assert_eq!(waiting(&mut anna).await.len(), 100);
    // Under the server's default (20 a second, bursts of 40) the same
    // burst is partly refused: the installation's limits let it through.
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let body =
        json!({"settings": settings(&graph, json!({})), "grants": GRANTS, "declined": ["http:lookaside.fbsbx.com"]});
    s.put("/api/teams/sales/plugins/whatsapp", body).await.expect(201);
    let mut sent = Vec::new();
    for i in 0..120 {
        let body = messages(
            "380509999999",
            "Customer",
            json!([{"from": "380509999999", "id": format!("wamid.sales{i}"), "timestamp": "1796315729", "type": "text", "text": {"body": "Hi"}}]),
        );
        let raw = body.to_string();
        let request = s
            .raw(reqwest::Method::POST, "/c/sales/whatsapp/")
            .header("x-hub-signature-256", signature(raw.as_bytes()))
            .body(raw);
        sent.push(async move { request.send().await.expect("webhook").status().as_u16() });
    }
    let statuses = futures_util::future::join_all(sent).await;
    assert!(statuses.contains(&429), "the default limit refuses part of a burst: {statuses:?}");
}
