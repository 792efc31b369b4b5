//! The demo team that `serve --demo` sets up, so that a first look shows
//! what the product does: SLA policies, a first ticket, and every channel
//! that ships with the server enabled with working settings, its public
//! page ready to try. Start-up then names the address of every public page.

use std::net::SocketAddr;

use switchboard_core::{
    Author, ContactDraft, Email, Installation, Limits, PluginKind, PointKind, Priority, PublicLimits, SlaPolicyDraft,
    Team, TeamDraft, TicketDraft, Timestamp,
};
use switchboard_runtime::{Runtime, Secrets};
use switchboard_store::{PluginStore, Store, StoreError, TeamStore};

use crate::settings_schema::SettingsSchema;

/// How many public pages start-up names; the rest are counted.
const NAMED_PAGES: usize = 20;

/// Creates the "Demo" team with two SLA policies and a first ticket,
/// unless a team with slug `demo` exists.
pub async fn ensure_demo_team(store: &dyn Store, now: Timestamp) -> Result<(), StoreError> {
    match store.team("demo").await {
        Ok(_) => return Ok(()),
        Err(StoreError::UnknownTeam(_)) => {}
        Err(e) => return Err(e),
    }
    let team = Team::new(TeamDraft { name: "Demo".into(), ..TeamDraft::default() }, now)?;
    store.create_team(team, None).await?.durable().await?;
    let policies: switchboard_store::TeamEdit = std::sync::Arc::new(|team| {
        let solved = team.find_stage("Solved")?.id;
        team.add_policy(SlaPolicyDraft {
            name: "Standard: 48 hours".into(),
            min_priority: Priority::Low,
            target_stage: solved,
            hours: 48.0,
        })?;
        team.add_policy(SlaPolicyDraft {
            name: "Urgent: 4 hours".into(),
            min_priority: Priority::Urgent,
            target_stage: solved,
            hours: 4.0,
        })?;
        Ok(())
    });
    store.update_team("demo", policies, None).await?.durable().await?;
    let draft = TicketDraft {
        title: "Welcome to Switchboard".into(),
        description: "This ticket was opened by the demo setup. Move it, change its priority, reply to it.".into(),
        priority: Some(Priority::Medium),
        origin: "demo".into(),
        ..TicketDraft::default()
    };
    let contact = ContactDraft {
        name: Some("Demo Customer".into()),
        emails: vec![Email { address: "customer@example.com".into(), kind: PointKind::Work }],
        ..ContactDraft::default()
    };
    store.create_ticket("demo", draft, Some(contact), Author::System, now, None).await?.durable().await?;
    tracing::info!("demo team created");
    Ok(())
}

/// Enables in the demo team every shipped channel that is not enabled
/// there, granting what it asks for, with the settings its schema's
/// defaults give (`{}`), once the plugin itself accepts them. Runs at every
/// `--demo` start, so that a channel a new version ships shows up too.
pub async fn enable_shipped_channels(store: &dyn Store, runtime: &Runtime, now: Timestamp) -> Result<(), StoreError> {
    for record in store.plugins().await? {
        let manifest = &record.manifest;
        if !record.bundled || manifest.kind != PluginKind::Channel {
            continue;
        }
        match store.installation("demo", &manifest.id).await {
            Ok(_) => continue,
            Err(StoreError::NotEnabled { .. }) => {}
            Err(e) => return Err(e),
        }
        let settings = serde_json::json!({});
        let schema_ok = SettingsSchema::compile(&manifest.settings_schema).and_then(|s| s.check(&settings));
        let plugin_ok = runtime.validate_settings(&manifest.id, "{}", &Secrets::default()).await;
        if let Err(e) = schema_ok.map_err(|e| e.to_string()).and(plugin_ok.map_err(|e| e.to_string())) {
            tracing::warn!(plugin = %manifest.id, error = %e, "a shipped channel needs settings; not enabled in the demo team");
            continue;
        }
        let installation = Installation {
            team: "demo".into(),
            plugin: manifest.id.clone(),
            settings: settings.to_string(),
            secrets: Default::default(),
            grants: manifest.capabilities.clone(),
            declined: Vec::new(),
            limits: Limits::default(),
            public_limits: PublicLimits::default(),
            enabled_at: now,
            updated_at: now,
        };
        store.put_installation(installation).await?.durable().await?;
        tracing::info!(plugin = %manifest.id, "enabled a shipped channel in the demo team");
    }
    Ok(())
}

/// Logs the address of every channel's public page, so that whoever started
/// the server can open them: at most [`NAMED_PAGES`], then how many more.
/// A channel that receives e-mail is reached by mail, not by a page: its
/// team's address is logged instead.
pub async fn announce_public_pages(
    teams: &dyn TeamStore,
    plugins: &dyn PluginStore,
    runtime: &switchboard_runtime::Runtime,
    mail_domain: &str,
    addr: SocketAddr,
) -> Result<(), StoreError> {
    // A server listening on every address is reached on this machine at
    // the loopback address.
    let host = if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    // Which plugins are channels, read once rather than per installation.
    let channels: std::collections::HashSet<String> = plugins
        .plugins()
        .await?
        .into_iter()
        .filter(|p| p.manifest.kind == PluginKind::Channel)
        .map(|p| p.manifest.id)
        .collect();
    tracing::info!("consoles: http://{host}/ (sign in with a user's token)");
    let mut pages = Vec::new();
    for team in teams.teams().await? {
        for installation in plugins.installations(&team.slug).await? {
            if !channels.contains(&installation.plugin) {
                continue;
            }
            if runtime.handles_mail(&installation.plugin) {
                tracing::info!("mail to: {}@{mail_domain} ({})", team.alias, installation.plugin);
            } else {
                pages.push(format!("http://{host}/c/{}/{}/", team.slug, installation.plugin));
            }
        }
    }
    for page in pages.iter().take(NAMED_PAGES) {
        tracing::info!("public page: {page}");
    }
    if pages.len() > NAMED_PAGES {
        tracing::info!(
            "and {} more public pages; GET /api/teams/{{slug}}/plugins lists them",
            pages.len() - NAMED_PAGES
        );
    }
    Ok(())
}
