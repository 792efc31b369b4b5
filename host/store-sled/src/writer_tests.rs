//! The writer thread: writes that queue up behind each other commit as one
//! transaction, and a write that fails or panics in such a batch fails
//! alone: every write ends as it would have ended on its own.

use std::sync::mpsc;

use jiff::SignedDuration;
use proptest::prelude::*;
use switchboard_core::{Author, ContactDraft, Email, PointKind, Team, TeamDraft, Ticket, TicketDraft, Timestamp};
use switchboard_store::{Committed, ContactStore, StoreError, TeamStore, TicketFilter, TicketStore};

use crate::{SledConfig, SledStats, SledStore};

fn now() -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 50)
}

/// A store with the team "ops".
async fn setup() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path(), SledConfig::default()).expect("open");
    let team = Team::new(TeamDraft { name: "Ops".into(), ..TeamDraft::default() }, now()).expect("team");
    store.create_team(team, None).await.expect("team").durable().await.expect("durable");
    (dir, store)
}

/// Occupies the writer thread until the returned sender is dropped, so
/// that the writes queued meanwhile are taken as one batch.
fn hold(store: &SledStore) -> mpsc::Sender<()> {
    let (started, has_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    drop(store.writer.run(move |_| {
        let _ = started.send(());
        let _ = released.recv();
        Ok(())
    }));
    has_started.recv().expect("the holding write started");
    release
}

/// What a queued write should do.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Open a ticket in "ops".
    Good,
    /// Open a ticket in a team that does not exist.
    UnknownTeam,
    /// Save a contact, then break a rule (an empty title): the contact
    /// must not be kept either.
    BreaksRule,
    /// Open a ticket, then panic inside the transaction: nothing is kept,
    /// and the caller is told the write panicked.
    Panics,
}

type Created = Result<Committed<Ticket>, StoreError>;

fn queue(store: &SledStore, i: usize, kind: Kind) -> impl Future<Output = Created> + use<> {
    let team = if matches!(kind, Kind::UnknownTeam) { "nope" } else { "ops" };
    let draft = TicketDraft {
        title: if matches!(kind, Kind::BreaksRule) { String::new() } else { format!("ticket {i}") },
        origin: "test".into(),
        ..TicketDraft::default()
    };
    let contact = ContactDraft {
        emails: vec![Email { address: format!("c{i}@example.com"), kind: PointKind::Work }],
        ..ContactDraft::default()
    };
    let write = move |tx: &crate::tx::Tx<'_>| {
        let found = tx.team(team)?;
        let ticket = tx.open_ticket(&found, &draft, Some(&contact), &Author::System, now())?;
        if matches!(kind, Kind::Panics) {
            panic!("a write that panics after writing");
        }
        Ok(ticket)
    };
    store.writer.run(move |inner| {
        inner.write_now(crate::visibility::Trees::of(&crate::trees::Tree::ALL), &write, Default::default())
    })
}

/// Checks each answer against its kind, waiting for the good ones to be
/// on disk, and returns the titles of the tickets that should be kept.
async fn check(kinds: &[Kind], answers: Vec<Created>) -> Vec<String> {
    let mut titles = Vec::new();
    for (i, (kind, answer)) in kinds.iter().zip(answers).enumerate() {
        match (kind, answer) {
            (Kind::Good, Ok(committed)) => {
                let ticket = committed.durable().await.expect("durable");
                assert_eq!(ticket.title, format!("ticket {i}"));
                titles.push(ticket.title);
            }
            (Kind::UnknownTeam, Err(StoreError::UnknownTeam(team))) => assert_eq!(team, "nope"),
            (Kind::BreaksRule, Err(StoreError::Rule(_))) => {}
            (Kind::Panics, Err(StoreError::Backend(m))) => assert_eq!(m, "a write panicked"),
            (kind, other) => panic!("write {i} ({kind:?}) answered {other:?}"),
        }
    }
    titles
}

/// Queues `kinds` behind a held writer, releases it, and checks every
/// answer and what the store kept.
async fn run_batch(kinds: &[Kind]) -> SledStats {
    let (_dir, store) = setup().await;
    let release = hold(&store);
    let pending: Vec<_> = kinds.iter().enumerate().map(|(i, &kind)| queue(&store, i, kind)).collect();
    drop(release);
    let mut answers = Vec::new();
    for p in pending {
        answers.push(p.await);
    }
    let mut titles = check(kinds, answers).await;
    titles.sort();
    let filter = TicketFilter { limit: 1000, ..TicketFilter::default() };
    let mut stored: Vec<String> =
        store.tickets("ops", &filter).await.expect("tickets").into_iter().map(|t| t.title).collect();
    stored.sort();
    assert_eq!(stored, titles, "the store keeps what each write would keep alone");
    for (i, kind) in kinds.iter().enumerate() {
        let contact = store.find_contact(Some(&format!("c{i}@example.com")), None).await.expect("find contact");
        assert_eq!(contact.is_some(), matches!(kind, Kind::Good), "contact of write {i} ({kind:?})");
    }
    store.stats()
}

