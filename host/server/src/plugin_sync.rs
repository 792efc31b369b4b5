//! Keeping the plugins each server has loaded in step with the store, when
//! several servers share one: the server that installs, upgrades or
//! removes a plugin says so on the bus, and every server then loads what
//! the store holds. The message is only a hint; after a gap in what the bus
//! delivered (see `switchboard_bus::Event::Gap`), a server compares every
//! plugin with the store.

use std::sync::Arc;

use switchboard_bus::{Bus, Event};
use switchboard_core::PluginRecord;
use switchboard_runtime::Runtime;
use switchboard_store::{PluginStore, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The subject on which a changed plugin's id is published.
pub(crate) const SUBJECT: &str = "switchboard.plugins.changed";

/// Tells the other servers about plugin changes.
#[derive(Clone)]
pub struct PluginSync {
    bus: Arc<dyn Bus>,
}

impl PluginSync {
    /// Announces changes on `bus`.
    pub(crate) fn new(bus: Arc<dyn Bus>) -> Self {
        PluginSync { bus }
    }

    /// Tells every server that `plugin` changed in the store. A failure is
    /// logged, not returned: the change is durable already, and servers
    /// that missed the hint read the store again after the bus's gap.
    pub(crate) async fn announce(&self, plugin: &str) {
        if let Err(e) = self.bus.publish(SUBJECT, plugin.as_bytes().to_vec()).await {
            tracing::warn!(plugin, error = %e, "cannot tell the other servers that a plugin changed");
        }
    }
}

/// Loads `plugin` as the store has it, unless that version is loaded
/// already, or unloads it if it is no longer installed.
async fn sync_one(store: &dyn PluginStore, runtime: &Runtime, plugin: &str) -> Result<(), StoreError> {
    match store.plugin(plugin).await {
        Ok(record) => load_if_changed(store, runtime, &record).await,
        Err(StoreError::UnknownPlugin(_)) => {
            unload_if_loaded(runtime, plugin);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Unloads a plugin another server removed.
fn unload_if_loaded(runtime: &Runtime, plugin: &str) {
    if runtime.loaded_version(plugin).is_some() {
        runtime.unload(plugin);
        tracing::info!(plugin, "unloaded a plugin another server removed");
    }
}

/// Loads `record`'s component unless that version is loaded already.
async fn load_if_changed(store: &dyn PluginStore, runtime: &Runtime, record: &PluginRecord) -> Result<(), StoreError> {
    let plugin = record.manifest.id.as_str();
    let wanted = (record.manifest.version.clone(), record.sha256.clone());
    if runtime.loaded_version(plugin).as_ref() == Some(&wanted) {
        return Ok(());
    }
    let wasm = store.plugin_code(plugin).await?;
    let (runtime, manifest) = (runtime.clone(), record.manifest.clone());
    match tokio::task::spawn_blocking(move || runtime.reload(&manifest, &wasm)).await {
        Ok(Ok(())) => tracing::info!(plugin, version = %wanted.0, "loaded a plugin another server installed"),
        Ok(Err(e)) => tracing::error!(plugin, error = %e, "cannot load a plugin another server installed"),
        Err(e) => tracing::error!(plugin, error = %e, "loading task failed"),
    }
    Ok(())
}

/// Compares every plugin, loaded or installed, with the store, reading
/// the records once.
async fn sync_all(store: &dyn PluginStore, runtime: &Runtime) -> Result<(), StoreError> {
    let records = store.plugins().await?;
    for record in &records {
        load_if_changed(store, runtime, record).await?;
    }
    for loaded in runtime.loaded_plugins() {
        if !records.iter().any(|r| r.manifest.id == loaded) {
            unload_if_loaded(runtime, &loaded);
        }
    }
    Ok(())
}

/// Follows the bus until `stop` turns true, and compares every plugin with
/// the store every `resync` as well (a safety net for an announcement that
/// could not be published). Subscribes before it returns, so that nothing
/// announced after start-up's own load is missed.
pub(crate) async fn follow(
    bus: &dyn Bus,
    store: Arc<dyn PluginStore>,
    runtime: Runtime,
    resync: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, switchboard_bus::BusError> {
    let mut events = bus.subscribe(SUBJECT).await?;
    Ok(tokio::spawn(async move {
        let resync = resync.max(std::time::Duration::from_millis(10));
        let mut resync = tokio::time::interval_at(tokio::time::Instant::now() + resync, resync);
        loop {
            let event = tokio::select! {
                event = events.next() => event,
                _ = resync.tick() => Some(Event::Gap),
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            let synced = match event {
                Some(Event::Message { payload, .. }) => {
                    let plugin = String::from_utf8_lossy(&payload).into_owned();
                    sync_one(&*store, &runtime, &plugin).await
                }
                Some(Event::Gap) => sync_all(&*store, &runtime).await,
                None => return,
            };
            if let Err(e) = synced {
                // The next announcement or gap tries again.
                tracing::error!(error = %e, "cannot read plugins to follow another server's change");
            }
        }
    }))
}
