//! The web form in a real headless browser (Debian `chromium`, driven over
//! W3C WebDriver by `chromedriver`): a conditional field appears only when
//! its condition holds, a person fills in the form and sends it, and the
//! ticket is found over the API with what they entered.

mod browser_kit;
mod support;

use std::time::{Duration, Instant};

use browser_kit::{Browser, ELEMENT};
use serde_json::json;
use support::Server;

#[tokio::test]
async fn a_person_fills_in_the_form_in_a_browser() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let form = json!({
        "title": "Billing help",
        "fields": [
            {"name": "name", "target": "contact_name", "label": "Your name", "required": true},
            {"name": "email", "target": "contact_email", "type": "email", "label": "E-mail", "required": true},
            {"name": "subject", "target": "title", "label": "Subject", "required": true},
            {"name": "details", "target": "description", "type": "long_text", "label": "Details"},
            {"name": "urgency", "target": "priority", "type": "select", "label": "Urgency",
             "options": [{"value": "low", "label": "Whenever"}, {"value": "high", "label": "Soon"}], "default": "low"},
            {"name": "topic", "target": "custom", "type": "select", "label": "Topic",
             "options": ["general", "billing"], "default": "general"},
            {"name": "invoice", "target": "custom", "label": "Invoice number", "required": true,
             "visibility": {"only_when": {"field": "topic", "equals": "billing"}}},
            {"name": "source", "target": "custom", "label": "Source", "visibility": "hidden", "default": "browser-test"}
        ]
    });
    s.enable("ops", "web-form", form, &["tickets"]).await.expect(201);

    let browser = Browser::start().await;
    browser.open(&format!("{}/c/ops/web-form/", s.base)).await;
    assert_eq!(browser.text_of("h1").await, "Billing help");
    // Labels are bound to their inputs: this is what a screen reader says.
    assert_eq!(browser.label_of("#f-email").await, "E-mail");
    assert_eq!(browser.label_of("#f-details").await, "Details");

    // The invoice field is there only while the topic is billing.
    browser.wait_displayed("#w-invoice", false).await;
    browser.click("#f-topic option[value=billing]").await;
    browser.wait_displayed("#w-invoice", true).await;
    browser.click("#f-topic option[value=general]").await;
    browser.wait_displayed("#w-invoice", false).await;
    browser.click("#f-topic option[value=billing]").await;
    browser.wait_displayed("#w-invoice", true).await;

    browser.type_into("#f-name", "Ann Lee").await;
    browser.type_into("#f-email", "ann@example.com").await;
    browser.type_into("#f-subject", "Charged twice").await;
    browser.type_into("#f-details", "Two charges on my card.").await;
    browser.click("#f-urgency option[value=high]").await;
    browser.type_into("#f-invoice", "INV-0042").await;
    browser.click("button[type=submit]").await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while !browser.url().await.contains("/thanks?ticket=") {
        assert!(Instant::now() < deadline, "no thank-you page; at {}", browser.url().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reference = browser.text_of(".reference strong").await;
    let id: u64 = reference.trim_start_matches('#').parse().expect("reference #<id>");

    let ticket = s.get(&format!("/api/tickets/{id}")).await.expect(200);
    assert_eq!(ticket["title"], "Charged twice");
    assert_eq!(ticket["description"], "Two charges on my card.");
    assert_eq!(ticket["priority_name"], "high");
    assert_eq!(ticket["fields"], json!({"topic": "billing", "invoice": "INV-0042", "source": "browser-test"}));
    let contact = s.get(&format!("/api/contacts/{}", ticket["contact_id"])).await.expect(200);
    assert_eq!(
        (contact["name"].as_str(), contact["emails"][0]["address"].as_str()),
        (Some("Ann Lee"), Some("ann@example.com"))
    );
}

/// Serves one HTML page from a port of its own, which makes it another
/// origin than the server's, and returns its address.
async fn other_site(html: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                html.len()
            );
            let _ = conn.write_all(format!("{head}{html}").as_bytes()).await;
        }
    });
    format!("http://{addr}/")
}

/// The text a framed page shows, read from inside the frame as a person
/// would see it; `None` when the browser refused to show the page there.
async fn framed_text(browser: &Browser, url: &str) -> Option<String> {
    let page = other_site(format!("<!doctype html><iframe id=f src='{url}'></iframe>")).await;
    browser.open(&page).await;
    let frame = browser.find("#f").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        browser.call(reqwest::Method::POST, "/frame", Some(json!({"id": {ELEMENT: frame}}))).await;
        let script = json!({"script": "return [location.href, document.readyState, document.body ? document.body.innerText : '']", "args": []});
        let seen = browser.call(reqwest::Method::POST, "/execute/sync", Some(script)).await;
        browser.call(reqwest::Method::POST, "/frame/parent", Some(json!({}))).await;
        let (href, state, text) = (seen[0].as_str(), seen[1].as_str(), seen[2].as_str().unwrap_or_default());
        if href.is_some_and(|h| h.starts_with("chrome-error:")) {
            return None;
        }
        if href == Some(url) && state == Some("complete") {
            return Some(text.to_owned());
        }
        assert!(Instant::now() < deadline, "the frame never loaded: {seen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn another_site_cannot_frame_the_form() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let form = json!({"title": "Contact us", "fields": [{"name": "subject", "target": "title", "label": "Subject"}]});
    s.enable("ops", "web-form", form, &["tickets"]).await.expect(201);
    let browser = Browser::start().await;
    // The same frame shows a page that does not forbid framing, so a
    // refusal below is the form's policy, not a broken test page.
    let health = framed_text(&browser, &format!("{}/health", s.base)).await;
    assert!(health.as_ref().is_some_and(|t| t.contains("ok")), "the control page should show in a frame: {health:?}");
    let form = framed_text(&browser, &format!("{}/c/ops/web-form/", s.base)).await;
    assert_eq!(form, None, "the form must not show inside another site's frame");
}
