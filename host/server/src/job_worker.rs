//! The loop every job queue runs (mail in and out, replies, chat timers,
//! robot runs): claim what is due, handle each job, record how it ended;
//! on every server, each job by one of them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use switchboard_store::{Job, JobOutcome, JobStore};
use tokio::sync::{Notify, watch};

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
}

/// The wait before attempt `attempts + 1`: `base`, doubled with each
/// attempt, at most an hour.
pub(crate) fn backoff(base: Duration, attempts: u32) -> SignedDuration {
    let doubled = base.saturating_mul(1u32 << attempts.saturating_sub(1).min(16));
    let wait = doubled.min(Duration::from_secs(3600));
    SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_hours(1))
}

/// Works `queue` until `stop`: claims due jobs and handles a batch at
/// once, then claims again at once while there is work; when there is
/// none, waits for the next tick or for `wake` (a job enqueued on this
/// server). Records the outcome of each job; a lost lease means another
/// server took the job over, and is logged.
pub(crate) async fn work<F, Fut>(
    queue: Queue,
    jobs: Arc<dyn JobStore>,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
    wake: Arc<Notify>,
    handle: F,
) where
    F: Fn(Job) -> Fut,
    Fut: Future<Output = JobOutcome> + Send + 'static,
{
    let mut tick = tokio::time::interval(queue.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if *stop.borrow() {
            return;
        }
        let claimed = match jobs.claim_jobs(queue.name, &queue.holder, clock.now(), queue.lease, queue.batch).await {
            Ok(pending) => pending.durable().await,
            Err(e) => Err(e),
        };
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(queue = queue.name, error = %e, "cannot claim jobs");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = tick.tick() => {}
                _ = wake.notified() => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        let mut running = tokio::task::JoinSet::new();
        for job in claimed {
            let id = job.id;
            let done = handle(job);
            running.spawn(async move { (id, done.await) });
        }
        while let Some(finished) = running.join_next().await {
            let Ok((id, outcome)) = finished else {
                tracing::error!(queue = queue.name, "a job's handler panicked; its lease runs out and it runs again");
                continue;
            };
            if let Err(e) = jobs.finish_job(id, &queue.holder, outcome, clock.now()).await {
                tracing::warn!(queue = queue.name, job = id, error = %e, "cannot record how a job went");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(60);
        let waits: Vec<i64> = [1, 2, 3, 10, 40].iter().map(|a| backoff(base, *a).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 3600, 3600]);
    }
}
