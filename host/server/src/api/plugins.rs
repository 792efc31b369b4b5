//! `/api/plugins`: installing, listing and removing plugins.

use std::sync::Arc;

use crate::extract::{Multipart, Path, Query};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use switchboard_core::{Manifest, PluginRecord, Team};
use utoipa::{IntoParams, ToSchema};

use crate::bundle::Bundle;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Admin;
use crate::failures::Failure;
use crate::installs::{InstallJob, Job};
use crate::json::Json;
use crate::manifest::parse_manifest;
use crate::plugins::Source;
use crate::state::AppState;

/// An installed plugin.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginOut {
    /// Unique id; channels answer on `/c/<team>/<id>/`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// `channel` or `robot`.
    pub kind: &'static str,
    /// Who made it.
    pub vendor: String,
    /// The WIT version it was built against.
    pub wit: String,
    /// What it asks to be allowed to do.
    pub capabilities: Vec<String>,
    /// A JSON Schema of its settings, if it has one.
    #[schema(value_type = Object)]
    pub settings_schema: Option<serde_json::Value>,
    /// SHA-256 of the component.
    pub sha256: String,
    /// The component's size in bytes.
    pub size: u64,
    /// Whether it ships with the server.
    pub bundled: bool,
    /// The vendor key (64 hex digits) whose signature was checked when it
    /// was installed from a signed bundle; absent when it was not.
    pub signed_by: Option<String>,
    /// How many teams have it enabled.
    pub enabled_in: u32,
    /// Whether the runtime has it loaded and callable.
    pub loaded: bool,
    /// When it was installed (RFC 3339).
    pub installed_at: String,
    /// When its component last changed (RFC 3339).
    pub updated_at: String,
    /// The teams whose installation has not decided on capabilities the
    /// plugin asks for since an upgrade: it runs there on its old grants.
    pub awaiting_grants: Vec<AwaitingGrants>,
}

/// An installation that an upgrade left with capabilities to decide on.
#[derive(Debug, Serialize, ToSchema)]
pub struct AwaitingGrants {
    /// The team's slug.
    pub team: String,
    /// The capabilities asked for that are neither granted nor declined.
    pub undecided: Vec<String>,
}

impl PluginOut {
    /// The wire form of a plugin, with the installations among `teams`
    /// that wait for an admin's decision on its capabilities.
    pub async fn new(record: &PluginRecord, state: &AppState, teams: &[Team]) -> ApiResult<Self> {
        let mut awaiting_grants = Vec::new();
        if record.enabled_in > 0 {
            for team in teams {
                let Ok(installation) = state.stores.plugins.installation(&team.slug, &record.manifest.id).await else {
                    continue;
                };
                let undecided = installation.undecided(&record.manifest);
                if !undecided.is_empty() {
                    let undecided = undecided.iter().map(ToString::to_string).collect();
                    awaiting_grants.push(AwaitingGrants { team: team.slug.clone(), undecided });
                }
            }
        }
        let m = &record.manifest;
        Ok(PluginOut {
            id: m.id.clone(),
            name: m.name.clone(),
            version: m.version.clone(),
            kind: m.kind.name(),
            vendor: m.vendor.clone(),
            wit: m.wit.clone(),
            capabilities: m.capabilities.iter().map(ToString::to_string).collect(),
            settings_schema: serde_json::from_str(&m.settings_schema).ok(),
            sha256: record.sha256.clone(),
            size: record.size,
            bundled: record.bundled,
            signed_by: record.signed_by.clone(),
            enabled_in: record.enabled_in,
            loaded: state.runtime.loaded_version(&m.id).is_some_and(|(_, sha)| sha == record.sha256),
            installed_at: record.installed_at.to_string(),
            updated_at: record.updated_at.to_string(),
            awaiting_grants,
        })
    }
}

