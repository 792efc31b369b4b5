//! The one error type of the runtime.

/// Why loading a component or running a call failed. The messages name the
/// plugin and the cause, so that they can be shown to admins as they are.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine could not be set up.
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
    /// The bytes are not a valid component.
    #[error("plugin \"{plugin}\" is not a valid component: {reason}")]
    InvalidComponent {
        /// The plugin's id.
        plugin: String,
        /// What the compiler said.
        reason: String,
    },
    /// The component does not implement the world its manifest declares.
    #[error("plugin \"{plugin}\" does not implement the {world} world: {missing}")]
    WorldMismatch {
        /// The plugin's id.
        plugin: String,
        /// `channel` or `robot`.
        world: &'static str,
        /// What is missing, from the linker.
        missing: String,
    },
    /// The manifest names a WIT version this host does not link.
    #[error("plugin \"{plugin}\" was built against WIT {wit}; this host links {supported}")]
    UnsupportedWit {
        /// The plugin's id.
        plugin: String,
        /// The version it names.
        wit: String,
        /// The versions this host links.
        supported: String,
    },
    /// The manifest's WIT version is not the one the component was built
    /// against (the version in the names it imports and exports).
    #[error("plugin \"{plugin}\" says it was built against WIT {manifest}, but its component uses WIT {component}")]
    WitMismatch {
        /// The plugin's id.
        plugin: String,
        /// The version the manifest names.
        manifest: String,
        /// The versions the component's imports and exports name.
        component: String,
    },
    /// The plugin does not receive e-mail (it is not of the
    /// `mail-channel` world).
    #[error("plugin \"{0}\" does not receive e-mail: its component does not export mail-handler")]
    NoMailHandler(String),
    /// The plugin does not deliver agents' replies.
    #[error("plugin \"{0}\" does not deliver replies: its component does not export reply-handler")]
    NoReplyHandler(String),
    /// The robot does not run on stages (it was built before WIT 0.1.9,
    /// or for the plain `robot` world).
    #[error("plugin \"{0}\" does not run on stages: its component does not export stage-robot-handler")]
    NotStageRobot(String),
    /// The plugin does not run conversations.
    #[error("plugin \"{0}\" does not run conversations: its component does not export chat-handler")]
    NoChatHandler(String),
    /// No component is loaded under this id.
    #[error("plugin \"{0}\" is not loaded")]
    NotLoaded(String),
    /// The plugin is of the other kind.
    #[error("plugin \"{plugin}\" is a {kind}, not a {wanted}")]
    WrongKind {
        /// The plugin's id.
        plugin: String,
        /// What it is.
        kind: &'static str,
        /// What the call needs.
        wanted: &'static str,
    },
    /// The call used up its CPU budget.
    #[error("plugin \"{plugin}\" exceeded its CPU budget of {budget_ms} ms")]
    CpuBudget {
        /// The plugin's id.
        plugin: String,
        /// The budget.
        budget_ms: u32,
    },
    /// The call tried to grow memory past its cap.
    #[error("plugin \"{plugin}\" exceeded its memory limit of {limit_mib} MiB")]
    Memory {
        /// The plugin's id.
        plugin: String,
        /// The cap.
        limit_mib: u32,
    },
    /// Every instance the runtime may have live was in use for as long as
    /// the call may wait for one: the call never started.
    #[error("plugin \"{plugin}\" was not started: all {instances} plugin instances were busy for {waited_ms} ms")]
    Busy {
        /// The plugin's id.
        plugin: String,
        /// How many instances may be live at once.
        instances: u32,
        /// How long the call waited.
        waited_ms: u64,
    },
    /// The call did not finish in time (it waited too long on host calls).
    #[error("plugin \"{plugin}\" did not answer within {seconds} s")]
    Timeout {
        /// The plugin's id.
        plugin: String,
        /// The wall-clock limit.
        seconds: u64,
    },
    /// The guest trapped.
    #[error("plugin \"{plugin}\" crashed: {reason}")]
    Trap {
        /// The plugin's id.
        plugin: String,
        /// The trap, as wasmtime describes it.
        reason: String,
    },
    /// The plugin's answer was too large.
    #[error("plugin \"{plugin}\" answered with {size} bytes; the limit is {limit}")]
    ResponseTooLarge {
        /// The plugin's id.
        plugin: String,
        /// The size of the answer.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The plugin answered with its own typed error.
    #[error("plugin \"{plugin}\" returned an error: {failure}")]
    Plugin {
        /// The plugin's id.
        plugin: String,
        /// The error it returned.
        failure: crate::PluginFailure,
    },
    /// What a plugin wrote could not be made durable, so its answer was
    /// not passed on.
    #[error("the writes of plugin \"{plugin}\" could not be made durable: {reason}")]
    Durability {
        /// The plugin's id.
        plugin: String,
        /// The store's message.
        reason: String,
    },
    /// The precompiled-component cache could not be used.
    #[error("plugin cache \"{path}\": {reason}")]
    Cache {
        /// The file or directory.
        path: String,
        /// What went wrong.
        reason: String,
    },
}
