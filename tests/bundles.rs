//! Delivering new plugin versions: upgrades under load, and signed
//! bundles from vendors.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use support::Server;
use switchboard_artifacts::{HELLO_CHANNEL, WIT010_CHANNEL};

/// The same plugin id as two different components: hello-channel, which
/// answers a JSON body with JSON and titles the ticket from its `title`,
/// and a component built against WIT 0.1.0, which answers with the bare
/// ticket number and titles the ticket with the whole body. Both ask for
/// the same capabilities, so the installation's grants fit either.
fn versions() -> [(String, Vec<u8>); 2] {
    let old = WIT010_CHANNEL
        .manifest_text()
        .replace("id = \"wit010-channel\"", "id = \"hello-channel\"")
        .replace("capabilities = [\"tickets\"]", "capabilities = [\"tickets\", \"storage\"]");
    [(HELLO_CHANNEL.manifest_text(), HELLO_CHANNEL.wasm_bytes()), (old, WIT010_CHANNEL.wasm_bytes())]
}

/// What one request got back, and which version it says served it.
#[derive(Debug)]
enum Served {
    /// hello-channel: the ticket's number from its JSON answer.
    Hello(u64),
    /// The WIT 0.1.0 component: the ticket's number as bare text.
    Old(u64),
}

/// 64 clients post to a plugin's public route while it is upgraded ten
/// times, alternating between two components. No request fails, and each
/// one was served wholly by one version: its answer is in that version's
/// form, and the ticket it opened is titled the way that version titles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_under_load_drop_nothing_and_each_request_sees_one_version() {
    let s = Arc::new(Server::start().await);
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let [(hello_manifest, hello_wasm), (old_manifest, old_wasm)] = versions();
    s.install_with(&hello_manifest, hello_wasm.clone()).await.expect(201);
    s.enable("ops", "hello-channel", json!({"count_submissions": false}), &["tickets", "storage"]).await.expect(201);

    let done = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for client in 0..64 {
        let (s, done) = (Arc::clone(&s), Arc::clone(&done));
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0;
            // Every client keeps going until the upgrades are over, and
            // sends at least a few requests after.
            while !done.load(Ordering::Relaxed) || n < 3 {
                let title = format!("c{client}-{n}");
                let body = json!({"title": title}).to_string();
                let response = s
                    .raw(reqwest::Method::POST, "/c/ops/hello-channel/")
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("the request reaches the server");
                let status = response.status().as_u16();
                let text = response.text().await.expect("body");
                seen.push((status, text, title, body));
                n += 1;
            }
            seen
        }));
    }
    for round in 0..10 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let (manifest, wasm) = if round % 2 == 0 { (&old_manifest, &old_wasm) } else { (&hello_manifest, &hello_wasm) };
        let manifest = manifest.replace("version = \"0.1.0\"", &format!("version = \"0.2.{round}\""));
        s.install_with(&manifest, wasm.clone()).await.expect(200);
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    done.store(true, Ordering::Relaxed);

    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.expect("client"));
    }
    let failed: Vec<_> = answers.iter().filter(|(status, ..)| *status != 201).collect();
    assert!(failed.is_empty(), "{} of {} requests failed, such as {:?}", failed.len(), answers.len(), failed.first());

    // Each answer is in one version's form, and its ticket is titled the
    // way that version titles.
    let mut titles: HashMap<u64, String> = HashMap::new();
    loop {
        let page = s.get(&format!("/api/teams/ops/tickets?limit=1000&offset={}", titles.len())).await.expect(200);
        let page = page.as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            break;
        }
        titles.extend(
            page.iter().map(|t| (t["id"].as_u64().expect("id"), t["title"].as_str().expect("title").to_owned())),
        );
    }
    let (mut hello, mut old) = (0, 0);
    for (_, text, title, body) in &answers {
        let served = match serde_json::from_str::<Value>(text) {
            Ok(Value::Number(n)) => Served::Old(n.as_u64().expect("a ticket number")),
            Ok(answer) => Served::Hello(answer["ticket"].as_u64().unwrap_or_else(|| panic!("no ticket in {text}"))),
            Err(e) => panic!("an answer in neither version's form: {text:?} ({e})"),
        };
        match served {
            Served::Hello(id) => {
                hello += 1;
                assert_eq!(titles.get(&id), Some(title), "hello-channel titles from the field");
            }
            Served::Old(id) => {
                old += 1;
                assert_eq!(titles.get(&id), Some(body), "the old component titles with the whole body");
            }
        }
    }
    assert_eq!(titles.len(), answers.len(), "one ticket per request");
    assert!(hello > 0 && old > 0, "both versions served: {hello} and {old}");
    println!(
        "{} requests during 10 upgrades: {hello} served by hello-channel, {old} by the old component",
        answers.len()
    );
}

