//! The one error type of the store.

use switchboard_core::{CoreError, StageId, TicketId};

/// A store operation failed. Lookups and conflicts name the value at fault;
/// `Sled`, `Corrupt` and `Flush` are internal and should be logged, not shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A domain rule refused the change.
    #[error(transparent)]
    Rule(#[from] CoreError),
    /// No team has this slug.
    #[error("unknown team \"{0}\"")]
    UnknownTeam(String),
    /// No ticket has this id.
    #[error("unknown ticket {0}")]
    UnknownTicket(TicketId),
    /// No contact has this id.
    #[error("unknown contact {0}")]
    UnknownContact(u64),
    /// No plugin has this id.
    #[error("unknown plugin \"{0}\"")]
    UnknownPlugin(String),
    /// The plugin is not enabled for the team.
    #[error("plugin \"{plugin}\" is not enabled for team \"{team}\"")]
    NotEnabled {
        /// The team's slug.
        team: String,
        /// The plugin's id.
        plugin: String,
    },
    /// A plugin cannot be uninstalled while teams use it.
    #[error("plugin \"{plugin}\" is enabled for {teams} teams; disable it first")]
    PluginInUse {
        /// The plugin's id.
        plugin: String,
        /// How many teams have it enabled.
        teams: u32,
    },
    /// Another ticket of the team has this origin and external key.
    #[error("a ticket from \"{origin}\" with external key \"{key}\" exists")]
    ExternalKeyTaken {
        /// The ticket's origin.
        origin: String,
        /// The external key.
        key: String,
    },
    /// Another team already has this slug.
    #[error("team slug \"{0}\" is taken")]
    SlugTaken(String),
    /// Another team already has this alias.
    #[error("alias \"{alias}\" is taken by team \"{team}\"")]
    AliasTaken {
        /// The alias asked for.
        alias: String,
        /// The team that has it.
        team: String,
    },
    /// A stage cannot be removed while tickets are in it.
    #[error("stage {stage} of team \"{team}\" still holds {count} tickets")]
    StageInUse {
        /// The team's slug.
        team: String,
        /// The stage.
        stage: StageId,
        /// How many tickets are in it.
        count: u64,
    },
    /// The data directory was written by an incompatible version.
    #[error("data directory has schema version {found}; this build reads version {expected}")]
    SchemaMismatch {
        /// The version on disk.
        found: u32,
        /// The version this build reads and writes.
        expected: u32,
    },
    /// A stored record could not be decoded.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What was wrong with it.
        reason: String,
    },
    /// sled itself failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// Flushing to disk failed, so the write may not be durable.
    #[error("flush to disk failed: {0}")]
    Flush(String),
    /// The writer thread could not run a write (see [`crate::Writer`]).
    #[error("store writer: {0}")]
    Writer(String),
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(e: sled::transaction::TransactionError<StoreError>) -> Self {
        match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}
