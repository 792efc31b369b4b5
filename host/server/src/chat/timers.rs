//! Plugins' timers: jobs of the timer queue, run on whichever server
//! claims them when due, by asking the plugin that set them.

use std::time::Duration;

use jiff::SignedDuration;
use switchboard_runtime::{RuntimeError, TIMER_QUEUE, TimerJob};
use switchboard_store::{Job, JobOutcome, StoreError};
use tokio::sync::{Notify, watch};

use crate::job_worker::{Queue, backoff, work};
use crate::state::AppState;

/// How long a server holds a timer while its plugin runs.
const LEASE: SignedDuration = SignedDuration::from_secs(60);
/// How often due timers are looked for: a timer fires at most this late.
const POLL: Duration = Duration::from_millis(500);
/// Attempts before a failing timer is given up.
const ATTEMPTS: u32 = 5;

/// Runs due timers until `stop`.
pub(crate) async fn run_timers(state: AppState, holder: String, stop: watch::Receiver<bool>) {
    let queue = Queue { name: TIMER_QUEUE, holder, lease: LEASE, poll: POLL, batch: 16, early: false };
    let (jobs, clock) = (std::sync::Arc::clone(&state.stores.jobs), std::sync::Arc::clone(&state.clock));
    let wake = std::sync::Arc::new(Notify::new());
    work(queue, jobs, clock, stop, wake, move |job, _claimed_on_disk| {
        let state = state.clone();
        async move { fire(&state, &job).await }
    })
    .await;
}

/// Hands one due timer to its plugin.
async fn fire(state: &AppState, job: &Job) -> JobOutcome {
    let timer = match TimerJob::from_job(job) {
        Ok(timer) => timer,
        Err(e) => return JobOutcome::Failed(format!("unreadable timer: {e}")),
    };
    let installation = match state.stores.plugins.installation(&timer.team, &timer.plugin).await {
        Ok(i) => i,
        Err(StoreError::NotEnabled { .. } | StoreError::UnknownTeam(_)) => {
            return JobOutcome::Failed(format!(
                "plugin \"{}\" is no longer enabled for team \"{}\"",
                timer.plugin, timer.team
            ));
        }
        Err(e) => return retry(state, job, e.to_string()),
    };
    let secrets = match state.secret_key.secrets_of(&installation) {
        Ok(s) => s,
        Err(e) => return retry(state, job, e.to_string()),
    };
    match state.runtime.handle_timer(&installation, &secrets, &timer).await {
        Ok(()) => JobOutcome::Done,
        Err(RuntimeError::NotLoaded(p) | RuntimeError::NoChatHandler(p)) => {
            JobOutcome::Failed(format!("plugin \"{p}\" cannot take timers"))
        }
        Err(e) => retry(state, job, e.to_string()),
    }
}

/// Tries again later, with backoff, or gives up after a few attempts.
fn retry(state: &AppState, job: &Job, reason: String) -> JobOutcome {
    if job.attempts >= ATTEMPTS {
        return JobOutcome::Failed(reason);
    }
    let at = state.clock.now().checked_add(backoff(Duration::from_secs(5), job.attempts)).unwrap_or(state.clock.now());
    JobOutcome::Retry { at, reason }
}
