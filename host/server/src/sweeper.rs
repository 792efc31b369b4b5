//! The background task that marks overdue tickets as breached and forgets
//! expired idempotency records.

use std::sync::Arc;
use std::time::Duration;

use switchboard_store::{IdempotencyStore, TicketStore};
use tokio::sync::watch;

use crate::clock::Clock;

/// Checks running SLA deadlines, and removes idempotency records past
/// their expiry, every `every` until `stop` changes.
pub async fn run(
    tickets: Arc<dyn TicketStore>,
    idempotency: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
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
}
