//! Robot runs written with the stage change that starts or ends them (see
//! `switchboard_store::robot_runs`), and what triggers add to a change.

use switchboard_core::{Author, Team, Ticket, Timestamp};
use switchboard_store::JobState;
use switchboard_store::robot_runs::{self, ROBOT_QUEUE, RobotRun};

use crate::keys;
use crate::trees::Tree;
use crate::tx::{Tx, TxResult};

impl Tx<'_> {
    /// Writes what follows a ticket's change from `old` (already written):
    /// the triggers' `lines`, as the system's, and, if the ticket entered
    /// another stage, the end of the old entry's runs and the start of the
    /// new one's.
    pub(crate) fn after_change(
        &self,
        team: &Team,
        old: &Ticket,
        ticket: &Ticket,
        lines: Vec<String>,
        now: Timestamp,
    ) -> TxResult<()> {
        for line in lines {
            self.add_event(ticket.id, &Author::System, line, now)?;
        }
        if ticket.stage_entry != old.stage_entry {
            self.cancel_stage_runs(old, now)?;
            self.start_stage_runs(team, ticket, now)?;
        }
        Ok(())
    }

    /// Enqueues the runs `ticket`'s entry into its stage starts.
    pub(crate) fn start_stage_runs(&self, team: &Team, ticket: &Ticket, now: Timestamp) -> TxResult<()> {
        for draft in robot_runs::entry_jobs(team, ticket, now) {
            self.enqueue(&draft, now)?;
        }
        Ok(())
    }

    /// Cancels the runs of `old`'s stage entry that nobody has started,
    /// writing each cancelled robot into the thread.
    pub(crate) fn cancel_stage_runs(&self, old: &Ticket, now: Timestamp) -> TxResult<()> {
        for key in robot_runs::entry_keys(old.id, old.stage_entry) {
            let Some(id) = self.id_at(Tree::JobKeys, &keys::job_key(ROBOT_QUEUE, &key))? else {
                continue;
            };
            let before = self.job(id)?;
            let running = before.lease.as_ref().is_some_and(|l| l.until > now);
            if before.state != JobState::Pending || running {
                continue;
            }
            let mut job = before.clone();
            job.cancel(now);
            self.put_job(Some(&before), &job)?;
            // A payload that is not a run cannot be named; the job is
            // cancelled all the same.
            if let Ok(run) = RobotRun::decode(&job.payload) {
                for line in run.cancelled_lines() {
                    self.add_event(old.id, &Author::System, line, now)?;
                }
            }
        }
        Ok(())
    }
}
