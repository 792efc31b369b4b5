//! The channel against the SDK's fake host: verification, signatures,
//! every message type, duplicates, files, delivery reports, answers inside
//! and outside the 24-hour window, `/ticket` and ticket replies.

use serde_json::{Value, json};
use switchboard_sdk::chat::{
    ChatEvent, ChatMessage, Command, Delivery, Expect, NewPost, Operator, Poster, Reply, Speaker,
};
use switchboard_sdk::host::{conversations, digest, http, secrets, tickets};
use switchboard_sdk::http::{Request, Response};
use switchboard_sdk::testing::FakeHost;
use switchboard_sdk::types::{AttachmentContent, Message, MessageKind};
use switchboard_sdk::{Channel, ChatChannel};

use crate::webhook::{decode, render};
use crate::{Settings, WhatsApp};

const NUMBER_ID: &str = "106540352242922";
const GRAPH: &str = "https://graph.example";

fn host() -> FakeHost {
    let host = FakeHost::start();
    host.secret("app_secret", "s3cret").secret("access_token", "EAAG-token").secret("verify_token", "let-me-in");
    host
}

fn settings(extra: Value) -> Settings {
    let mut s = json!({"phone_number_id": NUMBER_ID, "graph_url": GRAPH, "channel": "Care"});
    if let (Some(s), Some(extra)) = (s.as_object_mut(), extra.as_object()) {
        s.extend(extra.clone());
    }
    serde_json::from_value(s).expect("settings")
}

fn request(method: &str, query: &str, headers: Vec<(String, String)>, body: &[u8]) -> Request {
    Request {
        method: method.into(),
        path: "/".into(),
        query: query.into(),
        headers,
        body: body.to_vec(),
        client_addr: "173.252.88.1".into(),
    }
}

fn signed(body: &Value) -> Request {
    let body = body.to_string().into_bytes();
    let mac = secrets::hmac_sha256("app_secret", &body).expect("mac");
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    request("POST", "", vec![("x-hub-signature-256".into(), format!("sha256={hex}"))], &body)
}

fn post(body: &Value) -> Response {
    WhatsApp::handle_http(settings(json!({})), signed(body)).expect("handled")
}

/// A notification carrying `messages` from +380501234567 (Olena).
fn messages(list: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": NUMBER_ID},
        "contacts": [{"profile": {"name": "Olena"}, "wa_id": "380501234567"}],
        "messages": list,
    }}]}]})
}

fn text(id: &str, body: &str, timestamp: i64) -> Value {
    json!({"from": "380501234567", "id": id, "timestamp": timestamp.to_string(), "type": "text", "text": {"body": body}})
}

fn statuses(list: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER_ID}, "statuses": list,
    }}]}]})
}

/// A Graph API answer with a JSON body.
fn graph_json(status: u16, body: Value) -> http::Response {
    http::Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

fn sent_ok(id: &str) -> http::Response {
    graph_json(
        200,
        json!({"messaging_product": "whatsapp", "contacts": [{"input": "380501234567", "wa_id": "380501234567"}], "messages": [{"id": id}]}),
    )
}

fn operator_says(host: &FakeHost, id: u64, body: &str, at: &str) -> ChatMessage {
    host.operator_joins(id, 3, "Anna");
    let post = NewPost { poster: Poster::Operator(3), body: body.into(), expect: Expect::Text };
    let seq = conversations::post(id, &post).expect("the operator speaks");
    // The event carries the time the host gave the message.
    ChatMessage {
        seq,
        speaker: Speaker::Operator(Operator { user: 3, name: "Anna".into() }),
        body: body.into(),
        expect: Expect::Text,
        at: at.into(),
    }
}

#[test]
fn verification_answers_the_challenge_only_to_the_right_token() {
    let _host = host();
    let verify =
        |query: &str| WhatsApp::handle_http(settings(json!({})), request("GET", query, vec![], b"")).expect("handled");
    let ok = verify("hub.mode=subscribe&hub.verify_token=let-me-in&hub.challenge=1158201444");
    assert_eq!((ok.status, ok.body.as_slice()), (200, &b"1158201444"[..]));
    assert!(ok.headers.iter().any(|(n, v)| n == "content-type" && v.starts_with("text/plain")));
    for bad in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=let-me-in&hub.challenge=1",
        "hub.verify_token=let-me-in&hub.challenge=1",
        "hub.mode=subscribe&hub.verify_token=let-me-in&hub.challenge=%3Cscript%3E",
        "",
    ] {
        assert_eq!(verify(bad).status, 403, "{bad}");
    }
    let unset = FakeHost::start();
    let _ = &unset;
    assert_eq!(
        verify("hub.mode=subscribe&hub.verify_token=&hub.challenge=1").status,
        403,
        "no token set, nothing matches"
    );
}

