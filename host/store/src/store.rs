//! The whole store: every capability a backend offers.

use std::sync::Arc;

use crate::{
    ContactStore, ConversationStore, Health, IdempotencyStore, JobStore, KvStore, PluginStore, PresenceStore,
    SessionStore, TeamStore, TicketStore, UserStore,
};

/// A backend that offers every capability. Code that needs one capability
/// takes that trait alone (`Arc<dyn TicketStore>`, …); see [`Stores`].
pub trait Store:
    TeamStore
    + TicketStore
    + ContactStore
    + ConversationStore
    + PresenceStore
    + UserStore
    + SessionStore
    + PluginStore
    + KvStore
    + IdempotencyStore
    + JobStore
    + Health
{
}

impl<T> Store for T where
    T: TeamStore
        + TicketStore
        + ContactStore
        + ConversationStore
        + PresenceStore
        + UserStore
        + SessionStore
        + PluginStore
        + KvStore
        + IdempotencyStore
        + JobStore
        + Health
{
}

/// One backend, seen through each capability: what the server hands to
/// each module, so that a module names the capabilities it uses.
#[derive(Clone)]
pub struct Stores {
    /// Teams, stages and SLA policies.
    pub teams: Arc<dyn TeamStore>,
    /// Tickets and their threads.
    pub tickets: Arc<dyn TicketStore>,
    /// Contacts.
    pub contacts: Arc<dyn ContactStore>,
    /// Live conversations.
    pub conversations: Arc<dyn ConversationStore>,
    /// Operators' presence in chat channels.
    pub presence: Arc<dyn PresenceStore>,
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Console sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Plugins and installations.
    pub plugins: Arc<dyn PluginStore>,
    /// Plugin storage.
    pub kv: Arc<dyn KvStore>,
    /// Idempotency records.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Jobs.
    pub jobs: Arc<dyn JobStore>,
    /// Faults.
    pub health: Arc<dyn Health>,
}

impl Stores {
    /// Every capability of `backend`.
    pub fn new<S: Store + 'static>(backend: Arc<S>) -> Self {
        Stores {
            teams: backend.clone(),
            tickets: backend.clone(),
            contacts: backend.clone(),
            conversations: backend.clone(),
            presence: backend.clone(),
            users: backend.clone(),
            sessions: backend.clone(),
            plugins: backend.clone(),
            kv: backend.clone(),
            idempotency: backend.clone(),
            jobs: backend.clone(),
            health: backend,
        }
    }
}
