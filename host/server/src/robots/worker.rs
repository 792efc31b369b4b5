//! The robot worker: claims the runs stage entries enqueued, runs each
//! robot, writes every step into the ticket's thread, and releases the
//! robot that waits for it.
//!
//! A robot of the `stage-robot` world gets the run's id (its job key, the
//! same on every attempt) and the attempt's number. Its failures that may
//! pass (`transient`, `rate-limited`) are tried again with a growing wait,
//! up to [`MAX_ATTEMPTS`]; the job carries the next attempt's number.
//!
//! A claim that finds the run claimed before without an outcome (its lease
//! ran out: the server died, or the robot outlived the lease) cannot know
//! whether the robot acted. It starts the robot again only if the robot
//! says it is safe to retry; otherwise it writes "outcome unknown" into
//! the thread, so that an SMS is never sent twice.

use std::time::Duration;

use jiff::SignedDuration;
use switchboard_core::{Author, MessageDraft, MessageKind, Ticket};
use switchboard_runtime::{Outcome, RunInput, RuntimeError, StageOutcome, StageRun};
use switchboard_store::robot_runs::{ROBOT_QUEUE, RobotRun};
use switchboard_store::{Durability, Job, JobOutcome, StoreError};
use tokio::sync::watch;

use crate::job_worker::{Queue, work};
use crate::robots::settings;
use crate::state::AppState;

/// How often due runs are looked for. A look that finds nothing due is a
/// read of the due index, not a write.
const POLL: Duration = Duration::from_millis(100);
/// The share of the runtime's instances that robot runs may hold at
/// once, in quarters. A run holds its instance only while its robot runs
/// (its reads and its lines in the thread need none), so three quarters
/// of the runs in flight leave instances for channels even when every
/// run is inside its robot; a call past the pool waits for an instance in
/// line with the others (`Runtime::call`).
///
/// Runs in flight, not CPU, bound how fast a burst goes: a run spends
/// most of its time waiting for flushes (its claim, its robot's claim of
/// the message) and for the provider. In runs taking turns, 1,000 tickets
/// moved at once started their robots at a p99 of 156-181 ms with 128 in
/// flight, and of 83-126 ms with 192, the three quarters of the default
/// pool (see `benches/README.md`).
const BATCH_QUARTERS: u32 = 3;
/// The most attempts of one run whose failures may pass.
pub(crate) const MAX_ATTEMPTS: u32 = 5;
/// The wait before the second attempt; it doubles for each one after.
const FIRST_BACKOFF: SignedDuration = SignedDuration::from_secs(5);

/// Runs due robot runs until `stop`.
/// `lease` is how long a server holds a run: longer than a robot may take
/// (its CPU budget, and outbound requests with their timeouts).
pub(crate) async fn run_robots(state: AppState, holder: String, lease: SignedDuration, stop: watch::Receiver<bool>) {
    // Early: a run's reads and its robot's start overlap its claim's
    // flush, which the robot's outbound requests wait for (see `run`).
    let batch = usize::try_from(state.runtime.max_instances().saturating_mul(BATCH_QUARTERS) / 4).unwrap_or(1).max(1);
    let queue = Queue { name: ROBOT_QUEUE, holder, lease, poll: POLL, batch, early: true };
    let (jobs, clock) = (std::sync::Arc::clone(&state.stores.jobs), std::sync::Arc::clone(&state.clock));
    let wake = std::sync::Arc::clone(&state.robot_wake);
    work(queue, jobs, clock, stop, wake, move |job, claim| {
        let state = state.clone();
        async move {
            match run(&state, &job, claim).await {
                Ok(outcome) => outcome,
                // The thread could not be written: try again once the
                // lease is over, when the store may be back.
                Err(e) => {
                    tracing::warn!(job = job.id, error = %e, "a robot run could not be recorded");
                    let at = state.clock.now() + lease;
                    JobOutcome::Retry { at, reason: e.to_string() }
                }
            }
        }
    })
    .await;
}

