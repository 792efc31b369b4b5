//! Triggers: an event on a ticket moves it to a stage.
//!
//! A team keeps an ordered list of triggers. When something happens to a
//! ticket (a customer replies, its priority changes, its SLA is
//! breached…), the first trigger for that event whose "from" stages
//! include the ticket's stage (or that names none) moves the ticket. The
//! store applies it in the same write as the event.
//!
//! Moves made by triggers and by plugins (a robot may move a ticket) are
//! automatic; a ticket counts them since a person last moved it. Two
//! stages whose triggers or robots send a ticket back and forth would
//! otherwise move it forever: past [`MAX_AUTO_MOVES`] in a row, a trigger
//! no longer moves it, and says so in the thread.

use serde::{Deserialize, Serialize};

use crate::{CoreError, Priority, StageId, Team, Ticket, TicketChange, Timestamp};

/// The most triggers a team may have.
pub const MAX_TRIGGERS: usize = 32;

/// The most automatic moves in a row (by triggers or plugins) before
/// triggers stop moving a ticket until a person moves it.
pub const MAX_AUTO_MOVES: u32 = 8;

/// The origin of tickets opened through the shipped web form.
pub const WEB_FORM_ORIGIN: &str = "web-form";

/// What happened to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TriggerEvent {
    /// The customer wrote again on an open ticket.
    CustomerReplied,
    /// A ticket was opened, or a customer wrote, through a channel.
    ChannelMessage {
        /// The channel plugin's id, or `api`.
        channel: String,
    },
    /// A ticket was opened through the web form.
    FormSubmitted,
    /// The priority changed to this one.
    PriorityBecame {
        /// The new priority.
        priority: Priority,
    },
    /// The SLA deadline passed.
    SlaBreached,
    /// The live conversation the ticket was made of ended.
    ConversationEnded,
}

impl TriggerEvent {
    /// How the thread says it.
    pub fn describe(&self) -> String {
        match self {
            TriggerEvent::CustomerReplied => "the customer replied".into(),
            TriggerEvent::ChannelMessage { channel } => format!("a message came through {channel}"),
            TriggerEvent::FormSubmitted => "the web form was submitted".into(),
            TriggerEvent::PriorityBecame { priority } => format!("the priority became {}", priority.name()),
            TriggerEvent::SlaBreached => "the SLA was breached".into(),
            TriggerEvent::ConversationEnded => "the conversation ended".into(),
        }
    }

    /// The events of a ticket opened through `origin`.
    pub fn opened(origin: &str) -> Vec<TriggerEvent> {
        let mut events = vec![TriggerEvent::ChannelMessage { channel: origin.to_owned() }];
        if origin == WEB_FORM_ORIGIN {
            events.push(TriggerEvent::FormSubmitted);
        }
        events
    }

    /// The events of an edit that changed `old` into `new`: a new
    /// priority.
    pub fn edited(old: &Ticket, new: &Ticket) -> Vec<TriggerEvent> {
        let mut events = Vec::new();
        if new.priority != old.priority {
            events.push(TriggerEvent::PriorityBecame { priority: new.priority });
        }
        events
    }

    /// The events of a customer message on an open ticket, through
    /// `channel` if known.
    pub fn customer_wrote(channel: Option<&str>) -> Vec<TriggerEvent> {
        let mut events = vec![TriggerEvent::CustomerReplied];
        events.extend(channel.map(|c| TriggerEvent::ChannelMessage { channel: c.to_owned() }));
        events
    }
}

/// One trigger of a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The event it waits for.
    pub event: TriggerEvent,
    /// The stage it moves the ticket to.
    pub to_stage: StageId,
    /// The stages it moves tickets from; empty for any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_stages: Vec<StageId>,
}

/// What a trigger did to a ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum Triggered {
    /// It moved the ticket; the changes go into the thread.
    Moved(Vec<TicketChange>),
    /// It would have moved the ticket, but too many automatic moves came
    /// before; the text goes into the thread.
    CutOff(String),
}

impl Team {
    /// Replaces the team's triggers. Every stage they name must exist.
    pub fn set_triggers(&mut self, triggers: Vec<Trigger>) -> Result<(), CoreError> {
        if triggers.len() > MAX_TRIGGERS {
            return Err(CoreError::invalid(
                "triggers",
                format!("{} triggers given; a team has at most {MAX_TRIGGERS}", triggers.len()),
            ));
        }
        for (i, t) in triggers.iter().enumerate() {
            for stage in std::iter::once(&t.to_stage).chain(&t.from_stages) {
                if self.stage(*stage).is_err() {
                    return Err(CoreError::invalid("triggers", format!("trigger {i} names unknown stage {stage}")));
                }
            }
            if let TriggerEvent::ChannelMessage { channel } = &t.event {
                crate::clean_name("channel", channel)?;
            }
        }
        self.triggers = triggers;
        Ok(())
    }

    /// The first trigger for one of `events` that would move `ticket`
    /// from its stage to another.
    pub fn trigger_for(&self, events: &[TriggerEvent], ticket: &Ticket) -> Option<&Trigger> {
        self.triggers.iter().find(|t| {
            events.contains(&t.event)
                && t.to_stage != ticket.stage
                && (t.from_stages.is_empty() || t.from_stages.contains(&ticket.stage))
                && self.stage(t.to_stage).is_ok()
        })
    }
}

