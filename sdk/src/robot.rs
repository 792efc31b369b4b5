//! The robot side: a plugin that acts on a ticket.

use serde::de::DeserializeOwned;

use crate::bindings::exports::switchboard::plugin::robot_handler as wit;
use crate::types::{Contact, Ticket};
use crate::{Info, PluginError, settings};

/// The team a robot runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRef {
    /// Its slug.
    pub slug: String,
    /// Its name.
    pub name: String,
}

/// What a run is about.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The ticket.
    pub ticket: Ticket,
    /// Its contact, if known.
    pub contact: Option<Contact>,
    /// Its team.
    pub team: TeamRef,
    /// The name of the stage the ticket is in.
    pub stage: String,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The work was done.
    Done,
    /// There was nothing to do; says why.
    Skipped(String),
    /// The robot tried and failed.
    Failed(PluginError),
}

/// A robot plugin. Implement it, then export it with
/// [`crate::export_robot!`].
pub trait Robot {
    /// The robot's settings, parsed from the installation's JSON.
    type Settings: DeserializeOwned;

    /// Name and summary. (The settings schema belongs in `plugin.toml`.)
    fn describe() -> Info;

    /// Checks parsed settings beyond their shape.
    fn validate(settings: &Self::Settings) -> Result<(), PluginError> {
        let _ = settings;
        Ok(())
    }

    /// Runs on a ticket.
    fn run(settings: Self::Settings, context: RunContext) -> Outcome;
}

/// Glue between the generated bindings and [`Robot`]; used by the export
/// macro.
#[doc(hidden)]
pub mod glue {
    use super::*;

    pub fn describe<T: Robot>() -> wit::Info {
        let info = T::describe();
        wit::Info { name: info.name, summary: info.summary, settings_schema: info.settings_schema }
    }

    pub fn validate_settings<T: Robot>(json: &str) -> Result<(), PluginError> {
        T::validate(&settings::parse::<T::Settings>(json)?)
    }

    /// The run's settings, parsed, and its context.
    pub fn context<T: Robot>(context: wit::RunContext) -> Result<(T::Settings, RunContext), PluginError> {
        let settings = settings::parse::<T::Settings>(&context.settings)?;
        let context = RunContext {
            ticket: context.ticket,
            contact: context.contact,
            team: TeamRef { slug: context.team.slug, name: context.team.name },
            stage: context.stage,
        };
        Ok((settings, context))
    }

    pub fn run<T: Robot>(context: wit::RunContext) -> wit::Outcome {
        let (settings, context) = match self::context::<T>(context) {
            Ok(parsed) => parsed,
            Err(e) => return wit::Outcome::Failed(e),
        };
        match T::run(settings, context) {
            Outcome::Done => wit::Outcome::Done,
            Outcome::Skipped(why) => wit::Outcome::Skipped(why),
            Outcome::Failed(e) => wit::Outcome::Failed(e),
        }
    }
}

/// Exports a [`Robot`] implementation as this component's `robot-handler`.
#[macro_export]
macro_rules! export_robot {
    ($plugin:ty) => {
        struct __SwitchboardRobot;

        $crate::__robot_handler!(__SwitchboardRobot, $plugin);

        $crate::bindings::export!(__SwitchboardRobot with_types_in $crate::bindings);
    };
}

/// Implements `robot-handler` for the export macros' type; not part of the
/// API.
#[doc(hidden)]
#[macro_export]
macro_rules! __robot_handler {
    ($host:ident, $plugin:ty) => {
        impl $crate::bindings::exports::switchboard::plugin::robot_handler::Guest for $host {
            fn describe() -> $crate::bindings::exports::switchboard::plugin::robot_handler::Info {
                $crate::__glue::robot::describe::<$plugin>()
            }

            fn validate_settings(settings: String) -> Result<(), $crate::PluginError> {
                $crate::__glue::robot::validate_settings::<$plugin>(&settings)
            }

            fn run(
                context: $crate::bindings::exports::switchboard::plugin::robot_handler::RunContext,
            ) -> $crate::bindings::exports::switchboard::plugin::robot_handler::Outcome {
                $crate::__glue::robot::run::<$plugin>(context)
            }
        }
    };
}
