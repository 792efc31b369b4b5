//! `/api/teams/{slug}/board`: a team's tickets as the agent board shows
//! them, one column per stage, each sorted by priority then age.
//!
//! A column lists its first cards and counts the rest, as Odoo's kanban
//! does: a board of ten thousand tickets must load in a moment, and nobody
//! reads the thousandth card of a column.

use std::collections::{BTreeSet, HashMap};

use axum::extract::State;
use serde::Serialize;
use switchboard_core::{Priority, SlaStatus, Team, Ticket};
use switchboard_store::TicketFilter;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Path, Query};
use crate::json::Json;
use crate::state::AppState;

/// How many cards a column shows unless asked for another number.
const DEFAULT_PER_STAGE: usize = 100;
/// The most cards a column shows.
const MAX_PER_STAGE: usize = 500;
/// The longest search text.
const MAX_SEARCH: usize = 200;

/// A ticket on the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Card {
    /// The ticket's number.
    pub id: u64,
    /// Its title.
    pub title: String,
    /// Its priority as 0 to 3 stars.
    pub priority: u8,
    /// The id of the stage it is in.
    pub stage: u32,
    /// Its contact's name, if it has a contact.
    pub contact: Option<String>,
    /// Where it came from: `api` or the channel plugin's id.
    pub channel: String,
    /// When it was opened (RFC 3339).
    pub created_at: String,
    /// Its SLA deadline while one is running (RFC 3339).
    pub sla_deadline: Option<String>,
    /// Whether its SLA is breached.
    pub breached: bool,
    /// The name of the agent it is assigned to, if anyone.
    pub assignee: Option<String>,
    /// Their user id.
    pub assignee_id: Option<u64>,
}

/// One stage of the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct Column {
    /// The stage's id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Whether tickets in it count as finished.
    pub closing: bool,
    /// How many tickets in it match the filters.
    pub count: usize,
    /// The first of them, highest priority first, then oldest first.
    pub cards: Vec<Card>,
}

/// The board of a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct Board {
    /// The team's slug.
    pub team: String,
    /// Its stages in order.
    pub columns: Vec<Column>,
    /// Every channel the team's tickets came from, for the channel filter.
    pub channels: Vec<String>,
}

/// The card for `ticket`, with its contact's name.
pub(crate) fn card(ticket: &Ticket, contact: Option<String>) -> Card {
    let running = ticket.sla.as_ref().filter(|s| s.status == SlaStatus::Running);
    Card {
        id: ticket.id,
        title: ticket.title.clone(),
        priority: ticket.priority.stars(),
        stage: ticket.stage,
        contact,
        channel: ticket.origin.clone(),
        created_at: ticket.created_at.to_string(),
        sla_deadline: running.map(|s| s.deadline.to_string()),
        breached: ticket.sla.as_ref().is_some_and(|s| s.status == SlaStatus::Breached),
        assignee: ticket.assignee.as_ref().map(|a| a.name.clone()),
        assignee_id: ticket.assignee.as_ref().map(|a| a.id),
    }
}

/// The name of ticket's contact, if it has one the store still knows.
pub(crate) async fn contact_name(state: &AppState, ticket: &Ticket) -> Option<String> {
    let id = ticket.contact?;
    state.stores.contacts.contact(id).await.ok().map(|c| c.name).filter(|n| !n.is_empty())
}

/// The filters the board takes.
#[derive(Debug, Default)]
struct Filters {
    priority: Option<Priority>,
    breached: Option<bool>,
    channel: Option<String>,
    search: Option<String>,
    /// Only tickets assigned to this user (`Some(Some(id))`) or to nobody
    /// (`Some(None)`).
    assignee: Option<Option<u64>>,
    per_stage: usize,
}