impl Ticket {
    /// Applies the team's first trigger for `events`, if one applies: the
    /// ticket moves (an automatic move), or, past [`MAX_AUTO_MOVES`]
    /// automatic moves in a row, stays and the result says why.
    pub fn apply_triggers(&mut self, team: &Team, events: &[TriggerEvent], now: Timestamp) -> Option<Triggered> {
        let trigger = team.trigger_for(events, self)?;
        let to = team.stage(trigger.to_stage).map(|s| s.name.clone()).unwrap_or_default();
        if self.auto_moves >= MAX_AUTO_MOVES {
            return Some(Triggered::CutOff(format!(
                "Trigger not applied: {} would move the ticket to {to}, but it was moved automatically {} times in a row; a person must move it now",
                trigger.event.describe(),
                self.auto_moves
            )));
        }
        let because = trigger.event.describe();
        let changes = self.move_to_stage(trigger.to_stage, team, now).ok()?;
        self.auto_moves += 1;
        let mut described = Vec::with_capacity(changes.len());
        for change in changes {
            described.push(match change {
                TicketChange::Stage { from, to } => TicketChange::TriggeredStage { from, to, because: because.clone() },
                other => other,
            });
        }
        Some(Triggered::Moved(described))
    }

    /// Counts a move just made: a person's resets the count of automatic
    /// moves, anything else's (a plugin's) adds one. Past
    /// [`MAX_AUTO_MOVES`] in a row an automatic move is refused, so that
    /// robots that send a ticket back and forth stop.
    pub fn count_move(&mut self, by_person: bool) -> Result<(), CoreError> {
        if by_person {
            self.auto_moves = 0;
            return Ok(());
        }
        if self.auto_moves >= MAX_AUTO_MOVES {
            return Err(CoreError::Conflict(format!(
                "ticket {} was moved automatically {} times in a row; a person must move it now",
                self.id, self.auto_moves
            )));
        }
        self.auto_moves += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TeamDraft, TicketDraft};

    fn team_with(triggers: Vec<Trigger>) -> Team {
        let mut team =
            Team::new(TeamDraft { name: "Ops".into(), slug: None, alias: None }, Timestamp::UNIX_EPOCH).expect("team");
        team.set_triggers(triggers).expect("triggers");
        team
    }

    fn ticket(team: &Team) -> Ticket {
        let draft = TicketDraft { title: "Help".into(), origin: "api".into(), ..TicketDraft::default() };
        Ticket::open(1, team, draft, None, Timestamp::UNIX_EPOCH).expect("ticket")
    }

    fn on(event: TriggerEvent, to_stage: StageId, from_stages: Vec<StageId>) -> Trigger {
        Trigger { event, to_stage, from_stages }
    }

    #[test]
    fn the_first_trigger_for_the_event_from_the_stage_moves_the_ticket_and_says_why() {
        let team = team_with(vec![
            on(TriggerEvent::CustomerReplied, 3, vec![4]),
            on(TriggerEvent::CustomerReplied, 2, vec![]),
            on(TriggerEvent::CustomerReplied, 4, vec![]),
        ]);
        let mut t = ticket(&team);
        let moved = t.apply_triggers(&team, &TriggerEvent::customer_wrote(None), Timestamp::UNIX_EPOCH);
        let Some(Triggered::Moved(changes)) = moved else { panic!("moved: {moved:?}") };
        assert_eq!((t.stage, t.stage_entry, t.auto_moves), (2, 2, 1));
        assert_eq!(changes[0].describe(), "Stage changed from New to In Progress by a trigger: the customer replied");
        // From stage 2 the first trigger does not apply (from 4 only), and
        // the second would not move it: the third does.
        t.apply_triggers(&team, &[TriggerEvent::CustomerReplied], Timestamp::UNIX_EPOCH);
        assert_eq!(t.stage, 4);
        // Other events do nothing.
        assert!(t.apply_triggers(&team, &[TriggerEvent::SlaBreached], Timestamp::UNIX_EPOCH).is_none());
    }

    #[test]
    fn automatic_moves_are_cut_off_in_a_loop_until_a_person_moves_the_ticket() {
        let team =
            team_with(vec![on(TriggerEvent::SlaBreached, 2, vec![1]), on(TriggerEvent::SlaBreached, 1, vec![2])]);
        let mut t = ticket(&team);
        for _ in 0..MAX_AUTO_MOVES {
            let moved = t.apply_triggers(&team, &[TriggerEvent::SlaBreached], Timestamp::UNIX_EPOCH);
            assert!(matches!(moved, Some(Triggered::Moved(_))));
        }
        let stage = t.stage;
        let cut = t.apply_triggers(&team, &[TriggerEvent::SlaBreached], Timestamp::UNIX_EPOCH);
        let Some(Triggered::CutOff(why)) = cut else { panic!("cut off: {cut:?}") };
        assert!(why.contains("moved automatically 8 times in a row"), "{why}");
        assert_eq!(t.stage, stage, "it stays");
        assert!(t.count_move(false).is_err(), "a plugin's move is refused too");
        t.count_move(true).expect("a person may always move it");
        assert!(matches!(
            t.apply_triggers(&team, &[TriggerEvent::SlaBreached], Timestamp::UNIX_EPOCH),
            Some(Triggered::Moved(_))
        ));
    }

    #[test]
    fn triggers_name_stages_that_exist_and_a_named_stage_stays() {
        let mut team = team_with(vec![]);
        let err = team.set_triggers(vec![on(TriggerEvent::FormSubmitted, 9, vec![])]).expect_err("unknown stage");
        assert_eq!(err.to_string(), "triggers: trigger 0 names unknown stage 9");
        team.set_triggers(vec![on(TriggerEvent::FormSubmitted, 2, vec![4])]).expect("set");
        assert!(team.remove_stage(4).is_err(), "a from stage is named");
        assert_eq!(TriggerEvent::opened("web-form").len(), 2, "a form is a channel message too");
        let many = vec![on(TriggerEvent::FormSubmitted, 2, vec![]); MAX_TRIGGERS + 1];
        assert!(team.set_triggers(many).is_err());
    }
}
