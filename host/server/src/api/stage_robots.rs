//! `/api/teams/{slug}/stages/{id}/robots`: the robots a stage runs when
//! a ticket enters it.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::{CoreError, Installation, MAX_STAGE_ROBOTS, PluginKind, Stage, StageRobot, Team};
use switchboard_runtime::{Plan, RunInput, RuntimeError};
use switchboard_store::TeamEdit;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Admin, Path};
use crate::json::Json;
use crate::robots::settings::merged;
use crate::settings_schema::SettingsSchema;
use crate::state::AppState;

/// One robot of a stage, as an admin sets it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRobotIn {
    /// The robot plugin's id; it must be enabled for the team.
    pub plugin: String,
    /// Its settings on this stage: a JSON object whose keys go over the
    /// team's settings of the plugin. Secrets are set on the team's plugin,
    /// not here.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Whether it waits for the robot before it to finish.
    #[serde(default)]
    pub after_previous: bool,
    /// How long it waits, in seconds, once it may start (at most 30 days).
    #[serde(default)]
    pub delay_seconds: u32,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A stage's whole robot list, in order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRobotsIn {
    /// The robots, in the order they are listed on the stage (at most 16).
    pub robots: Vec<StageRobotIn>,
}

/// One robot of a stage.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageRobotOut {
    /// Its place in the list, from 0.
    pub position: usize,
    /// The robot plugin's id.
    pub plugin: String,
    /// Its settings on this stage.
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Whether it waits for the robot before it to finish.
    pub after_previous: bool,
    /// How long it waits, in seconds, once it may start.
    pub delay_seconds: u32,
}

/// A stage's robots.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageRobotsOut {
    /// The stage's id.
    pub stage: u32,
    /// The stage's name.
    pub stage_name: String,
    /// Its robots, in order.
    pub robots: Vec<StageRobotOut>,
}

impl From<&Stage> for StageRobotsOut {
    fn from(stage: &Stage) -> Self {
        let robots = stage
            .robots
            .iter()
            .enumerate()
            .map(|(position, r)| StageRobotOut {
                position,
                plugin: r.plugin.clone(),
                // Saved settings were a JSON object when they were checked.
                settings: serde_json::from_str(&r.settings).unwrap_or_else(|_| empty_object()),
                after_previous: r.after_previous,
                delay_seconds: r.delay_seconds,
            })
            .collect();
        StageRobotsOut { stage: stage.id, stage_name: stage.name.clone(), robots }
    }
}

