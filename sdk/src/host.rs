//! Calls into Switchboard. Each needs a capability the admin granted to
//! the installation; without it the call returns `PluginError::Denied`
//! naming the capability. Built for WebAssembly they call the host; built
//! natively (`cargo test`) they call the test's
//! [`FakeHost`](crate::testing::FakeHost), so a plugin's logic, host calls
//! included, can be tested without a server.

/// Calls the host in WebAssembly, and this thread's fake host natively.
macro_rules! host_call {
    ($wasm:expr, $fake:expr) => {{
        #[cfg(target_arch = "wasm32")]
        {
            $wasm
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::with($fake)
        }
    }};
}

/// Tickets of the team the plugin is enabled for (capability `tickets`).
///
/// A webhook may be delivered twice, even at the same moment. Give each
/// ticket the sender's id for it as its external key and open it with
/// [`create_or_get`]: the second delivery gets the first ticket back, with
/// `created` false, instead of a second ticket.
///
/// ```ignore
/// use switchboard_sdk::host::tickets;
/// use switchboard_sdk::types::NewTicket;
///
/// let got = tickets::create_or_get(
///     &NewTicket {
///         title: "Order 1042 arrived damaged".into(),
///         description: String::new(),
///         priority: None,
///         contact: None,
///         external_key: Some(format!("delivery:{delivery_id}")),
///     },
///     &[],
/// )?;
/// if got.created {
///     // First delivery: do what a new ticket needs, once.
/// }
/// ```
pub mod tickets {
    use crate::PluginError;
    pub use crate::bindings::switchboard::plugin::conversations::Delivery;
    #[cfg(target_arch = "wasm32")]
    use crate::bindings::switchboard::plugin::tickets as wit;
    pub use crate::bindings::switchboard::plugin::tickets::GotTicket;
    use crate::types::{Contact, Message, MessageKind, NewEntry, NewTicket, Priority, Ticket};

    /// Opens a ticket in the team; its origin is the plugin's id.
    pub fn create(ticket: &NewTicket) -> Result<Ticket, PluginError> {
        host_call!(wit::create(ticket), |h| h.create(ticket, &[]))
    }

    /// The ticket with this number.
    pub fn get(id: u64) -> Result<Ticket, PluginError> {
        host_call!(wit::get(id), |h| h.get(id))
    }

    /// The ticket of this team that this plugin knows by `key`: the
    /// external key it opened it with, or one added with [`add_keys`].
    pub fn find_by_external_key(key: &str) -> Result<Option<Ticket>, PluginError> {
        host_call!(wit::find_by_external_key(key), |h| Ok(h.find(key)))
    }

    /// Adds an entry to a ticket's thread.
    pub fn append_message(id: u64, kind: MessageKind, body: &str) -> Result<Message, PluginError> {
        host_call!(wit::append_message(id, kind, body), |h| h.append_message(id, kind, body))
    }

    /// Adds an entry with its whole text and its files to a ticket's
    /// thread, in one durable write. `body` is what the thread shows;
    /// `full_body` the whole text when `body` folds part of it away (the
    /// quoted history below an e-mail reply). At most 100 files, whose
    /// kept contents hold at most 25 MiB together; a file not kept (over
    /// the plugin's own cap, say) is listed as dropped with why, so agents
    /// know it existed.
    ///
    /// ```ignore
    /// use switchboard_sdk::host::tickets;
    /// use switchboard_sdk::types::{AttachmentContent, MessageKind, NewAttachment, NewEntry};
    ///
    /// tickets::append_entry(ticket, &NewEntry {
    ///     kind: MessageKind::Customer,
    ///     body: "Here is the scan.".into(),
    ///     full_body: Some("Here is the scan.\n\n> On Monday you wrote:\n> ...".into()),
    ///     attachments: vec![NewAttachment {
    ///         name: "scan.pdf".into(),
    ///         content_type: "application/pdf".into(),
    ///         content_id: None,
    ///         inline: false,
    ///         content: AttachmentContent::Kept(pdf_bytes),
    ///     }],
    /// })?;
    /// ```
    pub fn append_entry(id: u64, entry: &NewEntry) -> Result<Message, PluginError> {
        host_call!(wit::append_entry(id, entry), |h| h.append_entry(id, entry))
    }

