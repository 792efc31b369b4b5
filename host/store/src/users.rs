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
}
