//! End-to-end tests of plugins: the real server, the real components built
//! from `examples/` and `tests/fixtures/`, installed, enabled per team and
//! called through their public routes and robot runs.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN, Server};
use switchboard_artifacts::{HELLO_CHANNEL, HELLO_ROBOT, WIT010_CHANNEL};

async fn team(s: &Server, name: &str) {
    s.post("/api/teams", json!({"name": name})).await.expect(201);
}

async fn public_post(s: &Server, path: &str, body: Value) -> support::Reply {
    s.call(Method::POST, path, None, Some(body)).await
}

#[tokio::test]
async fn install_enable_and_call_through_the_public_route() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    team(&s, "Sales").await;
    let installed = s.install(&HELLO_CHANNEL).await.expect(201);
    assert_eq!((installed["id"].as_str(), installed["kind"].as_str()), (Some("hello-channel"), Some("channel")));
    assert_eq!(installed["loaded"], true);
    assert_eq!(installed["capabilities"], json!(["tickets", "storage"]));
    assert_eq!(installed["settings_schema"]["type"], "object");
    assert_eq!(s.get("/api/plugins").await.expect(200).as_array().map(Vec::len), Some(1));

    // Not enabled anywhere yet: the public route is a 404.
    public_post(&s, "/c/ops/hello-channel/", json!({"title": "x"})).await.expect_error(404, "not_found", "no channel");

    let enabled =
        s.enable("ops", "hello-channel", json!({"title_prefix": "[ops] "}), &["tickets", "storage"]).await.expect(201);
    assert_eq!(enabled["public_path"], "/c/ops/hello-channel/");
    assert_eq!(enabled["grants"], json!(["tickets", "storage"]));
    assert_eq!(enabled["limits"], json!({"cpu_ms": 100, "memory_mib": 64}));
    let got = s.get("/api/teams/ops/plugins/hello-channel").await.expect(200);
    assert_eq!(got["settings"], json!({"title_prefix": "[ops] "}));

    let usage = s.call(Method::GET, "/c/ops/hello-channel/", None, None).await;
    assert_eq!(usage.status, 200);
    assert!(usage.text.contains("POST a JSON or form body"));

    let created = public_post(
        &s,
        "/c/ops/hello-channel/",
        json!({"title": "Printer on fire", "name": "Ann", "email": "ann@example.com"}),
    )
    .await
    .expect(201);
    assert_eq!(created["title"], "[ops] Printer on fire");
    let ticket = s.get(&format!("/api/tickets/{}", created["ticket"])).await.expect(200);
    assert_eq!((ticket["team"].as_str(), ticket["origin"].as_str()), (Some("ops"), Some("hello-channel")));
    let contact = s.get("/api/contacts?email=ann@example.com").await.expect(200);
    assert_eq!((contact["name"].as_str(), &ticket["contact_id"]), (Some("Ann"), &contact["id"]));
    let thread = s.get(&format!("/api/tickets/{}/messages", created["ticket"])).await.expect(200);
    assert_eq!(thread[0]["author"], json!({"type": "plugin", "name": "hello-channel"}));

    // A form body works too, and the ticket lands in this team only.
    let form = s
        .raw(Method::POST, "/c/ops/hello-channel/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("title=From+a+form&email=bob%40example.com")
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 201);
    assert_eq!(s.tickets("ops").await.len(), 2);
    assert!(s.tickets("sales").await.is_empty());
    public_post(&s, "/c/sales/hello-channel/", json!({"title": "x"})).await.expect_error(
        404,
        "not_found",
        "team \"sales\"",
    );
    public_post(&s, "/c/ops/no-such-plugin/", json!({"title": "x"})).await.expect(404);
    // The plugin's own validation answers as it chooses.
    public_post(&s, "/c/ops/hello-channel/", json!({"title": " "})).await.expect(422);
}

