//! The tests of `plugins.rs`, run on PostgreSQL: the same file, built as a
//! second test binary whose name tells `support::on_postgres` which
//! backend to start the servers on.

#[path = "plugins.rs"]
mod plugins;
