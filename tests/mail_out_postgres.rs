//! The tests of `mail_out.rs`, run on PostgreSQL: the same file, built as
//! a second test binary whose name tells `support::on_postgres` which
//! backend to start the servers on. The outbox and the reply jobs are jobs
//! in the database there.

#[path = "mail_out.rs"]
mod mail_out;
