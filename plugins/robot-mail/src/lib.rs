//! Switchboard's mail robot: when a ticket enters a stage whose robots name
//! it, it e-mails the ticket's contact from one of the team's mailboxes,
//! through the host's outbox, once per run.

use serde::Deserialize;
use switchboard_sdk::compose::{self, Message};
use switchboard_sdk::host::{mail, storage};
use switchboard_sdk::stage::{Plan, Run, RunOutcome};
use switchboard_sdk::types::{Contact, PointKind};
use switchboard_sdk::{Info, Outcome, PluginError, Robot, RunContext, StageRobot};

/// Which of the contact's addresses to write to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressType {
    /// Their first address, else their company's first.
    #[default]
    Automatic,
    /// The first work address.
    Work,
    /// The first personal (home) address.
    Personal,
    /// The first other address.
    Other,
}

/// The robot's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `automatic` or an address.
    #[serde(default = "automatic")]
    pub from: String,
    /// The subject, rendered by the host.
    #[serde(default)]
    pub subject: String,
    /// The text, rendered by the host.
    #[serde(default)]
    pub text: String,
    /// Which address to write to.
    #[serde(default)]
    pub address_type: AddressType,
}

fn automatic() -> String {
    "automatic".to_owned()
}

/// The address of `contact` of `kind`, or why there is none.
pub fn pick_address(contact: Option<&Contact>, kind: AddressType) -> Result<String, String> {
    let Some(contact) = contact else {
        return Err("the ticket has no contact".to_owned());
    };
    let (wanted, name) = match kind {
        AddressType::Automatic => {
            let company = contact.company.as_ref().and_then(|c| c.emails.first());
            return contact
                .emails
                .first()
                .or(company)
                .map(|e| e.address.clone())
                .ok_or_else(|| "the contact has no e-mail address, nor has their company".to_owned());
        }
        AddressType::Work => (PointKind::Work, "work"),
        AddressType::Personal => (PointKind::Home, "personal"),
        AddressType::Other => (PointKind::Other, "other"),
    };
    contact
        .emails
        .iter()
        .find(|e| e.kind == wanted)
        .map(|e| e.address.clone())
        .ok_or_else(|| format!("the contact has no {name} e-mail address"))
}

/// A mail a run would send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The sender.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The text.
    pub text: String,
}

/// What a run would send, or why it would not.
pub fn mail_for(settings: &Settings, context: &RunContext) -> Result<Mail, String> {
    let (subject, text) = (settings.subject.trim(), settings.text.trim());
    if subject.is_empty() || text.is_empty() {
        return Err("the subject or the text is empty".into());
    }
    let to = pick_address(context.contact.as_ref(), settings.address_type)?;
    let from = if settings.from == "automatic" { mail::team_address() } else { settings.from.clone() };
    if from.is_empty() {
        return Err("the team has no address to send from".into());
    }
    Ok(Mail { from, to, subject: subject.to_owned(), text: text.to_owned() })
}

struct MailRobot;

impl Robot for MailRobot {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("E-mail", "E-mails the ticket's contact from one of the team's mailboxes")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        let from = &settings.from;
        let plausible = from == "automatic"
            || from
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !from.contains(char::is_whitespace));
        if !plausible {
            return Err(PluginError::invalid_settings(format!("from: \"{from}\" is neither automatic nor an address")));
        }
        Ok(())
    }

    fn run(_: Settings, _: RunContext) -> Outcome {
        Outcome::Skipped("the mail robot runs on stages only, where each run sends once".into())
    }
}

