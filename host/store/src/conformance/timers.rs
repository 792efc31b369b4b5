//! Scheduled jobs, as timers use them: one job per key, moved to the time
//! set last, run again once scheduled after it ran, and cancelled so that
//! it does not run.

use jiff::SignedDuration;

use super::jobs::job;
use super::{Harness, at, durable};
use crate::{JobDraft, JobOutcome, JobState, StoreError};

fn timer(key: &str, payload: &str, due_hours: i64) -> JobDraft {
    JobDraft { payload: payload.as_bytes().to_vec(), ..job("timers", key, due_hours) }
}

const LEASE: SignedDuration = SignedDuration::from_mins(1);

/// A key's job moves to the time and payload set last, also while it
/// runs (the running worker's outcome is then refused); after it ran,
/// scheduling it again makes it pending again.
pub async fn a_scheduled_job_runs_once_at_the_time_set_last<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let first = durable(store.schedule_job(timer("care/t1", "a", 2), at(0)).await).await;
    let moved = durable(store.schedule_job(timer("care/t1", "b", 5), at(1)).await).await;
    assert_eq!((moved.id, moved.due_at, moved.payload.as_slice()), (first.id, at(5), &b"b"[..]));
    assert!(durable(store.claim_jobs("timers", "w", at(3), LEASE, 10).await).await.is_empty(), "not due at 3");
    let claimed = durable(store.claim_jobs("timers", "w", at(5), LEASE, 10).await).await;
    assert_eq!(claimed.iter().map(|j| j.payload.as_slice()).collect::<Vec<_>>(), [&b"b"[..]]);

    // Set again while it runs: the new time stands, the run's outcome not.
    durable(store.schedule_job(timer("care/t1", "c", 8), at(5)).await).await;
    let err = store.finish_job(first.id, "w", JobOutcome::Done, at(5)).await.expect_err("lease dropped");
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err}");
    let claimed = durable(store.claim_jobs("timers", "w", at(8), LEASE, 10).await).await;
    assert_eq!(claimed.iter().map(|j| (j.id, j.payload.clone())).collect::<Vec<_>>(), [(first.id, b"c".to_vec())]);
    durable(store.finish_job(first.id, "w", JobOutcome::Done, at(8)).await).await;
    assert!(durable(store.claim_jobs("timers", "w", at(9), LEASE, 10).await).await.is_empty(), "done");

    let again = durable(store.schedule_job(timer("care/t1", "d", 10), at(9)).await).await;
    assert_eq!((again.id, again.state, again.attempts), (first.id, JobState::Pending, 0));
    assert_eq!(durable(store.claim_jobs("timers", "w", at(10), LEASE, 10).await).await.len(), 1);
}

/// A cancelled job does not run; cancelling one that finished, or a key
/// with no job, cancels nothing.
pub async fn a_cancelled_job_does_not_run<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    durable(store.schedule_job(timer("care/t2", "x", 2), at(0)).await).await;
    assert!(durable(store.cancel_job("timers", "care/t2", at(1)).await).await);
    assert!(durable(store.claim_jobs("timers", "w", at(3), LEASE, 10).await).await.is_empty());
    assert!(!durable(store.cancel_job("timers", "care/t2", at(1)).await).await, "already cancelled");
    assert!(!durable(store.cancel_job("timers", "care/none", at(1)).await).await, "no such key");
    // Scheduled again after the cancel, it runs.
    durable(store.schedule_job(timer("care/t2", "y", 4), at(3)).await).await;
    assert_eq!(durable(store.claim_jobs("timers", "w", at(4), LEASE, 10).await).await.len(), 1);
}
