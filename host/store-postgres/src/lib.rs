//! Switchboard's shared storage backend: every trait of `switchboard-store`
//! on PostgreSQL, so that several servers can work on one database.
//!
//! Each use case is one transaction (see `tx`), at PostgreSQL's default
//! READ COMMITTED level with the row locks it needs: a ticket write locks
//! the ticket, a stage removal locks the team, a storage write that adds a
//! key locks the installation's key count. Uniqueness (slugs, aliases,
//! external keys, contact points, idempotency keys) comes from constraints:
//! a transaction that meets another's row rolls back and runs again, and
//! finds that row the second time. Conflicts are retried a bounded number
//! of times and reported if they persist.
//!
//! A write returns once its transaction committed with `synchronous_commit`
//! on (which the store checks at start), so every [`Committed`] it returns
//! is durable already. The store keeps no caches: with several writers a
//! cache would need invalidating, and a row read is cheap here.
//!
//! [`Committed`]: switchboard_store::Committed

mod contacts;
mod conversations;
mod convert;
mod delivery;
mod idempotency;
mod jobs;
mod kv;
mod plugins;
mod presence;
mod robot_runs;
mod schema;
mod sessions;
mod store;
mod teams;
#[cfg(feature = "throwaway")]
pub mod throwaway;
mod tickets;
mod tx;
mod users;

pub use schema::SCHEMA_VERSION;
pub use store::{PgConfig, PgStats, PgStore};
