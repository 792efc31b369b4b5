//! `/api/session` and `/api/sessions`: who is signed in, and the console
//! sessions a user has open, each of which they can end.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use switchboard_core::Session;
use utoipa::ToSchema;

use super::users::UserOut;
use crate::auth::{Caller, SessionAuth};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Path;
use crate::json::Json;
use crate::state::AppState;

/// The caller, as the consoles need to know them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The user.
    pub user: UserOut,
    /// The id of the console session the request came with, if it came
    /// with one rather than a bearer token.
    pub session: Option<String>,
}

/// A console session, as its user sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// The session's id.
    pub id: String,
    /// When it was signed in (RFC 3339).
    pub created_at: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// The browser it was signed in from, as it described itself.
    pub label: String,
    /// Whether the request listing it came with this session.
    pub current: bool,
}

fn out(session: &Session, current: Option<&str>) -> SessionOut {
    SessionOut {
        id: session.id.clone(),
        created_at: session.created_at.to_string(),
        expires_at: session.expires_at.to_string(),
        label: session.label.clone(),
        current: current == Some(session.id.as_str()),
    }
}

/// Who the caller is.
#[utoipa::path(get, path = "/session", tag = "users", responses((status = 200, body = Me)))]
pub async fn me(caller: Caller, session: Option<Extension<SessionAuth>>) -> Json<Me> {
    Json(Me { user: (&caller.0).into(), session: session.map(|s| s.0.id) })
}

/// The caller's open console sessions, oldest first.
#[utoipa::path(get, path = "/sessions", tag = "users", responses((status = 200, body = Vec<SessionOut>)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    session: Option<Extension<SessionAuth>>,
) -> ApiResult<Json<Vec<SessionOut>>> {
    let current = session.as_ref().map(|s| s.0.id.as_str());
    let sessions = state.stores.sessions.sessions_of(caller.0.id, state.clock.now()).await?.durable().await?;
    Ok(Json(sessions.iter().map(|s| out(s, current)).collect()))
}

/// Ends one of the caller's console sessions: the browser holding it is
/// signed out at its next request.
#[utoipa::path(delete, path = "/sessions/{id}", tag = "users", params(("id" = String, Path, description = "session id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn end_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let ended = state.stores.sessions.end_session(caller.0.id, &id).await?.durable().await?;
    if ended { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found(format!("unknown session \"{id}\""))) }
}
