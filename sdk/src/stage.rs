//! Robots that run on team stages (feature `stage`, the `stage-robot`
//! world): the host's scheduler starts them when a ticket enters a stage,
//! with a run id and an attempt number, and the dry run asks them what
//! they would do.
//!
//! A robot with a side effect outside Switchboard (an SMS, a call) claims
//! it before making it, so that it is made once even if two servers ever
//! run one attempt:
//!
//! ```ignore
//! fn run_stage(settings: Settings, context: RunContext, run: Run) -> RunOutcome {
//!     if !storage::set_if_absent(&format!("sent/{}", run.id), b"")? {
//!         return RunOutcome::Skipped("already sent by an earlier attempt".into());
//!     }
//!     // ... send; on a failure that surely sent nothing, delete the claim
//!     // and answer `transient`, so that the next attempt may send.
//! }
//! ```

use crate::bindings::exports::switchboard::plugin::stage_robot_handler as wit;
use crate::{PluginError, Robot, RunContext};

/// One run the scheduler starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Its id: the same on every attempt, never another run's.
    pub id: String,
    /// The attempt, from 1.
    pub attempt: u32,
}

/// How a scheduled run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// Done; what was done, for the ticket's thread.
    Done(String),
    /// Nothing to do; why.
    Skipped(String),
    /// Failed. [`PluginError::Transient`] and [`PluginError::RateLimited`]
    /// are tried again later; others end the run.
    Failed(PluginError),
}

/// What a run would do, for the dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// It would act.
    Act {
        /// One line: what, and to whom.
        summary: String,
        /// What it would send, in full.
        content: String,
    },
    /// It would skip, for this reason.
    Skip(String),
}

/// A robot that runs on stages. Implement it and [`Robot`], then export
/// both with [`crate::export_stage_robot!`].
pub trait StageRobot: Robot {
    /// Whether starting a run again is harmless after an attempt that
    /// never reported back. The default, `false`, makes the host write
    /// "outcome unknown" instead.
    fn retry_safe() -> bool {
        false
    }

    /// Runs for a scheduled run.
    fn run_stage(settings: Self::Settings, context: RunContext, run: Run) -> RunOutcome;

    /// Says what [`StageRobot::run_stage`] would do, without acting: during
    /// a preview the host lets the robot read tickets and its storage, and
    /// refuses every write, outbound request and mail.
    fn preview(settings: Self::Settings, context: RunContext) -> Result<Plan, PluginError>;
}

/// Glue between the generated bindings and [`StageRobot`]; used by the
/// export macro.
#[doc(hidden)]
pub mod glue {
    use super::*;
    use crate::bindings::exports::switchboard::plugin::robot_handler::RunContext as WitContext;

    pub fn retry_safe<T: StageRobot>() -> bool {
        T::retry_safe()
    }

    pub fn run_stage<T: StageRobot>(context: WitContext, run: wit::Run) -> wit::RunOutcome {
        let (settings, context) = match crate::robot::glue::context::<T>(context) {
            Ok(parsed) => parsed,
            Err(e) => return wit::RunOutcome::Failed(e),
        };
        match T::run_stage(settings, context, Run { id: run.id, attempt: run.attempt }) {
            RunOutcome::Done(what) => wit::RunOutcome::Done(what),
            RunOutcome::Skipped(why) => wit::RunOutcome::Skipped(why),
            RunOutcome::Failed(e) => wit::RunOutcome::Failed(e),
        }
    }

    pub fn preview<T: StageRobot>(context: WitContext) -> Result<wit::Plan, PluginError> {
        let (settings, context) = crate::robot::glue::context::<T>(context)?;
        Ok(match T::preview(settings, context)? {
            Plan::Act { summary, content } => wit::Plan::Act(wit::Action { summary, content }),
            Plan::Skip(why) => wit::Plan::Skip(why),
        })
    }
}

/// Exports a [`StageRobot`] implementation as this component's
/// `robot-handler` and `stage-robot-handler`.
#[macro_export]
macro_rules! export_stage_robot {
    ($plugin:ty) => {
        struct __SwitchboardStageRobot;

        $crate::__robot_handler!(__SwitchboardStageRobot, $plugin);

        impl $crate::bindings::exports::switchboard::plugin::stage_robot_handler::Guest for __SwitchboardStageRobot {
            fn retry_safe() -> bool {
                $crate::__glue::stage::retry_safe::<$plugin>()
            }

            fn run_stage(
                context: $crate::bindings::exports::switchboard::plugin::robot_handler::RunContext,
                run: $crate::bindings::exports::switchboard::plugin::stage_robot_handler::Run,
            ) -> $crate::bindings::exports::switchboard::plugin::stage_robot_handler::RunOutcome {
                $crate::__glue::stage::run_stage::<$plugin>(context, run)
            }

            fn preview(
                context: $crate::bindings::exports::switchboard::plugin::robot_handler::RunContext,
            ) -> Result<$crate::bindings::exports::switchboard::plugin::stage_robot_handler::Plan, $crate::PluginError>
            {
                $crate::__glue::stage::preview::<$plugin>(context)
            }
        }

        $crate::bindings::export!(__SwitchboardStageRobot with_types_in $crate::bindings);
    };
}