#[tokio::test]
async fn one_plugin_in_two_teams_keeps_settings_and_storage_apart() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    team(&s, "Sales").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({"title_prefix": "[ops] ", "priority": "urgent"}), &["tickets", "storage"])
        .await
        .expect(201);
    s.enable("sales", "hello-channel", json!({"title_prefix": "[sales] "}), &["tickets", "storage"]).await.expect(201);
    let a = public_post(&s, "/c/ops/hello-channel/", json!({"title": "one"})).await.expect(201);
    let b = public_post(&s, "/c/ops/hello-channel/", json!({"title": "two"})).await.expect(201);
    let c = public_post(&s, "/c/sales/hello-channel/", json!({"title": "three"})).await.expect(201);
    assert_eq!(
        (a["submissions"].as_u64(), b["submissions"].as_u64(), c["submissions"].as_u64()),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!((b["title"].as_str(), c["title"].as_str()), (Some("[ops] two"), Some("[sales] three")));
    let ops = s.tickets("ops").await;
    assert!(ops.iter().all(|t| t["priority_name"] == "urgent"));
    let sales = s.tickets("sales").await;
    assert_eq!(sales.len(), 1);
    assert_eq!(sales[0]["priority_name"], "low");
    let teams: Vec<String> = s
        .get("/api/teams/ops/plugins")
        .await
        .expect(200)
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["plugin"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(teams, ["hello-channel"]);
    assert_eq!(s.get("/api/plugins/hello-channel").await.expect(200)["enabled_in"], 2);
}

#[tokio::test]
async fn settings_grants_and_limits_are_checked_before_enabling() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    // The manifest's JSON Schema is checked by the host before the plugin
    // sees the settings; its errors name the JSON pointer at fault.
    let bad = s.enable("ops", "hello-channel", json!({"priority": "critical"}), &["tickets"]).await;
    let body = bad.expect_error(422, "invalid_field", "settings/priority: \"critical\" is not one of");
    assert_eq!(body["field"], "settings");
    let bad =
        s.enable("ops", "hello-channel", json!({"colour": "red", "count_submissions": "yes"}), &["tickets"]).await;
    let body = bad.expect_error(422, "invalid_field", "settings: ");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("'colour' was unexpected"), "{detail}");
    assert!(detail.contains("settings/count_submissions: \"yes\" is not of type \"boolean\""), "{detail}");
    s.enable("ops", "hello-channel", json!({}), &["http:evil.example"]).await.expect_error(
        422,
        "invalid_field",
        "\"http:evil.example\" was not requested by plugin \"hello-channel\"",
    );
    s.enable("ops", "hello-channel", json!({}), &["sockets"]).await.expect_error(422, "invalid_field", "\"sockets\"");
    let granted = json!({"grants": ["tickets", "storage"], "limits": {"cpu_ms": 0, "memory_mib": 64}});
    s.put("/api/teams/ops/plugins/hello-channel", granted).await.expect_error(422, "invalid_field", "limits.cpu_ms");
    s.enable("ops", "nope", json!({}), &[]).await.expect_error(404, "not_found", "unknown plugin \"nope\"");
    s.enable("nope", "hello-channel", json!({}), &[]).await.expect_error(404, "not_found", "unknown team \"nope\"");
    assert_eq!(s.get("/api/teams/ops/plugins/hello-channel").await.status, 404);

    // Enabled without the tickets grant, the host call is denied. The
    // public caller gets a request id; the admin reads the missing
    // capability under it.
    s.put("/api/teams/ops/plugins/hello-channel", json!({"grants": ["storage"]})).await.expect_error(
        422,
        "invalid_field",
        "plugin \"hello-channel\" asks for \"tickets\", \"storage\"; grant or decline each (not decided: \"tickets\")",
    );
    s.put("/api/teams/ops/plugins/hello-channel", json!({"grants": ["storage"], "declined": ["storage"]}))
        .await
        .expect_error(422, "invalid_field", "\"storage\" is also granted");
    let enabled = s
        .put("/api/teams/ops/plugins/hello-channel", json!({"grants": ["storage"], "declined": ["tickets"]}))
        .await
        .expect(201);
    assert_eq!((enabled["grants"].clone(), enabled["declined"].clone()), (json!(["storage"]), json!(["tickets"])));
    assert_eq!(enabled["undecided"], json!([]));
    let denied = public_post(&s, "/c/ops/hello-channel/", json!({"title": "x"})).await.expect_error(
        502,
        "plugin_failed",
        "request id",
    );
    let failures = s.get("/api/plugins/hello-channel/failures").await.expect(200);
    assert_eq!(failures[0]["request_id"], denied["request_id"]);
    let detail = failures[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("capability \"tickets\" was not granted to plugin \"hello-channel\" in team \"ops\""),
        "{detail}"
    );
    // Updating the installation grants it.
    assert_eq!(s.enable("ops", "hello-channel", json!({}), &["storage", "tickets"]).await.status, 200);
    public_post(&s, "/c/ops/hello-channel/", json!({"title": "x"})).await.expect(201);

    // Agents cannot manage plugins.
    let agent = s.post("/api/users", json!({"name": "Ada", "role": "agent"})).await.expect(201)["token"]
        .as_str()
        .expect("t")
        .to_owned();
    s.call(Method::PUT, "/api/teams/ops/plugins/hello-channel", Some(&agent), Some(json!({}))).await.expect(403);
    s.call(Method::DELETE, "/api/plugins/hello-channel", Some(&agent), None).await.expect(403);
}

