//! The corpus test of `mail_corpus.rs`, run on PostgreSQL: the same file,
//! built as a second test binary whose name tells `support::on_postgres`
//! which backend to start the servers on.

#[path = "mail_corpus.rs"]
mod mail_corpus;
