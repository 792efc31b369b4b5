//! Console sessions: a browser signed in as a user.
//!
//! A session is found by the hash of a random secret that only the
//! browser's cookie holds, as a bearer token is. It ends when the user
//! signs out or ends it from another browser, or when it expires: twelve
//! hours after sign-in, a working day, so that a browser left signed in on
//! a shared machine does not stay signed in for ever.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::{Timestamp, UserId};

/// How long a session lasts after sign-in.
pub const SESSION_LASTS: SignedDuration = SignedDuration::from_hours(12);

/// The most characters of a browser's description a session keeps.
pub const MAX_SESSION_LABEL: usize = 200;

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The hash of the session's secret; also its public id, which names
    /// it in lists without giving the secret away.
    pub id: String,
    /// Who signed in.
    pub user: UserId,
    /// When.
    pub created_at: Timestamp,
    /// When the session stops working.
    pub expires_at: Timestamp,
    /// What the browser said it was (its `User-Agent`), cut short, so
    /// that a user can tell their sessions apart.
    pub label: String,
}

impl Session {
    /// A session for `user` starting at `now`, found by `id`.
    pub fn start(id: String, user: UserId, label: &str, now: Timestamp) -> Session {
        let label: String = label.chars().filter(|c| !c.is_control()).take(MAX_SESSION_LABEL).collect();
        let expires_at = now.checked_add(SESSION_LASTS).unwrap_or(now);
        Session { id, user, created_at: now, expires_at, label }
    }

    /// Whether the session still works at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("time")
    }

    #[test]
    fn a_session_lasts_twelve_hours_from_sign_in() {
        let s = Session::start("h".into(), 1, "Firefox", at(0));
        assert!(s.is_live(at(0)));
        assert!(s.is_live(at(12 * 3600 - 1)));
        assert!(!s.is_live(at(12 * 3600)));
    }

    #[test]
    fn a_label_is_cut_short_and_loses_control_characters() {
        let long = format!("a\nb{}", "x".repeat(500));
        let s = Session::start("h".into(), 1, &long, at(0));
        assert_eq!(s.label.chars().count(), MAX_SESSION_LABEL);
        assert!(s.label.starts_with("abx"));
    }
}
