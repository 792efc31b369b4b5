//! The demo team that `serve --demo` sets up, so that a first look at the
//! API has something to show.

use switchboard_core::{
    Author, ContactDraft, Email, PointKind, Priority, SlaPolicyDraft, Team, TeamDraft, TicketDraft, Timestamp,
};
use switchboard_store::{Store, StoreError};

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
