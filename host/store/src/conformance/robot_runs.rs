//! Robot runs: a stage entry enqueues them in its own write, and a leave
//! cancels those nobody started, saying so in the thread.

use std::sync::Arc;

use jiff::SignedDuration;
use switchboard_core::{Author, MessageKind, StageRobot};

use super::{Harness, at, durable, open_ticket, with_team};
use crate::robot_runs::{ROBOT_QUEUE, RobotRun};
use crate::{JobState, TicketEdit};

fn robot(plugin: &str, after_previous: bool) -> StageRobot {
    StageRobot { plugin: plugin.into(), settings: "{}".into(), after_previous, delay_seconds: 0 }
}

/// Entering a stage with robots enqueues the runs that wait for nobody,
/// with the stage change; leaving cancels the pending ones (and the chain
/// behind each) but not one already claimed, and writes every cancelled
/// robot into the thread. Opening a ticket enters its first stage.
pub async fn a_stage_entry_enqueues_its_robots_and_a_leave_cancels_them<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let robots = vec![robot("sms", false), robot("call", true), robot("mail", false)];
    let edit: crate::TeamEdit = Arc::new(move |team| {
        team.set_stage_robots(1, vec![robot("greeter", false)])?;
        team.set_stage_robots(2, robots.clone())
    });
    durable(store.update_team("ops", edit, None).await).await;

    let ticket = open_ticket(&*store, "ops", "Printer on fire").await;
    let opening = durable(store.claim_jobs(ROBOT_QUEUE, "w", at(0), SignedDuration::from_mins(1), 10).await).await;
    assert_eq!(opening.len(), 1, "opening enters the first stage, whose one robot runs");
    let greeter = RobotRun::decode(&opening[0].payload).expect("run");
    assert_eq!((greeter.robot.plugin.as_str(), greeter.entry, greeter.stage), ("greeter", 1, 1));

    let moved = TicketEdit { stage: Some(2), ..TicketEdit::default() };
    let ticket = durable(store.update_ticket(ticket.id, moved, Author::System, at(0), None).await).await;
    assert_eq!(ticket.stage_entry, 2);
    // The entry's runs: sms and mail now, call (after sms) not yet.
    let lease = SignedDuration::from_mins(1);
    let first = durable(store.claim_jobs(ROBOT_QUEUE, "w", at(0), lease, 1).await).await;
    assert_eq!(first.len(), 1);
    let sms = RobotRun::decode(&first[0].payload).expect("run");
    assert_eq!((sms.robot.plugin.as_str(), sms.position, sms.then.len()), ("sms", 0, 1));

    // Leaving while sms runs (claimed for a minute) and mail waits: mail
    // is cancelled, sms is left to finish, and call never became a job.
    let back = TicketEdit { stage: Some(3), ..TicketEdit::default() };
    let left_at = at(0) + SignedDuration::from_secs(30);
    durable(store.update_ticket(ticket.id, back, Author::System, left_at, None).await).await;
    let later = durable(store.claim_jobs(ROBOT_QUEUE, "w", at(1), lease, 10).await).await;
    let mut keys: Vec<_> = later.iter().map(|j| j.key.clone()).collect();
    keys.sort();
    let expected = [format!("{}/1/0", ticket.id), format!("{}/2/0", ticket.id)];
    assert_eq!(keys, expected, "only the started runs are left (greeter and sms), once their leases lapse");
    let thread = store.messages(ticket.id).await.expect("thread");
    let events: Vec<_> = thread.iter().filter(|m| m.kind == MessageKind::Event).map(|m| m.body.as_str()).collect();
    let cancelled: Vec<_> = events.iter().filter(|b| b.contains("cancelled")).collect();
    assert_eq!(cancelled.len(), 1, "mail is cancelled; the running sms is not: {events:?}");
    assert!(cancelled[0].starts_with("Robot mail (#3 of stage In Progress) cancelled"), "{cancelled:?}");
    assert!(store.job(first[0].id).await.expect("job").state == JobState::Pending);
}

/// A cancelled run that had robots waiting behind it writes them into
/// the thread as cancelled too; coming back to the stage starts afresh.
pub async fn a_cancelled_run_takes_its_chain_and_a_new_entry_starts_afresh<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let robots = vec![robot("sms", false), robot("call", true), robot("mail", true)];
    let edit: crate::TeamEdit = Arc::new(move |team| team.set_stage_robots(2, robots.clone()));
    durable(store.update_team("ops", edit, None).await).await;
    let ticket = open_ticket(&*store, "ops", "Printer on fire").await;
    let to = |stage| TicketEdit { stage: Some(stage), ..TicketEdit::default() };
    durable(store.update_ticket(ticket.id, to(2), Author::System, at(0), None).await).await;
    durable(store.update_ticket(ticket.id, to(1), Author::System, at(0), None).await).await;
    let thread = store.messages(ticket.id).await.expect("thread");
    let cancelled = thread.iter().filter(|m| m.body.contains("cancelled")).count();
    assert_eq!(cancelled, 3, "sms, and call and mail behind it");
    let ticket = durable(store.update_ticket(ticket.id, to(2), Author::System, at(0), None).await).await;
    assert_eq!(ticket.stage_entry, 4);
    let claimed = durable(store.claim_jobs(ROBOT_QUEUE, "w", at(0), SignedDuration::from_mins(1), 10).await).await;
    let keys: Vec<_> = claimed.iter().map(|j| j.key.clone()).collect();
    assert_eq!(keys, [format!("{}/4/0", ticket.id)], "the new entry's run, and nothing of the cancelled one");
}