/// The multipart body of an upload, for the OpenAPI document: a manifest
/// and a component, or one bundle.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PluginUpload {
    /// The manifest, as TOML (`plugin.toml`) or JSON.
    manifest: Option<String>,
    /// The WebAssembly component.
    #[schema(format = Binary)]
    component: Option<Vec<u8>>,
    /// A bundle made by `switchboard plugin pack` (and signed by `plugin
    /// sign`): manifest, component and README in one file.
    #[schema(format = Binary)]
    bundle: Option<Vec<u8>>,
}

/// How an upload is answered.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InstallQuery {
    /// Wait until the install has ended and answer as it ended (201, 200
    /// or the error), instead of 202 with the install job at once.
    #[serde(default)]
    pub wait: bool,
}

/// Installs a plugin from its manifest and component, or from a bundle, or
/// upgrades it when the id is installed: the new code serves the next call,
/// and every team keeps its settings and grants. The component must
/// implement the world of the manifest's kind. A bundle must be signed by
/// a trusted vendor key unless the server allows unsigned bundles; the
/// signature covers the manifest, so its capabilities cannot be widened.
///
/// The upload is checked at once (its parts, its manifest, a bundle's
/// signature); compiling can take a minute for a large component, so it
/// runs in the background at low priority, and the answer is 202 with the
/// install job, which `GET /api/plugin-installs/{job}` follows. With
/// `?wait=true` the answer waits for the end instead.
#[utoipa::path(post, path = "/plugins", tag = "plugins", params(InstallQuery),
    request_body(content = PluginUpload, content_type = "multipart/form-data"),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 202, description = "accepted: the install runs in the background", body = InstallJob),
        (status = 201, description = "installed (with wait)", body = PluginOut), (status = 200, description = "upgraded (with wait)", body = PluginOut),
        (status = 422, description = "bad manifest or component", body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 429, description = "too many installs have not ended", body = ErrorBody)))]
pub async fn install_plugin(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<InstallQuery>,
    Multipart(mut multipart): Multipart,
) -> ApiResult<Response> {
    let (mut manifest, mut component, mut bundle) = (None, None, None);
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("manifest") => {
                manifest = Some(field.text().await.map_err(multipart_error)?);
            }
            Some("component") => {
                component = Some(field.bytes().await.map_err(multipart_error)?);
            }
            Some("bundle") => {
                bundle = Some(field.bytes().await.map_err(multipart_error)?);
            }
            Some(other) => {
                return Err(ApiError::invalid(other, "unknown part; send manifest and component, or bundle"));
            }
            None => return Err(ApiError::bad_request("a multipart part has no name")),
        }
    }
    let (manifest, component, signed_by) = match (bundle, manifest, component) {
        (Some(bundle), None, None) => {
            let bundle = Bundle::parse(&bundle).map_err(|e| ApiError::invalid("bundle", e))?;
            let signed_by = bundle
                .verify(&state.trusted_keys, state.allow_unsigned_bundles)
                .map_err(|e| ApiError::invalid("bundle", e))?;
            (bundle.manifest, Bytes::from(bundle.component), signed_by)
        }
        (Some(_), _, _) => {
            return Err(ApiError::invalid("bundle", "send a bundle alone, without manifest or component"));
        }
        (None, manifest, component) => (
            manifest.ok_or_else(|| ApiError::invalid("manifest", "missing part"))?,
            component.ok_or_else(|| ApiError::invalid("component", "missing part"))?,
            None,
        ),
    };
    let manifest = parse_manifest(&manifest).map_err(|(field, reason)| ApiError::invalid(&field, reason))?;
    let job = state.installs.start(&manifest.id, &manifest.version, component.len() as u64)?;
    tokio::spawn(run_install(state.clone(), Arc::clone(&job), manifest, component.to_vec(), signed_by));
    if query.wait {
        job.ended().await;
        let view = job.view();
        let status =
            view.status.and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = view.plugin_record.or(view.error).unwrap_or_default();
        return Ok((status, Json(body)).into_response());
    }
    let view = job.view();
    let location = format!("/api/plugin-installs/{}", view.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], Json(view)).into_response())
}

