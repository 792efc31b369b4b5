//! Plugins and their installations.

use switchboard_core::{Capability, Installation, Limits, Manifest, PluginKind, PluginRecord};

use super::{Harness, at, durable, with_team};
use crate::{Store, StoreError};

fn record(id: &str) -> PluginRecord {
    PluginRecord {
        manifest: Manifest {
            id: id.into(),
            name: "Form".into(),
            version: "1.0.0".into(),
            kind: PluginKind::Channel,
            vendor: "us".into(),
            wit: "0.1.0".into(),
            capabilities: vec![Capability::Tickets, Capability::Storage],
            settings_schema: String::new(),
        },
        sha256: "00".into(),
        size: 1,
        bundled: false,
        signed_by: None,
        enabled_in: 0,
        installed_at: at(0),
        updated_at: at(0),
    }
}

/// An installation of "form" granting `grants` and declining the rest of
/// what its manifest asks for.
fn install(settings: &str, grants: Vec<Capability>) -> Installation {
    let declined = record("form").manifest.capabilities.into_iter().filter(|c| !grants.contains(c)).collect();
    Installation {
        team: "care".into(),
        plugin: "form".into(),
        settings: settings.into(),
        secrets: std::collections::BTreeMap::new(),
        grants,
        declined,
        limits: Limits::default(),
        public_limits: Default::default(),
        enabled_at: at(1),
        updated_at: at(1),
    }
}

async fn installed(store: &dyn Store) {
    with_team(store, "Care").await;
    durable(store.put_plugin(record("form"), vec![1, 2, 3]).await).await;
}

/// Enabling, editing and disabling are each read back at once; a grant the
/// manifest did not ask for is refused.
pub async fn installations_follow_every_change<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    installed(&*store).await;
    assert!(matches!(store.installation("care", "form").await, Err(StoreError::NotEnabled { .. })));
    durable(store.put_installation(install("{}", vec![Capability::Tickets])).await).await;
    assert_eq!(store.installation("care", "form").await.expect("enabled").grants, vec![Capability::Tickets]);
    let both = vec![Capability::Tickets, Capability::Storage];
    durable(store.put_installation(install(r#"{"a":1}"#, both.clone())).await).await;
    let now = store.installation("care", "form").await.expect("enabled");
    assert_eq!((now.settings.as_str(), now.grants), (r#"{"a":1}"#, both.clone()));
    assert_eq!(now.enabled_at, at(1));
    // Sealed secrets and public route limits are kept as given.
    let sealed = std::collections::BTreeMap::from([("key".to_owned(), "v1:c2VhbGVk".to_owned())]);
    let public_limits = switchboard_core::PublicLimits { rate: Some(200), burst: None, body_bytes: Some(4096) };
    let with_secret = Installation { secrets: sealed.clone(), public_limits, ..install(r#"{"a":1}"#, both.clone()) };
    durable(store.put_installation(with_secret.clone()).await).await;
    assert_eq!(store.installation("care", "form").await.expect("enabled"), with_secret);
    assert_eq!(store.installations("care").await.expect("list").len(), 1);
    assert_eq!(store.plugin("form").await.expect("plugin").enabled_in, 1);
    let extra = install("{}", vec![Capability::parse("http:example.com").expect("cap")]);
    assert!(matches!(store.put_installation(extra).await, Err(StoreError::Rule(_))));
    // Every capability the manifest asks for is granted or declined.
    let undecided = Installation { declined: Vec::new(), ..install("{}", vec![Capability::Tickets]) };
    assert!(matches!(store.put_installation(undecided).await, Err(StoreError::Rule(_))));
    durable(store.remove_installation("care", "form").await).await;
    assert!(matches!(store.installation("care", "form").await, Err(StoreError::NotEnabled { .. })));
    assert_eq!(store.plugin("form").await.expect("plugin").enabled_in, 0);
    assert!(matches!(store.remove_installation("care", "form").await, Err(StoreError::NotEnabled { .. })));
}

/// A plugin's code is kept beside its record; a plugin some team uses
/// cannot be uninstalled; an upgrade keeps its first install time.
pub async fn plugins_in_use_cannot_be_removed<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    installed(&*store).await;
    assert_eq!(store.plugin_code("form").await.expect("code"), [1, 2, 3]);
    durable(store.put_installation(install("{}", vec![])).await).await;
    let refused = store.remove_plugin("form").await;
    assert!(matches!(refused, Err(StoreError::PluginInUse { teams: 1, .. })), "{refused:?}");
    let mut upgrade = record("form");
    upgrade.installed_at = at(5);
    upgrade.manifest.version = "1.1.0".into();
    let kept = durable(store.put_plugin(upgrade, vec![4]).await).await;
    assert_eq!((kept.installed_at, kept.enabled_in), (at(0), 1));
    assert_eq!(store.plugin_code("form").await.expect("code"), [4]);
    durable(store.remove_installation("care", "form").await).await;
    durable(store.remove_plugin("form").await).await;
    assert!(matches!(store.plugin("form").await, Err(StoreError::UnknownPlugin(_))));
    assert!(matches!(store.plugin_code("form").await, Err(StoreError::UnknownPlugin(_))));
    assert!(store.plugins().await.expect("list").is_empty());
}
