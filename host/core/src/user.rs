//! Users: the admins and agents who hold API tokens.

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::Timestamp;
use crate::text::clean_name;

/// A user's id.
pub type UserId = u64;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages teams, users, stages, SLA policies and plugins.
    Admin,
    /// Works tickets.
    Agent,
}

/// An admin or agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The user's name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// A hash of the user's bearer token; the token itself is never stored.
    pub token_hash: String,
    /// When the user was created.
    pub created_at: Timestamp,
}

impl User {
    /// Makes a user, checking the name.
    pub fn new(id: UserId, name: &str, role: Role, token_hash: String, now: Timestamp) -> Result<User, CoreError> {
        Ok(User { id, name: clean_name("name", name)?, role, token_hash, created_at: now })
    }

    /// Whether the user may use admin routes.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