#[tokio::test]
async fn components_that_do_not_fit_their_manifest_are_refused() {
    let s = Server::start().await;
    // A robot component declared as a channel lacks the channel export.
    let as_channel = HELLO_ROBOT.manifest_text().replace("kind = \"robot\"", "kind = \"channel\"");
    s.install_with(&as_channel, HELLO_ROBOT.wasm_bytes()).await.expect_error(
        422,
        "invalid_field",
        "does not implement the channel world",
    );
    let as_robot = HELLO_CHANNEL.manifest_text().replace("kind = \"channel\"", "kind = \"robot\"");
    let refused =
        s.install_with(&as_robot, HELLO_CHANNEL.wasm_bytes()).await.expect_error(422, "invalid_field", "robot-handler");
    assert_eq!(refused["field"], "component");
    s.install_with(&HELLO_CHANNEL.manifest_text(), b"not wasm at all".to_vec()).await.expect_error(
        422,
        "invalid_field",
        "is not a valid component",
    );
    s.install_with(
        &HELLO_CHANNEL.manifest_text().replace("wit = \"0.1.11\"", "wit = \"0.2.0\""),
        HELLO_CHANNEL.wasm_bytes(),
    )
    .await
    .expect_error(422, "invalid_field", "this host links 0.1.0, 0.1.1");
    s.install_with("id = \"x\"", HELLO_CHANNEL.wasm_bytes()).await.expect_error(422, "invalid_field", "manifest");
    // A settings schema the host cannot use is the vendor's mistake, found
    // at install rather than when a team enables the plugin.
    let bad_schema = HELLO_CHANNEL.manifest_text().replace("type = \"boolean\"", "type = \"boolish\"");
    assert_ne!(bad_schema, HELLO_CHANNEL.manifest_text());
    s.install_with(&bad_schema, HELLO_CHANNEL.wasm_bytes()).await.expect_error(
        422,
        "invalid_field",
        "manifest.settings_schema: is not a usable JSON Schema",
    );
    let no_component = reqwest::multipart::Form::new().text("manifest", HELLO_CHANNEL.manifest_text());
    let resp =
        s.raw(Method::POST, "/api/plugins").bearer_auth(ADMIN).multipart(no_component).send().await.expect("send");
    assert_eq!(resp.status(), 422);
    assert!(s.get("/api/plugins").await.expect(200).as_array().is_some_and(Vec::is_empty), "nothing was installed");
}

#[tokio::test]
async fn uninstall_is_refused_while_enabled_and_disable_closes_the_route() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    s.delete("/api/plugins/hello-channel").await.expect_error(409, "conflict", "enabled for 1 teams");
    assert_eq!(s.delete("/api/teams/ops/plugins/hello-channel").await.status, 204);
    s.get("/api/teams/ops/plugins/hello-channel").await.expect_error(404, "not_found", "not enabled");
    public_post(&s, "/c/ops/hello-channel/", json!({"title": "x"})).await.expect(404);
    assert_eq!(s.delete("/api/plugins/hello-channel").await.status, 204);
    s.get("/api/plugins/hello-channel").await.expect_error(404, "not_found", "unknown plugin");
}

#[tokio::test]
async fn upgrade_swaps_the_code_and_keeps_settings_without_a_restart() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    let first = s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({"title_prefix": "[v1] "}), &["tickets", "storage"]).await.expect(201);
    let v1 = public_post(&s, "/c/ops/hello-channel/", json!({"title": "before"})).await.expect(201);
    assert_eq!(v1["title"], "[v1] before");

    // Version 0.2.0 is different code: it answers with the bare ticket id.
    let manifest = HELLO_CHANNEL
        .manifest_text()
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"")
        .replace("wit = \"0.1.11\"", "wit = \"0.1.0\"");
    // The manifest must name the WIT the component was built against.
    let claims_newer = manifest.replace("wit = \"0.1.0\"", "wit = \"0.1.11\"");
    s.install_with(&claims_newer, WIT010_CHANNEL.wasm_bytes()).await.expect_error(
        422,
        "invalid_field",
        "says it was built against WIT 0.1.11, but its component uses WIT 0.1.0",
    );
    let upgraded = s.install_with(&manifest, WIT010_CHANNEL.wasm_bytes()).await.expect(200);
    assert_eq!(upgraded["version"], "0.2.0");
    assert_ne!(upgraded["sha256"], first["sha256"]);
    assert_eq!(upgraded["installed_at"], first["installed_at"]);
    assert_eq!(upgraded["enabled_in"], 1);
    let v2 = s.raw(Method::POST, "/c/ops/hello-channel/").body("after").send().await.expect("post");
    assert_eq!(v2.status(), 201);
    let id: u64 = v2.text().await.expect("body").parse().expect("a bare ticket id");
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["title"], "after");
    assert_eq!(
        s.get("/api/teams/ops/plugins/hello-channel").await.expect(200)["settings"],
        json!({"title_prefix": "[v1] "})
    );
}

