//! `/api/teams/{slug}/triggers`: the events that move a team's tickets
//! between stages.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_core::{MAX_TRIGGERS, Priority, StageId, Team, Trigger, TriggerEvent};
use switchboard_store::TeamEdit;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Admin, Path};
use crate::json::Json;
use crate::state::AppState;

/// The event names, as the API spells them.
const EVENTS: [&str; 6] =
    ["customer_replied", "channel_message", "form_submitted", "priority_became", "sla_breached", "conversation_ended"];

/// One trigger, as an admin sets it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerIn {
    /// `customer_replied`, `channel_message` (with `channel`),
    /// `form_submitted`, `priority_became` (with `priority`),
    /// `sla_breached` or `conversation_ended`.
    pub event: String,
    /// For `channel_message`: the channel plugin's id (or `api`).
    pub channel: Option<String>,
    /// For `priority_became`: the priority, by name or star count.
    pub priority: Option<String>,
    /// The stage to move the ticket to, by id or name.
    pub to_stage: String,
    /// The stages it moves tickets from, by id or name; any when empty.
    #[serde(default)]
    pub from_stages: Vec<String>,
}

/// A team's whole trigger list, in order: the first that applies wins.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggersIn {
    /// The triggers, in order (at most 32).
    pub triggers: Vec<TriggerIn>,
}

/// One trigger of a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerOut {
    /// The event it waits for.
    pub event: &'static str,
    /// For `channel_message`: the channel.
    pub channel: Option<String>,
    /// For `priority_became`: the priority.
    pub priority: Option<&'static str>,
    /// The stage it moves tickets to.
    pub to_stage: StageRef,
    /// The stages it moves tickets from; any when empty.
    pub from_stages: Vec<StageRef>,
}

/// A stage, by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageRef {
    /// Its id.
    pub id: StageId,
    /// Its name.
    pub name: String,
}

fn stage_ref(team: &Team, id: StageId) -> StageRef {
    StageRef { id, name: team.stage(id).map(|s| s.name.clone()).unwrap_or_default() }
}

fn out(team: &Team) -> Vec<TriggerOut> {
    team.triggers
        .iter()
        .map(|t| {
            let (event, channel, priority) = match &t.event {
                TriggerEvent::CustomerReplied => ("customer_replied", None, None),
                TriggerEvent::ChannelMessage { channel } => ("channel_message", Some(channel.clone()), None),
                TriggerEvent::FormSubmitted => ("form_submitted", None, None),
                TriggerEvent::PriorityBecame { priority } => ("priority_became", None, Some(priority.name())),
                TriggerEvent::SlaBreached => ("sla_breached", None, None),
                TriggerEvent::ConversationEnded => ("conversation_ended", None, None),
            };
            TriggerOut {
                event,
                channel,
                priority,
                to_stage: stage_ref(team, t.to_stage),
                from_stages: t.from_stages.iter().map(|s| stage_ref(team, *s)).collect(),
            }
        })
        .collect()
}

/// Reads trigger `i` of a request against `team`'s stages.
fn parse(team: &Team, i: usize, t: &TriggerIn) -> ApiResult<Trigger> {
    let at = |what: &str| format!("triggers[{i}].{what}");
    let only = |field: &str, given: bool, wanted: bool| -> ApiResult<()> {
        match (given, wanted) {
            (true, false) => Err(ApiError::invalid(&at(field), format!("is not used by event \"{}\"", t.event))),
            (false, true) => Err(ApiError::invalid(&at(field), format!("is needed by event \"{}\"", t.event))),
            _ => Ok(()),
        }
    };
    only("channel", t.channel.is_some(), t.event == "channel_message")?;
    only("priority", t.priority.is_some(), t.event == "priority_became")?;
    let event = match t.event.as_str() {
        "customer_replied" => TriggerEvent::CustomerReplied,
        "channel_message" => TriggerEvent::ChannelMessage { channel: t.channel.clone().unwrap_or_default() },
        "form_submitted" => TriggerEvent::FormSubmitted,
        "priority_became" => {
            let priority = Priority::parse(t.priority.as_deref().unwrap_or_default())
                .map_err(|e| ApiError::invalid(&at("priority"), e.to_string()))?;
            TriggerEvent::PriorityBecame { priority }
        }
        "sla_breached" => TriggerEvent::SlaBreached,
        "conversation_ended" => TriggerEvent::ConversationEnded,
        other => {
            return Err(ApiError::invalid(
                &at("event"),
                format!("unknown event \"{other}\"; the events are {}", EVENTS.join(", ")),
            ));
        }
    };
    let stage = |field: &str, key: &str| {
        team.find_stage(key)
            .map(|s| s.id)
            .map_err(|_| ApiError::invalid(&at(field), format!("unknown stage \"{key}\"")))
    };
    let to_stage = stage("to_stage", &t.to_stage)?;
    let from_stages = t.from_stages.iter().map(|s| stage("from_stages", s)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Trigger { event, to_stage, from_stages })
}

/// Lists a team's triggers, in order.
#[utoipa::path(get, path = "/teams/{slug}/triggers", tag = "stages",
    params(("slug" = String, Path, description = "team slug")),
    responses((status = 200, body = Vec<TriggerOut>), (status = 404, body = ErrorBody)))]
pub async fn list_triggers(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<TriggerOut>>> {
    caller.require_team(&slug)?;
    let team = state.stores.teams.team(&slug).await?;
    Ok(Json(out(&team)))
}

/// Replaces a team's triggers. Each moves a ticket to a stage when its
/// event happens, optionally only from the stages listed; the first that
/// applies wins, and the thread says which event moved the ticket.
#[utoipa::path(put, path = "/teams/{slug}/triggers", tag = "stages",
    params(("slug" = String, Path, description = "team slug")),
    request_body = TriggersIn,
    responses((status = 200, body = Vec<TriggerOut>), (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_triggers(
    State(state): State<AppState>,
    _admin: Admin,
    Path(slug): Path<String>,
    Json(body): Json<TriggersIn>,
) -> ApiResult<Json<Vec<TriggerOut>>> {
    if body.triggers.len() > MAX_TRIGGERS {
        return Err(ApiError::invalid(
            "triggers",
            format!("{} triggers given; a team has at most {MAX_TRIGGERS}", body.triggers.len()),
        ));
    }
    let team = state.stores.teams.team(&slug).await?;
    let triggers = body.triggers.iter().enumerate().map(|(i, t)| parse(&team, i, t)).collect::<ApiResult<Vec<_>>>()?;
    let edit: TeamEdit = Arc::new(move |team: &mut Team| team.set_triggers(triggers.clone()));
    let team = state.stores.teams.update_team(&slug, edit, None).await?.durable().await?;
    tracing::info!(team = %slug, triggers = team.triggers.len(), "triggers set");
    Ok(Json(out(&team)))
}
