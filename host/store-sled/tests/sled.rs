//! What only the sled backend promises: its layout version, the upgrade of
//! older layouts, and group commit.

use std::sync::Arc;

use jiff::SignedDuration;
use switchboard_core::{Author, Priority, Team, TeamDraft, Ticket, TicketDraft, Timestamp};
use switchboard_store::{KvScope, KvStore, StoreError, TeamStore, TicketFilter, TicketStore};
use switchboard_store_sled::{SCHEMA_VERSION, SledConfig, SledStore};

fn at(hours: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 50 + hours)
}

fn open(path: &std::path::Path) -> Result<SledStore, StoreError> {
    SledStore::open(path, SledConfig::default())
}

/// A record as version 1 encoded it: a format byte, then JSON.
fn encoded<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![1];
    out.extend(serde_json::to_vec(value).expect("json"));
    out
}

#[test]
fn a_newer_layout_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(dir.path()).expect("create"));
    {
        let db = sled::open(dir.path()).expect("raw open");
        db.open_tree("meta")
            .expect("meta")
            .insert("schema_version", &(SCHEMA_VERSION + 1).to_be_bytes())
            .expect("poke");
        db.flush().expect("flush");
    }
    match open(dir.path()) {
        Err(StoreError::SchemaMismatch { found, expected }) => {
            assert_eq!((found, expected), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected a schema mismatch, got {other:?}"),
    }
}

/// Data written by version 1 (in-memory id counters, no external-key index,
/// no key counts) opens as version 2 with all three built from the records.
#[tokio::test]
async fn version_1_data_is_upgraded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let team = Team::new(TeamDraft { name: "Ops".into(), ..TeamDraft::default() }, at(0)).expect("team");
    let keyed = TicketDraft {
        title: "From mail".into(),
        origin: "mail".into(),
        external_key: Some("<m1@x>".into()),
        ..TicketDraft::default()
    };
    let ticket = Ticket::open(7, &team, keyed, None, at(0)).expect("ticket");
    {
        let db = sled::open(dir.path()).expect("raw open");
        let tree = |name: &str| db.open_tree(name).expect("tree");
        tree("meta").insert("schema_version", &1u32.to_be_bytes()).expect("version");
        tree("teams").insert("ops", encoded(&team)).expect("team");
        tree("tickets").insert(7u64.to_be_bytes(), encoded(&ticket)).expect("ticket");
        let mut message_key = 7u64.to_be_bytes().to_vec();
        message_key.extend(40u64.to_be_bytes());
        tree("messages").insert(message_key, b"\x01{}".to_vec()).expect("message");
        for key in ["a", "b"] {
            tree("plugin_kv").insert(format!("ops\0form\0{key}"), b"v".to_vec()).expect("kv");
        }
        db.flush().expect("flush");
    }
    let store = open(dir.path()).expect("upgrade");
    let found = store.ticket_by_external_key("ops", "mail", "<m1@x>").await.expect("find").map(|t| t.id);
    assert_eq!(found, Some(7), "the external-key index was built");
    let d = TicketDraft {
        title: "Next".into(),
        origin: "api".into(),
        priority: Some(Priority::Low),
        ..TicketDraft::default()
    };
    let next = store.create_ticket("ops", d, None, Author::System, at(1), None).await.expect("create");
    let next = next.durable().await.expect("durable");
    assert_eq!(next.id, 8, "ticket ids go on from the highest");
    let event = store.messages(8).await.expect("thread");
    assert_eq!(event[0].id, 41, "message ids go on from the highest");
    let scope = KvScope { team: "ops", plugin: "form" };
    let full = store.kv_set(scope, "c", b"v".to_vec(), 2).await;
    assert!(matches!(full, Err(StoreError::StorageFull { limit: 2 })), "the key count was built: {full:?}");
    drop(store);
    let db = sled::open(dir.path()).expect("raw open");
    let version = db.open_tree("meta").expect("meta").get("schema_version").expect("read").expect("version");
    assert_eq!(version.as_ref(), SCHEMA_VERSION.to_be_bytes());
}

/// Many concurrent writers share flushes: the flush count stays well below
/// the write count. This counts flushes; it does not time anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_flushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(open(dir.path()).expect("open"));
    let team = Team::new(TeamDraft { name: "Ops".into(), ..TeamDraft::default() }, at(0)).expect("team");
    store.create_team(team, None).await.expect("team").durable().await.expect("durable");
    let before = store.stats();
    let mut tasks = Vec::new();
    for client in 0..64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let d =
                    TicketDraft { title: format!("c{client} #{i}"), origin: "api".into(), ..TicketDraft::default() };
                let created = store.create_ticket("ops", d, None, Author::System, at(0), None).await.expect("t");
                created.durable().await.expect("durable");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let after = store.stats();
    let writes = after.durable_writes - before.durable_writes;
    let flushes = after.flushes - before.flushes;
    assert_eq!(writes, 640);
    assert!(flushes * 2 < writes, "{flushes} flushes for {writes} writes: no group commit");
    assert!(after.handed_over > 0, "64 writers in progress hand their writes to the writer thread");
    let all = store.tickets("ops", &TicketFilter { limit: 1000, ..TicketFilter::default() }).await.expect("list");
    assert_eq!(all.len(), 640);
}

/// Ids are reserved on disk in blocks, but a store that closes cleanly
/// gives the unused rest back: a plain restart skips no ticket number.
#[tokio::test]
async fn a_clean_restart_skips_no_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let last = {
        let store = open(dir.path()).expect("open");
        let team = Team::new(TeamDraft { name: "Ops".into(), ..TeamDraft::default() }, at(0)).expect("team");
        store.create_team(team, None).await.expect("team").durable().await.expect("durable");
        let mut last = 0;
        for i in 0..3 {
            last = create(&store, &format!("t{i}")).await.id;
        }
        last
    };
    let store = open(dir.path()).expect("reopen");
    assert_eq!(create(&store, "after").await.id, last + 1);
}

async fn create(store: &SledStore, title: &str) -> Ticket {
    let d = TicketDraft { title: title.into(), origin: "api".into(), ..TicketDraft::default() };
    let created = store.create_ticket("ops", d, None, Author::System, at(0), None).await.expect("create");
    created.durable().await.expect("durable")
}
