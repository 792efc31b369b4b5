//! Plugin secrets: settings a manifest's schema marks `writeOnly` are
//! write-only through the API and the command line, sealed at rest with a
//! key file beside the data directory, never logged, and used by plugins
//! through the host's `secrets` import (here: hello-channel checking signed
//! webhooks with HMAC-SHA256, the key never entering the plugin).

mod support;

use serde_json::{Value, json};

const TOKEN: &str = "secrets-admin-token";
const KEY: &str = "whsec-9f8e7d6c5b4a39281706";

/// The real binary on `data`, its log (at debug level) written to `log`.
async fn start(data: &std::path::Path, log: &std::path::Path) -> (tokio::process::Child, String) {
    support::spawn_server_logging(data, TOKEN, &[("SWITCHBOARD_LOG", "debug")], log).await
}

/// Runs the command line against `base`; returns whether it succeeded and
/// what it printed.
async fn cli(base: &str, args: &[&str]) -> (bool, String) {
    let (ok, out, err) = support::plugin_cli(Some((base, TOKEN)), args).await;
    (ok, format!("{out}{err}"))
}

fn sign(key: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    format!("sha256={}", hex::encode(ring::hmac::sign(&key, body).as_ref()))
}

/// Posts a submission to hello-channel, signed with `key` when given.
async fn submit(client: &reqwest::Client, base: &str, title: &str, key: Option<&str>) -> (u16, String) {
    let body = json!({"title": title}).to_string();
    let mut request = client
        .post(format!("{base}/c/ops/hello-channel/"))
        .header("content-type", "application/json")
        .body(body.clone());
    if let Some(key) = key {
        request = request.header("x-signature", sign(key, body.as_bytes()));
    }
    let response = request.send().await.expect("post");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// Every file under `dir`, recursively, that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).expect("read dir").map(|e| e.expect("entry").path()));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[tokio::test]
async fn a_secret_is_write_only_sealed_at_rest_never_logged_and_checks_signatures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    let (mut child, base) = start(&data, &log).await;
    let client = reqwest::Client::new();
    let api =
        |method: reqwest::Method, path: &str| client.request(method, format!("{base}/api{path}")).bearer_auth(TOKEN);
    let team = api(reqwest::Method::POST, "/teams").json(&json!({"name": "Ops"})).send().await.expect("team");
    assert_eq!(team.status(), 201);
    let guest = &switchboard_artifacts::HELLO_CHANNEL;
    let (ok, printed) = cli(&base, &["install", "--manifest", guest.manifest, "--component", guest.wasm]).await;
    assert!(ok, "{printed}");

    // Enabled from the command line with a secret: the answer says it is
    // set and does not show it.
    let settings = json!({"title_prefix": "[hook] ", "signing_key": KEY}).to_string();
    let (ok, printed) = cli(
        &base,
        &[
            "enable",
            "hello-channel",
            "--team",
            "ops",
            "--settings",
            &settings,
            "--grant",
            "tickets",
            "--grant",
            "storage",
        ],
    )
    .await;
    assert!(ok, "{printed}");
    assert!(!printed.contains(KEY), "the cli printed the secret: {printed}");
    let shown: Value = serde_json::from_str(&printed).expect("the cli prints the installation as JSON");
    assert_eq!(shown["secrets"], json!({"signing_key": true}));
    assert_eq!(shown["settings"], json!({"title_prefix": "[hook] "}));
    let key_file = dir.path().join("data.key").metadata().expect("a key file beside the data directory");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key_file.permissions()) & 0o777, 0o600);

    // The host checks signatures with the key the plugin never sees.
    assert_eq!(submit(&client, &base, "unsigned", None).await.0, 401);
    assert_eq!(submit(&client, &base, "forged", Some("not-the-key-at-all")).await.0, 401);
    let (status, body) = submit(&client, &base, "signed", Some(KEY)).await;
    assert_eq!(status, 201, "{body}");

    // Editing other settings keeps the secret; the answers never show it.
    let edit = json!({"settings": {"title_prefix": "[edited] "}, "grants": ["tickets", "storage"]});
    let edited = api(reqwest::Method::PUT, "/teams/ops/plugins/hello-channel").json(&edit).send().await.expect("edit");
    assert_eq!(edited.status(), 200);
    let edited = edited.text().await.expect("body");
    assert!(!edited.contains(KEY), "{edited}");
    for path in ["/teams/ops/plugins", "/teams/ops/plugins/hello-channel", "/plugins/hello-channel", "/plugins"] {
        let text = api(reqwest::Method::GET, path).send().await.expect("get").text().await.expect("body");
        assert!(!text.contains(KEY), "{path} shows the secret: {text}");
    }
    assert_eq!(submit(&client, &base, "still signed", None).await.0, 401);

    // A secret too short for the schema is refused by the schema, naming it.
    let short = json!({"settings": {"signing_key": "short"}, "grants": ["tickets", "storage"]});
    let refused = api(reqwest::Method::PUT, "/teams/ops/plugins/hello-channel").json(&short).send().await.expect("put");
    assert_eq!(refused.status(), 422);
    let refused: Value = refused.json().await.expect("json");
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("settings/signing_key")), "{refused}");

    // After a restart the key file opens the sealed secret again.
    child.start_kill().expect("kill");
    child.wait().await.expect("wait");
    let (mut child, base) = start(&data, &log).await;
    let (status, body) = submit(&client, &base, "after restart", Some(KEY)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(submit(&client, &base, "unsigned after restart", None).await.0, 401);

    // `null` removes the secret; unsigned posts are taken again.
    let clear = json!({"settings": {"signing_key": null}, "grants": ["tickets", "storage"]});
    let api =
        |method: reqwest::Method, path: &str| client.request(method, format!("{base}/api{path}")).bearer_auth(TOKEN);
    let cleared = api(reqwest::Method::PUT, "/teams/ops/plugins/hello-channel").json(&clear).send().await.expect("put");
    assert_eq!(cleared.json::<Value>().await.expect("json")["secrets"], json!({"signing_key": false}));
    assert_eq!(submit(&client, &base, "open again", None).await.0, 201);
    child.start_kill().expect("kill");
    child.wait().await.expect("wait");

    // Nothing on disk or in the log holds the secret in plain text.
    assert_eq!(files_holding(&data, KEY.as_bytes()), Vec::<String>::new());
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("plugin enabled"), "the log was written at debug level");
    assert!(!logged.contains(KEY), "the log holds the secret");
}