/// An upgrade that asks for more leaves each installation on the grants
/// it had, and shows the admin which teams have a capability to decide on.
#[tokio::test]
async fn an_upgrade_that_asks_for_more_keeps_the_old_grants_until_an_admin_decides() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    team(&s, "Sales").await;
    let narrow = HELLO_CHANNEL
        .manifest_text()
        .replace(r#"capabilities = ["tickets", "storage"]"#, r#"capabilities = ["tickets"]"#);
    s.install_with(&narrow, HELLO_CHANNEL.wasm_bytes()).await.expect(201);
    for team in ["ops", "sales"] {
        s.enable(team, "hello-channel", json!({"count_submissions": false}), &["tickets"]).await.expect(201);
    }
    let wider = HELLO_CHANNEL.manifest_text().replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    let upgraded = s.install_with(&wider, HELLO_CHANNEL.wasm_bytes()).await.expect(200);
    let awaiting = json!([{"team": "ops", "undecided": ["storage"]}, {"team": "sales", "undecided": ["storage"]}]);
    assert_eq!(upgraded["awaiting_grants"], awaiting, "the upgrade's answer says who must decide");
    assert_eq!(s.get("/api/plugins/hello-channel").await.expect(200)["awaiting_grants"], awaiting);
    let ops = s.get("/api/teams/ops/plugins/hello-channel").await.expect(200);
    assert_eq!((ops["grants"].clone(), ops["undecided"].clone()), (json!(["tickets"]), json!(["storage"])));
    // It goes on working on the grants it had.
    public_post(&s, "/c/ops/hello-channel/", json!({"title": "still served"})).await.expect(201);
    // Changing the installation means deciding.
    s.put("/api/teams/ops/plugins/hello-channel", json!({"grants": ["tickets"]})).await.expect_error(
        422,
        "invalid_field",
        "not decided: \"storage\"",
    );
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(200);
    s.enable("sales", "hello-channel", json!({}), &["tickets"]).await.expect(200);
    assert_eq!(s.get("/api/plugins/hello-channel").await.expect(200)["awaiting_grants"], json!([]));
    assert_eq!(s.get("/api/teams/sales/plugins/hello-channel").await.expect(200)["declined"], json!(["storage"]));
}

/// An upgrade that stops asking for a capability takes its grant away:
/// the code gets nothing from it, and a later version that asks for it
/// again must be granted it again.
#[tokio::test]
async fn an_upgrade_that_asks_for_less_forgets_the_dropped_grant() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({"count_submissions": true}), &["tickets", "storage"]).await.expect(201);
    let counted = public_post(&s, "/c/ops/hello-channel/", json!({"title": "counted"})).await.expect(201);
    assert_eq!(counted["submissions"], 1);

    let version = |v: &str| HELLO_CHANNEL.manifest_text().replace("version = \"0.1.0\"", &format!("version = \"{v}\""));
    let narrow = version("0.2.0").replace(r#"capabilities = ["tickets", "storage"]"#, r#"capabilities = ["tickets"]"#);
    s.install_with(&narrow, HELLO_CHANNEL.wasm_bytes()).await.expect(200);
    let ops = s.get("/api/teams/ops/plugins/hello-channel").await.expect(200);
    assert_eq!((ops["grants"].clone(), ops["undecided"].clone()), (json!(["tickets"]), json!([])));
    // The same code still calls storage, and is refused it.
    public_post(&s, "/c/ops/hello-channel/", json!({"title": "not counted"})).await.expect(502);

    let upgraded = s.install_with(&version("0.3.0"), HELLO_CHANNEL.wasm_bytes()).await.expect(200);
    assert_eq!(upgraded["awaiting_grants"], json!([{"team": "ops", "undecided": ["storage"]}]));
    public_post(&s, "/c/ops/hello-channel/", json!({"title": "still not counted"})).await.expect(502);
    s.enable("ops", "hello-channel", json!({"count_submissions": true}), &["tickets", "storage"]).await.expect(200);
    let counted = public_post(&s, "/c/ops/hello-channel/", json!({"title": "counted again"})).await.expect(201);
    assert_eq!(counted["submissions"], 2);
}

