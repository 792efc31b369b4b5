//! The chatbot's flow against the SDK's fake host: conditions on earlier
//! answers, answers checked and saved, forwarding with and without an
//! operator online, and a ticket made on the way.

use switchboard_sdk::ChatChannel;
use switchboard_sdk::chat::{ChatEvent, ConversationState, Expect, Origin, Speaker};
use switchboard_sdk::testing::FakeHost;

use crate::LiveChat;
use crate::settings::Settings;

const SETTINGS: &str = r#"{
  "channels": [{"name": "Care", "rules": [
    {"countries": ["UA"], "script": "ukraine"},
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
    ],
    "ukraine": [{"message": "Вітаємо!", "type": "text"}]
  }
}"#;

fn settings() -> Settings {
    let settings: Settings = serde_json::from_str(SETTINGS).expect("settings");
    settings.check().expect("valid");
    settings
}

fn origin(url: &str, country: Option<&str>) -> Origin {
    Origin { page_url: Some(url.into()), country: country.map(Into::into), language: Some("en".into()) }
}

/// What the bot said, in order.
fn bot_lines(host: &FakeHost, id: u64) -> Vec<String> {
    host.chat_messages(id).into_iter().filter(|m| m.speaker == Speaker::Bot).map(|m| m.body).collect()
}

fn joined(host: &FakeHost, url: &str, country: Option<&str>) -> u64 {
    let c = host.open_chat("Care", origin(url, country));
    LiveChat::handle_chat(settings(), c.clone(), ChatEvent::VisitorJoined).expect("joined");
    c.id
}

fn says(host: &FakeHost, id: u64, body: &str) {
    let message = host.visitor_says(id, body);
    LiveChat::handle_chat(settings(), host.chat(id), ChatEvent::VisitorMessage(message)).expect("answered");
}

#[test]
fn a_refund_asks_for_the_email_and_with_nobody_online_makes_a_ticket() {
    let host = FakeHost::start();
    let id = joined(&host, "https://shop.example/shop/cart", None);
    assert_eq!(bot_lines(&host, id), ["Hi! I am the shop's bot.", "What is it about?"]);
    let asked = host.chat_messages(id).pop().expect("the question");
    assert_eq!(asked.expect, Expect::Choice(vec!["Order".into(), "Refund".into()]));

    says(&host, id, "Something else");
    assert_eq!(bot_lines(&host, id).last().map(String::as_str), Some("Please choose one of the answers."));
    says(&host, id, "refund");
    assert_eq!(bot_lines(&host, id).last().map(String::as_str), Some("Your e-mail, please?"));
    says(&host, id, "not an address");
    assert!(bot_lines(&host, id).last().is_some_and(|l| l.starts_with("That does not look like an e-mail")));
    says(&host, id, "ann@example.com");

    let c = host.chat(id);
    let ticket = c.ticket.expect("a ticket was made on the way");
    let made = host.tickets().into_iter().find(|t| t.id == ticket).expect("the ticket");
    assert_eq!(made.contact, c.contact, "the e-mail is the ticket's contact");
    assert!(c.contact.is_some());
    assert!(made.description.contains("Visitor: refund"), "{}", made.description);
    let said = bot_lines(&host, id);
    assert!(!said.iter().any(|l| l == "Which order number?"), "the order step is only for orders");
    assert!(!said.iter().any(|l| l == "Connecting you to an operator."), "nobody was online");
    assert_eq!(said.last().map(String::as_str), Some("We will write to you soon."));
    assert_eq!(c.state, ConversationState::Waiting, "at the end of the script the operators take over");
}

#[test]
fn an_order_with_an_operator_online_is_forwarded() {
    let host = FakeHost::start();
    host.operator_online("Care", 3, "Anna");
    let id = joined(&host, "https://shop.example/shop", None);
    says(&host, id, "Order");
    assert_eq!(bot_lines(&host, id).last().map(String::as_str), Some("Which order number?"));
    assert_eq!(host.chat_messages(id).last().map(|m| m.expect.clone()), Some(Expect::Line));
    says(&host, id, "A-1042");
    let c = host.chat(id);
    assert_eq!(c.state, ConversationState::Waiting);
    assert_eq!(c.ticket, None, "the script stopped at the hand-over");
    let said = bot_lines(&host, id);
    assert_eq!(said.last().map(String::as_str), Some("Connecting you to an operator."));
    assert!(!said.iter().any(|l| l == "Your e-mail, please?"));
    // Once handed over, the bot stays quiet.
    says(&host, id, "Hello?");
    assert_eq!(bot_lines(&host, id), said);
}

