//! The smallest Switchboard robot: it appends an internal note to the
//! ticket it runs on. `{ticket}` and `{team}` in the note are replaced by
//! the ticket number and the team's name.

use serde::Deserialize;
use switchboard_sdk::host::tickets;
use switchboard_sdk::types::MessageKind;
use switchboard_sdk::{Info, Outcome, PluginError, Robot, RunContext};

/// The longest note accepted.
const MAX_NOTE: usize = 1000;

/// The installation's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The note to add.
    #[serde(default = "default_note")]
    pub note: String,
}

fn default_note() -> String {
    "Hello from hello-robot on ticket {ticket} of {team}".into()
}

/// The note with its placeholders filled in.
pub fn render(note: &str, ticket: u64, team: &str) -> String {
    note.replace("{ticket}", &ticket.to_string()).replace("{team}", team)
}

struct HelloRobot;

impl Robot for HelloRobot {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("Hello robot", "Appends a note to the ticket")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        if settings.note.chars().count() > MAX_NOTE {
            return Err(PluginError::invalid_settings(format!("note: longer than {MAX_NOTE} characters")));
        }
        Ok(())
    }

    fn run(settings: Settings, context: RunContext) -> Outcome {
        if settings.note.trim().is_empty() {
            return Outcome::Skipped("the note is empty".into());
        }
        let body = render(&settings.note, context.ticket.id, &context.team.name);
        match tickets::append_message(context.ticket.id, MessageKind::Note, &body) {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Failed(e),
        }
    }
}

switchboard_sdk::export_robot!(HelloRobot);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_placeholders() {
        assert_eq!(render("#{ticket} for {team}", 7, "Ops"), "#7 for Ops");
        assert_eq!(render(&default_note(), 1, "Ops"), "Hello from hello-robot on ticket 1 of Ops");
    }
}