#[tokio::test]
async fn robot_runs_are_written_to_the_thread() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.install(&HELLO_ROBOT).await.expect(201);
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-robot", json!({"note": "Checked #{ticket} for {team}"}), &["tickets"]).await.expect(201);
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    // A robot has no public route, even when enabled.
    s.call(Method::GET, "/c/ops/hello-robot/", None, None).await.expect_error(404, "not_found", "hello-robot");
    let t = s.post("/api/teams/ops/tickets", json!({"title": "Robot me"})).await.expect(201);
    let id = t["id"].as_u64().expect("id");
    let run = s.post(&format!("/api/tickets/{id}/robots/hello-robot"), json!({})).await.expect(200);
    assert_eq!(run, json!({"robot": "hello-robot", "outcome": "done", "detail": null}));
    let thread = s.get(&format!("/api/tickets/{id}/messages")).await.expect(200);
    let lines: Vec<(String, String)> = thread
        .as_array()
        .expect("thread")
        .iter()
        .skip(1)
        .map(|m| (m["kind"].as_str().expect("k").to_owned(), m["body"].as_str().expect("b").to_owned()))
        .collect();
    assert_eq!(
        lines,
        [
            ("event".into(), "Robot hello-robot started by admin".into()),
            ("note".into(), format!("Checked #{id} for Ops")),
            ("event".into(), "Robot hello-robot done".into()),
        ]
    );

    s.enable("ops", "hello-robot", json!({"note": " "}), &["tickets"]).await.expect(200);
    let skipped = s.post(&format!("/api/tickets/{id}/robots/hello-robot"), json!({})).await.expect(200);
    assert_eq!((skipped["outcome"].as_str(), skipped["detail"].as_str()), (Some("skipped"), Some("the note is empty")));
    let last = s.last_message(id).await;
    assert_eq!(last["body"], "Robot hello-robot skipped: the note is empty");

    // Without the tickets grant the robot's call is denied: a failed run.
    s.enable("ops", "hello-robot", json!({}), &[]).await.expect(200);
    let failed = s.post(&format!("/api/tickets/{id}/robots/hello-robot"), json!({})).await.expect(200);
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["detail"].as_str().is_some_and(|d| d.contains("capability \"tickets\" was not granted")),
        "{failed}"
    );

    s.post(&format!("/api/tickets/{id}/robots/hello-channel"), json!({})).await.expect_error(
        409,
        "conflict",
        "not a robot",
    );
    s.post(&format!("/api/tickets/{id}/robots/nope"), json!({})).await.expect_error(404, "not_found", "\"nope\"");
}

#[tokio::test]
async fn a_restart_keeps_installations_and_does_not_recompile() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({"title_prefix": "[kept] "}), &["tickets", "storage"]).await.expect(201);
    let metrics = |text: &str, name: &str| -> u64 {
        text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok())).expect(name)
    };
    let before = s.call(Method::GET, "/metrics", Some(ADMIN), None).await.text;
    assert_eq!(metrics(&before, "switchboard_plugin_compilations_total "), 1);
    let dir = s.stop().await;

    let s = Server::start_in(dir, |_| {}).await;
    let after = s.call(Method::GET, "/metrics", Some(ADMIN), None).await.text;
    assert_eq!(metrics(&after, "switchboard_plugin_compilations_total "), 0, "nothing was recompiled");
    assert_eq!(metrics(&after, "switchboard_plugin_cache_loads_total "), 1);
    let inst = s.get("/api/teams/ops/plugins/hello-channel").await.expect(200);
    assert_eq!(
        (inst["settings"].clone(), inst["grants"].clone()),
        (json!({"title_prefix": "[kept] "}), json!(["tickets", "storage"]))
    );
    assert_eq!(s.get("/api/plugins/hello-channel").await.expect(200)["loaded"], true);
    let created = public_post(&s, "/c/ops/hello-channel/", json!({"title": "after restart"})).await.expect(201);
    assert_eq!(created["title"], "[kept] after restart");
}

#[tokio::test]
async fn a_component_built_against_wit_0_1_0_links_after_the_patch_bump() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    let installed = s.install(&WIT010_CHANNEL).await.expect(201);
    assert_eq!(installed["wit"], "0.1.0");
    s.enable("ops", "wit010-channel", json!({}), &["tickets"]).await.expect(201);
    let resp =
        s.raw(Method::POST, "/c/ops/wit010-channel/").body("Written by an old plugin").send().await.expect("post");
    assert_eq!(resp.status(), 201);
    let id = resp.text().await.expect("body");
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["title"], "Written by an old plugin");
}