    /// Records how the delivery of entry `entry` of ticket `id` went, as
    /// the channel's provider reports it: such as WhatsApp's statuses on
    /// an agent's reply that the plugin's `deliver_reply` sent (from WIT
    /// 0.1.11). Only an entry the host queued for delivery has one.
    /// Delivery only moves forward (sent, delivered, read; failed ends
    /// it), so a late report changes nothing, and the id given with
    /// `Sent` is kept; returns whether it changed.
    ///
    /// ```ignore
    /// use switchboard_sdk::host::tickets::{self, Delivery};
    ///
    /// tickets::set_delivery(ticket, entry, &Delivery::Sent(wamid))?;
    /// ```
    pub fn set_delivery(id: u64, entry: u64, delivery: &Delivery) -> Result<bool, PluginError> {
        host_call!(wit::set_delivery(id, entry, delivery), |h| h.set_entry_delivery(id, entry, delivery))
    }

    /// Changes a ticket's priority; its SLA deadline is recomputed.
    pub fn set_priority(id: u64, priority: Priority) -> Result<Ticket, PluginError> {
        host_call!(wit::set_priority(id, priority), |h| h.set_priority(id, priority))
    }

    /// Moves a ticket to the team's stage with this name.
    pub fn move_to_stage(id: u64, stage: &str) -> Result<Ticket, PluginError> {
        host_call!(wit::move_to_stage(id, stage), |h| h.move_to_stage(id, stage))
    }

    /// Sets custom fields on a ticket; an empty value removes the field.
    pub fn set_fields(id: u64, fields: &[(String, String)]) -> Result<(), PluginError> {
        host_call!(wit::set_fields(id, fields), |h| h.set_fields(id, fields))
    }

    /// A ticket's custom fields, sorted by key.
    pub fn get_fields(id: u64) -> Result<Vec<(String, String)>, PluginError> {
        host_call!(wit::get_fields(id), |h| h.get_fields(id))
    }

    /// Opens a ticket with custom fields in one durable write.
    pub fn create_with_fields(ticket: &NewTicket, fields: &[(String, String)]) -> Result<Ticket, PluginError> {
        host_call!(wit::create_with_fields(ticket, fields), |h| h.create(ticket, fields))
    }

    /// Opens a ticket unless this plugin already opened one with the same
    /// external key, which then comes back with `created` false.
    pub fn create_or_get(ticket: &NewTicket, fields: &[(String, String)]) -> Result<GotTicket, PluginError> {
        host_call!(wit::create_or_get(ticket, fields), |h| h.create_or_get(ticket, fields))
    }

    /// Adds keys that find the ticket again, such as each Message-ID of an
    /// e-mail thread: at most 64 per call, each 1 to 512 bytes. They are
    /// kept with the ticket, not in the plugin's storage.
    ///
    /// ```ignore
    /// use switchboard_sdk::host::tickets;
    ///
    /// // A reply arrived on ticket 7: a later mail answering it names this
    /// // Message-ID in In-Reply-To, and finds the ticket by it.
    /// tickets::add_keys(7, &["<reply-2@customer.example>".to_owned()])?;
    /// assert_eq!(tickets::find_by_external_key("<reply-2@customer.example>")?.map(|t| t.id), Some(7));
    /// ```
    pub fn add_keys(id: u64, keys: &[String]) -> Result<(), PluginError> {
        host_call!(wit::add_keys(id, keys), |h| h.add_keys(id, keys))
    }

    /// The ticket's contact, if it has one.
    pub fn get_contact(id: u64) -> Result<Option<Contact>, PluginError> {
        host_call!(wit::get_contact(id), |h| h.get_contact(id))
    }
}

/// A key-value space private to this installation (capability `storage`).
///
/// [`set_if_absent`] claims a key exactly once, also among calls running at
/// the same moment: the way to do an effect once, such as a robot sending
/// one SMS per run id.
///
/// ```ignore
/// use switchboard_sdk::host::storage;
///
/// if storage::set_if_absent(&format!("sent:{run_id}"), b"1")? {
///     // This call won the claim: send the SMS.
/// }
/// ```
pub mod storage {
    use crate::PluginError;
    #[cfg(target_arch = "wasm32")]
    use crate::bindings::switchboard::plugin::storage as wit;

    /// The value stored under `key`, if any.
    pub fn get(key: &str) -> Result<Option<Vec<u8>>, PluginError> {
        host_call!(wit::get(key), |h| Ok(h.storage().get(key).cloned()))
    }

    /// Stores `value` under `key`; durable when this returns.
    pub fn set(key: &str, value: &[u8]) -> Result<(), PluginError> {
        host_call!(wit::set(key, value), |h| {
            h.storage().insert(key.into(), value.to_vec());
            Ok(())
        })
    }

