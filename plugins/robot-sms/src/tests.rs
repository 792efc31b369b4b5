//! The robot's rules, run natively against the SDK's fake host.

use super::*;
use switchboard_sdk::bindings::switchboard::plugin::http::Response;
use switchboard_sdk::testing::{self, FakeHost};
use switchboard_sdk::types::{Company, Contact, Phone, PointKind};
use twilio::PhoneType;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const URL: &str = "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";

fn settings(text: &str) -> Settings {
    serde_json::from_value(serde_json::json!({
        "account_sid": SID, "from_numbers": ["+15550000001", "+15550000002"], "text": text,
    }))
    .expect("settings")
}

fn phone(number: &str, kind: PointKind) -> Phone {
    Phone { number: number.into(), kind }
}

/// A run context on a new ticket of the thread's fake host.
fn context(phones: Vec<Phone>, company: Vec<Phone>) -> RunContext {
    let ticket = switchboard_sdk::host::tickets::create(&switchboard_sdk::types::NewTicket {
        title: "Printer".into(),
        description: "It jams".into(),
        priority: None,
        contact: None,
        external_key: None,
    })
    .expect("ticket");
    let mut context = testing::run_context(ticket);
    let company = (!company.is_empty()).then(|| Company { name: "Acme".into(), emails: vec![], phones: company });
    context.contact = Some(Contact { id: 1, name: "Ann".into(), emails: vec![], phones, company });
    context
}

fn run(id: &str, attempt: u32) -> Run {
    Run { id: id.into(), attempt }
}

fn json(status: u16, body: serde_json::Value) -> Response {
    Response { status, headers: vec![], body: body.to_string().into_bytes() }
}

#[test]
fn the_phone_type_picks_the_number_or_says_why_not() {
    let _host = FakeHost::start();
    let c = context(vec![phone("+15551110000", PointKind::Work), phone("+15552220000", PointKind::Mobile)], vec![]);
    let pick = |kind| twilio::pick_phone(c.contact.as_ref(), kind);
    assert_eq!(pick(PhoneType::Automatic), Ok("+15551110000".into()));
    assert_eq!(pick(PhoneType::Mobile), Ok("+15552220000".into()));
    assert_eq!(pick(PhoneType::Home), Err("the contact has no home phone number".into()));
    let company_only = context(vec![], vec![phone("+15553330000", PointKind::Work)]);
    assert_eq!(twilio::pick_phone(company_only.contact.as_ref(), PhoneType::Automatic), Ok("+15553330000".into()));
    let nobody = context(vec![], vec![]);
    assert_eq!(
        twilio::pick_phone(nobody.contact.as_ref(), PhoneType::Automatic),
        Err("the contact has no phone number, nor has their company".into())
    );
}

#[test]
fn a_text_too_long_is_a_settings_error_and_too_long_once_rendered_a_skip() {
    let _host = FakeHost::start();
    let long = "x".repeat(MAX_TEXT + 1);
    let e = SmsRobot::validate(&settings(&long)).expect_err("too long");
    assert_eq!(e, PluginError::invalid_settings("text: 201 characters; the most is 200"));
    let c = context(vec![phone("+15552220000", PointKind::Mobile)], vec![]);
    assert_eq!(
        message(&settings(&long), &c),
        Ok(Message::Skip("the text is 201 characters once rendered; the most is 200".into()))
    );
    assert_eq!(message(&settings("  "), &c), Ok(Message::Skip("the text is empty".into())));
}

#[test]
fn bad_provider_settings_are_named() {
    let mut s = settings("hi");
    s.provider.account_sid = "AC123".into();
    assert!(SmsRobot::validate(&s).expect_err("sid").message().starts_with("account_sid: \"AC123\""));
    let mut s = settings("hi");
    s.provider.from_numbers = vec!["+15550000001".into(), "555".into()];
    assert!(SmsRobot::validate(&s).expect_err("number").message().starts_with("from_numbers[1]: \"555\""));
    let mut s = settings("hi");
    s.provider.from = Some("+15559999999".into());
    assert!(SmsRobot::validate(&s).expect_err("from").message().contains("not one of the provider's from_numbers"));
}