#[tokio::test]
async fn shipped_plugins_are_installed_at_start_and_upgraded_when_their_version_changes() {
    let bundled = |version: &str| switchboard_server::BundledPlugin {
        manifest: HELLO_CHANNEL.manifest_text().replace("version = \"0.1.0\"", &format!("version = \"{version}\"")),
        wasm: HELLO_CHANNEL.wasm_bytes(),
    };
    let s = Server::start_with(|c| c.bundled = vec![bundled("0.1.0")]).await;
    let plugin = s.get("/api/plugins/hello-channel").await.expect(200);
    assert_eq!((plugin["bundled"].as_bool(), plugin["version"].as_str()), (Some(true), Some("0.1.0")));
    team(&s, "Ops").await;
    s.enable("ops", "hello-channel", json!({"title_prefix": "[b] "}), &["tickets", "storage"]).await.expect(201);
    let dir = s.stop().await;

    let s = Server::start_in(dir, |c| c.bundled = vec![bundled("0.3.0")]).await;
    assert_eq!(s.get("/api/plugins/hello-channel").await.expect(200)["version"], "0.3.0");
    assert_eq!(
        s.get("/api/teams/ops/plugins/hello-channel").await.expect(200)["settings"],
        json!({"title_prefix": "[b] "})
    );
    let dir = s.stop().await;

    // An older shipped version never downgrades what is installed.
    let s = Server::start_in(dir, |c| c.bundled = vec![bundled("0.2.0")]).await;
    assert_eq!(s.get("/api/plugins/hello-channel").await.expect(200)["version"], "0.3.0");
    public_post(&s, "/c/ops/hello-channel/", json!({"title": "still here"})).await.expect(201);
}

/// Many webhook senders do not follow a redirect on POST: the route
/// without its trailing slash serves the plugin's root as the one with it
/// does, and only pages (GET) are redirected, for their relative links.
#[tokio::test]
async fn a_post_without_the_trailing_slash_is_served() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    let created = public_post(&s, "/c/ops/hello-channel", json!({"title": "no slash"})).await.expect(201);
    let id = created["ticket"].as_u64().expect("ticket id");
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["title"], "no slash");
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let page = no_redirects.get(format!("{}/c/ops/hello-channel", s.base)).send().await.expect("send");
    assert_eq!(page.status(), 308, "a page is still redirected");
    public_post(&s, "/c/ops/nobody", json!({"title": "x"})).await.expect_error(404, "not_found", "no channel");
}

#[tokio::test]
async fn public_routes_are_rate_limited_and_size_capped() {
    let s = Server::start_with(|c| {
        c.public_rate = 1;
        c.public_burst = 3;
        c.public_body_limit = 1024;
    })
    .await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    let big = json!({"title": "x".repeat(2000)});
    // The refusal states the limit, so that a webhook sender's operator
    // knows what to change.
    public_post(&s, "/c/ops/hello-channel/", big).await.expect_error(
        413,
        "payload_too_large",
        "over the limit of this route, 1024 bytes",
    );
    for _ in 0..2 {
        assert_eq!(s.call(Method::GET, "/c/ops/hello-channel/", None, None).await.status, 200);
    }
    let limited = s.raw(Method::GET, "/c/ops/hello-channel/").send().await.expect("send");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    // The API is not behind the public limit.
    s.get("/api/teams").await.expect(200);

    // Probing for teams and plugins that do not exist is limited too, in
    // a bucket of its own: the 404s stop at the burst.
    let statuses: Vec<u16> = probe_statuses(&s, &["/c/nobody/hello-channel/", "/c/ops/nothing/", "/c/x/y/z"]).await;
    assert_eq!(&statuses[..3], &[404, 404, 404], "{statuses:?}");
    assert!(statuses[3..].iter().all(|&status| status == 429), "{statuses:?}");
}

/// GETs each path in turn, twice over, and gives the statuses.
async fn probe_statuses(s: &Server, paths: &[&str]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for path in paths.iter().chain(paths) {
        statuses.push(s.raw(Method::GET, path).send().await.expect("send").status().as_u16());
    }
    statuses
}

