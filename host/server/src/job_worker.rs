//! The loop every job queue runs (mail in and out, replies, chat timers,
//! robot runs): claim what is due, handle each job, record how it ended;
//! on every server, each job by one of them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use switchboard_store::{Durability, Job, JobOutcome, JobStore, StoreError};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::clock::Clock;

/// How a queue is worked.
pub(crate) struct Queue {
    /// Its name.
    pub(crate) name: &'static str,
    /// This server's name as a lease holder.
    pub(crate) holder: String,
    /// How long a claim holds a job: longer than handling one takes.
    pub(crate) lease: SignedDuration,
    /// How often to look for due jobs.
    pub(crate) poll: Duration,
    /// The most jobs claimed at once.
    pub(crate) batch: usize,
    /// Whether jobs are handed over before their claim is on disk, each
    /// with the claim's [`Durability`] to wait for before it does
    /// anything outside the server; otherwise the worker waits first and
    /// hands over a [`Durability`] that is done.
    pub(crate) early: bool,
}

/// The wait before attempt `attempts + 1`: `base`, doubled with each
/// attempt, at most an hour.
pub(crate) fn backoff(base: Duration, attempts: u32) -> SignedDuration {
    let doubled = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
    let wait = doubled.min(Duration::from_secs(3600));
    SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_hours(1))
}

