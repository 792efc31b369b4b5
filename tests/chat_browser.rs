//! The live chat widget in a real headless browser (Debian `chromium`): a
//! shop on another origin, with a strict Content-Security-Policy, embeds
//! the one script tag; the button and notification appear as the rule
//! says; the visitor talks to the bot, then to an operator (on the
//! operator websocket); the operator types `/ticket`, and the ticket holds
//! the transcript. The widget adds one global and breaks no policy.

mod browser_kit;
mod chat_kit;
mod support;

use std::time::{Duration, Instant};

use axum::http::header;
use axum::response::IntoResponse;
use browser_kit::Browser;
use chat_kit::Client;
use serde_json::{Value, json};
use support::Server;

/// The key W3C WebDriver uses for the Enter key.
const ENTER: &str = "\u{E007}";

/// Serves a shop on its own port: `/shop/cart` and `/about`, each with the
/// widget's tag as the admin API gave it (`snippet`), and `/sales` with the
/// tag the API gave for the "Sales" channel (`sales_snippet`), all with a
/// strict policy that allows only the helpdesk.
async fn shop(helpdesk: String, snippet: &str, sales_snippet: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let ws = helpdesk.replacen("http://", "ws://", 1);
    let csp = format!(
        "default-src 'none'; script-src 'self' {helpdesk}; connect-src {helpdesk} {ws}; style-src 'self'; img-src 'self'"
    );
    let page = |snippet: &str| {
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shop</title>\
             <script src=\"/before.js\"></script>\
             {snippet}</head>\
             <body><h1>Shop</h1><p id=\"own\">The shop's own page</p></body></html>"
        )
    };
    let (page, sales_page) = (page(snippet), page(sales_snippet));
    // Records every policy violation, and the globals the page gained
    // between this script and its load (when async scripts have run, and
    // before the test's WebDriver scripts add helpers of their own).
    let before = "window.__violations = [];\
                  document.addEventListener('securitypolicyviolation', function (e) {\
                    window.__violations.push(e.violatedDirective + ' ' + e.blockedURI); });\
                  window.__before = Object.keys(window);\
                  window.addEventListener('load', function () {\
                    window.__added = Object.keys(window).filter(function (k) {\
                      return window.__before.indexOf(k) < 0 && k !== '__before'; }); });";
    let html = move |page: String| {
        let csp = csp.clone();
        move || {
            let (page, csp) = (page.clone(), csp.clone());
            async move {
                ([(header::CONTENT_TYPE, "text/html".to_owned()), (header::CONTENT_SECURITY_POLICY, csp)], page)
                    .into_response()
            }
        }
    };
    let app = axum::Router::new()
        .route("/shop/cart", axum::routing::get(html(page.clone())))
        .route("/about", axum::routing::get(html(page)))
        .route("/sales", axum::routing::get(html(sales_page)))
        .route(
            "/before.js",
            axum::routing::get(move || async move { ([(header::CONTENT_TYPE, "text/javascript")], before) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.expect("shop") });
    base
}