/// Writes a line by the robot into the ticket's thread.
///
/// It does not wait for the disk: nobody outside is told of the line, and
/// what comes after it in the run (the robot's own writes, the release of
/// the next run, the job's outcome) is written after it, so a crash that
/// loses the line loses those too, and the run is then taken over as one
/// that never reported back. Not waiting takes a flush off every run's
/// way to its robot.
async fn say(state: &AppState, run: &RobotRun, line: String) -> Result<(), StoreError> {
    let author = Author::Plugin { id: run.robot.plugin.clone() };
    let draft = MessageDraft::new(MessageKind::Event, author, line);
    let _not_waited_for = state.stores.tickets.append_message(run.ticket, draft, state.clock.now(), None).await?;
    Ok(())
}

/// How long to wait before attempt `next` (2 or more).
pub(crate) fn backoff(next: u32) -> SignedDuration {
    let doublings = next.saturating_sub(2).min(10);
    FIRST_BACKOFF * (1_i32 << doublings)
}

/// Runs one claimed run; releases the one after it once it has ended.
///
/// `claim` is the claim's flush. No robot may reach anything outside the
/// server on a claim a crash could forget: a forgotten claim would make
/// the next one its first attempt, and a robot that is not safe to retry
/// would run twice. Nor may it act on a ticket a crash could take back, so
/// the ticket is read with its flush too. A stage robot gets both flushes
/// with its call, where its outbound requests wait for them together with
/// the robot's own writes (`Runtime::run_stage_robot`); a plain robot is
/// called once they are done. What comes before (reads, `retry-safe`,
/// which only answers, and lines in the thread, written after the claim
/// and so lost with it) needs no wait.
async fn run(state: &AppState, job: &Job, claim: Durability) -> Result<JobOutcome, StoreError> {
    let run = match RobotRun::decode(&job.payload) {
        Ok(run) => run,
        Err(e) => {
            tracing::error!(job = job.id, error = %e, "a robot run's payload is unreadable; dropped");
            return Ok(JobOutcome::Done);
        }
    };
    // The ticket as it is now: its flush joins the claim's, waited for
    // before the robot reaches anything outside. Under load a read that
    // waits sits out a flush of the tickets being written, on every run's
    // way to its robot.
    let (ticket, seen) = match state.stores.tickets.ticket_unsettled(run.ticket).await {
        Ok(ticket) => ticket.split(),
        Err(StoreError::UnknownTicket(_)) => return Ok(JobOutcome::Done),
        Err(e) => return Err(e),
    };
    if !run.is_current(&ticket) {
        // The ticket left the stage after this run was claimed or
        // released, before it started.
        for line in run.cancelled_lines() {
            say(state, &run, line).await?;
        }
        return Ok(JobOutcome::Done);
    }
    // A claim after one that never reported back: that one may have got
    // as far as writing how the run ended, and died before finishing the
    // job. Then the run has ended, and only its release is left to do.
    if job.attempts > 1 && ended_before(state, &run, job).await? {
        release_next(state, &run).await?;
        return Ok(JobOutcome::Done);
    }
    let ended = match prepare(state, &run, &ticket).await? {
        Err(line) => line,
        Ok(prepared) => {
            // Claims beyond the first since the last outcome are attempts
            // that never reported back.
            let attempt = run.attempt.saturating_add(job.attempts.saturating_sub(1));
            // Even a robot safe to retry is not started past the most
            // attempts: one that takes its server down every time would
            // otherwise be started for ever.
            let after_silence = job.attempts > 1;
            let safe = if !after_silence {
                true
            } else if attempt > MAX_ATTEMPTS {
                false
            } else {
                match retry_safe(state, &prepared).await {
                    Ok(safe) => safe,
                    Err(busy) => return not_started(state, &run, busy, after_silence).await,
                }
            };
            if !safe {
                format!(
                    "{}: outcome unknown; it was started before and did not report back (a restart or a lease that ran out), so it is not run again",
                    run.label()
                )
            } else {
                match execute(state, &run, prepared, ticket, (attempt, after_silence), vec![claim, seen]).await? {
                    Ended::Line(line) => line,
                    Ended::Again(outcome) => return Ok(outcome),
                }
            }
        }
    };
    say(state, &run, ended).await?;
    release_next(state, &run).await?;
    Ok(JobOutcome::Done)
}

