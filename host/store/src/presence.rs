//! Operators' presence in chat channels, shared by every server.

use async_trait::async_trait;
use switchboard_core::{Presence, Timestamp, UserId};

use crate::{Committed, StoreError};

/// Who is online in which chat channel. Kept in the store, not in one
/// server's memory, so that every server offers chats to the same
/// operators.
#[async_trait]
pub trait PresenceStore: Send + Sync {
    /// An operator joins a team's chat channel, or beats their heart
    /// there, under `chat_name`. Refused with [`StoreError::UnknownTeam`]
    /// for a team that does not exist.
    async fn heartbeat(
        &self,
        team: &str,
        channel: &str,
        user: UserId,
        chat_name: &str,
        now: Timestamp,
    ) -> Result<Committed<Presence>, StoreError>;

    /// An operator leaves a channel; says whether they were in it.
    async fn leave_channel(&self, team: &str, channel: &str, user: UserId) -> Result<Committed<bool>, StoreError>;

    /// The operators online in a channel at `now` (a heartbeat within
    /// [`switchboard_core::ONLINE_FOR`]), longest there first.
    async fn online_operators(&self, team: &str, channel: &str, now: Timestamp) -> Result<Vec<Presence>, StoreError>;
}
