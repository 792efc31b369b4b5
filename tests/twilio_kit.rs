//! A local stand-in for Twilio's REST API, started by the robot tests. It
//! checks each request as Twilio would (method, path, basic auth, content
//! type and form fields, exactly) and answers as Twilio does: 201 with a
//! JSON resource, a 400 JSON error (code 21211) for a number it is told is
//! bad, and 429 or 503 for the requests it is told to refuse. Whatever a
//! robot gets wrong is kept in `violations`, which a test checks is empty.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

/// The account the stand-in serves.
pub const ACCOUNT: &str = "AC00000000000000000000000000000042";
/// Its auth token.
pub const TOKEN: &str = "stand-in-auth-token";

/// A message or call the stand-in accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// `Messages` or `Calls`.
    pub resource: String,
    /// The SID it answered with.
    pub sid: String,
    /// The form's `To`.
    pub to: String,
    /// The form's `From`.
    pub from: String,
    /// The form's `Body` (a message) or `Twiml` (a call).
    pub content: String,
}

#[derive(Default)]
struct Inner {
    accepted: Vec<Accepted>,
    violations: Vec<String>,
    bad_numbers: BTreeSet<String>,
    /// Answers to give before accepting anything, in order: 429 or 503.
    refusals: Vec<u16>,
    requests: u64,
}

/// The running stand-in.
#[derive(Clone)]
pub struct Twilio {
    /// Its base URL, for the robots' `base_url`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Twilio {
    /// Starts it on a loopback port.
    pub async fn start() -> Twilio {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/2010-04-01/Accounts/{account}/{resource}", axum::routing::any(handle))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Twilio { base, inner }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What it accepted, in order.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.lock().accepted.clone()
    }

    /// What robots got wrong.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// How many requests reached it.
    pub fn requests(&self) -> u64 {
        self.lock().requests
    }

    /// Makes `number` a number Twilio refuses with 21211.
    pub fn refuse_number(&self, number: &str) {
        self.lock().bad_numbers.insert(number.to_owned());
    }

    /// Answers the next requests with these statuses (429 or 503), one
    /// each, before accepting again.
    pub fn refuse_next(&self, statuses: &[u16]) {
        self.lock().refusals.extend_from_slice(statuses);
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `xml` is well-formed, read to its end.
fn well_formed(xml: &str) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut depth = 0_i64;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            quick_xml::events::Event::Start(_) => depth += 1,
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    if depth == 0 { Ok(()) } else { Err(format!("{depth} elements left open")) }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    Path((account, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    inner.requests += 1;
    let mut wrong = |what: String| {
        inner.violations.push(what);
    };
    if method != Method::POST {
        wrong(format!("method {method}, not POST"));
        return error(StatusCode::METHOD_NOT_ALLOWED, 20004, "Method not allowed");
    }
    let (resource, wanted): (&str, [&str; 3]) = match resource.as_str() {
        "Messages.json" => ("Messages", ["To", "From", "Body"]),
        "Calls.json" => ("Calls", ["To", "From", "Twiml"]),
        other => {
            wrong(format!("path ends in {other:?}"));
            return error(StatusCode::NOT_FOUND, 20404, "The requested resource was not found");
        }
    };
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}")));
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if account != ACCOUNT || auth != expected {
        wrong(format!("account {account:?} with authorization {auth:?}"));
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type != "application/x-www-form-urlencoded" {
        wrong(format!("content type {content_type:?}"));
        return error(StatusCode::BAD_REQUEST, 21000, "Unsupported content type");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let names: Vec<&str> = form.iter().map(|(n, _)| n.as_str()).collect();
    if names != wanted {
        wrong(format!("{resource} form fields {names:?}, not {wanted:?}"));
        return error(StatusCode::BAD_REQUEST, 21604, "A 'To' phone number is required.");
    }
    let (to, from, content) = (form[0].1.clone(), form[1].1.clone(), form[2].1.clone());
    if !is_e164(&from) {
        wrong(format!("From {from:?}"));
        return error(StatusCode::BAD_REQUEST, 21212, "The 'From' number is not a valid phone number.");
    }
    if resource == "Calls"
        && let Err(e) = well_formed(&content)
    {
        wrong(format!("Twiml is not well-formed XML ({e}): {content}"));
        return error(StatusCode::BAD_REQUEST, 12100, "Document parse failure");
    }
    if !inner.refusals.is_empty() {
        let status = inner.refusals.remove(0);
        return match status {
            429 => error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests"),
            _ => error(StatusCode::SERVICE_UNAVAILABLE, 20503, "Service Unavailable"),
        };
    }
    if !is_e164(&to) || inner.bad_numbers.contains(&to) {
        return error(StatusCode::BAD_REQUEST, 21211, &format!("The 'To' number {to} is not a valid phone number."));
    }
    let prefix = if resource == "Messages" { "SM" } else { "CA" };
    let sid = format!("{prefix}{:032x}", inner.accepted.len() + 1);
    inner.accepted.push(Accepted {
        resource: resource.to_owned(),
        sid: sid.clone(),
        to: to.clone(),
        from: from.clone(),
        content,
    });
    let body = json!({
        "sid": sid, "account_sid": ACCOUNT, "to": to, "from": from, "status": "queued",
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT}/{resource}/{sid}.json"),
    });
    (StatusCode::CREATED, [("content-type", "application/json")], body.to_string()).into_response()
}
