//! Operators' presence: one row per team, chat channel and user, written
//! with an upsert under the row's lock.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_core::{Presence, Timestamp, UserId};
use switchboard_store::{Committed, PresenceStore, StoreError};

use crate::convert::{db_id, json, record};
use crate::store::PgStore;
use crate::teams::team_row;
use crate::tx::{TxError, execute, into_store, row, rows, transact};

async fn beat(
    tx: &Transaction<'_>,
    team: &str,
    channel: &str,
    user: UserId,
    chat_name: &str,
    now: Timestamp,
) -> Result<Presence, TxError> {
    team_row(tx, team, "").await?;
    let sql = "SELECT data FROM operator_presence WHERE team = $1 AND channel = $2 AND user_id = $3 FOR UPDATE";
    let earlier = row(tx, sql, &[&team, &channel, &db_id(user)?]).await?;
    let earlier: Option<Presence> = earlier.map(|r| record("presence", &r, "data")).transpose()?;
    let presence = Presence::beat(earlier, team, channel, user, chat_name, now)?;
    // A first heartbeat met by a concurrent one fails its insert, and the
    // run again finds and locks that row.
    let sql = "INSERT INTO operator_presence (team, channel, user_id, data) VALUES ($1, $2, $3, $4)
               ON CONFLICT (team, channel, user_id) DO UPDATE SET data = EXCLUDED.data";
    execute(tx, sql, &[&team, &presence.channel, &db_id(user)?, &json(&presence)]).await?;
    Ok(presence)
}

#[async_trait]
impl PresenceStore for PgStore {
    async fn heartbeat(
        &self,
        team: &str,
        channel: &str,
        user: UserId,
        chat_name: &str,
        now: Timestamp,
    ) -> Result<Committed<Presence>, StoreError> {
        let channel = channel.trim();
        transact!(self, |tx| beat(&tx, team, channel, user, chat_name, now)).map(Committed::durable_now)
    }

    async fn leave_channel(&self, team: &str, channel: &str, user: UserId) -> Result<Committed<bool>, StoreError> {
        let channel = channel.trim();
        let sql = "DELETE FROM operator_presence WHERE team = $1 AND channel = $2 AND user_id = $3";
        let left = transact!(self, |tx| async {
            Ok::<_, TxError>(execute(&tx, sql, &[&team, &channel, &db_id(user)?]).await? > 0)
        });
        left.map(Committed::durable_now)
    }

    async fn online_operators(&self, team: &str, channel: &str, now: Timestamp) -> Result<Vec<Presence>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = "SELECT data FROM operator_presence WHERE team = $1 AND channel = $2";
        let found = rows(&client, sql, &[&team, &channel.trim()]).await.map_err(into_store)?;
        let all: Vec<Presence> = found.iter().map(|r| record("presence", r, "data")).collect::<Result<_, _>>()?;
        let mut online: Vec<Presence> = all.into_iter().filter(|p| p.is_online(now)).collect();
        online.sort_by_key(|p| (p.since, p.user));
        Ok(online)
    }
}