    /// Removes `key`; removing a missing key is not an error.
    pub fn delete(key: &str) -> Result<(), PluginError> {
        host_call!(wit::delete(key), |h| {
            h.storage().remove(key);
            Ok(())
        })
    }

    /// The keys that start with `prefix`, in byte order.
    pub fn keys(prefix: &str) -> Result<Vec<String>, PluginError> {
        host_call!(wit::keys(prefix), |h| Ok(h.storage().keys().filter(|k| k.starts_with(prefix)).cloned().collect()))
    }

    /// Stores `value` under `key` only if `key` is absent, and says whether
    /// it did.
    pub fn set_if_absent(key: &str, value: &[u8]) -> Result<bool, PluginError> {
        host_call!(wit::set_if_absent(key, value), |h| {
            let absent = !h.storage().contains_key(key);
            if absent {
                h.storage().insert(key.into(), value.to_vec());
            }
            Ok(absent)
        })
    }

    /// Reads a JSON value stored with [`set_json`].
    pub fn get_json<T: serde::de::DeserializeOwned>(key: &str) -> Result<Option<T>, PluginError> {
        match get(key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| PluginError::Permanent(format!("stored value \"{key}\" is not the JSON expected: {e}"))),
            None => Ok(None),
        }
    }

    /// Stores a value as JSON.
    pub fn set_json<T: serde::Serialize>(key: &str, value: &T) -> Result<(), PluginError> {
        let bytes = serde_json::to_vec(value).map_err(|e| PluginError::Permanent(e.to_string()))?;
        set(key, &bytes)
    }
}

/// Rate limits the host keeps in memory for this installation, such as
/// submissions per client address. Always allowed.
pub mod rate_limit {
    /// Takes one of `limit` allowances per `window_seconds` for `key`:
    /// `None` when allowed, `Some(seconds)` to wait before the next.
    pub fn take(key: &str, limit: u32, window_seconds: u32) -> Option<u32> {
        host_call!(crate::bindings::switchboard::plugin::rate_limit::take(key, limit, window_seconds), |h| h.take(
            key,
            limit,
            window_seconds
        ))
    }
}

/// The installation's secrets: settings the manifest's schema marks
/// `"writeOnly": true`. They are not in the settings a plugin receives;
/// the host uses them for the plugin, so a signing key never enters the
/// plugin's memory. Always allowed.
///
/// Checking a signed webhook, where the sender puts the hex HMAC-SHA256
/// of the body in a header:
///
/// ```ignore
/// use switchboard_sdk::host::secrets;
///
/// let mac = hex::decode(signature_header).unwrap_or_default();
/// if !secrets::verify_hmac_sha256("signing_key", &request.body, &mac)? {
///     return Ok(Response::text(401, "bad signature"));
/// }
/// ```
pub mod secrets {
    use crate::PluginError;
    #[cfg(target_arch = "wasm32")]
    use crate::bindings::switchboard::plugin::secrets as wit;

    /// Whether the secret `name` is set.
    pub fn is_set(name: &str) -> bool {
        host_call!(wit::is_set(name), |h| h.has_secret(name))
    }

    /// HMAC-SHA256 of `data` keyed with the secret `name`.
    pub fn hmac_sha256(name: &str, data: &[u8]) -> Result<Vec<u8>, PluginError> {
        host_call!(wit::hmac_sha256(name, data), |h| Ok(crate::testing::hmac_sha256(h.secret(name)?.as_bytes(), data)))
    }

    /// Whether `mac` is HMAC-SHA256 of `data` keyed with the secret `name`,
    /// compared in constant time.
    pub fn verify_hmac_sha256(name: &str, data: &[u8], mac: &[u8]) -> Result<bool, PluginError> {
        host_call!(wit::verify_hmac_sha256(name, data, mac), |h| Ok(crate::testing::hmac_sha256(
            h.secret(name)?.as_bytes(),
            data
        ) == mac))
    }

    /// The secret's value, for a token an outbound request must carry.
    /// Prefer the functions above, and never log it.
    pub fn reveal(name: &str) -> Result<String, PluginError> {
        host_call!(wit::reveal(name), |h| h.secret(name))
    }
}

/// SHA-256 and constant-time comparison, done by the host. Always allowed.
pub mod digest {
    /// SHA-256 of `data`.
    pub fn sha256(data: &[u8]) -> Vec<u8> {
        host_call!(crate::bindings::switchboard::plugin::digest::sha256(data), |_| {
            use sha2::Digest;
            sha2::Sha256::digest(data).to_vec()
        })
    }

