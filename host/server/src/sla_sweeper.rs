//! The background task that marks overdue tickets as breached.

use std::sync::Arc;
use std::time::Duration;

use switchboard_store::Store;
use tokio::sync::watch;

use crate::clock::Clock;

/// Checks running SLA deadlines every `every` until `stop` changes.
pub async fn run(store: Arc<dyn Store>, clock: Arc<dyn Clock>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let swept = match store.breach_overdue(clock.now()) {
            Ok(pending) => pending.durable().await,
            Err(e) => Err(e),
        };
        match swept {
            Ok(ids) if !ids.is_empty() => tracing::info!(tickets = ?ids, "sla breached"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "sla sweep failed"),
        }
    }
}
