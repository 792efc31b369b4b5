//! The robot worker: claims the runs stage entries enqueued, runs each
//! robot once, writes every step into the ticket's thread, and releases
//! the robot that waits for it.
//!
//! A run is not retried. A claim that finds the run claimed before (its
//! lease ran out: the server died, or the robot outlived the lease) cannot
//! know whether the robot acted, so it writes "outcome unknown" into the
//! thread instead of running the robot again, which could send an SMS
//! twice. A robot that fails writes "failed" with its error.

use std::time::Duration;

use jiff::SignedDuration;
use switchboard_core::{Author, MessageDraft, MessageKind, Ticket};
use switchboard_runtime::{Outcome, RunInput};
use switchboard_store::robot_runs::{ROBOT_QUEUE, RobotRun};
use switchboard_store::{Job, JobOutcome, StoreError};
use tokio::sync::watch;

use crate::job_worker::{Queue, work};
use crate::robots::settings;
use crate::state::AppState;

/// How long a server holds a run: longer than a robot may take (its CPU
/// budget, and outbound requests with their timeouts).
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// How often due runs are looked for. A look that finds nothing due is a
/// read of the due index, not a write.
const POLL: Duration = Duration::from_millis(100);
/// Runs started at once.
const BATCH: usize = 32;

/// Runs due robot runs until `stop`.
pub(crate) async fn run_robots(state: AppState, holder: String, stop: watch::Receiver<bool>) {
    let queue = Queue { name: ROBOT_QUEUE, holder, lease: LEASE, poll: POLL, batch: BATCH };
    let (jobs, clock) = (std::sync::Arc::clone(&state.stores.jobs), std::sync::Arc::clone(&state.clock));
    let wake = std::sync::Arc::clone(&state.robot_wake);
    work(queue, jobs, clock, stop, wake, move |job| {
        let state = state.clone();
        async move {
            match run(&state, &job).await {
                Ok(()) => JobOutcome::Done,
                // The thread could not be written: try again once the
                // lease is over, when the store may be back.
                Err(e) => {
                    tracing::warn!(job = job.id, error = %e, "a robot run could not be recorded");
                    let at = state.clock.now() + LEASE;
                    JobOutcome::Retry { at, reason: e.to_string() }
                }
            }
        }
    })
    .await;
}

/// Writes a line by the robot into the ticket's thread, durably.
async fn say(state: &AppState, run: &RobotRun, line: String) -> Result<(), StoreError> {
    let author = Author::Plugin { id: run.robot.plugin.clone() };
    let draft = MessageDraft::new(MessageKind::Event, author, line);
    state.stores.tickets.append_message(run.ticket, draft, state.clock.now(), None).await?.durable().await?;
    Ok(())
}

/// Runs one claimed run and releases the one after it.
async fn run(state: &AppState, job: &Job) -> Result<(), StoreError> {
    let run = match RobotRun::decode(&job.payload) {
        Ok(run) => run,
        Err(e) => {
            tracing::error!(job = job.id, error = %e, "a robot run's payload is unreadable; dropped");
            return Ok(());
        }
    };
    let ticket = match state.stores.tickets.ticket(run.ticket).await {
        Ok(ticket) => ticket,
        Err(StoreError::UnknownTicket(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    if !run.is_current(&ticket) {
        // The ticket left the stage after this run was claimed or
        // released, before it started.
        for line in run.cancelled_lines() {
            say(state, &run, line).await?;
        }
        return Ok(());
    }
    if job.attempts > 1 {
        let line = format!(
            "{}: outcome unknown; it was started before and did not report back (a restart or a lease that ran out), so it is not run again",
            run.label()
        );
        say(state, &run, line).await?;
    } else {
        let line = execute(state, &run, ticket).await?;
        say(state, &run, line).await?;
    }
    release_next(state, &run).await
}

/// Starts the robot and says how it went, as one thread line.
async fn execute(state: &AppState, run: &RobotRun, ticket: Ticket) -> Result<String, StoreError> {
    let label = run.label();
    let installation = match state.stores.plugins.installation(&run.team, &run.robot.plugin).await {
        Ok(i) => i,
        Err(StoreError::NotEnabled { .. }) => {
            return Ok(format!("{label} skipped: the plugin is no longer enabled for the team"));
        }
        Err(e) => return Err(e),
    };
    let team = state.stores.teams.team(&run.team).await?;
    let contact = match ticket.contact {
        Some(c) => Some(state.stores.contacts.contact(c).await?),
        None => None,
    };
    let for_run =
        settings::for_run(state, &installation, Some(&run.robot.settings), &ticket, contact.as_ref(), &team).await?;
    let settings = match for_run {
        Ok(settings) => settings,
        Err(e) => return Ok(format!("{label} failed: {e}")),
    };
    let secrets = match state.secret_key.secrets_of(&installation) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, plugin = %run.robot.plugin, "cannot open a robot's secrets");
            return Ok(format!("{label} failed: its secrets cannot be opened; see the server log"));
        }
    };
    say(state, run, format!("{label} started")).await?;
    let installation = switchboard_core::Installation { settings, ..installation };
    let result = state.runtime.run_robot(&installation, &secrets, RunInput { ticket, team, contact }).await;
    Ok(match result {
        Ok(Outcome::Done) => format!("{label} done"),
        Ok(Outcome::Skipped(why)) => format!("{label} skipped: {why}"),
        Ok(Outcome::Failed(failure)) => format!("{label} failed: {failure}"),
        Err(e) => format!("{label} failed: {e}"),
    })
}

/// Enqueues the robot that waited for `run`, if the ticket is still in
/// the stage entry; otherwise writes it (and those behind it) cancelled.
async fn release_next(state: &AppState, run: &RobotRun) -> Result<(), StoreError> {
    let Some(next) = run.next() else {
        return Ok(());
    };
    let ticket = state.stores.tickets.ticket(run.ticket).await?;
    if !next.is_current(&ticket) {
        for line in next.cancelled_lines() {
            say(state, &next, line).await?;
        }
        return Ok(());
    }
    // Enqueueing is keyed, so a release made twice (this run recorded, then
    // its server died before finishing the job) makes one job.
    state.stores.jobs.enqueue_job(next.job(state.clock.now()), state.clock.now()).await?.durable().await?;
    state.robot_wake.notify_one();
    Ok(())
}
