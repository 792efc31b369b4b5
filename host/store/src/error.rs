//! The one error type of the store traits, the same for every backend.

use switchboard_core::{CoreError, StageId, TicketId};

use crate::StoredAnswer;

/// A store operation failed. Lookups and conflicts name the value at fault;
/// `Corrupt`, `Backend` and `Unavailable` are internal: log them, do not
/// show them to clients.
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
    /// No user has this id.
    #[error("unknown user {0}")]
    UnknownUser(u64),
    /// The ticket's thread has no entry with this id.
    #[error("ticket {ticket} has no message {message}")]
    UnknownMessage {
        /// The ticket.
        ticket: u64,
        /// The message asked for.
        message: u64,
    },
    /// The entry lists no kept file at this place: it has fewer files, or
    /// the channel dropped this one.
    #[error("message {message} of ticket {ticket} has no kept file {index}")]
    UnknownAttachment {
        /// The ticket.
        ticket: u64,
        /// The entry.
        message: u64,
        /// The file's place in the entry's list.
        index: usize,
    },
    /// No conversation has this id.
    #[error("unknown conversation {0}")]
    UnknownConversation(u64),
    /// A conversation has no message with this number.
    #[error("conversation {conversation} has no message {seq}")]
    UnknownChatMessage {
        /// The conversation.
        conversation: u64,
        /// The number asked for.
        seq: u64,
    },
    /// A conversation message lists no kept file at this place.
    #[error("message {seq} of conversation {conversation} has no kept file {index}")]
    UnknownChatAttachment {
        /// The conversation.
        conversation: u64,
        /// The message's number.
        seq: u64,
        /// The place asked for.
        index: usize,
    },
    /// Another conversation has this visitor token.
    #[error("the conversation token is taken")]
    TokenTaken,
    /// No job has this id.
    #[error("unknown job {0}")]
    UnknownJob(u64),
    /// A job that did not fail was asked to run again.
    #[error("job {0} has not failed; only a failed job can be run again")]
    JobNotFailed(u64),
    /// The worker does not hold the job's lease (it ran out, and another
    /// worker may have the job).
    #[error("job {job} is not leased to \"{holder}\" any more")]
    LeaseLost {
        /// The job.
        job: u64,
        /// The worker that thought it held it.
        holder: String,
    },
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
    #[error("ticket {ticket} from \"{origin}\" already has external key \"{key}\"")]
    ExternalKeyTaken {
        /// The ticket's origin.
        origin: String,
        /// The external key.
        key: String,
        /// The ticket that has it.
        ticket: TicketId,
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
    /// An installation's storage holds as many keys as it may.
    #[error("storage is full: it holds {limit} keys, the most it may")]
    StorageFull {
        /// The most keys an installation may hold.
        limit: u64,
    },
    /// An earlier request with this idempotency key made this write
    /// already; its answer is to be sent again.
    #[error("idempotency key \"{key}\" was used before; its answer is replayed")]
    Replayed {
        /// The key.
        key: String,
        /// The first request's answer.
        answer: StoredAnswer,
    },
    /// An earlier request used this idempotency key with another body.
    #[error("idempotency key \"{0}\" was used for a different request")]
    KeyReused(String),
    /// The data was written by a build with another layout.
    #[error("data has schema version {found}; this build reads version {expected}")]
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
    /// The backend failed in a way a retry may not fix, such as an I/O
    /// error; the text is for the log.
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// The store no longer accepts work: it is closing, or it stopped after
    /// a fault that could lose acknowledged writes (see
    /// [`crate::Health`]).
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether this is the caller's mistake or a conflict with what is
    /// stored, as opposed to a failure of the store itself.
    pub fn is_client_error(&self) -> bool {
        !matches!(
            self,
            StoreError::SchemaMismatch { .. }
                | StoreError::Corrupt { .. }
                | StoreError::Backend(_)
                | StoreError::Unavailable(_)
        )
    }
}
