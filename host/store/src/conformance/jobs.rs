//! Jobs: enqueued once per key, claimed by one worker at a time, taken
//! over after a lease runs out.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::SignedDuration;

use super::{Harness, at, durable};
use crate::{JobDraft, JobOutcome, JobState, Lease, StoreError};

pub(super) fn job(queue: &str, key: &str, due_hours: i64) -> JobDraft {
    JobDraft {
        queue: queue.into(),
        key: key.into(),
        payload: key.as_bytes().to_vec(),
        due_at: at(due_hours),
        held_by: None,
    }
}

const MINUTE: SignedDuration = SignedDuration::from_mins(1);

/// A key makes one job in its queue; another queue's key is its own.
pub async fn jobs_are_enqueued_once_per_key<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let first = durable(store.enqueue_job(job("mail", "m-1", 0), at(0)).await).await;
    assert!(first.created);
    let again = durable(store.enqueue_job(job("mail", "m-1", 5), at(1)).await).await;
    assert_eq!((again.created, again.record.id, again.record.due_at), (false, first.record.id, at(0)));
    let other = durable(store.enqueue_job(job("robots", "m-1", 0), at(0)).await).await;
    assert!(other.created && other.record.id != first.record.id);
    assert_eq!(store.job(first.record.id).await.expect("job").payload, b"m-1");
    assert!(matches!(store.job(9999).await, Err(StoreError::UnknownJob(9999))));
}

/// Many workers claiming at once: every due job goes to exactly one, not
/// yet due ones to none, and other queues are left alone.
pub async fn each_job_is_claimed_by_one_worker<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    for i in 0..30 {
        durable(store.enqueue_job(job("mail", &format!("m-{i}"), 0), at(0)).await).await;
    }
    durable(store.enqueue_job(job("mail", "later", 5), at(0)).await).await;
    durable(store.enqueue_job(job("robots", "r", 0), at(0)).await).await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = durable(store.claim_jobs("mail", &format!("w{w}"), at(1), MINUTE, 4).await).await;
                if claimed.is_empty() {
                    return mine;
                }
                assert!(
                    claimed
                        .iter()
                        .all(|j| j.attempts == 1 && j.lease.as_ref().is_some_and(|l| l.holder == format!("w{w}")))
                );
                mine.extend(claimed.into_iter().map(|j| j.key));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("worker"));
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (30, 30), "each due job claimed once: {all:?}");
    assert!(!all.iter().any(|k| k == "later" || k == "r"));
}

/// A worker that stops (a server killed mid-job) leaves its job to another
/// once the lease runs out; the first worker's late answer is refused.
pub async fn an_expired_lease_is_taken_over<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let id = durable(store.enqueue_job(job("robots", "run-7", 0), at(0)).await).await.record.id;
    let t0 = at(1);
    assert_eq!(durable(store.claim_jobs("robots", "a", t0, MINUTE, 10).await).await.len(), 1);
    let soon = t0 + SignedDuration::from_secs(30);
    assert!(durable(store.claim_jobs("robots", "b", soon, MINUTE, 10).await).await.is_empty(), "the lease holds");
    let late = t0 + SignedDuration::from_secs(61);
    let taken = durable(store.claim_jobs("robots", "b", late, MINUTE, 10).await).await;
    assert_eq!((taken.len(), taken[0].attempts), (1, 2));
    let refused = store.finish_job(id, "a", JobOutcome::Done, late).await;
    assert!(matches!(refused, Err(StoreError::LeaseLost { job, .. }) if job == id), "{refused:?}");
    let done = durable(store.finish_job(id, "b", JobOutcome::Done, late).await).await;
    assert_eq!((done.state, done.lease), (JobState::Done, None));
    let much_later = late + SignedDuration::from_hours(5);
    assert!(durable(store.claim_jobs("robots", "c", much_later, MINUTE, 10).await).await.is_empty());
}

/// A retry makes the job due again at its time; a failure ends it.
pub async fn retried_jobs_come_back_and_failed_ones_do_not<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let retried = durable(store.enqueue_job(job("mail", "soft", 0), at(0)).await).await.record.id;
    let failed = durable(store.enqueue_job(job("mail", "hard", 0), at(0)).await).await.record.id;
    assert_eq!(durable(store.claim_jobs("mail", "w", at(1), MINUTE, 10).await).await.len(), 2);
    let again = JobOutcome::Retry { at: at(3), reason: "relay busy".into() };
    durable(store.finish_job(retried, "w", again, at(1)).await).await;
    durable(store.finish_job(failed, "w", JobOutcome::Failed("no such mailbox".into()), at(1)).await).await;
    assert!(durable(store.claim_jobs("mail", "w", at(2), MINUTE, 10).await).await.is_empty(), "not due yet");
    let back = durable(store.claim_jobs("mail", "w", at(3), MINUTE, 10).await).await;
    assert_eq!(back.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(), [(retried, 2)]);
    assert_eq!(store.job(failed).await.expect("job").state, JobState::Failed("no such mailbox".into()));
}

/// A retry with a new payload makes the job due again at its time with
/// that payload, its claims counted from zero, across a restart.
pub async fn a_retry_with_a_new_payload_counts_claims_afresh<H: Harness>() {
    let mut h = H::new().await;
    let id = {
        let store = h.store();
        let id = durable(store.enqueue_job(job("robots", "7/1/0", 0), at(0)).await).await.record.id;
        durable(store.claim_jobs("robots", "w", at(1), MINUTE, 10).await).await;
        let again = JobOutcome::Again { at: at(3), reason: "provider busy".into(), payload: b"attempt 2".to_vec() };
        let after = durable(store.finish_job(id, "w", again, at(1)).await).await;
        assert_eq!((after.attempts, after.due_at, after.lease), (0, at(3), None));
        id
    };
    h.restart().await;
    let store = h.store();
    assert!(durable(store.claim_jobs("robots", "w", at(2), MINUTE, 10).await).await.is_empty(), "not due yet");
    let back = durable(store.claim_jobs("robots", "w", at(3), MINUTE, 10).await).await;
    assert_eq!(
        back.iter().map(|j| (j.id, j.attempts, j.payload.clone())).collect::<Vec<_>>(),
        [(id, 1, b"attempt 2".to_vec())]
    );
}

