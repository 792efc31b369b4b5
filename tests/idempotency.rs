//! `Idempotency-Key` end to end: a retry gets the first answer, also after
//! the server was killed between the write and the retry; the same key with
//! another request is refused; routes that cannot keep an answer say so.

mod support;

use serde_json::{Value, json};
use support::spawn_server;

const TOKEN: &str = "idempotency-admin-token";

async fn send(base: &str, method: reqwest::Method, path: &str, key: Option<&str>, body: Value) -> (u16, Value, bool) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).bearer_auth(TOKEN).json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let resp = request.send().await.expect("request");
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null), replayed)
}

/// A ticket created with a key, then the server SIGKILLed right after the
/// 201: the client retries after the restart and gets the same answer,
/// marked as replayed, and the team still has one ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_kill_gets_the_first_answer_and_makes_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, base) = spawn_server(dir.path(), TOKEN, &[]).await;
    let post = reqwest::Method::POST;
    assert_eq!(send(&base, post.clone(), "/api/teams", Some("team-1"), json!({"name": "Ops"})).await.0, 201);
    let body = json!({"title": "Printer on fire", "priority": "urgent"});
    let (status, first, replayed) =
        send(&base, post.clone(), "/api/teams/ops/tickets", Some("t-1"), body.clone()).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("reaped");

    let (_child, base) = spawn_server(dir.path(), TOKEN, &[]).await;
    let (status, again, replayed) =
        send(&base, post.clone(), "/api/teams/ops/tickets", Some("t-1"), body.clone()).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again, first, "the same answer, byte for byte as JSON");
    let (status, _, _) = send(&base, post.clone(), "/api/teams", Some("team-1"), json!({"name": "Ops"})).await;
    assert_eq!(status, 201, "the team's key replays too instead of a 409");
    let list = send(&base, reqwest::Method::GET, "/api/teams/ops/tickets", None, Value::Null).await.1;
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    // The same key with another body is refused; without a key, or with a
    // new one, the write is made.
    let other = json!({"title": "Another printer"});
    let (status, refused, _) = send(&base, post.clone(), "/api/teams/ops/tickets", Some("t-1"), other.clone()).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["field"], "Idempotency-Key");
    assert_eq!(send(&base, post.clone(), "/api/teams/ops/tickets", Some("t-2"), other).await.0, 201);

    // PATCH and messages keep their answers the same way.
    let id = first["id"].as_u64().expect("id");
    let patch = json!({"stage": "In Progress", "fields": {"order": "A-1"}});
    let path = format!("/api/tickets/{id}");
    let (status, patched, _) = send(&base, reqwest::Method::PATCH, &path, Some("p-1"), patch.clone()).await;
    assert_eq!(status, 200, "{patched}");
    let (status, again, replayed) = send(&base, reqwest::Method::PATCH, &path, Some("p-1"), patch).await;
    assert_eq!((status, replayed, again), (200, true, patched));
    let note = json!({"kind": "note", "body": "Called the customer"});
    let path = format!("/api/tickets/{id}/messages");
    assert_eq!(send(&base, post.clone(), &path, Some("m-1"), note.clone()).await.0, 201);
    assert!(send(&base, post.clone(), &path, Some("m-1"), note).await.2, "the note is replayed");
    let thread = send(&base, reqwest::Method::GET, &path, None, Value::Null).await.1;
    let notes = thread.as_array().expect("thread").iter().filter(|m| m["kind"] == "note").count();
    assert_eq!(notes, 1, "one note for two requests");
}

/// A route that cannot keep its answer refuses the header, saying why,
/// rather than ignore it; a malformed key is a 422 too.
#[tokio::test]
async fn routes_that_cannot_keep_an_answer_say_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_child, base) = spawn_server(dir.path(), TOKEN, &[]).await;
    let (status, body, _) =
        send(&base, reqwest::Method::POST, "/api/users", Some("u-1"), json!({"name": "Ada", "role": "agent"})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("token"), "{body}");
    let (status, body, _) =
        send(&base, reqwest::Method::POST, "/api/teams", Some("two words"), json!({"name": "X"})).await;
    assert_eq!(status, 422, "{body}");
    let users = send(&base, reqwest::Method::GET, "/api/users", None, Value::Null).await.1;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "no user was created");
}
