//! Console sessions, found by the hash of their secret.

use async_trait::async_trait;
use switchboard_core::{Session, Timestamp, UserId};

use crate::{Committed, StoreError};

/// Signed-in browsers. Kept in the store, not one server's memory, so that
/// every server sharing a database knows every session, and a session
/// ended on one ends on all.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Keeps a new session.
    async fn create_session(&self, session: Session) -> Result<Committed<()>, StoreError>;

    /// The session with this id (the hash of its secret), live or not:
    /// the caller checks [`Session::is_live`].
    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError>;

    /// A user's sessions that are live at `now`, oldest first. Expired
    /// ones met on the way are deleted, so that they do not pile up.
    async fn sessions_of(&self, user: UserId, now: Timestamp) -> Result<Committed<Vec<Session>>, StoreError>;

    /// Ends a session of `user`; says whether there was one. Another
    /// user's session is left alone, as a missing one is.
    async fn end_session(&self, user: UserId, id: &str) -> Result<Committed<bool>, StoreError>;
}
