//! `/api/teams/{slug}/plugins`: enabling plugins per team.

use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use switchboard_core::{Capability, CoreError, Installation, Limits, Manifest, PluginKind};
use switchboard_runtime::RuntimeError;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Admin;
use crate::json::Json;
use crate::settings_schema::SettingsSchema;
use crate::state::AppState;

/// Per-call limits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsWire {
    /// CPU time per call in milliseconds (1 to 10000; default 100).
    pub cpu_ms: u32,
    /// Memory per call in MiB (1 to 256; default 64).
    pub memory_mib: u32,
}

/// Settings and grants to enable a plugin with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableBody {
    /// The plugin's settings, checked against the manifest's schema and
    /// then by the plugin; absent or null is `{}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
    /// Capabilities to grant, from those the plugin requested.
    #[serde(default)]
    pub grants: Vec<String>,
    /// Capabilities the plugin requested that are not granted. Each one the
    /// plugin requests must be granted or declined.
    #[serde(default)]
    pub declined: Vec<String>,
    /// Per-call limits; the defaults when absent.
    pub limits: Option<LimitsWire>,
}

/// A plugin's state in a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstallationOut {
    /// The team's slug.
    pub team: String,
    /// The plugin's id.
    pub plugin: String,
    /// `channel` or `robot`.
    pub kind: &'static str,
    /// Always true: disabled plugins have no installation.
    pub enabled: bool,
    /// The settings.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// The granted capabilities.
    pub grants: Vec<String>,
    /// The capabilities the admin declined.
    pub declined: Vec<String>,
    /// Capabilities the plugin asks for since an upgrade that were neither
    /// granted nor declined: the plugin runs without them until an admin
    /// decides.
    pub undecided: Vec<String>,
    /// Per-call limits.
    pub limits: LimitsWire,
    /// Where a channel answers the public, such as `/c/ops/web-form/`.
    pub public_path: Option<String>,
    /// When it was enabled (RFC 3339).
    pub enabled_at: String,
    /// When its settings last changed (RFC 3339).
    pub updated_at: String,
}

fn out(installation: &Installation, manifest: &Manifest) -> InstallationOut {
    let kind = manifest.kind;
    let names = |list: &[Capability]| list.iter().map(ToString::to_string).collect();
    InstallationOut {
        team: installation.team.clone(),
        plugin: installation.plugin.clone(),
        kind: kind.name(),
        enabled: true,
        settings: serde_json::from_str(&installation.settings).unwrap_or(serde_json::Value::Null),
        grants: names(&installation.grants),
        declined: names(&installation.declined),
        undecided: names(&installation.undecided(manifest)),
        limits: LimitsWire { cpu_ms: installation.limits.cpu_ms, memory_mib: installation.limits.memory_mib },
        public_path: (kind == PluginKind::Channel)
            .then(|| format!("/c/{}/{}/", installation.team, installation.plugin)),
        enabled_at: installation.enabled_at.to_string(),
        updated_at: installation.updated_at.to_string(),
    }
}

