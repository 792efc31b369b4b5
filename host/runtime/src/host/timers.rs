//! `timers`: durable, keyed callbacks, kept as jobs of the timer queue so
//! that one server runs each when it is due, even after a restart.

use std::sync::Arc;

use jiff::SignedDuration;
use switchboard_core::Capability;
use switchboard_store::JobDraft;

use crate::bindings::chat_channel::switchboard::plugin::timers::Host;
use crate::bindings::wit::PluginError;
use crate::chat::{TIMER_QUEUE, TimerJob};
use crate::host::HostState;

/// The longest key, in bytes.
const MAX_KEY: usize = 200;
/// The largest payload, in bytes.
const MAX_PAYLOAD: usize = 64 * 1024;
/// The furthest a timer may be set, in milliseconds: 30 days.
const MAX_AFTER_MS: u64 = 30 * 24 * 3_600_000;

fn check_key(key: &str) -> Result<(), PluginError> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(PluginError::Permanent(format!("timer key must be 1 to {MAX_KEY} bytes, not {}", key.len())));
    }
    Ok(())
}

impl Host for HostState {
    async fn schedule(&mut self, key: String, after_ms: u64, payload: String) -> Result<(), PluginError> {
        self.scope.require(&Capability::Timers)?;
        check_key(&key)?;
        if after_ms > MAX_AFTER_MS {
            return Err(PluginError::Permanent(format!(
                "timer \"{key}\" is set {after_ms} ms ahead; the limit is {MAX_AFTER_MS} ms (30 days)"
            )));
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(PluginError::Permanent(format!(
                "timer \"{key}\" has a payload of {} bytes; the limit is {MAX_PAYLOAD}",
                payload.len()
            )));
        }
        let now = self.now();
        let after = SignedDuration::from_millis(i64::try_from(after_ms).unwrap_or(i64::MAX));
        let due_at = now.checked_add(after).unwrap_or(now);
        let (team, plugin) = (self.scope.team.to_string(), self.scope.plugin.to_string());
        let job_key = TimerJob::job_key(&team, &plugin, &key);
        let timer = TimerJob { team, plugin, key, payload };
        let payload = serde_json::to_vec(&timer).map_err(|e| PluginError::Permanent(e.to_string()))?;
        let draft = JobDraft { queue: TIMER_QUEUE.into(), key: job_key, payload, due_at, held_by: None };
        let jobs = Arc::clone(&self.services.jobs);
        self.write(jobs.schedule_job(draft, now)).await?;
        Ok(())
    }

    async fn cancel(&mut self, key: String) -> Result<bool, PluginError> {
        self.scope.require(&Capability::Timers)?;
        check_key(&key)?;
        let job_key = TimerJob::job_key(&self.scope.team, &self.scope.plugin, &key);
        let (jobs, now) = (Arc::clone(&self.services.jobs), self.now());
        self.write(jobs.cancel_job(TIMER_QUEUE, &job_key, now)).await
    }
}
