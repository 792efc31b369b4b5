//! Migrations: applied once by servers that start together, and a schema
//! newer than the build refused.

use switchboard_store::StoreError;
use switchboard_store_postgres::throwaway::TempPostgres;
use switchboard_store_postgres::{PgConfig, PgStore, SCHEMA_VERSION};

async fn versions(url: &str) -> Vec<i32> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let rows = client.query("SELECT version FROM switchboard_schema ORDER BY version", &[]).await.expect("query");
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_migrate_once() {
    let server = tokio::task::spawn_blocking(TempPostgres::shared).await.expect("join").expect("postgres");
    let url = server.new_database().expect("database");
    let opens = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { PgStore::open(&PgConfig::new(url)).await.map(drop) })
    });
    for open in opens {
        open.await.expect("join").expect("every server opens the store");
    }
    let expected: Vec<i32> = (1..=SCHEMA_VERSION as i32).collect();
    assert_eq!(versions(&url).await, expected, "each migration is recorded once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    let server = tokio::task::spawn_blocking(TempPostgres::shared).await.expect("join").expect("postgres");
    let url = server.new_database().expect("database");
    PgStore::open(&PgConfig::new(&url)).await.expect("first open migrates");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let newer = SCHEMA_VERSION as i32 + 1;
    client.execute("INSERT INTO switchboard_schema (version) VALUES ($1)", &[&newer]).await.expect("insert");
    match PgStore::open(&PgConfig::new(&url)).await {
        Err(StoreError::SchemaMismatch { found, expected }) => {
            assert_eq!((found, expected), (newer as u32, SCHEMA_VERSION));
        }
        other => panic!("a newer schema must be refused, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_commits_synchronously() {
    let server = tokio::task::spawn_blocking(TempPostgres::shared).await.expect("join").expect("postgres");
    let url = server.new_database().expect("database");
    // Even a database whose default is off: the store sets it per session.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let name = url.rsplit('/').next().expect("database name");
    client.batch_execute(&format!("ALTER DATABASE {name} SET synchronous_commit = off")).await.expect("alter");
    let store = PgStore::open(&PgConfig::new(&url)).await.expect("open");
    assert_eq!(store.setting("synchronous_commit").await.expect("show"), "on");
}
