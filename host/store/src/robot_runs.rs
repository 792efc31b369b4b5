//! Robot runs as jobs: what a stage entry enqueues, what a leave cancels,
//! and what a finished run releases. Every backend writes these in the
//! same transaction as the stage change (see `TicketStore`), and the
//! server's robot worker claims them; this module is the one place that
//! says what their keys and payloads are.
//!
//! A stage entry enqueues the stage's robots that wait for no previous
//! robot, each due after its own delay. A robot marked "after previous" is
//! not enqueued then: the run before it carries it (and whatever waits
//! behind it) in `then`, and releases it when it finishes. So a chain
//! costs nothing until it may run, and a leave only has to cancel the
//! jobs that exist: for each key of the entry (see [`entry_keys`]), a
//! pending job nobody is running is cancelled, and its lines (see
//! [`RobotRun::cancelled_lines`]) go into the thread. A run already
//! started is left to finish; the worker checks the entry before it
//! starts a run and before it releases the next, so a run that lost the
//! race with a leave is cancelled there.

use serde::{Deserialize, Serialize};
use switchboard_core::{MAX_STAGE_ROBOTS, StageId, StageRobot, Team, Ticket, TicketId, Timestamp};

use crate::{JobDraft, StoreError};

/// The queue robot runs wait in.
pub const ROBOT_QUEUE: &str = "robots";

/// One run of one robot for one stage entry of a ticket: a job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotRun {
    /// The ticket.
    pub ticket: TicketId,
    /// Its team's slug.
    pub team: String,
    /// The stage it entered.
    pub stage: StageId,
    /// The stage's name then, for the thread.
    pub stage_name: String,
    /// Which entry of the ticket into a stage this run belongs to (see
    /// [`Ticket::stage_entry`]).
    pub entry: u64,
    /// The robot's place in the stage's list, from 0.
    pub position: usize,
    /// The robot and its settings, as the stage had them at the entry.
    pub robot: StageRobot,
    /// The robots marked "after previous" right behind it, which start one
    /// after the other once it has finished.
    #[serde(default)]
    pub then: Vec<StageRobot>,
    /// Which attempt of the run the job's next claim makes, from 1: a
    /// robot's failure that may pass schedules the next with this one
    /// more.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
}

fn first_attempt() -> u32 {
    1
}

/// The key of the run of the robot at `position` for a ticket's `entry`:
/// unique per run, so that enqueueing it twice makes one job.
pub fn run_key(ticket: TicketId, entry: u64, position: usize) -> String {
    format!("{ticket}/{entry}/{position}")
}

/// The keys every run of a ticket's `entry` could have: one per place a
/// stage can have a robot. A leave looks each up, so that it finds the
/// runs whatever the stage's list has become since.
pub fn entry_keys(ticket: TicketId, entry: u64) -> impl Iterator<Item = String> {
    (0..MAX_STAGE_ROBOTS).map(move |position| run_key(ticket, entry, position))
}

/// The runs a ticket's entry into its current stage starts now: one job
/// per robot that waits for no previous one, each due after its delay.
pub fn entry_jobs(team: &Team, ticket: &Ticket, now: Timestamp) -> Vec<JobDraft> {
    let Ok(stage) = team.stage(ticket.stage) else {
        return Vec::new();
    };
    stage
        .first_robots()
        .map(|(position, robot)| RobotRun {
            ticket: ticket.id,
            team: team.slug.clone(),
            stage: stage.id,
            stage_name: stage.name.clone(),
            entry: ticket.stage_entry,
            position,
            robot: robot.clone(),
            then: stage.chain_after(position).to_vec(),
            attempt: 1,
        })
        .map(|run| run.job(now))
        .collect()
}

impl RobotRun {
    /// Its job, due once its delay has passed from `from`.
    pub fn job(&self, from: Timestamp) -> JobDraft {
        JobDraft {
            queue: ROBOT_QUEUE.to_owned(),
            key: self.key(),
            payload: self.encode(),
            due_at: from + jiff::SignedDuration::from_secs(i64::from(self.robot.delay_seconds)),
            held_by: None,
        }
    }

    /// Its job's key.
    pub fn key(&self) -> String {
        run_key(self.ticket, self.entry, self.position)
    }

    /// The run that waits for this one, if any: the first robot of `then`,
    /// carrying the rest.
    pub fn next(&self) -> Option<RobotRun> {
        let (robot, then) = self.then.split_first()?;
        Some(RobotRun {
            position: self.position + 1,
            robot: robot.clone(),
            then: then.to_vec(),
            attempt: 1,
            ..self.clone()
        })
    }

    /// Whether `ticket` is still in the stage entry this run belongs to.
    pub fn is_current(&self, ticket: &Ticket) -> bool {
        ticket.id == self.ticket && ticket.stage == self.stage && ticket.stage_entry == self.entry
    }

    /// How the thread names this run: the robot and its place.
    pub fn label(&self) -> String {
        format!("Robot {} (#{} of stage {})", self.robot.plugin, self.position + 1, self.stage_name)
    }

    /// The thread's lines for a run cancelled before it started: one for
    /// it, and one for each robot that waited behind it.
    pub fn cancelled_lines(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(1 + self.then.len());
        let mut run = Some(self.clone());
        while let Some(r) = run {
            lines.push(format!("{} cancelled: the ticket left the stage before it started", r.label()));
            run = r.next();
        }
        lines
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of strings, numbers and lists always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a payload, naming the job if it is not a run.
    pub fn decode(payload: &[u8]) -> Result<RobotRun, StoreError> {
        serde_json::from_slice(payload)
            .map_err(|e| StoreError::Corrupt { what: "robot run".to_owned(), reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::{TeamDraft, TicketDraft};

    fn robot(plugin: &str, after_previous: bool, delay_seconds: u32) -> StageRobot {
        StageRobot { plugin: plugin.into(), settings: "{}".into(), after_previous, delay_seconds }
    }

    #[test]
    fn an_entry_enqueues_the_robots_that_wait_for_none_and_each_chain_rides_with_its_head() {
        let now = Timestamp::UNIX_EPOCH;
        let mut team = Team::new(TeamDraft { name: "Ops".into(), slug: None, alias: None }, now).expect("team");
        let robots =
            vec![robot("sms", false, 0), robot("call", true, 60), robot("mail", true, 0), robot("note", false, 30)];
        team.set_stage_robots(1, robots).expect("robots");
        let draft = TicketDraft { title: "Help".into(), origin: "api".into(), ..TicketDraft::default() };
        let ticket = Ticket::open(7, &team, draft, None, now).expect("ticket");
        let jobs = entry_jobs(&team, &ticket, now);
        assert_eq!(jobs.iter().map(|j| j.key.as_str()).collect::<Vec<_>>(), ["7/1/0", "7/1/3"]);
        assert_eq!(jobs[1].due_at, now + jiff::SignedDuration::from_secs(30));
        let head = RobotRun::decode(&jobs[0].payload).expect("payload");
        assert!(head.is_current(&ticket));
        let second = head.next().expect("call waits for sms");
        assert_eq!((second.position, second.robot.plugin.as_str()), (1, "call"));
        assert_eq!(second.job(now).due_at, now + jiff::SignedDuration::from_secs(60));
        let third = second.next().expect("mail waits for call");
        assert_eq!((third.key(), third.next()), ("7/1/2".to_owned(), None));
        assert_eq!(head.cancelled_lines().len(), 3, "a cancelled head takes its chain with it");
        assert!(entry_keys(7, 1).any(|k| k == "7/1/3"));
    }
}
