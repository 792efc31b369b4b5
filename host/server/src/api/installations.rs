//! `/api/teams/{slug}/plugins`: enabling plugins per team.

use std::collections::BTreeMap;

use crate::extract::Path;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use switchboard_core::{Capability, CoreError, Installation, Limits, Manifest, PluginKind, PublicLimits};
use switchboard_runtime::{RuntimeError, Secrets};
use utoipa::ToSchema;

use super::chat_embed::{ChatEmbed, chat_embed, public_base};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Admin;
use crate::json::Json;
use crate::secret_key::SecretKeyError;
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

/// Limits of a channel's public route. Each left out takes the server's
/// default (`--public-rate`, and 256 KiB of body).
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicLimitsWire {
    /// Requests per second per client address (0 to 10000; 0: no limit).
    pub rate: Option<u32>,
    /// Requests a client may send at once above the rate (1 to 100000;
    /// twice the rate when only the rate is given).
    pub burst: Option<u32>,
    /// The largest request body in bytes (1024 to 16777216).
    pub body_bytes: Option<u32>,
}

/// The public route limits that apply to an installation.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicLimitsOut {
    /// Requests per second per client address; 0 means no limit.
    pub rate: u32,
    /// Requests a client may send at once above the rate.
    pub burst: u32,
    /// The largest request body in bytes.
    pub body_bytes: u64,
    /// Which of them the installation sets; the others are the server's
    /// defaults.
    pub own: Vec<&'static str>,
}

/// Settings and grants to enable a plugin with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableBody {
    /// The plugin's settings, checked against the manifest's schema and
    /// then by the plugin; absent or null is `{}`. A secret (a property the
    /// schema marks `writeOnly`) left out keeps its current value, so that
    /// editing other settings does not need it again; `null` removes it.
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
    /// Limits of a channel's public route; the server's defaults when
    /// absent.
    pub public_limits: Option<PublicLimitsWire>,
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
    /// The settings, without secrets.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Each secret the plugin's schema names (a `writeOnly` property) and
    /// whether it is set. Secret values are never shown.
    pub secrets: BTreeMap<String, bool>,
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
    /// The limits of a channel's public route that apply.
    pub public_limits: PublicLimitsOut,
    /// Where a channel answers the public, such as `/c/ops/web-form/`.
    pub public_path: Option<String>,
    /// A chat channel's embed snippet and direct link; null for other
    /// plugins. The addresses start with `--public-url`, or else with the
    /// address this request came to.
    pub chat: Option<ChatEmbed>,
    /// When it was enabled (RFC 3339).
    pub enabled_at: String,
    /// When its settings last changed (RFC 3339).
    pub updated_at: String,
}

fn out(state: &AppState, base: Option<&str>, installation: &Installation, manifest: &Manifest) -> InstallationOut {
    let own_limits = installation.public_limits;
    let (rate, burst) = state.public_limiter.effective(&own_limits);
    let set = [
        ("rate", own_limits.rate.is_some()),
        ("burst", own_limits.burst.is_some()),
        ("body_bytes", own_limits.body_bytes.is_some()),
    ];
    let public_limits = PublicLimitsOut {
        rate,
        burst,
        body_bytes: own_limits.body_bytes.map_or(state.public_body_limit as u64, u64::from),
        own: set.into_iter().filter(|(_, own)| *own).map(|(name, _)| name).collect(),
    };
    let kind = manifest.kind;
    // The secrets that are set are listed even if the schema no longer names
    // them.
    let named = SettingsSchema::secret_names(&manifest.settings_schema);
    let mut secrets: BTreeMap<String, bool> = named.into_iter().map(|name| (name, false)).collect();
    secrets.extend(installation.secrets.keys().map(|name| (name.clone(), true)));
    let names = |list: &[Capability]| list.iter().map(ToString::to_string).collect();
    let settings = serde_json::from_str(&installation.settings).unwrap_or(serde_json::Value::Null);
    let chat = (kind == PluginKind::Channel && state.runtime.runs_chat(&installation.plugin))
        .then(|| chat_embed(base, &installation.team, &installation.plugin, &settings));
    InstallationOut {
        team: installation.team.clone(),
        plugin: installation.plugin.clone(),
        kind: kind.name(),
        enabled: true,
        settings,
        secrets,
        grants: names(&installation.grants),
        declined: names(&installation.declined),
        undecided: names(&installation.undecided(manifest)),
        limits: LimitsWire { cpu_ms: installation.limits.cpu_ms, memory_mib: installation.limits.memory_mib },
        public_limits,
        public_path: (kind == PluginKind::Channel)
            .then(|| format!("/c/{}/{}/", installation.team, installation.plugin)),
        chat,
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
    headers: HeaderMap,
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
        secrets: BTreeMap::new(),
        grants,
        declined,
        limits: body.limits.map_or_else(Limits::default, |l| Limits { cpu_ms: l.cpu_ms, memory_mib: l.memory_mib }),
        public_limits: body.public_limits.map_or_else(PublicLimits::default, |l| PublicLimits {
            rate: l.rate,
            burst: l.burst,
            body_bytes: l.body_bytes,
        }),
        enabled_at: now,
        updated_at: now,
    };
    probe.check(&plugin.manifest)?;
    let schema = SettingsSchema::compile(&plugin.manifest.settings_schema)?;
    let existing = state.stores.plugins.installation(&slug, &id).await.ok();
    let mut settings = body.settings.unwrap_or_else(|| serde_json::json!({}));
    keep_secrets(&state, schema.secrets(), existing.as_ref(), &mut settings)?;
    // The manifest's schema first: its errors are the same for every
    // plugin and name the JSON pointer at fault. The plugin's own check
    // then judges what a schema cannot say.
    schema.check(&settings).map_err(|e| match e {
        CoreError::Invalid { reason, .. } => ApiError::invalid_at("settings", reason),
        other => other.into(),
    })?;
    crate::robots::templates::check_fields(&schema, &settings)
        .map_err(|(name, reason)| ApiError::invalid(&format!("settings.{name}"), reason))?;
    let secrets = take_secrets(schema.secrets(), &mut settings);
    let settings = settings.to_string();
    match state.runtime.validate_settings(&id, &settings, &Secrets::new(secrets.clone())).await {
        Ok(()) => {}
        Err(RuntimeError::Plugin { failure, .. }) if failure.kind == "invalid-settings" => {
            return Err(ApiError::invalid_at("settings", failure.message));
        }
        Err(e) => return Err(e.into()),
    }
    let sealed = secrets
        .iter()
        .map(|(name, value)| Ok((name.clone(), state.secret_key.seal(&slug, &id, name, value)?)))
        .collect::<Result<_, SecretKeyError>>()
        .map_err(|e| ApiError::internal(&e))?;
    let installation = Installation { settings, secrets: sealed, ..probe };
    let installation = state.stores.plugins.put_installation(installation).await?.durable().await?;
    tracing::info!(team = %slug, plugin = %id, "plugin enabled");
    let status = if existing.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    let base = public_base(&state, &headers);
    Ok((status, Json(out(&state, base.as_deref(), &installation, &plugin.manifest))))
}

