//! The tests of `mail.rs`, run on PostgreSQL: the same file, built as a
//! second test binary whose name tells `support::on_postgres` which
//! backend to start the servers on. Kept mail, the outbox and the reply
//! jobs are jobs in the database there.

#[path = "mail.rs"]
mod mail;
