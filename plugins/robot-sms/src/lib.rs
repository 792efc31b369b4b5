//! Switchboard's SMS robot: when a ticket enters a stage whose robots name
//! it, it texts the ticket's contact through a Twilio-compatible provider
//! (`POST {base}/2010-04-01/Accounts/{sid}/Messages.json`), once per run,
//! and reports the provider's message SID for the ticket's thread.

use serde::Deserialize;
use switchboard_sdk::stage::{Plan, Run, RunOutcome};
use switchboard_sdk::{Info, Outcome, PluginError, Robot, RunContext, StageRobot};

#[path = "../../shared/twilio.rs"]
mod twilio;

use twilio::{NotAccepted, Provider};

/// The longest text, in characters, once rendered: what one SMS holds in
/// most encodings a helpdesk would send, with room for a signature.
pub const MAX_TEXT: usize = 200;

/// The robot's settings: the provider's (the team's installation) and the
/// message's (a stage's robot list).
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The provider, and whom to reach from which number.
    #[serde(flatten)]
    pub provider: Provider,
    /// The message, rendered by the host.
    #[serde(default)]
    pub text: String,
}

/// What a run would send, or why it would not.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// An SMS.
    Send {
        /// To this number.
        to: String,
        /// From this one.
        from: String,
        /// This text.
        body: String,
    },
    /// Nothing: the reason.
    Skip(String),
}

/// Works out what a run sends: the checks every run and every preview
/// make, in order.
pub fn message(settings: &Settings, context: &RunContext) -> Result<Message, PluginError> {
    let from = settings.provider.sender()?;
    let body = settings.text.trim();
    if body.is_empty() {
        return Ok(Message::Skip("the text is empty".into()));
    }
    let length = body.chars().count();
    if length > MAX_TEXT {
        return Ok(Message::Skip(format!("the text is {length} characters once rendered; the most is {MAX_TEXT}")));
    }
    Ok(match settings.provider.recipient(context.contact.as_ref()) {
        Ok(to) => Message::Send { to, from, body: body.to_owned() },
        Err(why) => Message::Skip(why),
    })
}

struct SmsRobot;

impl Robot for SmsRobot {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("SMS", "Texts the ticket's contact through a Twilio-compatible provider")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        settings.provider.check()?;
        let length = settings.text.chars().count();
        if length > MAX_TEXT {
            return Err(PluginError::invalid_settings(format!("text: {length} characters; the most is {MAX_TEXT}")));
        }
        Ok(())
    }

    fn run(_: Settings, _: RunContext) -> Outcome {
        // On demand there is no run id to claim the message by, so a
        // retried request could text the customer twice.
        Outcome::Skipped("the SMS robot runs on stages only, where each run sends once".into())
    }
}

impl StageRobot for SmsRobot {
    fn run_stage(settings: Settings, context: RunContext, run: Run) -> RunOutcome {
        let (to, from, body) = match message(&settings, &context) {
            Ok(Message::Send { to, from, body }) => (to, from, body),
            Ok(Message::Skip(why)) => return RunOutcome::Skipped(why),
            Err(e) => return RunOutcome::Failed(e),
        };
        let provider = &settings.provider;
        if let Err(e) = provider.ready() {
            return RunOutcome::Failed(e);
        }
        let fields = [("To", to.as_str()), ("From", from.as_str()), ("Body", body.as_str())];
        match twilio::claimed_post(provider, &run.id, "Messages", &fields) {
            Ok(sent) => RunOutcome::Done(format!("SMS {} to {to} from {from} ({})", sent.sid, sent.status)),
            Err(NotAccepted::AlreadyClaimed) => {
                RunOutcome::Skipped("an earlier attempt of this run already sent or tried to send it".into())
            }
            Err(NotAccepted::NotSent(e) | NotAccepted::Unknown(e)) => RunOutcome::Failed(e),
        }
    }

    fn preview(settings: Settings, context: RunContext) -> Result<Plan, PluginError> {
        Ok(match message(&settings, &context)? {
            Message::Send { to, from, body } => {
                Plan::Act { summary: format!("SMS to {to} from {from}"), content: body }
            }
            Message::Skip(why) => Plan::Skip(why),
        })
    }
}

switchboard_sdk::export_stage_robot!(SmsRobot);

#[cfg(test)]
mod tests;