/// Enables a plugin for a team, or changes its settings, grants or limits.
/// The plugin's `validate-settings` runs first; its refusal comes back as
/// 422 with the plugin's own message.
#[utoipa::path(put, path = "/teams/{slug}/plugins/{id}", tag = "plugins",
    params(("slug" = String, Path, description = "team slug"), ("id" = String, Path, description = "plugin id")),
    request_body = EnableBody,
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 201, description = "enabled", body = InstallationOut), (status = 200, description = "updated", body = InstallationOut),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn enable_plugin(
    State(state): State<AppState>,
    _admin: Admin,
    Path((slug, id)): Path<(String, String)>,
    Json(body): Json<EnableBody>,
) -> ApiResult<(StatusCode, Json<InstallationOut>)> {
    state.stores.teams.team(&slug).await?;
    let plugin = state.stores.plugins.plugin(&id).await?;
    let parse = |field: &str, list: &[String]| {
        list.iter().map(|c| Capability::parse(c)).collect::<Result<Vec<_>, _>>().map_err(|e| match e {
            CoreError::Invalid { reason, .. } => ApiError::invalid(field, reason),
            other => other.into(),
        })
    };
    let (grants, declined) = (parse("grants", &body.grants)?, parse("declined", &body.declined)?);
    // Decided before the settings are judged: an admin who has not looked
    // at what the plugin asks for should hear that first.
    let now = state.clock.now();
    let probe = Installation {
        team: slug.clone(),
        plugin: id.clone(),
        settings: String::new(),
        grants,
        declined,
        limits: body.limits.map_or_else(Limits::default, |l| Limits { cpu_ms: l.cpu_ms, memory_mib: l.memory_mib }),
        enabled_at: now,
        updated_at: now,
    };
    probe.check(&plugin.manifest)?;
    let settings = body.settings.unwrap_or_else(|| serde_json::json!({}));
    // The manifest's schema first: its errors are the same for every
    // plugin and name the JSON pointer at fault. The plugin's own check
    // then judges what a schema cannot say.
    SettingsSchema::compile(&plugin.manifest.settings_schema)?.check(&settings).map_err(|e| match e {
        CoreError::Invalid { reason, .. } => ApiError::invalid_at("settings", reason),
        other => other.into(),
    })?;
    let settings = settings.to_string();
    match state.runtime.validate_settings(&id, &settings).await {
        Ok(()) => {}
        Err(RuntimeError::Plugin { failure, .. }) if failure.kind == "invalid-settings" => {
            return Err(ApiError::invalid_at("settings", failure.message));
        }
        Err(e) => return Err(e.into()),
    }
    let existing = state.stores.plugins.installation(&slug, &id).await.ok();
    let installation = Installation { settings, ..probe };
    let installation = state.stores.plugins.put_installation(installation).await?.durable().await?;
    tracing::info!(team = %slug, plugin = %id, "plugin enabled");
    let status = if existing.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(out(&installation, &plugin.manifest))))
}

/// A plugin's state in a team; 404 when it is not enabled there.
#[utoipa::path(get, path = "/teams/{slug}/plugins/{id}", tag = "plugins",
    params(("slug" = String, Path, description = "team slug"), ("id" = String, Path, description = "plugin id")),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 200, body = InstallationOut), (status = 404, body = ErrorBody)))]
pub async fn get_installation(
    State(state): State<AppState>,
    _admin: Admin,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<InstallationOut>> {
    state.stores.teams.team(&slug).await?;
    let installation = state.stores.plugins.installation(&slug, &id).await?;
    let manifest = state.stores.plugins.plugin(&id).await?.manifest;
    Ok(Json(out(&installation, &manifest)))
}

/// The plugins enabled for a team.
#[utoipa::path(get, path = "/teams/{slug}/plugins", tag = "plugins", params(("slug" = String, Path, description = "team slug")),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 200, body = Vec<InstallationOut>), (status = 404, body = ErrorBody)))]
pub async fn list_installations(
    State(state): State<AppState>,
    _admin: Admin,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<InstallationOut>>> {
    state.stores.teams.team(&slug).await?;
    let mut list = Vec::new();
    for installation in state.stores.plugins.installations(&slug).await? {
        let manifest = state.stores.plugins.plugin(&installation.plugin).await?.manifest;
        list.push(out(&installation, &manifest));
    }
    Ok(Json(list))
}

/// Disables a plugin for a team. Its storage is kept for a later enable.
#[utoipa::path(delete, path = "/teams/{slug}/plugins/{id}", tag = "plugins",
    params(("slug" = String, Path, description = "team slug"), ("id" = String, Path, description = "plugin id")),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 204), (status = 404, body = ErrorBody)))]
pub async fn disable_plugin(
    State(state): State<AppState>,
    _admin: Admin,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.stores.teams.team(&slug).await?;
    state.stores.plugins.remove_installation(&slug, &id).await?.durable().await?;
    tracing::info!(team = %slug, plugin = %id, "plugin disabled");
    Ok(StatusCode::NO_CONTENT)
}
