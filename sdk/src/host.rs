//! Calls into Switchboard. Each needs a capability the admin granted to
//! the installation; without it the call returns `PluginError::Denied`
//! naming the capability. They only work inside Switchboard: natively they
//! panic, so keep plugin logic in plain functions that tests can call.

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
    pub use crate::bindings::switchboard::plugin::tickets::{
        GotTicket, append_message, create, create_or_get, create_with_fields, find_by_external_key, get, get_fields,
        move_to_stage, set_fields, set_priority,
    };
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
    pub use crate::bindings::switchboard::plugin::storage::{delete, get, keys, set, set_if_absent};

    use crate::PluginError;

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
    pub use crate::bindings::switchboard::plugin::rate_limit::take;
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
    pub use crate::bindings::switchboard::plugin::secrets::{hmac_sha256, is_set, reveal, verify_hmac_sha256};
}

/// SHA-256 and constant-time comparison, done by the host. Always allowed.
pub mod digest {
    pub use crate::bindings::switchboard::plugin::digest::{constant_time_equal, sha256};
}

/// Log lines, tagged by the host with the plugin and team.
pub mod log {
    use crate::bindings::switchboard::plugin::log::{Level, log};

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
    pub use crate::bindings::switchboard::plugin::http::{Request, Response, send};

    use crate::PluginError;

    /// Sends a request with a body of the given content type.
    pub fn fetch(method: &str, url: &str, content_type: Option<&str>, body: Vec<u8>) -> Result<Response, PluginError> {
        let headers = content_type.map(|ct| vec![("content-type".to_owned(), ct.to_owned())]).unwrap_or_default();
        send(&Request { method: method.into(), url: url.into(), headers, body })
    }
}
