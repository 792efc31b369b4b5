//! Loaded plugins: a compiled component, checked against its world, ready
//! to instantiate.

use switchboard_core::{Manifest, PluginKind};
use wasmtime::component::{Component, Linker};

use crate::RuntimeError;
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

/// A component linked against its world, ready for a fresh instance per
/// event.
pub(crate) enum Pre {
    Channel(channel::ChannelPre<HostState>),
    Robot(robot::RobotPre<HostState>),
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
                Pre::Channel(channel::ChannelPre::new(instance).map_err(mismatch)?)
            }
            PluginKind::Robot => {
                let instance = robot_linker.instantiate_pre(component).map_err(mismatch)?;
                Pre::Robot(robot::RobotPre::new(instance).map_err(mismatch)?)
            }
        };
        Ok(Loaded { manifest, wit, sha256, pre })
    }
}
