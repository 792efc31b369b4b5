//! The smallest Switchboard channel.
//!
//! `POST /c/<team>/hello-channel/` with a JSON body such as
//! `{"title": "…", "description": "…", "name": "…", "email": "…"}`, or the
//! same fields as an HTML form, opens a ticket in the team and answers with
//! its number and how many submissions this installation has seen. `GET`
//! answers with a short usage text.
//!
//! A submission with a `delivery` id, as webhooks carry, is taken once
//! however often it is sent, also when copies arrive at the same moment:
//! the ticket is opened with `tickets::create_or_get` keyed by the id (201
//! the first time, 200 with the same ticket after), and the first copy
//! alone wins `storage::set_if_absent` on `delivery:<id>`, which the answer
//! reports as `first_claim`.
//!
//! With the secret `signing_key` set, a POST must carry
//! `X-Signature: sha256=<hex HMAC-SHA256 of the body>`, as signed webhooks
//! do; the host checks it with the key, which never enters this plugin.

use serde::Deserialize;
use switchboard_sdk::host::{secrets, storage, tickets};
use switchboard_sdk::http::{Request, Response};
use switchboard_sdk::types::{ContactInfo, Email, NewTicket, PointKind, Priority};
use switchboard_sdk::{Channel, Info, PluginError};

/// The installation's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Count submissions in the installation's storage and report the
    /// count (default true). Each count is a durable write of its own.
    #[serde(default = "yes")]
    pub count_submissions: bool,
    /// Put in front of every title.
    #[serde(default)]
    pub title_prefix: String,
    /// The priority of new tickets: low, medium, high or urgent.
    #[serde(default)]
    pub priority: Option<String>,
}

fn yes() -> bool {
    true
}

/// What a submission carries.
#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Submission {
    /// The ticket's title.
    #[serde(default)]
    pub title: String,
    /// The request.
    #[serde(default)]
    pub description: String,
    /// The customer's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The customer's e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// The sender's id for this submission, if it may send it again.
    #[serde(default)]
    pub delivery: Option<String>,
}

/// Parses a priority name.
pub fn parse_priority(name: &str) -> Option<Priority> {
    match name {
        "low" => Some(Priority::Low),
        "medium" => Some(Priority::Medium),
        "high" => Some(Priority::High),
        "urgent" => Some(Priority::Urgent),
        _ => None,
    }
}

/// Reads a submission from a JSON or form body.
pub fn read_submission(request: &Request) -> Result<Submission, String> {
    let submission = match request.content_type().as_deref() {
        Some("application/json") => request.json::<Submission>()?,
        Some("application/x-www-form-urlencoded") => {
            let mut s = Submission::default();
            for (name, value) in request.form_pairs() {
                match name.as_str() {
                    "title" => s.title = value,
                    "description" => s.description = value,
                    "name" => s.name = Some(value),
                    "email" => s.email = Some(value),
                    "delivery" => s.delivery = Some(value),
                    _ => {}
                }
            }
            s
        }
        other => return Err(format!("send JSON or a form, not {}", other.unwrap_or("an untyped body"))),
    };
    if submission.title.trim().is_empty() {
        return Err("title: must not be empty".into());
    }
    Ok(submission)
}

/// Builds the ticket a submission opens.
pub fn new_ticket(settings: &Settings, submission: Submission) -> NewTicket {
    let contact = (submission.name.is_some() || submission.email.is_some()).then(|| ContactInfo {
        name: submission.name,
        emails: submission.email.into_iter().map(|address| Email { address, kind: PointKind::Other }).collect(),
        phones: Vec::new(),
    });
    NewTicket {
        title: format!("{}{}", settings.title_prefix, submission.title.trim()),
        description: submission.description,
        priority: settings.priority.as_deref().and_then(parse_priority),
        contact,
        external_key: submission.delivery.map(|id| format!("delivery:{id}")),
    }
}

struct HelloChannel;

impl Channel for HelloChannel {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("Hello channel", "Turns a POSTed JSON or form body into a ticket")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        match settings.priority.as_deref() {
            Some(p) if parse_priority(p).is_none() => {
                Err(PluginError::invalid_settings(format!("priority: \"{p}\" is not low, medium, high or urgent")))
            }
            _ => Ok(()),
        }
    }

    fn handle_http(settings: Settings, request: Request) -> Result<Response, PluginError> {
        match request.method.as_str() {
            "GET" => Ok(Response::text(
                200,
                "POST a JSON or form body with title, description, name and email to open a ticket.\n",
            )),
            "POST" => {
                if let Some(refusal) = check_signature(&request)? {
                    return Ok(refusal);
                }
                let submission = match read_submission(&request) {
                    Ok(s) => s,
                    Err(why) => return Ok(Response::json(422, &serde_json::json!({"error": why}))),
                };
                let ticket = new_ticket(&settings, submission);
                if let Some(key) = ticket.external_key.clone() {
                    return deliver_once(&ticket, &key);
                }
                let ticket = tickets::create(&ticket)?;
                let mut answer = serde_json::json!({"ticket": ticket.id, "title": ticket.title});
                if settings.count_submissions {
                    let count = storage::get_json::<u64>("submissions")?.unwrap_or(0) + 1;
                    storage::set_json("submissions", &count)?;
                    answer["submissions"] = count.into();
                }
                Ok(Response::json(201, &answer))
            }
            _ => Ok(Response::text(405, "use GET or POST\n").with_header("allow", "GET, POST")),
        }
    }
}