/// Runs `switchboard plugin …` offline or against `base`; returns whether it
/// succeeded, its stdout and its stderr.
async fn cli(args: &[&str]) -> (bool, String, String) {
    support::plugin_cli(None, args).await
}

/// Uploads a bundle file's bytes as the admin.
async fn upload(s: &Server, bytes: Vec<u8>) -> support::Reply {
    let form =
        reqwest::multipart::Form::new().part("bundle", reqwest::multipart::Part::bytes(bytes).file_name("p.bundle"));
    let response = s
        .raw(reqwest::Method::POST, "/api/plugins?wait=true")
        .bearer_auth(support::ADMIN)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    support::Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), text, request_id: None }
}

/// A vendor makes a key, packs and signs a plugin with the command line;
/// a server that trusts the key installs it and says who signed it. A
/// bundle changed after signing (a widened capability, another component,
/// another README), an unsigned one and one signed by an unknown key are
/// refused, each with its reason; an unsigned one installs only where the
/// admin allowed unsigned bundles.
#[tokio::test]
async fn signed_bundles_install_and_tampered_or_unsigned_ones_are_refused() {
    use switchboard_server::bundle::Bundle;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (ok, public, err) = cli(&["keygen", "--out", &path("vendor.key")]).await;
    assert!(ok, "{err}");
    let public = public.trim().to_owned();
    assert_eq!(std::fs::read_to_string(path("vendor.key.pub")).expect("public key file").trim(), public);
    let mode = std::fs::metadata(path("vendor.key")).expect("key").permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600, "the secret key is private");
    let readme = path("README.md");
    std::fs::write(&readme, "# Hello channel\n").expect("readme");
    let (ok, _, err) = cli(&[
        "pack",
        "--manifest",
        HELLO_CHANNEL.manifest,
        "--component",
        HELLO_CHANNEL.wasm,
        "--readme",
        &readme,
        "--out",
        &path("hello.bundle"),
    ])
    .await;
    assert!(ok, "{err}");
    let unsigned = std::fs::read(path("hello.bundle")).expect("bundle");
    let (ok, _, err) = cli(&["sign", &path("hello.bundle"), "--key", &path("vendor.key")]).await;
    assert!(ok, "{err}");
    let signed = std::fs::read(path("hello.bundle")).expect("bundle");

    let key = switchboard_server::bundle::parse_public_key(&public).expect("key");
    let s = Server::start_with(|c| c.trusted_keys = vec![key]).await;
    let original = Bundle::parse(&signed).expect("bundle");
    let widened = Bundle {
        manifest: original.manifest.replace(
            "capabilities = [\"tickets\", \"storage\"]",
            "capabilities = [\"tickets\", \"storage\", \"http:evil.example\"]",
        ),
        ..original.clone()
    };
    assert_ne!(widened.manifest, original.manifest);
    let mut other = original.clone();
    other.component = WIT010_CHANNEL.wasm_bytes();
    let reworded = Bundle { readme: "# Something else\n".into(), ..original.clone() };
    for tampered in [widened, other, reworded] {
        upload(&s, tampered.to_bytes()).await.expect_error(422, "invalid_field", "changed after signing");
    }
    upload(&s, unsigned.clone()).await.expect_error(422, "invalid_field", "not signed");
    let (ok, _, err) = cli(&["keygen", "--out", &path("stranger.key")]).await;
    assert!(ok, "{err}");
    let mut stranger = original.clone();
    let seed = hex::decode(std::fs::read_to_string(path("stranger.key")).expect("key").trim()).expect("hex");
    stranger.sign(&switchboard_server::bundle::VendorKey::from_seed(&seed).expect("seed"));
    upload(&s, stranger.to_bytes()).await.expect_error(422, "invalid_field", "not among the trusted vendor keys");
    upload(&s, b"PK\x03\x04".to_vec()).await.expect_error(422, "invalid_field", "not a plugin bundle");
    assert_eq!(s.get("/api/plugins").await.expect(200), json!([]), "nothing refused was installed");

    // The signed bundle, through the command line.
    let (ok, out, err) =
        cli(&["install", "--bundle", &path("hello.bundle"), "--url", &s.base, "--token", support::ADMIN]).await;
    assert!(ok, "{err}");
    let installed: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        (installed["id"].as_str(), installed["signed_by"].as_str()),
        (Some("hello-channel"), Some(public.as_str()))
    );

    // Unsigned bundles install only where the admin allows them.
    let lax = Server::start_with(|c| c.allow_unsigned_bundles = true).await;
    let plugin = upload(&lax, unsigned).await.expect(201);
    assert_eq!(plugin["signed_by"], Value::Null);
}
