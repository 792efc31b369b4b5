//! Operators' presence in chat channels: who may be offered a chat.
//!
//! An operator joins a team's chat channel under a chat name and keeps a
//! heartbeat. One whose last sign of life is older than
//! [`ONLINE_FOR`] no longer counts as online, whether they left, closed
//! the laptop or lost the network, and is not offered chats.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::text::clean_name;
use crate::{CoreError, Timestamp, UserId};

/// How long an operator counts as online after their last heartbeat.
pub const ONLINE_FOR: SignedDuration = SignedDuration::from_mins(30);

/// An operator in a team's chat channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The team's slug.
    pub team: String,
    /// The chat channel's name.
    pub channel: String,
    /// The operator.
    pub user: UserId,
    /// The name visitors see.
    pub chat_name: String,
    /// When they joined the channel.
    pub since: Timestamp,
    /// Their last heartbeat.
    pub last_seen: Timestamp,
}

impl Presence {
    /// An operator joining, or beating their heart: `earlier` is their
    /// presence so far, if any, whose joining time is kept.
    pub fn beat(
        earlier: Option<Presence>,
        team: &str,
        channel: &str,
        user: UserId,
        chat_name: &str,
        now: Timestamp,
    ) -> Result<Presence, CoreError> {
        let chat_name = clean_name("chat_name", chat_name)?;
        let channel = clean_name("channel", channel)?;
        let since = earlier.filter(|p| p.is_online(now)).map_or(now, |p| p.since);
        Ok(Presence { team: team.to_owned(), channel, user, chat_name, since, last_seen: now })
    }

    /// Whether the operator counts as online at `now`.
    pub fn is_online(&self, now: Timestamp) -> bool {
        now.duration_since(self.last_seen) < ONLINE_FOR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(mins: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + mins * 60).expect("time")
    }

    #[test]
    fn an_operator_is_online_for_thirty_minutes_after_a_heartbeat() {
        let p = Presence::beat(None, "care", "Care", 3, " Anna ", at(0)).expect("join");
        assert_eq!((p.chat_name.as_str(), p.since), ("Anna", at(0)));
        assert!(p.is_online(at(29)));
        assert!(!p.is_online(at(30)));
        let again = Presence::beat(Some(p.clone()), "care", "Care", 3, "Anna", at(20)).expect("beat");
        assert_eq!((again.since, again.last_seen), (at(0), at(20)));
        assert!(again.is_online(at(49)));
        // Back after being away: a new stint starts.
        let back = Presence::beat(Some(again), "care", "Care", 3, "Anna", at(60)).expect("back");
        assert_eq!(back.since, at(60));
    }

    #[test]
    fn a_chat_name_is_one_clean_line() {
        let err = Presence::beat(None, "care", "Care", 3, "\u{202e}nnA", at(0)).expect_err("bidi");
        assert!(err.to_string().starts_with("chat_name:"), "{err}");
        assert!(Presence::beat(None, "care", "Care", 3, "  ", at(0)).is_err());
    }
}