/// Whether the thread already says how this run ended: a line of its
/// robot, for its label, written since its job was queued.
async fn ended_before(state: &AppState, run: &RobotRun, job: &Job) -> Result<bool, StoreError> {
    let thread = state.stores.tickets.messages(run.ticket).await?;
    let label = run.label();
    let by = Author::Plugin { id: run.robot.plugin.clone() };
    Ok(thread.iter().any(|m| {
        m.author == by && m.created_at >= job.created_at && m.body.strip_prefix(&label).is_some_and(is_ending)
    }))
}

/// Whether the rest of a run's line after its label says how it ended.
fn is_ending(rest: &str) -> bool {
    [" done", " skipped:", " failed: ", " failed after ", ": outcome unknown", " cancelled:"]
        .iter()
        .any(|ending| rest.starts_with(ending))
}

/// What a run needs to start a robot.
struct Prepared {
    installation: switchboard_core::Installation,
    secrets: switchboard_runtime::Secrets,
    team: switchboard_core::Team,
    contact: Option<switchboard_core::Contact>,
}

/// Finds the installation, its secrets and the settings for this run, or
/// the thread's line on why the robot cannot start.
async fn prepare(state: &AppState, run: &RobotRun, ticket: &Ticket) -> Result<Result<Prepared, String>, StoreError> {
    let label = run.label();
    // Read at once: under load each read may wait for a flush of what is
    // being written to its tree, and four waits in a row were most of a
    // run's time on its way to the robot.
    let stores = &state.stores;
    let (installation, team, contact, plugin) = tokio::join!(
        stores.plugins.installation(&run.team, &run.robot.plugin),
        stores.teams.team(&run.team),
        async {
            match ticket.contact {
                Some(c) => stores.contacts.contact(c).await.map(Some),
                None => Ok(None),
            }
        },
        stores.plugins.plugin(&run.robot.plugin),
    );
    let installation = match installation {
        Ok(i) => i,
        Err(StoreError::NotEnabled { .. }) => {
            return Ok(Err(format!("{label} skipped: the plugin is no longer enabled for the team")));
        }
        Err(e) => return Err(e),
    };
    let (team, contact, manifest) = (team?, contact?, plugin?.manifest);
    let for_run = settings::render_for_run(
        state,
        &installation,
        &manifest,
        Some(&run.robot.settings),
        ticket,
        contact.as_ref(),
        &team,
    );
    let settings = match for_run {
        Ok(settings) => settings,
        Err(e) => return Ok(Err(format!("{label} failed: {e}"))),
    };
    let secrets = match state.secret_key.secrets_of(&installation) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, plugin = %run.robot.plugin, "cannot open a robot's secrets");
            return Ok(Err(format!("{label} failed: its secrets cannot be opened; see the server log")));
        }
    };
    let installation = switchboard_core::Installation { settings, ..installation };
    Ok(Ok(Prepared { installation, secrets, team, contact }))
}

/// Whether the robot may be started again after an attempt that never
/// reported back: only a stage robot that says so. Asking needs an
/// instance; when none comes free the answer is not known yet, and the
/// error says so.
async fn retry_safe(state: &AppState, prepared: &Prepared) -> Result<bool, RuntimeError> {
    if !state.runtime.runs_on_stages(&prepared.installation.plugin) {
        return Ok(false);
    }
    match state.runtime.retry_safe(&prepared.installation, &prepared.secrets).await {
        Ok(safe) => Ok(safe),
        Err(e @ RuntimeError::Busy { .. }) => Err(e),
        Err(e) => {
            tracing::warn!(plugin = %prepared.installation.plugin, error = %e, "retry-safe failed; taken as no");
            Ok(false)
        }
    }
}

