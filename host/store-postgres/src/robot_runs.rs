//! Robot runs written in the transaction of the stage change that starts
//! or ends them (see `switchboard_store::robot_runs`).

use deadpool_postgres::Transaction;
use switchboard_core::{Author, Team, Ticket, Timestamp};
use switchboard_store::JobState;
use switchboard_store::robot_runs::{self, ROBOT_QUEUE, RobotRun};

use crate::jobs::{COLUMNS, enqueue_attempt, job_of, save};
use crate::tickets::add_event;
use crate::tx::{TxError, rows};

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
