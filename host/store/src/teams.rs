//! Teams: their slugs, aliases, stages and SLA policies.

use async_trait::async_trait;
use switchboard_core::{StageId, Team};

use crate::{Committed, Idempotency, StoreError, TeamEdit};

/// Teams. A team's slug and its e-mail alias are each unique.
#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Creates a team; its slug and alias must be free.
    async fn create_team(&self, team: Team, idem: Option<Idempotency<Team>>) -> Result<Committed<Team>, StoreError>;

    /// The team with this slug.
    async fn team(&self, slug: &str) -> Result<Team, StoreError>;

    /// Every team, by slug.
    async fn teams(&self) -> Result<Vec<Team>, StoreError>;

    /// The team whose alias is this local part (in any case), if any.
    async fn team_by_alias(&self, alias: &str) -> Result<Option<Team>, StoreError>;

    /// Applies `edit` to a team in one write. The slug cannot change; a
    /// changed alias must be free.
    async fn update_team(
        &self,
        slug: &str,
        edit: TeamEdit,
        idem: Option<Idempotency<Team>>,
    ) -> Result<Committed<Team>, StoreError>;

    /// Removes a stage that holds no tickets.
    async fn remove_stage(&self, slug: &str, stage: StageId) -> Result<Committed<Team>, StoreError>;

    /// How many tickets are in each of a team's stages, in stage order.
    async fn stage_counts(&self, slug: &str) -> Result<Vec<(StageId, u64)>, StoreError>;
}
