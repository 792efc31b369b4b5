//! The store writer: writes that queue up behind each other commit as one
//! transaction, and a write that fails or panics in such a batch fails
//! alone: every write ends as it would have ended on its own.

use std::sync::{Arc, mpsc};

use jiff::SignedDuration;
use proptest::prelude::*;
use switchboard_core::{Author, ContactDraft, Email, PointKind, Team, TeamDraft, Ticket, TicketDraft, Timestamp};
use switchboard_store::{Committed, SledStore, Store, StoreError, TicketFilter, Writer, WriterStats};

fn now() -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(24 * 365 * 50)
}

/// A store with the team "ops", and a writer on it.
async fn setup() -> (tempfile::TempDir, Arc<dyn Store>, Writer) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let team = Team::new(TeamDraft { name: "Ops".into(), ..TeamDraft::default() }, now()).expect("team");
    store.create_team(team).expect("team").durable().await.expect("durable");
    let writer = Writer::spawn(Arc::clone(&store)).expect("writer");
    (dir, store, writer)
}

/// Occupies the writer thread until the returned sender is dropped or
/// sent to, so that the writes queued meanwhile are taken as one batch.
fn hold(writer: &Writer) -> mpsc::Sender<()> {
    let (started, has_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let held = writer.run(move |_| {
        let _ = started.send(());
        let _ = released.recv();
    });
    drop(held);
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
    /// Open a ticket, then panic. In a batch, that attempt is given up;
    /// alone, the ticket stays, and the caller is told the write panicked.
    Panics,
}

type Created = Result<Result<Committed<Ticket>, StoreError>, StoreError>;

fn queue(writer: &Writer, i: usize, kind: Kind) -> impl Future<Output = Created> + use<> {
    let title = format!("ticket {i}");
    let team = if matches!(kind, Kind::UnknownTeam) { "nope" } else { "ops" };
    let draft = TicketDraft {
        title: if matches!(kind, Kind::BreaksRule) { String::new() } else { title },
        origin: "test".into(),
        ..TicketDraft::default()
    };
    let contact = ContactDraft {
        emails: vec![Email { address: format!("c{i}@example.com"), kind: PointKind::Work }],
        ..ContactDraft::default()
    };
    writer.run(move |store| {
        let created = store.create_ticket(team, draft.clone(), Some(contact.clone()), Author::System, now());
        if matches!(kind, Kind::Panics) {
            panic!("a write that panics after writing");
        }
        created
    })
}

/// Checks each answer against its kind, waiting for the good ones to be
/// on disk, and returns the titles of the tickets that should be kept:
/// those a write would keep if it ran alone.
async fn check(kinds: &[Kind], answers: Vec<Created>) -> Vec<String> {
    let mut titles = Vec::new();
    for (i, (kind, answer)) in kinds.iter().zip(answers).enumerate() {
        match (kind, answer) {
            (Kind::Good, Ok(Ok(committed))) => {
                let ticket = committed.durable().await.expect("durable");
                assert_eq!(ticket.title, format!("ticket {i}"));
                titles.push(ticket.title);
            }
            (Kind::UnknownTeam, Ok(Err(StoreError::UnknownTeam(team)))) => assert_eq!(team, "nope"),
            (Kind::BreaksRule, Ok(Err(StoreError::Rule(_)))) => {}
            (Kind::Panics, Err(StoreError::Writer(m))) => {
                assert_eq!(m, "a write panicked");
                titles.push(format!("ticket {i}"));
            }
            (kind, other) => panic!("write {i} ({kind:?}) answered {other:?}"),
        }
    }
    titles
}

fn stored_titles(store: &dyn Store) -> Vec<String> {
    let filter = TicketFilter { limit: 1000, ..TicketFilter::default() };
    let mut titles: Vec<String> =
        store.tickets("ops", &filter).expect("tickets").into_iter().map(|t| t.title).collect();
    titles.sort();
    titles
}

/// Queues `kinds` behind a held writer, releases it, and checks every
/// answer and what the store kept.
async fn run_batch(kinds: &[Kind]) -> WriterStats {
    let (_dir, store, writer) = setup().await;
    let release = hold(&writer);
    let pending: Vec<_> = kinds.iter().enumerate().map(|(i, &kind)| queue(&writer, i, kind)).collect();
    drop(release);
    let mut answers = Vec::new();
    for p in pending {
        answers.push(p.await);
    }
    let mut titles = check(kinds, answers).await;
    titles.sort();
    assert_eq!(stored_titles(&*store), titles, "the store keeps what each write would keep alone");
    for (i, kind) in kinds.iter().enumerate() {
        let contact = store.find_contact(Some(&format!("c{i}@example.com")), None).expect("find contact");
        let kept = matches!(kind, Kind::Good | Kind::Panics);
        assert_eq!(contact.is_some(), kept, "contact of write {i} ({kind:?})");
    }
    writer.stats()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_behind_each_other_commit_as_one_transaction() {
    let stats = run_batch(&[Kind::Good; 5]).await;
    assert_eq!(stats, WriterStats { batches: 1, batched_writes: 5, handed_over: 0 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_in_a_batch_fails_alone() {
    let stats = run_batch(&[Kind::Good, Kind::UnknownTeam, Kind::Good, Kind::BreaksRule, Kind::Good]).await;
    // The batch was given up and its writes made one by one.
    assert_eq!(stats, WriterStats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_panics_in_a_batch_fails_alone() {
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
        let all_good = kinds.iter().all(|k| matches!(k, Kind::Good));
        if all_good && kinds.len() > 1 {
            prop_assert_eq!(stats, WriterStats { batches: 1, batched_writes: kinds.len() as u64, handed_over: 0 });
        }
    }
}
