//! The API against hostile input, as an attacker would send it: bodies at
//! the size limit shaped to be as costly as possible, characters that
//! spoof or break what people read, repeated keys, and requests that aim
//! at the answers of the extractors rather than of the handlers. Every
//! refusal must be a JSON `{error, detail}` with a 4xx status.

mod support;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN, Server};

/// How long any one request may take, however it is shaped. It is far
/// above what a sound rule needs even in a debug build, and far below the
/// seconds a quadratic rule took on these bodies.
const BOUND: Duration = Duration::from_secs(3);

async fn agent_token(s: &Server) -> String {
    let created = s.post("/api/users", json!({"name": "Ada", "role": "agent"})).await.expect(201);
    created["token"].as_str().expect("token").to_owned()
}

/// An object with as many distinct short keys as fit in `bytes`.
fn wide_object(bytes: usize) -> Value {
    let mut map = serde_json::Map::new();
    let mut size = 2;
    let mut i = 0;
    while size < bytes {
        let key = format!("k{i}");
        size += key.len() + 7;
        map.insert(key, json!("v"));
        i += 1;
    }
    Value::Object(map)
}

/// Bodies just under the 1 MiB limit, each aimed at a different cost:
/// many map entries in the places that take maps, one huge string in the
/// places that take text, and nesting past the parser's depth limit.
fn worst_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let limit = 1024 * 1024 - 1024;
    let wide = wide_object(limit - 200);
    let long = "\u{00e9}".repeat((limit - 200) / 2);
    let mut bodies = vec![
        ("many fields", json!({"title": "x", "fields": wide})),
        ("many settings", json!({"settings": wide, "grants": ["tickets"]})),
        ("many unknown keys", wide.clone()),
        ("long name", json!({"name": long, "title": long, "body": long})),
        ("long description", json!({"title": "x", "description": long})),
    ]
    .into_iter()
    .map(|(name, body)| (name, serde_json::to_vec(&body).expect("json")))
    .collect::<Vec<_>>();
    bodies.push(("deep nesting", format!("{}{}", "[".repeat(limit / 2), "]".repeat(limit / 2)).into_bytes()));
    bodies
}

#[tokio::test]
async fn the_worst_body_allowed_on_every_write_route_is_answered_in_time() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.post("/api/teams/ops/sla-policies", json!({"name": "p", "target_stage": 3, "hours": 4})).await.expect(201);
    s.post("/api/teams/ops/tickets", json!({"title": "first"})).await.expect(201);
    let doc = s.get("/api/openapi.json").await.expect(200);
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op["requestBody"]["content"].get("application/json").is_some() {
                let path = path.replace("{slug}", "ops").replace("{id}", "1").replace("{plugin}", "web-form");
                routes.push((method.to_uppercase(), path));
            }
        }
    }
    assert!(routes.len() >= 12, "every JSON write route is tried: {routes:?}");
    let bodies = worst_bodies();
    for (method, path) in &routes {
        for (shape, body) in &bodies {
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            let started = Instant::now();
            let reply = s
                .raw(method.clone(), path)
                .bearer_auth(ADMIN)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("send");
            let took = started.elapsed();
            let status = reply.status().as_u16();
            let text = reply.text().await.expect("body");
            assert!(took < BOUND, "{method} {path} with {shape} took {took:?}");
            assert!((200..500).contains(&status), "{method} {path} with {shape}: {status} {text}");
            if status >= 400 {
                let error: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                assert!(error["detail"].is_string(), "{method} {path} with {shape}: {text}");
            }
        }
    }
    // Nothing of that reached a ticket.
    let ticket = s.get("/api/tickets/1").await.expect(200);
    assert_eq!(ticket["fields"], json!({}));
}

#[tokio::test]
async fn a_ticket_with_too_many_fields_is_refused_before_the_work() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let body = json!({"title": "x", "fields": wide_object(900 * 1024)});
    let started = Instant::now();
    s.post("/api/teams/ops/tickets", body).await.expect_error(422, "invalid_field", "a ticket has at most 64");
    assert!(started.elapsed() < BOUND);
    // 64 fields is the limit, and it holds.
    let fields: serde_json::Map<String, Value> = (0..64).map(|i| (format!("f{i}"), json!("v"))).collect();
    s.post("/api/teams/ops/tickets", json!({"title": "x", "fields": fields})).await.expect(201);
}

#[tokio::test]
async fn the_role_is_checked_before_the_body() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let agent = agent_token(&s).await;
    // A body that is wrong in every way: an agent must still learn only
    // that the route is not theirs, not what the body should look like.
    let routes = [
        (Method::POST, "/api/teams"),
        (Method::POST, "/api/users"),
        (Method::POST, "/api/teams/ops/stages"),
        (Method::POST, "/api/teams/ops/sla-policies"),
        (Method::PUT, "/api/teams/ops/sla-policies/1"),
        (Method::PUT, "/api/teams/ops/stages/order"),
        (Method::PUT, "/api/teams/ops/plugins/web-form"),
    ];
    for (method, path) in routes {
        s.call(method.clone(), path, Some(&agent), Some(json!({"nonsense": true}))).await.expect_error(
            403,
            "forbidden",
            "needs an admin token",
        );
    }
    let upload = s
        .raw(Method::POST, "/api/plugins")
        .bearer_auth(&agent)
        .header("content-type", "text/plain")
        .body("not multipart")
        .send()
        .await
        .expect("send");
    assert_eq!(upload.status(), 403);
}

