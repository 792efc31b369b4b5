//! Switchboard's persistence contract: what a storage backend must do.
//!
//! The server and the plugin runtime talk to storage through the
//! capability-sized traits here ([`TeamStore`], [`TicketStore`],
//! [`ContactStore`], [`ConversationStore`], [`PresenceStore`], [`UserStore`], [`PluginStore`], [`KvStore`],
//! [`IdempotencyStore`], [`JobStore`]), each a set of domain use cases: open a ticket,
//! move it, append to its thread. A module depends only on the traits it
//! uses; [`Stores`] hands each of them out from one backend. The traits say
//! nothing of how a backend keeps its data: the sled backend lives in
//! `switchboard-store-sled`, and a PostgreSQL one can sit beside it.
//!
//! Every write checks the rules of `switchboard-core` and keeps its indexes
//! in one transaction, and returns a [`Committed`] value: callers await
//! [`Committed::durable`] before they tell anyone the write succeeded.
//! Reads never show a write of another caller that is not yet durable.
//!
//! [`conformance`] holds the tests every backend must pass, written once
//! against the traits.

mod committed;
pub mod conformance;
mod contacts;
mod conversations;
mod delivery;
mod error;
mod health;
mod idempotency;
mod jobs;
mod kv;
mod plugins;
mod presence;
pub mod robot_runs;
mod sessions;
mod store;
mod teams;
mod tickets;
pub mod triggers;
mod types;
mod users;

pub use committed::{Committed, Durability};
pub use contacts::ContactStore;
pub use conversations::{
    Changed, ConversationStore, ConversationTicket, MAX_CHAT_PAGE, Received, kept_chat_file, missing_chat_file,
};
pub use delivery::{DeliveryEntry, DeliveryJob, Queued};
pub use error::StoreError;
pub use health::Health;
pub use idempotency::IdempotencyStore;
pub use jobs::{Job, JobDraft, JobOutcome, JobState, JobStore, Lease};
pub use kv::{KvScope, KvStore};
pub use plugins::PluginStore;
pub use presence::PresenceStore;
pub use sessions::SessionStore;
pub use store::{Store, Stores};
pub use teams::TeamStore;
pub use tickets::{TicketStore, kept_file, missing_file};
pub use types::{Got, Idempotency, IdempotencyRecord, StoredAnswer, TeamEdit, TicketEdit, TicketFilter};
pub use users::{UserEdit, UserStore};
