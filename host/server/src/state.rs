//! What every request handler shares.

use std::sync::Arc;

use switchboard_store::Store;

use crate::clock::Clock;

/// Shared, cheaply cloned server state.
#[derive(Clone)]
pub struct AppState {
    /// Where everything is kept.
    pub store: Arc<dyn Store>,
    /// Where the time comes from.
    pub clock: Arc<dyn Clock>,
    /// The e-mail alias domain.
    pub mail_domain: Arc<str>,
}
