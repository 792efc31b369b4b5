//! Followers: what one connection reads of a conversation, or of a
//! team's conversations, as hints wake it.

use std::sync::{Arc, PoisonError};

use switchboard_core::{ChatMessage, ConversationId};
use switchboard_store::MAX_CHAT_PAGE;
use tokio::sync::{broadcast, watch};

use crate::ChatError;
use crate::hub::Inner;

/// One connection's place in a conversation.
pub struct Follower {
    inner: Arc<Inner>,
    id: ConversationId,
    last: u64,
    hints: watch::Receiver<u64>,
}

impl Follower {
    pub(crate) fn new(inner: Arc<Inner>, id: ConversationId, after: u64, hints: watch::Receiver<u64>) -> Self {
        Follower { inner, id, last: after, hints }
    }

    /// The conversation followed.
    pub fn conversation(&self) -> ConversationId {
        self.id
    }

    /// The number of the last message returned (or the one it started
    /// after).
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// The messages after the last one returned, oldest first, waiting
    /// until there is at least one. Each call reads the store, so a message
    /// written on another server, or one whose hint was lost, is found too.
    pub async fn next(&mut self) -> Result<Vec<ChatMessage>, ChatError> {
        loop {
            // Marked seen before the read: a hint that arrives while the
            // store is read wakes the wait below at once.
            self.hints.borrow_and_update();
            let page = self.inner.store.chat_messages(self.id, self.last, MAX_CHAT_PAGE).await?;
            if let Some(newest) = page.last() {
                self.last = newest.seq;
                return Ok(page);
            }
            // A lost hint costs at most one look's wait; a closed channel
            // cannot happen while this follower holds its receiver.
            let _ = tokio::time::timeout(self.inner.look_every, self.hints.changed()).await;
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        // The last follower of a conversation on this server takes its
        // entry with it, so that the map holds only what is followed.
        let mut conversations = self.inner.conversations.lock().unwrap_or_else(PoisonError::into_inner);
        if conversations.get(&self.id).is_some_and(|hint| hint.receiver_count() <= 1) {
            conversations.remove(&self.id);
        }
    }
}

/// What happened among a team's conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamEvent {
    /// This conversation was opened or changed state: read it again.
    Changed(ConversationId),
    /// Events may have been missed: read the team's lists again.
    Resync,
}

/// One operator connection's view of a team's conversations.
pub struct TeamFollower {
    inner: Arc<Inner>,
    team: String,
    events: broadcast::Receiver<TeamEvent>,
}

impl TeamFollower {
    pub(crate) fn new(inner: Arc<Inner>, team: String, events: broadcast::Receiver<TeamEvent>) -> Self {
        TeamFollower { inner, team, events }
    }

    /// The next event, waiting for one. Falling behind is reported as
    /// [`TeamEvent::Resync`], never as silence.
    pub async fn next(&mut self) -> TeamEvent {
        match self.events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => TeamEvent::Resync,
            // The hub keeps the sender while this follower lives.
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

impl Drop for TeamFollower {
    fn drop(&mut self) {
        let mut teams = self.inner.teams.lock().unwrap_or_else(PoisonError::into_inner);
        if teams.get(&self.team).is_some_and(|events| events.receiver_count() <= 1) {
            teams.remove(&self.team);
        }
    }
}