/// In a busy store, writes handed over while a flush runs wait for it to
/// end and then commit together: committed during the flush they would
/// have waited for the next one anyway. Each arrives after the writer
/// would have committed the one before it on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_that_come_during_a_flush_commit_together_after_it() {
    let (_dir, store) = setup().await;
    store.inner.load.set_wait_out_from(0);
    let flushing = store.inner.commit.pretend_flushing();
    let mut pending = Vec::new();
    for i in 0..3 {
        pending.push(queue(&store, i, Kind::Good));
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let filter = TicketFilter { limit: 10, ..TicketFilter::default() };
    let seen = store.inner.tree(crate::trees::Tree::Tickets).len();
    assert_eq!(seen, 0, "nothing commits while the flush runs");
    drop(flushing);
    let mut answers = Vec::new();
    for p in pending {
        answers.push(p.await);
    }
    assert_eq!(check(&[Kind::Good; 3], answers).await.len(), 3);
    assert_eq!(store.tickets("ops", &filter).await.expect("tickets").len(), 3);
    let stats = store.stats();
    assert_eq!((stats.batches, stats.batched_writes), (1, 3), "one transaction after the flush");
}

/// In a store that is not busy, a write handed over during a flush
/// commits at once: waiting would only put its commit on the way of the
/// next flush.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_during_a_flush_of_a_quiet_store_commits_at_once() {
    let (_dir, store) = setup().await;
    store.inner.load.set_wait_out_from(usize::MAX);
    let flushing = store.inner.commit.pretend_flushing();
    let pending = queue(&store, 0, Kind::Good);
    let started = std::time::Instant::now();
    while store.inner.tree(crate::trees::Tree::Tickets).is_empty() {
        assert!(started.elapsed() < std::time::Duration::from_secs(4), "the write waited for the flush");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(flushing);
    assert_eq!(check(&[Kind::Good], vec![pending.await]).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_behind_each_other_commit_as_one_transaction() {
    let stats = run_batch(&[Kind::Good; 5]).await;
    assert_eq!((stats.batches, stats.batched_writes), (1, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_in_a_batch_fails_alone() {
    let stats = run_batch(&[Kind::Good, Kind::UnknownTeam, Kind::Good, Kind::BreaksRule, Kind::Good]).await;
    // The batch was given up and its writes made one by one.
    assert_eq!((stats.batches, stats.batched_writes), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_panics_in_a_batch_fails_alone_and_the_writer_goes_on() {
    run_batch(&[Kind::Good, Kind::Panics, Kind::Good]).await;
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![6 => Just(Kind::Good), 1 => Just(Kind::UnknownTeam), 1 => Just(Kind::BreaksRule), 1 => Just(Kind::Panics)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever mix of writes a batch holds, each gets the answer it would
    /// get alone, and the store keeps exactly the good ones.
    #[test]
    fn every_write_of_a_batch_gets_its_own_answer(kinds in prop::collection::vec(kind(), 1..12)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("runtime");
        let stats = runtime.block_on(run_batch(&kinds));
        if kinds.iter().all(|k| matches!(k, Kind::Good)) && kinds.len() > 1 {
            prop_assert_eq!((stats.batches, stats.batched_writes), (1, kinds.len() as u64));
        }
    }
}

/// A ticket read while a write to the tickets is in flight: `ticket`
/// waits for that write's flush, `ticket_unsettled` answers at once with a
/// durability that is done only once the write is.
#[tokio::test]
async fn an_unsettled_read_answers_at_once_and_its_durability_waits_for_the_writes_it_could_see() {
    let (_dir, store) = setup().await;
    let draft = TicketDraft { title: "Seen".into(), ..TicketDraft::default() };
    let made = store.create_ticket("ops", draft, None, Author::System, now(), None).await.expect("ticket");
    let id = made.durable().await.expect("durable").id;
    // A write in flight to the tickets, as the group flush sees it.
    let in_flight = store.inner.visibility.register(crate::visibility::Trees::of(&[crate::trees::Tree::Tickets]));
    let short = std::time::Duration::from_millis(100);
    assert!(tokio::time::timeout(short, store.ticket(id)).await.is_err(), "a settled read waits for the write");
    let unsettled = tokio::time::timeout(short, store.ticket_unsettled(id)).await.expect("at once").expect("read");
    assert_eq!(unsettled.value().title, "Seen");
    let (_, durability) = unsettled.split();
    let waiting = tokio::spawn(durability.wait());
    tokio::time::sleep(short).await;
    assert!(!waiting.is_finished(), "the read's durability waits for the write it could have seen");
    drop(in_flight);
    tokio::time::timeout(std::time::Duration::from_secs(1), waiting).await.expect("done").expect("task").expect("ok");
    // With nothing in flight, it is durable at once.
    let (_, quiet) = store.ticket_unsettled(id).await.expect("read").split();
    tokio::time::timeout(short, quiet.wait()).await.expect("at once").expect("ok");
}
