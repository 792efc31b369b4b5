//! Triggers: an event moves a ticket in the write that records the event,
//! and the thread says which trigger moved it and why.

use std::sync::Arc;

use switchboard_core::{
    Author, MessageDraft, MessageKind, Priority, SlaPolicyDraft, StageRobot, TicketDraft, Trigger, TriggerEvent,
};

use super::{Harness, at, durable, with_team};
use crate::robot_runs::ROBOT_QUEUE;
use crate::{TeamEdit, TicketEdit};

fn on(event: TriggerEvent, to_stage: u32, from_stages: Vec<u32>) -> Trigger {
    Trigger { event, to_stage, from_stages }
}

/// Each event a trigger waits for moves the ticket in the same write, says
/// why in the thread, and starts the robots of the stage it enters; a
/// person's move resets the count of automatic moves.
pub async fn events_move_tickets_through_triggers<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let edit: TeamEdit = Arc::new(|team| {
        team.add_policy(SlaPolicyDraft {
            name: "Fast".into(),
            min_priority: Priority::High,
            target_stage: 3,
            hours: 4.0,
        })?;
        let robot = StageRobot { plugin: "sms".into(), settings: "{}".into(), after_previous: false, delay_seconds: 0 };
        team.set_stage_robots(2, vec![robot])?;
        team.set_triggers(vec![
            on(TriggerEvent::FormSubmitted, 2, vec![]),
            on(TriggerEvent::CustomerReplied, 2, vec![3]),
            on(TriggerEvent::PriorityBecame { priority: Priority::Urgent }, 2, vec![]),
            on(TriggerEvent::SlaBreached, 4, vec![]),
            on(TriggerEvent::ChannelMessage { channel: "whatsapp".into() }, 1, vec![2]),
        ])
    });
    durable(store.update_team("ops", edit, None).await).await;
    let lines = async |id| -> Vec<String> {
        let thread = store.messages(id).await.expect("thread");
        thread.into_iter().filter(|m| m.kind == MessageKind::Event).map(|m| m.body).collect()
    };

    // A form opens the ticket in New; the trigger moves it on in the same
    // write, and only the robots of the stage it ends in run.
    let form = TicketDraft { title: "Form".into(), origin: "web-form".into(), ..TicketDraft::default() };
    let t = durable(store.create_ticket("ops", form, None, Author::System, at(0), None).await).await;
    assert_eq!((t.stage, t.stage_entry, t.auto_moves), (2, 2, 1));
    assert_eq!(
        lines(t.id).await,
        [
            "Ticket created via web-form in stage New",
            "Stage changed from New to In Progress by a trigger: the web form was submitted",
        ]
    );
    let runs = durable(store.claim_jobs(ROBOT_QUEUE, "w", at(0), jiff::SignedDuration::from_mins(1), 10).await).await;
    assert_eq!(runs.iter().map(|j| j.key.clone()).collect::<Vec<_>>(), [format!("{}/2/0", t.id)]);

    // A person solves it; the customer writes again through WhatsApp: the
    // reply trigger (from Solved) reopens it. The channel trigger does not
    // apply from Solved.
    let solve = TicketEdit { stage: Some(3), ..TicketEdit::default() };
    let solved =
        durable(store.update_ticket(t.id, solve, Author::User { id: 1, name: "Ann".into() }, at(1), None).await).await;
    assert_eq!(solved.auto_moves, 0, "a person's move resets the count");
    let mut reply = MessageDraft::new(MessageKind::Customer, Author::System, "It broke again");
    reply.via = Some("whatsapp".into());
    durable(store.append_message(t.id, reply.clone(), at(2), None).await).await;
    let t2 = store.ticket(t.id).await.expect("ticket");
    assert_eq!((t2.stage, t2.auto_moves), (2, 1));
    assert!(
        lines(t.id)
            .await
            .contains(&"Stage changed from Solved to In Progress by a trigger: the customer replied".to_owned())
    );
    // Now in In Progress, another WhatsApp message sets off the channel
    // trigger (the reply trigger is only from Solved).
    durable(store.append_message(t.id, reply, at(2), None).await).await;
    assert_eq!(store.ticket(t.id).await.expect("ticket").stage, 1);
    let note = MessageDraft::new(MessageKind::Note, Author::System, "an agent's note sets nothing off");
    durable(store.append_message(t.id, note, at(2), None).await).await;
    assert_eq!(store.ticket(t.id).await.expect("ticket").stage, 1);

    // The priority becoming urgent moves it; becoming high does not.
    let high = TicketEdit { priority: Some(Priority::High), ..TicketEdit::default() };
    let t3 = durable(store.update_ticket(t.id, high, Author::System, at(3), None).await).await;
    assert_eq!(t3.stage, 1);
    let urgent = TicketEdit { priority: Some(Priority::Urgent), ..TicketEdit::default() };
    let t4 = durable(store.update_ticket(t.id, urgent, Author::System, at(3), None).await).await;
    assert_eq!(t4.stage, 2);
    assert!(lines(t.id).await.iter().any(|l| l.ends_with("by a trigger: the priority became urgent")));

    // Its SLA (urgent, 4 hours from the change at hour 3) breaches: the
    // breach trigger moves it to Cancelled.
    let breached = durable(store.breach_overdue(at(8)).await).await;
    assert_eq!(breached, [t.id]);
    let t5 = store.ticket(t.id).await.expect("ticket");
    assert_eq!(t5.stage, 4);
    let thread = lines(t.id).await;
    let moved = thread.iter().position(|l| l.ends_with("by a trigger: the SLA was breached")).expect("breach move");
    // Leaving In Progress cancels the robot the urgent move started.
    assert!(
        thread[moved + 1..].iter().any(|l| l.starts_with("Robot sms (#1 of stage In Progress) cancelled")),
        "{thread:?}"
    );
}

