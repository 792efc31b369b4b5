//! Live chat end to end, over real websockets to a running server with
//! the shipped `live-chat` plugin: the chatbot with its conditions,
//! forwarding to an operator (and with nobody online, also once an
//! operator has been idle for 30 minutes), `/ticket` with the transcript,
//! resuming without loss, and what a visitor or operator may not reach.

mod chat_kit;
mod support;

use jiff::SignedDuration;
use serde_json::{Value, json};

use chat_kit::Client;
use support::Server;

/// A channel with the shop's script on `/shop` pages.
fn settings() -> Value {
    json!({
        "channels": [{"name": "Care", "rules": [
            {"url": "^/shop", "script": "shop"},
            {"display": "show"}
        ]}],
        "scripts": {
            "shop": [
                {"message": "Hi! I am the shop's bot.", "type": "text"},
                {"id": "topic", "message": "What is it about?", "type": "question", "answers": ["Order", "Refund"]},
                {"id": "mail", "message": "Your e-mail, please?", "type": "email", "only_if": {"topic": ["Refund"]}},
                {"message": "Which order number?", "type": "free_input_line", "only_if": {"topic": ["Order"]}},
                {"message": "Connecting you to an operator.", "type": "forward_to_operator"},
                {"message": "Nobody is online; I made a ticket for you.", "type": "create_ticket"},
                {"message": "We will write to you soon.", "type": "text"}
            ]
        }
    })
}

/// A server shipping its plugins, with team "care" and live chat enabled.
async fn server() -> Server {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    s.enable("care", "live-chat", settings(), &["chat", "tickets", "storage", "timers"]).await.expect(201);
    s.enable("sales", "live-chat", json!({}), &["chat", "tickets", "storage", "timers"]).await.expect(201);
    s
}

/// An agent of `teams`; returns their token.
async fn agent(s: &Server, name: &str, teams: &[&str]) -> String {
    let created = s.post("/api/users", json!({"name": name, "role": "agent", "teams": teams})).await.expect(201);
    created["token"].as_str().expect("token").to_owned()
}

