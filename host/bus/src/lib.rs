//! Switchboard's bus: how servers tell each other that something changed.
//!
//! The bus carries hints, not records: every record lives in the store,
//! and a message only says "plugin X changed" or "conversation Y has a new
//! message", so that a server that hears it reads the store (or pushes to
//! the clients connected to it). A message can be missed (a server was
//! disconnected from NATS, or fell behind); a subscriber is then told with
//! [`Event::Gap`] and reads again whatever it keeps in memory. That is why
//! core NATS subjects are enough here and nothing is kept in a stream: the
//! store is the durable record, and work that must happen once is claimed
//! through the store, never through the bus.
//!
//! [`LocalBus`] serves one server (the embedded default); [`NatsBus`]
//! connects several through a NATS server.

mod error;
mod local;
mod nats;
mod subject;
#[cfg(feature = "throwaway")]
pub mod throwaway;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use error::BusError;
pub use local::LocalBus;
pub use nats::NatsBus;
pub use subject::matches;

/// What a subscription receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message published on a subject the subscription matches.
    Message {
        /// The subject it was published on.
        subject: String,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// Messages may have been missed since the last event: whatever the
    /// subscriber keeps in memory must be read again from the store.
    Gap,
}

/// A stream of [`Event`]s for one subject pattern. Dropping it ends the
/// subscription.
#[derive(Debug)]
pub struct Subscription {
    events: mpsc::Receiver<Event>,
}

impl Subscription {
    /// The next event, or `None` once the bus is closed.
    pub async fn next(&mut self) -> Option<Event> {
        self.events.recv().await
    }
}

/// How many events a subscription holds for a slow reader before it
/// drops the rest and reports a [`Event::Gap`].
pub(crate) const SUBSCRIPTION_BUFFER: usize = 1024;

/// The subject a team's ticket changes are announced on, with the ticket's
/// id as the payload: what live boards follow. Every writer of tickets
/// (the server's ticket store, the chat hub for tickets made of
/// conversations) names it through here, so that they cannot drift apart.
pub fn ticket_subject(team: &str) -> String {
    format!("tickets.{team}")
}

/// Publish-subscribe between the servers that share a store.
#[async_trait]
pub trait Bus: Send + Sync {
    /// Publishes `payload` on `subject` (dot-separated tokens, as
    /// `plugins.changed`) to every matching subscription on every server,
    /// this one included. A message published while the bus is
    /// disconnected is sent once it reconnects, or lost, and subscribers
    /// that may have missed it get a [`Event::Gap`].
    async fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<(), BusError>;

    /// Subscribes to the subjects `pattern` matches: tokens match
    /// themselves, `*` matches one token, and a final `>` matches one or
    /// more. The subscription is live when this returns: a message
    /// published afterwards, from any server, reaches it.
    async fn subscribe(&self, pattern: &str) -> Result<Subscription, BusError>;
}