#[test]
fn country_rules_come_first_and_no_script_hands_over_at_once() {
    let host = FakeHost::start();
    let ua = joined(&host, "https://shop.example/shop", Some("UA"));
    assert_eq!(bot_lines(&host, ua), ["Вітаємо!"]);
    let plain = joined(&host, "https://shop.example/blog", None);
    assert!(bot_lines(&host, plain).is_empty());
    assert_eq!(host.chat(plain).state, ConversationState::Waiting);
}

#[test]
fn a_phone_answer_is_checked_and_kept_as_digits() {
    assert_eq!(crate::bot::phone("+38 (044) 123-45-67").as_deref(), Some("+380441234567"));
    assert_eq!(crate::bot::phone("12345"), None);
    assert_eq!(crate::bot::phone("call me"), None);
    assert_eq!(crate::bot::email(" ann@mail.example.org ").as_deref(), Some("ann@mail.example.org"));
    for bad in ["ann", "ann@", "@example.com", "ann@localhost", "a b@example.com", "ann@exa_mple.com"] {
        assert_eq!(crate::bot::email(bad), None, "{bad}");
    }
}

#[test]
fn ticket_command_makes_one_ticket_and_unknown_commands_are_refused() {
    let host = FakeHost::start();
    let id = joined(&host, "https://shop.example/blog", None);
    host.operator_joins(id, 3, "Anna");
    says_as_operator_command(&host, id, "ticket", "Broken charger");
    let ticket = host.chat(id).ticket.expect("made");
    assert_eq!(host.tickets()[0].title, "Broken charger");
    says_as_operator_command(&host, id, "ticket", "Again");
    assert_eq!((host.tickets().len(), host.chat(id).ticket), (1, Some(ticket)));
    let cmd = switchboard_sdk::chat::Command {
        name: "frobnicate".into(),
        args: String::new(),
        by: switchboard_sdk::chat::Operator { user: 3, name: "Anna".into() },
    };
    let err = LiveChat::handle_chat(settings(), host.chat(id), ChatEvent::Command(cmd)).expect_err("unknown");
    assert!(format!("{err:?}").contains("/frobnicate"), "{err:?}");
}

fn says_as_operator_command(host: &FakeHost, id: u64, name: &str, args: &str) {
    let cmd = switchboard_sdk::chat::Command {
        name: name.into(),
        args: args.into(),
        by: switchboard_sdk::chat::Operator { user: 3, name: "Anna".into() },
    };
    LiveChat::handle_chat(settings(), host.chat(id), ChatEvent::Command(cmd)).expect("command");
}

#[test]
fn a_visitor_nobody_takes_in_time_is_told_and_the_conversation_becomes_a_ticket() {
    let host = FakeHost::start();
    let settings = r#"{"channels": [{"name": "Care", "options": {"no_answer_after": 120}}]}"#;
    let settings = || serde_json::from_str::<Settings>(settings).expect("settings");
    let c = host.open_chat("Care", origin("https://shop.example/", None));
    LiveChat::handle_chat(settings(), c.clone(), ChatEvent::VisitorJoined).expect("joined");
    assert_eq!(host.chat(c.id).state, ConversationState::Waiting);
    let timers = host.timers();
    let (after, payload) = timers.get(&format!("no-answer:{}", c.id)).expect("a timer");
    assert_eq!(*after, 120_000);
    let timer = switchboard_sdk::chat::Timer { key: format!("no-answer:{}", c.id), payload: payload.clone() };
    LiveChat::handle_timer(settings(), timer.clone()).expect("fired");
    let told =
        host.chat_messages(c.id).into_iter().find(|m| m.speaker == Speaker::System && m.body.starts_with("Sorry"));
    assert!(told.is_some(), "the visitor is told");
    assert!(host.chat(c.id).ticket.is_some(), "the request is kept as a ticket");

    // Taken by an operator, the next one's timer is cancelled, and a late
    // firing leaves it alone.
    let next = host.open_chat("Care", origin("https://shop.example/", None));
    LiveChat::handle_chat(settings(), next.clone(), ChatEvent::VisitorJoined).expect("joined");
    host.operator_joins(next.id, 3, "Anna");
    let anna = switchboard_sdk::chat::Operator { user: 3, name: "Anna".into() };
    LiveChat::handle_chat(settings(), host.chat(next.id), ChatEvent::OperatorJoined(anna)).expect("joined");
    assert!(!host.timers().contains_key(&format!("no-answer:{}", next.id)));
    let late = switchboard_sdk::chat::Timer { key: format!("no-answer:{}", next.id), payload: next.id.to_string() };
    LiveChat::handle_timer(settings(), late).expect("fired late");
    assert_eq!(host.chat(next.id).ticket, None);
}
