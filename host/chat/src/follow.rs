//! Followers: what one connection reads of a conversation, or of a
//! team's conversations, as hints wake it.

use std::sync::{Arc, PoisonError};

use switchboard_core::{ChatDelivery, ChatMessage, ConversationId};
use switchboard_store::MAX_CHAT_PAGE;
use tokio::sync::{broadcast, watch};

use crate::ChatError;
use crate::hub::{Hint, Inner};

/// One connection's place in a conversation.
pub struct Follower {
    inner: Arc<Inner>,
    id: ConversationId,
    last: u64,
    hints: watch::Receiver<Hint>,
    /// The store has been read up to `last` since the last look: it need
    /// not be read again until a hint, a gap or the next look.
    checked: bool,
    /// The gaps heard of when the store was last read.
    gaps: u64,
    /// The numbers of messages whose delivery report changed, if this
    /// follower is told of them.
    deliveries: Option<broadcast::Receiver<u64>>,
    /// The last delivery change returned: a message whose reports came in
    /// a burst is read once they are all written, and shown once.
    shown: Option<(u64, Option<ChatDelivery>)>,
}

/// What [`Follower::next_update`] found.
#[derive(Debug)]
pub enum Update {
    /// New messages, oldest first.
    Messages(Vec<ChatMessage>),
    /// A message already returned, whose delivery report changed.
    Delivery(ChatMessage),
}

impl Follower {
    pub(crate) fn new(inner: Arc<Inner>, id: ConversationId, after: u64, hints: watch::Receiver<Hint>) -> Self {
        Follower { inner, id, last: after, hints, checked: false, gaps: 0, deliveries: None, shown: None }
    }

    pub(crate) fn with_deliveries(mut self, changes: broadcast::Receiver<u64>) -> Self {
        self.deliveries = Some(changes);
        self
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
    /// until there is at least one. The store is read whenever a hint
    /// names a message not yet returned without carrying it, after a bus
    /// gap, and at each look (every five seconds without a hint),
    /// so a message written on another server, or one whose hint was lost,
    /// is found too. A message carried by its hint needs no read.
    pub async fn next(&mut self) -> Result<Vec<ChatMessage>, ChatError> {
        loop {
            if let Update::Messages(page) = self.next_update().await? {
                return Ok(page);
            }
        }
    }

    /// The next thing to show: new messages as [`Follower::next`] returns
    /// them, or a message already returned whose delivery report changed
    /// (for a follower made with `Hub::follow_with_deliveries`). A change
    /// to a message not yet returned comes with that message.
    ///
    /// Cancelling it (a `select!` that took another branch) loses nothing:
    /// what it has not returned it finds again on the next call.
    pub async fn next_update(&mut self) -> Result<Update, ChatError> {
        loop {
            // Marked seen before the read: a hint that arrives while the
            // store is read wakes the wait below at once.
            let hint = self.hints.borrow_and_update().clone();
            // The next message, durable and carried by its hint: no read.
            if let Some(message) = hint.message.filter(|m| m.seq == self.last + 1) {
                self.last = message.seq;
                return Ok(Update::Messages(vec![Arc::unwrap_or_clone(message)]));
            }
            // Anything else unknown (a hint without its message, a gap, a
            // look that found the last read stale) reads the store, which
            // has every message.
            if !self.checked || hint.seq > self.last || hint.gaps != self.gaps {
                let page = self.inner.store.chat_messages(self.id, self.last, MAX_CHAT_PAGE).await?;
                self.gaps = hint.gaps;
                // A full page may have more behind it.
                self.checked = page.len() < MAX_CHAT_PAGE;
                if let Some(newest) = page.last() {
                    self.last = newest.seq;
                    return Ok(Update::Messages(page));
                }
            }
            // A lost hint costs at most one look's wait; a closed channel
            // cannot happen while this follower holds its receiver.
            let look = self.inner.look_every;
            let (changed, looked) = match &mut self.deliveries {
                Some(deliveries) => tokio::select! {
                    woken = tokio::time::timeout(look, self.hints.changed()) => (None, woken.is_err()),
                    changed = deliveries.recv() => (changed.ok(), false),
                },
                None => (None, tokio::time::timeout(look, self.hints.changed()).await.is_err()),
            };
            if looked {
                self.checked = false;
            }
            // A lagging receiver lost ticks; the messages still carry their
            // state, which a later follow shows.
            if let Some(seq) = changed.filter(|&seq| seq >= 1 && seq <= self.last) {
                let read = self.inner.store.chat_messages(self.id, seq - 1, 1).await?;
                if let Some(message) = read.into_iter().find(|m| m.seq == seq) {
                    let shown = Some((seq, message.delivery.clone()));
                    if shown != self.shown {
                        self.shown = shown;
                        return Ok(Update::Delivery(message));
                    }
                }
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        if self.deliveries.take().is_some() {
            let mut deliveries = self.inner.deliveries.lock().unwrap_or_else(PoisonError::into_inner);
            // Its own receiver is gone already, so none left means it was
            // the last.
            if deliveries.get(&self.id).is_some_and(|changes| changes.receiver_count() == 0) {
                deliveries.remove(&self.id);
            }
        }
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
