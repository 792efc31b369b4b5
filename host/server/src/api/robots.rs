//! `/api/tickets/{id}/robots/{plugin}`: running a robot on a ticket now.

use crate::extract::Path;
use axum::extract::State;
use serde::Serialize;
use switchboard_core::{Author, MessageDraft, MessageKind, PluginKind};
use switchboard_runtime::{Outcome, RunInput};
use utoipa::ToSchema;

use super::tickets::parse_id;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::json::Json;
use crate::state::AppState;

/// How a robot run ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunOut {
    /// The robot's id.
    pub robot: String,
    /// `done`, `skipped` or `failed`.
    pub outcome: &'static str,
    /// The reason for a skip or the error of a failure.
    pub detail: Option<String>,
}

/// Runs a robot enabled for the ticket's team on the ticket, now. The run
/// is written to the ticket's thread: started, then done, skipped (with the
/// reason) or failed (with the error, including a crash or a spent budget).
#[utoipa::path(post, path = "/tickets/{id}/robots/{plugin}", tag = "plugins",
    params(("id" = u64, Path, description = "ticket number"), ("plugin" = String, Path, description = "robot id")),
    responses((status = 200, body = RunOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn run_robot(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, plugin)): Path<(String, String)>,
) -> ApiResult<Json<RunOut>> {
    let id = parse_id(&id)?;
    let ticket = state.stores.tickets.ticket(id).await?;
    let team = state.stores.teams.team(&ticket.team).await?;
    let installation = state.stores.plugins.installation(&team.slug, &plugin).await?;
    if state.stores.plugins.plugin(&plugin).await?.manifest.kind != PluginKind::Robot {
        return Err(ApiError::conflict(format!("plugin \"{plugin}\" is a channel, not a robot")));
    }
    let secrets = state.secret_key.secrets_of(&installation).map_err(|e| ApiError::internal(&e))?;
    let contact = match ticket.contact {
        Some(c) => Some(state.stores.contacts.contact(c).await?),
        None => None,
    };
    let event = |body: String| MessageDraft::new(MessageKind::Event, Author::Plugin { id: plugin.clone() }, body);
    let for_run =
        crate::robots::settings::for_run(&state, &installation, None, &ticket, contact.as_ref(), &team).await?;
    let installation = match for_run {
        Ok(settings) => switchboard_core::Installation { settings, ..installation },
        Err(e) => {
            let line = format!("Robot {plugin} failed: {e}");
            state.stores.tickets.append_message(id, event(line), state.clock.now(), None).await?.durable().await?;
            return Ok(Json(RunOut { robot: plugin, outcome: "failed", detail: Some(e) }));
        }
    };
    let by = match caller.author() {
        Author::User { name, .. } => name,
        _ => "someone".into(),
    };
    let started = event(format!("Robot {plugin} started by {by}"));
    state.stores.tickets.append_message(id, started, state.clock.now(), None).await?.durable().await?;
    let result = state.runtime.run_robot(&installation, &secrets, RunInput { ticket, team, contact }).await;
    let (outcome, detail) = match result {
        Ok(Outcome::Done) => ("done", None),
        Ok(Outcome::Skipped(why)) => ("skipped", Some(why)),
        Ok(Outcome::Failed(failure)) => ("failed", Some(failure.to_string())),
        Err(e) => ("failed", Some(e.to_string())),
    };
    let line = match &detail {
        Some(d) => format!("Robot {plugin} {outcome}: {d}"),
        None => format!("Robot {plugin} {outcome}"),
    };
    state.stores.tickets.append_message(id, event(line), state.clock.now(), None).await?.durable().await?;
    Ok(Json(RunOut { robot: plugin, outcome, detail }))
}
