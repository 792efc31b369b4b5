//! Tickets: list order, SLA breaches, external keys, edits, ids.

use std::collections::BTreeSet;
use std::sync::Arc;

use switchboard_core::{Author, MessageDraft, MessageKind, Priority, Role, SlaPolicyDraft, TicketDraft};

use super::{Harness, at, draft, durable, email, open_ticket, with_team};
use crate::{StoreError, TicketEdit, TicketFilter};

fn all() -> TicketFilter {
    TicketFilter { limit: 1000, ..TicketFilter::default() }
}

/// A draft from plugin `origin` with an external key.
fn keyed(title: &str, origin: &str, key: &str) -> TicketDraft {
    TicketDraft { title: title.into(), origin: origin.into(), external_key: Some(key.into()), ..TicketDraft::default() }
}

/// Lists sort by priority, then age; they follow priority and stage
/// changes, filter and page; each change is written into the thread.
pub async fn lists_sort_by_priority_then_age_and_follow_changes<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let mut ids = Vec::new();
    for (i, p) in [Priority::Low, Priority::Urgent, Priority::Medium, Priority::Urgent].into_iter().enumerate() {
        let d = draft(&format!("t{i}"), p);
        ids.push(durable(store.create_ticket("ops", d, None, Author::System, at(i as i64), None).await).await.id);
    }
    let order = async |filter: TicketFilter| -> Vec<u64> {
        store.tickets("ops", &filter).await.expect("list").iter().map(|t| t.id).collect()
    };
    assert_eq!(order(all()).await, [ids[1], ids[3], ids[2], ids[0]]);

    // Raising the oldest ticket to urgent moves it to the front.
    let edit = TicketEdit { priority: Some(Priority::Urgent), ..TicketEdit::default() };
    durable(store.update_ticket(ids[0], edit, Author::System, at(10), None).await).await;
    assert_eq!(order(all()).await, [ids[0], ids[1], ids[3], ids[2]]);

    let in_progress = TicketEdit { stage: Some(2), ..TicketEdit::default() };
    durable(store.update_ticket(ids[2], in_progress, Author::System, at(11), None).await).await;
    assert_eq!(order(TicketFilter { stage: Some(2), ..all() }).await, [ids[2]]);
    assert_eq!(order(TicketFilter { priority: Some(Priority::Urgent), ..all() }).await, [ids[0], ids[1], ids[3]]);
    assert_eq!(store.stage_counts("ops").await.expect("counts")[..2], [(1, 3), (2, 1)]);
    assert_eq!(order(TicketFilter { offset: 1, limit: 2, ..all() }).await, [ids[1], ids[3]]);

    let thread = store.messages(ids[0]).await.expect("thread");
    let bodies: Vec<_> = thread.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["Ticket created via api in stage New", "Priority changed from low to urgent"]);
    assert!(matches!(store.tickets("nope", &all()).await, Err(StoreError::UnknownTeam(_))));
    assert!(matches!(store.ticket(999_999).await, Err(StoreError::UnknownTicket(999_999))));
}

/// The sweep breaches a running SLA once its deadline passed, and once.
pub async fn overdue_tickets_are_breached_once<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let policy = SlaPolicyDraft { name: "Fast".into(), min_priority: Priority::High, target_stage: 3, hours: 4.0 };
    let add = Arc::new(move |t: &mut switchboard_core::Team| t.add_policy(policy.clone()).map(drop));
    durable(store.update_team("ops", add, None).await).await;
    let fast = draft("x", Priority::High);
    let t = durable(store.create_ticket("ops", fast, None, Author::System, at(0), None).await).await;
    let slow =
        durable(store.create_ticket("ops", draft("y", Priority::Low), None, Author::System, at(0), None).await).await;
    assert!(slow.sla.is_none());
    assert!(durable(store.breach_overdue(at(3)).await).await.is_empty());
    assert_eq!(durable(store.breach_overdue(at(5)).await).await, [t.id]);
    assert!(store.ticket(t.id).await.expect("t").is_breached());
    assert!(durable(store.breach_overdue(at(6)).await).await.is_empty());
    let breached = store.tickets("ops", &TicketFilter { breached: Some(true), ..all() }).await.expect("list");
    assert_eq!(breached.iter().map(|t| t.id).collect::<Vec<_>>(), [t.id]);
}

