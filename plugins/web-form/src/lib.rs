//! The website form channel: each team gets a public support form at
//! `/c/<team>/web-form/` that opens tickets.
//!
//! The admin configures the page (title, intro, success message) and its
//! fields in order: what each fills on the ticket or contact, the kind of
//! input, label and its position, help line, placeholder, default,
//! required, and when it is shown. With no fields configured the form asks
//! for name, e-mail, subject and description.
//!
//! The page is rendered on the server and works without JavaScript; a small
//! script only shows and hides conditional fields. Submissions are checked
//! on the server, field by field; a browser gets the page back with its
//! values and a message beside each bad field, a JSON client a 422 with the
//! same messages. A valid one opens a ticket with its contact and custom
//! fields in one durable write, and the browser is sent to a thank-you page
//! with the ticket's reference. A honeypot field, a per-client limit on
//! submissions and escaping of every value keep abuse out.

pub mod formats;
pub mod render;
pub mod settings;
pub mod submission;
pub mod texts;

use switchboard_sdk::host::{log, rate_limit, tickets};
use switchboard_sdk::http::{Request, Response};
use switchboard_sdk::{Channel, Info, PluginError};

use crate::render::{FormState, form_page, thanks_page};
use crate::settings::{Field, Settings, Target};
use crate::submission::{FieldErrors, Values, evaluate};
use crate::texts::{Lang, Msg};

/// The form's stylesheet.
const FORM_CSS: &str = include_str!("../assets/form.css");
/// The script for conditional fields.
const FORM_JS: &str = include_str!("../assets/form.js");

/// Pages load only their own stylesheet and script, and post only to
/// themselves, so injected markup could neither run nor send data away.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
                   form-action 'self'; base-uri 'none'";

/// An HTML page with the headers every page gets.
fn page(status: u16, body: String) -> Response {
    Response::html(status, body)
        .with_header("content-security-policy", CSP)
        .with_header("referrer-policy", "same-origin")
        .with_header("cache-control", "no-store")
}

/// The form page with values, errors and a notice.
fn form_response(
    status: u16,
    settings: &Settings,
    form: &[Field],
    values: &Values,
    errors: &FieldErrors,
    notice: Option<&str>,
    lang: Lang,
) -> Response {
    page(status, form_page(settings, form, &FormState { values, errors, notice, lang }))
}

/// A JSON error in the host's shape, with per-field messages when given.
fn json_error(status: u16, error: &str, detail: &str, fields: Option<&FieldErrors>) -> Response {
    let mut body = serde_json::json!({"error": error, "detail": detail});
    if let Some(fields) = fields {
        body["fields"] = fields.to_json();
    }
    Response::json(status, &body)
}

/// The values a fresh form starts with: defaults, overridden by query
/// parameters named like a field (`?product=pro` pre-fills `product`).
pub fn initial_values(form: &[Field], query: Vec<(String, String)>) -> Values {
    Values::from_pairs(query.into_iter().filter(|(name, _)| form.iter().any(|f| f.name == *name)))
}

/// What a POST to the form ends in, before any host call: the response
/// for a rejected submission, or the accepted one.
pub enum Outcome {
    /// Answer with this and stop.
    Answer(Response),
    /// The honeypot was filled: answer as if it worked, open nothing.
    Trapped,
    /// Open this ticket.
    Open(Box<submission::Accepted>, Values),
}

/// Reads and checks a submission.
pub fn read_submission(settings: &Settings, form: &[Field], request: &Request) -> Outcome {
    let as_json = request.wants_json();
    let lang = texts::lang_for(request);
    let (values, mut errors) = match request.content_type().as_deref() {
        Some("application/json") => match Values::from_json(&request.body, lang) {
            Ok(read) => read,
            Err(why) => return Outcome::Answer(json_error(400, "bad_request", &why, None)),
        },
        Some("application/x-www-form-urlencoded") => (Values::from_pairs(request.form_pairs()), FieldErrors::default()),
        other => {
            let why = format!(
                "send the form as application/x-www-form-urlencoded or application/json, not {}",
                other.unwrap_or("an untyped body")
            );
            return Outcome::Answer(if as_json {
                json_error(415, "unsupported_media_type", &why, None)
            } else {
                Response::text(415, why)
            });
        }
    };
    if values.get(&settings.honeypot).is_some_and(|v| !v.is_empty()) {
        return Outcome::Trapped;
    }
    match evaluate(form, &values, lang) {
        Ok(accepted) if errors.is_empty() => return Outcome::Open(Box::new(accepted), values),
        Ok(_) => {}
        Err(found) => {
            for (name, message) in found.0 {
                errors.add(&name, message);
            }
        }
    }
    // Messages in form order, then any for names the form does not have.
    let position = |name: &str| form.iter().position(|f| f.name == name).unwrap_or(usize::MAX);
    errors.0.sort_by_key(|(name, _)| position(name));
    let detail = match errors.0.len() {
        1 => format!("field \"{}\": {}", errors.0[0].0, errors.0[0].1),
        n => texts::fields_need_attention(lang, n),
    };
    Outcome::Answer(if as_json {
        json_error(422, "invalid_submission", &detail, Some(&errors))
    } else {
        form_response(422, settings, form, &values, &errors, None, lang)
    })
}

