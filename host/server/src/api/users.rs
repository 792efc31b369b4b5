//! `/api/users`: admins and agents, and their tokens.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::{Role, User};
use switchboard_store::{StoreError, UserEdit};
use utoipa::ToSchema;

use crate::auth::{generate_token, hash_token};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Admin, Path};
use crate::json::Json;
use crate::state::AppState;

/// A user's role.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleWire {
    /// Manages teams, users, stages, SLA policies and plugins.
    Admin,
    /// Works tickets.
    Agent,
}

impl From<RoleWire> for Role {
    fn from(r: RoleWire) -> Self {
        match r {
            RoleWire::Admin => Role::Admin,
            RoleWire::Agent => Role::Agent,
        }
    }
}

impl From<Role> for RoleWire {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => RoleWire::Admin,
            Role::Agent => RoleWire::Agent,
        }
    }
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The user's name.
    pub name: String,
    /// `admin` or `agent`.
    pub role: RoleWire,
    /// The slugs of the teams an agent works in (whose live chats they see
    /// and take); admins work in every team.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub teams: Vec<String>,
}

/// A user as the API lists it. Tokens are never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// The user's id.
    pub id: u64,
    /// The user's name.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub name: String,
    /// `admin` or `agent`.
    pub role: RoleWire,
    /// The teams an agent works in.
    pub teams: Vec<String>,
    /// When the user was created (RFC 3339).
    pub created_at: String,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        UserOut {
            id: u.id,
            name: u.name.clone(),
            role: u.role.into(),
            teams: u.teams.clone(),
            created_at: u.created_at.to_string(),
        }
    }
}

/// A newly created user with the token, shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserCreated {
    /// The user.
    #[serde(flatten)]
    pub user: UserOut,
    /// The bearer token. Store it now: only its hash is kept.
    pub token: String,
}

/// Creates an admin or agent and returns their token once.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserCreated), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Json(body): Json<NewUser>,
) -> ApiResult<(StatusCode, Json<UserCreated>)> {
    check_teams(&state, &body.teams).await?;
    let token = generate_token().map_err(|e| ApiError::internal(&e))?;
    let user = state
        .stores
        .users
        .create_user(&body.name, body.role.into(), body.teams, hash_token(&token), state.clock.now())
        .await?
        .durable()
        .await?;
    tracing::info!(user = user.id, by = caller.0.id, "user created");
    Ok((StatusCode::CREATED, Json(UserCreated { user: (&user).into(), token })))
}

/// Refuses a team list that is too long or names a team that does not
/// exist, naming the place of the first unknown one.
async fn check_teams(state: &AppState, teams: &[String]) -> ApiResult<()> {
    if teams.len() > switchboard_core::MAX_TEAMS {
        return Err(ApiError::invalid("teams", format!("at most {} teams", switchboard_core::MAX_TEAMS)));
    }
    for (i, slug) in teams.iter().enumerate() {
        match state.stores.teams.team(slug).await {
            Ok(_) => {}
            Err(StoreError::UnknownTeam(_)) => {
                return Err(ApiError::invalid(&format!("teams[{i}]"), format!("unknown team \"{slug}\"")));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// The slugs of the teams an agent works in, in place of the old list.
    #[schema(max_items = 100)]
    pub teams: Option<Vec<String>>,
}

/// Changes the teams a user works in.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = u64, Path, description = "user id")),
    request_body = UserPatch,
    responses((status = 200, body = UserOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    Json(body): Json<UserPatch>,
) -> ApiResult<Json<UserOut>> {
    let id = parse_user_id(&id)?;
    if let Some(teams) = &body.teams {
        check_teams(&state, teams).await?;
    }
    let edit = UserEdit { teams: body.teams, token_hash: None };
    let user = state.stores.users.update_user(id, edit).await?.durable().await?;
    tracing::info!(user = user.id, by = caller.0.id, "user changed");
    Ok(Json((&user).into()))
}

/// Gives a user a new token, shown only this once; the old one stops
/// working and every console session of the user ends, so that a leaked
/// token, and whatever signed in with it, is shut out.
#[utoipa::path(post, path = "/users/{id}/token", tag = "users", params(("id" = u64, Path, description = "user id")),
    responses((status = 200, body = UserCreated), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn new_token(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<UserCreated>> {
    let id = parse_user_id(&id)?;
    let token = generate_token().map_err(|e| ApiError::internal(&e))?;
    let edit = UserEdit { teams: None, token_hash: Some(hash_token(&token)) };
    let user = state.stores.users.update_user(id, edit).await?.durable().await?;
    let now = state.clock.now();
    for session in state.stores.sessions.sessions_of(id, now).await?.durable().await? {
        state.stores.sessions.end_session(id, &session.id).await?.durable().await?;
    }
    tracing::info!(user = user.id, by = caller.0.id, "user given a new token; their sessions ended");
    Ok(Json(UserCreated { user: (&user).into(), token }))
}

/// A user id from the path; anything else is no user.
fn parse_user_id(id: &str) -> ApiResult<u64> {
    id.parse().map_err(|_| ApiError::not_found(format!("unknown user \"{id}\"")))
}

/// Lists every user.
#[utoipa::path(get, path = "/users", tag = "users", responses((status = 200, body = Vec<UserOut>), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<Vec<UserOut>>> {
    Ok(Json(state.stores.users.users().await?.iter().map(UserOut::from).collect()))
}
