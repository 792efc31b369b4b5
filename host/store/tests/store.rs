//! The sled store against the rules it must keep: uniqueness, indexes kept
//! in step with records, contact reuse, schema checks and group commit.

use std::sync::Arc;

use jiff::SignedDuration;
use switchboard_core::{
    Author, ContactDraft, Email, MessageDraft, MessageKind, Phone, PointKind, Priority, Role, SlaPolicyDraft, Team,
    TeamDraft, TicketDraft, Timestamp,
};
use switchboard_store::{SCHEMA_VERSION, SledStore, Store, StoreError, TicketEdit, TicketFilter};

fn at(hours: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 50 + hours)
}

fn team(name: &str) -> Team {
    Team::new(TeamDraft { name: name.into(), ..TeamDraft::default() }, at(0)).expect("team")
}

fn open() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("open");
    (dir, store)
}

fn draft(title: &str, priority: Priority) -> TicketDraft {
    TicketDraft { title: title.into(), priority: Some(priority), origin: "api".into(), ..TicketDraft::default() }
}

fn email(address: &str) -> ContactDraft {
    ContactDraft { emails: vec![Email { address: address.into(), kind: PointKind::Work }], ..ContactDraft::default() }
}

#[test]
fn slugs_and_aliases_are_unique() {
    let (_dir, store) = open();
    store.create_team(team("Customer Care")).expect("first").durable_blocking().expect("durable");
    let again = store.create_team(team("Customer  Care!"));
    assert!(matches!(again, Err(StoreError::SlugTaken(s)) if s == "customer-care"));

    let mut other = team("Billing");
    other.alias = "customer-care".into();
    let taken = store.create_team(other);
    assert!(matches!(taken, Err(StoreError::AliasTaken { team, .. }) if team == "customer-care"));

    store.create_team(team("Billing")).expect("billing").durable_blocking().expect("durable");
    let clash = store.update_team("billing", &mut |t| t.set_alias("Customer-Care"));
    assert!(matches!(clash, Err(StoreError::AliasTaken { .. })));
    store
        .update_team("billing", &mut |t| t.set_alias("money"))
        .expect("free alias")
        .durable_blocking()
        .expect("durable");
    assert_eq!(store.team_by_alias("MONEY").expect("lookup").map(|t| t.slug), Some("billing".into()));
    assert!(store.team_by_alias("billing").expect("lookup").is_none(), "old alias released");
}

#[test]
fn lists_sort_by_priority_then_age_and_follow_changes() {
    let (_dir, store) = open();
    store.create_team(team("Ops")).expect("team").durable_blocking().expect("durable");
    let mut ids = Vec::new();
    for (i, p) in [Priority::Low, Priority::Urgent, Priority::Medium, Priority::Urgent].into_iter().enumerate() {
        let t = store
            .create_ticket("ops", draft(&format!("t{i}"), p), None, Author::System, at(i as i64))
            .expect("ticket")
            .durable_blocking()
            .expect("durable");
        ids.push(t.id);
    }
    let all = TicketFilter { limit: 100, ..TicketFilter::default() };
    let order =
        |store: &SledStore| -> Vec<u64> { store.tickets("ops", &all).expect("list").iter().map(|t| t.id).collect() };
    assert_eq!(order(&store), [ids[1], ids[3], ids[2], ids[0]]);

    // Raising the oldest ticket to urgent moves it to the front.
    let edit = TicketEdit { priority: Some(Priority::Urgent), ..TicketEdit::default() };
    store.update_ticket(ids[0], &edit, Author::System, at(10)).expect("edit").durable_blocking().expect("durable");
    assert_eq!(order(&store), [ids[0], ids[1], ids[3], ids[2]]);

    let in_progress = TicketEdit { stage: Some(2), ..TicketEdit::default() };
    store
        .update_ticket(ids[2], &in_progress, Author::System, at(11))
        .expect("move")
        .durable_blocking()
        .expect("durable");
    let filtered = store.tickets("ops", &TicketFilter { stage: Some(2), ..all.clone() }).expect("list");
    assert_eq!(filtered.iter().map(|t| t.id).collect::<Vec<_>>(), [ids[2]]);
    assert_eq!(store.stage_counts("ops").expect("counts")[..2], [(1, 3), (2, 1)]);

    let page = store.tickets("ops", &TicketFilter { offset: 1, limit: 2, ..all }).expect("page");
    assert_eq!(page.iter().map(|t| t.id).collect::<Vec<_>>(), [ids[1], ids[3]]);

    // The thread holds the creation and every change, in order.
    let thread = store.messages(ids[0]).expect("thread");
    let bodies: Vec<_> = thread.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["Ticket created via api in stage New", "Priority changed from low to urgent"]);
}