/// Refuses a POST whose signature is missing or wrong when the secret
/// `signing_key` is set; `None` lets it through.
fn check_signature(request: &Request) -> Result<Option<Response>, PluginError> {
    if !secrets::is_set("signing_key") {
        return Ok(None);
    }
    let Some(mac) = request.header("x-signature").and_then(|v| v.strip_prefix("sha256=")).and_then(decode_hex) else {
        return Ok(Some(Response::text(401, "missing X-Signature: sha256=<hex HMAC-SHA256 of the body>\n")));
    };
    if secrets::verify_hmac_sha256("signing_key", &request.body, &mac)? {
        Ok(None)
    } else {
        Ok(Some(Response::text(401, "X-Signature does not match the body\n")))
    }
}

/// Decodes hexadecimal text; `None` when it is not.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Opens the ticket of a submission that may arrive more than once, and
/// claims the delivery, each exactly once.
fn deliver_once(ticket: &NewTicket, key: &str) -> Result<Response, PluginError> {
    let got = tickets::create_or_get(ticket, &[])?;
    let first_claim = storage::set_if_absent(key, b"1")?;
    let answer = serde_json::json!({
        "ticket": got.ticket.id,
        "title": got.ticket.title,
        "created": got.created,
        "first_claim": first_claim,
    });
    Ok(Response::json(if got.created { 201 } else { 200 }, &answer))
}

switchboard_sdk::export_channel!(HelloChannel);

#[cfg(test)]
mod tests {
    use super::*;

    fn post(content_type: &str, body: &str) -> Request {
        Request {
            method: "POST".into(),
            headers: vec![("content-type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
            ..Request::default()
        }
    }

    #[test]
    fn reads_json_and_forms() {
        let json = read_submission(&post("application/json", r#"{"title": "Hi", "email": "a@b.co"}"#)).expect("json");
        assert_eq!((json.title.as_str(), json.email.as_deref()), ("Hi", Some("a@b.co")));
        let form =
            read_submission(&post("application/x-www-form-urlencoded", "title=Hi+there&name=Ann")).expect("form");
        assert_eq!((form.title.as_str(), form.name.as_deref()), ("Hi there", Some("Ann")));
        assert!(read_submission(&post("text/plain", "hi")).is_err());
        assert!(read_submission(&post("application/json", r#"{"title": " "}"#)).is_err());
    }

    fn settings() -> Settings {
        Settings { count_submissions: true, title_prefix: "[web] ".into(), priority: None }
    }

    fn json_body(response: &Response) -> serde_json::Value {
        serde_json::from_slice(&response.body).expect("a JSON answer")
    }

    /// The whole request path, host calls included, against the SDK's fake
    /// host: tickets, storage and secrets.
    #[test]
    fn a_post_opens_a_ticket_and_counts_it() {
        let host = switchboard_sdk::testing::FakeHost::start();
        for n in 1..=2u64 {
            let response =
                HelloChannel::handle_http(settings(), post("application/json", r#"{"title": "Hi"}"#)).expect("handled");
            assert_eq!(response.status, 201);
            assert_eq!(json_body(&response)["submissions"], n);
        }
        assert_eq!(host.tickets().iter().map(|t| t.title.as_str()).collect::<Vec<_>>(), ["[web] Hi", "[web] Hi"]);
        assert_eq!(host.stored("submissions"), Some(b"2".to_vec()));
    }

    #[test]
    fn a_delivery_sent_twice_opens_one_ticket() {
        let host = switchboard_sdk::testing::FakeHost::start();
        let body = r#"{"title": "Order 7", "delivery": "d-7"}"#;
        let first = HelloChannel::handle_http(settings(), post("application/json", body)).expect("first");
        let again = HelloChannel::handle_http(settings(), post("application/json", body)).expect("again");
        assert_eq!((first.status, again.status), (201, 200));
        assert_eq!(json_body(&again)["first_claim"], false);
        assert_eq!(host.tickets().len(), 1);
    }

    #[test]
    fn with_a_signing_key_only_signed_posts_are_taken() {
        let host = switchboard_sdk::testing::FakeHost::start();
        host.secret("signing_key", "0123456789abcdef0123");
        let body = r#"{"title": "Signed"}"#;
        let unsigned = HelloChannel::handle_http(settings(), post("application/json", body)).expect("unsigned");
        assert_eq!(unsigned.status, 401);
        let mac = switchboard_sdk::host::secrets::hmac_sha256("signing_key", body.as_bytes()).expect("mac");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        let mut signed = post("application/json", body);
        signed.headers.push(("x-signature".into(), format!("sha256={hex}")));
        assert_eq!(HelloChannel::handle_http(settings(), signed).expect("signed").status, 201);
        assert_eq!(host.tickets().len(), 1);
    }

    #[test]
    fn signatures_are_hex() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_hex("0g"), None);
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("é1"), None);
    }

    #[test]
    fn settings_shape_the_ticket() {
        let settings =
            Settings { count_submissions: true, title_prefix: "[web] ".into(), priority: Some("high".into()) };
        let t = new_ticket(&settings, Submission { title: "Hi".into(), ..Submission::default() });
        assert_eq!((t.title.as_str(), t.priority), ("[web] Hi", Some(Priority::High)));
        assert!(t.contact.is_none());
        assert_eq!(t.external_key, None);
        let keyed = new_ticket(
            &settings,
            Submission { title: "Hi".into(), delivery: Some("d-1".into()), ..Submission::default() },
        );
        assert_eq!(keyed.external_key.as_deref(), Some("delivery:d-1"));
    }
}
