//! Robots that run on stages (the `stage-robot` world of WIT 0.1.9): a
//! scheduled run with its id and attempt, whether a robot may be started
//! again after an attempt that never reported back, and the preview the
//! dry run shows.

use switchboard_core::{Capability, Installation};
use switchboard_store::Durability;

use crate::bindings::stage_robot::exports::switchboard::plugin::robot_handler as srh;
use crate::bindings::stage_robot::exports::switchboard::plugin::stage_robot_handler as wit;
use crate::call::Answer;
use crate::convert::{contact_to_wit, ticket_to_wit};
use crate::plugin::{Loaded, Pre};
use crate::{PluginFailure, RunInput, Runtime, RuntimeError, Secrets};

/// A run the scheduler starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRun {
    /// Its id, the same on every attempt.
    pub id: String,
    /// The attempt, from 1.
    pub attempt: u32,
}

/// How a scheduled run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageOutcome {
    /// Done; what the robot did.
    Done(String),
    /// Nothing to do; why.
    Skipped(String),
    /// The robot's error.
    Failed(PluginFailure),
}

/// What a run would do, as the dry run shows it.
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

impl Runtime {
    /// Whether the loaded plugin `plugin` is a robot that runs on stages
    /// (its component exports `stage-robot-handler`).
    pub fn runs_on_stages(&self, plugin: &str) -> bool {
        self.loaded(plugin).is_ok_and(|l| l.pre.runs_on_stages())
    }

    /// Asks a stage robot whether it may be started again after an attempt
    /// that never reported back.
    pub async fn retry_safe(&self, installation: &Installation, secrets: &Secrets) -> Result<bool, RuntimeError> {
        let loaded = self.stage_robot(&installation.plugin)?;
        let scope = Self::installation_scope(&loaded, installation, secrets);
        self.call(&loaded, scope, |store, pre| {
            Box::pin(async move {
                let Pre::Robot { pre, stage: Some(indices) } = pre else {
                    return Err(wasmtime::format_err!("not a stage robot"));
                };
                let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                indices.load(&mut *store, &instance)?.call_retry_safe(&mut *store).await
            })
        })
        .await
    }

    /// Runs a stage robot for a scheduled run.
    ///
    /// `after` are the flushes of what the run stands on: its claim, and
    /// the ticket as the run read it. The robot starts at once, but nothing
    /// of its call leaves the server before those flushes: they join the
    /// call's own writes (`HostState::pending`), which every outbound
    /// request and the call's answer wait for. So they and the robot's own
    /// (of its claim on the message, say) are waited for at once, not one
    /// after the other, and still no robot reaches a provider on a claim,
    /// or with a ticket, that a crash could take back.
    pub async fn run_stage_robot(
        &self,
        installation: &Installation,
        secrets: &Secrets,
        input: RunInput,
        run: StageRun,
        after: Vec<Durability>,
    ) -> Result<StageOutcome, RuntimeError> {
        let loaded = self.stage_robot(&installation.plugin)?;
        let context = run_context(&loaded, installation, secrets, &input);
        let run = wit::Run { id: run.id, attempt: run.attempt };
        let scope = Self::installation_scope(&loaded, installation, secrets);
        let outcome = self
            .call(&loaded, scope, |store, pre| {
                store.data_mut().pending.extend(after);
                Box::pin(async move {
                    let Pre::Robot { pre, stage: Some(indices) } = pre else {
                        return Err(wasmtime::format_err!("not a stage robot"));
                    };
                    let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                    indices.load(&mut *store, &instance)?.call_run_stage(&mut *store, &context, &run).await
                })
            })
            .await?;
        Ok(match outcome {
            wit::RunOutcome::Done(what) => StageOutcome::Done(what),
            wit::RunOutcome::Skipped(why) => StageOutcome::Skipped(why),
            wit::RunOutcome::Failed(e) => {
                self.inner.metrics.failed(&installation.plugin);
                StageOutcome::Failed(e.into())
            }
        })
    }

    /// Asks a stage robot what it would do. It may read (its `tickets`
    /// and `storage` grants stay, for the open line, say), but every write
    /// is refused and no other grant is in force: it can neither call out
    /// nor send mail.
    pub async fn preview_robot(
        &self,
        installation: &Installation,
        secrets: &Secrets,
        input: RunInput,
    ) -> Result<Plan, RuntimeError> {
        let loaded = self.stage_robot(&installation.plugin)?;
        let context = run_context(&loaded, installation, secrets, &input);
        let mut scope = Self::installation_scope(&loaded, installation, secrets);
        scope.grants.retain(|g| matches!(g, Capability::Tickets | Capability::Storage));
        scope.read_only = true;
        let answer: Answer<wit::Plan> = self
            .call(&loaded, scope, |store, pre| {
                Box::pin(async move {
                    let Pre::Robot { pre, stage: Some(indices) } = pre else {
                        return Err(wasmtime::format_err!("not a stage robot"));
                    };
                    let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                    indices.load(&mut *store, &instance)?.call_preview(&mut *store, &context).await
                })
            })
            .await?;
        match answer {
            Ok(wit::Plan::Act(a)) => Ok(Plan::Act { summary: a.summary, content: a.content }),
            Ok(wit::Plan::Skip(why)) => Ok(Plan::Skip(why)),
            Err(e) => Err(RuntimeError::Plugin { plugin: installation.plugin.clone(), failure: e.into() }),
        }
    }

    /// The loaded plugin, if it is a stage robot.
    fn stage_robot(&self, plugin: &str) -> Result<std::sync::Arc<Loaded>, RuntimeError> {
        let loaded = self.loaded(plugin)?;
        if !loaded.pre.runs_on_stages() {
            return Err(RuntimeError::NotStageRobot(plugin.to_owned()));
        }
        Ok(loaded)
    }
}

/// The context of a run, in the `stage-robot` world's types.
fn run_context(loaded: &Loaded, installation: &Installation, secrets: &Secrets, input: &RunInput) -> srh::RunContext {
    srh::RunContext {
        ticket: ticket_to_wit(&input.ticket, &input.team),
        contact: input.contact.as_ref().map(contact_to_wit),
        team: srh::Team { slug: input.team.slug.clone(), name: input.team.name.clone() },
        stage: input.team.stage(input.ticket.stage).map(|s| s.name.clone()).unwrap_or_default(),
        settings: secrets.settings_for(&loaded.wit, &installation.settings),
    }
}
