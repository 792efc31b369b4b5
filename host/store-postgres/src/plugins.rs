//! Installed plugins, their components, and their installations per team.
//! A plugin's record counts the teams that enabled it, changed under the
//! plugin's row lock by every enable and disable.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_core::{Installation, PluginRecord};
use switchboard_store::{Committed, PluginStore, StoreError};

use crate::convert::{json, record};
use crate::store::PgStore;
use crate::teams::team_row;
use crate::tx::{TxError, execute, into_store, row, rows, transact};

/// The plugin with this id, locked against other writers.
async fn locked_plugin(tx: &Transaction<'_>, id: &str) -> Result<Option<PluginRecord>, TxError> {
    let found = row(tx, "SELECT data FROM plugins WHERE id = $1 FOR UPDATE", &[&id]).await?;
    Ok(found.map(|r| record("plugin", &r, "data")).transpose()?)
}

async fn put_plugin_attempt(tx: &Transaction<'_>, record: &PluginRecord, code: &[u8]) -> Result<PluginRecord, TxError> {
    let id = record.manifest.id.as_str();
    let mut record = record.clone();
    if let Some(old) = locked_plugin(tx, id).await? {
        record.installed_at = old.installed_at;
        record.enabled_in = old.enabled_in;
        execute(tx, "UPDATE plugins SET data = $2, code = $3 WHERE id = $1", &[&id, &json(&record), &code]).await?;
        return Ok(record);
    }
    let sql = "INSERT INTO plugins (id, data, code) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    if execute(tx, sql, &[&id, &json(&record), &code]).await? == 0 {
        return Err(TxError::Retry(format!("plugin \"{id}\" was installed meanwhile")));
    }
    Ok(record)
}

async fn remove_plugin_attempt(tx: &Transaction<'_>, id: &str) -> Result<(), TxError> {
    let Some(record) = locked_plugin(tx, id).await? else {
        return Err(StoreError::UnknownPlugin(id.to_owned()).into());
    };
    if record.enabled_in > 0 {
        return Err(StoreError::PluginInUse { plugin: id.to_owned(), teams: record.enabled_in }.into());
    }
    execute(tx, "DELETE FROM plugins WHERE id = $1", &[&id]).await?;
    Ok(())
}

async fn put_installation_attempt(tx: &Transaction<'_>, installation: &Installation) -> Result<Installation, TxError> {
    team_row(tx, &installation.team, "").await?;
    let Some(mut plugin) = locked_plugin(tx, &installation.plugin).await? else {
        return Err(StoreError::UnknownPlugin(installation.plugin.clone()).into());
    };
    installation.check(&plugin.manifest)?;
    let mut installation = installation.clone();
    let keys: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&installation.team, &installation.plugin];
    let sql = "SELECT data FROM installations WHERE team = $1 AND plugin = $2 FOR UPDATE";
    match row(tx, sql, &keys).await? {
        Some(found) => {
            let old: Installation = record("installation", &found, "data")?;
            installation.enabled_at = old.enabled_at;
            let sql = "UPDATE installations SET data = $3 WHERE team = $1 AND plugin = $2";
            execute(tx, sql, &[&installation.team, &installation.plugin, &json(&installation)]).await?;
        }
        None => {
            // The plugin's row lock is held, so no other enable of it runs.
            let sql = "INSERT INTO installations (team, plugin, data) VALUES ($1, $2, $3)";
            execute(tx, sql, &[&installation.team, &installation.plugin, &json(&installation)]).await?;
            plugin.enabled_in += 1;
            execute(tx, "UPDATE plugins SET data = $2 WHERE id = $1", &[&plugin.manifest.id, &json(&plugin)]).await?;
        }
    }
    Ok(installation)
}

async fn remove_installation_attempt(tx: &Transaction<'_>, slug: &str, plugin: &str) -> Result<(), TxError> {
    let record = locked_plugin(tx, plugin).await?;
    let removed = execute(tx, "DELETE FROM installations WHERE team = $1 AND plugin = $2", &[&slug, &plugin]).await?;
    if removed == 0 {
        return Err(StoreError::NotEnabled { team: slug.to_owned(), plugin: plugin.to_owned() }.into());
    }
    if let Some(mut record) = record {
        record.enabled_in = record.enabled_in.saturating_sub(1);
        execute(tx, "UPDATE plugins SET data = $2 WHERE id = $1", &[&plugin, &json(&record)]).await?;
    }
    Ok(())
}

#[async_trait]
impl PluginStore for PgStore {
    async fn put_plugin(&self, record: PluginRecord, code: Vec<u8>) -> Result<Committed<PluginRecord>, StoreError> {
        transact!(self, |tx| put_plugin_attempt(&tx, &record, &code)).map(Committed::durable_now)
    }

    async fn plugin(&self, id: &str) -> Result<PluginRecord, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found = row(&client, "SELECT data FROM plugins WHERE id = $1", &[&id]).await.map_err(into_store)?;
        found.map(|r| record("plugin", &r, "data")).transpose()?.ok_or_else(|| StoreError::UnknownPlugin(id.to_owned()))
    }

    async fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found =
            rows(&client, "SELECT data FROM plugins ORDER BY id COLLATE \"C\"", &[]).await.map_err(into_store)?;
        found.iter().map(|r| record("plugin", r, "data")).collect()
    }

    async fn plugin_code(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found = row(&client, "SELECT code FROM plugins WHERE id = $1", &[&id]).await.map_err(into_store)?;
        match found {
            Some(r) => crate::convert::column(&r, 0),
            None => Err(StoreError::UnknownPlugin(id.to_owned())),
        }
    }

    async fn remove_plugin(&self, id: &str) -> Result<Committed<()>, StoreError> {
        transact!(self, |tx| remove_plugin_attempt(&tx, id)).map(Committed::durable_now)
    }

    async fn put_installation(&self, installation: Installation) -> Result<Committed<Installation>, StoreError> {
        transact!(self, |tx| put_installation_attempt(&tx, &installation)).map(Committed::durable_now)
    }

    async fn installation(&self, slug: &str, plugin: &str) -> Result<Installation, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = "SELECT data FROM installations WHERE team = $1 AND plugin = $2";
        let found = row(&client, sql, &[&slug, &plugin]).await.map_err(into_store)?;
        found
            .map(|r| record("installation", &r, "data"))
            .transpose()?
            .ok_or_else(|| StoreError::NotEnabled { team: slug.to_owned(), plugin: plugin.to_owned() })
    }

    async fn installations(&self, slug: &str) -> Result<Vec<Installation>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = "SELECT data FROM installations WHERE team = $1 ORDER BY plugin COLLATE \"C\"";
        let found = rows(&client, sql, &[&slug]).await.map_err(into_store)?;
        found.iter().map(|r| record("installation", r, "data")).collect()
    }

    async fn remove_installation(&self, slug: &str, plugin: &str) -> Result<Committed<()>, StoreError> {
        transact!(self, |tx| remove_installation_attempt(&tx, slug, plugin)).map(Committed::durable_now)
    }
}
