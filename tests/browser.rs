//! The web form in a real headless browser (Debian `chromium`, driven over
//! W3C WebDriver by `chromedriver`): a conditional field appears only when
//! its condition holds, a person fills in the form and sends it, and the
//! ticket is found over the API with what they entered.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Server;

/// The key W3C WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session in it.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless chromium.
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: scripts/setup.sh installs chromium and chromium-driver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready {
                let status: Value = r.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
        }}});
        let created: Value =
            http.post(format!("{base}/session")).json(&caps).send().await.expect("session").json().await.expect("json");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromium did not start: {created}"))
            .to_owned();
        Browser { driver, base, session, http, _profile: profile }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request.send().await.expect("webdriver").json().await.expect("webdriver json");
        assert!(reply["value"].get("error").is_none(), "webdriver {path}: {reply}");
        reply["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> String {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_owned()
    }

    async fn displayed(&self, css: &str) -> bool {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/displayed"), None).await == true
    }

    /// Waits until `css` is shown (or hidden), as a person would see it.
    async fn wait_displayed(&self, css: &str, shown: bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.displayed(css).await != shown {
            assert!(Instant::now() < deadline, "{css} should be {}", if shown { "shown" } else { "hidden" });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    async fn label_of(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/computedlabel"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn text_of(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes chromium; killing the driver is the
        // backstop when a test failed half-way.
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    let _ = rt.block_on(reqwest::Client::new().delete(&url).send());
                }
            })
            .join()
        });
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

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
