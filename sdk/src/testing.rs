//! A fake Switchboard for plain `cargo test`: outside WebAssembly, every
//! call in [`crate::host`] goes to a [`FakeHost`] of the test's own thread,
//! so that a plugin's logic, host calls included, runs and can be checked
//! without a server. The fake keeps tickets (with fields, threads and
//! external keys), storage, rate limits on a clock the test moves, canned
//! HTTP answers, secrets, and log lines, and follows the host's rules
//! where a test would notice: external keys are unique, `set-if-absent`
//! claims once, a stage must exist, an HTTP request without a canned
//! answer fails.
//!
//! ```ignore
//! use switchboard_sdk::testing::FakeHost;
//!
//! #[test]
//! fn a_post_opens_a_ticket() {
//!     let host = FakeHost::start();
//!     let response = my_plugin::handle(settings(), post(r#"{"title": "Hi"}"#)).unwrap();
//!     assert_eq!(response.status, 201);
//!     assert_eq!(host.tickets()[0].title, "Hi");
//! }
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::PluginError;
use crate::bindings::switchboard::plugin::http::{Request, Response};
use crate::bindings::switchboard::plugin::tickets::GotTicket;
use crate::bindings::switchboard::plugin::types::{
    AttachmentContent, Contact, Message, MessageKind, NewEntry, NewTicket, Priority, Ticket,
};

/// The stages a fake team has, in order.
const STAGES: [&str; 4] = ["New", "In Progress", "Solved", "Cancelled"];

/// What the fake host holds.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) tickets: Vec<Ticket>,
    fields: BTreeMap<u64, BTreeMap<String, String>>,
    messages: BTreeMap<u64, Vec<Message>>,
    /// The entries added with `append-entry`, by ticket, files included.
    entries: BTreeMap<u64, Vec<NewEntry>>,
    /// Delivery reports on entries, by ticket and entry.
    entry_deliveries: BTreeMap<(u64, u64), crate::host::tickets::Delivery>,
    /// The contacts tickets were opened with, by id.
    contacts: BTreeMap<u64, Contact>,
    /// Keys added to tickets with `add-keys`.
    keys: BTreeMap<String, u64>,
    /// Mail queued with `mail.send`: ticket, entry, sender, recipients, raw.
    #[cfg(any(feature = "mail", feature = "stage"))]
    outbox: Vec<crate::bindings::switchboard::plugin::mail::Outgoing>,
    /// The open line of every ticket, if set with [`FakeHost::open_line`].
    #[cfg(feature = "stage")]
    open_line: Option<String>,
    /// Replies sent through the open line, with their keys.
    #[cfg(feature = "stage")]
    line_replies: Vec<(String, u64, String)>,
    storage: BTreeMap<String, Vec<u8>>,
    /// Per rate-limit key: when each allowance was taken, in fake seconds.
    taken: BTreeMap<String, Vec<u64>>,
    now: u64,
    answers: Vec<(String, String, Response)>,
    sent: Vec<Request>,
    secrets: BTreeMap<String, String>,
    logs: Vec<String>,
    /// Conversations, operators online and timers.
    #[cfg(feature = "chat")]
    pub(crate) chat: crate::testing_chat::ChatState,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<RefCell<State>>>> = const { RefCell::new(None) };
}

/// A handle on the fake host of this thread, to set it up and to look at
/// what the plugin did.
pub struct FakeHost {
    pub(crate) state: Rc<RefCell<State>>,
}

impl FakeHost {
    /// A fresh, empty host for this thread's host calls, replacing any
    /// earlier one.
    pub fn start() -> FakeHost {
        let state = Rc::new(RefCell::new(State::default()));
        CURRENT.with(|c| *c.borrow_mut() = Some(Rc::clone(&state)));
        FakeHost { state }
    }

    /// Sets the secret `name`.
    pub fn secret(&self, name: &str, value: &str) -> &Self {
        self.state.borrow_mut().secrets.insert(name.into(), value.into());
        self
    }

