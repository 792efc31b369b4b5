//! Teams: unique slugs and aliases, edits, stages.

use async_trait::async_trait;
use switchboard_core::{StageId, Team};
use switchboard_store::{Committed, Idempotency, StoreError, TeamEdit, TeamStore};

use crate::SledResult;
use crate::codec::decode;
use crate::keys;
use crate::store::SledStore;
use crate::trees::Tree;
use crate::tx::{OrAbort, Tx, TxResult, abort};
use crate::visibility::Trees;

/// What team writes touch.
const WRITE: Trees = Trees::of(&[Tree::Teams, Tree::Aliases]).and(crate::idempotency::KEPT);
/// What team reads look at.
const READ: Trees = Trees::of(&[Tree::Teams, Tree::Aliases]);

impl Tx<'_> {
    /// Refuses an alias another team holds.
    fn claim_alias(&self, alias: &str, slug: &str) -> TxResult<()> {
        if let Some(owner) = self.get_raw(Tree::Aliases, alias.as_bytes())? {
            return abort(StoreError::AliasTaken {
                alias: alias.to_owned(),
                team: String::from_utf8_lossy(&owner).into_owned(),
            });
        }
        self.put_raw(Tree::Aliases, alias.as_bytes(), slug.as_bytes())
    }
}

#[async_trait]
impl TeamStore for SledStore {
    async fn create_team(&self, team: Team, idem: Option<Idempotency<Team>>) -> Result<Committed<Team>, StoreError> {
        self.write(WRITE, move |tx| {
            tx.check_idempotency(idem.as_ref())?;
            if tx.get_raw(Tree::Teams, team.slug.as_bytes())?.is_some() {
                return abort(StoreError::SlugTaken(team.slug.clone()));
            }
            tx.claim_alias(&team.alias, &team.slug)?;
            tx.put(Tree::Teams, team.slug.as_bytes(), &team)?;
            tx.keep_idempotency(idem.as_ref(), &team)?;
            Ok(team.clone())
        })
        .await
    }

    async fn team(&self, slug: &str) -> Result<Team, StoreError> {
        let inner = &self.inner;
        let team = inner.teams.get_or_load(slug.as_bytes(), || inner.get(Tree::Teams, slug.as_bytes(), "team"));
        self.read(READ, team).await?.ok_or_else(|| StoreError::UnknownTeam(slug.to_owned()))
    }

    async fn teams(&self) -> Result<Vec<Team>, StoreError> {
        let teams = self.inner.tree(Tree::Teams).iter().values().map(|v| decode("team", &v.backend()?)).collect();
        self.read(READ, teams).await
    }

    async fn team_by_alias(&self, alias: &str) -> Result<Option<Team>, StoreError> {
        let team = match self.inner.tree(Tree::Aliases).get(alias.to_ascii_lowercase().as_bytes()).backend()? {
            Some(slug) => self.inner.get(Tree::Teams, &slug, "team"),
            None => Ok(None),
        };
        self.read(READ, team).await
    }

    async fn update_team(
        &self,
        slug: &str,
        edit: TeamEdit,
        idem: Option<Idempotency<Team>>,
    ) -> Result<Committed<Team>, StoreError> {
        let slug = slug.to_owned();
        self.write(WRITE, move |tx| {
            tx.check_idempotency(idem.as_ref())?;
            let old = tx.team(&slug)?;
            let mut team = old.clone();
            edit(&mut team).or_abort()?;
            team.slug = old.slug.clone();
            if team.alias != old.alias {
                tx.claim_alias(&team.alias, &team.slug)?;
                tx.remove(Tree::Aliases, old.alias.as_bytes())?;
            }
            tx.put(Tree::Teams, slug.as_bytes(), &team)?;
            tx.keep_idempotency(idem.as_ref(), &team)?;
            Ok(team)
        })
        .await
    }

    async fn remove_stage(&self, slug: &str, stage: StageId) -> Result<Committed<Team>, StoreError> {
        let slug = slug.to_owned();
        let trees = Trees::of(&[Tree::Teams, Tree::StageCounts]);
        self.write(trees, move |tx| {
            let mut team = tx.team(&slug)?;
            let key = keys::stage_count(&slug, stage);
            let count = tx.id_at(Tree::StageCounts, &key)?.unwrap_or(0);
            if count > 0 {
                return abort(StoreError::StageInUse { team: slug.clone(), stage, count });
            }
            team.remove_stage(stage).or_abort()?;
            tx.remove(Tree::StageCounts, &key)?;
            tx.put(Tree::Teams, slug.as_bytes(), &team)?;
            Ok(team)
        })
        .await
    }

    async fn stage_counts(&self, slug: &str) -> Result<Vec<(StageId, u64)>, StoreError> {
        let team = self.team(slug).await?;
        let counts = self.inner.tree(Tree::StageCounts);
        let counted = team
            .stages
            .iter()
            .map(|s| {
                let count = counts.get(keys::stage_count(slug, s.id)).backend()?;
                Ok((s.id, count.and_then(|v| keys::read_id(&v)).unwrap_or(0)))
            })
            .collect();
        self.read(Trees::of(&[Tree::StageCounts]), counted).await
    }
}
