//! Versioned migrations, applied at start by whichever server gets there
//! first.

use deadpool_postgres::Object;
use switchboard_store::StoreError;

use crate::convert::column;
use crate::tx::backend_error;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Each version's SQL, in order: version `n` is `MIGRATIONS[n - 1]`. A
/// published migration never changes; a new version adds one.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_jobs.sql"),
    include_str!("../migrations/0003_ticket_keys.sql"),
    include_str!("../migrations/0004_attachments.sql"),
    include_str!("../migrations/0005_conversations.sql"),
    include_str!("../migrations/0006_presence.sql"),
    include_str!("../migrations/0007_inbound.sql"),
    include_str!("../migrations/0008_sessions.sql"),
];

/// An arbitrary key for the advisory lock that lets one server migrate at
/// a time: servers starting together wait for each other.
const MIGRATION_LOCK: i64 = 0x5357_4254_4348_4244;

/// Applies the migrations the database lacks, in one transaction, or
/// refuses a database whose schema is newer than this build.
pub(crate) async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    let pg = |e: tokio_postgres::Error| backend_error(&e);
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS switchboard_schema (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg)?;
    let row = tx.query_one("SELECT coalesce(max(version), 0) FROM switchboard_schema", &[]).await.map_err(pg)?;
    let found: i32 = column(&row, 0)?;
    let found = u32::try_from(found).unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaMismatch { found, expected: SCHEMA_VERSION });
    }
    for (version, sql) in (1i32..).zip(MIGRATIONS).skip(found as usize) {
        tx.batch_execute(sql).await.map_err(pg)?;
        tx.execute("INSERT INTO switchboard_schema (version) VALUES ($1)", &[&version]).await.map_err(pg)?;
        tracing::info!(version, "applied database migration");
    }
    tx.commit().await.map_err(pg)
}
