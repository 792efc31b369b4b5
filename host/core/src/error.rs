//! The one error type of the domain rules.

use crate::StageId;

/// A domain rule was broken. Each variant names the field or value at fault
/// so that an API can tell the user exactly what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// A field's value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field at fault, as the API names it.
        field: &'static str,
        /// Why the value was refused, quoting it.
        reason: String,
    },
    /// The team has no stage with this id.
    #[error("unknown stage {0}")]
    UnknownStage(StageId),
    /// The team has no SLA policy with this id.
    #[error("unknown sla policy {0}")]
    UnknownPolicy(u32),
    /// Something conflicts with existing state.
    #[error("{0}")]
    Conflict(String),
}

impl CoreError {
    /// Shorthand for [`CoreError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        CoreError::Invalid { field, reason: reason.into() }
    }
}
