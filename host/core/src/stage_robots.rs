//! Robots on a stage: what runs when a ticket enters it, in which order,
//! and after which wait.
//!
//! A stage keeps an ordered list of robots. When a ticket enters the
//! stage, every robot not marked "after previous" starts at once (after
//! its own delay); one marked "after previous" starts once the robot
//! before it has finished, however that went. The scheduling itself is
//! the store's and the server's; these are the rules about the list.

use serde::{Deserialize, Serialize};

use crate::{CoreError, Stage, StageId, Team, clean_name};

/// The most robots one stage may have.
pub const MAX_STAGE_ROBOTS: usize = 16;

/// The longest delay before a robot starts: 30 days, in seconds.
pub const MAX_ROBOT_DELAY_SECONDS: u32 = 30 * 24 * 3600;

/// The largest settings document of one robot on a stage, in bytes.
pub const MAX_ROBOT_SETTINGS_LEN: usize = 16 * 1024;

/// One robot on a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRobot {
    /// The robot plugin's id.
    pub plugin: String,
    /// Its settings for this stage, a JSON document the plugin checks.
    pub settings: String,
    /// Whether it waits for the robot before it to finish.
    pub after_previous: bool,
    /// How long it waits, in seconds, once it may start.
    pub delay_seconds: u32,
}

impl StageRobot {
    /// Checks the limits that need no plugin: the plugin id's form, the
    /// delay and the settings' size. The first robot cannot wait for a
    /// previous one.
    fn check(&self, position: usize) -> Result<(), CoreError> {
        clean_name("plugin", &self.plugin)?;
        if self.delay_seconds > MAX_ROBOT_DELAY_SECONDS {
            return Err(CoreError::invalid(
                "delay_seconds",
                format!(
                    "robot {position} waits {} s; the most is {MAX_ROBOT_DELAY_SECONDS} s (30 days)",
                    self.delay_seconds
                ),
            ));
        }
        if self.settings.len() > MAX_ROBOT_SETTINGS_LEN {
            return Err(CoreError::invalid(
                "settings",
                format!(
                    "robot {position}'s settings are {} bytes; the most is {MAX_ROBOT_SETTINGS_LEN}",
                    self.settings.len()
                ),
            ));
        }
        if position == 0 && self.after_previous {
            return Err(CoreError::invalid("after_previous", "the first robot has no previous robot to wait for"));
        }
        Ok(())
    }
}

/// Checks a stage's whole robot list (see [`StageRobot`]); the count is
/// checked before any robot.
pub fn check_stage_robots(robots: &[StageRobot]) -> Result<(), CoreError> {
    if robots.len() > MAX_STAGE_ROBOTS {
        return Err(CoreError::invalid(
            "robots",
            format!("{} robots given; a stage has at most {MAX_STAGE_ROBOTS}", robots.len()),
        ));
    }
    robots.iter().enumerate().try_for_each(|(i, r)| r.check(i))
}

impl Stage {
    /// The robots that start as soon as a ticket enters the stage (after
    /// their own delay), with their positions: those that wait for no
    /// previous robot.
    pub fn first_robots(&self) -> impl Iterator<Item = (usize, &StageRobot)> {
        self.robots.iter().enumerate().filter(|(_, r)| !r.after_previous)
    }

    /// The robots that wait, one after the other, for the robot at
    /// `position` to finish: those marked "after previous" right behind
    /// it, in order.
    pub fn chain_after(&self, position: usize) -> &[StageRobot] {
        let rest = self.robots.get(position + 1..).unwrap_or_default();
        let waiting = rest.iter().take_while(|r| r.after_previous).count();
        &rest[..waiting]
    }
}

impl Team {
    /// Replaces the robots of stage `id`, checked (see
    /// [`check_stage_robots`]).
    pub fn set_stage_robots(&mut self, id: StageId, robots: Vec<StageRobot>) -> Result<(), CoreError> {
        check_stage_robots(&robots)?;
        let stage = self.stages.iter_mut().find(|s| s.id == id).ok_or(CoreError::UnknownStage(id))?;
        stage.robots = robots;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TeamDraft;

    fn robot(plugin: &str, after_previous: bool) -> StageRobot {
        StageRobot { plugin: plugin.into(), settings: "{}".into(), after_previous, delay_seconds: 0 }
    }

    fn team() -> Team {
        let draft = TeamDraft { name: "Ops".into(), slug: None, alias: None };
        Team::new(draft, jiff::Timestamp::UNIX_EPOCH).expect("team")
    }

    #[test]
    fn robots_that_wait_for_none_start_together_and_the_others_follow_in_chains() {
        let mut team = team();
        let robots = vec![
            robot("a", false),
            robot("b", true),
            robot("c", true),
            robot("d", false),
            robot("e", false),
            robot("f", true),
        ];
        team.set_stage_robots(2, robots).expect("set");
        let stage = team.stage(2).expect("stage");
        let first: Vec<_> = stage.first_robots().map(|(i, r)| (i, r.plugin.as_str())).collect();
        assert_eq!(first, [(0, "a"), (3, "d"), (4, "e")]);
        let names = |rs: &[StageRobot]| rs.iter().map(|r| r.plugin.clone()).collect::<Vec<_>>();
        assert_eq!(names(stage.chain_after(0)), ["b", "c"]);
        assert_eq!(names(stage.chain_after(1)), ["c"]);
        assert!(stage.chain_after(3).is_empty());
        assert_eq!(names(stage.chain_after(4)), ["f"]);
        assert!(stage.chain_after(5).is_empty());
        assert!(stage.chain_after(99).is_empty(), "a position past the end has no chain");
    }

    #[test]
    fn a_robot_list_is_refused_naming_what_is_wrong() {
        let mut team = team();
        let err = |robots: Vec<StageRobot>| team.clone().set_stage_robots(1, robots).expect_err("refused").to_string();
        assert!(err(vec![robot("a", true)]).starts_with("after_previous:"));
        let mut slow = robot("a", false);
        slow.delay_seconds = MAX_ROBOT_DELAY_SECONDS + 1;
        assert!(err(vec![slow]).contains("2592001 s"));
        let mut big = robot("a", false);
        big.settings = "x".repeat(MAX_ROBOT_SETTINGS_LEN + 1);
        assert!(err(vec![big]).starts_with("settings:"));
        assert!(err(vec![robot("a", false); MAX_STAGE_ROBOTS + 1]).contains("17 robots given"));
        assert!(err(vec![robot("", false)]).starts_with("plugin:"));
        assert_eq!(team.set_stage_robots(99, vec![]), Err(CoreError::UnknownStage(99)));
        team.set_stage_robots(1, vec![robot("a", false); MAX_STAGE_ROBOTS]).expect("the most is allowed");
    }
}
