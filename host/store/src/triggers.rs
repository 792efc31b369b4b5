//! What a ticket's event does through the team's triggers, as every
//! backend writes it: the ticket moves (or a loop is cut off), and the
//! thread says so.

use switchboard_core::{Team, Ticket, Timestamp, TriggerEvent, Triggered};

/// Applies the team's first trigger for `events` to `ticket` (see
/// [`Ticket::apply_triggers`]) and returns the thread's lines for it:
/// none when no trigger applies. The caller writes the ticket, the lines
/// (as the system's), and the robot runs of a new stage entry.
pub fn fire(team: &Team, ticket: &mut Ticket, events: &[TriggerEvent], now: Timestamp) -> Vec<String> {
    match ticket.apply_triggers(team, events, now) {
        None => Vec::new(),
        Some(Triggered::Moved(changes)) => changes.iter().map(|c| c.describe()).collect(),
        Some(Triggered::CutOff(line)) => vec![line],
    }
}