/// A conversation that ends sets off the "conversation ended" triggers of
/// the ticket made of it, in the write that ends it.
pub async fn a_conversation_that_ends_moves_its_ticket<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Care").await;
    let edit: TeamEdit = Arc::new(|team| team.set_triggers(vec![on(TriggerEvent::ConversationEnded, 3, vec![1])]));
    durable(store.update_team("care", edit, None).await).await;
    let id =
        durable(store.open_conversation(super::conversations::chat("care", "token-e", false), at(0)).await).await.id;
    let draft = TicketDraft { title: "Lost parcel".into(), origin: "live-chat".into(), ..TicketDraft::default() };
    let author = Author::Plugin { id: "live-chat".into() };
    let ticket = durable(store.conversation_ticket(id, draft, author, at(1)).await).await.ticket;
    assert_eq!(ticket.stage, 1);
    durable(store.change_conversation(id, switchboard_core::ConversationChange::End, at(2)).await).await;
    let moved = store.ticket(ticket.id).await.expect("ticket");
    assert_eq!(moved.stage, 3);
    let thread = store.messages(ticket.id).await.expect("thread");
    assert!(thread.iter().any(|m| m.body == "Stage changed from New to Solved by a trigger: the conversation ended"));
}

/// Plugins moving a ticket back and forth are stopped after a bounded
/// number of automatic moves, until a person moves it.
pub async fn automatic_moves_in_a_row_are_bounded<H: Harness>() {
    let h = H::new().await;
    let store = h.store();
    with_team(&*store, "Ops").await;
    let t = super::open_ticket(&*store, "ops", "Ping-pong").await;
    let robot = Author::Plugin { id: "robot".into() };
    let to = |stage| TicketEdit { stage: Some(stage), ..TicketEdit::default() };
    for i in 0..switchboard_core::MAX_AUTO_MOVES {
        durable(store.update_ticket(t.id, to(2 - i % 2), robot.clone(), at(0), None).await).await;
    }
    let refused = store.update_ticket(t.id, to(3), robot.clone(), at(0), None).await;
    assert!(
        matches!(&refused, Err(crate::StoreError::Rule(switchboard_core::CoreError::Conflict(m))) if m.contains("a person must move it")),
        "{:?}",
        refused.map(|_| ())
    );
    let person = Author::User { id: 1, name: "Ann".into() };
    durable(store.update_ticket(t.id, to(3), person, at(0), None).await).await;
    durable(store.update_ticket(t.id, to(4), robot, at(0), None).await).await;
}