/// Every function of WIT 0.1.4's `secrets` and `digest`, from inside a
/// real guest (misbehave-channel's `/secrets`): with the secret set, and
/// `not-found` without it; and no secret is visible to `validate-settings`
/// (the fixture refuses settings when it sees one).
#[tokio::test]
async fn the_secrets_and_digest_imports_do_what_the_wit_says() {
    let s = support::Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.install(&switchboard_artifacts::MISBEHAVE_CHANNEL).await.expect(201);
    let body = b"a webhook body";
    let report = |s: &support::Server| {
        let request = s.raw(reqwest::Method::POST, "/c/ops/misbehave-channel/secrets").body(body.to_vec()).send();
        async move { request.await.expect("post").json::<Value>().await.expect("json") }
    };
    let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, body));

    s.enable("ops", "misbehave-channel", json!({}), &[]).await.expect(201);
    let unset = report(&s).await;
    assert_eq!(
        unset,
        json!({"is_set": false, "hmac": "not found", "verify_good": {"Err": "not found"}, "verify_bad": {"Err": "not found"},
            "reveal": "not found", "sha256": sha256, "equal": true, "differ": false, "shorter": false})
    );

    // Enabling with the secret passes the fixture's validate-settings,
    // which refuses if it can see a secret.
    s.enable("ops", "misbehave-channel", json!({"secret": KEY}), &[]).await.expect(200);
    let set = report(&s).await;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, KEY.as_bytes());
    let mac = hex::encode(ring::hmac::sign(&key, body).as_ref());
    assert_eq!(
        set,
        json!({"is_set": true, "hmac": mac, "verify_good": {"Ok": true}, "verify_bad": {"Ok": false},
            "reveal": KEY, "sha256": sha256, "equal": true, "differ": false, "shorter": false})
    );
}

/// A plugin built before WIT 0.1.4 has no `secrets` import, so the host
/// still gives it its secrets inside its settings, as the WIT README says;
/// the API still shows only that the secret is set.
#[tokio::test]
async fn a_plugin_built_before_the_secrets_import_gets_them_in_its_settings() {
    let s = support::Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let fixture = &switchboard_artifacts::WIT010_CHANNEL;
    let manifest = format!(
        "{}\n[settings_schema]\ntype = \"object\"\n[settings_schema.properties.token]\ntype = \"string\"\nwriteOnly = true\n",
        fixture.manifest_text()
    );
    s.install_with(&manifest, fixture.wasm_bytes()).await.expect(201);
    let enabled = s.enable("ops", "wit010-channel", json!({"token": KEY}), &["tickets"]).await.expect(201);
    assert_eq!(enabled["secrets"], json!({"token": true}));
    assert_eq!(enabled["settings"], json!({}));
    let seen = s.raw(reqwest::Method::GET, "/c/ops/wit010-channel/settings").send().await.expect("get");
    assert_eq!(seen.json::<Value>().await.expect("json"), json!({"token": KEY}));
}
