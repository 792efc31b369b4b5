//! Users, found by id and by the hash of their token.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_core::{Role, Timestamp, User, UserId};
use switchboard_store::{Committed, StoreError, UserEdit, UserStore};

use crate::convert::{db_id, json, record};
use crate::store::PgStore;
use crate::tx::{TxError, execute, into_store, next_id, row, rows, transact};

async fn create_attempt(
    tx: &Transaction<'_>,
    name: &str,
    role: Role,
    teams: &[String],
    token_hash: &str,
    now: Timestamp,
) -> Result<User, TxError> {
    let user = User::new(next_id(tx, "user_ids").await?, name, role, teams.to_vec(), token_hash.to_owned(), now)?;
    let sql = "INSERT INTO users (id, token_hash, data) VALUES ($1, $2, $3)";
    execute(tx, sql, &[&db_id(user.id)?, &user.token_hash, &json(&user)]).await?;
    Ok(user)
}

async fn update_attempt(tx: &Transaction<'_>, id: UserId, edit: &UserEdit) -> Result<User, TxError> {
    let found = row(tx, "SELECT data FROM users WHERE id = $1 FOR UPDATE", &[&db_id(id)?]).await?;
    let mut user: User = found.map(|r| record("user", &r, "data")).transpose()?.ok_or(StoreError::UnknownUser(id))?;
    if let Some(teams) = &edit.teams {
        user.set_teams(teams.clone())?;
    }
    if let Some(hash) = &edit.token_hash {
        user.token_hash = hash.clone();
    }
    let sql = "UPDATE users SET token_hash = $2, data = $3 WHERE id = $1";
    execute(tx, sql, &[&db_id(id)?, &user.token_hash, &json(&user)]).await?;
    Ok(user)
}

#[async_trait]
impl UserStore for PgStore {
    async fn create_user(
        &self,
        name: &str,
        role: Role,
        teams: Vec<String>,
        token_hash: String,
        now: Timestamp,
    ) -> Result<Committed<User>, StoreError> {
        transact!(self, |tx| create_attempt(&tx, name, role, &teams, &token_hash, now)).map(Committed::durable_now)
    }

    async fn user_by_token(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found =
            row(&client, "SELECT data FROM users WHERE token_hash = $1", &[&token_hash]).await.map_err(into_store)?;
        found.map(|r| record("user", &r, "data")).transpose()
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found = row(&client, "SELECT data FROM users WHERE id = $1", &[&db_id(id)?]).await.map_err(into_store)?;
        found.map(|r| record("user", &r, "data")).transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found = rows(&client, "SELECT data FROM users ORDER BY id", &[]).await.map_err(into_store)?;
        found.iter().map(|r| record("user", r, "data")).collect()
    }

    async fn update_user(&self, id: UserId, edit: UserEdit) -> Result<Committed<User>, StoreError> {
        transact!(self, |tx| update_attempt(&tx, id, &edit)).map(Committed::durable_now)
    }
}
