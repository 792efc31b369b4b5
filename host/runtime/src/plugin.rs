//! Loaded plugins: a compiled component, checked against its world, ready
//! to instantiate.

use switchboard_core::{Manifest, PluginKind};
use wasmtime::component::{Component, Linker};

use crate::RuntimeError;
use crate::bindings::chat_channel::exports::switchboard::plugin::chat_handler;
use crate::bindings::mail_channel::exports::switchboard::plugin::{mail_handler, reply_handler};
use crate::bindings::stage_robot::exports::switchboard::plugin::stage_robot_handler;
use crate::bindings::{channel, robot};
use crate::host::HostState;

/// What a plugin says about itself through its `describe` export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// A display name.
    pub name: String,
    /// One sentence on what it does.
    pub summary: String,
    /// A JSON Schema of its settings, or empty.
    pub settings_schema: String,
}

/// The name of the `mail-handler` export, as the newest version names it;
/// wasmtime finds an older compatible version's export by it too.
const MAIL_HANDLER: &str = "switchboard:plugin/mail-handler@0.1.11";

/// The name of the `reply-handler` export.
const REPLY_HANDLER: &str = "switchboard:plugin/reply-handler@0.1.11";

/// The name of the `chat-handler` export.
const CHAT_HANDLER: &str = "switchboard:plugin/chat-handler@0.1.11";

/// The name of the `stage-robot-handler` export.
const STAGE_ROBOT_HANDLER: &str = "switchboard:plugin/stage-robot-handler@0.1.11";

/// A component linked against its world, ready for a fresh instance per
/// event.
pub(crate) enum Pre {
    Channel {
        pre: channel::ChannelPre<HostState>,
        /// The `mail-handler` export, for a component of the
        /// `mail-channel` world.
        mail: Option<mail_handler::GuestIndices>,
        /// The `reply-handler` export, for a channel that delivers agents'
        /// replies.
        reply: Option<reply_handler::GuestIndices>,
        /// The `chat-handler` export, for a component of the
        /// `chat-channel` world.
        chat: Option<chat_handler::GuestIndices>,
    },
    Robot {
        pre: robot::RobotPre<HostState>,
        /// The `stage-robot-handler` export, for a robot of the
        /// `stage-robot` world.
        stage: Option<stage_robot_handler::GuestIndices>,
    },
}

impl Pre {
    /// Whether the component receives the team's e-mail.
    pub(crate) fn handles_mail(&self) -> bool {
        matches!(self, Pre::Channel { mail: Some(_), .. })
    }

    /// Whether the component runs conversations.
    pub(crate) fn runs_chat(&self) -> bool {
        matches!(self, Pre::Channel { chat: Some(_), .. })
    }

    /// Whether the component is a robot that runs on stages.
    pub(crate) fn runs_on_stages(&self) -> bool {
        matches!(self, Pre::Robot { stage: Some(_), .. })
    }

    /// Whether the component delivers agents' replies.
    pub(crate) fn delivers_replies(&self) -> bool {
        matches!(self, Pre::Channel { reply: Some(_), .. })
    }
}

/// A plugin the runtime can call.
pub(crate) struct Loaded {
    pub(crate) manifest: Manifest,
    /// The WIT version the component was built against.
    pub(crate) wit: String,
    pub(crate) sha256: String,
    pub(crate) pre: Pre,
}

impl Loaded {
    /// Links `component` against the world of the manifest's kind. Fails,
    /// naming what is missing, when the component imports something the
    /// host does not provide or lacks the world's export.
    pub(crate) fn link(
        manifest: Manifest,
        wit: String,
        sha256: String,
        component: &Component,
        channel_linker: &Linker<HostState>,
        robot_linker: &Linker<HostState>,
    ) -> Result<Loaded, RuntimeError> {
        let mismatch = |e: wasmtime::Error| RuntimeError::WorldMismatch {
            plugin: manifest.id.clone(),
            world: manifest.kind.name(),
            missing: format!("{e:#}"),
        };
        let pre = match manifest.kind {
            PluginKind::Channel => {
                let instance = channel_linker.instantiate_pre(component).map_err(mismatch)?;
                // A component without the export is a plain channel; one
                // whose export lacks a function or has other types is
                // refused, not taken for one.
                let mail = match instance.component().get_export_index(None, MAIL_HANDLER) {
                    None => None,
                    Some(_) => Some(mail_handler::GuestIndices::new(&instance).map_err(mismatch)?),
                };
                let reply = match instance.component().get_export_index(None, REPLY_HANDLER) {
                    None => None,
                    Some(_) => Some(reply_handler::GuestIndices::new(&instance).map_err(mismatch)?),
                };
                let chat = match instance.component().get_export_index(None, CHAT_HANDLER) {
                    None => None,
                    Some(_) => Some(chat_handler::GuestIndices::new(&instance).map_err(mismatch)?),
                };
                Pre::Channel { pre: channel::ChannelPre::new(instance).map_err(mismatch)?, mail, reply, chat }
            }
            PluginKind::Robot => {
                let instance = robot_linker.instantiate_pre(component).map_err(mismatch)?;
                let stage = match instance.component().get_export_index(None, STAGE_ROBOT_HANDLER) {
                    None => None,
                    Some(_) => Some(stage_robot_handler::GuestIndices::new(&instance).map_err(mismatch)?),
                };
                Pre::Robot { pre: robot::RobotPre::new(instance).map_err(mismatch)?, stage }
            }
        };
        Ok(Loaded { manifest, wit, sha256, pre })
    }
}
