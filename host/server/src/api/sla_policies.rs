//! `/api/teams/{slug}/sla-policies`: a team's SLA promises.

use std::sync::Arc;

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::{SlaPolicy, SlaPolicyDraft, Team};
use utoipa::ToSchema;

use super::wire::{PriorityIn, StageRef};
use switchboard_store::TeamEdit;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Admin;
use crate::idempotency::Idem;
use crate::json::Json;
use crate::state::AppState;

/// An SLA policy as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyOut {
    /// The policy's id within its team.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// The lowest priority it applies to, 0-3.
    pub min_priority: u8,
    /// The stage tickets must reach.
    pub target_stage: u32,
    /// Hours from creation to the deadline.
    pub hours: f64,
}

impl From<&SlaPolicy> for PolicyOut {
    fn from(p: &SlaPolicy) -> Self {
        PolicyOut {
            id: p.id,
            name: p.name.clone(),
            min_priority: p.min_priority.stars(),
            target_stage: p.target_stage,
            hours: p.hours,
        }
    }
}

/// An SLA policy to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyIn {
    /// Its name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: String,
    /// The lowest priority it applies to; low when absent.
    pub min_priority: Option<PriorityIn>,
    /// The stage tickets must reach, by id or name.
    pub target_stage: StageRef,
    /// Hours from creation to the deadline, from one minute to one year;
    /// fractions are allowed.
    #[schema(minimum = 0.016666666666666666, maximum = 8784.0)]
    pub hours: f64,
}

impl PolicyIn {
    fn draft(&self, team: &Team) -> ApiResult<SlaPolicyDraft> {
        Ok(SlaPolicyDraft {
            name: self.name.clone(),
            min_priority: self
                .min_priority
                .as_ref()
                .map(|p| p.resolve("min_priority"))
                .transpose()?
                .unwrap_or_default(),
            target_stage: self.target_stage.resolve(team, "target_stage")?,
            hours: self.hours,
        })
    }
}

/// Lists a team's SLA policies.
#[utoipa::path(get, path = "/teams/{slug}/sla-policies", tag = "sla", params(("slug" = String, Path, description = "team slug")),
    responses((status = 200, body = Vec<PolicyOut>), (status = 404, body = ErrorBody)))]
pub async fn list_policies(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<PolicyOut>>> {
    caller.require_team(&slug)?;
    let team = state.stores.teams.team(&slug).await?;
    Ok(Json(team.sla_policies.iter().map(PolicyOut::from).collect()))
}

/// Adds an SLA policy. It applies to tickets created or re-prioritized
/// from now on.
#[utoipa::path(post, path = "/teams/{slug}/sla-policies", tag = "sla", params(("slug" = String, Path, description = "team slug")),
    request_body = PolicyIn,
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 201, body = PolicyOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_policy(
    State(state): State<AppState>,
    Admin(caller): Admin,
    idem: Idem,
    Path(slug): Path<String>,
    Json(body): Json<PolicyIn>,
) -> ApiResult<(StatusCode, Json<PolicyOut>)> {
    let draft = body.draft(&state.stores.teams.team(&slug).await?)?;
    let add: TeamEdit = Arc::new(move |team| team.add_policy(draft.clone()).map(drop));
    // The edit ran on the stored team, so the new policy has the id handed
    // out last.
    let render = |team: &Team| team.policy(team.next_policy_id - 1).ok().map(PolicyOut::from);
    let idem = idem.keep(&caller, state.clock.now(), StatusCode::CREATED, render);
    let team = state.stores.teams.update_team(&slug, add, idem).await?.durable().await?;
    Ok((StatusCode::CREATED, Json(render(&team).ok_or_else(|| ApiError::internal(&"the new policy is missing"))?)))
}

/// Replaces an SLA policy's settings.
#[utoipa::path(put, path = "/teams/{slug}/sla-policies/{id}", tag = "sla",
    params(("slug" = String, Path, description = "team slug"), ("id" = u32, Path, description = "policy id")),
    request_body = PolicyIn,
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 200, body = PolicyOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_policy(
    State(state): State<AppState>,
    _admin: Admin,
    Path((slug, id)): Path<(String, u32)>,
    Json(body): Json<PolicyIn>,
) -> ApiResult<Json<PolicyOut>> {
    let draft = body.draft(&state.stores.teams.team(&slug).await?)?;
    let team = state
        .stores
        .teams
        .update_team(&slug, Arc::new(move |team| team.edit_policy(id, draft.clone())), None)
        .await?
        .durable()
        .await?;
    Ok(Json(team.policy(id)?.into()))
}

/// Removes an SLA policy.
#[utoipa::path(delete, path = "/teams/{slug}/sla-policies/{id}", tag = "sla",
    params(("slug" = String, Path, description = "team slug"), ("id" = u32, Path, description = "policy id")),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_policy(
    State(state): State<AppState>,
    _admin: Admin,
    Path((slug, id)): Path<(String, u32)>,
) -> ApiResult<StatusCode> {
    state
        .stores
        .teams
        .update_team(&slug, Arc::new(move |team| team.remove_policy(id).map(drop)), None)
        .await?
        .durable()
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