/// Works `queue` until `stop`: keeps up to `batch` jobs running, and
/// claims more as soon as some finish (so that one slow job does not hold
/// back the others); when nothing is due, waits for the next tick or for
/// `wake` (a job enqueued on this server). Records the outcome of each
/// job; a lost lease means another worker took the job over, and is only
/// logged. On `stop`, the jobs running finish first.
///
/// The loop itself never waits for the store. A claim (which waits for its
/// flush) and each outcome's record run as tasks of their own, so that
/// finished jobs free their slots while a claim is on its way to disk, and
/// records of jobs that finish together commit together. With the loop
/// waiting on each claim and record in turn, a queue of 1,000 runs went
/// at the pace of one flush per handful of jobs (see `benches/README.md`).
///
/// `handle` gets each job with its claim's durability. A queue that is
/// `early` gets its jobs as soon as the claim is committed, so that what
/// a job does first (reads, mostly) overlaps the claim's flush; its
/// handler must wait for the durability before any effect outside the
/// server, so that a crash can never forget a claim whose job acted.
pub(crate) async fn work<F, Fut>(
    queue: Queue,
    jobs: Arc<dyn JobStore>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
    wake: Arc<Notify>,
    handle: F,
) where
    F: Fn(Job, Durability) -> Fut,
    Fut: Future<Output = JobOutcome> + Send + 'static,
{
    let queue = Arc::new(queue);
    let mut tick = tokio::time::interval(queue.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut running: JoinSet<(u64, JobOutcome)> = JoinSet::new();
    let mut recording: JoinSet<()> = JoinSet::new();
    // The claim in flight, if any.
    let mut claiming: Option<JoinHandle<Vec<(Job, Durability)>>> = None;
    // Whether jobs may be due: after a claim that found some, a tick or a
    // wake-up; not after a claim that found none.
    let mut look = true;
    let mut stopping = false;
    loop {
        if *stop.borrow() {
            stopping = true;
        }
        if stopping && running.is_empty() && recording.is_empty() && claiming.is_none() {
            return;
        }
        let free = queue.batch.saturating_sub(running.len());
        if !stopping && look && free > 0 && claiming.is_none() {
            let (queue, jobs, clock) = (Arc::clone(&queue), Arc::clone(&jobs), Arc::clone(&clock));
            claiming = Some(tokio::spawn(async move { claim(&queue, &*jobs, &*clock, free).await }));
            look = false;
        }
        tokio::select! {
            claimed = async {
                match claiming.as_mut() {
                    Some(task) => task.await,
                    None => std::future::pending().await,
                }
            }, if claiming.is_some() => {
                claiming = None;
                // A claim task cannot panic but by a bug; its jobs, if any
                // were claimed, run again once their lease is over.
                let claimed = claimed.unwrap_or_default();
                look = !claimed.is_empty();
                for (job, durable) in claimed {
                    let id = job.id;
                    let done = handle(job, durable);
                    running.spawn(async move { (id, done.await) });
                }
            }
            Some(finished) = running.join_next(), if !running.is_empty() => {
                let (queue, jobs, clock) = (Arc::clone(&queue), Arc::clone(&jobs), Arc::clone(&clock));
                recording.spawn(async move { record(&queue, &*jobs, &*clock, finished).await });
            }
            Some(_) = recording.join_next(), if !recording.is_empty() => {}
            _ = tick.tick(), if !stopping => look = true,
            _ = wake.notified(), if !stopping => look = true,
            _ = stop.changed(), if !stopping => stopping = true,
        }
    }
}

/// Claims up to `limit` due jobs; none if the store fails. Each comes
/// with the claim's durability: done already unless the queue is `early`.
async fn claim(queue: &Queue, jobs: &dyn JobStore, clock: &dyn Clock, limit: usize) -> Vec<(Job, Durability)> {
    let claimed = match jobs.claim_jobs(queue.name, &queue.holder, clock.now(), queue.lease, limit).await {
        Ok(pending) if queue.early => Ok(fan_out(pending.split())),
        Ok(pending) => pending.durable().await.map(|jobs| jobs.into_iter().map(|j| (j, Durability::done())).collect()),
        Err(e) => Err(e),
    };
    claimed.unwrap_or_else(|e| {
        tracing::error!(queue = queue.name, error = %e, "cannot claim jobs");
        Vec::new()
    })
}

/// Gives each job of one claim a durability of its own, answered when the
/// claim's flush is.
fn fan_out((jobs, durability): (Vec<Job>, Durability)) -> Vec<(Job, Durability)> {
    let (answers, paired): (Vec<_>, Vec<_>) = jobs
        .into_iter()
        .map(|job| {
            let (answer, flushed) = oneshot::channel();
            (answer, (job, Durability::pending(flushed)))
        })
        .unzip();
    if !answers.is_empty() {
        tokio::spawn(async move {
            let flushed = durability.wait().await.map_err(|e| e.to_string());
            for answer in answers {
                let _gone = answer.send(flushed.clone().map_err(StoreError::Unavailable));
            }
        });
    }
    paired
}

/// Records how a finished job went.
async fn record(
    queue: &Queue,
    jobs: &dyn JobStore,
    clock: &dyn Clock,
    finished: Result<(u64, JobOutcome), tokio::task::JoinError>,
) {
    let Ok((id, outcome)) = finished else {
        tracing::error!(queue = queue.name, "a job's handler panicked; its lease runs out and it runs again");
        return;
    };
    if let Err(e) = jobs.finish_job(id, &queue.holder, outcome, clock.now()).await {
        tracing::warn!(queue = queue.name, job = id, error = %e, "cannot record how a job went");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64) -> Job {
        let at = jiff::Timestamp::UNIX_EPOCH;
        Job {
            id,
            queue: "q".into(),
            key: id.to_string(),
            payload: Vec::new(),
            due_at: at,
            attempts: 1,
            state: switchboard_store::JobState::Pending,
            lease: None,
            created_at: at,
            updated_at: at,
        }
    }

    /// Every job of an early claim waits for the claim's own flush, and
    /// learns of its failure: none may act on a claim that is not on disk.
    #[tokio::test]
    async fn each_job_of_an_early_claim_waits_for_the_claims_flush() {
        let (flush, flushed) = oneshot::channel();
        let jobs = fan_out((vec![job(1), job(2)], Durability::pending(flushed)));
        let mut waits: Vec<_> = jobs.into_iter().map(|(_, d)| tokio::spawn(d.wait())).collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(waits.iter().all(|w| !w.is_finished()), "no job may go on before the flush");
        flush.send(Ok(())).expect("send");
        for w in waits.drain(..) {
            w.await.expect("join").expect("durable");
        }

        let (flush, flushed) = oneshot::channel();
        let jobs = fan_out((vec![job(3), job(4)], Durability::pending(flushed)));
        flush.send(Err(StoreError::Unavailable("disk full".into()))).expect("send");
        for (_, d) in jobs {
            let failed = d.wait().await.expect_err("the flush failed");
            assert!(failed.to_string().contains("disk full"), "{failed}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(60);
        let waits: Vec<i64> = [1, 2, 3, 10, 40].iter().map(|a| backoff(base, *a).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 3600, 3600]);
    }
}