/// Lists the robots of a stage (by id or name), in order.
#[utoipa::path(get, path = "/teams/{slug}/stages/{id}/robots", tag = "stages",
    params(("slug" = String, Path, description = "team slug"), ("id" = String, Path, description = "stage id or name")),
    responses((status = 200, body = StageRobotsOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_stage_robots(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    Path((slug, stage)): Path<(String, String)>,
) -> ApiResult<Json<StageRobotsOut>> {
    caller.require_team(&slug)?;
    let team = state.stores.teams.team(&slug).await?;
    Ok(Json(team.find_stage(&stage)?.into()))
}

/// Replaces the robots of a stage. Each robot must be enabled for the
/// team; its settings here, over the team's settings of the plugin, must
/// pass the plugin's schema and its own `validate-settings`. Runs already
/// enqueued keep the robots they were enqueued with.
#[utoipa::path(put, path = "/teams/{slug}/stages/{id}/robots", tag = "stages",
    params(("slug" = String, Path, description = "team slug"), ("id" = String, Path, description = "stage id or name")),
    request_body = StageRobotsIn,
    responses((status = 200, body = StageRobotsOut), (status = 403, description = "the caller is not an admin", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn put_stage_robots(
    State(state): State<AppState>,
    _admin: Admin,
    Path((slug, stage)): Path<(String, String)>,
    Json(body): Json<StageRobotsIn>,
) -> ApiResult<Json<StageRobotsOut>> {
    // The list's size is judged before any plugin runs.
    if body.robots.len() > MAX_STAGE_ROBOTS {
        return Err(ApiError::invalid(
            "robots",
            format!("{} robots given; a stage has at most {MAX_STAGE_ROBOTS}", body.robots.len()),
        ));
    }
    let team = state.stores.teams.team(&slug).await?;
    let stage_id = team.find_stage(&stage)?.id;
    let robots: Vec<StageRobot> = body
        .robots
        .iter()
        .map(|robot| StageRobot {
            plugin: robot.plugin.clone(),
            settings: robot.settings.to_string(),
            after_previous: robot.after_previous,
            delay_seconds: robot.delay_seconds,
        })
        .collect();
    // The size of each robot's settings is the core's check, made here
    // before any plugin runs.
    switchboard_core::check_stage_robots(&robots)?;
    for (i, robot) in body.robots.iter().enumerate() {
        check_robot(&state, &team, i, robot).await?;
    }
    let edit: TeamEdit = Arc::new(move |team: &mut Team| team.set_stage_robots(stage_id, robots.clone()));
    let team = state.stores.teams.update_team(&slug, edit, None).await?.durable().await?;
    tracing::info!(team = %slug, stage = stage_id, "stage robots set");
    Ok(Json(team.stage(stage_id)?.into()))
}

/// Checks robot `i` of a list: enabled for the team, a robot, and settings
/// that the schema and the plugin accept over the team's settings.
async fn check_robot(state: &AppState, team: &Team, i: usize, robot: &StageRobotIn) -> ApiResult<()> {
    let at = |what: &str| format!("robots[{i}].{what}");
    let Ok(installation) = state.stores.plugins.installation(&team.slug, &robot.plugin).await else {
        return Err(ApiError::invalid(
            &at("plugin"),
            format!("plugin \"{}\" is not enabled for team \"{}\"", robot.plugin, team.slug),
        ));
    };
    let plugin = state.stores.plugins.plugin(&robot.plugin).await?;
    if plugin.manifest.kind != PluginKind::Robot {
        return Err(ApiError::invalid(&at("plugin"), format!("plugin \"{}\" is a channel, not a robot", robot.plugin)));
    }
    let field = at("settings");
    let schema = SettingsSchema::compile(&plugin.manifest.settings_schema)?;
    if let Some(secret) = schema.secrets().iter().find(|s| robot.settings.get(s.as_str()).is_some()) {
        return Err(ApiError::invalid(
            &format!("{field}.{secret}"),
            format!("is a secret; set it on the team's plugin (PUT /api/teams/{}/plugins/{})", team.slug, robot.plugin),
        ));
    }
    let run = merged(&installation.settings, &robot.settings).map_err(|e| ApiError::invalid(&field, e))?;
    let secrets = state.secret_key.secrets_of(&installation).map_err(|e| ApiError::internal(&e))?;
    // The schema judges the document the plugin will see, secrets included.
    let mut whole = run.clone();
    if let Value::Object(object) = &mut whole {
        for name in schema.secrets() {
            if let Some(value) = secrets.get(name) {
                object.insert(name.clone(), Value::String(value.to_owned()));
            }
        }
    }
    schema.check(&whole).map_err(|e| match e {
        CoreError::Invalid { reason, .. } => {
            // Each problem names its place from `settings`; here the place
            // is this robot's settings. A secret's value never shows.
            let mut detail = reason
                .split("; ")
                .map(|p| p.strip_prefix("settings").map_or_else(|| p.to_owned(), |rest| format!("{field}{rest}")))
                .collect::<Vec<_>>()
                .join("; ");
            for name in schema.secrets() {
                if let Some(value) = secrets.get(name).filter(|v| !v.is_empty()) {
                    detail = detail.replace(value, "<secret>");
                }
            }
            ApiError::invalid_at(&field, detail)
        }
        other => other.into(),
    })?;
    crate::robots::templates::check_fields(&schema, &run)
        .map_err(|(name, reason)| ApiError::invalid(&format!("{field}.{name}"), reason))?;
    match state.runtime.validate_settings(&robot.plugin, &run.to_string(), &secrets).await {
        Ok(()) => Ok(()),
        Err(RuntimeError::Plugin { failure, .. }) if failure.kind == "invalid-settings" => {
            Err(ApiError::invalid_at(&field, failure.message))
        }
        Err(e) => Err(e.into()),
    }
}

/// What a dry run is asked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunIn {
    /// The ticket to imagine entering the stage; it must be the team's.
    pub ticket: u64,
}

/// When a robot of a dry run would start.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunStart {
    /// The position of the robot it waits for, if it waits for one.
    pub after: Option<usize>,
    /// The seconds it then waits.
    pub wait_seconds: u32,
}

/// What one robot would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunRobot {
    /// Its place in the list, from 0.
    pub position: usize,
    /// The robot plugin's id.
    pub plugin: String,
    /// When it would start.
    pub starts: DryRunStart,
    /// The settings it would get, templates rendered for the ticket
    /// (secrets are not shown); absent when they cannot be made.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    /// What the robot says it would do, with these settings, for this
    /// ticket: absent when it cannot tell (a robot built before WIT 0.1.9)
    /// or when `error` says why it would fail.
    pub plan: Option<DryRunPlan>,
    /// Why the run would fail, if it would.
    pub error: Option<String>,
}

/// What a robot would do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "does", rename_all = "snake_case")]
pub enum DryRunPlan {
    /// It would act.
    Act {
        /// One line: what, and to whom.
        summary: String,
        /// What it would send, in full: the SMS text, the call's TwiML.
        content: String,
    },
    /// It would skip.
    Skip {
        /// Why.
        reason: String,
    },
}

/// A stage's robots as they would run for a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunOut {
    /// The stage's id.
    pub stage: u32,
    /// The ticket.
    pub ticket: u64,
    /// The robots in the order they are listed.
    pub robots: Vec<DryRunRobot>,
}

