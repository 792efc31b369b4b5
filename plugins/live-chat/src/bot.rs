//! The chatbot: runs a channel's script step by step. Where the script
//! stands for a conversation (the step waiting for an answer, and the
//! answers given) is kept in the installation's storage, since each event
//! runs in a fresh instance.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_sdk::PluginError;
use switchboard_sdk::chat::{ChatTicket, Conversation, Expect, NewPost, Poster};
use switchboard_sdk::host::{conversations, storage};
use switchboard_sdk::types::{ContactInfo, Email, Phone, PointKind};

use crate::settings::{Step, StepKind};
use crate::texts;

/// Where a script stands in one conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The script's name.
    pub script: String,
    /// The step waiting for the visitor's answer, if one is.
    pub waiting: Option<usize>,
    /// The answers given, by step id (or position, for steps without one).
    pub answers: BTreeMap<String, String>,
}

fn key(conversation: u64) -> String {
    format!("bot:{conversation}")
}

fn step_key(steps: &[Step], at: usize) -> String {
    steps[at].id.clone().unwrap_or_else(|| format!("#{at}"))
}

/// Loads a conversation's progress.
pub fn load(conversation: u64) -> Result<Option<Progress>, PluginError> {
    let Some(bytes) = storage::get(&key(conversation))? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| PluginError::Permanent(format!("bot progress: {e}")))
}

fn save(conversation: u64, progress: &Progress) -> Result<(), PluginError> {
    let bytes = serde_json::to_vec(progress).map_err(|e| PluginError::Permanent(e.to_string()))?;
    storage::set(&key(conversation), &bytes)
}

/// Forgets a conversation's progress, once the bot is done with it.
pub fn forget(conversation: u64) -> Result<(), PluginError> {
    storage::delete(&key(conversation))
}

/// Whether a step's conditions hold: for every step it names, the answer
/// given is one of those listed.
fn allowed(step: &Step, progress: &Progress) -> bool {
    step.only_if.iter().all(|(on, wanted)| progress.answers.get(on).is_some_and(|given| wanted.contains(given)))
}

fn say(conversation: u64, body: &str, expect: Expect) -> Result<(), PluginError> {
    conversations::post(conversation, &NewPost { poster: Poster::Bot, body: body.into(), expect })?;
    Ok(())
}

/// Hands a conversation to the operators (and whatever the channel does
/// then, such as setting a timer).
pub type HandOver<'a> = &'a dyn Fn(&Conversation) -> Result<(), PluginError>;

/// Starts `script` in a conversation that just opened; without a script,
/// the visitor is handed to the operators at once.
pub fn start(c: &Conversation, script: Option<(&str, &[Step])>, hand_over: HandOver<'_>) -> Result<(), PluginError> {
    let Some((name, steps)) = script else {
        return hand_over(c);
    };
    let progress = Progress { script: name.into(), ..Progress::default() };
    run(c, steps, progress, 0, hand_over)
}

/// Runs the steps from `from` on: says each allowed step's message, stops
/// at a step that waits for an answer or hands over, and hands over at the
/// end of the script.
fn run(
    c: &Conversation,
    steps: &[Step],
    mut progress: Progress,
    from: usize,
    hand_over: HandOver<'_>,
) -> Result<(), PluginError> {
    for (at, step) in steps.iter().enumerate().skip(from) {
        if !allowed(step, &progress) {
            continue;
        }
        let expect = match step.kind {
            StepKind::Text => None,
            StepKind::Question => Some(Expect::Choice(step.answers.clone())),
            StepKind::Email => Some(Expect::Email),
            StepKind::Phone => Some(Expect::Phone),
            StepKind::FreeInputLine => Some(Expect::Line),
            StepKind::FreeInputLines => Some(Expect::Lines),
            StepKind::ForwardToOperator => {
                if conversations::online_operators(&c.channel)?.is_empty() {
                    continue;
                }
                if !step.message.trim().is_empty() {
                    say(c.id, &step.message, Expect::Text)?;
                }
                forget(c.id)?;
                return hand_over(c);
            }
            StepKind::CreateTicket => {
                if !step.message.trim().is_empty() {
                    say(c.id, &step.message, Expect::Text)?;
                }
                conversations::to_ticket(c.id, &ChatTicket { title: String::new(), priority: None })?;
                continue;
            }
        };
        match expect {
            None => say(c.id, &step.message, Expect::Text)?,
            Some(expect) => {
                say(c.id, &step.message, expect)?;
                progress.waiting = Some(at);
                return save(c.id, &progress);
            }
        }
    }
    forget(c.id)?;
    hand_over(c)
}

