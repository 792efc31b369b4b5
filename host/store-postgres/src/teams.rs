//! Teams: slugs and aliases kept unique by constraints, edits under a row
//! lock, stages.

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use switchboard_core::{StageId, Team};
use switchboard_store::{Committed, Idempotency, StoreError, TeamEdit, TeamStore};

use crate::convert::{column, json, record};
use crate::idempotency::{check_idempotency, keep_idempotency};
use crate::store::PgStore;
use crate::tx::{TxError, execute, into_store, row, rows, transact};

/// The team with this slug; with `lock` (`FOR UPDATE`), locked against
/// other writers.
pub(crate) async fn team_row<C: GenericClient>(db: &C, slug: &str, lock: &str) -> Result<Team, TxError> {
    let sql = format!("SELECT data FROM teams WHERE slug = $1 {lock}");
    match row(db, &sql, &[&slug]).await? {
        Some(found) => Ok(record("team", &found, "data")?),
        None => Err(StoreError::UnknownTeam(slug.to_owned()).into()),
    }
}

/// How a transaction holds a team's stages (see [`lock_stages`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StageLock {
    /// A ticket enters one of the stages: many may at once.
    Enter,
    /// A stage is removed: alone.
    Remove,
}

/// Locks a team's stages until the transaction ends, so that no ticket
/// enters a stage while it is removed. Take it before reading the team, so
/// that what is read is what the lock protects. It is an advisory lock,
/// not `FOR SHARE` on the team's row: many transactions sharing a row lock
/// make PostgreSQL write a multixact into the row for each of them, which
/// under load cost more than the rest of a ticket's write.
pub(crate) async fn lock_stages(tx: &Transaction<'_>, slug: &str, how: StageLock) -> Result<(), TxError> {
    let sql = match how {
        StageLock::Enter => "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))::text",
        StageLock::Remove => "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))::text",
    };
    row(tx, sql, &[&slug]).await?;
    Ok(())
}

/// The slug of the team that holds `alias`, if any.
async fn alias_owner(tx: &Transaction<'_>, alias: &str) -> Result<Option<String>, TxError> {
    let found = row(tx, "SELECT slug FROM teams WHERE alias = $1", &[&alias]).await?;
    Ok(found.map(|r| column(&r, 0)).transpose()?)
}

async fn create_attempt(tx: &Transaction<'_>, team: &Team, idem: Option<&Idempotency<Team>>) -> Result<Team, TxError> {
    check_idempotency(tx, idem).await?;
    let sql = "INSERT INTO teams (slug, alias, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    if execute(tx, sql, &[&team.slug, &team.alias, &json(team)]).await? == 0 {
        // The insert waited for the transaction that holds the slug or the
        // alias to commit, so the row that got in the way is visible now.
        if row(tx, "SELECT 1 FROM teams WHERE slug = $1", &[&team.slug]).await?.is_some() {
            return Err(StoreError::SlugTaken(team.slug.clone()).into());
        }
        if let Some(owner) = alias_owner(tx, &team.alias).await? {
            return Err(StoreError::AliasTaken { alias: team.alias.clone(), team: owner }.into());
        }
        return Err(TxError::Retry(format!("team \"{}\" met a row that is gone", team.slug)));
    }
    keep_idempotency(tx, idem, team).await?;
    Ok(team.clone())
}

async fn update_attempt(
    tx: &Transaction<'_>,
    slug: &str,
    edit: &TeamEdit,
    idem: Option<&Idempotency<Team>>,
) -> Result<Team, TxError> {
    check_idempotency(tx, idem).await?;
    let old = team_row(tx, slug, "FOR UPDATE").await?;
    let mut team = old.clone();
    edit(&mut team)?;
    team.slug = old.slug.clone();
    if team.alias != old.alias
        && let Some(owner) = alias_owner(tx, &team.alias).await?
    {
        return Err(StoreError::AliasTaken { alias: team.alias.clone(), team: owner }.into());
    }
    // The alias's unique constraint is what holds: a team that took it
    // since the check above makes this fail, and the next attempt names it.
    execute(tx, "UPDATE teams SET alias = $2, data = $3 WHERE slug = $1", &[&slug, &team.alias, &json(&team)]).await?;
    keep_idempotency(tx, idem, &team).await?;
    Ok(team)
}

async fn remove_stage_attempt(tx: &Transaction<'_>, slug: &str, stage: StageId) -> Result<Team, TxError> {
    // Ticket writes that put a ticket into a stage share this lock, so
    // none can enter this stage between the count and the write.
    lock_stages(tx, slug, StageLock::Remove).await?;
    let mut team = team_row(tx, slug, "FOR UPDATE").await?;
    let counted =
        row(tx, "SELECT count(*) FROM tickets WHERE team = $1 AND stage = $2", &[&slug, &i64::from(stage)]).await?;
    let count: i64 = counted.map(|r| column(&r, 0)).transpose()?.unwrap_or(0);
    if count > 0 {
        return Err(StoreError::StageInUse { team: slug.to_owned(), stage, count: count as u64 }.into());
    }
    team.remove_stage(stage)?;
    execute(tx, "UPDATE teams SET data = $2 WHERE slug = $1", &[&slug, &json(&team)]).await?;
    Ok(team)
}

#[async_trait]
impl TeamStore for PgStore {
    async fn create_team(&self, team: Team, idem: Option<Idempotency<Team>>) -> Result<Committed<Team>, StoreError> {
        transact!(self, |tx| create_attempt(&tx, &team, idem.as_ref())).map(Committed::durable_now)
    }

    async fn team(&self, slug: &str) -> Result<Team, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        team_row(&client, slug, "").await.map_err(into_store)
    }

    async fn teams(&self) -> Result<Vec<Team>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found =
            rows(&client, "SELECT data FROM teams ORDER BY slug COLLATE \"C\"", &[]).await.map_err(into_store)?;
        found.iter().map(|r| record("team", r, "data")).collect()
    }

    async fn team_by_alias(&self, alias: &str) -> Result<Option<Team>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let alias = alias.to_ascii_lowercase();
        let found = row(&client, "SELECT data FROM teams WHERE alias = $1", &[&alias]).await.map_err(into_store)?;
        found.map(|r| record("team", &r, "data")).transpose()
    }

    async fn update_team(
        &self,
        slug: &str,
        edit: TeamEdit,
        idem: Option<Idempotency<Team>>,
    ) -> Result<Committed<Team>, StoreError> {
        transact!(self, |tx| update_attempt(&tx, slug, &edit, idem.as_ref())).map(Committed::durable_now)
    }

    async fn remove_stage(&self, slug: &str, stage: StageId) -> Result<Committed<Team>, StoreError> {
        transact!(self, |tx| remove_stage_attempt(&tx, slug, stage)).map(Committed::durable_now)
    }

    async fn stage_counts(&self, slug: &str) -> Result<Vec<(StageId, u64)>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let team = team_row(&client, slug, "").await.map_err(into_store)?;
        let sql = "SELECT stage, count(*) FROM tickets WHERE team = $1 GROUP BY stage";
        let counted = rows(&client, sql, &[&slug]).await.map_err(into_store)?;
        let mut counts = std::collections::HashMap::new();
        for r in &counted {
            counts.insert(column::<_, i64>(r, 0)?, column::<_, i64>(r, 1)?);
        }
        Ok(team.stages.iter().map(|s| (s.id, counts.get(&i64::from(s.id)).map_or(0, |&c| c as u64))).collect())
    }
}