fn submit(settings: &Settings, request: &Request) -> Result<Response, PluginError> {
    let form = settings.form();
    let as_json = request.wants_json();
    let lang = texts::lang_for(request);
    let (accepted, values) = match read_submission(settings, &form, request) {
        Outcome::Answer(response) => return Ok(response),
        Outcome::Trapped => {
            log::info(&format!("honeypot filled by {}; submission dropped", request.client_addr));
            return Ok(if as_json {
                Response::json(202, &serde_json::json!({"status": "received"}))
            } else {
                Response::redirect("thanks")
            });
        }
        Outcome::Open(accepted, values) => (accepted, values),
    };
    let limit = settings.rate_limit;
    let window = limit.per_minutes.saturating_mul(60);
    if let Some(wait) = rate_limit::take(&request.client_addr, limit.submissions, window) {
        let minutes = wait.div_ceil(60);
        let why = Msg::TooMany.with(lang, &[("minutes", &minutes.to_string())]);
        let response = if as_json {
            json_error(429, "too_many_requests", &why, None)
        } else {
            form_response(429, settings, &form, &values, &FieldErrors::default(), Some(&why), lang)
        };
        return Ok(response.with_header("retry-after", &wait.to_string()));
    }
    match tickets::create_with_fields(&accepted.new_ticket(settings), &accepted.fields()) {
        Ok(ticket) => Ok(if as_json {
            Response::json(201, &serde_json::json!({"ticket": ticket.id, "reference": format!("#{}", ticket.id)}))
        } else {
            Response::redirect(&format!("thanks?ticket={}", ticket.id))
        }),
        Err(e) => {
            // The visitor keeps what they typed; the admin finds the cause
            // in the log, tagged with this plugin and team.
            if let Some(errors) = refused_field(&form, &e, lang) {
                // The host judged a value the form's own checks let through:
                // it is still that field's error, for the visitor to fix.
                log::info(&format!("the host refused a value: {}", e.message()));
                return Ok(if as_json {
                    json_error(422, "invalid_submission", e.message(), Some(&errors))
                } else {
                    form_response(422, settings, &form, &values, &errors, None, lang)
                });
            }
            log::error(&format!("could not open a ticket from the form: {} ({})", e.message(), e.kind()));
            let (status, code, why) = refusal(&e, lang);
            Ok(if as_json {
                json_error(status, code, why, None)
            } else {
                form_response(status, settings, &form, &values, &FieldErrors::default(), Some(why), lang)
            })
        }
    }
}

/// The form field behind a value the host refused, with what to tell the
/// visitor. The host names the value's field first (`phone: "+999 1"
/// needs its country code…`), and each of those fields is filled from one
/// form target.
fn refused_field(form: &[Field], e: &PluginError, lang: Lang) -> Option<FieldErrors> {
    let PluginError::Permanent(message) = e else {
        return None;
    };
    let (host_field, _) = message.split_once(": ")?;
    let (target, advice) = match host_field {
        "email" => (Target::ContactEmail, Msg::Email),
        "phone" => (Target::ContactPhone, Msg::Phone),
        "name" => (Target::ContactName, Msg::CheckName),
        "title" => (Target::Title, Msg::CheckText),
        "description" => (Target::Description, Msg::CheckText),
        _ => return None,
    };
    let field = form.iter().find(|f| f.target == target)?;
    let mut errors = FieldErrors::default();
    errors.add(&field.name, advice.text(lang).to_owned());
    Some(errors)
}

/// What the visitor is told when the host refused the ticket. Only a
/// failure that may pass is "try again": retrying a refusal of what was
/// entered, or of how the form is set up, would fail the same way.
fn refusal(e: &PluginError, lang: Lang) -> (u16, &'static str, &'static str) {
    match e {
        PluginError::Transient(_) | PluginError::RateLimited(_) => (503, "unavailable", Msg::TryLater.text(lang)),
        PluginError::Permanent(_) => (422, "not_accepted", Msg::NotAccepted.text(lang)),
        PluginError::InvalidSettings(_) | PluginError::Denied(_) | PluginError::NotFound(_) => {
            (500, "form_unavailable", Msg::Unavailable.text(lang))
        }
    }
}