/// How a started robot ended: a line for the thread, or another attempt.
enum Ended {
    Line(String),
    Again(JobOutcome),
}

/// Starts the robot and says how it went.
async fn execute(
    state: &AppState,
    run: &RobotRun,
    prepared: Prepared,
    ticket: Ticket,
    (attempt, after_silence): (u32, bool),
    after: Vec<Durability>,
) -> Result<Ended, StoreError> {
    let label = run.label();
    let started = match (attempt, after_silence) {
        (1, _) => format!("{label} started"),
        (n, true) => format!(
            "{label} started again (attempt {n}): the last attempt did not report back, and the robot is safe to retry"
        ),
        (n, false) => format!("{label} started (attempt {n} of {MAX_ATTEMPTS})"),
    };
    say(state, run, started).await?;
    let Prepared { installation, secrets, team, contact } = prepared;
    let input = RunInput { ticket, team, contact };
    if !state.runtime.runs_on_stages(&installation.plugin) {
        for flush in after {
            flush.wait().await?;
        }
        let result = state.runtime.run_robot(&installation, &secrets, input).await;
        if let Err(e @ RuntimeError::Busy { .. }) = result {
            return not_started(state, run, e, after_silence).await.map(Ended::Again);
        }
        return Ok(Ended::Line(match result {
            Ok(Outcome::Done) => format!("{label} done"),
            Ok(Outcome::Skipped(why)) => format!("{label} skipped: {why}"),
            Ok(Outcome::Failed(failure)) => format!("{label} failed: {failure}"),
            Err(e) => format!("{label} failed: {e}"),
        }));
    }
    let this = StageRun { id: run.key(), attempt };
    let result = state.runtime.run_stage_robot(&installation, &secrets, input, this, after).await;
    if let Err(e @ RuntimeError::Busy { .. }) = result {
        return not_started(state, run, e, after_silence).await.map(Ended::Again);
    }
    Ok(Ended::Line(match result {
        Ok(StageOutcome::Done(what)) if what.is_empty() => format!("{label} done"),
        Ok(StageOutcome::Done(what)) => format!("{label} done: {what}"),
        Ok(StageOutcome::Skipped(why)) => format!("{label} skipped: {why}"),
        Ok(StageOutcome::Failed(failure)) if failure.may_pass() && attempt < MAX_ATTEMPTS => {
            let wait = backoff(attempt + 1);
            let line = format!(
                "{label} failed (attempt {attempt} of {MAX_ATTEMPTS}): {failure}; trying again in {} s",
                wait.as_secs()
            );
            say(state, run, line).await?;
            let next = RobotRun { attempt: attempt + 1, ..run.clone() };
            let at = state.clock.now() + wait;
            return Ok(Ended::Again(JobOutcome::Again { at, reason: failure.to_string(), payload: next.encode() }));
        }
        Ok(StageOutcome::Failed(failure)) if attempt > 1 => {
            format!("{label} failed after {attempt} attempts: {failure}")
        }
        Ok(StageOutcome::Failed(failure)) => format!("{label} failed: {failure}"),
        Err(e) => format!("{label} failed: {e}"),
    }))
}

/// A robot that never started because no instance came free: the run is
/// tried again shortly. Nothing of this attempt ran, so a first attempt
/// stays the first. After an attempt that never reported back, the job
/// keeps its count of claims, so that the next claim still asks the
/// robot whether it is safe to retry (its attempt number then counts
/// this claim too, which errs on the side of stopping sooner).
async fn not_started(
    state: &AppState,
    run: &RobotRun,
    e: RuntimeError,
    after_silence: bool,
) -> Result<JobOutcome, StoreError> {
    let wait = SignedDuration::from_secs(1);
    say(state, run, format!("{} not started: {e}; trying again in {} s", run.label(), wait.as_secs())).await?;
    let (at, reason) = (state.clock.now() + wait, e.to_string());
    Ok(match after_silence {
        true => JobOutcome::Retry { at, reason },
        false => JobOutcome::Again { at, reason, payload: run.encode() },
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