/// Sends a raw request and returns its status and JSON body; a body that
/// is not JSON fails the test.
async fn raw_json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let reply = request.bearer_auth(ADMIN).send().await.expect("send");
    let status = reply.status().as_u16();
    let text = reply.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not a JSON error: {status} {text:?}"));
    (status, body)
}

#[tokio::test]
async fn extractor_rejections_are_json_errors() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let (status, body) = raw_json(s.raw(Method::DELETE, "/api/teams/ops/stages/-1")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("-1")), "the detail names the bad segment: {body}");

    let (status, body) = raw_json(s.raw(Method::GET, "/api/teams/%FF%FE")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("UTF-8")), "{body}");

    let (status, body) = raw_json(s.raw(Method::GET, "/api/contacts?email=a&email=b&phone=%FF")).await;
    assert!((400..500).contains(&status), "{status} {body}");

    let upload = s.raw(Method::POST, "/api/plugins").header("content-type", "multipart/form-data").body("x");
    let (status, body) = raw_json(upload).await;
    assert_eq!((status, body["error"].as_str()), (415, Some("unsupported_media_type")), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("boundary")), "{body}");
}

#[tokio::test]
async fn bodies_are_objects_and_numbers_stay_in_their_range() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    // serde would fill a struct from an array of its fields in order.
    s.patch("/api/teams/ops", json!([null, "evil"])).await.expect_error(422, "invalid_field", "must be a JSON object");
    assert_eq!(s.get("/api/teams/ops").await.expect(200)["alias"], "ops");
    s.get("/api/teams/ops/tickets?offset=2147483648").await.expect_error(422, "invalid_field", "offset");
    s.get("/api/teams/ops/tickets?offset=2147483647").await.expect(200);
}

#[tokio::test]
async fn names_and_titles_refuse_control_and_direction_characters() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    for title in ["a\u{0}b", "colour \u{1b}[31mred", "tab\there"] {
        s.post("/api/teams/ops/tickets", json!({"title": title})).await.expect_error(
            422,
            "invalid_field",
            "control characters",
        );
    }
    s.post("/api/teams", json!({"name": "Evil\u{202e}moc.elgoog"})).await.expect_error(422, "invalid_field", "U+202E");
    s.patch("/api/teams/ops", json!({"name": "Ops\u{2066}"})).await.expect_error(422, "invalid_field", "U+2066");
    s.post("/api/users", json!({"name": "root\u{7}", "role": "agent"})).await.expect_error(
        422,
        "invalid_field",
        "U+0007",
    );
    s.post("/api/teams/ops/stages", json!({"name": "Done\u{202d}"})).await.expect_error(422, "invalid_field", "U+202D");
    // A look-alike letter from another script is a letter: "ѕupport" with
    // a Cyrillic "ѕ" is a valid name, and its slug shows the difference.
    let team = s.post("/api/teams", json!({"name": "\u{0455}upport"})).await.expect(201);
    assert_eq!(team["slug"], "dzupport");
    assert_eq!(team["name"], "\u{0455}upport");
}

#[tokio::test]
async fn numeric_settings_have_sane_bounds() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    for hours in [json!(1e-300), json!(0), json!(-1), json!(100_000)] {
        s.post("/api/teams/ops/sla-policies", json!({"name": "p", "target_stage": 3, "hours": hours}))
            .await
            .expect_error(422, "invalid_field", "hours");
    }
    let doc = s.get("/api/openapi.json").await.expect(200);
    let hours = &doc["components"]["schemas"]["PolicyIn"]["properties"]["hours"];
    assert_eq!(hours["minimum"].as_f64(), Some(switchboard_core::MIN_SLA_HOURS), "{hours}");
    assert_eq!(hours["maximum"].as_f64(), Some(switchboard_core::MAX_SLA_HOURS), "{hours}");
    let policy = json!({"name": "p", "target_stage": 3, "hours": switchboard_core::MIN_SLA_HOURS});
    s.post("/api/teams/ops/sla-policies", policy).await.expect(201);
}

#[tokio::test]
async fn repeated_json_keys_are_refused_everywhere() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let send = |method: Method, path: &str, body: &'static str| {
        s.raw(method, path).header("content-type", "application/json").body(body)
    };
    let cases = [
        (Method::POST, "/api/teams/ops/tickets", r#"{"title": "a", "title": "b"}"#, "\"title\" in the object at /"),
        (Method::POST, "/api/teams/ops/tickets", r#"{"title": "a", "fields": {"k": "1", "k": "2"}}"#, "at /fields"),
        (
            Method::PUT,
            "/api/teams/ops/plugins/web-form",
            r#"{"settings": {"title": "A", "title": "B"}, "grants": ["tickets"]}"#,
            "at /settings",
        ),
    ];
    for (method, path, body, needle) in cases {
        let (status, reply) = raw_json(send(method, path, body)).await;
        assert_eq!((status, reply["error"].as_str()), (400, Some("bad_request")), "{body}: {reply}");
        let detail = reply["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("duplicate key") && detail.contains(needle), "{body}: {detail}");
    }
    assert!(s.tickets("ops").await.is_empty());
    s.get("/api/teams/ops/plugins/web-form").await.expect(404);
}