#[test]
fn an_unsigned_or_wrongly_signed_notification_is_refused_and_nothing_is_kept() {
    let host = host();
    let body = messages(json!([text("wamid.A", "Hello", 1_767_225_600)]));
    let mut unsigned = signed(&body);
    unsigned.headers.clear();
    let mut wrong = signed(&body);
    wrong.headers[0].1 = format!("sha256={}", "0".repeat(64));
    let mut tampered = signed(&body);
    tampered.body.extend_from_slice(b" ");
    let mut short = signed(&body);
    short.headers[0].1 = "sha256=abc".into();
    for (what, r) in [("unsigned", unsigned), ("wrong", wrong), ("tampered", tampered), ("short", short)] {
        let answer = WhatsApp::handle_http(settings(json!({})), r).expect("handled");
        assert_eq!(answer.status, 401, "{what}");
    }
    assert!(host.chats().is_empty(), "nothing was kept");
    let no_secret = FakeHost::start();
    let r = WhatsApp::handle_http(settings(json!({})), signed_without_secret(&body)).expect("handled");
    assert_eq!(r.status, 401, "without an app secret nothing passes");
    assert!(no_secret.chats().is_empty());
}

fn signed_without_secret(body: &Value) -> Request {
    request(
        "POST",
        "",
        vec![("x-hub-signature-256".into(), format!("sha256={}", "ab".repeat(32)))],
        body.to_string().as_bytes(),
    )
}

#[test]
fn a_message_joins_the_customers_conversation_once_and_names_the_contact() {
    let host = host();
    assert_eq!(post(&messages(json!([text("wamid.A", "Hello", 1_767_225_600)]))).status, 200);
    assert_eq!(post(&messages(json!([text("wamid.A", "Hello", 1_767_225_600)]))).status, 200, "Meta's retry");
    assert_eq!(post(&messages(json!([text("wamid.B", "Where is my order?", 1_767_225_660)]))).status, 200);
    let chats = host.chats();
    assert_eq!(chats.len(), 1, "one conversation per number");
    let said: Vec<String> = host.chat_messages(chats[0].id).iter().map(|m| m.body.clone()).collect();
    assert_eq!(said, ["Hello", "Where is my order?"], "the retry added nothing");
    assert_eq!(chats[0].channel, "Care");
    let inbound = host.inbound(chats[0].id, 1).expect("inbound");
    assert_eq!((inbound.customer.as_str(), inbound.key.as_str()), ("+380501234567", "wamid.A"));
    assert!(chats[0].contact.is_some(), "the contact is found or made by number");
}

#[test]
fn notifications_for_another_number_are_left_alone() {
    let host = host();
    let mut other = messages(json!([text("wamid.A", "Hello", 1)]));
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999");
    assert_eq!(post(&other).status, 200);
    assert!(host.chats().is_empty());
}

#[test]
fn a_body_that_is_no_notification_is_a_400() {
    let _host = host();
    for body in [json!({"object": "page", "entry": []}), json!([1, 2]), json!("x")] {
        assert_eq!(post(&body).status, 400, "{body}");
    }
}