/// Jobs, their leases and attempts survive a restart.
pub async fn jobs_survive_a_restart<H: Harness>() {
    let mut h = H::new().await;
    let id = {
        let store = h.store();
        let id = durable(store.enqueue_job(job("mail", "m", 0), at(0)).await).await.record.id;
        durable(store.claim_jobs("mail", "gone", at(1), MINUTE, 10).await).await;
        id
    };
    h.restart().await;
    let store = h.store();
    let kept = store.job(id).await.expect("job");
    assert_eq!((kept.attempts, kept.lease.map(|l| l.holder)), (1, Some("gone".into())));
    let after = at(1) + SignedDuration::from_secs(61);
    assert_eq!(durable(store.claim_jobs("mail", "next", after, MINUTE, 10).await).await.len(), 1);
    let next = durable(store.enqueue_job(job("mail", "n", 0), at(2)).await).await.record.id;
    assert!(next > id, "ids go on after a restart");
}

/// Queue names and keys are checked before anything is written, and a
/// holder whose lease ran out cannot finish the job even when nobody else
/// claimed it: it cannot know that nobody did.
pub async fn bad_job_names_are_refused_and_a_lapsed_lease_cannot_finish<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    for (queue, key) in [("", "k"), ("mail", ""), ("mail", "a\0b"), ("mail", &"k".repeat(201))] {
        let refused = store.enqueue_job(job(queue, key, 0), at(0)).await;
        assert!(matches!(refused, Err(StoreError::Rule(_))), "{queue:?} {key:?}: {refused:?}");
    }
    let id = durable(store.enqueue_job(job("mail", "m", 0), at(0)).await).await.record.id;
    durable(store.claim_jobs("mail", "w", at(1), MINUTE, 1).await).await;
    let lapsed = at(1) + SignedDuration::from_secs(61);
    let refused = store.finish_job(id, "w", JobOutcome::Done, lapsed).await;
    assert!(matches!(refused, Err(StoreError::LeaseLost { .. })), "{refused:?}");
    assert_eq!(store.job(id).await.expect("job").state, JobState::Pending, "it stays to be claimed again");
}

/// A job enqueued held by its enqueuer is not claimed by others while the
/// lease lasts, can be finished by the enqueuer, and is taken over by
/// another worker when the enqueuer dies before finishing it.
pub async fn a_held_job_is_its_enqueuers_until_the_lease_ends<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let held =
        |key: &str| JobDraft { held_by: Some(Lease { holder: "smtp".into(), until: at(2) }), ..job("in", key, 0) };
    let done = durable(store.enqueue_job(held("a"), at(1)).await).await.record;
    assert_eq!((done.attempts, done.due_at), (1, at(2)));
    let died = durable(store.enqueue_job(held("b"), at(1)).await).await.record.id;
    assert!(durable(store.claim_jobs("in", "w", at(1), MINUTE, 10).await).await.is_empty(), "both are held");
    durable(store.finish_job(done.id, "smtp", JobOutcome::Done, at(1)).await).await;
    let taken = durable(store.claim_jobs("in", "w", at(2), MINUTE, 10).await).await;
    assert_eq!(taken.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(), [(died, 2)]);
}

/// Jobs that failed for good are listed by queue and key prefix, and run
/// again on request; a job that did not fail cannot be rerun.
pub async fn failed_jobs_are_listed_and_can_run_again<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    let mut ids = Vec::new();
    for key in ["ops/1", "ops/2", "ops%/3", "care/1", "ops/4"] {
        ids.push(durable(store.enqueue_job(job("in", key, 0), at(0)).await).await.record.id);
    }
    durable(store.enqueue_job(job("out", "ops/9", 0), at(0)).await).await;
    assert_eq!(durable(store.claim_jobs("in", "w", at(1), MINUTE, 10).await).await.len(), 5);
    for (i, id) in ids.iter().enumerate() {
        let outcome = if i == 4 { JobOutcome::Done } else { JobOutcome::Failed(format!("broken {i}")) };
        durable(store.finish_job(*id, "w", outcome, at(1)).await).await;
    }
    let keys = |jobs: Vec<crate::Job>| jobs.into_iter().map(|j| j.key).collect::<Vec<_>>();
    assert_eq!(keys(store.failed_jobs("in", "ops/", 10).await.expect("list")), ["ops/1", "ops/2"]);
    assert_eq!(keys(store.failed_jobs("in", "ops%/", 10).await.expect("list")), ["ops%/3"]);
    assert_eq!(keys(store.failed_jobs("in", "", 2).await.expect("list")).len(), 2);
    assert!(store.failed_jobs("out", "", 10).await.expect("list").is_empty());
    let again = durable(store.rerun_job(ids[0], at(2)).await).await;
    assert_eq!((again.state, again.attempts, again.due_at), (JobState::Pending, 0, at(2)));
    assert_eq!(keys(store.failed_jobs("in", "ops/", 10).await.expect("list")), ["ops/2"]);
    let claimed = durable(store.claim_jobs("in", "w", at(2), MINUTE, 10).await).await;
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[0]]);
    let refused = store.rerun_job(ids[4], at(2)).await;
    assert!(matches!(refused, Err(StoreError::JobNotFailed(id)) if id == ids[4]), "{refused:?}");
}
