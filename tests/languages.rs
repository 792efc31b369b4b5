//! Plugins written in Python and JavaScript, as `sdk/python` and `sdk/js`
//! show: the examples, built by `scripts/sdk-examples.sh` (which
//! `scripts/test.sh` runs first), install, open tickets with their
//! contacts, and check signed webhooks through the host's `secrets`.

mod support;

use serde_json::{Value, json};
use support::Server;

/// The component `scripts/sdk-examples.sh` built for `name`.
fn built(name: &str) -> Vec<u8> {
    let path = format!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/sdk-examples/{}.wasm"), name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/sdk-examples.sh (scripts/test.sh does)"))
}

fn manifest(dir: &str) -> String {
    let path = format!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sdk/{}/plugin.toml"), dir);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sign(key: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    format!("sha256={}", hex::encode(ring::hmac::sign(&key, body).as_ref()))
}

#[tokio::test]
async fn python_and_javascript_examples_open_tickets_and_check_signatures() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    for (name, dir) in
        [("hello-channel-py", "python/examples/hello-channel-py"), ("hello-channel-js", "js/examples/hello-channel-js")]
    {
        let plugin = s.install_with(&manifest(dir), built(name)).await.expect(201);
        assert_eq!(plugin["id"], name);
        s.enable("ops", name, json!({"title_prefix": "[web] "}), &["tickets"]).await.expect(201);
        let route = format!("/c/ops/{name}/");
        let usage = s.raw(reqwest::Method::GET, &route).send().await.expect("get");
        assert_eq!(usage.status(), 200, "{name}");

        let body = json!({"title": format!("Help from {name}"), "name": "Ann", "email": "ann@example.com"}).to_string();
        let post = |signature: Option<String>| {
            let mut request =
                s.raw(reqwest::Method::POST, &route).header("content-type", "application/json").body(body.clone());
            if let Some(signature) = signature {
                request = request.header("x-signature", signature);
            }
            request.send()
        };
        let created = post(None).await.expect("post");
        assert_eq!(created.status(), 201, "{name}");
        let created: Value = created.json().await.expect("json");
        let ticket = s.get(&format!("/api/tickets/{}", created["ticket"])).await.expect(200);
        assert_eq!(ticket["title"], format!("[web] Help from {name}"));
        assert_eq!(ticket["origin"], name);
        let contact = s.get(&format!("/api/contacts/{}", ticket["contact_id"])).await.expect(200);
        assert_eq!(contact["emails"][0]["address"], "ann@example.com", "{name}: {contact}");

        // A bad body gets the plugin's own 422, naming what is wrong.
        let bad = s
            .raw(reqwest::Method::POST, &route)
            .header("content-type", "application/json")
            .body(r#"{"title": " "}"#)
            .send()
            .await
            .expect("post");
        assert_eq!(bad.status(), 422, "{name}");
        assert!(bad.text().await.expect("text").contains("title"), "{name}");

        // With a signing key set, the host checks each POST's signature.
        let key = "whsec-0123456789abcdef";
        s.put(
            &format!("/api/teams/ops/plugins/{name}"),
            json!({"settings": {"signing_key": key}, "grants": ["tickets"]}),
        )
        .await
        .expect(200);
        assert_eq!(post(None).await.expect("post").status(), 401, "{name}: unsigned");
        assert_eq!(post(Some(sign("another key entirely", body.as_bytes()))).await.expect("post").status(), 401);
        assert_eq!(post(Some(sign(key, body.as_bytes()))).await.expect("post").status(), 201, "{name}: signed");
    }
}