/// A second ticket with the same team, origin and key is refused, naming
/// the first; other teams and origins may use the key.
pub async fn external_keys_are_unique_per_team_and_origin<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    with_team(&*store, "Care").await;
    let create = async |slug: &str, origin: &str, key: &str| {
        store.create_ticket(slug, keyed("t", origin, key), None, Author::System, at(0), None).await
    };
    let first = durable(create("ops", "mail", "<a@x>").await).await;
    match create("ops", "mail", "<a@x>").await {
        Err(StoreError::ExternalKeyTaken { origin, key, ticket }) => {
            assert_eq!((origin.as_str(), key.as_str(), ticket), ("mail", "<a@x>", first.id));
        }
        other => panic!("expected the key to be taken, got {other:?}"),
    }
    let other_origin = durable(create("ops", "chat", "<a@x>").await).await;
    let other_team = durable(create("care", "mail", "<a@x>").await).await;
    let found = |slug: &'static str, origin: &'static str| {
        let store = Arc::clone(&store);
        async move { store.ticket_by_external_key(slug, origin, "<a@x>").await.expect("find").map(|t| t.id) }
    };
    assert_eq!(found("ops", "mail").await, Some(first.id));
    assert_eq!(found("ops", "chat").await, Some(other_origin.id));
    assert_eq!(found("care", "mail").await, Some(other_team.id));
    assert_eq!(found("care", "chat").await, None);
    assert_eq!(store.ticket_by_external_key("ops", "mail", "<b@x>").await.expect("find"), None);
    let count = store.tickets("ops", &all()).await.expect("list").len();
    assert_eq!(count, 2, "the refused ticket left nothing behind");
}

/// The external-key index is kept on disk, not only in memory.
pub async fn external_keys_are_found_after_a_restart<H: Harness>() {
    let mut h = H::new().await;
    let id = {
        let store = h.store();
        with_team(&*store, "Ops").await;
        durable(store.create_ticket("ops", keyed("t", "mail", "k1"), None, Author::System, at(0), None).await).await.id
    };
    h.restart().await;
    let store = h.store();
    let found = store.ticket_by_external_key("ops", "mail", "k1").await.expect("find").map(|t| t.id);
    assert_eq!(found, Some(id));
    let again = store.create_ticket("ops", keyed("t", "mail", "k1"), None, Author::System, at(1), None).await;
    assert!(matches!(again, Err(StoreError::ExternalKeyTaken { ticket, .. }) if ticket == id), "{again:?}");
}

/// Fifty concurrent create-or-get calls with one key, from eight tasks,
/// make exactly one ticket, and all of them get it.
pub async fn concurrent_creates_with_one_external_key_make_one_ticket<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let mut tasks = Vec::new();
    for client in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in (client..50).step_by(8) {
                let d = keyed(&format!("attempt {i}"), "webhook", "delivery-1");
                let contact = Some(email("ann@example.com"));
                let g = durable(store.create_or_get_ticket("ops", d, contact, Author::System, at(0)).await).await;
                got.push((g.record.id, g.created));
            }
            got
        }));
    }
    let mut ids = BTreeSet::new();
    let mut created = 0;
    for task in tasks {
        for (id, new) in task.await.expect("task") {
            ids.insert(id);
            created += usize::from(new);
        }
    }
    assert_eq!(ids.len(), 1, "every call got the same ticket");
    assert_eq!(created, 1, "exactly one call created it");
    assert_eq!(store.tickets("ops", &all()).await.expect("list").len(), 1);
    let thread = store.messages(*ids.first().expect("one")).await.expect("thread");
    assert_eq!(thread.len(), 1, "one \"created\" event");

    // Plain creates race the same way: one wins, the rest are refused.
    let mut tasks = Vec::new();
    for client in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.create_ticket("ops", keyed("x", "webhook", "delivery-2"), None, Author::System, at(0), None).await
        }));
        let _ = client;
    }
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(c) => {
                c.durable().await.expect("durable");
                won += 1;
            }
            Err(StoreError::ExternalKeyTaken { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1);
}