impl StageRobot for MailRobot {
    fn run_stage(settings: Settings, context: RunContext, run: Run) -> RunOutcome {
        let m = match mail_for(&settings, &context) {
            Ok(m) => m,
            Err(why) => return RunOutcome::Skipped(why),
        };
        let claim = format!("mail/{}", run.id);
        match storage::set_if_absent(&claim, b"") {
            Ok(true) => {}
            Ok(false) => return RunOutcome::Skipped("an earlier attempt of this run already queued the mail".into()),
            Err(e) => return RunOutcome::Failed(e),
        }
        let domain = m.from.rsplit('@').next().unwrap_or("localhost");
        let id: String = run.id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '.' }).collect();
        let raw = compose::compose(&Message {
            from_name: &context.team.name,
            from: &m.from,
            to: &m.to,
            subject: &m.subject,
            message_id: &format!("<robot-mail.{id}@{domain}>"),
            references: &[],
            date: &compose::now_rfc3339(),
            body: &m.text,
            automatic: true,
        });
        let sent = raw.and_then(|raw| {
            mail::send(&mail::Outgoing {
                ticket: context.ticket.id,
                entry: None,
                sender: m.from.clone(),
                recipients: vec![m.to.clone()],
                raw,
            })
        });
        match sent {
            Ok(entry) => RunOutcome::Done(format!("mail to {} from {} queued (entry {entry})", m.to, m.from)),
            Err(e) => {
                // Nothing was queued: give the claim back, so that a retry
                // of a failure that may pass can send.
                let _ = storage::delete(&claim);
                RunOutcome::Failed(e)
            }
        }
    }

    fn preview(settings: Settings, context: RunContext) -> Result<Plan, PluginError> {
        Ok(match mail_for(&settings, &context) {
            Ok(m) => Plan::Act { summary: format!("mail to {} from {}: {}", m.to, m.from, m.subject), content: m.text },
            Err(why) => Plan::Skip(why),
        })
    }
}

switchboard_sdk::export_stage_robot!(MailRobot);

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::testing::{self, FakeHost};
    use switchboard_sdk::types::{Email, NewTicket};

    fn context(emails: Vec<Email>) -> RunContext {
        let new = NewTicket {
            title: "Hi".into(),
            description: "Help".into(),
            priority: None,
            contact: None,
            external_key: None,
        };
        let mut c = testing::run_context(switchboard_sdk::host::tickets::create(&new).expect("ticket"));
        c.contact = Some(Contact { id: 1, name: "Ann".into(), emails, phones: vec![], company: None });
        c
    }

    fn settings(kind: AddressType) -> Settings {
        Settings { from: automatic(), subject: "Your request".into(), text: "We are on it".into(), address_type: kind }
    }

    #[test]
    fn the_address_type_picks_the_address_or_says_why_not() {
        let _host = FakeHost::start();
        let c = context(vec![
            Email { address: "ann@work.example".into(), kind: PointKind::Work },
            Email { address: "ann@home.example".into(), kind: PointKind::Home },
        ]);
        assert_eq!(pick_address(c.contact.as_ref(), AddressType::Personal), Ok("ann@home.example".into()));
        assert_eq!(pick_address(c.contact.as_ref(), AddressType::Automatic), Ok("ann@work.example".into()));
        assert_eq!(
            pick_address(c.contact.as_ref(), AddressType::Other),
            Err("the contact has no other e-mail address".into())
        );
    }

    #[test]
    fn a_run_queues_one_mail_from_the_team_address() {
        let host = FakeHost::start();
        let c = context(vec![Email { address: "ann@work.example".into(), kind: PointKind::Work }]);
        let run = Run { id: "4/2/1".into(), attempt: 1 };
        let done = MailRobot::run_stage(settings(AddressType::Automatic), c.clone(), run.clone());
        assert!(
            matches!(&done, RunOutcome::Done(d) if d.starts_with("mail to ann@work.example from test@help.example.test queued")),
            "{done:?}"
        );
        let again = MailRobot::run_stage(settings(AddressType::Automatic), c, run);
        assert!(matches!(again, RunOutcome::Skipped(_)));
        let outbox = host.outbox();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].recipients, ["ann@work.example"]);
        let raw = String::from_utf8_lossy(&outbox[0].raw).to_string();
        assert!(raw.contains("From: \"Test\" <test@help.example.test>\r\n"), "{raw}");
        assert!(raw.contains("Message-ID: <robot-mail.4.2.1@help.example.test>\r\n"), "{raw}");
    }

    #[test]
    fn a_bad_from_is_a_settings_error() {
        let s = Settings { from: "nobody".into(), ..settings(AddressType::Automatic) };
        assert!(MailRobot::validate(&s).is_err());
    }
}