#[test]
fn every_message_type_reads_as_text() {
    let cases = [
        (json!({"type": "text", "text": {"body": "Hi"}}), "Hi"),
        (
            json!({"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg", "caption": "my parcel"}}),
            "[image] my parcel",
        ),
        (
            json!({"type": "audio", "audio": {"id": "m2", "mime_type": "audio/ogg; codecs=opus", "voice": true}}),
            "[voice message]",
        ),
        (json!({"type": "video", "video": {"id": "m3", "mime_type": "video/mp4"}}), "[video]"),
        (
            json!({"type": "document", "document": {"id": "m4", "mime_type": "application/pdf", "filename": "invoice.pdf", "caption": "see"}}),
            "[document: invoice.pdf] see",
        ),
        (
            json!({"type": "sticker", "sticker": {"id": "m5", "mime_type": "image/webp", "animated": false}}),
            "[sticker]",
        ),
        (
            json!({"type": "location", "location": {"latitude": 50.4501, "longitude": 30.5234, "name": "Office", "address": "Khreshchatyk 1"}}),
            "[location] Office, Khreshchatyk 1 (50.4501, 30.5234) https://maps.google.com/?q=50.4501,30.5234",
        ),
        (
            json!({"type": "contacts", "contacts": [{"name": {"formatted_name": "Ivan Petrenko"}, "phones": [{"phone": "+380671112233", "type": "CELL"}], "emails": [{"email": "ivan@example.com"}]}]}),
            "[contact] Ivan Petrenko: +380671112233, ivan@example.com",
        ),
        (
            json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes, please"}}}),
            "[button] Yes, please",
        ),
        (
            json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Refund", "description": "Money back"}}}),
            "[list] Refund (Money back)",
        ),
        (
            json!({"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}}),
            "[button] Stop promotions",
        ),
        (
            json!({"type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}}),
            "[reaction] 👍 to message wamid.OUT",
        ),
        (json!({"type": "reaction", "reaction": {"message_id": "wamid.OUT"}}), "[reaction removed]"),
        (
            json!({"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}]}),
            "[unsupported message of type \"unsupported\": 131051 Message type unknown: Message type is currently not supported.]",
        ),
        (json!({"type": "order", "order": {}}), "[unsupported message of type \"order\"]"),
    ];
    for (message, shown) in cases {
        let kind = message["type"].as_str().expect("type");
        assert_eq!(render(kind, &message).0, shown, "{kind}");
    }
    let (_, media) = render(
        "document",
        &json!({"document": {"id": "m4", "mime_type": "application/pdf", "filename": "../../etc/passwd"}}),
    );
    assert_eq!(media.expect("media").filename, ".._.._etc_passwd", "no path in a file name");
    let (_, media) = render("image", &json!({"image": {"id": "m1", "mime_type": "image/jpeg"}}));
    assert_eq!(media.expect("media").filename, "image.jpg");
}

#[test]
fn decoding_keeps_what_it_can_and_lists_what_it_left_out() {
    let body = messages(json!([
        {"from": "380501234567", "id": "wamid.A", "timestamp": "1", "type": "text", "text": {"body": "ok"}},
        {"from": "+380501234567", "id": "wamid.B", "timestamp": "1", "type": "text", "text": {"body": "bad sender"}},
        {"from": "380501234567", "timestamp": "1", "type": "text", "text": {"body": "no id"}},
    ]));
    let n = decode(body.to_string().as_bytes()).expect("decoded");
    assert_eq!(n.changes[0].messages.len(), 1);
    assert_eq!(n.skipped.len(), 2, "{:?}", n.skipped);
    assert_eq!(n.changes[0].profiles, [("380501234567".to_owned(), "Olena".to_owned())]);
    assert!(decode(b"not json").is_err());
    let long = "x".repeat(5_000);
    let n = decode(messages(json!([text("wamid.L", &long, 1)])).to_string().as_bytes()).expect("decoded");
    assert_eq!(n.changes[0].messages[0].text.chars().count(), 4_000, "cut to what a message holds");
}

#[test]
fn a_photo_is_fetched_through_the_graph_api_and_kept() {
    let host = host();
    let photo = vec![7u8; 3_000];
    let sum: String = digest::sha256(&photo).iter().map(|b| format!("{b:02x}")).collect();
    host.answer("GET", &format!("{GRAPH}/v21.0/m1"), graph_json(200, json!({"messaging_product": "whatsapp", "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=m1", "mime_type": "image/jpeg", "sha256": sum, "file_size": 3000, "id": "m1"})));
    host.answer(
        "GET",
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=m1",
        http::Response { status: 200, headers: vec![], body: photo.clone() },
    );
    host.answer("GET", &format!("{GRAPH}/v21.0/m2"), graph_json(200, json!({"url": "https://lookaside.fbsbx.com/x?mid=m2", "mime_type": "video/mp4", "file_size": "90000000", "id": "m2"})));
    let image = json!({"from": "380501234567", "id": "wamid.I", "timestamp": "1", "type": "image", "image": {"id": "m1", "mime_type": "image/jpeg", "caption": "broken"}});
    let video = json!({"from": "380501234567", "id": "wamid.V", "timestamp": "2", "type": "video", "video": {"id": "m2", "mime_type": "video/mp4"}});
    assert_eq!(post(&messages(json!([image, video]))).status, 200);
    let id = host.chats()[0].id;
    let kept = host.inbound(id, 1).expect("image");
    assert_eq!(kept.body, "[image] broken");
    assert!(matches!(&kept.attachments[0].content, AttachmentContent::Kept(b) if *b == photo));
    assert_eq!(kept.attachments[0].name, "image.jpg");
    let dropped = host.inbound(id, 2).expect("video");
    assert!(
        matches!(&dropped.attachments[0].content, AttachmentContent::Dropped(d) if d.size == 90_000_000 && d.reason.contains("cap"))
    );
    let auth: Vec<bool> =
        host.sent().iter().map(|r| r.headers.contains(&("authorization".into(), "Bearer EAAG-token".into()))).collect();
    assert_eq!(auth, [true, true, true], "every Graph API request carries the token");
}

#[test]
fn a_file_whose_checksum_does_not_hold_is_listed_not_kept() {
    let host = host();
    host.answer("GET", &format!("{GRAPH}/v21.0/m1"), graph_json(200, json!({"url": "https://lookaside.fbsbx.com/x?mid=m1", "mime_type": "image/png", "sha256": "00", "file_size": 3, "id": "m1"})));
    host.answer(
        "GET",
        "https://lookaside.fbsbx.com/x?mid=m1",
        http::Response { status: 200, headers: vec![], body: vec![1, 2, 3] },
    );
    let image = json!({"from": "380501234567", "id": "wamid.I", "timestamp": "1", "type": "image", "image": {"id": "m1", "mime_type": "image/png"}});
    assert_eq!(post(&messages(json!([image]))).status, 200);
    let kept = host.inbound(host.chats()[0].id, 1).expect("image");
    assert!(
        matches!(&kept.attachments[0].content, AttachmentContent::Dropped(d) if d.reason.contains("checksum")),
        "{:?}",
        kept.attachments
    );
}

#[test]
fn a_file_that_cannot_be_fetched_now_asks_meta_to_deliver_again() {
    let host = host();
    host.answer(
        "GET",
        &format!("{GRAPH}/v21.0/m1"),
        graph_json(503, json!({"error": {"message": "Service temporarily unavailable", "code": 2}})),
    );
    let image = json!({"from": "380501234567", "id": "wamid.I", "timestamp": "1", "type": "image", "image": {"id": "m1", "mime_type": "image/jpeg"}});
    let err = WhatsApp::handle_http(settings(json!({})), signed(&messages(json!([image])))).expect_err("retry");
    assert!(matches!(err, switchboard_sdk::PluginError::Transient(_)), "{err:?}");
    assert!(host.chats().is_empty(), "nothing half-kept");
}

#[test]
fn an_answer_inside_the_window_goes_as_text_and_statuses_follow_it() {
    let host = host();
    // The fake host stamps messages at 2026-01-01T00:00:00Z.
    post(&messages(json!([text("wamid.A", "Hello", 1_767_225_600)])));
    let c = host.chats()[0].clone();
    host.answer("POST", &format!("{GRAPH}/v21.0/{NUMBER_ID}/messages"), sent_ok("wamid.OUT1"));
    let said = operator_says(&host, c.id, "It ships today", "2026-01-01T10:00:00Z");
    WhatsApp::handle_chat(settings(json!({})), host.chat(c.id), ChatEvent::OperatorMessage(said.clone()))
        .expect("sent");
    let request = host.sent().pop().expect("request");
    let body: Value = serde_json::from_slice(&request.body).expect("json");
    assert_eq!(
        body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "380501234567", "type": "text", "text": {"preview_url": false, "body": "It ships today"}})
    );
    assert_eq!(host.delivery(c.id, said.seq), Some(Delivery::Sent("wamid.OUT1".into())));
    post(&statuses(json!([{"id": "wamid.OUT1", "status": "read", "timestamp": "2", "recipient_id": "380501234567"}])));
    assert_eq!(host.delivery(c.id, said.seq), Some(Delivery::Read));
    post(&statuses(
        json!([{"id": "wamid.OUT1", "status": "delivered", "timestamp": "1", "recipient_id": "380501234567"}]),
    ));
    assert_eq!(host.delivery(c.id, said.seq), Some(Delivery::Read), "a late report does not undo read");
    post(&statuses(json!([{"id": "wamid.UNKNOWN", "status": "read"}])));
}

#[test]
fn a_failed_status_and_a_graph_error_show_why() {
    let host = host();
    post(&messages(json!([text("wamid.A", "Hello", 1)])));
    let c = host.chats()[0].clone();
    host.answer("POST", &format!("{GRAPH}/v21.0/{NUMBER_ID}/messages"), sent_ok("wamid.OUT1"));
    let said = operator_says(&host, c.id, "Hi", "2026-01-01T00:05:00Z");
    WhatsApp::handle_chat(settings(json!({})), host.chat(c.id), ChatEvent::OperatorMessage(said.clone()))
        .expect("sent");
    post(&statuses(
        json!([{"id": "wamid.OUT1", "status": "failed", "timestamp": "2", "recipient_id": "380501234567", "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable", "error_data": {"details": "Message Undeliverable."}}]}]),
    ));
    assert_eq!(
        host.delivery(c.id, said.seq),
        Some(Delivery::Failed("131026 Message undeliverable: Message Undeliverable.".into()))
    );
    host.answer("POST", &format!("{GRAPH}/v21.0/{NUMBER_ID}/messages"), graph_json(401, json!({"error": {"message": "Error validating access token: Session has expired on Friday.", "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "A1"}})));
    let again = operator_says(&host, c.id, "Still there?", "2026-01-01T00:06:00Z");
    WhatsApp::handle_chat(settings(json!({})), host.chat(c.id), ChatEvent::OperatorMessage(again.clone()))
        .expect("handled");
    let Some(Delivery::Failed(why)) = host.delivery(c.id, again.seq) else { panic!("failed") };
    assert!(why.contains("(190)") && why.contains("access token"), "{why}");
    let notice = host.chat_messages(c.id).pop().expect("notice");
    assert_eq!(notice.speaker, Speaker::System);
    assert!(notice.body.starts_with("Not sent over WhatsApp") && notice.body.contains("190"), "{}", notice.body);
}

#[test]
fn outside_the_window_the_template_goes_or_the_operator_is_told_why_not() {
    let host = host();
    post(&messages(json!([text("wamid.A", "Hello", 1)])));
    let c = host.chats()[0].clone();
    let said = operator_says(&host, c.id, "Any news?", "2026-01-02T00:00:01Z");
    WhatsApp::handle_chat(settings(json!({})), host.chat(c.id), ChatEvent::OperatorMessage(said.clone()))
        .expect("handled");
    assert!(host.sent().is_empty(), "no free text outside the window");
    let Some(Delivery::Failed(why)) = host.delivery(c.id, said.seq) else { panic!("failed") };
    assert!(why.contains("24 hours") && why.contains("template"), "{why}");
    host.answer("POST", &format!("{GRAPH}/v21.0/{NUMBER_ID}/messages"), sent_ok("wamid.T1"));
    let with_template = settings(
        json!({"template": {"name": "follow_up", "language": "uk", "parameters": ["contact.name", "message"]}}),
    );
    let later = operator_says(&host, c.id, "Your parcel arrived", "2026-01-03T00:00:00Z");
    WhatsApp::handle_chat(with_template, host.chat(c.id), ChatEvent::OperatorMessage(later.clone())).expect("sent");
    let body: Value = serde_json::from_slice(&host.sent().pop().expect("sent").body).expect("json");
    assert_eq!(
        body,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "380501234567", "type": "template", "template": {"name": "follow_up", "language": {"code": "uk"}, "components": [{"type": "body", "parameters": [{"type": "text", "text": "Olena"}, {"type": "text", "text": "Your parcel arrived"}]}]}})
    );
    assert_eq!(host.delivery(c.id, later.seq), Some(Delivery::Sent("wamid.T1".into())));
    assert!(host.chat_messages(c.id).pop().expect("notice").body.contains("template \"follow_up\""));
}

#[test]
fn slash_ticket_makes_a_ticket_and_replies_on_it_go_over_whatsapp() {
    let host = host();
    post(&messages(json!([text("wamid.A", "My order is late", 1)])));
    let c = host.chats()[0].clone();
    let by = Operator { user: 3, name: "Anna".into() };
    let command = Command { name: "ticket".into(), args: "Late order".into(), by };
    WhatsApp::handle_chat(settings(json!({})), host.chat(c.id), ChatEvent::Command(command)).expect("ticket");
    let ticket = host.tickets().pop().expect("ticket");
    assert_eq!(ticket.title, "Late order");
    host.answer("POST", &format!("{GRAPH}/v21.0/{NUMBER_ID}/messages"), sent_ok("wamid.R1"));
    let entry = tickets::append_message(ticket.id, MessageKind::Reply, "Refund is on its way").expect("entry").id;
    let reply = Reply {
        ticket: ticket.clone(),
        contact: None,
        message: Message {
            id: entry,
            kind: MessageKind::Reply,
            author: "Anna".into(),
            body: "Refund is on its way".into(),
            created_at: "2026-01-01T01:00:00Z".into(),
        },
        team_name: "Care".into(),
        team_address: "care@example.com".into(),
        thread_keys: vec![format!("conversation:{}", c.id)],
    };
    WhatsApp::deliver_reply(settings(json!({})), reply.clone()).expect("delivered");
    let body: Value = serde_json::from_slice(&host.sent().pop().expect("sent").body).expect("json");
    assert_eq!(
        (body["to"].as_str(), body["text"]["body"].as_str()),
        (Some("380501234567"), Some("Refund is on its way"))
    );
    assert_eq!(host.entry_delivery(ticket.id, entry), Some(Delivery::Sent("wamid.R1".into())));
    post(&statuses(json!([{"id": "wamid.R1", "status": "delivered"}])));
    assert_eq!(host.entry_delivery(ticket.id, entry), Some(Delivery::Delivered));
    post(&statuses(
        json!([{"id": "wamid.R1", "status": "failed", "errors": [{"code": 131047, "title": "Re-engagement message"}]}]),
    ));
    let failed = host.entry_delivery(ticket.id, entry);
    assert!(matches!(&failed, Some(Delivery::Failed(why)) if why.contains("131047")), "{failed:?}");
    let mut late = reply;
    late.message.created_at = "2026-01-05T00:00:00Z".into();
    let err = WhatsApp::deliver_reply(settings(json!({})), late).expect_err("outside the window");
    assert!(matches!(&err, switchboard_sdk::PluginError::Permanent(w) if w.contains("24 hours")), "{err:?}");
}

#[test]
fn arbitrary_bytes_never_panic_and_a_second_delivery_adds_nothing() {
    for body in [
        &b""[..],
        b"{}",
        b"{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"value\":{\"messages\":[{}]}}]}]}",
        b"\xff\xfe",
    ] {
        crate::fuzz_notification(body);
    }
    crate::fuzz_notification(
        messages(json!([text("wamid.A", "Hello", 1), text("wamid.A", "Hello", 1)])).to_string().as_bytes(),
    );
}
