//! Console sessions: one row per session, indexed by user.

use async_trait::async_trait;
use switchboard_core::{Session, Timestamp, UserId};
use switchboard_store::{Committed, SessionStore, StoreError};

use crate::convert::{db_id, json, record};
use crate::store::PgStore;
use crate::tx::{TxError, execute, into_store, row, rows, transact};

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, session: Session) -> Result<Committed<()>, StoreError> {
        let sql = "INSERT INTO sessions (id, user_id, data) VALUES ($1, $2, $3)";
        transact!(self, |tx| async {
            execute(&tx, sql, &[&session.id, &db_id(session.user)?, &json(&session)]).await?;
            Ok::<_, TxError>(())
        })
        .map(Committed::durable_now)
    }

    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found = row(&client, "SELECT data FROM sessions WHERE id = $1", &[&id]).await.map_err(into_store)?;
        found.map(|r| record("session", &r, "data")).transpose()
    }

    async fn sessions_of(&self, user: UserId, now: Timestamp) -> Result<Committed<Vec<Session>>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = "SELECT data FROM sessions WHERE user_id = $1";
        let found = rows(&client, sql, &[&db_id(user)?]).await.map_err(into_store)?;
        let all: Vec<Session> = found.iter().map(|r| record("session", r, "data")).collect::<Result<_, _>>()?;
        let (mut live, expired): (Vec<Session>, Vec<Session>) = all.into_iter().partition(|s| s.is_live(now));
        if !expired.is_empty() {
            let ids: Vec<String> = expired.into_iter().map(|s| s.id).collect();
            let sql = "DELETE FROM sessions WHERE id = ANY($1)";
            execute(&client, sql, &[&ids]).await.map_err(into_store)?;
        }
        live.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(Committed::durable_now(live))
    }

    async fn end_session(&self, user: UserId, id: &str) -> Result<Committed<bool>, StoreError> {
        let sql = "DELETE FROM sessions WHERE id = $1 AND user_id = $2";
        let ended =
            transact!(self, |tx| async { Ok::<_, TxError>(execute(&tx, sql, &[&id, &db_id(user)?]).await? > 0) });
        ended.map(Committed::durable_now)
    }
}