/// Create-or-get returns the ticket that has the key, untouched, and needs
/// a key.
pub async fn create_or_get_returns_the_existing_ticket<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let first =
        durable(store.create_or_get_ticket("ops", keyed("First", "p", "k"), None, Author::System, at(0)).await).await;
    assert!(first.created);
    let again =
        durable(store.create_or_get_ticket("ops", keyed("Second", "p", "k"), None, Author::System, at(1)).await).await;
    assert!(!again.created);
    assert_eq!((again.record.id, again.record.title.as_str()), (first.record.id, "First"));
    let no_key = TicketDraft { title: "t".into(), origin: "p".into(), ..TicketDraft::default() };
    let refused = store.create_or_get_ticket("ops", no_key, None, Author::System, at(0)).await;
    assert!(matches!(refused, Err(StoreError::Rule(_))), "{refused:?}");
}

/// One edit sets title, priority, stage and fields in one write; if any
/// part is refused, nothing changes.
pub async fn a_ticket_edit_changes_everything_or_nothing<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let t = open_ticket(&*store, "ops", "Old").await;
    let bad = TicketEdit {
        title: Some("New".into()),
        fields: Some(vec![("bad key".into(), "x".into())]),
        ..TicketEdit::default()
    };
    let refused = store.update_ticket(t.id, bad, Author::System, at(1), None).await;
    assert!(matches!(refused, Err(StoreError::Rule(_))), "{refused:?}");
    let kept = store.ticket(t.id).await.expect("ticket");
    assert_eq!((kept.title.as_str(), kept.fields.len()), ("Old", 0));
    assert_eq!(store.messages(t.id).await.expect("thread").len(), 1);

    let good = TicketEdit {
        title: Some("New".into()),
        priority: Some(Priority::High),
        stage: Some(2),
        fields: Some(vec![("order".into(), "A-1".into())]),
        assignee: Some(Some(switchboard_core::Assignee { id: 7, name: "Ada".into() })),
    };
    let edited = durable(store.update_ticket(t.id, good, Author::System, at(2), None).await).await;
    assert_eq!((edited.title.as_str(), edited.priority, edited.stage), ("New", Priority::High, 2));
    assert_eq!(edited.fields.get("order").map(String::as_str), Some("A-1"));
    assert_eq!(edited.assignee.as_ref().map(|a| a.id), Some(7));
    assert_eq!(store.ticket(t.id).await.expect("ticket"), edited);
    let events = store.messages(t.id).await.expect("thread").len();
    assert_eq!(events, 6, "created, title, priority, stage, fields and assignee events");
    let unassign = TicketEdit { assignee: Some(None), ..TicketEdit::default() };
    let edited = durable(store.update_ticket(t.id, unassign, Author::System, at(3), None).await).await;
    assert_eq!(edited.assignee, None);
    assert_eq!(store.ticket(t.id).await.expect("ticket").assignee, None, "an unassignment is kept");
}

