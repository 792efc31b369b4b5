//! `/api/teams/{slug}/tickets` and `/api/tickets/{id}`: working tickets.

use std::collections::{BTreeMap, HashMap};

use crate::extract::{Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::{Priority, Sla, SlaStatus, Team, Ticket, TicketDraft, TicketId};
use switchboard_store::{TicketEdit, TicketFilter};
use utoipa::{IntoParams, ToSchema};

use super::wire::{ContactIn, PriorityIn, StageOut, StageRef};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::idempotency::Idem;
use crate::json::Json;
use crate::state::AppState;

/// The most tickets one list call returns.
const MAX_LIMIT: usize = 1000;
/// How many tickets a list returns when no limit is given.
const DEFAULT_LIMIT: usize = 100;

/// A ticket's SLA as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaOut {
    /// The policy's id.
    pub policy_id: u32,
    /// The policy's name.
    pub policy: String,
    /// The stage to reach.
    pub target_stage: u32,
    /// The deadline (RFC 3339).
    pub deadline: String,
    /// `running`, `met` or `breached`.
    pub status: &'static str,
    /// When the target was reached in time.
    pub reached_at: Option<String>,
    /// When the breach was recorded.
    pub breached_at: Option<String>,
}

impl From<&Sla> for SlaOut {
    fn from(s: &Sla) -> Self {
        SlaOut {
            policy_id: s.policy_id,
            policy: s.policy_name.clone(),
            target_stage: s.target_stage,
            deadline: s.deadline.to_string(),
            status: match s.status {
                SlaStatus::Running => "running",
                SlaStatus::Met => "met",
                SlaStatus::Breached => "breached",
            },
            reached_at: s.reached_at.map(|t| t.to_string()),
            breached_at: s.breached_at.map(|t| t.to_string()),
        }
    }
}

/// A ticket as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketOut {
    /// The ticket's number.
    pub id: TicketId,
    /// The owning team's slug.
    pub team: String,
    /// One-line summary.
    pub title: String,
    /// The full request.
    pub description: String,
    /// 0 (low) to 3 (urgent).
    pub priority: u8,
    /// `low`, `medium`, `high` or `urgent`.
    pub priority_name: &'static str,
    /// The stage it is in.
    pub stage: StageOut,
    /// The contact's id, if known.
    pub contact_id: Option<u64>,
    /// Where it came from, such as `api`.
    pub origin: String,
    /// When it was opened (RFC 3339).
    pub created_at: String,
    /// When it or its thread last changed (RFC 3339).
    pub updated_at: String,
    /// Its SLA deadline, if a policy applies.
    pub sla: Option<SlaOut>,
    /// The key its origin finds it by, if any.
    pub external_key: Option<String>,
    /// Custom fields.
    pub fields: BTreeMap<String, String>,
    /// The agent it is assigned to, if anyone.
    pub assignee: Option<AssigneeOut>,
}

/// The agent a ticket is assigned to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssigneeOut {
    /// The user's id.
    pub id: u64,
    /// Their name when it was assigned.
    pub name: String,
}

impl From<&switchboard_core::Assignee> for AssigneeOut {
    fn from(a: &switchboard_core::Assignee) -> Self {
        AssigneeOut { id: a.id, name: a.name.clone() }
    }
}

impl TicketOut {
    /// The wire form of a ticket of `team`.
    pub fn new(t: &Ticket, team: &Team) -> Self {
        let stage = team.stage(t.stage).map(StageOut::from).unwrap_or(StageOut {
            id: t.stage,
            name: format!("stage {}", t.stage),
            closing: false,
        });
        TicketOut {
            id: t.id,
            team: t.team.clone(),
            title: t.title.clone(),
            description: t.description.clone(),
            priority: t.priority.stars(),
            priority_name: t.priority.name(),
            stage,
            contact_id: t.contact,
            origin: t.origin.clone(),
            created_at: t.created_at.to_string(),
            updated_at: t.updated_at.to_string(),
            sla: t.sla.as_ref().map(SlaOut::from),
            external_key: t.external_key.clone(),
            fields: t.fields.clone(),
            assignee: t.assignee.as_ref().map(AssigneeOut::from),
        }
    }
}

