//! The web form end to end: the shipped plugin, installed by the real
//! server at start, enabled for a team, and used the way a browser (form
//! posts, redirects) and a JSON client would. The browser itself is in
//! `tests/browser.rs`.

mod support;

use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use support::Server;

/// A form with every kind of target and a conditional field.
fn full_form() -> Value {
    json!({
        "title": "Billing help",
        "intro": "Tell us what happened.",
        "fields": [
            {"name": "name", "target": "contact_name", "label": "Your name", "required": true},
            {"name": "email", "target": "contact_email", "type": "email", "label": "E-mail", "required": true},
            {"name": "phone", "target": "contact_phone", "type": "phone", "label": "Phone"},
            {"name": "subject", "target": "title", "label": "Subject", "required": true},
            {"name": "details", "target": "description", "type": "long_text", "label": "Details"},
            {"name": "urgency", "target": "priority", "type": "select", "label": "Urgency",
             "options": [{"value": "low", "label": "Whenever"}, {"value": "urgent", "label": "Right now"}],
             "default": "low"},
            {"name": "topic", "target": "custom", "type": "select", "label": "Topic",
             "options": ["general", "billing"], "default": "general"},
            {"name": "invoice", "target": "custom", "label": "Invoice number", "required": true,
             "visibility": {"only_when": {"field": "topic", "equals": "billing"}}},
            {"name": "site", "target": "custom", "type": "url", "label": "Your shop"},
            {"name": "source", "target": "custom", "label": "Source", "visibility": "hidden", "default": "footer"}
        ]
    })
}

/// A server that ships its plugins as in production, with team "ops" and
/// the web form enabled with `settings`.
async fn server_with(settings: Value, tweak: impl FnOnce(&mut switchboard_server::Config)) -> Server {
    let s = Server::start_with(|c| {
        c.bundled = switchboard_server::BundledPlugin::shipped();
        tweak(c);
    })
    .await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.enable("ops", "web-form", settings, &["tickets"]).await.expect(201);
    s
}

/// A client that shows redirects instead of following them, as a test of
/// what the browser is told.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().expect("client")
}

