//! The tests of `stage_robots.rs`, run on PostgreSQL: the same file, built
//! as a second test binary whose name tells `support::on_postgres` which
//! backend to start the servers on.

#[path = "stage_robots.rs"]
mod stage_robots;