/// A restarted store keeps every record and never reuses an id.
pub async fn reopening_keeps_data_and_continues_ids<H: Harness>() {
    let mut h = H::new().await;
    let (first_id, note_id, user_id, contact_id) = {
        let store = h.store();
        with_team(&*store, "Ops").await;
        let d = draft("x", Priority::Low);
        let t = durable(store.create_ticket("ops", d, Some(email("a@x.org")), Author::System, at(0), None).await).await;
        let note = MessageDraft::new(MessageKind::Note, Author::System, "hi");
        let note = durable(store.append_message(t.id, note, at(1), None).await).await;
        let user = durable(store.create_user("Ada", Role::Agent, Vec::new(), "hash".into(), at(0)).await).await;
        (t.id, note.id, user.id, t.contact.expect("contact"))
    };
    h.restart().await;
    let store = h.store();
    assert_eq!(store.ticket(first_id).await.expect("ticket").title, "x");
    assert_eq!(store.messages(first_id).await.expect("thread").len(), 2);
    assert_eq!(store.user_by_token("hash").await.expect("lookup").map(|u| u.name), Some("Ada".into()));
    let d = draft("y", Priority::Low);
    let next = durable(store.create_ticket("ops", d, Some(email("b@x.org")), Author::System, at(2), None).await).await;
    assert!(next.id > first_id, "ticket ids go on: {} after {first_id}", next.id);
    assert!(next.contact.expect("contact") > contact_id, "contact ids go on");
    let note = MessageDraft::new(MessageKind::Note, Author::System, "again");
    assert!(durable(store.append_message(next.id, note, at(3), None).await).await.id > note_id, "message ids go on");
    let user = durable(store.create_user("Bo", Role::Agent, Vec::new(), "hash2".into(), at(0)).await).await;
    assert!(user.id > user_id, "user ids go on");
}

/// A ticket gains more keys (an e-mail thread's Message-IDs): each finds
/// it, also after a restart; a key of another ticket is refused and none
/// of the call's keys is added; a new ticket cannot take an added key.
pub async fn added_keys_find_the_ticket_and_stay_unique<H: Harness>() {
    let mut h = H::new().await;
    let (first, second) = {
        let store = h.store();
        with_team(&*store, "Ops").await;
        let create = async |key: &str| {
            durable(store.create_ticket("ops", keyed("t", "mail", key), None, Author::System, at(0), None).await)
                .await
                .id
        };
        let (first, second) = (create("<m1@x>").await, create("<n1@x>").await);
        let added = vec!["<m2@x>".to_owned(), "<m3@x>".to_owned(), "<m1@x>".to_owned()];
        durable(store.add_external_keys(first, "mail", &added).await).await;
        let clash = vec!["<n2@x>".to_owned(), "<m2@x>".to_owned()];
        let refused = store.add_external_keys(second, "mail", &clash).await;
        assert!(
            matches!(&refused, Err(StoreError::ExternalKeyTaken { key, ticket, .. }) if key == "<m2@x>" && *ticket == first),
            "{refused:?}"
        );
        let taken = store.create_ticket("ops", keyed("t", "mail", "<m3@x>"), None, Author::System, at(1), None).await;
        assert!(matches!(taken, Err(StoreError::ExternalKeyTaken { ticket, .. }) if ticket == first), "{taken:?}");
        let got =
            durable(store.create_or_get_ticket("ops", keyed("t", "mail", "<m2@x>"), None, Author::System, at(1)).await)
                .await;
        assert_eq!((got.created, got.record.id), (false, first));
        let too_many: Vec<String> = (0..=switchboard_core::MAX_KEYS_PER_CALL).map(|i| format!("<k{i}@x>")).collect();
        assert!(matches!(store.add_external_keys(first, "mail", &too_many).await, Err(StoreError::Rule(_))));
        assert!(matches!(store.add_external_keys(first, "mail", &[String::new()]).await, Err(StoreError::Rule(_))));
        assert!(matches!(
            store.add_external_keys(9999, "mail", &["<z@x>".to_owned()]).await,
            Err(StoreError::UnknownTicket(9999))
        ));
        (first, second)
    };
    h.restart().await;
    let store = h.store();
    let found = async |key: &str| store.ticket_by_external_key("ops", "mail", key).await.expect("find").map(|t| t.id);
    for key in ["<m1@x>", "<m2@x>", "<m3@x>"] {
        assert_eq!(found(key).await, Some(first), "{key}");
    }
    assert_eq!(found("<n1@x>").await, Some(second));
    let listed = store.ticket(first).await.expect("ticket").thread_keys;
    assert_eq!(listed, ["<m1@x>", "<m2@x>", "<m3@x>"], "the origin's keys, in the order they came");
    assert_eq!(found("<n2@x>").await, None, "a refused call adds none of its keys");
    assert_eq!(store.ticket_by_external_key("ops", "chat", "<m2@x>").await.expect("find"), None);
}