/// Runs one install in its turn and ends its job with the answer.
async fn run_install(state: AppState, job: Arc<Job>, manifest: Manifest, wasm: Vec<u8>, signed_by: Option<String>) {
    let _turn = state.installs.turn.lock().await;
    let outcome = async {
        let upgrade = state.stores.plugins.plugin(&manifest.id).await.is_ok();
        let record = crate::plugins::install(
            &state.stores,
            &state.runtime,
            manifest,
            wasm,
            Source::Upload { signed_by },
            state.clock.now(),
            Some(&job),
        )
        .await?;
        tracing::info!(plugin = %record.manifest.id, version = %record.manifest.version, upgrade, "plugin installed");
        state.plugin_sync.announce(&record.manifest.id).await;
        let teams = state.stores.teams.teams().await?;
        let out = PluginOut::new(&record, &state, &teams).await?;
        let status = if upgrade { StatusCode::OK } else { StatusCode::CREATED };
        Ok::<_, ApiError>((status, serde_json::to_value(out).unwrap_or_default()))
    };
    match outcome.await {
        Ok((status, plugin)) => job.finish(status, Ok(plugin)),
        Err(e) => {
            tracing::warn!(plugin = %job.view().plugin, error = %e.detail(), "plugin install failed");
            job.finish(e.status(), Err(serde_json::to_value(e.body()).unwrap_or_default()));
        }
    }
}

/// An install's phase, and at its end the plugin or the error.
#[utoipa::path(get, path = "/plugin-installs/{job}", tag = "plugins", params(("job" = String, Path, description = "install job id")),
    responses((status = 200, body = InstallJob), (status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_install(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<InstallJob>> {
    let job = state.installs.get(&id).ok_or_else(|| {
        ApiError::not_found(format!("unknown install job \"{id}\"; jobs are kept in memory, the newest 100"))
    })?;
    Ok(Json(job.view()))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("the upload is over the plugin size limit")
    } else {
        ApiError::bad_request(format!("cannot read the multipart body: {}", e.body_text()))
    }
}

/// Lists installed plugins.
#[utoipa::path(get, path = "/plugins", tag = "plugins", responses((status = 200, body = Vec<PluginOut>)))]
pub async fn list_plugins(State(state): State<AppState>) -> ApiResult<Json<Vec<PluginOut>>> {
    let (records, teams) = (state.stores.plugins.plugins().await?, state.stores.teams.teams().await?);
    let mut list = Vec::with_capacity(records.len());
    for record in &records {
        list.push(PluginOut::new(record, &state, &teams).await?);
    }
    Ok(Json(list))
}

/// Shows one plugin.
#[utoipa::path(get, path = "/plugins/{id}", tag = "plugins", params(("id" = String, Path, description = "plugin id")),
    responses((status = 200, body = PluginOut), (status = 404, body = ErrorBody)))]
pub async fn get_plugin(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<PluginOut>> {
    let (record, teams) = (state.stores.plugins.plugin(&id).await?, state.stores.teams.teams().await?);
    Ok(Json(PluginOut::new(&record, &state, &teams).await?))
}

/// The plugin's newest failures on public routes, newest first: what an
/// anonymous caller got only a request id for. Kept in memory, up to 50.
#[utoipa::path(get, path = "/plugins/{id}/failures", tag = "plugins", params(("id" = String, Path, description = "plugin id")),
    responses((status = 200, body = Vec<Failure>), (status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn plugin_failures(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Failure>>> {
    state.stores.plugins.plugin(&id).await?;
    Ok(Json(state.failures.recent(&id)))
}

/// Uninstalls a plugin. Refused while a team has it enabled.
#[utoipa::path(delete, path = "/plugins/{id}", tag = "plugins", params(("id" = String, Path, description = "plugin id")),
    responses((status = 403, description = "the caller is not an admin", body = ErrorBody), (status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_plugin(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.stores.plugins.remove_plugin(&id).await?.durable().await?;
    state.runtime.unload(&id);
    state.plugin_sync.announce(&id).await;
    Ok(StatusCode::NO_CONTENT)
}