    /// Answers requests with this method and URL with `response`, from now
    /// on: the latest answer given for them wins.
    pub fn answer(&self, method: &str, url: &str, response: Response) -> &Self {
        self.state.borrow_mut().answers.push((method.into(), url.into(), response));
        self
    }

    /// Moves the clock of rate limits on.
    pub fn advance(&self, seconds: u64) -> &Self {
        self.state.borrow_mut().now += seconds;
        self
    }

    /// Every ticket, oldest first.
    pub fn tickets(&self) -> Vec<Ticket> {
        self.state.borrow().tickets.clone()
    }

    /// A ticket's thread.
    pub fn messages(&self, ticket: u64) -> Vec<Message> {
        self.state.borrow().messages.get(&ticket).cloned().unwrap_or_default()
    }

    /// The entries the plugin added to `ticket`'s thread with
    /// `append-entry`, with their whole text and files, oldest first.
    pub fn entries(&self, ticket: u64) -> Vec<NewEntry> {
        self.state.borrow().entries.get(&ticket).cloned().unwrap_or_default()
    }

    /// The delivery last recorded on entry `entry` of ticket `ticket` with
    /// `tickets::set_delivery`.
    pub fn entry_delivery(&self, ticket: u64, entry: u64) -> Option<crate::host::tickets::Delivery> {
        self.state.borrow().entry_deliveries.get(&(ticket, entry)).cloned()
    }

    /// A ticket's fields.
    pub fn fields(&self, ticket: u64) -> BTreeMap<String, String> {
        self.state.borrow().fields.get(&ticket).cloned().unwrap_or_default()
    }

    /// What is stored under `key`.
    pub fn stored(&self, key: &str) -> Option<Vec<u8>> {
        self.state.borrow().storage.get(key).cloned()
    }

    /// The HTTP requests the plugin sent, in order.
    pub fn sent(&self) -> Vec<Request> {
        self.state.borrow().sent.clone()
    }

    /// The lines the plugin logged, as `level: message`.
    pub fn logs(&self) -> Vec<String> {
        self.state.borrow().logs.clone()
    }

    /// The mail the plugin queued, each with its thread entry.
    #[cfg(any(feature = "mail", feature = "stage"))]
    pub fn outbox(&self) -> Vec<crate::bindings::switchboard::plugin::mail::Outgoing> {
        self.state.borrow().outbox.clone()
    }

    /// Makes `channel` the open line of every ticket (none at first).
    #[cfg(feature = "stage")]
    pub fn open_line(&self, channel: &str) -> &Self {
        self.state.borrow_mut().open_line = Some(channel.to_owned());
        self
    }
}

/// Runs `f` on this thread's fake host, starting an empty one if the test
/// did not: a host call never panics natively.
pub(crate) fn with<T>(f: impl FnOnce(&mut Host) -> T) -> T {
    let state = CURRENT.with(|c| Rc::clone(c.borrow_mut().get_or_insert_with(Default::default)));
    let mut state = state.borrow_mut();
    f(&mut Host(&mut state))
}

/// The fake host's calls, as `crate::host` makes them.
pub(crate) struct Host<'a>(pub(crate) &'a mut State);

/// Whether a delivery report moves a message on from `old`, as the host
/// decides it: sent, delivered, read, and failed ends it.
pub(crate) fn advances(old: Option<&crate::host::tickets::Delivery>, new: &crate::host::tickets::Delivery) -> bool {
    use crate::host::tickets::Delivery;
    let rank = |d: &Delivery| match d {
        Delivery::Sent(_) => 1,
        Delivery::Delivered => 2,
        Delivery::Read => 3,
        Delivery::Failed(_) => 4,
    };
    !old.is_some_and(|o| matches!(o, Delivery::Failed(_)) || rank(o) >= rank(new))
}

fn not_found(what: String) -> PluginError {
    PluginError::NotFound(what)
}