    /// Whether `a` and `b` are equal, in time that depends only on their
    /// lengths.
    pub fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
        host_call!(crate::bindings::switchboard::plugin::digest::constant_time_equal(a, b), |_| a == b)
    }
}

/// Log lines, tagged by the host with the plugin and team.
pub mod log {
    use crate::bindings::switchboard::plugin::log::Level;

    fn log(level: Level, message: &str) {
        host_call!(crate::bindings::switchboard::plugin::log::log(level, message), |h| h
            .log(&format!("{level:?}").to_lowercase(), message))
    }

    /// Logs at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }

    /// Logs at info level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }

    /// Logs at warn level.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }

    /// Logs at error level.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// Outbound HTTP to granted hosts (capability `http:<host>[:<port>]`).
pub mod http {
    pub use crate::bindings::switchboard::plugin::http::{Request, Response};

    use crate::PluginError;

    /// Sends one request to a granted host; redirects are not followed.
    pub fn send(request: &Request) -> Result<Response, PluginError> {
        host_call!(crate::bindings::switchboard::plugin::http::send(request), |h| h.send(request))
    }

    /// Sends a request with a body of the given content type.
    pub fn fetch(method: &str, url: &str, content_type: Option<&str>, body: Vec<u8>) -> Result<Response, PluginError> {
        let headers = content_type.map(|ct| vec![("content-type".to_owned(), ct.to_owned())]).unwrap_or_default();
        send(&Request { method: method.into(), url: url.into(), headers, body })
    }
}

/// Sending e-mail (capabilities `tickets`, and `mail:<sender>` or
/// `mail:team`); a channel of the `mail-channel` world, or a robot of the
/// `stage-robot` world.
#[cfg(any(feature = "mail", feature = "stage"))]
pub mod mail {
    use crate::PluginError;
    pub use crate::bindings::switchboard::plugin::mail::Outgoing;

    /// Queues a message in the host's outbox with the thread entry that
    /// records it, and returns the entry's id. The host sends it through
    /// its relay and records on the entry whether it was sent, deferred
    /// or failed.
    ///
    /// ```ignore
    /// use switchboard_sdk::mail::{self, Outgoing};
    ///
    /// // Deliver an agent's reply: name it as the entry, so that the
    /// // thread shows how its delivery went, and a second call sends
    /// // nothing more.
    /// mail::send(&Outgoing {
    ///     ticket: reply.ticket.id,
    ///     entry: Some(reply.message.id),
    ///     sender: reply.team_address.clone(),
    ///     recipients: vec![customer_address],
    ///     raw: composed_rfc5322_bytes,
    /// })?;
    /// ```
    pub fn send(mail: &Outgoing) -> Result<u64, PluginError> {
        host_call!(crate::bindings::switchboard::plugin::mail::send(mail), |h| h.send_mail(mail))
    }

    /// The team's own address, which `mail:team` lets the plugin send
    /// from. The fake host's team "test" has `test@help.example.test`.
    pub fn team_address() -> String {
        host_call!(crate::bindings::switchboard::plugin::mail::team_address(), |_| "test@help.example.test".to_owned())
    }
}

/// The customer's open line (capability `tickets`): the channel they last
/// wrote from, for a robot of the `stage-robot` world that answers them
/// there, as an agent's reply goes.
#[cfg(feature = "stage")]
pub mod open_lines {
    use crate::PluginError;

    /// The plugin id of the ticket's open line, if it has one.
    pub fn find(ticket: u64) -> Result<Option<String>, PluginError> {
        host_call!(crate::bindings::switchboard::plugin::open_lines::find(ticket), |h| h.find_open_line(ticket))
    }

    /// Sends `body` to the customer through the open line, once per
    /// `key` (use the run id), and returns the reply's thread entry.
    pub fn send(ticket: u64, body: &str, key: &str) -> Result<u64, PluginError> {
        host_call!(crate::bindings::switchboard::plugin::open_lines::send(ticket, body, key), |h| h
            .send_on_line(ticket, body, key))
    }
}

/// The installation's live conversations (capability `chat`); a channel
/// of the `chat-channel` world only. Each write is durable when it returns
/// and reaches the visitor's and the operators' connections.
///
/// ```ignore
/// use switchboard_sdk::chat::{Expect, NewPost, Poster};
/// use switchboard_sdk::host::conversations;
///
/// // Nobody online: say so, and take the visitor's e-mail instead.
/// if conversations::online_operators(&c.channel)?.is_empty() {
///     conversations::post(c.id, &NewPost {
///         poster: Poster::Bot,
///         body: "Nobody is here right now. What is your e-mail?".into(),
///         expect: Expect::Email,
///     })?;
/// } else {
///     conversations::hand_over(c.id, None)?;
/// }
/// ```
#[cfg(feature = "chat")]
pub mod conversations {
    use crate::PluginError;
    #[cfg(target_arch = "wasm32")]
    use crate::bindings::switchboard::plugin::conversations as wit;
    use crate::chat::{ChatMessage, ChatTicket, Conversation, Delivery, InboundMessage, NewPost, Operator, Received};
    use crate::types::ContactInfo;

