//! The background task that marks overdue tickets as breached and forgets
//! expired idempotency records.
//!
//! A server alone sweeps on every tick. Servers that share a store take
//! turns under a lease (see [`Sweeping::Shared`]): one sweep per interval
//! across them all, and if the server holding the sweep dies, another
//! takes it over once the lease runs out.

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use switchboard_store::{IdempotencyStore, JobDraft, JobOutcome, JobStore, TicketStore};
use tokio::sync::watch;

use crate::clock::Clock;

/// The queue of the sweep job.
pub const SWEEP_QUEUE: &str = "sweeps";

/// The sweep job's key: there is one.
pub const SWEEP_KEY: &str = "sla-and-idempotency";

/// How the sweep is shared.
pub enum Sweeping {
    /// This server is the only one: it sweeps on every tick.
    Alone,
    /// Servers share the store: on each tick, this one claims the sweep job
    /// if it is due, sweeps, and makes it due again one interval later.
    Shared {
        /// Where the sweep job lives.
        jobs: Arc<dyn JobStore>,
        /// This server's name as a lease holder.
        holder: String,
    },
}

/// How long a server holds the sweep: three intervals, and at least two
/// seconds, so that a slow sweep is not taken over while it runs.
pub fn lease_for(every: Duration) -> SignedDuration {
    let lease = (every * 3).max(Duration::from_secs(2));
    SignedDuration::try_from(lease).unwrap_or(SignedDuration::from_secs(60))
}

/// Sweeps once: breaches overdue SLAs, then expires idempotency records.
async fn sweep(tickets: &dyn TicketStore, idempotency: &dyn IdempotencyStore, clock: &dyn Clock) {
    let swept = match tickets.breach_overdue(clock.now()).await {
        Ok(pending) => pending.durable().await,
        Err(e) => Err(e),
    };
    match swept {
        Ok(ids) if !ids.is_empty() => tracing::info!(tickets = ?ids, "sla breached"),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "sla sweep failed"),
    }
    let expired = match idempotency.expire_idempotency(clock.now()).await {
        Ok(pending) => pending.durable().await,
        Err(e) => Err(e),
    };
    if let Err(e) = expired {
        tracing::error!(error = %e, "expiring idempotency records failed");
    }
}

/// Takes the sweep job if it is due and not held; says whether this
/// server sweeps now, and under which job id.
async fn take_turn(jobs: &dyn JobStore, holder: &str, clock: &dyn Clock, every: Duration) -> Option<u64> {
    let claimed = match jobs.claim_jobs(SWEEP_QUEUE, holder, clock.now(), lease_for(every), 1).await {
        Ok(pending) => pending.durable().await,
        Err(e) => Err(e),
    };
    match claimed {
        Ok(mut taken) => taken.pop().map(|job| job.id),
        Err(e) => {
            tracing::error!(error = %e, "cannot claim the sweep");
            None
        }
    }
}

/// Checks running SLA deadlines, and removes idempotency records past
/// their expiry, every `every` until `stop` changes.
pub async fn run(
    tickets: Arc<dyn TicketStore>,
    idempotency: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    every: Duration,
    sweeping: Sweeping,
    mut stop: watch::Receiver<bool>,
) {
    if let Sweeping::Shared { jobs, .. } = &sweeping {
        // Every server makes sure the job exists; the key makes it one.
        let job = JobDraft {
            queue: SWEEP_QUEUE.into(),
            key: SWEEP_KEY.into(),
            payload: Vec::new(),
            due_at: clock.now(),
            held_by: None,
        };
        let made = match jobs.enqueue_job(job, clock.now()).await {
            Ok(pending) => pending.durable().await.map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = made {
            tracing::error!(error = %e, "cannot set up the shared sweep; sweeping alone");
        }
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match &sweeping {
            Sweeping::Alone => sweep(&*tickets, &*idempotency, &*clock).await,
            Sweeping::Shared { jobs, holder } => {
                let Some(id) = take_turn(&**jobs, holder, &*clock, every).await else { continue };
                sweep(&*tickets, &*idempotency, &*clock).await;
                let next = SignedDuration::try_from(every).unwrap_or(SignedDuration::from_secs(30));
                let again = JobOutcome::Retry { at: clock.now() + next, reason: "next sweep".into() };
                let finished = match jobs.finish_job(id, holder, again, clock.now()).await {
                    Ok(pending) => pending.durable().await.map(drop),
                    Err(e) => Err(e),
                };
                if let Err(e) = finished {
                    // The lease ran out meanwhile: another server has the
                    // sweep now, which is what the lease is for.
                    tracing::warn!(error = %e, "could not hand the sweep back");
                }
            }
        }
    }
}
