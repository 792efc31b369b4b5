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

/// The most teams a user is listed in.
pub const MAX_TEAMS: usize = 100;

/// An admin or agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The user's name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// The slugs of the teams an agent works in: whose chats they may see
    /// and take. Admins work in every team.
    #[serde(default)]
    pub teams: Vec<String>,
    /// A hash of the user's bearer token; the token itself is never stored.
    pub token_hash: String,
    /// When the user was created.
    pub created_at: Timestamp,
}

impl User {
    /// Makes a user, checking the name.
    pub fn new(
        id: UserId,
        name: &str,
        role: Role,
        teams: Vec<String>,
        token_hash: String,
        now: Timestamp,
    ) -> Result<User, CoreError> {
        let mut user =
            User { id, name: clean_name("name", name)?, role, teams: Vec::new(), token_hash, created_at: now };
        user.set_teams(teams)?;
        Ok(user)
    }

    /// Sets the teams an agent works in, with the rules of [`User::new`].
    pub fn set_teams(&mut self, teams: Vec<String>) -> Result<(), CoreError> {
        let mut teams = teams;
        teams.sort();
        teams.dedup();
        if teams.len() > MAX_TEAMS {
            return Err(CoreError::invalid("teams", format!("at most {MAX_TEAMS}")));
        }
        self.teams = teams;
        Ok(())
    }

    /// Whether the user works in the team `slug`: an admin, or an agent
    /// the team is listed for.
    pub fn works_in(&self, slug: &str) -> bool {
        self.is_admin() || self.teams.iter().any(|t| t == slug)
    }

    /// Whether the user may use admin routes.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
