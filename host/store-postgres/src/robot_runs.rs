//! Robot runs written in the transaction of the stage change that starts
//! or ends them (see `switchboard_store::robot_runs`).

use deadpool_postgres::Transaction;
use switchboard_core::{Author, Team, Ticket, Timestamp, TriggerEvent};
use switchboard_store::JobState;
use switchboard_store::robot_runs::{self, ROBOT_QUEUE, RobotRun};

use crate::jobs::{COLUMNS, enqueue_attempt, job_of, save};
use crate::teams::{StageLock, lock_stages, team_row};
use crate::tickets::add_event;
use crate::tx::{TxError, rows};

/// Applies the team's triggers for `events` to `ticket` (see
/// `switchboard_store::triggers`) and returns the thread's lines. A move
/// holds the team's stages as any entry into a stage does, and is decided
/// on the team as read under that hold.
pub(crate) async fn fire_triggers(
    tx: &Transaction<'_>,
    team: &Team,
    ticket: &mut Ticket,
    events: &[TriggerEvent],
    now: Timestamp,
) -> Result<Vec<String>, TxError> {
    if team.trigger_for(events, ticket).is_none() {
        return Ok(Vec::new());
    }
    lock_stages(tx, &team.slug, StageLock::Enter).await?;
    let team = team_row(tx, &team.slug, "").await?;
    Ok(switchboard_store::triggers::fire(&team, ticket, events, now))
}

/// Writes what follows a ticket's change from `old` (already written):
/// the triggers' `lines`, as the system's, and, if the ticket entered
/// another stage, the end of the old entry's runs and the start of the
/// new one's.
pub(crate) async fn after_change(
    tx: &Transaction<'_>,
    team: &Team,
    old: &Ticket,
    ticket: &Ticket,
    lines: Vec<String>,
    now: Timestamp,
) -> Result<(), TxError> {
    for line in lines {
        add_event(tx, ticket.id, &Author::System, line, now).await?;
    }
    if ticket.stage_entry != old.stage_entry {
        cancel_stage_runs(tx, old, now).await?;
        start_stage_runs(tx, team, ticket, now).await?;
    }
    Ok(())
}

/// Enqueues the runs `ticket`'s entry into its stage starts.
pub(crate) async fn start_stage_runs(
    tx: &Transaction<'_>,
    team: &Team,
    ticket: &Ticket,
    now: Timestamp,
) -> Result<(), TxError> {
    for draft in robot_runs::entry_jobs(team, ticket, now) {
        enqueue_attempt(tx, &draft, now).await?;
    }
    Ok(())
}

/// Cancels the runs of `old`'s stage entry that nobody has started,
/// writing each cancelled robot into the thread. The rows are locked, so a
/// worker's claim either comes first (and the run counts as started) or
/// finds the job cancelled.
pub(crate) async fn cancel_stage_runs(tx: &Transaction<'_>, old: &Ticket, now: Timestamp) -> Result<(), TxError> {
    let keys: Vec<String> = robot_runs::entry_keys(old.id, old.stage_entry).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE queue = $1 AND key = ANY($2) AND state = 'pending' ORDER BY id FOR UPDATE"
    );
    for found in rows(tx, &sql, &[&ROBOT_QUEUE, &keys]).await? {
        let mut job = job_of(&found)?;
        let running = job.lease.as_ref().is_some_and(|l| l.until > now);
        if job.state != JobState::Pending || running {
            continue;
        }
        job.cancel(now);
        save(tx, &job).await?;
        // A payload that is not a run cannot be named; the job is
        // cancelled all the same.
        if let Ok(run) = RobotRun::decode(&job.payload) {
            for line in run.cancelled_lines() {
                add_event(tx, old.id, &Author::System, line, now).await?;
            }
        }
    }
    Ok(())
}
