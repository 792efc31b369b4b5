//! A real headless browser for the page tests: Debian `chromium`, driven
//! over W3C WebDriver by `chromedriver`.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key W3C WebDriver uses for element references.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session in it.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless chromium.
    pub async fn start() -> Browser {
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

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request.send().await.expect("webdriver").json().await.expect("webdriver json");
        assert!(reply["value"].get("error").is_none(), "webdriver {path}: {reply}");
        reply["value"].clone()
    }

    pub async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn find(&self, css: &str) -> String {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_owned()
    }

    pub async fn displayed(&self, css: &str) -> bool {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/displayed"), None).await == true
    }

    /// Waits until `css` is shown (or hidden), as a person would see it.
    pub async fn wait_displayed(&self, css: &str, shown: bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.displayed(css).await != shown {
            assert!(Instant::now() < deadline, "{css} should be {}", if shown { "shown" } else { "hidden" });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    pub async fn label_of(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/computedlabel"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn text_of(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn url(&self) -> String {
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

impl Browser {
    /// The shadow root of the element `css`, as an element id a shadow
    /// search starts from.
    pub async fn shadow_of(&self, css: &str) -> String {
        let host = self.find(css).await;
        let root = self.call(reqwest::Method::GET, &format!("/element/{host}/shadow"), None).await;
        root["shadow-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no shadow root on {css}: {root}"))
            .to_owned()
    }

    /// The element `css` inside a shadow root, if there is one.
    pub async fn find_in_shadow(&self, root: &str, css: &str) -> Option<String> {
        let url = format!("{}/session/{}/shadow/{root}/element", self.base, self.session);
        let reply: Value = self
            .http
            .post(url)
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        reply["value"][ELEMENT].as_str().map(str::to_owned)
    }

    /// Waits for the element `css` inside a shadow root to be shown.
    pub async fn wait_in_shadow(&self, root: &str, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(id) = self.find_in_shadow(root, css).await
                && self.call(reqwest::Method::GET, &format!("/element/{id}/displayed"), None).await == true
            {
                return id;
            }
            assert!(Instant::now() < deadline, "{css} was not shown in the shadow root");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks an element by id.
    pub async fn click_id(&self, id: &str) {
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Types into an element by id.
    pub async fn type_into_id(&self, id: &str, text: &str) {
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    /// The shown text of an element by id.
    pub async fn text_of_id(&self, id: &str) -> String {
        let text = self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Runs a script in the page and returns its value.
    pub async fn run(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }
}

impl Browser {
    /// Runs an asynchronous script: its last argument is the callback
    /// that ends it with a value.
    pub async fn run_async(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": []}))).await
    }

    /// The current window's handle.
    pub async fn window(&self) -> String {
        self.call(reqwest::Method::GET, "/window", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// Opens a new tab and switches to it; returns its handle.
    pub async fn new_tab(&self) -> String {
        let made = self.call(reqwest::Method::POST, "/window/new", Some(json!({"type": "tab"}))).await;
        let handle = made["handle"].as_str().expect("new tab handle").to_owned();
        self.switch_to(&handle).await;
        handle
    }

    /// Switches to the window `handle`.
    pub async fn switch_to(&self, handle: &str) {
        self.call(reqwest::Method::POST, "/window", Some(json!({"handle": handle}))).await;
    }

    /// Presses keys (W3C key values, such as "\u{E008}" for Shift) on
    /// whatever has the focus, as a person at the keyboard would.
    pub async fn press(&self, keys: &[&str]) {
        let mut actions = Vec::new();
        for key in keys {
            actions.push(json!({"type": "keyDown", "value": key}));
        }
        for key in keys.iter().rev() {
            actions.push(json!({"type": "keyUp", "value": key}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.call(reqwest::Method::POST, "/actions", Some(body)).await;
    }

    /// Saves a screenshot of the page as a PNG file at `path`.
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let shot = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(shot.as_str().unwrap_or_default()).expect("png");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("screenshot");
    }

    /// Sets the window's size in CSS pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// Waits until the script `condition` returns true, for at most `secs`.
    pub async fn wait_for(&self, what: &str, condition: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.run(&format!("return !!({condition});")).await == true {
                return;
            }
            assert!(Instant::now() < deadline, "waited {secs} s for {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the page shows an alert or a confirm dialog.
    pub async fn wait_for_alert(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("{}/session/{}/alert/text", self.base, self.session);
            let reply: Value = self.http.get(url).send().await.expect("webdriver").json().await.unwrap_or_default();
            if reply["value"].is_string() {
                return;
            }
            assert!(Instant::now() < deadline, "no dialog was shown");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