impl Host<'_> {
    /// Like the host, finds the contact by an address or number before
    /// making one, and adds what is new.
    pub(crate) fn contact_for(&mut self, info: &crate::types::ContactInfo) -> u64 {
        let known = self.0.contacts.values_mut().find(|c| {
            c.emails.iter().any(|e| info.emails.iter().any(|i| i.address.eq_ignore_ascii_case(&e.address)))
                || c.phones.iter().any(|p| info.phones.iter().any(|i| i.number == p.number))
        });
        if let Some(known) = known {
            for email in &info.emails {
                if !known.emails.iter().any(|e| e.address.eq_ignore_ascii_case(&email.address)) {
                    known.emails.push(email.clone());
                }
            }
            for phone in &info.phones {
                if !known.phones.iter().any(|p| p.number == phone.number) {
                    known.phones.push(phone.clone());
                }
            }
            return known.id;
        }
        let id = self.0.contacts.len() as u64 + 1;
        let name = info.name.clone().unwrap_or_default();
        let contact = Contact { id, name, emails: info.emails.clone(), phones: info.phones.clone(), company: None };
        self.0.contacts.insert(id, contact);
        id
    }

    pub(crate) fn create(&mut self, ticket: &NewTicket, fields: &[(String, String)]) -> Result<Ticket, PluginError> {
        if let Some(key) = &ticket.external_key
            && let Some(taken) = self.find(key)
        {
            return Err(PluginError::Permanent(format!("external key \"{key}\" is taken by ticket {}", taken.id)));
        }
        if ticket.title.trim().is_empty() {
            return Err(PluginError::Permanent("title: must not be empty".into()));
        }
        let contact = ticket.contact.as_ref().map(|info| self.contact_for(info));
        let id = self.0.tickets.len() as u64 + 1;
        let created = Ticket {
            id,
            team: "test".into(),
            title: ticket.title.clone(),
            description: ticket.description.clone(),
            priority: ticket.priority.unwrap_or(Priority::Medium),
            stage: STAGES[0].into(),
            contact,
            origin: "plugin".into(),
            external_key: ticket.external_key.clone(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
        };
        self.0.tickets.push(created.clone());
        self.set_fields(id, fields)?;
        Ok(created)
    }

    pub(crate) fn create_or_get(
        &mut self,
        ticket: &NewTicket,
        fields: &[(String, String)],
    ) -> Result<GotTicket, PluginError> {
        let Some(key) = &ticket.external_key else {
            return Err(PluginError::Permanent("create-or-get needs an external key".into()));
        };
        if let Some(found) = self.find(key) {
            return Ok(GotTicket { ticket: found, created: false });
        }
        Ok(GotTicket { ticket: self.create(ticket, fields)?, created: true })
    }

    pub(crate) fn get(&mut self, id: u64) -> Result<Ticket, PluginError> {
        self.0.tickets.iter().find(|t| t.id == id).cloned().ok_or_else(|| not_found(format!("unknown ticket {id}")))
    }

    pub(crate) fn find(&mut self, key: &str) -> Option<Ticket> {
        let added = self.0.keys.get(key).copied();
        self.0.tickets.iter().find(|t| t.external_key.as_deref() == Some(key) || Some(t.id) == added).cloned()
    }

    pub(crate) fn add_keys(&mut self, id: u64, keys: &[String]) -> Result<(), PluginError> {
        self.get(id)?;
        for key in keys {
            if let Some(owner) = self.find(key).filter(|t| t.id != id) {
                return Err(PluginError::Permanent(format!("external key \"{key}\" is taken by ticket {}", owner.id)));
            }
        }
        for key in keys {
            self.0.keys.insert(key.clone(), id);
        }
        Ok(())
    }

    #[cfg(any(feature = "mail", feature = "stage"))]
    pub(crate) fn send_mail(
        &mut self,
        mail: &crate::bindings::switchboard::plugin::mail::Outgoing,
    ) -> Result<u64, PluginError> {
        self.get(mail.ticket)?;
        let entry = match mail.entry {
            Some(entry) => entry,
            None => self.append_message(mail.ticket, MessageKind::Event, "mail queued")?.id,
        };
        self.0.outbox.push(crate::bindings::switchboard::plugin::mail::Outgoing { entry: Some(entry), ..mail.clone() });
        Ok(entry)
    }

    #[cfg(feature = "stage")]
    pub(crate) fn find_open_line(&mut self, ticket: u64) -> Result<Option<String>, PluginError> {
        self.get(ticket)?;
        Ok(self.0.open_line.clone())
    }

    /// As the host: a reply entry through the open line, once per key.
    #[cfg(feature = "stage")]
    pub(crate) fn send_on_line(&mut self, ticket: u64, body: &str, key: &str) -> Result<u64, PluginError> {
        if self.find_open_line(ticket)?.is_none() {
            return Err(not_found(format!("ticket {ticket} has no open line")));
        }
        if let Some((_, _, first)) = self.0.line_replies.iter().find(|(k, _, _)| k == key) {
            let first = first.clone();
            let thread = self.0.messages.get(&ticket).cloned().unwrap_or_default();
            let id = thread.into_iter().find(|m| m.body == first).map(|m| m.id).unwrap_or_default();
            return if first == body {
                Ok(id)
            } else {
                Err(PluginError::Permanent(format!("key \"{key}\" was used for another message")))
            };
        }
        self.0.line_replies.push((key.to_owned(), ticket, body.to_owned()));
        Ok(self.append_message(ticket, MessageKind::Reply, body)?.id)
    }

    pub(crate) fn get_contact(&mut self, id: u64) -> Result<Option<Contact>, PluginError> {
        let ticket = self.get(id)?;
        Ok(ticket.contact.and_then(|c| self.0.contacts.get(&c).cloned()))
    }

    pub(crate) fn append_entry(&mut self, id: u64, entry: &NewEntry) -> Result<Message, PluginError> {
        // The fake checks the caps a plugin is most likely to meet; the
        // host checks every rule of `new-entry`.
        let kept: usize = entry
            .attachments
            .iter()
            .map(|a| match &a.content {
                AttachmentContent::Kept(data) => data.len(),
                AttachmentContent::Dropped(_) => 0,
            })
            .sum();
        if entry.attachments.len() > 100 || kept > 25 * 1024 * 1024 {
            return Err(PluginError::Permanent(format!(
                "attachments: {} files keeping {kept} bytes pass the caps of 100 files and 26214400 bytes",
                entry.attachments.len()
            )));
        }
        let message = self.append_message(id, entry.kind, &entry.body)?;
        self.0.entries.entry(id).or_default().push(entry.clone());
        Ok(message)
    }

    pub(crate) fn set_entry_delivery(
        &mut self,
        id: u64,
        entry: u64,
        delivery: &crate::host::tickets::Delivery,
    ) -> Result<bool, PluginError> {
        // The fake accepts a report on any entry of the thread; the host
        // also refuses an entry that was never queued for delivery.
        if !self.0.messages.get(&id).is_some_and(|m| m.iter().any(|m| m.id == entry)) {
            return Err(PluginError::NotFound(format!("ticket {id} has no message {entry}")));
        }
        if !advances(self.0.entry_deliveries.get(&(id, entry)), delivery) {
            return Ok(false);
        }
        self.0.entry_deliveries.insert((id, entry), delivery.clone());
        Ok(true)
    }

    pub(crate) fn append_message(&mut self, id: u64, kind: MessageKind, body: &str) -> Result<Message, PluginError> {
        self.get(id)?;
        let thread = self.0.messages.entry(id).or_default();
        let message = Message {
            id: thread.len() as u64 + 1,
            kind,
            author: "plugin".into(),
            body: body.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        thread.push(message.clone());
        Ok(message)
    }

    fn edit(&mut self, id: u64, change: impl FnOnce(&mut Ticket)) -> Result<Ticket, PluginError> {
        let ticket =
            self.0.tickets.iter_mut().find(|t| t.id == id).ok_or_else(|| not_found(format!("unknown ticket {id}")))?;
        change(ticket);
        Ok(ticket.clone())
    }

    pub(crate) fn set_priority(&mut self, id: u64, priority: Priority) -> Result<Ticket, PluginError> {
        self.edit(id, |t| t.priority = priority)
    }

    pub(crate) fn move_to_stage(&mut self, id: u64, stage: &str) -> Result<Ticket, PluginError> {
        let Some(stage) = STAGES.iter().find(|s| s.eq_ignore_ascii_case(stage)) else {
            return Err(not_found(format!("unknown stage \"{stage}\"; the fake team has {}", STAGES.join(", "))));
        };
        self.edit(id, |t| t.stage = (*stage).into())
    }

    pub(crate) fn set_fields(&mut self, id: u64, fields: &[(String, String)]) -> Result<(), PluginError> {
        self.get(id)?;
        let kept = self.0.fields.entry(id).or_default();
        for (key, value) in fields {
            if key.is_empty()
                || key.len() > 64
                || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(PluginError::Permanent(format!(
                    "field key \"{key}\" is not 1 to 64 letters, digits, - or _"
                )));
            }
            if value.is_empty() {
                kept.remove(key);
            } else {
                kept.insert(key.clone(), value.clone());
            }
        }
        Ok(())
    }

    pub(crate) fn get_fields(&mut self, id: u64) -> Result<Vec<(String, String)>, PluginError> {
        self.get(id)?;
        Ok(self.0.fields.get(&id).map(|f| f.clone().into_iter().collect()).unwrap_or_default())
    }

    pub(crate) fn storage(&mut self) -> &mut BTreeMap<String, Vec<u8>> {
        &mut self.0.storage
    }

    /// The host's rate limit: `limit` allowances refilling over
    /// `window_seconds`; here counted in a sliding window on the fake clock.
    pub(crate) fn take(&mut self, key: &str, limit: u32, window_seconds: u32) -> Option<u32> {
        if limit == 0 || window_seconds == 0 {
            return None;
        }
        let now = self.0.now;
        let taken = self.0.taken.entry(key.into()).or_default();
        taken.retain(|&at| at + u64::from(window_seconds) > now);
        if taken.len() < limit as usize {
            taken.push(now);
            return None;
        }
        let oldest = taken.first().copied().unwrap_or(now);
        Some(u32::try_from(oldest + u64::from(window_seconds) - now).unwrap_or(u32::MAX).max(1))
    }

    pub(crate) fn log(&mut self, level: &str, message: &str) {
        self.0.logs.push(format!("{level}: {message}"));
    }

    pub(crate) fn send(&mut self, request: &Request) -> Result<Response, PluginError> {
        self.0.sent.push(request.clone());
        let found =
            self.0.answers.iter().rev().find(|(m, u, _)| m.eq_ignore_ascii_case(&request.method) && *u == request.url);
        found.map(|(_, _, r)| r.clone()).ok_or_else(|| {
            PluginError::Transient(format!("the fake host has no answer for {} {}", request.method, request.url))
        })
    }

    pub(crate) fn secret(&mut self, name: &str) -> Result<String, PluginError> {
        self.0.secrets.get(name).cloned().ok_or_else(|| not_found(format!("secret \"{name}\" is not set")))
    }

    pub(crate) fn has_secret(&mut self, name: &str) -> bool {
        self.0.secrets.contains_key(name)
    }
}

/// What a robot run on `ticket` gets, in the fake team "test", for calling
/// `Robot::run` in a test.
#[cfg(feature = "robot")]
pub fn run_context(ticket: Ticket) -> crate::RunContext {
    let stage = ticket.stage.clone();
    crate::RunContext {
        ticket,
        contact: None,
        team: crate::TeamRef { slug: "test".into(), name: "Test".into() },
        stage,
    }
}

/// HMAC-SHA256 (RFC 2104), as the host computes it.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(data).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_call_without_a_started_host_gets_an_empty_one() {
        let created = std::thread::spawn(|| {
            crate::host::storage::set("k", b"v").expect("set");
            crate::host::storage::get("k").expect("get")
        });
        assert_eq!(created.join().expect("no panic"), Some(b"v".to_vec()));
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