#[test]
fn stage_with_tickets_cannot_be_removed() {
    let (_dir, store) = open();
    store.create_team(team("Ops")).expect("team").durable_blocking().expect("durable");
    store
        .create_ticket("ops", draft("x", Priority::Low), None, Author::System, at(0))
        .expect("t")
        .durable_blocking()
        .expect("durable");
    assert!(matches!(store.remove_stage("ops", 1), Err(StoreError::StageInUse { count: 1, .. })));
    store.remove_stage("ops", 2).expect("empty stage").durable_blocking().expect("durable");
    assert!(store.team("ops").expect("team").stage(2).is_err());
}

#[test]
fn contacts_are_found_by_email_or_phone_and_never_duplicated() {
    let (_dir, store) = open();
    store.create_team(team("Ops")).expect("team").durable_blocking().expect("durable");
    let first = ContactDraft { name: Some("Ann Lee".into()), ..email("Ann@Example.com") };
    let a = store
        .create_ticket("ops", draft("a", Priority::Low), Some(first), Author::System, at(0))
        .expect("a")
        .durable_blocking()
        .expect("d");
    let second = ContactDraft {
        phones: vec![Phone { number: "+1 555 0100 200".into(), kind: PointKind::Mobile }],
        ..email("ann@example.COM ")
    };
    let b = store
        .create_ticket("ops", draft("b", Priority::Low), Some(second), Author::System, at(1))
        .expect("b")
        .durable_blocking()
        .expect("d");
    assert_eq!(a.contact, b.contact, "same e-mail, same contact");
    let by_phone = store.find_contact(None, Some("+1-555-0100-200")).expect("find").expect("found");
    assert_eq!(Some(by_phone.id), a.contact);
    assert_eq!(by_phone.name, "Ann Lee");
    assert_eq!(by_phone.phones.len(), 1, "the new phone was added");

    let other = store.upsert_contact(email("bob@example.com"), at(2)).expect("bob").durable_blocking().expect("d");
    assert_ne!(Some(other.id), a.contact);
    assert!(store.upsert_contact(email("not-an-address"), at(2)).is_err());
}

#[test]
fn overdue_tickets_are_breached_once() {
    let (_dir, store) = open();
    store.create_team(team("Ops")).expect("team").durable_blocking().expect("durable");
    store
        .update_team("ops", &mut |t| {
            t.add_policy(SlaPolicyDraft {
                name: "Fast".into(),
                min_priority: Priority::High,
                target_stage: 3,
                hours: 4.0,
            })
            .map(drop)
        })
        .expect("policy")
        .durable_blocking()
        .expect("durable");
    let t = store
        .create_ticket("ops", draft("x", Priority::High), None, Author::System, at(0))
        .expect("t")
        .durable_blocking()
        .expect("d");
    let slow = store
        .create_ticket("ops", draft("y", Priority::Low), None, Author::System, at(0))
        .expect("t")
        .durable_blocking()
        .expect("d");
    assert!(slow.sla.is_none());
    assert!(store.breach_overdue(at(3)).expect("sweep").durable_blocking().expect("d").is_empty());
    assert_eq!(store.breach_overdue(at(5)).expect("sweep").durable_blocking().expect("d"), [t.id]);
    assert!(store.ticket(t.id).expect("t").is_breached());
    assert!(store.breach_overdue(at(6)).expect("sweep").durable_blocking().expect("d").is_empty());
    let breached = store
        .tickets("ops", &TicketFilter { breached: Some(true), limit: 10, ..TicketFilter::default() })
        .expect("list");
    assert_eq!(breached.len(), 1);
}

