//! `/api/teams`: create, list, show and edit teams.

use std::sync::Arc;

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::{Team, TeamDraft};
use utoipa::ToSchema;

use super::sla_policies::PolicyOut;
use super::wire::StageOut;
use switchboard_store::TeamEdit;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Admin;
use crate::idempotency::Idem;
use crate::json::Json;
use crate::state::AppState;

/// A team as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    /// Unique, URL-safe identifier.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// The local part of the team's e-mail alias.
    pub alias: String,
    /// The full alias address, with the server's mail domain.
    pub alias_address: String,
    /// Stages in board order.
    pub stages: Vec<StageOut>,
    /// SLA policies.
    pub sla_policies: Vec<PolicyOut>,
    /// When the team was created (RFC 3339).
    pub created_at: String,
}

impl TeamOut {
    /// The wire form of a team.
    pub fn new(team: &Team, mail_domain: &str) -> Self {
        TeamOut {
            slug: team.slug.clone(),
            name: team.name.clone(),
            alias: team.alias.clone(),
            alias_address: format!("{}@{mail_domain}", team.alias),
            stages: team.stages.iter().map(StageOut::from).collect(),
            sla_policies: team.sla_policies.iter().map(PolicyOut::from).collect(),
            created_at: team.created_at.to_string(),
        }
    }
}

/// A new team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// Display name, such as "Customer Care".
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: String,
    /// The slug; derived from the name when absent ("customer-care").
    pub slug: Option<String>,
    /// The alias local part, or a full address at the server's mail
    /// domain; the slug when absent.
    pub alias: Option<String>,
}

/// Changes to a team; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    /// A new display name. The slug does not change.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: Option<String>,
    /// A new alias local part, or a full address at the mail domain.
    pub alias: Option<String>,
}

/// Accepts `care` or `care@<mail domain>` and returns the local part.
fn alias_local_part(alias: &str, mail_domain: &str) -> ApiResult<String> {
    match alias.trim().rsplit_once('@') {
        None => Ok(alias.trim().to_owned()),
        Some((local, domain)) if domain.eq_ignore_ascii_case(mail_domain) => Ok(local.to_owned()),
        Some((_, domain)) => Err(ApiError::invalid(
            "alias",
            format!("domain \"{domain}\" is not this server's mail domain \"{mail_domain}\""),
        )),
    }
}

/// Creates a team with its alias and the default stages.
#[utoipa::path(post, path = "/teams", tag = "teams", request_body = NewTeam,
    responses((status = 201, body = TeamOut), (status = 409, description = "slug or alias taken", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    Admin(caller): Admin,
    idem: Idem,
    Json(body): Json<NewTeam>,
) -> ApiResult<(StatusCode, Json<TeamOut>)> {
    let alias = body.alias.as_deref().map(|a| alias_local_part(a, &state.mail_domain)).transpose()?;
    let draft = TeamDraft { name: body.name, slug: body.slug, alias };
    let team = Team::new(draft, state.clock.now())?;
    let domain = Arc::clone(&state.mail_domain);
    let idem = idem.keep(&caller, state.clock.now(), StatusCode::CREATED, move |t: &Team| TeamOut::new(t, &domain));
    let team = state.stores.teams.create_team(team, idem).await?.durable().await?;
    tracing::info!(team = %team.slug, "team created");
    Ok((StatusCode::CREATED, Json(TeamOut::new(&team, &state.mail_domain))))
}

/// Lists the teams the caller works in: every team, for an admin.
#[utoipa::path(get, path = "/teams", tag = "teams", responses((status = 200, body = Vec<TeamOut>)))]
pub async fn list_teams(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TeamOut>>> {
    let teams = state.stores.teams.teams().await?;
    let mine = teams.iter().filter(|t| caller.0.works_in(&t.slug));
    Ok(Json(mine.map(|t| TeamOut::new(t, &state.mail_domain)).collect()))
}

/// Shows one team.
#[utoipa::path(get, path = "/teams/{slug}", tag = "teams", params(("slug" = String, Path, description = "team slug")),
    responses((status = 200, body = TeamOut), (status = 404, body = ErrorBody)))]
pub async fn get_team(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<TeamOut>> {
    caller.require_team(&slug)?;
    let team = state.stores.teams.team(&slug).await?;
    Ok(Json(TeamOut::new(&team, &state.mail_domain)))
}

/// Renames a team or changes its alias.
#[utoipa::path(patch, path = "/teams/{slug}", tag = "teams", params(("slug" = String, Path, description = "team slug")),
    request_body = TeamPatch,
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 200, body = TeamOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn patch_team(
    State(state): State<AppState>,
    Admin(caller): Admin,
    idem: Idem,
    Path(slug): Path<String>,
    Json(body): Json<TeamPatch>,
) -> ApiResult<Json<TeamOut>> {
    let alias = body.alias.as_deref().map(|a| alias_local_part(a, &state.mail_domain)).transpose()?;
    let edit: TeamEdit = Arc::new(move |team| {
        if let Some(name) = &body.name {
            team.rename(name)?;
        }
        if let Some(alias) = &alias {
            team.set_alias(alias)?;
        }
        Ok(())
    });
    let domain = Arc::clone(&state.mail_domain);
    let idem = idem.keep(&caller, state.clock.now(), StatusCode::OK, move |t: &Team| TeamOut::new(t, &domain));
    let team = state.stores.teams.update_team(&slug, edit, idem).await?.durable().await?;
    Ok(Json(TeamOut::new(&team, &state.mail_domain)))
}
