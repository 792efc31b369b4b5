//! `/api/teams/{slug}/stages`: a team's pipeline.

use std::sync::Arc;

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::{StageId, Team};
use utoipa::ToSchema;

use super::wire::StageOut;
use switchboard_store::TeamEdit;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Admin;
use crate::idempotency::Idem;
use crate::json::Json;
use crate::state::AppState;

/// A stage with the number of tickets in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageWithCount {
    /// The stage.
    #[serde(flatten)]
    pub stage: StageOut,
    /// Tickets currently in it.
    pub tickets: u64,
}

/// A new stage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStage {
    /// Its name, unique within the team.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: String,
    /// Whether tickets in it count as finished.
    #[serde(default)]
    pub closing: bool,
    /// Where to insert it, counted from 0; last when absent.
    pub position: Option<usize>,
}

/// Changes to a stage.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StagePatch {
    /// A new name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: Option<String>,
    /// Whether tickets in it count as finished.
    pub closing: Option<bool>,
}

/// A new board order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageOrder {
    /// Every stage id of the team, once each, in the new order.
    pub order: Vec<StageId>,
}

async fn stages_with_counts(state: &AppState, slug: &str) -> ApiResult<Json<Vec<StageWithCount>>> {
    let team = state.stores.teams.team(slug).await?;
    let counts = state.stores.teams.stage_counts(slug).await?;
    Ok(Json(
        team.stages
            .iter()
            .map(|s| StageWithCount {
                stage: s.into(),
                tickets: counts.iter().find(|(id, _)| *id == s.id).map_or(0, |(_, n)| *n),
            })
            .collect(),
    ))
}

/// Lists a team's stages in board order, with ticket counts.
#[utoipa::path(get, path = "/teams/{slug}/stages", tag = "stages", params(("slug" = String, Path, description = "team slug")),
    responses((status = 200, body = Vec<StageWithCount>), (status = 404, body = ErrorBody)))]
pub async fn list_stages(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<StageWithCount>>> {
    caller.require_team(&slug)?;
    stages_with_counts(&state, &slug).await
}

/// Adds a stage.
#[utoipa::path(post, path = "/teams/{slug}/stages", tag = "stages", params(("slug" = String, Path, description = "team slug")),
    request_body = NewStage,
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 201, body = StageOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_stage(
    State(state): State<AppState>,
    Admin(caller): Admin,
    idem: Idem,
    Path(slug): Path<String>,
    Json(body): Json<NewStage>,
) -> ApiResult<(StatusCode, Json<StageOut>)> {
    let add: TeamEdit = Arc::new(move |team| team.add_stage(&body.name, body.closing, body.position).map(drop));
    // The edit ran on the stored team, so the new stage has the id handed
    // out last.
    let render = |team: &Team| team.stage(team.next_stage_id - 1).ok().map(StageOut::from);
    let idem = idem.keep(&caller, state.clock.now(), StatusCode::CREATED, render);
    let team = state.stores.teams.update_team(&slug, add, idem).await?.durable().await?;
    Ok((StatusCode::CREATED, Json(render(&team).ok_or_else(|| ApiError::internal(&"the new stage is missing"))?)))
}

/// Renames a stage or changes whether it closes tickets.
#[utoipa::path(patch, path = "/teams/{slug}/stages/{id}", tag = "stages",
    params(("slug" = String, Path, description = "team slug"), ("id" = u32, Path, description = "stage id")),
    request_body = StagePatch,
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 200, body = StageOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn patch_stage(
    State(state): State<AppState>,
    Admin(caller): Admin,
    idem: Idem,
    Path((slug, id)): Path<(String, StageId)>,
    Json(body): Json<StagePatch>,
) -> ApiResult<Json<StageOut>> {
    let edit: TeamEdit = Arc::new(move |team| team.edit_stage(id, body.name.as_deref(), body.closing));
    let render = move |team: &Team| team.stage(id).ok().map(StageOut::from);
    let idem = idem.keep(&caller, state.clock.now(), StatusCode::OK, render);
    let team = state.stores.teams.update_team(&slug, edit, idem).await?.durable().await?;
    Ok(Json(team.stage(id)?.into()))
}

/// Removes a stage that holds no tickets and no SLA policy targets.
#[utoipa::path(delete, path = "/teams/{slug}/stages/{id}", tag = "stages",
    params(("slug" = String, Path, description = "team slug"), ("id" = u32, Path, description = "stage id")),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_stage(
    State(state): State<AppState>,
    _admin: Admin,
    Path((slug, id)): Path<(String, StageId)>,
) -> ApiResult<StatusCode> {
    state.stores.teams.remove_stage(&slug, id).await?.durable().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Puts the stages in a new board order.
#[utoipa::path(put, path = "/teams/{slug}/stages/order", tag = "stages", params(("slug" = String, Path, description = "team slug")),
    request_body = StageOrder,
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 200, body = Vec<StageWithCount>), (status = 422, body = ErrorBody)))]
pub async fn reorder_stages(
    State(state): State<AppState>,
    _admin: Admin,
    Path(slug): Path<String>,
    Json(body): Json<StageOrder>,
) -> ApiResult<Json<Vec<StageWithCount>>> {
    state
        .stores
        .teams
        .update_team(&slug, Arc::new(move |team| team.reorder_stages(&body.order)), None)
        .await?
        .durable()
        .await?;
    stages_with_counts(&state, &slug).await
}
