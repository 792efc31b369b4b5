//! Handing conversation events and due timers to a channel of the
//! `chat-channel` world, and what the host offers such a channel: the hub
//! its writes go through, and the country database.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use switchboard_chat::Hub;
use switchboard_core::{ChatMessage, Conversation, Installation};
use switchboard_store::Job;

use crate::bindings::chat_channel::exports::switchboard::plugin::chat_handler as chh;
use crate::call::Answer;
use crate::convert::{chat_message_to_wit, conversation_to_wit};
use crate::engine::Runtime;
use crate::plugin::Pre;
use crate::{RuntimeError, Secrets};

/// The job queue of plugins' timers.
pub const TIMER_QUEUE: &str = "timer";

/// Looks up the country of an IP address: ISO 3166 alpha-2, uppercase.
pub type CountryFn = Arc<dyn Fn(IpAddr) -> Option<String> + Send + Sync>;

/// What a chat channel's imports need from the server: the hub that
/// writes conversations and tells every server, and the country lookup.
#[derive(Clone)]
pub struct ChatLink {
    /// The conversation hub.
    pub hub: Hub,
    /// The country database, if one is configured.
    pub country_of: Option<CountryFn>,
}

/// What happened in a conversation, for its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// The visitor opened it.
    VisitorJoined,
    /// The visitor said something while the bot has it.
    VisitorMessage(ChatMessage),
    /// An operator said something.
    OperatorMessage(ChatMessage),
    /// An operator joined.
    OperatorJoined {
        /// The user's id.
        user: u64,
        /// Their chat name.
        name: String,
    },
    /// An operator left.
    OperatorLeft {
        /// The user's id.
        user: u64,
        /// Their chat name.
        name: String,
    },
    /// An operator typed a command.
    Command {
        /// Its name, lowercase, without the slash.
        name: String,
        /// The rest of the line.
        args: String,
        /// Who typed it.
        user: u64,
        /// Their chat name.
        by: String,
    },
    /// It ended.
    Ended,
}

/// A plugin's timer, as its job keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerJob {
    /// The installation's team.
    pub team: String,
    /// The plugin.
    pub plugin: String,
    /// The plugin's key.
    pub key: String,
    /// The plugin's payload.
    pub payload: String,
}

impl TimerJob {
    /// The job key: a key is the installation's own.
    pub(crate) fn job_key(team: &str, plugin: &str, key: &str) -> String {
        format!("{team}/{plugin}/{key}")
    }

    /// The timer a job of [`TIMER_QUEUE`] holds.
    pub fn from_job(job: &Job) -> Result<TimerJob, serde_json::Error> {
        serde_json::from_slice(&job.payload)
    }
}

fn event_to_wit(event: ChatEvent) -> chh::ChatEvent {
    use crate::bindings::channel::switchboard::plugin::conversations::Operator;
    match event {
        ChatEvent::VisitorJoined => chh::ChatEvent::VisitorJoined,
        ChatEvent::VisitorMessage(m) => chh::ChatEvent::VisitorMessage(chat_message_to_wit(&m)),
        ChatEvent::OperatorMessage(m) => chh::ChatEvent::OperatorMessage(chat_message_to_wit(&m)),
        ChatEvent::OperatorJoined { user, name } => chh::ChatEvent::OperatorJoined(Operator { user, name }),
        ChatEvent::OperatorLeft { user, name } => chh::ChatEvent::OperatorLeft(Operator { user, name }),
        ChatEvent::Command { name, args, user, by } => {
            chh::ChatEvent::Command(chh::Command { name, args, by: Operator { user, name: by } })
        }
        ChatEvent::Ended => chh::ChatEvent::Ended,
    }
}

impl Runtime {
    /// Connects chat channels' imports to the server's hub and country
    /// database. Until this is called, `conversations` answers
    /// `transient`. Called once; later calls change nothing.
    pub fn attach_chat(&self, link: ChatLink) {
        let _ = self.inner.services.chat.set(link);
    }

    /// Whether the loaded plugin `plugin` runs conversations (its component
    /// exports `chat-handler`).
    pub fn runs_chat(&self, plugin: &str) -> bool {
        self.loaded(plugin).is_ok_and(|l| l.pre.runs_chat())
    }

    /// Asks a chat channel what to do about an event in one of its
    /// conversations. The plugin's own refusal comes back as
    /// [`RuntimeError::Plugin`].
    pub async fn handle_chat(
        &self,
        installation: &Installation,
        secrets: &Secrets,
        conversation: &Conversation,
        event: ChatEvent,
    ) -> Result<(), RuntimeError> {
        let loaded = self.loaded(&installation.plugin)?;
        if !loaded.pre.runs_chat() {
            return Err(RuntimeError::NoChatHandler(installation.plugin.clone()));
        }
        let settings = secrets.settings_for(&loaded.wit, &installation.settings);
        let (conversation, event) = (conversation_to_wit(conversation), event_to_wit(event));
        let scope = Self::installation_scope(&loaded, installation, secrets);
        let answer: Answer<()> = self
            .call(&loaded, scope, |store, pre| {
                Box::pin(async move {
                    let Pre::Channel { pre, chat: Some(indices), .. } = pre else {
                        return Err(wasmtime::format_err!("not a chat channel"));
                    };
                    let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                    let handler = indices.load(&mut *store, &instance)?;
                    handler.call_handle_chat(&mut *store, &settings, &conversation, &event).await
                })
            })
            .await?;
        self.plugin_answer(installation, answer, "chat handler failed")
    }

    /// Hands a due timer to the chat channel that set it.
    pub async fn handle_timer(
        &self,
        installation: &Installation,
        secrets: &Secrets,
        timer: &TimerJob,
    ) -> Result<(), RuntimeError> {
        let loaded = self.loaded(&installation.plugin)?;
        if !loaded.pre.runs_chat() {
            return Err(RuntimeError::NoChatHandler(installation.plugin.clone()));
        }
        let settings = secrets.settings_for(&loaded.wit, &installation.settings);
        let timer = chh::Timer { key: timer.key.clone(), payload: timer.payload.clone() };
        let scope = Self::installation_scope(&loaded, installation, secrets);
        let answer: Answer<()> = self
            .call(&loaded, scope, |store, pre| {
                Box::pin(async move {
                    let Pre::Channel { pre, chat: Some(indices), .. } = pre else {
                        return Err(wasmtime::format_err!("not a chat channel"));
                    };
                    let instance = pre.instance_pre().instantiate_async(&mut *store).await?;
                    let handler = indices.load(&mut *store, &instance)?;
                    handler.call_handle_timer(&mut *store, &settings, &timer).await
                })
            })
            .await?;
        self.plugin_answer(installation, answer, "timer handler failed")
    }

    /// A plugin's answer, its refusal counted and logged.
    fn plugin_answer(&self, installation: &Installation, answer: Answer<()>, what: &str) -> Result<(), RuntimeError> {
        answer.map_err(|e| {
            self.inner.metrics.failed(&installation.plugin);
            let failure: crate::PluginFailure = e.into();
            tracing::warn!(plugin = %installation.plugin, team = %installation.team, error = %failure, "{what}");
            RuntimeError::Plugin { plugin: installation.plugin.clone(), failure }
        })
    }
}
