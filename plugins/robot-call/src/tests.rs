//! The robot's rules, run natively against the SDK's fake host.

use super::*;
use switchboard_sdk::bindings::switchboard::plugin::http::Response;
use switchboard_sdk::testing::{self, FakeHost};
use switchboard_sdk::types::{Contact, NewTicket, Phone, PointKind};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const URL: &str = "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json";

fn settings(extra: serde_json::Value) -> Settings {
    let mut value = serde_json::json!({"account_sid": SID, "from_numbers": ["+15550000001"]});
    if let (Some(v), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
        v.extend(extra);
    }
    serde_json::from_value(value).expect("settings")
}

/// A run context on a new ticket of the thread's fake host, for a contact
/// with one mobile number.
fn context() -> RunContext {
    let new = NewTicket {
        title: "Printer".into(),
        description: "It jams".into(),
        priority: None,
        contact: None,
        external_key: None,
    };
    let mut context = testing::run_context(switchboard_sdk::host::tickets::create(&new).expect("ticket"));
    let phones = vec![Phone { number: "+15552220000".into(), kind: PointKind::Mobile }];
    context.contact = Some(Contact { id: 1, name: "Ann".into(), emails: vec![], phones, company: None });
    context
}

#[test]
fn the_twiml_says_the_escaped_text_with_prosody() {
    let s = settings(
        serde_json::json!({"text": "Tom & Jerry <b>", "voice": "Polly.Joanna", "rate": "slow", "volume": "loud"}),
    );
    assert_eq!(
        twiml(&s),
        Ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say voice=\"Polly.Joanna\" language=\"en-US\"><prosody rate=\"slow\" volume=\"loud\">Tom &amp; Jerry &lt;b&gt;</prosody></Say></Response>".into())
    );
}

#[test]
fn a_recording_is_played_and_must_be_an_https_mp3() {
    let s = settings(serde_json::json!({"audio_url": "https://cdn.example/hello.mp3?a=1&b=2"}));
    assert_eq!(
        twiml(&s),
        Ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Play>https://cdn.example/hello.mp3?a=1&amp;b=2</Play></Response>".into())
    );
    for bad in ["http://cdn.example/a.mp3", "https://cdn.example/a.wav", "https://"] {
        let e = CallRobot::validate(&settings(serde_json::json!({"audio_url": bad}))).expect_err(bad);
        assert!(e.message().starts_with("audio_url:"), "{e:?}");
    }
    let both = settings(serde_json::json!({"audio_url": "https://a.example/x.mp3", "text": "hi"}));
    assert_eq!(CallRobot::validate(&both), Err(PluginError::invalid_settings("text: set text or audio_url, not both")));
}

#[test]
fn a_run_posts_to_calls_with_the_twiml_once() {
    let host = FakeHost::start();
    let created = serde_json::json!({"sid": "CA1", "status": "queued"}).to_string().into_bytes();
    host.secret("auth_token", "tok").answer("POST", URL, Response { status: 201, headers: vec![], body: created });
    let s = settings(serde_json::json!({"text": "Hello"}));
    let outcome = CallRobot::run_stage(s.clone(), context(), Run { id: "3/1/0".into(), attempt: 1 });
    assert_eq!(outcome, RunOutcome::Done("call CA1 to +15552220000 from +15550000001 (queued)".into()));
    let sent = host.sent();
    let form: Vec<(String, String)> =
        switchboard_sdk::http::Request { body: sent[0].body.clone(), ..Default::default() }.form_pairs();
    assert_eq!(form[0], ("To".into(), "+15552220000".into()));
    assert_eq!(form[2].1, twiml(&s).expect("twiml"));
    let again = CallRobot::run_stage(s, context(), Run { id: "3/1/0".into(), attempt: 2 });
    assert!(matches!(again, RunOutcome::Skipped(_)));
    assert_eq!(host.sent().len(), 1);
}

#[test]
fn no_text_and_no_recording_skips() {
    let _host = FakeHost::start();
    let plan = CallRobot::preview(settings(serde_json::json!({})), context()).expect("plan");
    assert_eq!(plan, Plan::Skip("the call has no text and no audio_url".into()));
}
