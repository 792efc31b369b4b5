//! Switchboard's persistence.
//!
//! The server talks to a [`Store`]: a narrow trait of use cases (create a
//! team, open a ticket, move it, append to its thread, …). Each method
//! checks the domain rules of `switchboard-core` inside one transaction and
//! keeps every secondary index in that same transaction. [`SledStore`] is
//! the implementation on sled 0.34; the trait is kept narrow enough that a
//! second backend can exist.
//!
//! Writes return a [`Committed`] value. The write is visible at once but
//! durable only when [`Committed::durable`] resolves, which happens when the
//! group-commit flusher has fsynced it. Callers answer a client only after
//! that.

mod batch;
mod codec;
mod committed;
mod error;
mod group_commit;
mod keys;
mod load;
mod record_cache;
mod sled_store;
mod store;
mod writer;

pub use committed::{Committed, Durability};
pub use error::StoreError;
pub use load::InProgress;
pub use sled_store::{SCHEMA_VERSION, SledStore};
pub use store::{Store, StoreStats, TicketEdit, TicketFilter};
pub use writer::{Writer, WriterStats};
