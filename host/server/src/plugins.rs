//! Installing plugins: checking a component against its world, keeping it
//! in the store, and loading every installed and shipped plugin at start.

use switchboard_core::{Manifest, PluginRecord, Team, Timestamp};
use switchboard_runtime::Runtime;
use switchboard_store::{PluginStore, StoreError, Stores};

use crate::config::BundledPlugin;
use crate::error::ApiError;
use crate::installs::{Job, Phase};
use crate::manifest::parse_manifest;

/// Where an installed plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// It ships with the server.
    Shipped,
    /// An admin uploaded it; from a bundle signed by this key (hex), if
    /// signed.
    Upload {
        /// The vendor key whose signature was checked.
        signed_by: Option<String>,
    },
}

/// Compiles and links `wasm` (on a thread of its own at low priority:
/// compiling takes a while), checks it, then records the plugin, telling
/// `job` each phase. Re-installing an id upgrades it: the
/// new code serves the next call, and installations keep their settings.
pub async fn install(
    stores: &Stores,
    runtime: &Runtime,
    manifest: Manifest,
    wasm: Vec<u8>,
    source: Source,
    now: Timestamp,
    job: Option<&Job>,
) -> Result<PluginRecord, ApiError> {
    let enter = |phase| job.inspect(|j| j.enter(phase));
    enter(Phase::Compiling);
    let (wasm, prepared) = runtime.prepare_in_background(manifest.clone(), wasm).await;
    let prepared = prepared?;
    enter(Phase::Checking);
    let described = runtime.describe_prepared(&prepared).await?;
    check_described_schema(&manifest.settings_schema, &described.settings_schema)?;
    enter(Phase::Recording);
    let record = PluginRecord {
        sha256: switchboard_runtime::sha256_hex(&wasm),
        size: wasm.len() as u64,
        manifest,
        bundled: source == Source::Shipped,
        signed_by: match source {
            Source::Upload { signed_by } => signed_by,
            Source::Shipped => None,
        },
        enabled_in: 0,
        installed_at: now,
        updated_at: now,
    };
    let record = stores.plugins.put_plugin(record, wasm).await?.durable().await?;
    let teams = stores.teams.teams().await?;
    forget_unrequested_grants(&teams, &*stores.plugins, &record.manifest, now).await?;
    // Serving only once the record is durable, so the version that answers
    // is never one the store could lose.
    runtime.activate(prepared);
    Ok(record)
}

/// Makes every installation of `manifest`'s plugin forget the grants and
/// refusals of capabilities it no longer asks for (see
/// `Installation::forget_unrequested`). Run after an upgrade, and at start
/// for an upgrade a crash interrupted; the runtime ignores such grants
/// meanwhile. Says how many installations changed.
pub async fn forget_unrequested_grants(
    teams: &[Team],
    store: &dyn PluginStore,
    manifest: &Manifest,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut changed = 0;
    for team in teams {
        let mut installation = match store.installation(&team.slug, &manifest.id).await {
            Ok(installation) => installation,
            Err(StoreError::NotEnabled { .. } | StoreError::UnknownTeam(_)) => continue,
            Err(e) => return Err(e),
        };
        if installation.forget_unrequested(manifest) {
            installation.updated_at = now;
            store.put_installation(installation).await?.durable().await?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// The manifest's `settings_schema` is the one schema the host enforces
/// and shows; `describe()` may return it again or nothing, but not another,
/// which would leave a plugin author guessing which one counts.
fn check_described_schema(manifest: &str, described: &str) -> Result<(), ApiError> {
    if described.trim().is_empty() {
        return Ok(());
    }
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    if parse(manifest).is_some_and(|m| Some(m) == parse(described)) {
        return Ok(());
    }
    Err(ApiError::invalid(
        "manifest.settings_schema",
        "differs from the schema the plugin's describe() returns; the manifest's is the one the host enforces, so put the schema in plugin.toml and return an empty one from describe()",
    ))
}

/// Loads every installed plugin into the runtime. Precompiled forms come
/// from the cache, so nothing is recompiled after a restart. A plugin that
/// fails to load is logged and stays installed; its calls answer 503.
pub async fn load_installed(stores: &Stores, runtime: &Runtime, now: Timestamp) -> Result<(), StoreError> {
    let store = &*stores.plugins;
    // One read of the teams for every plugin: start-up stays quick.
    let teams = stores.teams.teams().await?;
    for record in store.plugins().await? {
        let forgotten = forget_unrequested_grants(&teams, store, &record.manifest, now).await?;
        if forgotten > 0 {
            tracing::info!(plugin = %record.manifest.id, installations = forgotten, "forgot grants the plugin no longer asks for");
        }
        let wasm = store.plugin_code(&record.manifest.id).await?;
        let runtime = runtime.clone();
        let manifest = record.manifest.clone();
        let loaded = tokio::task::spawn_blocking(move || runtime.reload(&manifest, &wasm)).await;
        match loaded {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(plugin = %record.manifest.id, error = %e, "cannot load installed plugin")
            }
            Err(e) => {
                tracing::error!(plugin = %record.manifest.id, error = %e, "loading task failed")
            }
        }
    }
    Ok(())
}

/// Installs the plugins that ship with the server, and upgrades an
/// installed one when the shipped version is newer or, at the same version,
/// its component or manifest differs. A newer version an admin installed is kept.
pub async fn install_bundled(
    stores: &Stores,
    runtime: &Runtime,
    sync: &crate::plugin_sync::PluginSync,
    bundled: &[BundledPlugin],
    now: Timestamp,
) {
    let store = &*stores.plugins;
    for plugin in bundled {
        let manifest = match parse_manifest(&plugin.manifest) {
            Ok(m) => m,
            Err((field, reason)) => {
                tracing::error!(field, reason, "a shipped plugin has a bad manifest");
                continue;
            }
        };
        let sha256 = switchboard_runtime::sha256_hex(&plugin.wasm);
        let wanted = match store.plugin(&manifest.id).await {
            Ok(installed) => {
                installed.manifest.is_older_than(&manifest.version)
                    || (installed.manifest.version == manifest.version
                        && (installed.sha256 != sha256 || installed.manifest != manifest))
            }
            Err(StoreError::UnknownPlugin(_)) => true,
            Err(e) => {
                tracing::error!(error = %e, "cannot read installed plugins");
                continue;
            }
        };
        if !wanted {
            continue;
        }
        let (id, version) = (manifest.id.clone(), manifest.version.clone());
        match install(stores, runtime, manifest, plugin.wasm.clone(), Source::Shipped, now, None).await {
            Ok(_) => {
                tracing::info!(plugin = %id, version = %version, "installed shipped plugin");
                sync.announce(&id).await;
            }
            Err(e) => tracing::error!(plugin = %id, error = ?e, "cannot install shipped plugin"),
        }
    }
}
