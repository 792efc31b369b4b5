//! Switchboard's call robot: when a ticket enters a stage whose robots
//! name it, it phones the ticket's contact through a Twilio-compatible
//! provider (`POST {base}/2010-04-01/Accounts/{sid}/Calls.json` with
//! TwiML), once per run. The call speaks a text (`<Say>`, with the speech
//! rate and volume as SSML `<prosody>`) or plays an `.mp3` (`<Play>`).

use serde::Deserialize;
use switchboard_sdk::stage::{Plan, Run, RunOutcome};
use switchboard_sdk::{Info, Outcome, PluginError, Robot, RunContext, StageRobot};

#[path = "../../shared/twilio.rs"]
mod twilio;

use twilio::{NotAccepted, Provider};

/// The longest text a call speaks, in characters, once rendered (Twilio's
/// `<Say>` takes up to 4,096; a message to listen to is shorter).
pub const MAX_TEXT: usize = 1000;

/// The robot's settings: the provider's (the team's installation) and the
/// call's (a stage's robot list).
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// The provider, and whom to reach from which number.
    #[serde(flatten)]
    pub provider: Provider,
    /// What the call says, rendered by the host.
    #[serde(default)]
    pub text: String,
    /// The voice.
    #[serde(default = "default_voice")]
    pub voice: String,
    /// The text's language.
    #[serde(default = "default_language")]
    pub language: String,
    /// The speech rate, an SSML `prosody` rate.
    #[serde(default = "default_level")]
    pub rate: String,
    /// The volume, an SSML `prosody` volume.
    #[serde(default = "default_level")]
    pub volume: String,
    /// A recording to play instead.
    #[serde(default)]
    pub audio_url: Option<String>,
}

fn default_voice() -> String {
    "alice".to_owned()
}

fn default_language() -> String {
    "en-US".to_owned()
}

fn default_level() -> String {
    "medium".to_owned()
}

/// Escapes text for XML content and attribute values.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all are left out.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether `url` is an https address of an `.mp3` file.
pub fn is_mp3_url(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    url.starts_with("https://") && url.len() > "https://".len() + 4 && path.to_ascii_lowercase().ends_with(".mp3")
}

/// The call's TwiML: what it says or plays, or why it would not call.
pub fn twiml(settings: &Settings) -> Result<String, String> {
    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>";
    if let Some(url) = settings.audio_url.as_deref().filter(|u| !u.is_empty()) {
        return Ok(format!("{HEAD}<Play>{}</Play></Response>", escape_xml(url)));
    }
    let text = settings.text.trim();
    if text.is_empty() {
        return Err("the call has no text and no audio_url".into());
    }
    let length = text.chars().count();
    if length > MAX_TEXT {
        return Err(format!("the text is {length} characters once rendered; the most is {MAX_TEXT}"));
    }
    Ok(format!(
        "{HEAD}<Say voice=\"{}\" language=\"{}\"><prosody rate=\"{}\" volume=\"{}\">{}</prosody></Say></Response>",
        escape_xml(&settings.voice),
        escape_xml(&settings.language),
        escape_xml(&settings.rate),
        escape_xml(&settings.volume),
        escape_xml(text)
    ))
}

/// What a run would do: call `to` from `from` with the TwiML, or skip.
pub fn call(
    settings: &Settings,
    context: &RunContext,
) -> Result<Result<(String, String, String), String>, PluginError> {
    let from = settings.provider.sender()?;
    let twiml = match twiml(settings) {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    Ok(settings.provider.recipient(context.contact.as_ref()).map(|to| (to, from, twiml)))
}

struct CallRobot;

impl Robot for CallRobot {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("Phone call", "Phones the ticket's contact and speaks a text or plays a recording")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        settings.provider.check()?;
        if let Some(url) = settings.audio_url.as_deref().filter(|u| !u.is_empty()) {
            if !is_mp3_url(url) {
                return Err(PluginError::invalid_settings(format!(
                    "audio_url: \"{url}\" is not an https URL of an .mp3 file"
                )));
            }
            if !settings.text.is_empty() {
                return Err(PluginError::invalid_settings("text: set text or audio_url, not both"));
            }
        }
        Ok(())
    }

    fn run(_: Settings, _: RunContext) -> Outcome {
        // On demand there is no run id to claim the call by, so a retried
        // request could ring the customer twice.
        Outcome::Skipped("the call robot runs on stages only, where each run calls once".into())
    }
}

impl StageRobot for CallRobot {
    fn run_stage(settings: Settings, context: RunContext, run: Run) -> RunOutcome {
        let (to, from, twiml) = match call(&settings, &context) {
            Ok(Ok(call)) => call,
            Ok(Err(why)) => return RunOutcome::Skipped(why),
            Err(e) => return RunOutcome::Failed(e),
        };
        let provider = &settings.provider;
        if let Err(e) = provider.ready() {
            return RunOutcome::Failed(e);
        }
        let fields = [("To", to.as_str()), ("From", from.as_str()), ("Twiml", twiml.as_str())];
        match twilio::claimed_post(provider, &run.id, "Calls", &fields) {
            Ok(placed) => RunOutcome::Done(format!("call {} to {to} from {from} ({})", placed.sid, placed.status)),
            Err(NotAccepted::AlreadyClaimed) => {
                RunOutcome::Skipped("an earlier attempt of this run already placed or tried to place the call".into())
            }
            Err(NotAccepted::NotSent(e) | NotAccepted::Unknown(e)) => RunOutcome::Failed(e),
        }
    }

    fn preview(settings: Settings, context: RunContext) -> Result<Plan, PluginError> {
        Ok(match call(&settings, &context)? {
            Ok((to, from, twiml)) => Plan::Act { summary: format!("call to {to} from {from}"), content: twiml },
            Err(why) => Plan::Skip(why),
        })
    }
}

switchboard_sdk::export_stage_robot!(CallRobot);

#[cfg(test)]
mod tests;