/// Takes the visitor's message as the answer to the step waiting for one,
/// and goes on. An answer that does not fit (not one offered, not an
/// address or number) is asked for again.
pub fn answer(c: &Conversation, steps: &[Step], body: &str, hand_over: HandOver<'_>) -> Result<(), PluginError> {
    let Some(mut progress) = load(c.id)? else { return Ok(()) };
    let Some(at) = progress.waiting.filter(|at| *at < steps.len()) else {
        return run(c, steps, progress, 0, hand_over);
    };
    let step = &steps[at];
    let said = texts::bot(texts::lang_of(c.origin.language.as_deref()));
    let body = body.trim();
    let given = match step.kind {
        StepKind::Question => match step.answers.iter().find(|a| a.trim().eq_ignore_ascii_case(body)) {
            Some(answer) => answer.clone(),
            None => return say(c.id, said.pick_answer, Expect::Choice(step.answers.clone())),
        },
        StepKind::Email => match email(body) {
            Some(address) => {
                let info = ContactInfo {
                    name: None,
                    emails: vec![Email { address: address.clone(), kind: PointKind::Other }],
                    phones: vec![],
                };
                match conversations::set_contact(c.id, &info) {
                    Ok(_) => address,
                    Err(PluginError::Permanent(_)) => return say(c.id, said.bad_email, Expect::Email),
                    Err(e) => return Err(e),
                }
            }
            None => return say(c.id, said.bad_email, Expect::Email),
        },
        StepKind::Phone => match phone(body) {
            Some(number) => {
                let info = ContactInfo {
                    name: None,
                    emails: vec![],
                    phones: vec![Phone { number: number.clone(), kind: PointKind::Mobile }],
                };
                match conversations::set_contact(c.id, &info) {
                    Ok(_) => number,
                    Err(PluginError::Permanent(_)) => return say(c.id, said.bad_phone, Expect::Phone),
                    Err(e) => return Err(e),
                }
            }
            None => return say(c.id, said.bad_phone, Expect::Phone),
        },
        _ => body.to_owned(),
    };
    progress.answers.insert(step_key(steps, at), given);
    progress.waiting = None;
    run(c, steps, progress, at + 1, hand_over)
}

/// An e-mail address as typed, if it looks like one: one `@`, a local
/// part, and a domain of at least two labels of letters, digits and
/// hyphens.
pub fn email(text: &str) -> Option<String> {
    let text = text.trim();
    if text.len() > 254 || text.chars().any(char::is_whitespace) {
        return None;
    }
    let (local, domain) = text.split_once('@')?;
    let labels: Vec<&str> = domain.split('.').collect();
    let good_label = |l: &&str| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_alphanumeric() || c == '-');
    let fine = !local.is_empty() && local.len() <= 64 && !local.contains('@') && labels.len() >= 2;
    (fine && labels.iter().all(good_label)).then(|| text.to_owned())
}

/// A phone number as digits with an optional leading `+`, if the text is
/// one: 7 to 15 digits, spaces, dots, dashes and brackets ignored.
pub fn phone(text: &str) -> Option<String> {
    let text = text.trim();
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", text),
    };
    let mut digits = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return None,
        }
    }
    (7..=15).contains(&digits.len()).then(|| format!("{plus}{digits}"))
}
