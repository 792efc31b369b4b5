//! The tests of `api.rs`, run on PostgreSQL: the same file, built as a
//! second test binary whose name tells `support::on_postgres` which
//! backend to start the servers on.

#[path = "api.rs"]
mod api;
