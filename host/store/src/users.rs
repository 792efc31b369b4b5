//! Users: admins and agents, found by the hash of their token.

use async_trait::async_trait;
use switchboard_core::{Role, Timestamp, User, UserId};

use crate::{Committed, StoreError};

/// Users. A token hash belongs to one user.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user holding a token with this hash.
    async fn create_user(
        &self,
        name: &str,
        role: Role,
        teams: Vec<String>,
        token_hash: String,
        now: Timestamp,
    ) -> Result<Committed<User>, StoreError>;

    /// The user holding the token with this hash.
    async fn user_by_token(&self, token_hash: &str) -> Result<Option<User>, StoreError>;

    /// The user with this id.
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// Every user, by id.
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Changes a user in one write: the teams they work in, and a new
    /// token (by its hash) in place of the old, which stops working.
    /// [`StoreError::UnknownUser`] if there is no such user.
    async fn update_user(&self, id: UserId, edit: UserEdit) -> Result<Committed<User>, StoreError>;
}

/// What [`UserStore::update_user`] changes; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserEdit {
    /// The teams an agent works in.
    pub teams: Option<Vec<String>>,
    /// The hash of the user's new token.
    pub token_hash: Option<String>,
}