/// Waits until the page shows the widget; returns its shadow root.
async fn widget(browser: &Browser) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.run("return !!document.getElementById('switchboard-chat');").await != true {
        assert!(Instant::now() < deadline, "the widget never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.shadow_of("#switchboard-chat").await
}

/// Waits until a shadow-root element's text contains `needle`.
async fn wait_text(browser: &Browser, root: &str, css: &str, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(id) = browser.find_in_shadow(root, css).await
            && browser.text_of_id(&id).await.contains(needle)
        {
            return;
        }
        let log = browser.run("var h = document.getElementById('switchboard-chat'); return h ? h.shadowRoot.querySelector('.sb-log').innerText : '';").await;
        assert!(Instant::now() < deadline, "{needle:?} never appeared in {css}; the chat shows: {log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_on_another_site_talks_to_the_bot_then_an_operator_who_makes_a_ticket() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    let settings = json!({
        "channels": [
            {"name": "Care", "rules": [
                {"url": "^/shop", "display": "show_with_notification", "script": "greeter"},
                {"display": "hide"}
            ]},
            {"name": "Sales", "options": {"notification_text": "Ask our sales team"},
             "rules": [{"display": "show_with_notification"}]}
        ],
        "scripts": {"greeter": [
            {"message": "Hello from the shop's bot!", "type": "text"},
            {"id": "person", "message": "Shall I find you a person?", "type": "question", "answers": ["Yes please", "No thanks"]},
            {"message": "Connecting you to a person.", "type": "forward_to_operator", "only_if": {"person": ["Yes please"]}},
            {"message": "Alright! Ask me anything.", "type": "text"}
        ]}
    });
    let enabled = s.enable("care", "live-chat", settings, &["chat", "tickets", "storage", "timers"]).await.expect(201);
    let snippet = enabled["chat"]["snippet"].as_str().expect("the admin API gives the snippet").to_owned();
    let sales = &enabled["chat"]["channels"][1];
    assert_eq!(sales["name"], "Sales");
    let sales_snippet = sales["snippet"].as_str().expect("the Sales channel's snippet").to_owned();
    let token =
        s.post("/api/users", json!({"name": "Anna", "role": "agent", "teams": ["care"]})).await.expect(201)["token"]
            .as_str()
            .expect("token")
            .to_owned();
    let mut anna = Client::operator(&s.base, &token).await;
    anna.ok(json!({"type": "online", "team": "care", "channel": "Care"})).await;
    anna.ok(json!({"type": "watch", "team": "care"})).await;
    let shop = shop(s.base.clone(), &snippet, &sales_snippet).await;

    let browser = Browser::start().await;
    browser.open(&format!("{shop}/shop/cart")).await;
    let root = widget(&browser).await;
    let button = browser.wait_in_shadow(&root, ".sb-button").await;
    assert_eq!(browser.text_of_id(&button).await, "Chat with us");
    let bubble = browser.wait_in_shadow(&root, ".sb-bubble").await;
    assert_eq!(browser.text_of_id(&bubble).await, "Have a question? Chat with us.");
    let added = browser.run("return window.__added;").await;
    assert_eq!(added, json!(["SwitchboardChat"]), "the widget adds one global");

    browser.click_id(&button).await;
    wait_text(&browser, &root, ".sb-log", "Hello from the shop's bot!").await;
    wait_text(&browser, &root, ".sb-log", "Shall I find you a person?").await;
    let yes = browser.wait_in_shadow(&root, ".sb-answer").await;
    assert_eq!(browser.text_of_id(&yes).await, "Yes please");
    browser.click_id(&yes).await;
    wait_text(&browser, &root, ".sb-log", "Connecting you to a person.").await;

    let waiting = anna.next_where(|f| f["type"] == "conversation" && f["conversation"]["state"] == "waiting").await;
    let id = waiting["conversation"]["id"].as_u64().expect("id");
    assert_eq!(waiting["conversation"]["page_url"], format!("{shop}/shop/cart"));
    anna.ok(json!({"type": "join", "conversation": id})).await;
    anna.ok(json!({"type": "say", "conversation": id, "body": "Hi, Anna here. How can I help?"})).await;
    wait_text(&browser, &root, ".sb-log", "Hi, Anna here. How can I help?").await;

    let input = browser.wait_in_shadow(&root, ".sb-input").await;
    browser.type_into_id(&input, &format!("My order is <b>late</b>{ENTER}")).await;
    // Joining follows the conversation from its start: the visitor's
    // answer to the bot comes first, then what they typed.
    let heard = anna
        .next_where(|f| f["type"] == "message" && f["speaker"]["type"] == "visitor" && f["body"] != "Yes please")
        .await;
    assert_eq!(heard["body"], "My order is <b>late</b>");
    wait_text(&browser, &root, ".sb-log", "My order is <b>late</b>").await;
    let markup = browser
        .run("return document.getElementById('switchboard-chat').shadowRoot.querySelectorAll('.sb-log b').length;")
        .await;
    assert_eq!(markup, json!(0), "what people type is shown as text, never as markup");

    anna.ok(json!({"type": "say", "conversation": id, "body": "/ticket Late order"})).await;
    wait_text(&browser, &root, ".sb-log", "was created from this conversation").await;
    let tickets = s.tickets("care").await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["title"], "Late order");
    let description = tickets[0]["description"].as_str().expect("description");
    for line in [
        "Bot: Shall I find you a person?",
        "Visitor: Yes please",
        "Anna: Hi, Anna here.",
        "Visitor: My order is <b>late</b>",
    ] {
        assert!(description.contains(line), "{line:?} in {description}");
    }
    let violations = browser.run("return window.__violations;").await;
    assert_eq!(violations, json!([]), "the widget keeps to the page's policy");

    // A page the rules hide gets nothing on it.
    browser.open(&format!("{shop}/about")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let rule: Value = loop {
        let rule = browser.run("return window.SwitchboardChat && window.SwitchboardChat.rule;").await;
        if !rule.is_null() {
            break rule;
        }
        assert!(Instant::now() < deadline, "the widget never asked for its rule");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(rule["display"], "hide");
    assert_eq!(browser.run("return !!document.getElementById('switchboard-chat');").await, false);

    // The tag the API gave for another channel shows that channel, with
    // its own notification.
    browser.open(&format!("{shop}/sales")).await;
    let root = widget(&browser).await;
    let bubble = browser.wait_in_shadow(&root, ".sb-bubble").await;
    assert_eq!(browser.text_of_id(&bubble).await, "Ask our sales team");
    assert_eq!(browser.run("return window.SwitchboardChat.rule.channel;").await, "Sales");
}
