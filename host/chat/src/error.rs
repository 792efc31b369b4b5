//! The hub's one error type.

use switchboard_store::StoreError;

/// A hub operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The store refused or failed the operation: an unknown conversation,
    /// a rule of who may speak, or a storage fault.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The hub could not subscribe to the bus when it started.
    #[error(transparent)]
    Bus(#[from] switchboard_bus::BusError),
}
