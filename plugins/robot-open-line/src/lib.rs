//! Switchboard's open-line robot: when a ticket enters a stage whose robots
//! name it, it writes to the customer through the channel they last wrote
//! from (live chat, e-mail, WhatsApp: any channel that delivers replies),
//! as an agent's reply goes; or, when hidden, adds an internal note.
//!
//! It is safe to retry: the reply is keyed by the run id, so a second
//! attempt of a run sends nothing more, and the note is claimed by the run
//! id before it is written, so it is written at most once.

use serde::Deserialize;
use switchboard_sdk::host::{open_lines, storage, tickets};
use switchboard_sdk::stage::{Plan, Run, RunOutcome};
use switchboard_sdk::types::MessageKind;
use switchboard_sdk::{Info, Outcome, PluginError, Robot, RunContext, StageRobot};

/// The robot's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The message, rendered by the host.
    #[serde(default)]
    pub text: String,
    /// Whether it is an internal note instead.
    #[serde(default)]
    pub hidden: bool,
}

/// Why nothing goes to a ticket without an open line.
pub const NO_LINE: &str = "the ticket has no open line: the customer wrote through no channel that delivers replies";

/// What a run would do.
pub fn plan(settings: &Settings, ticket: u64) -> Result<Plan, PluginError> {
    let text = settings.text.trim();
    if text.is_empty() {
        return Ok(Plan::Skip("the text is empty".into()));
    }
    if settings.hidden {
        return Ok(Plan::Act { summary: "internal note".into(), content: text.to_owned() });
    }
    Ok(match open_lines::find(ticket)? {
        Some(channel) => {
            Plan::Act { summary: format!("message to the customer through {channel}"), content: text.to_owned() }
        }
        None => Plan::Skip(NO_LINE.into()),
    })
}

struct OpenLineRobot;

impl Robot for OpenLineRobot {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("Message to the open line", "Writes to the customer where they last wrote from, or adds a note")
    }

    fn run(_: Settings, _: RunContext) -> Outcome {
        Outcome::Skipped("the open-line robot runs on stages only, where each run writes once".into())
    }
}

impl StageRobot for OpenLineRobot {
    fn retry_safe() -> bool {
        true
    }

    fn run_stage(settings: Settings, context: RunContext, run: Run) -> RunOutcome {
        let ticket = context.ticket.id;
        let (summary, text) = match plan(&settings, ticket) {
            Ok(Plan::Act { summary, content }) => (summary, content),
            Ok(Plan::Skip(why)) => return RunOutcome::Skipped(why),
            Err(e) => return RunOutcome::Failed(e),
        };
        if settings.hidden {
            match storage::set_if_absent(&format!("note/{}", run.id), b"") {
                Ok(true) => {}
                Ok(false) => return RunOutcome::Skipped("an earlier attempt of this run added the note".into()),
                Err(e) => return RunOutcome::Failed(e),
            }
            return match tickets::append_message(ticket, MessageKind::Note, &text) {
                Ok(m) => RunOutcome::Done(format!("internal note {} added", m.id)),
                Err(e) => RunOutcome::Failed(e),
            };
        }
        match open_lines::send(ticket, &text, &run.id) {
            Ok(entry) => RunOutcome::Done(format!("{summary} (entry {entry})")),
            // The line closed since `find`: as if there had been none.
            Err(PluginError::NotFound(_)) => RunOutcome::Skipped(NO_LINE.into()),
            Err(e) => RunOutcome::Failed(e),
        }
    }

    fn preview(settings: Settings, context: RunContext) -> Result<Plan, PluginError> {
        plan(&settings, context.ticket.id)
    }
}

switchboard_sdk::export_stage_robot!(OpenLineRobot);

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::testing::{self, FakeHost};
    use switchboard_sdk::types::NewTicket;

    fn context() -> RunContext {
        let new = NewTicket {
            title: "Hi".into(),
            description: "Help".into(),
            priority: None,
            contact: None,
            external_key: None,
        };
        testing::run_context(tickets::create(&new).expect("ticket"))
    }

    fn settings(text: &str, hidden: bool) -> Settings {
        Settings { text: text.into(), hidden }
    }

    #[test]
    fn a_reply_goes_through_the_open_line_once_per_run() {
        let host = FakeHost::start();
        host.open_line("live-chat");
        let c = context();
        let run = Run { id: "1/1/0".into(), attempt: 1 };
        let done = OpenLineRobot::run_stage(settings("We are on it", false), c.clone(), run.clone());
        assert!(
            matches!(&done, RunOutcome::Done(d) if d.starts_with("message to the customer through live-chat")),
            "{done:?}"
        );
        let again = OpenLineRobot::run_stage(settings("We are on it", false), c.clone(), Run { attempt: 2, ..run });
        assert!(matches!(again, RunOutcome::Done(_)), "the keyed send answers the first entry");
        let replies: Vec<_> = host.messages(c.ticket.id).into_iter().filter(|m| m.kind == MessageKind::Reply).collect();
        assert_eq!(replies.len(), 1);
    }

    #[test]
    fn without_an_open_line_it_skips_and_a_hidden_one_is_a_note() {
        let host = FakeHost::start();
        let c = context();
        let run = Run { id: "1/1/0".into(), attempt: 1 };
        assert_eq!(
            OpenLineRobot::run_stage(settings("Hi", false), c.clone(), run.clone()),
            RunOutcome::Skipped(NO_LINE.into())
        );
        let done = OpenLineRobot::run_stage(settings("Call them", true), c.clone(), run.clone());
        assert!(matches!(done, RunOutcome::Done(_)));
        let twice = OpenLineRobot::run_stage(settings("Call them", true), c.clone(), run);
        assert!(matches!(twice, RunOutcome::Skipped(_)));
        let notes: Vec<_> = host.messages(c.ticket.id).into_iter().filter(|m| m.kind == MessageKind::Note).collect();
        assert_eq!(notes.len(), 1);
        assert_eq!(
            OpenLineRobot::preview(settings("x", true), c).expect("plan"),
            Plan::Act { summary: "internal note".into(), content: "x".into() }
        );
    }
}