/// A new ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// One-line summary.
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub title: String,
    /// The full request.
    #[serde(default)]
    pub description: String,
    /// Priority; low when absent.
    pub priority: Option<PriorityIn>,
    /// Starting stage by id or name; the team's first when absent.
    pub stage: Option<StageRef>,
    /// Who it is from.
    pub contact: Option<ContactIn>,
    /// A key to find the ticket by later, unique per team for API tickets,
    /// such as the id in the system it was imported from.
    pub external_key: Option<String>,
    /// Custom fields: keys of 1 to 64 letters, digits, `-` and `_`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// Changes to a ticket; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    /// A new title.
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*[^\s\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069][^\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
    )]
    pub title: Option<String>,
    /// A new priority; the SLA deadline is recomputed.
    pub priority: Option<PriorityIn>,
    /// A new stage, by id or name.
    pub stage: Option<StageRef>,
    /// Custom fields to set; an empty value removes a field.
    pub fields: Option<BTreeMap<String, String>>,
    /// The id of the user to assign it to, who must work in its team; `null`
    /// unassigns it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>, nullable)]
    pub assignee: Option<Option<u64>>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The assignee a patch names, checked: a user who works in `team`.
async fn assignee(state: &AppState, team: &Team, id: Option<u64>) -> ApiResult<Option<switchboard_core::Assignee>> {
    let Some(id) = id else { return Ok(None) };
    let user = state
        .stores
        .users
        .user(id)
        .await?
        .ok_or_else(|| ApiError::invalid("assignee", format!("unknown user {id}")))?;
    if !user.works_in(&team.slug) {
        return Err(ApiError::invalid(
            "assignee",
            format!("user \"{}\" does not work in team \"{}\"", user.name, team.slug),
        ));
    }
    Ok(Some(switchboard_core::Assignee { id: user.id, name: user.name }))
}

/// Filters for a ticket list. Lists are sorted by priority, highest first,
/// then oldest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this stage, by id or name.
    pub stage: Option<String>,
    /// Only this priority, 0-3 or a name.
    pub priority: Option<String>,
    /// Only breached (`true`) or not breached (`false`) tickets.
    #[param(value_type = Option<bool>)]
    pub breached: Option<String>,
    /// Skip this many tickets.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub offset: Option<String>,
    /// Return at most this many (default 100, at most 1000).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// A non-negative 32-bit integer, as the OpenAPI document says; a larger
/// one is a mistake, not a request for an empty page.
fn parse_number(field: &str, value: &str) -> ApiResult<usize> {
    let too_big = || ApiError::invalid(field, format!("\"{value}\" is not an integer between 0 and {}", i32::MAX));
    let number: i32 = value.parse().map_err(|_| too_big())?;
    usize::try_from(number).map_err(|_| too_big())
}

impl ListQuery {
    fn filter(&self, team: &Team) -> ApiResult<TicketFilter> {
        let limit = self.limit.as_deref().map(|v| parse_number("limit", v)).transpose()?.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::invalid("limit", format!("{limit} is not between 1 and {MAX_LIMIT}")));
        }
        Ok(TicketFilter {
            stage: self.stage.as_deref().map(|s| team.find_stage(s).map(|s| s.id)).transpose().map_err(|_| {
                ApiError::invalid(
                    "stage",
                    format!("team \"{}\" has no stage \"{}\"", team.slug, self.stage.as_deref().unwrap_or_default()),
                )
            })?,
            priority: self.priority.as_deref().map(Priority::parse).transpose()?,
            breached: match self.breached.as_deref() {
                None => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(other) => {
                    return Err(ApiError::invalid("breached", format!("\"{other}\" is not true or false")));
                }
            },
            offset: self.offset.as_deref().map(|v| parse_number("offset", v)).transpose()?.unwrap_or(0),
            limit,
        })
    }
}