/// Shows what the stage's robots would do if the ticket entered the stage
/// now: when each would start, and the settings it would get with its
/// texts rendered for this ticket. Nothing is sent, written or enqueued,
/// and no robot runs.
#[utoipa::path(post, path = "/teams/{slug}/stages/{id}/robots/dry-run", tag = "stages",
    params(("slug" = String, Path, description = "team slug"), ("id" = String, Path, description = "stage id or name")),
    request_body = DryRunIn,
    responses((status = 200, body = DryRunOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dry_run(
    State(state): State<AppState>,
    Path((slug, stage)): Path<(String, String)>,
    Json(body): Json<DryRunIn>,
) -> ApiResult<Json<DryRunOut>> {
    let team = state.stores.teams.team(&slug).await?;
    let stage = team.find_stage(&stage)?.clone();
    let ticket = state.stores.tickets.ticket(body.ticket).await?;
    if ticket.team != team.slug {
        return Err(ApiError::invalid("ticket", format!("ticket {} is not a ticket of team \"{slug}\"", ticket.id)));
    }
    let contact = match ticket.contact {
        Some(c) => Some(state.stores.contacts.contact(c).await?),
        None => None,
    };
    // The ticket as it would be in the stage, for the templates.
    let imagined = switchboard_core::Ticket { stage: stage.id, ..ticket.clone() };
    let mut robots = Vec::with_capacity(stage.robots.len());
    for (position, robot) in stage.robots.iter().enumerate() {
        let starts = DryRunStart {
            after: robot.after_previous.then(|| position.saturating_sub(1)),
            wait_seconds: robot.delay_seconds,
        };
        let (settings, plan, error) = match state.stores.plugins.installation(&slug, &robot.plugin).await {
            Err(_) => (None, None, Some(format!("plugin \"{}\" is not enabled for team \"{slug}\"", robot.plugin))),
            Ok(installation) => {
                let made = crate::robots::settings::for_run(
                    &state,
                    &installation,
                    Some(&robot.settings),
                    &imagined,
                    contact.as_ref(),
                    &team,
                )
                .await?;
                match made {
                    Err(e) => (None, None, Some(e)),
                    Ok(text) => {
                        let shown = serde_json::from_str::<Value>(&text).ok();
                        let installation = Installation { settings: text, ..installation };
                        let input = RunInput { ticket: imagined.clone(), team: team.clone(), contact: contact.clone() };
                        match preview(&state, &installation, input).await {
                            Ok(plan) => (shown, plan, None),
                            Err(e) => (shown, None, Some(e)),
                        }
                    }
                }
            }
        };
        robots.push(DryRunRobot { position, plugin: robot.plugin.clone(), starts, settings, plan, error });
    }
    Ok(Json(DryRunOut { stage: stage.id, ticket: ticket.id, robots }))
}

/// Asks a stage robot what it would do; `None` for a robot that cannot
/// tell. Its refusal or failure is the error.
async fn preview(state: &AppState, installation: &Installation, input: RunInput) -> Result<Option<DryRunPlan>, String> {
    if !state.runtime.runs_on_stages(&installation.plugin) {
        return Ok(None);
    }
    let secrets = state.secret_key.secrets_of(installation).map_err(|e| {
        tracing::error!(error = %e, plugin = %installation.plugin, "cannot open a robot's secrets");
        "its secrets cannot be opened; see the server log".to_owned()
    })?;
    match state.runtime.preview_robot(installation, &secrets, input).await {
        Ok(Plan::Act { summary, content }) => Ok(Some(DryRunPlan::Act { summary, content })),
        Ok(Plan::Skip(reason)) => Ok(Some(DryRunPlan::Skip { reason })),
        Err(e) => Err(e.to_string()),
    }
}