/// Puts back into `settings` each secret the admin left out, from the
/// installation as it is, so that the schema judges the whole; a secret
/// given as `null` is removed.
fn keep_secrets(
    state: &AppState,
    names: &[String],
    existing: Option<&Installation>,
    settings: &mut serde_json::Value,
) -> ApiResult<()> {
    let Some(object) = settings.as_object_mut() else {
        return Ok(());
    };
    for name in names {
        match object.get(name) {
            Some(serde_json::Value::Null) => {
                object.remove(name);
            }
            Some(_) => {}
            None => {
                let Some((installation, sealed)) = existing.and_then(|i| Some((i, i.secrets.get(name)?))) else {
                    continue;
                };
                let value = state
                    .secret_key
                    .open_secret(&installation.team, &installation.plugin, name, sealed)
                    .map_err(|e| ApiError::internal(&e))?;
                object.insert(name.clone(), serde_json::Value::String(value));
            }
        }
    }
    Ok(())
}

/// Takes the secrets out of checked settings; the schema made each one a
/// string.
fn take_secrets(names: &[String], settings: &mut serde_json::Value) -> BTreeMap<String, String> {
    let Some(object) = settings.as_object_mut() else {
        return BTreeMap::new();
    };
    names
        .iter()
        .filter_map(|name| match object.remove(name)? {
            serde_json::Value::String(value) => Some((name.clone(), value)),
            _ => None,
        })
        .collect()
}

/// A plugin's state in a team; 404 when it is not enabled there.
#[utoipa::path(get, path = "/teams/{slug}/plugins/{id}", tag = "plugins",
    params(("slug" = String, Path, description = "team slug"), ("id" = String, Path, description = "plugin id")),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 200, body = InstallationOut), (status = 404, body = ErrorBody)))]
pub async fn get_installation(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
) -> ApiResult<Json<InstallationOut>> {
    state.stores.teams.team(&slug).await?;
    let installation = state.stores.plugins.installation(&slug, &id).await?;
    let manifest = state.stores.plugins.plugin(&id).await?.manifest;
    let base = public_base(&state, &headers);
    Ok(Json(out(&state, base.as_deref(), &installation, &manifest)))
}

/// The plugins enabled for a team.
#[utoipa::path(get, path = "/teams/{slug}/plugins", tag = "plugins", params(("slug" = String, Path, description = "team slug")),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 200, body = Vec<InstallationOut>), (status = 404, body = ErrorBody)))]
pub async fn list_installations(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<InstallationOut>>> {
    state.stores.teams.team(&slug).await?;
    let base = public_base(&state, &headers);
    let mut list = Vec::new();
    for installation in state.stores.plugins.installations(&slug).await? {
        let manifest = state.stores.plugins.plugin(&installation.plugin).await?.manifest;
        list.push(out(&state, base.as_deref(), &installation, &manifest));
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