/// Opens a ticket in a team. The contact, if given, is found by e-mail or
/// phone and reused, or created.
#[utoipa::path(post, path = "/teams/{slug}/tickets", tag = "tickets", params(("slug" = String, Path, description = "team slug")),
    request_body = NewTicket,
    responses((status = 201, body = TicketOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 409, description = "the external key is taken by another ticket of this team", body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn create_ticket(
    State(state): State<AppState>,
    caller: Caller,
    idem: Idem,
    Path(slug): Path<String>,
    Json(body): Json<NewTicket>,
) -> ApiResult<(StatusCode, Json<TicketOut>)> {
    caller.require_team(&slug)?;
    let team = state.stores.teams.team(&slug).await?;
    let draft = TicketDraft {
        title: body.title,
        description: body.description,
        priority: body.priority.as_ref().map(|p| p.resolve("priority")).transpose()?,
        stage: body.stage.as_ref().map(|s| s.resolve(&team, "stage")).transpose()?,
        origin: "api".into(),
        external_key: body.external_key,
        fields: body.fields.into_iter().collect(),
    };
    let contact = body.contact.map(Into::into);
    let (team_slug, author, now) = (slug.clone(), caller.author(), state.clock.now());
    let shown = team.clone();
    let idem = idem.keep(&caller, now, StatusCode::CREATED, move |t: &Ticket| TicketOut::new(t, &shown));
    let ticket =
        state.stores.tickets.create_ticket(&team_slug, draft, contact, author, now, idem).await?.durable().await?;
    // Opening a ticket enters its first stage, which may queue robot runs.
    state.robot_wake.notify_one();
    Ok((StatusCode::CREATED, Json(TicketOut::new(&ticket, &team))))
}

/// Lists a team's tickets, highest priority first, then oldest first.
#[utoipa::path(get, path = "/teams/{slug}/tickets", tag = "tickets",
    params(("slug" = String, Path, description = "team slug"), ListQuery),
    responses((status = 200, body = Vec<TicketOut>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_tickets(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<TicketOut>>> {
    caller.require_team(&slug)?;
    let team = state.stores.teams.team(&slug).await?;
    let known = ["stage", "priority", "breached", "offset", "limit"];
    if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::invalid(unknown, format!("unknown filter; use {}", known.join(", "))));
    }
    let get = |k: &str| query.get(k).cloned();
    let query = ListQuery {
        stage: get("stage"),
        priority: get("priority"),
        breached: get("breached"),
        offset: get("offset"),
        limit: get("limit"),
    };
    let tickets = state.stores.tickets.tickets(&slug, &query.filter(&team)?).await?;
    Ok(Json(tickets.iter().map(|t| TicketOut::new(t, &team)).collect()))
}

/// Shows one ticket.
#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", params(("id" = u64, Path, description = "ticket number")),
    responses((status = 200, body = TicketOut), (status = 404, body = ErrorBody)))]
pub async fn get_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<TicketOut>> {
    let ticket = visible_ticket(&state, &caller, parse_id(&id)?).await?;
    let team = state.stores.teams.team(&ticket.team).await?;
    Ok(Json(TicketOut::new(&ticket, &team)))
}

/// Ticket `id`, if the caller works in its team. Another team's ticket is
/// "unknown", as a missing one is, so that numbers reveal nothing.
pub(crate) async fn visible_ticket(state: &AppState, caller: &Caller, id: TicketId) -> ApiResult<Ticket> {
    let ticket = state.stores.tickets.ticket(id).await?;
    if caller.0.works_in(&ticket.team) { Ok(ticket) } else { Err(ApiError::not_found(format!("unknown ticket {id}"))) }
}

/// Refuses unless the caller may see ticket `id`. An admin works in every
/// team, so the ticket is not read for one.
pub(crate) async fn require_visible(state: &AppState, caller: &Caller, id: TicketId) -> ApiResult<()> {
    if !caller.0.is_admin() {
        visible_ticket(state, caller, id).await?;
    }
    Ok(())
}

/// Parses a ticket number from the path.
pub(crate) fn parse_id(id: &str) -> ApiResult<TicketId> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("unknown ticket \"{id}\": ticket numbers are positive integers")))
}

/// Changes a ticket's title, priority or stage. Each change is written to
/// the thread; a priority change recomputes the SLA deadline.
#[utoipa::path(patch, path = "/tickets/{id}", tag = "tickets", params(("id" = u64, Path, description = "ticket number")),
    request_body = TicketPatch,
    responses((status = 200, body = TicketOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_ticket(
    State(state): State<AppState>,
    caller: Caller,
    idem: Idem,
    Path(id): Path<String>,
    Json(body): Json<TicketPatch>,
) -> ApiResult<Json<TicketOut>> {
    let id = parse_id(&id)?;
    let team = state.stores.teams.team(&visible_ticket(&state, &caller, id).await?.team).await?;
    let edit = TicketEdit {
        title: body.title,
        priority: body.priority.as_ref().map(|p| p.resolve("priority")).transpose()?,
        stage: body.stage.as_ref().map(|s| s.resolve(&team, "stage")).transpose()?,
        fields: body.fields.map(|f| f.into_iter().collect()),
        assignee: match body.assignee {
            Some(id) => Some(assignee(&state, &team, id).await?),
            None => None,
        },
    };
    let (now, by) = (state.clock.now(), caller.author());
    let shown = team.clone();
    let idem = idem.keep(&caller, now, StatusCode::OK, move |t: &Ticket| TicketOut::new(t, &shown));
    let ticket = state.stores.tickets.update_ticket(id, edit, by, now, idem).await?.durable().await?;
    // A stage change (the edit's, or a trigger's) may have queued robot
    // runs: this server's robot worker looks now rather than at its next
    // poll.
    state.robot_wake.notify_one();
    Ok(Json(TicketOut::new(&ticket, &team)))
}
