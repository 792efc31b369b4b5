//! Teams: unique slugs and aliases, edits, stages.

use std::sync::Arc;

use switchboard_core::{Priority, SlaPolicyDraft};

use super::{Harness, durable, open_ticket, team, with_team};
use crate::StoreError;

/// A team's slug and alias are each unique; a freed alias can be taken.
pub async fn slugs_and_aliases_are_unique<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Customer Care").await;
    let again = store.create_team(team("Customer  Care!"), None).await;
    assert!(matches!(&again, Err(StoreError::SlugTaken(s)) if s == "customer-care"), "{again:?}");

    let mut other = team("Billing");
    other.alias = "customer-care".into();
    let taken = store.create_team(other, None).await;
    assert!(matches!(&taken, Err(StoreError::AliasTaken { team, .. }) if team == "customer-care"), "{taken:?}");

    with_team(&*store, "Billing").await;
    let clash = store.update_team("billing", Arc::new(|t| t.set_alias("Customer-Care")), None).await;
    assert!(matches!(clash, Err(StoreError::AliasTaken { .. })), "{clash:?}");
    durable(store.update_team("billing", Arc::new(|t| t.set_alias("money")), None).await).await;
    assert_eq!(store.team_by_alias("MONEY").await.expect("lookup").map(|t| t.slug), Some("billing".into()));
    assert!(store.team_by_alias("billing").await.expect("lookup").is_none(), "old alias released");
    let mut care = team("Care");
    care.alias = "billing".into();
    durable(store.create_team(care, None).await).await;
    let slugs: Vec<String> = store.teams().await.expect("teams").into_iter().map(|t| t.slug).collect();
    assert_eq!(slugs, ["billing", "care", "customer-care"]);
    assert!(matches!(store.team("nope").await, Err(StoreError::UnknownTeam(s)) if s == "nope"));
}

/// An edit is read back at once, also by a reader that read the team
/// before; an edit that breaks a rule changes nothing.
pub async fn team_edits_are_kept_and_read_back<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Care").await;
    // Read first, so that a backend's cached copy exists before the change.
    assert_eq!(store.team("care").await.expect("team").name, "Care");
    durable(store.update_team("care", Arc::new(|t| t.set_alias("help")), None).await).await;
    assert_eq!(store.team("care").await.expect("team").alias, "help");

    let policy = SlaPolicyDraft { name: "Fast".into(), min_priority: Priority::High, target_stage: 3, hours: 4.0 };
    let add = Arc::new(move |t: &mut switchboard_core::Team| t.add_policy(policy.clone()).map(drop));
    durable(store.update_team("care", add, None).await).await;
    let refused = store
        .update_team(
            "care",
            Arc::new(|t| {
                t.rename("Renamed")?;
                t.set_alias("")
            }),
            None,
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Rule(_))), "{refused:?}");
    let care = store.team("care").await.expect("team");
    assert_eq!((care.name.as_str(), care.alias.as_str(), care.sla_policies.len()), ("Care", "help", 1));
}

/// A stage that holds tickets stays; an empty one can go.
pub async fn stage_with_tickets_cannot_be_removed<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    open_ticket(&*store, "ops", "x").await;
    let refused = store.remove_stage("ops", 1).await;
    assert!(matches!(refused, Err(StoreError::StageInUse { count: 1, .. })), "{refused:?}");
    durable(store.remove_stage("ops", 2).await).await;
    assert!(store.team("ops").await.expect("team").stage(2).is_err());
    assert_eq!(store.stage_counts("ops").await.expect("counts"), [(1, 1), (3, 0), (4, 0)]);
}

/// A stage removed while tickets are being opened into it: either the
/// removal is refused because a ticket got in first, or no ticket ends up
/// in the removed stage. Never a ticket in a stage the team lacks. Many
/// small races, each on a fresh team, since the window is a moment wide.
pub async fn no_ticket_enters_a_stage_while_it_is_removed<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    for round in 0..25 {
        let slug = with_team(&*store, &format!("Ops {round}")).await.slug;
        let mut openers = Vec::new();
        for t in 0..3 {
            let (store, slug) = (std::sync::Arc::clone(&store), slug.clone());
            openers.push(tokio::spawn(async move { open_ticket(&*store, &slug, &format!("opener {t}")).await }));
        }
        let removed = match store.remove_stage(&slug, 1).await {
            Ok(write) => write.durable().await.is_ok(),
            Err(StoreError::StageInUse { .. }) => false,
            Err(e) => panic!("unexpected {e:?}"),
        };
        for opener in openers {
            opener.await.expect("opener");
        }
        let team = store.team(&slug).await.expect("team");
        assert_eq!(removed, team.stage(1).is_err());
        let all = crate::TicketFilter { limit: 10, ..crate::TicketFilter::default() };
        for ticket in store.tickets(&slug, &all).await.expect("tickets") {
            assert!(
                team.stage(ticket.stage).is_ok(),
                "ticket {} is in stage {}, which team {slug} lacks",
                ticket.id,
                ticket.stage
            );
        }
    }
}
