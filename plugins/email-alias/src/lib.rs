//! Switchboard's e-mail alias channel. The host's SMTP listener accepts
//! mail for a team's alias and hands each message here: a new mail opens a
//! ticket, a reply is added to the ticket it answers, and auto-replies and
//! bounces never open one. The message is parsed here, in the sandbox, with
//! `mail-parser`. Agents' replies go back by mail from the team's alias,
//! threaded so that the customer's answer finds the ticket again.

// The modules name each other through `super::`, not `crate::`, so that
// the fuzz target in `fuzz/` can compile this source as a module of its own.
mod compose;
mod files;
mod html;
mod noise;
mod parse;
mod quote;
mod reply;
mod thread;

use serde::Deserialize;
use switchboard_sdk::http::{Request, Response};
use switchboard_sdk::mail::{InboundMail, MailOutcome, Reply};
use switchboard_sdk::{Channel, Info, MailChannel, PluginError};

/// The installation's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The most tickets one sender may open in an hour.
    #[serde(default = "default_per_sender")]
    pub new_tickets_per_sender_per_hour: u32,
    /// Answer each new ticket with an automatic acknowledgement.
    #[serde(default)]
    pub acknowledge_new_tickets: bool,
    /// The largest attachment kept, in bytes; a larger one is listed on
    /// the thread entry as dropped.
    #[serde(default = "default_attachment_cap")]
    pub max_attachment_bytes: u64,
}

fn default_per_sender() -> u32 {
    20
}

fn default_attachment_cap() -> u64 {
    10_000_000
}

struct EmailAlias;

impl Channel for EmailAlias {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("E-mail alias", "Mail to the team's alias opens tickets, and replies thread onto them")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        if settings.new_tickets_per_sender_per_hour == 0 {
            return Err(PluginError::InvalidSettings("new_tickets_per_sender_per_hour: must be at least 1".into()));
        }
        if settings.max_attachment_bytes > files::MAX_KEPT_BYTES {
            return Err(PluginError::InvalidSettings(format!(
                "max_attachment_bytes: {} is more than the {} bytes the host keeps for one message",
                settings.max_attachment_bytes,
                files::MAX_KEPT_BYTES
            )));
        }
        Ok(())
    }

    /// The channel has no web page: mail reaches it through the host's
    /// SMTP listener.
    fn handle_http(_: Settings, _: Request) -> Result<Response, PluginError> {
        Ok(Response::text(404, "this channel receives e-mail at the team's alias; it has no web page"))
    }
}

impl MailChannel for EmailAlias {
    fn handle_mail(settings: Settings, mail: InboundMail) -> Result<MailOutcome, PluginError> {
        thread::handle(&settings, &mail)
    }

    fn deliver_reply(_: Settings, reply: Reply) -> Result<(), PluginError> {
        reply::deliver(&reply)
    }
}

switchboard_sdk::export_mail_channel!(EmailAlias);

/// Runs the mail handling natively on `raw`, as the fuzz target in `fuzz/`
/// does: against the SDK's fake host, twice (a retry), with the
/// acknowledgement on. Panics if the plugin panics, or if the retry opens
/// a second ticket.
#[cfg(not(target_arch = "wasm32"))]
pub fn fuzz_mail(raw: &[u8]) {
    use switchboard_sdk::mail::Envelope;
    let host = switchboard_sdk::testing::FakeHost::start();
    let settings = Settings {
        new_tickets_per_sender_per_hour: 20,
        acknowledge_new_tickets: true,
        max_attachment_bytes: default_attachment_cap(),
    };
    let from = raw.iter().take(40).filter(|b| b.is_ascii_alphanumeric()).map(|b| *b as char).collect::<String>();
    let mail = InboundMail {
        envelope: Envelope {
            mail_from: if from.is_empty() { String::new() } else { format!("{from}@fuzz.example") },
            rcpt_to: vec!["care+tag@help.example.com".into()],
            client_addr: "127.0.0.1".into(),
            helo: "fuzz".into(),
        },
        raw: raw.to_vec(),
        received_at: "2026-12-02T10:00:00Z".into(),
        receipt: 1,
    };
    let _ = thread::handle(&settings, &mail);
    let after_first = host.tickets().len();
    let _ = thread::handle(&settings, &mail);
    assert_eq!(host.tickets().len(), after_first, "a retry of the same message opened another ticket");
}

#[cfg(test)]
mod tests {
    /// The fuzz target's code over the test corpus: every message is
    /// handled, and a retry opens nothing new.
    #[test]
    fn the_fuzz_entry_handles_the_corpus() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/mail-corpus");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("corpus").flatten() {
            if entry.path().extension().is_some_and(|x| x == "eml") {
                super::fuzz_mail(&std::fs::read(entry.path()).expect("read"));
                seen += 1;
            }
        }
        assert!(seen >= 40, "{seen} messages");
        super::fuzz_mail(b"");
        super::fuzz_mail(&[0xff; 3]);
    }
}
