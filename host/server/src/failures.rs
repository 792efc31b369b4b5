//! What a plugin's public route did wrong, kept for its admins.
//!
//! An anonymous caller of `/c/{team}/{plugin}/…` whose request the plugin
//! failed gets a generic 502 or 504 with a request id, never the cause: a
//! trap's message, a denied capability or a team's name tell an attacker
//! how the plugin is built and set up. The cause goes to the log, under
//! the same request id, and to a short list per plugin that admins read
//! with `GET /api/plugins/{id}/failures`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use utoipa::ToSchema;

/// How many failures are kept per plugin: the newest, as a log tail is.
pub const KEPT: usize = 50;

/// One failed public request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Failure {
    /// When it failed (RFC 3339).
    pub at: String,
    /// The id the caller was given, also in the log line.
    pub request_id: String,
    /// The team whose route it was.
    pub team: String,
    /// The status the caller got.
    pub status: u16,
    /// What went wrong, as the runtime reported it.
    pub detail: String,
}

/// The newest failures of each plugin, in memory: they help an admin see
/// what went wrong lately, and a restart forgets them as it forgets the
/// metrics.
#[derive(Debug, Default)]
pub struct Failures {
    by_plugin: Mutex<HashMap<String, VecDeque<Failure>>>,
}

impl Failures {
    /// Keeps `failure` of `plugin`, forgetting its oldest beyond [`KEPT`].
    /// Only failures of installed plugins come here, so the map holds at
    /// most one list per installed plugin.
    pub fn record(&self, plugin: &str, failure: Failure) {
        let mut by_plugin = self.by_plugin.lock().unwrap_or_else(PoisonError::into_inner);
        let list = by_plugin.entry(plugin.to_owned()).or_default();
        if list.len() == KEPT {
            list.pop_front();
        }
        list.push_back(failure);
    }

    /// The kept failures of `plugin`, newest first.
    pub fn recent(&self, plugin: &str) -> Vec<Failure> {
        let by_plugin = self.by_plugin.lock().unwrap_or_else(PoisonError::into_inner);
        by_plugin.get(plugin).map(|list| list.iter().rev().cloned().collect()).unwrap_or_default()
    }
}

/// A new request id: 16 random hex digits, enough to find one line in a
/// log without guessing another caller's.
pub fn request_id() -> String {
    let mut bytes = [0u8; 8];
    // Without the system's randomness the id is still unique enough to
    // find the log line by time and plugin; it just is not secret.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes = (nanos.as_nanos() as u64).to_be_bytes();
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(n: usize) -> Failure {
        Failure {
            at: "2026-12-02T10:00:00Z".into(),
            request_id: n.to_string(),
            team: "ops".into(),
            status: 502,
            detail: "x".into(),
        }
    }

    #[test]
    fn the_newest_failures_are_kept_newest_first() {
        let failures = Failures::default();
        for n in 0..KEPT + 5 {
            failures.record("p", failure(n));
        }
        let recent = failures.recent("p");
        assert_eq!(recent.len(), KEPT);
        assert_eq!(recent[0].request_id, (KEPT + 4).to_string());
        assert_eq!(recent[KEPT - 1].request_id, "5");
        assert!(failures.recent("other").is_empty());
    }

    #[test]
    fn request_ids_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (request_id(), request_id());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