#[test]
fn reopening_keeps_data_and_continues_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first_id = {
        let store = SledStore::open(dir.path()).expect("open");
        store.create_team(team("Ops")).expect("team").durable_blocking().expect("durable");
        let t = store
            .create_ticket("ops", draft("x", Priority::Low), None, Author::System, at(0))
            .expect("t")
            .durable_blocking()
            .expect("d");
        store
            .append_message(
                t.id,
                MessageDraft { kind: MessageKind::Note, author: Author::System, body: "hi".into() },
                at(1),
            )
            .expect("note")
            .durable_blocking()
            .expect("d");
        store.create_user("Ada", Role::Agent, "hash".into(), at(0)).expect("user").durable_blocking().expect("d");
        t.id
    };
    let store = SledStore::open(dir.path()).expect("reopen");
    assert_eq!(store.ticket(first_id).expect("ticket").title, "x");
    assert_eq!(store.messages(first_id).expect("thread").len(), 2);
    assert_eq!(store.user_by_token("hash").expect("lookup").map(|u| u.name), Some("Ada".into()));
    let next = store
        .create_ticket("ops", draft("y", Priority::Low), None, Author::System, at(2))
        .expect("t")
        .durable_blocking()
        .expect("d");
    assert_eq!(next.id, first_id + 1);
}

#[test]
fn schema_version_is_checked_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(SledStore::open(dir.path()).expect("create"));
    {
        let db = sled::open(dir.path()).expect("raw open");
        db.open_tree("meta")
            .expect("meta")
            .insert("schema_version", &(SCHEMA_VERSION + 1).to_be_bytes())
            .expect("poke");
        db.flush().expect("flush");
    }
    match SledStore::open(dir.path()) {
        Err(StoreError::SchemaMismatch { found, expected }) => {
            assert_eq!((found, expected), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected a schema mismatch, got {other:?}"),
    }
}

/// Many concurrent writers share flushes: the flush count stays well below
/// the write count. This counts flushes; it does not time anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_flushes() {
    let (_dir, store) = open();
    let store = Arc::new(store);
    store.create_team(team("Ops")).expect("team").durable().await.expect("durable");
    let before = store.stats();
    let mut tasks = Vec::new();
    for client in 0..64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let d = draft(&format!("c{client} #{i}"), Priority::Low);
                store
                    .create_ticket("ops", d, None, Author::System, at(0))
                    .expect("t")
                    .durable()
                    .await
                    .expect("durable");
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
    let all = store.tickets("ops", &TicketFilter { limit: 1000, ..TicketFilter::default() }).expect("list");
    assert_eq!(all.len(), 640);
}

#[test]
fn reads_follow_every_change_to_teams_and_installations() {
    use switchboard_core::{Capability, Installation, Limits, Manifest, PluginKind, PluginRecord};
    let (_dir, store) = open();
    store.create_team(team("Care")).expect("team").durable_blocking().expect("durable");
    // Read first, so that any cached copy exists before each change.
    assert_eq!(store.team("care").expect("team").name, "Care");
    store.update_team("care", &mut |t| t.set_alias("help")).expect("edit").durable_blocking().expect("durable");
    assert_eq!(store.team("care").expect("team").alias, "help");

    let manifest = Manifest {
        id: "form".into(),
        name: "Form".into(),
        version: "1.0.0".into(),
        kind: PluginKind::Channel,
        vendor: "us".into(),
        wit: "0.1.0".into(),
        capabilities: vec![Capability::Tickets, Capability::Storage],
        settings_schema: String::new(),
    };
    let record = PluginRecord {
        manifest,
        sha256: "00".into(),
        size: 1,
        bundled: false,
        enabled_in: 0,
        installed_at: at(0),
        updated_at: at(0),
    };
    store.put_plugin(record, vec![0]).expect("plugin").durable_blocking().expect("durable");
    let install = |settings: &str, grants: Vec<Capability>| Installation {
        team: "care".into(),
        plugin: "form".into(),
        settings: settings.into(),
        grants,
        limits: Limits::default(),
        enabled_at: at(1),
        updated_at: at(1),
    };
    assert!(matches!(store.installation("care", "form"), Err(StoreError::NotEnabled { .. })));
    store.put_installation(install("{}", vec![Capability::Tickets])).expect("enable").durable_blocking().expect("ok");
    assert_eq!(store.installation("care", "form").expect("enabled").grants, vec![Capability::Tickets]);
    let both = vec![Capability::Tickets, Capability::Storage];
    store.put_installation(install(r#"{"a":1}"#, both.clone())).expect("edit").durable_blocking().expect("ok");
    let now = store.installation("care", "form").expect("enabled");
    assert_eq!((now.settings.as_str(), now.grants), (r#"{"a":1}"#, both));
    store.remove_installation("care", "form").expect("disable").durable_blocking().expect("ok");
    assert!(matches!(store.installation("care", "form"), Err(StoreError::NotEnabled { .. })));
}