/// A webhook provider that sends bursts from a few addresses, or a form
/// that takes larger bodies, gets its own limits on its installation; other
/// plugins keep the server's defaults.
#[tokio::test]
async fn an_installation_sets_its_own_public_rate_and_body_limit() {
    let s = Server::start_with(|c| {
        c.public_rate = 1;
        c.public_burst = 3;
        c.public_body_limit = 1024;
    })
    .await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    let put = |limits: Value| json!({"settings": {}, "grants": ["tickets", "storage"], "public_limits": limits});
    let out = s
        .put("/api/teams/ops/plugins/hello-channel", put(json!({"rate": 50, "burst": 200, "body_bytes": 8192})))
        .await
        .expect(201);
    assert_eq!(
        out["public_limits"],
        json!({"rate": 50, "burst": 200, "body_bytes": 8192, "own": ["rate", "burst", "body_bytes"]})
    );
    // A burst of 150 from one address is taken, where the default allows 3.
    for i in 0..150 {
        let status = s.call(Method::GET, "/c/ops/hello-channel/", None, None).await.status;
        assert_eq!(status, 200, "request {i} of the burst");
    }
    // A body of 5000 bytes fits this route's limit, not the default.
    let created = public_post(&s, "/c/ops/hello-channel", json!({"title": "big", "description": "x".repeat(5000)}))
        .await
        .expect(201);
    assert!(created["ticket"].is_u64());
    public_post(&s, "/c/ops/hello-channel", json!({"title": "too big", "description": "x".repeat(9000)}))
        .await
        .expect_error(413, "payload_too_large", "over the limit of this route, 8192 bytes");
    // Out of range is refused, naming the field; leaving them out restores
    // the defaults.
    s.put("/api/teams/ops/plugins/hello-channel", put(json!({"body_bytes": 100}))).await.expect_error(
        422,
        "invalid_field",
        "100 is not between 1024 and 16777216",
    );
    let out =
        s.put("/api/teams/ops/plugins/hello-channel", json!({"grants": ["tickets", "storage"]})).await.expect(200);
    assert_eq!(out["public_limits"], json!({"rate": 1, "burst": 3, "body_bytes": 1024, "own": []}));
}

/// A channel that knows nothing of its visitor may still send an empty
/// `contact-info` (here, hello-channel with an empty name): that means no
/// contact, and the customer's request is kept, not failed.
#[tokio::test]
async fn an_empty_contact_means_no_contact() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({}), &["tickets", "storage"]).await.expect(201);
    let created =
        public_post(&s, "/c/ops/hello-channel/", json!({"title": "anonymous", "name": " "})).await.expect(201);
    let id = created["ticket"].as_u64().expect("ticket id");
    let ticket = s.get(&format!("/api/tickets/{id}")).await.expect(200);
    assert_eq!(ticket["title"], "anonymous");
    assert_eq!(ticket["contact_id"], Value::Null, "{ticket}");
}

/// Hosts before the WIT check accepted a manifest that misnamed its
/// component's WIT version. Such a plugin, already installed, still loads
/// at start (with a warning in the log) rather than going down.
#[tokio::test]
async fn a_plugin_installed_before_the_wit_check_still_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = support::open_store(&dir.path().join("data")).await;
        let text = HELLO_CHANNEL.manifest_text().replace("wit = \"0.1.11\"", "wit = \"0.1.1\"");
        let manifest = switchboard_server::parse_manifest(&text).expect("manifest");
        let wasm = HELLO_CHANNEL.wasm_bytes();
        let record = switchboard_core::PluginRecord {
            sha256: switchboard_runtime::sha256_hex(&wasm),
            size: wasm.len() as u64,
            manifest,
            bundled: false,
            signed_by: None,
            enabled_in: 0,
            installed_at: switchboard_core::Timestamp::UNIX_EPOCH,
            updated_at: switchboard_core::Timestamp::UNIX_EPOCH,
        };
        store.put_plugin(record, wasm).await.expect("put").durable().await.expect("durable");
    }
    let s = Server::start_in(dir, |c| c.bundled = Vec::new()).await;
    let plugin = s.get("/api/plugins/hello-channel").await.expect(200);
    assert_eq!((plugin["wit"].as_str(), plugin["loaded"].as_bool()), (Some("0.1.1"), Some(true)), "{plugin}");
}

