//! The bus's one error type.

/// A bus operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A subject or pattern is not well formed.
    #[error("invalid subject \"{subject}\": {reason}")]
    InvalidSubject {
        /// The subject or pattern given.
        subject: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The NATS server could not be reached or refused the operation; the
    /// text is for the log.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}