impl Filters {
    fn parse(query: &HashMap<String, String>, caller: &Caller) -> ApiResult<Filters> {
        let known = ["priority", "breached", "channel", "q", "assignee", "per_stage"];
        if let Some(unknown) = query.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(ApiError::invalid(unknown, format!("unknown filter; use {}", known.join(", "))));
        }
        let present = |k: &str| query.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let per_stage = match present("per_stage") {
            None => DEFAULT_PER_STAGE,
            Some(v) => v.parse().ok().filter(|n| (1..=MAX_PER_STAGE).contains(n)).ok_or_else(|| {
                ApiError::invalid("per_stage", format!("\"{v}\" is not a number from 1 to {MAX_PER_STAGE}"))
            })?,
        };
        let search = present("q").map(str::to_lowercase);
        if let Some(q) = &search
            && q.chars().count() > MAX_SEARCH
        {
            return Err(ApiError::invalid("q", format!("is longer than {MAX_SEARCH} characters")));
        }
        Ok(Filters {
            priority: present("priority").map(Priority::parse).transpose()?,
            breached: match present("breached") {
                None => None,
                Some("true" | "1") => Some(true),
                Some("false" | "0") => Some(false),
                Some(other) => return Err(ApiError::invalid("breached", format!("\"{other}\" is not true or false"))),
            },
            channel: present("channel").map(str::to_owned),
            search,
            assignee: match present("assignee") {
                None => None,
                Some("me") => Some(Some(caller.0.id)),
                Some("none") => Some(None),
                Some(other) => Some(Some(other.parse().map_err(|_| {
                    ApiError::invalid("assignee", format!("\"{other}\" is not me, none or a user id"))
                })?)),
            },
            per_stage,
        })
    }

    fn keeps(&self, ticket: &Ticket) -> bool {
        self.channel.as_ref().is_none_or(|c| *c == ticket.origin)
            && self.assignee.is_none_or(|wanted| wanted == ticket.assignee.as_ref().map(|a| a.id))
    }
}

/// A team's board: a column per stage, with the first cards of each.
/// Filters: `priority`, `breached`, `channel`, `assignee` (`me`, `none`
/// or a user id), and `q`, which searches titles and contacts' names.
#[utoipa::path(get, path = "/teams/{slug}/board", tag = "tickets",
    params(("slug" = String, Path, description = "team slug"),
        ("priority" = Option<String>, Query, description = "only this priority: low, medium, high, urgent or 0-3"),
        ("breached" = Option<bool>, Query, description = "only tickets whose SLA is (or is not) breached"),
        ("channel" = Option<String>, Query, description = "only tickets from this channel"),
        ("q" = Option<String>, Query, description = "words in the title or the contact's name"),
        ("assignee" = Option<String>, Query, description = "only tickets assigned to `me`, to `none`, or to a user id"),
        ("per_stage" = Option<u32>, Query, minimum = 1, maximum = 500, description = "cards per column (default 100)")),
    responses((status = 200, body = Board), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_board(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<Board>> {
    caller.require_team(&slug)?;
    let filters = Filters::parse(&query, &caller)?;
    let team = state.stores.teams.team(&slug).await?;
    let all = TicketFilter {
        priority: filters.priority,
        breached: filters.breached,
        limit: usize::MAX,
        ..TicketFilter::default()
    };
    let tickets = state.stores.tickets.tickets(&slug, &all).await?;
    let channels: BTreeSet<String> = tickets.iter().map(|t| t.origin.clone()).collect();
    Ok(Json(Board {
        team: slug.clone(),
        columns: columns(&state, &team, tickets, &filters).await,
        channels: channels.into_iter().collect(),
    }))
}

/// Sorts the tickets, already in list order, into their stages' columns.
async fn columns(state: &AppState, team: &Team, tickets: Vec<Ticket>, filters: &Filters) -> Vec<Column> {
    let mut columns: Vec<Column> = team
        .stages
        .iter()
        .map(|s| Column { id: s.id, name: s.name.clone(), closing: s.closing, count: 0, cards: Vec::new() })
        .collect();
    for ticket in tickets.iter().filter(|t| filters.keeps(t)) {
        let Some(place) = team.stage_position(ticket.stage) else { continue };
        // Only a search needs a contact's name before the ticket is shown;
        // otherwise names are read for the shown cards alone.
        let name = match &filters.search {
            Some(q) => {
                let name = contact_name(state, ticket).await;
                let hit = ticket.title.to_lowercase().contains(q)
                    || name.as_ref().is_some_and(|n| n.to_lowercase().contains(q));
                if !hit {
                    continue;
                }
                name
            }
            None => None,
        };
        let column = &mut columns[place];
        column.count += 1;
        if column.cards.len() < filters.per_stage {
            let name = match name {
                Some(n) => Some(n),
                None => contact_name(state, ticket).await,
            };
            column.cards.push(card(ticket, name));
        }
    }
    columns
}