/// A form post to team "ops"'s web form, as a browser sends it.
fn form_post(s: &Server, pairs: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    browser()
        .post(format!("{}/c/ops/web-form/", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

async fn post_form(s: &Server, pairs: &[(&str, &str)]) -> reqwest::Response {
    form_post(s, pairs).send().await.expect("post")
}

async fn tickets(s: &Server) -> Vec<Value> {
    s.tickets("ops").await
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn ships_with_the_server_and_serves_the_default_form() {
    let s = server_with(json!({}), |_| {}).await;
    let plugin = s.get("/api/plugins/web-form").await.expect(200);
    assert_eq!((plugin["kind"].as_str(), plugin["version"].as_str()), (Some("channel"), Some("1.0.0")));

    let page = browser().get(format!("{}/c/ops/web-form/", s.base)).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("form-action 'self'"), "{csp}");
    let html = page.text().await.expect("html");
    for (name, label) in [("name", "Your name"), ("email", "E-mail"), ("subject", "Subject")] {
        assert!(html.contains(&format!("<label for=\"f-{name}\">{label}")), "{name} in {html}");
    }
    assert!(html.contains("<textarea id=\"f-description\" name=\"description\""));

    // Without the trailing slash the page's relative links would point
    // elsewhere, so the host redirects, keeping the method.
    let bare = browser().get(format!("{}/c/ops/web-form?subject=Hi", s.base)).send().await.expect("get");
    assert_eq!((bare.status().as_u16(), location(&bare)), (308, "/c/ops/web-form/?subject=Hi".to_owned()));
    for asset in ["form.css", "form.js"] {
        let r = browser().get(format!("{}/c/ops/web-form/{asset}", s.base)).send().await.expect("asset");
        assert_eq!(r.status(), 200, "{asset}");
    }
    // The address pre-fills a field.
    let prefilled = s.call(Method::GET, "/c/ops/web-form/?subject=Order%2017", None, None).await;
    assert!(prefilled.text.contains("value=\"Order 17\""));
}

#[tokio::test]
async fn a_submission_opens_a_ticket_with_contact_priority_and_custom_fields() {
    let s = server_with(full_form(), |_| {}).await;
    let r = post_form(
        &s,
        &[
            ("name", "Ann Lee"),
            ("email", "ann@example.com"),
            ("phone", "+380 44 123 4567"),
            ("subject", "Charged twice"),
            ("details", "My card was charged twice.\r\nPlease refund one."),
            ("urgency", "urgent"),
            ("topic", "billing"),
            ("invoice", "INV-0042"),
            ("site", "https://shop.example.com"),
            ("source", "footer"),
            ("website", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let id: u64 = to.strip_prefix("thanks?ticket=").and_then(|n| n.parse().ok()).expect("thanks?ticket=<id>");

    let thanks = s.call(Method::GET, &format!("/c/ops/web-form/{to}"), None, None).await;
    assert!(thanks.text.contains(&format!("Your reference: <strong>#{id}</strong>")), "{}", thanks.text);

    let ticket = s.get(&format!("/api/tickets/{id}")).await.expect(200);
    assert_eq!(ticket["title"], "Charged twice");
    assert_eq!(ticket["description"], "My card was charged twice.\nPlease refund one.");
    assert_eq!((ticket["priority_name"].as_str(), ticket["origin"].as_str()), (Some("urgent"), Some("web-form")));
    assert_eq!(
        ticket["fields"],
        json!({"topic": "billing", "invoice": "INV-0042", "site": "https://shop.example.com", "source": "footer"})
    );
    let contact_id = ticket["contact_id"].as_u64().expect("contact");
    let contact = s.get(&format!("/api/contacts/{contact_id}")).await.expect(200);
    assert_eq!(contact["name"], "Ann Lee");
    assert_eq!(contact["emails"][0]["address"], "ann@example.com");
    assert_eq!(contact["phones"][0]["number"].as_str().map(|n| n.replace(' ', "")).as_deref(), Some("+380441234567"));

    // A JSON client gets the ticket back; the same e-mail finds the same
    // contact, and a topic that is not billing leaves the invoice out.
    let r = s
        .call(
            Method::POST,
            "/c/ops/web-form/",
            None,
            Some(json!({"name": "Ann", "email": "ANN@example.com", "subject": "Another", "topic": "general",
                        "invoice": "ignored"})),
        )
        .await
        .expect(201);
    let second = s.get(&format!("/api/tickets/{}", r["ticket"])).await.expect(200);
    assert_eq!(r["reference"], format!("#{}", r["ticket"]));
    assert_eq!(second["contact_id"].as_u64(), Some(contact_id));
    assert_eq!(second["fields"], json!({"topic": "general", "source": "footer"}));
    assert_eq!(second["priority_name"], "low");
}

#[tokio::test]
async fn errors_come_back_beside_each_field_with_values_kept() {
    let s = server_with(full_form(), |_| {}).await;
    let r = post_form(
        &s,
        &[("name", "Ann"), ("email", "ann@"), ("phone", "call me"), ("topic", "billing"), ("site", "shop")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(html.contains("value=\"Ann\"") && html.contains("value=\"ann@\"") && html.contains("value=\"call me\""));
    for (field, message) in [
        ("email", "Enter an e-mail address such as name@example.com"),
        ("phone", "Enter a phone number with its country code, such as +44 20 7946 0958"),
        ("subject", "This field is required"),
        ("invoice", "This field is required"),
        ("site", "Enter a web address that starts with https://"),
    ] {
        assert!(html.contains(&format!("<p class=\"error\" id=\"e-{field}\">{message}</p>")), "{field}: {html}");
    }
    assert!(html.contains("<option value=\"billing\" selected>billing</option>"), "the select keeps its value");

    let r = s
        .call(Method::POST, "/c/ops/web-form/", None, Some(json!({"name": "Ann", "email": "x", "urgency": "soon"})))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"], "invalid_submission");
    assert_eq!(r.body["fields"]["email"], "Enter an e-mail address such as name@example.com");
    assert_eq!(r.body["fields"]["urgency"], "Choose one of the options");
    assert_eq!(r.body["fields"]["subject"], "This field is required");
    assert!(r.body["fields"].get("invoice").is_none(), "invoice only counts for billing");
    assert!(tickets(&s).await.is_empty(), "nothing was opened");
}

#[tokio::test]
async fn characters_the_host_refuses_are_the_fields_error_not_a_failure() {
    let s = server_with(full_form(), |_| {}).await;
    // Each value is one the ticket store refuses; the visitor must learn
    // which field to fix (422), never "try again later" (503).
    for (field, value, message) in [
        ("name", "Ann\tLee", "Remove the tabs and control characters from this field"),
        ("subject", "Refund\u{1b}[2J", "Remove the tabs and control characters from this field"),
        ("subject", "gnp\u{202E}exe", "Remove the text-direction control characters from this field"),
        ("name", "Ann\u{2067}", "Remove the text-direction control characters from this field"),
    ] {
        let mut body = json!({"name": "Ann", "email": "ann@example.com", "subject": "Help"});
        body[field] = json!(value);
        let r = s.call(Method::POST, "/c/ops/web-form/", None, Some(body)).await;
        assert_eq!((r.status, r.body["fields"][field].as_str()), (422, Some(message)), "{field}={value:?}: {}", r.body);
    }
    // A value the form's own check lets through but the host refuses is
    // still that field's error.
    let body = json!({"name": "Ann", "email": "ann@example.com", "subject": "Help", "phone": "+999 1234567"});
    let r = s.call(Method::POST, "/c/ops/web-form/", None, Some(body)).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["fields"]["phone"], "Enter a phone number with its country code, such as +44 20 7946 0958");
    // International domains are addresses.
    let body = json!({"name": "Олена", "email": "olena@приклад.укр", "subject": "Привіт"});
    assert_eq!(s.call(Method::POST, "/c/ops/web-form/", None, Some(body)).await.status, 201);
    // Tabs and line breaks belong in long text.
    let body = json!({"name": "Ann", "email": "ann@example.com", "subject": "Help", "details": "a\tb\nc"});
    assert_eq!(s.call(Method::POST, "/c/ops/web-form/", None, Some(body)).await.status, 201);

    // A JSON body that names a field twice means what the reader decides.
    let twice = br#"{"name": "Ann", "email": "ann@example.com", "subject": "Help", "subject": "Other"}"#.to_vec();
    let r = s
        .raw(Method::POST, "/c/ops/web-form/")
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(twice)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.expect("json");
    assert!(body.to_string().contains("duplicate key \\\"subject\\\""), "{body}");
    assert_eq!(tickets(&s).await.len(), 2, "only the Cyrillic and the long-text submissions opened tickets");
}

#[tokio::test]
async fn an_unpublished_form_is_not_found() {
    let s = server_with(json!({"published": false}), |_| {}).await;
    assert_eq!(s.call(Method::GET, "/c/ops/web-form/", None, None).await.status, 404);
    let r = post_form(&s, &[("name", "Ann"), ("email", "ann@example.com"), ("subject", "x"), ("description", "y")]);
    assert_eq!(r.await.status(), 404);
    assert!(tickets(&s).await.is_empty());
    // Publishing it is a settings change, no restart.
    s.enable("ops", "web-form", json!({"published": true}), &["tickets"]).await.expect(200);
    assert_eq!(s.call(Method::GET, "/c/ops/web-form/", None, None).await.status, 200);
    // A team without the form: 404 too.
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    assert_eq!(s.call(Method::GET, "/c/sales/web-form/", None, None).await.status, 404);
}

#[tokio::test]
async fn bad_settings_are_refused_with_the_plugins_message() {
    let s = server_with(json!({}), |_| {}).await;
    let bad = json!({"fields": [{"name": "e", "target": "contact_email", "label": "E-mail"}]});
    let refused = s.enable("ops", "web-form", bad, &["tickets"]).await.expect_error(422, "invalid_field", "email");
    assert_eq!(refused["detail"], "settings.fields[0].type: a contact_email field must be of type email");
    assert_eq!(refused["field"], "settings");
}

const VALID: &[(&str, &str)] =
    &[("name", "Ann"), ("email", "ann@example.com"), ("subject", "Hello"), ("description", "Hi")];

#[tokio::test]
async fn the_honeypot_drops_bot_submissions_quietly() {
    let s = server_with(json!({}), |_| {}).await;
    let mut trapped = VALID.to_vec();
    trapped.push(("website", "http://spam.example"));
    let r = post_form(&s, &trapped).await;
    assert_eq!((r.status().as_u16(), location(&r)), (303, "thanks".to_owned()), "looks like success to a bot");
    assert!(tickets(&s).await.is_empty());
    assert_eq!(post_form(&s, VALID).await.status(), 303);
    assert_eq!(tickets(&s).await.len(), 1);
}

async fn post_from(s: &Server, forwarded_for: &str) -> reqwest::Response {
    form_post(s, VALID).header("x-forwarded-for", forwarded_for).send().await.expect("post")
}

#[tokio::test]
async fn submissions_are_limited_per_client() {
    let limited = json!({"rate_limit": {"submissions": 2, "per_minutes": 10}});

    // Without a trusted proxy the forwarded header is ignored: every
    // request comes from 127.0.0.1.
    let s = server_with(limited.clone(), |_| {}).await;
    assert_eq!(post_from(&s, "198.51.100.1").await.status(), 303);
    assert_eq!(post_from(&s, "198.51.100.2").await.status(), 303);
    let r = post_from(&s, "198.51.100.3").await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!((1..=600).contains(&wait), "{wait}");
    let html = r.text().await.expect("html");
    assert!(html.contains("Too many submissions from your address"), "{html}");
    assert!(html.contains("value=\"ann@example.com\""), "what was typed is kept");
    assert_eq!(tickets(&s).await.len(), 2);
    // Invalid submissions do not use up the allowance of someone fixing
    // their typos, and a JSON client gets the limit as JSON.
    let json = s.call(Method::POST, "/c/ops/web-form/", None, Some(json!({"name": "Ann"}))).await;
    assert_eq!(json.status, 422);
    let json = s
        .call(
            Method::POST,
            "/c/ops/web-form/",
            None,
            Some(json!({"name": "Ann", "email": "ann@example.com", "subject": "x", "description": "y"})),
        )
        .await;
    assert_eq!((json.status, json.body["error"].as_str()), (429, Some("too_many_requests")));

    // Behind a trusted proxy, the forwarded address is the client.
    let s = server_with(limited, |c| c.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")]).await;
    for _ in 0..2 {
        assert_eq!(post_from(&s, "198.51.100.1").await.status(), 303);
    }
    assert_eq!(post_from(&s, "198.51.100.1").await.status(), 429);
    assert_eq!(post_from(&s, "198.51.100.2").await.status(), 303, "another client has its own allowance");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let s = server_with(json!({}), |_| {}).await;
    let huge = "x".repeat(300 * 1024);
    let r = post_form(&s, &[("name", "Ann"), ("description", &huge)]).await;
    assert_eq!(r.status(), 413);
    // Under the host's cap but over the field's length: the field says so.
    let long = "x".repeat(10_001);
    let mut pairs = VALID.to_vec();
    pairs[3] = ("description", &long);
    let r = post_form(&s, &pairs).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("html").contains("Use at most 10000 characters (this has 10001)"));
    assert!(tickets(&s).await.is_empty());
}

#[tokio::test]
async fn script_in_every_field_is_shown_as_text() {
    let s = server_with(full_form(), |_| {}).await;
    let x = "<script>alert(1)</script>";
    // Every field of the form; the honeypot stays empty so the checks run.
    let every: Vec<(&str, &str)> =
        ["name", "email", "phone", "subject", "details", "urgency", "topic", "invoice", "site", "source"]
            .iter()
            .map(|n| (*n, x))
            .collect();
    let r = post_form(&s, &every).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));

    // Where the text is allowed, it is kept as text.
    let r = post_form(
        &s,
        &[("name", x), ("email", "ann@example.com"), ("subject", x), ("details", x), ("invoice", x), ("source", x)],
    )
    .await;
    assert_eq!(r.status(), 303);
    let thanks = s.call(Method::GET, &format!("/c/ops/web-form/{}", location(&r)), None, None).await;
    assert!(!thanks.text.contains("<script>alert"));
    let ticket = &tickets(&s).await[0];
    assert_eq!((ticket["title"].as_str(), ticket["description"].as_str()), (Some(x), Some(x)));
    assert_eq!(ticket["fields"]["source"], x);
    let contact = s.get(&format!("/api/contacts/{}", ticket["contact_id"])).await.expect(200);
    assert_eq!(contact["name"], x);
}

#[tokio::test]
async fn the_form_speaks_the_visitors_language_and_shows_an_admins_texts_as_written() {
    let s = server_with(json!({"intro": "Пишіть нам"}), |_| {}).await;
    let page = browser()
        .get(format!("{}/c/ops/web-form/", s.base))
        .header("accept-language", "uk-UA,uk;q=0.9,en;q=0.5")
        .send()
        .await
        .expect("get");
    let html = page.text().await.expect("html");
    assert!(html.contains("<html lang=\"uk\">"), "{html}");
    assert!(html.contains("<h1>Зв’язатися з підтримкою</h1>"), "the default title in Ukrainian: {html}");
    assert!(html.contains("<label for=\"f-name\">Ваше ім’я"), "{html}");
    assert!(html.contains(">Надіслати</button>"), "{html}");
    assert!(html.contains("Пишіть нам"), "the admin's intro as written");

    // A Spanish visitor who sends an empty form is told in Spanish,
    // beside each field; a JSON client in the same language gets the same.
    let sent = form_post(&s, &[("name", ""), ("email", "nope")]).header("accept-language", "es-MX").send().await;
    let html = sent.expect("post").text().await.expect("html");
    assert!(html.contains("<html lang=\"es\">"), "{html}");
    assert!(html.contains("Este campo es obligatorio"), "{html}");
    assert!(html.contains("Escriba una dirección de correo como nombre@example.com"), "{html}");
    assert!(html.contains("campos necesitan atención"), "{html}");
    // An admin's own title stays as written; `?lang=` picks the language.
    let custom = server_with(json!({"title": "Write to Ops", "submit_label": "Go"}), |_| {}).await;
    let html = browser()
        .get(format!("{}/c/ops/web-form/?lang=es", custom.base))
        .header("accept-language", "uk")
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("<html lang=\"es\">") && html.contains("<h1>Write to Ops</h1>") && html.contains(">Go</button>")
    );
    assert!(html.contains("<label for=\"f-email\">Correo electrónico"), "{html}");
    let thanks = browser()
        .get(format!("{}/c/ops/web-form/thanks?ticket=7", s.base))
        .header("accept-language", "uk")
        .send()
        .await
        .expect("thanks")
        .text()
        .await
        .expect("html");
    assert!(thanks.contains("Номер вашого звернення: <strong>#7</strong>") && thanks.contains("Дякуємо!"), "{thanks}");
}