/// An upgrade recorded just before a crash, whose installations were not
/// yet told, is finished at the next start: the dropped grant is
/// forgotten before anything is served.
#[tokio::test]
async fn a_dropped_grant_is_forgotten_at_start_after_a_crash() {
    let s = Server::start().await;
    team(&s, "Ops").await;
    s.install(&HELLO_CHANNEL).await.expect(201);
    s.enable("ops", "hello-channel", json!({"count_submissions": true}), &["tickets", "storage"]).await.expect(201);
    let dir = s.stop().await;
    {
        let store = support::open_store(&dir.path().join("data")).await;
        let mut record = store.plugin("hello-channel").await.expect("record");
        record.manifest.capabilities.retain(|c| c.to_string() != "storage");
        let wasm = store.plugin_code("hello-channel").await.expect("code");
        store.put_plugin(record, wasm).await.expect("put").durable().await.expect("durable");
        let stale = store.installation("ops", "hello-channel").await.expect("installation");
        assert_eq!(stale.grants.len(), 2, "the crash left the grant behind");
    }
    let s = Server::start_in(dir, |c| c.bundled = Vec::new()).await;
    let ops = s.get("/api/teams/ops/plugins/hello-channel").await.expect(200);
    assert_eq!(ops["grants"], json!(["tickets"]));
    public_post(&s, "/c/ops/hello-channel/", json!({"title": "not counted"})).await.expect(502);
}

/// The manifest's settings schema is the one the host enforces; a plugin
/// whose `describe()` returns a different one is refused at install, so
/// its author is not left guessing which counts. (misbehave-channel's
/// `describe()` repeats its manifest's `{"type": "object"}`.)
#[tokio::test]
async fn a_describe_schema_that_differs_from_the_manifest_is_refused() {
    let s = Server::start().await;
    let fixture = &switchboard_artifacts::MISBEHAVE_CHANNEL;
    let without = fixture.manifest_text().replace("[settings_schema]\ntype = \"object\"\n", "");
    assert_ne!(without, fixture.manifest_text());
    s.install_with(&without, fixture.wasm_bytes()).await.expect_error(
        422,
        "invalid_field",
        "differs from the schema the plugin's describe() returns",
    );
    assert_eq!(s.get("/api/plugins").await.expect(200), json!([]), "nothing was installed");
    s.install(fixture).await.expect(201);
}

/// Polls an install job until it ends.
async fn install_job_end(s: &Server, location: &str) -> Value {
    for _ in 0..600 {
        let job = s.get(location).await.expect(200);
        if matches!(job["phase"].as_str(), Some("installed" | "failed")) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the install did not end");
}

/// Compiling runs in the background: the upload answers 202 at once with an
/// install job, which reports its phase and ends with the plugin, or with
/// the error the upload would have got.
#[tokio::test]
async fn an_upload_answers_at_once_and_the_install_job_reports_how_it_ends() {
    let s = Server::start().await;
    let upload = |manifest: String, wasm: Vec<u8>| {
        s.raw(Method::POST, "/api/plugins").bearer_auth(ADMIN).multipart(support::plugin_upload(&manifest, wasm)).send()
    };
    let accepted = upload(HELLO_CHANNEL.manifest_text(), HELLO_CHANNEL.wasm_bytes()).await.expect("upload");
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().expect("location").to_owned();
    let job: Value = accepted.json().await.expect("job");
    assert_eq!(location, format!("/api/plugin-installs/{}", job["id"].as_str().expect("id")));
    assert_eq!((job["plugin"].as_str(), job["version"].as_str()), (Some("hello-channel"), Some("0.1.0")));
    assert!(
        ["queued", "compiling", "checking", "recording", "installed"].contains(&job["phase"].as_str().unwrap_or("")),
        "{job}"
    );
    let ended = install_job_end(&s, &location).await;
    assert_eq!((ended["phase"].as_str(), ended["status"].as_u64()), (Some("installed"), Some(201)), "{ended}");
    assert_eq!(ended["plugin_record"]["id"], "hello-channel");
    assert_eq!(s.get("/api/plugins/hello-channel").await.expect(200)["loaded"], true);

    // A component the host refuses after compiling ends the job failed,
    // with the reason the upload would have got.
    let fixture = &switchboard_artifacts::MISBEHAVE_CHANNEL;
    let mismatched = fixture.manifest_text().replace("[settings_schema]\ntype = \"object\"\n", "");
    let accepted = upload(mismatched, fixture.wasm_bytes()).await.expect("upload");
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().expect("location").to_owned();
    let ended = install_job_end(&s, &location).await;
    assert_eq!((ended["phase"].as_str(), ended["status"].as_u64()), (Some("failed"), Some(422)), "{ended}");
    assert!(ended["error"]["detail"].as_str().is_some_and(|d| d.contains("describe()")), "{ended}");
    s.get("/api/plugins/misbehave-channel").await.expect_error(404, "not_found", "misbehave-channel");
    s.get("/api/plugin-installs/0000").await.expect_error(404, "not_found", "unknown install job \"0000\"");
}