/// The bot's lines of a visitor's conversation, read until `last`.
async fn bot_until(visitor: &mut Client, last: &str) -> Vec<String> {
    let frames = visitor.messages_until(|m| m["body"] == last).await;
    Client::bot_lines(&frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_follows_only_if_branches_and_with_nobody_online_makes_a_ticket() {
    let s = server().await;
    let mut visitor = Client::visitor(&s.base, "care").await;
    let welcome = visitor.start("Care", "https://shop.example/shop/cart", "en").await;
    assert_eq!(welcome["state"], "bot");
    assert!(welcome["token"].as_str().is_some_and(|t| t.len() >= 32), "{welcome}");
    let id = welcome["conversation"].as_u64().expect("id");

    let said = bot_until(&mut visitor, "What is it about?").await;
    assert_eq!(said, ["Hi! I am the shop's bot.", "What is it about?"]);
    visitor.say("Something else").await;
    let again = visitor.messages_until(|m| m["speaker"]["type"] == "bot").await;
    let asked = again.last().expect("asked again");
    assert_eq!(asked["body"], "Please choose one of the answers.");
    assert_eq!(asked["expect"], json!({"type": "choice", "answers": ["Order", "Refund"]}));

    visitor.say("Refund").await;
    bot_until(&mut visitor, "Your e-mail, please?").await;
    visitor.say("ann@example.com").await;
    let rest = visitor.messages_until(|m| m["body"] == "We will write to you soon.").await;
    let lines = Client::bot_lines(&rest);
    assert!(!lines.iter().any(|l| l == "Which order number?"), "the order step is only for orders: {lines:?}");
    assert!(!lines.iter().any(|l| l == "Connecting you to an operator."), "nobody is online: {lines:?}");
    let made = rest
        .iter()
        .find(|m| m["speaker"]["type"] == "system" && m["body"].as_str().is_some_and(|b| b.contains("Ticket #")));
    assert!(made.is_some(), "the conversation shows the ticket: {rest:?}");

    let tickets = s.tickets("care").await;
    assert_eq!(tickets.len(), 1);
    let ticket = &tickets[0];
    assert_eq!(ticket["origin"], "live-chat");
    let description = ticket["description"].as_str().expect("description");
    assert!(description.contains("Bot: What is it about?") && description.contains("Visitor: Refund"), "{description}");
    let contact = s.get(&format!("/api/contacts/{}", ticket["contact_id"])).await.expect(200);
    assert_eq!(contact["emails"][0]["address"], "ann@example.com");
    let state = visitor.next_where(|f| f["type"] == "state" && f["state"] == "waiting").await;
    assert_eq!(state["conversation"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_reaches_an_online_operator_who_talks_and_makes_a_ticket() {
    let s = server().await;
    let token = agent(&s, "Anna", &["care"]).await;
    let mut anna = Client::operator(&s.base, &token).await;
    anna.ok(json!({"type": "online", "team": "care", "channel": "Care", "name": "Anna K."})).await;
    anna.ok(json!({"type": "watch", "team": "care"})).await;
    anna.next_of("conversations").await;

    let mut visitor = Client::visitor(&s.base, "care").await;
    let id = visitor.start("Care", "https://shop.example/shop", "en").await["conversation"].as_u64().expect("id");
    bot_until(&mut visitor, "What is it about?").await;
    visitor.say("Order").await;
    bot_until(&mut visitor, "Which order number?").await;
    visitor.say("A-1042").await;
    bot_until(&mut visitor, "Connecting you to an operator.").await;
    anna.next_where(|f| {
        f["type"] == "conversation" && f["conversation"]["id"] == id && f["conversation"]["state"] == "waiting"
    })
    .await;

    anna.ok(json!({"type": "join", "conversation": id})).await;
    let joined = visitor.next_where(|f| f["type"] == "message" && f["body"] == "Anna K. joined").await;
    assert_eq!(joined["speaker"]["type"], "system");
    anna.ok(json!({"type": "say", "conversation": id, "body": "Hello, I see order A-1042."})).await;
    let heard = visitor.next_where(|f| f["type"] == "message" && f["speaker"]["type"] == "operator").await;
    assert_eq!(
        (heard["speaker"]["name"].as_str(), heard["body"].as_str()),
        (Some("Anna K."), Some("Hello, I see order A-1042."))
    );
    visitor.say("Thanks! It never arrived.").await;
    let from_visitor = anna.next_where(|f| f["type"] == "message" && f["body"] == "Thanks! It never arrived.").await;
    assert_eq!(from_visitor["speaker"]["type"], "visitor");

    let answer = anna.request(json!({"type": "say", "conversation": id, "body": "/ticket Parcel A-1042 lost"})).await;
    assert_eq!(answer["type"], "ok", "{answer}");
    let note = visitor
        .next_where(|f| f["type"] == "message" && f["body"].as_str().is_some_and(|b| b.starts_with("Ticket #")))
        .await;
    let tickets = s.tickets("care").await;
    assert_eq!(tickets.len(), 1, "the script stopped at the hand-over; /ticket made one");
    assert_eq!(tickets[0]["title"], "Parcel A-1042 lost");
    assert!(note["body"].as_str().is_some_and(|b| b.contains(&format!("#{}", tickets[0]["id"]))), "{note}");
    let description = tickets[0]["description"].as_str().expect("description");
    for line in ["Visitor: A-1042", "Anna K.: Hello, I see order A-1042.", "Visitor: Thanks! It never arrived."] {
        assert!(description.contains(line), "{line:?} in {description}");
    }
    assert!(!description.contains("/ticket"), "commands are not in the transcript");
    let unknown = anna.request(json!({"type": "say", "conversation": id, "body": "/frobnicate"})).await;
    assert_eq!(unknown["type"], "error");
    assert!(unknown["detail"].as_str().is_some_and(|d| d.contains("/frobnicate")), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_idle_for_thirty_minutes_is_not_offered_chats() {
    let s = server().await;
    let token = agent(&s, "Anna", &["care"]).await;
    let mut anna = Client::operator(&s.base, &token).await;
    anna.ok(json!({"type": "online", "team": "care", "channel": "Care"})).await;
    s.clock.advance(SignedDuration::from_mins(31));

    let mut visitor = Client::visitor(&s.base, "care").await;
    visitor.start("Care", "https://shop.example/shop", "en").await;
    bot_until(&mut visitor, "What is it about?").await;
    visitor.say("Order").await;
    bot_until(&mut visitor, "Which order number?").await;
    visitor.say("A-7").await;
    let lines = bot_until(&mut visitor, "We will write to you soon.").await;
    assert!(!lines.iter().any(|l| l == "Connecting you to an operator."), "Anna is idle: {lines:?}");

    // A heartbeat brings her back.
    anna.ok(json!({"type": "online", "team": "care", "channel": "Care"})).await;
    let mut next = Client::visitor(&s.base, "care").await;
    next.start("Care", "https://shop.example/shop", "en").await;
    bot_until(&mut next, "What is it about?").await;
    next.say("Order").await;
    bot_until(&mut next, "Which order number?").await;
    next.say("A-8").await;
    bot_until(&mut next, "Connecting you to an operator.").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_visitor_gets_every_message_missed() {
    let s = server().await;
    let token = agent(&s, "Anna", &["care"]).await;
    let mut visitor = Client::visitor(&s.base, "care").await;
    let welcome = visitor.start("Care", "https://shop.example/blog", "en").await;
    let (id, visitor_token) = (welcome["conversation"].as_u64().expect("id"), welcome["token"].clone());
    // No script on this page: the visitor waits for an operator at once.
    visitor.next_where(|f| f["type"] == "state" && f["state"] == "waiting").await;
    let first = visitor.say("Hello?").await;
    let mut seen =
        visitor.next_where(|f| f["type"] == "message" && f["seq"] == first).await["seq"].as_u64().expect("seq");
    drop(visitor);

    let mut anna = Client::operator(&s.base, &token).await;
    anna.ok(json!({"type": "join", "conversation": id})).await;
    for text in ["Hi, Anna here.", "Are you still there?", "I will wait."] {
        anna.ok(json!({"type": "say", "conversation": id, "body": text})).await;
    }

    let mut back = Client::visitor(&s.base, "care").await;
    back.send(json!({"type": "resume", "token": visitor_token, "after": seen})).await;
    let resumed = back.next_of("resumed").await;
    assert_eq!((resumed["conversation"].as_u64(), resumed["state"].as_str()), (Some(id), Some("with_operator")));
    let missed = back.messages_until(|m| m["body"] == "I will wait.").await;
    let bodies: Vec<&str> = missed.iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(bodies, ["Anna joined", "Hi, Anna here.", "Are you still there?", "I will wait."]);
    for m in &missed {
        let seq = m["seq"].as_u64().expect("seq");
        assert_eq!(seq, seen + 1, "numbers follow on without a gap");
        seen = seq;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_and_operators_reach_only_their_own_conversations() {
    let s = server().await;
    let mut visitor = Client::visitor(&s.base, "care").await;
    let welcome = visitor.start("Care", "https://shop.example/blog", "en").await;
    let id = welcome["conversation"].as_u64().expect("id");
    let token = welcome["token"].as_str().expect("token").to_owned();

    // A guessed token, and a real one on another team's channel, reach
    // nothing.
    for (team, guess) in [("care", "0".repeat(token.len())), ("care", String::new()), ("sales", token.clone())] {
        let mut other = Client::visitor(&s.base, team).await;
        other.send(json!({"type": "resume", "token": guess, "after": 0})).await;
        assert_eq!(other.closed().await.0, 4404, "{team} {guess}");
    }
    // Saying something before opening a conversation is refused too.
    let mut eager = Client::visitor(&s.base, "care").await;
    eager.send(json!({"type": "say", "body": "hi"})).await;
    assert_eq!(eager.closed().await.0, 1002);

    let sales_token = agent(&s, "Bo", &["sales"]).await;
    let mut bo = Client::operator(&s.base, &sales_token).await;
    for frame in [
        json!({"type": "join", "conversation": id}),
        json!({"type": "follow", "conversation": id, "after": 0}),
        json!({"type": "say", "conversation": id, "body": "hi"}),
    ] {
        let answer = bo.request(frame.clone()).await;
        assert_eq!((answer["type"].as_str(), answer["error"].as_str()), (Some("error"), Some("not_found")), "{frame}");
    }
    let watch = bo.request(json!({"type": "watch", "team": "care"})).await;
    assert_eq!(watch["error"], "forbidden", "{watch}");
    let online = bo.request(json!({"type": "online", "team": "care", "channel": "Care"})).await;
    assert_eq!(online["error"], "forbidden", "{online}");

    // Without a token there is no operator socket at all.
    let refused = tokio_tungstenite::connect_async(chat_kit::ws_url(&s.base, "/api/operator/ws")).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = refused else { panic!("expected a refusal") };
    assert_eq!(response.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_and_an_oversized_frame_close_the_socket_with_a_clear_code() {
    let s = server().await;
    let mut visitor = Client::visitor(&s.base, "care").await;
    visitor.start("Care", "https://shop.example/blog", "en").await;
    let mut sent = 0;
    for i in 0..200 {
        let frame = json!({"type": "say", "body": format!("spam {i}")}).to_string();
        if visitor.send_text(frame).await.is_err() {
            break;
        }
        sent += 1;
    }
    let (code, reason) = visitor.closed().await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("too many frames"), "{reason}");
    assert!(sent > 20, "the burst passed first");

    let mut big = Client::visitor(&s.base, "care").await;
    big.start("Care", "https://shop.example/blog", "en").await;
    big.send_text(json!({"type": "say", "body": "x".repeat(20_000)}).to_string()).await.expect("sent");
    let (code, reason) = big.closed().await;
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("16384 bytes"), "{reason}");
}

/// The country database the test setup fetched (scripts/setup.sh).
fn country_db() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-data/country.mmdb");
    assert!(path.exists(), "{} is missing: run scripts/setup.sh --for-tests", path.display());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_pick_by_url_and_by_country_with_country_rules_first() {
    let s = Server::start_with(|c| {
        c.bundled = switchboard_server::BundledPlugin::shipped();
        c.country_db = Some(country_db());
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    })
    .await;
    s.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    let settings = json!({
        "channels": [{"name": "Care", "options": {"button_color": "#112233"}, "rules": [
            {"url": "^/help", "display": "hide"},
            {"countries": ["UA"], "display": "open_automatically", "open_after": 3, "script": "ua"},
            {"countries": ["ES"], "url": "^/tienda", "display": "show_with_notification"},
            {"display": "show"}
        ]}],
        "scripts": {"ua": [{"message": "Вітаємо! Чим допомогти?", "type": "text"}]}
    });
    s.enable("care", "live-chat", settings, &["chat", "tickets", "storage", "timers"]).await.expect(201);

    let client = reqwest::Client::new();
    let rule = |addr: &'static str, url: &'static str, lang: &'static str| {
        let request = client
            .get(format!("{}/c/care/live-chat/rule", s.base))
            .query(&[("url", url), ("lang", lang)])
            .header("x-forwarded-for", addr);
        async move {
            let answer = request.send().await.expect("rule");
            assert_eq!(answer.headers()["access-control-allow-origin"], "*");
            answer.json::<Value>().await.expect("json")
        }
    };
    // 194.44.0.0/16 is in Ukraine, 80.58.0.0/16 in Spain, 8.8.8.8 in the
    // United States (the CC0 database of the test setup).
    let ua = rule("194.44.1.1", "https://shop.example/help/faq", "uk").await;
    assert_eq!(
        (ua["country"].as_str(), ua["display"].as_str(), ua["open_after"].as_u64()),
        (Some("UA"), Some("open_automatically"), Some(3)),
        "country rules come before the URL rule: {ua}"
    );
    assert_eq!(ua["texts"]["send"], "Надіслати");
    assert_eq!(ua["options"]["button_color"], "#112233");
    assert_eq!(ua["options"]["header_color"], "#875a7b", "an option left out has its default");
    let es = rule("80.58.1.1", "https://shop.example/tienda/zapatos", "es-ES").await;
    assert_eq!((es["country"].as_str(), es["display"].as_str()), (Some("ES"), Some("show_with_notification")));
    assert_eq!(es["texts"]["send"], "Enviar");
    assert_eq!(rule("80.58.1.1", "https://shop.example/cart", "es").await["display"], "show", "the URL must match too");
    assert_eq!(rule("8.8.8.8", "https://shop.example/help", "en").await["display"], "hide");
    assert_eq!(rule("8.8.8.8", "https://shop.example/", "en").await["display"], "show");

    // A visitor's conversation records the country, and its rule's script
    // greets them.
    let mut visitor = Client::visitor_from(&s.base, "care", "194.44.1.1").await;
    visitor.start("Care", "https://shop.example/", "uk").await;
    let greeting = visitor.next_where(|f| f["type"] == "message" && f["speaker"]["type"] == "bot").await;
    assert_eq!(greeting["body"], "Вітаємо! Чим допомогти?");
    let mut admin = Client::operator(&s.base, support::ADMIN).await;
    admin.ok(json!({"type": "watch", "team": "care"})).await;
    let lists = admin.next_of("conversations").await;
    let all: Vec<&Value> =
        ["waiting", "active", "bot"].iter().flat_map(|k| lists[k].as_array().into_iter().flatten()).collect();
    assert_eq!(all.len(), 1, "{lists}");
    assert_eq!((all[0]["country"].as_str(), all[0]["language"].as_str()), (Some("UA"), Some("uk")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_nobody_takes_in_time_gets_a_ticket_when_the_channels_timer_fires() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    let settings = json!({"channels": [{"name": "Care", "options": {"no_answer_after": 120}}]});
    s.enable("care", "live-chat", settings, &["chat", "tickets", "storage", "timers"]).await.expect(201);
    let mut visitor = Client::visitor(&s.base, "care").await;
    visitor.start("Care", "https://shop.example/", "es").await;
    visitor.next_where(|f| f["type"] == "state" && f["state"] == "waiting").await;
    visitor.say("¿Hay alguien?").await;
    // The timer is durable and due two minutes on: nothing happens before.
    s.clock.advance(SignedDuration::from_secs(100));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(s.tickets("care").await.is_empty());
    s.clock.advance(SignedDuration::from_secs(30));
    let told = visitor
        .next_where(|f| {
            f["type"] == "message"
                && f["speaker"]["type"] == "system"
                && f["body"].as_str().is_some_and(|b| b.starts_with("Lo sentimos"))
        })
        .await;
    assert!(told["body"].as_str().is_some_and(|b| b.contains("le responderemos")), "in the visitor's language: {told}");
    visitor
        .next_where(|f| f["type"] == "message" && f["body"].as_str().is_some_and(|b| b.starts_with("Ticket #")))
        .await;
    let tickets = s.tickets("care").await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["title"], "¿Hay alguien?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_hash_of_a_visitors_token_is_stored() {
    let s = server().await;
    let mut visitor = Client::visitor(&s.base, "care").await;
    let token =
        visitor.start("Care", "https://shop.example/blog", "en").await["token"].as_str().expect("token").to_owned();
    visitor.say("hello").await;
    // Every file the server wrote, once it has stopped.
    let dir = s.stop().await;
    let mut found = Vec::new();
    let mut stack = vec![dir.path().to_owned()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).is_ok_and(|bytes| bytes.windows(token.len()).any(|w| w == token.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    assert!(found.is_empty(), "the token is in {found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_flood_is_closed_too() {
    let s = server().await;
    let token = agent(&s, "Anna", &["care"]).await;
    let mut anna = Client::operator(&s.base, &token).await;
    let frame = json!({"type": "offline", "team": "sales", "channel": "x"}).to_string();
    for _ in 0..2_500 {
        if anna.send_text(frame.clone()).await.is_err() {
            break;
        }
    }
    let (code, reason) = anna.closed().await;
    assert_eq!(code, 1008, "{reason}");
    assert!(reason.contains("at most 50 a second"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_sent_at_once_reach_the_bot_in_order() {
    let s = server().await;
    let mut visitor = Client::visitor(&s.base, "care").await;
    visitor.start("Care", "https://shop.example/shop", "en").await;
    bot_until(&mut visitor, "What is it about?").await;
    // The second answer is sent before the bot has asked its question: the
    // events reach the plugin one at a time, in order, so it answers it.
    visitor.send(json!({"type": "say", "body": "Order"})).await;
    visitor.send(json!({"type": "say", "body": "A-9"})).await;
    let lines = bot_until(&mut visitor, "We will write to you soon.").await;
    assert_eq!(
        lines,
        ["Which order number?", "Nobody is online; I made a ticket for you.", "We will write to you soon."],
        "the bot took the answers in order"
    );
}

/// The delivery of a ticket's entry, once it is `state`.
async fn delivery_reaches(s: &Server, ticket: u64, entry: u64, state: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let thread = s.get(&format!("/api/tickets/{ticket}/messages")).await.expect(200);
        let found = thread.as_array().into_iter().flatten().find(|m| m["id"] == entry).cloned().expect("entry");
        if found["delivery"]["state"] == state {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "the reply's delivery never became {state}: {found}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_reply_on_the_ticket_reaches_the_open_conversation() {
    let s = server().await;
    let token = agent(&s, "Anna", &["care"]).await;
    let mut visitor = Client::visitor(&s.base, "care").await;
    let id = visitor.start("Care", "https://shop.example/blog", "en").await["conversation"].as_u64().expect("id");
    visitor.next_where(|f| f["type"] == "state" && f["state"] == "waiting").await;
    visitor.say("My charger broke").await;
    let mut anna = Client::operator(&s.base, &token).await;
    anna.ok(json!({"type": "join", "conversation": id})).await;
    anna.ok(json!({"type": "say", "conversation": id, "body": "/ticket"})).await;
    let ticket = s.tickets("care").await[0]["id"].as_u64().expect("ticket");
    assert_eq!(s.tickets("care").await[0]["title"], "My charger broke", "without a title, the visitor's first line");

    let reply = s
        .post(&format!("/api/tickets/{ticket}/messages"), json!({"kind": "reply", "body": "A new one is on its way."}))
        .await
        .expect(201);
    let heard = visitor
        .next_where(|f| {
            f["type"] == "message" && f["body"].as_str().is_some_and(|b| b.ends_with("A new one is on its way."))
        })
        .await;
    assert_eq!(heard["speaker"]["type"], "system");
    delivery_reaches(&s, ticket, reply["id"].as_u64().expect("id"), "sent").await;

    anna.ok(json!({"type": "end", "conversation": id})).await;
    let late = s
        .post(&format!("/api/tickets/{ticket}/messages"), json!({"kind": "reply", "body": "Did it arrive?"}))
        .await
        .expect(201);
    let deferred = delivery_reaches(&s, ticket, late["id"].as_u64().expect("id"), "deferred").await;
    assert!(deferred["delivery"]["detail"].as_str().is_some_and(|d| d.contains("has ended")), "{deferred}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_gives_each_channels_snippet_and_link() {
    let s = server().await;
    let care = s.get("/api/teams/care/plugins/live-chat").await.expect(200);
    let chat = &care["chat"];
    let root = format!("{}/c/care/live-chat", s.base);
    assert_eq!(chat["snippet"], format!("<script src=\"{root}/widget.js\" async></script>"));
    assert_eq!(chat["link"], format!("{root}/chat"));
    let channels = chat["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 1, "{chat}");
    assert_eq!(channels[0]["name"], "Care");
    assert_eq!(
        channels[0]["snippet"],
        format!("<script src=\"{root}/widget.js\" data-channel=\"Care\" async></script>")
    );

    // The link is the direct chat page.
    let page = reqwest::get(channels[0]["link"].as_str().expect("link")).await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("widget.js"));

    // A channel whose name an admin typed with markup in it is escaped in
    // the tag and encoded in the link, and the link finds it.
    let odd = json!({"channels": [{"name": "Sales \"EU\" <b>&</b>"}]});
    let sales = s.enable("sales", "live-chat", odd, &["chat", "tickets", "storage", "timers"]).await.expect(200);
    let only = &sales["chat"]["channels"][0];
    let root_sales = format!("{}/c/sales/live-chat", s.base);
    let escaped = "data-channel=\"Sales &quot;EU&quot; &lt;b&gt;&amp;&lt;/b&gt;\"";
    assert_eq!(only["snippet"], format!("<script src=\"{root_sales}/widget.js\" {escaped} async></script>"));
    let rule =
        format!("{}&url=https://shop.example/", only["link"].as_str().expect("link").replacen("/chat?", "/rule?", 1));
    let found = reqwest::get(rule).await.expect("rule");
    assert_eq!(found.status(), 200);
    assert_eq!(found.json::<Value>().await.expect("json")["channel"], "Sales \"EU\" <b>&</b>");

    // Other plugins have no chat embed; the list shows the same as one.
    let list = s.get("/api/teams/care/plugins").await.expect(200);
    assert_eq!(list[0]["chat"], care["chat"]);
    let form = s.enable("care", "web-form", json!({}), &["tickets"]).await.expect(201);
    assert_eq!(form["chat"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_public_url_starts_the_snippet() {
    let s = Server::start_with(|c| {
        c.bundled = switchboard_server::BundledPlugin::shipped();
        c.public_url = Some("https://help.example.com/desk/".into());
    })
    .await;
    s.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    let care = s.enable("care", "live-chat", json!({}), &["chat", "tickets", "storage", "timers"]).await.expect(201);
    assert_eq!(
        care["chat"]["snippet"],
        "<script src=\"https://help.example.com/desk/c/care/live-chat/widget.js\" async></script>"
    );
    assert_eq!(care["chat"]["link"], "https://help.example.com/desk/c/care/live-chat/chat");
}
