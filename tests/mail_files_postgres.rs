//! The tests of `mail_files.rs`, run on PostgreSQL: the same file, built
//! as a second test binary whose name tells `support::on_postgres` which
//! backend to start the servers on. Files are kept in `attachments` there.

#[path = "mail_files.rs"]
mod mail_files;