#[test]
fn a_run_posts_the_form_with_basic_auth_and_reports_the_sid() {
    let host = FakeHost::start();
    host.secret("auth_token", "tok").answer(
        "POST",
        URL,
        json(201, serde_json::json!({"sid": "SM1", "status": "queued"})),
    );
    let c = context(vec![phone("+15552220000", PointKind::Mobile)], vec![]);
    let outcome = SmsRobot::run_stage(settings("Ticket is in"), c, run("7/1/0", 1));
    assert_eq!(outcome, RunOutcome::Done("SMS SM1 to +15552220000 from +15550000001 (queued)".into()));
    let sent = host.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body, b"To=%2B15552220000&From=%2B15550000001&Body=Ticket+is+in");
    let auth = sent[0].headers.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone());
    assert_eq!(auth, Some(switchboard_sdk::http::basic_auth(SID, "tok")));
    assert_eq!(host.stored("claim/7/1/0"), Some(vec![]), "the run is claimed");
}

#[test]
fn a_second_attempt_of_a_run_that_sent_sends_nothing() {
    let host = FakeHost::start();
    host.secret("auth_token", "tok").answer(
        "POST",
        URL,
        json(201, serde_json::json!({"sid": "SM1", "status": "queued"})),
    );
    let c = context(vec![phone("+15552220000", PointKind::Mobile)], vec![]);
    SmsRobot::run_stage(settings("hi"), c.clone(), run("7/1/0", 1));
    let again = SmsRobot::run_stage(settings("hi"), c, run("7/1/0", 2));
    assert!(matches!(again, RunOutcome::Skipped(_)), "{again:?}");
    assert_eq!(host.sent().len(), 1);
}

#[test]
fn a_refusal_that_sent_nothing_gives_the_claim_back_and_a_server_error_keeps_it() {
    let host = FakeHost::start();
    host.secret("auth_token", "tok");
    let c = context(vec![phone("+15552220000", PointKind::Mobile)], vec![]);
    host.answer("POST", URL, json(429, serde_json::json!({"code": 20429, "message": "Too Many Requests"})));
    let busy = SmsRobot::run_stage(settings("hi"), c.clone(), run("7/1/0", 1));
    assert_eq!(
        busy,
        RunOutcome::Failed(PluginError::RateLimited("provider error 20429 (HTTP 429): Too Many Requests".into()))
    );
    assert_eq!(host.stored("claim/7/1/0"), None);
    host.answer("POST", URL, json(400, serde_json::json!({"code": 21211, "message": "The 'To' number is not valid"})));
    let bad = SmsRobot::run_stage(settings("hi"), c.clone(), run("8/1/0", 1));
    assert_eq!(
        bad,
        RunOutcome::Failed(PluginError::permanent("provider error 21211 (HTTP 400): The 'To' number is not valid"))
    );
    host.answer("POST", URL, json(500, serde_json::json!({})));
    let unknown = SmsRobot::run_stage(settings("hi"), c, run("9/1/0", 1));
    assert!(
        matches!(&unknown, RunOutcome::Failed(PluginError::Permanent(m)) if m.contains("may have been sent")),
        "{unknown:?}"
    );
    assert_eq!(host.stored("claim/9/1/0"), Some(vec![]));
}

#[test]
fn the_preview_shows_the_message_and_sends_nothing() {
    let host = FakeHost::start();
    let c = context(vec![phone("+15552220000", PointKind::Mobile)], vec![]);
    let plan = SmsRobot::preview(settings("Hello"), c).expect("plan");
    assert_eq!(plan, Plan::Act { summary: "SMS to +15552220000 from +15550000001".into(), content: "Hello".into() });
    assert!(host.sent().is_empty());
}