/// Answers one request to the form's routes.
pub fn respond(settings: &Settings, request: &Request) -> Result<Response, PluginError> {
    let lang = texts::lang_for(request);
    if !settings.published {
        return Ok(Response::text(404, format!("{}\n", Msg::NotPublished.text(lang))));
    }
    let method = request.method.as_str();
    let read = method == "GET" || method == "HEAD";
    match request.path.as_str() {
        "/" if read => {
            let form = settings.form();
            let values = initial_values(&form, request.query_pairs());
            Ok(form_response(200, settings, &form, &values, &FieldErrors::default(), None, lang))
        }
        "/" if method == "POST" => submit(settings, request),
        "/thanks" if read => {
            let reference = request.query_param("ticket").and_then(|t| t.parse::<u64>().ok());
            Ok(page(200, thanks_page(settings, reference, lang)))
        }
        "/form.css" if read => {
            Ok(Response::new(200, "text/css; charset=utf-8", FORM_CSS).with_header("cache-control", "max-age=3600"))
        }
        "/form.js" if read => {
            Ok(Response::new(200, "text/javascript; charset=utf-8", FORM_JS)
                .with_header("cache-control", "max-age=3600"))
        }
        "/" => Ok(Response::text(405, "use GET or POST\n").with_header("allow", "GET, HEAD, POST")),
        "/thanks" | "/form.css" | "/form.js" => Ok(Response::text(405, "use GET\n").with_header("allow", "GET, HEAD")),
        _ => Ok(Response::text(404, "Not found.\n")),
    }
}

struct WebForm;

impl Channel for WebForm {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("Website form", "A configurable public support form per team that opens tickets")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        settings.check()
    }

    fn handle_http(settings: Settings, request: Request) -> Result<Response, PluginError> {
        respond(&settings, &request)
    }
}

switchboard_sdk::export_channel!(WebForm);

#[cfg(test)]
mod tests {
    use super::*;

    fn post(content_type: &str, body: &str) -> Request {
        Request {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![("content-type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
            client_addr: "192.0.2.7".into(),
            ..Request::default()
        }
    }

    fn answer(outcome: Outcome) -> Response {
        match outcome {
            Outcome::Answer(r) => r,
            Outcome::Trapped => panic!("trapped"),
            Outcome::Open(..) => panic!("accepted"),
        }
    }

    const FORM: &str = "application/x-www-form-urlencoded";

    #[test]
    fn the_honeypot_traps_before_any_check() {
        let settings = Settings::default();
        let request = post(FORM, "website=http%3A%2F%2Fspam.example&name=");
        assert!(matches!(read_submission(&settings, &settings.form(), &request), Outcome::Trapped));
    }

    #[test]
    fn browsers_get_the_page_back_and_json_clients_a_422_with_the_same_messages() {
        let settings = Settings::default();
        let html = answer(read_submission(&settings, &settings.form(), &post(FORM, "name=Ann&email=nope")));
        assert_eq!(html.status, 422);
        let body = String::from_utf8(html.body).expect("utf-8");
        assert!(body.contains("value=\"nope\"") && body.contains("id=\"e-subject\">This field is required"));

        let json = answer(read_submission(
            &settings,
            &settings.form(),
            &post("application/json", r#"{"name": "Ann", "email": "nope"}"#),
        ));
        assert_eq!(json.status, 422);
        let body: serde_json::Value = serde_json::from_slice(&json.body).expect("json");
        assert_eq!(body["error"], "invalid_submission");
        assert_eq!(body["detail"], "3 fields need attention");
        assert_eq!(body["fields"]["email"], "Enter an e-mail address such as name@example.com");
        assert_eq!(body["fields"]["subject"], "This field is required");
    }

    #[test]
    fn other_bodies_are_refused_with_the_reason() {
        let settings = Settings::default();
        let r = answer(read_submission(&settings, &settings.form(), &post("text/plain", "hi")));
        assert_eq!(r.status, 415);
        let r = answer(read_submission(&settings, &settings.form(), &post("application/json", "[]")));
        assert_eq!(r.status, 400);
    }

    #[test]
    fn an_unpublished_form_is_not_found_and_paths_are_routed() {
        let get = |path: &str, settings: &Settings| {
            let request = Request { method: "GET".into(), path: path.into(), ..Request::default() };
            respond(settings, &request).expect("answer").status
        };
        let published = Settings::default();
        assert_eq!(get("/", &published), 200);
        assert_eq!(get("/form.js", &published), 200);
        assert_eq!(get("/nothing", &published), 404);
        assert_eq!(get("/", &Settings { published: false, ..Settings::default() }), 404);
        let delete = Request { method: "DELETE".into(), path: "/".into(), ..Request::default() };
        assert_eq!(respond(&published, &delete).expect("answer").status, 405);
    }

    #[test]
    fn the_query_prefills_known_fields_only() {
        let form = settings::default_fields();
        let values = initial_values(&form, vec![("subject".into(), "Order 17".into()), ("evil".into(), "x".into())]);
        assert_eq!((values.get("subject"), values.get("evil")), (Some("Order 17"), None));
    }
}