    /// The conversation with this id.
    pub fn get(id: u64) -> Result<Conversation, PluginError> {
        host_call!(wit::get(id), |h| h.conversation(id))
    }

    /// The messages numbered after `after`, oldest first, at most `limit`
    /// (and at most 500).
    pub fn messages(id: u64, after: u64, limit: u32) -> Result<Vec<ChatMessage>, PluginError> {
        host_call!(wit::messages(id, after, limit), |h| h.chat_messages(id, after, limit))
    }

    /// Adds a message and returns its number.
    pub fn post(id: u64, message: &NewPost) -> Result<u64, PluginError> {
        host_call!(wit::post(id, message), |h| h.post(id, message))
    }

    /// Hands the visitor over from the bot: to any operator of the channel
    /// (`None`), or to this online operator at once.
    pub fn hand_over(id: u64, to: Option<u64>) -> Result<Conversation, PluginError> {
        host_call!(wit::hand_over(id, to), |h| h.hand_over(id, to))
    }

    /// The operators online in a chat channel of the team.
    pub fn online_operators(channel: &str) -> Result<Vec<Operator>, PluginError> {
        host_call!(wit::online_operators(channel), |h| h.online_operators(channel))
    }

    /// Records who the visitor is; returns the contact's id.
    pub fn set_contact(id: u64, contact: &ContactInfo) -> Result<u64, PluginError> {
        host_call!(wit::set_contact(id, contact), |h| h.set_contact(id, contact))
    }

    /// Makes a ticket of the conversation, with its transcript, in one
    /// write (capability `tickets` as well); returns its number.
    pub fn to_ticket(id: u64, ticket: &ChatTicket) -> Result<u64, PluginError> {
        host_call!(wit::to_ticket(id, ticket), |h| h.chat_to_ticket(id, ticket))
    }

    /// Ends the conversation.
    pub fn end(id: u64) -> Result<(), PluginError> {
        host_call!(wit::end(id), |h| h.end(id))
    }

    /// The name of the team: its first chat channel is named after it.
    pub fn team_name() -> String {
        host_call!(wit::team_name(), |h| h.team_name())
    }

    /// The country of an IP address (ISO 3166 alpha-2), if the server's
    /// country database knows it.
    pub fn country_of(client_addr: &str) -> Option<String> {
        host_call!(wit::country_of(client_addr), |h| h.country_of(client_addr))
    }

    /// Adds a customer's message from outside (a WhatsApp message) to
    /// their open conversation, opening one when they have none, in one
    /// durable write; a key received before adds nothing and comes back
    /// as a duplicate.
    pub fn receive(message: &InboundMessage) -> Result<Received, PluginError> {
        host_call!(wit::receive(message), |h| h.receive(message))
    }

    /// Records how the delivery of a message to the customer went; only
    /// forward moves count. Returns whether it changed.
    pub fn set_delivery(id: u64, seq: u64, delivery: &Delivery) -> Result<bool, PluginError> {
        host_call!(wit::set_delivery(id, seq, delivery), |h| h.set_delivery(id, seq, delivery))
    }
}

/// Durable, keyed callbacks (capability `timers`): the host calls
/// [`crate::ChatChannel::handle_timer`] when one is due, even after a
/// restart. A key has one timer; setting it again moves it.
#[cfg(feature = "chat")]
pub mod timers {
    use crate::PluginError;
    #[cfg(target_arch = "wasm32")]
    use crate::bindings::switchboard::plugin::timers as wit;

    /// Sets the timer `key` to fire in `after_ms` milliseconds with
    /// `payload`.
    pub fn schedule(key: &str, after_ms: u64, payload: &str) -> Result<(), PluginError> {
        host_call!(wit::schedule(key, after_ms, payload), |h| h.schedule(key, after_ms, payload))
    }

    /// Cancels the timer `key` unless it fired; says whether there was one.
    pub fn cancel(key: &str) -> Result<bool, PluginError> {
        host_call!(wit::cancel(key), |h| h.cancel(key))
    }
}
