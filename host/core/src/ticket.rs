//! Tickets, their ordering, and the rules for changing them.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::line_problem;
use crate::{CoreError, Priority, Sla, SlaStatus, StageId, Team, Timestamp, UserId};

/// A ticket's number, unique across the whole server.
pub type TicketId = u64;

/// The longest title accepted, in characters.
const MAX_TITLE_LEN: usize = 300;
/// The longest description accepted, in characters.
const MAX_DESCRIPTION_LEN: usize = 100_000;
/// The most custom fields a ticket may have.
const MAX_FIELDS: usize = 64;
/// The longest custom field value, in characters.
const MAX_FIELD_LEN: usize = 10_000;
/// The longest external key, in bytes.
const MAX_EXTERNAL_KEY_LEN: usize = 512;

/// The most keys a ticket lists in [`Ticket::thread_keys`].
pub const MAX_THREAD_KEYS: usize = 50;

/// The most keys one call may add to a ticket.
pub const MAX_KEYS_PER_CALL: usize = 64;

/// Checks an external key: 1 to 512 bytes.
pub fn check_external_key(key: &str) -> Result<(), CoreError> {
    if key.is_empty() || key.len() > MAX_EXTERNAL_KEY_LEN {
        return Err(CoreError::invalid("external_key", format!("must be 1 to {MAX_EXTERNAL_KEY_LEN} bytes")));
    }
    Ok(())
}

/// Checks keys to add to a ticket: at most [`MAX_KEYS_PER_CALL`], each a
/// valid key.
pub fn check_external_keys(keys: &[String]) -> Result<(), CoreError> {
    if keys.len() > MAX_KEYS_PER_CALL {
        return Err(CoreError::invalid(
            "external_keys",
            format!("{} keys in one call; the most is {MAX_KEYS_PER_CALL}", keys.len()),
        ));
    }
    keys.iter().try_for_each(|k| check_external_key(k))
}

/// What a caller gives to open a ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketDraft {
    /// One-line summary.
    pub title: String,
    /// The customer's full request.
    pub description: String,
    /// Priority; low when absent.
    pub priority: Option<Priority>,
    /// Starting stage; the team's first stage when absent.
    pub stage: Option<StageId>,
    /// Where the ticket came from, such as `api` or a plugin id.
    pub origin: String,
    /// A key the origin can find the ticket by, such as a thread id.
    pub external_key: Option<String>,
    /// Custom fields to start with, checked by the rules of
    /// [`Ticket::set_fields`]; empty values are left out.
    pub fields: Vec<(String, String)>,
}

/// A customer request that a team works until it reaches a closing stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The ticket's number.
    pub id: TicketId,
    /// The slug of the team that owns it.
    pub team: String,
    /// One-line summary.
    pub title: String,
    /// The customer's full request.
    pub description: String,
    /// How urgent it is.
    pub priority: Priority,
    /// The stage it is in.
    pub stage: StageId,
    /// The contact who asked, if known.
    pub contact: Option<u64>,
    /// Where it came from.
    pub origin: String,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it or its thread last changed.
    pub updated_at: Timestamp,
    /// Its SLA deadline, if a policy applies.
    pub sla: Option<Sla>,
    /// A key its origin can find it by, unique per team and origin.
    #[serde(default)]
    pub external_key: Option<String>,
    /// Custom fields, such as those a web form collects.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The keys the ticket's origin knows it by, oldest first: its
    /// external key, then those it added (an e-mail thread's Message-IDs,
    /// which replies list in their References). At most the first and the
    /// latest [`MAX_THREAD_KEYS`] − 1: RFC 5322 lets a long References be
    /// trimmed so. (Records from before have none.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread_keys: Vec<String>,
    /// How many times it has entered a stage, its opening included: the
    /// robots a stage starts belong to one entry, so that a ticket that
    /// leaves and comes back runs them afresh and the old runs know they
    /// are stale. (Records from before have 0.)
    #[serde(default)]
    pub stage_entry: u64,
    /// How many times in a row it was moved by a trigger or a plugin since
    /// a person last moved it (see `trigger`).
    #[serde(default)]
    pub auto_moves: u32,
    /// The agent working it, if anyone took it. (Records from before
    /// assignment have none.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
}

/// The agent a ticket is assigned to: their id, and their name when it
/// was assigned, for boards and threads that should not look users up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    /// The user's id.
    pub id: UserId,
    /// Their name.
    pub name: String,
}

/// Something that happened to a ticket and belongs in its thread as a
/// system event.
#[derive(Debug, Clone, PartialEq)]
pub enum TicketChange {
    /// The title was edited.
    Title {
        /// The old title.
        from: String,
        /// The new title.
        to: String,
    },
    /// The priority changed.
    Priority {
        /// The old priority.
        from: Priority,
        /// The new priority.
        to: Priority,
    },
    /// The ticket moved between stages.
    Stage {
        /// The old stage's name.
        from: String,
        /// The new stage's name.
        to: String,
    },
    /// A trigger moved the ticket between stages.
    TriggeredStage {
        /// The old stage's name.
        from: String,
        /// The new stage's name.
        to: String,
        /// The event that set the trigger off.
        because: String,
    },
    /// The SLA deadline moved, appeared or went away.
    Deadline {
        /// The old deadline.
        from: Option<Timestamp>,
        /// The new deadline.
        to: Option<Timestamp>,
    },
    /// The target stage was reached in time.
    SlaMet {
        /// The policy's name.
        policy: String,
    },
    /// The deadline passed before the target stage was reached.
    SlaBreached {
        /// The policy's name.
        policy: String,
        /// The deadline that passed.
        deadline: Timestamp,
    },
    /// Custom fields were set or removed.
    Fields {
        /// The keys that changed.
        keys: Vec<String>,
    },
    /// The ticket was assigned, or unassigned.
    Assignee {
        /// Who had it.
        from: Option<String>,
        /// Who has it now.
        to: Option<String>,
    },
}

impl TicketChange {
    /// The sentence written into the ticket's thread.
    pub fn describe(&self) -> String {
        let when = |t: &Option<Timestamp>| t.map_or_else(|| "none".to_owned(), |t| t.to_string());
        match self {
            TicketChange::Title { from, to } => {
                format!("Title changed from \"{from}\" to \"{to}\"")
            }
            TicketChange::Priority { from, to } => format!("Priority changed from {from} to {to}"),
            TicketChange::Stage { from, to } => format!("Stage changed from {from} to {to}"),
            TicketChange::TriggeredStage { from, to, because } => {
                format!("Stage changed from {from} to {to} by a trigger: {because}")
            }
            TicketChange::Deadline { from, to } => {
                format!("SLA deadline changed from {} to {}", when(from), when(to))
            }
            TicketChange::SlaMet { policy } => format!("SLA \"{policy}\" met"),
            TicketChange::SlaBreached { policy, deadline } => {
                format!("SLA \"{policy}\" breached: the deadline was {deadline}")
            }
            TicketChange::Fields { keys } => format!("Fields changed: {}", keys.join(", ")),
            TicketChange::Assignee { from, to: Some(to) } => match from {
                Some(from) => format!("Assigned to {to} (was {from})"),
                None => format!("Assigned to {to}"),
            },
            TicketChange::Assignee { from, to: None } => {
                format!("Unassigned (was {})", from.as_deref().unwrap_or("nobody"))
            }
        }
    }
}

/// The order of ticket lists and boards: highest priority first, then
/// oldest first, then lowest id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TicketSortKey(pub Reverse<Priority>, pub Timestamp, pub TicketId);

fn clean_title(title: &str) -> Result<String, CoreError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(CoreError::invalid("title", "must not be empty"));
    }
    if title.chars().count() > MAX_TITLE_LEN {
        return Err(CoreError::invalid("title", format!("is longer than {MAX_TITLE_LEN} characters")));
    }
    // A title is one line; newlines pasted into it are folded into spaces.
    let title = title.split(['\r', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
    match line_problem(&title, MAX_TITLE_LEN) {
        Some(problem) => Err(CoreError::invalid("title", problem)),
        None => Ok(title),
    }
}

fn check_description(description: &str) -> Result<(), CoreError> {
    if description.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(CoreError::invalid("description", format!("is longer than {MAX_DESCRIPTION_LEN} characters")));
    }
    Ok(())
}

impl Ticket {
    /// Lists `key` last among the thread's keys, unless it is there:
    /// the first key stays, the oldest after it go past the cap.
    pub fn remember_key(&mut self, key: &str) {
        if self.thread_keys.iter().any(|k| k == key) {
            return;
        }
        self.thread_keys.push(key.to_owned());
        if self.thread_keys.len() > MAX_THREAD_KEYS {
            self.thread_keys.remove(1);
        }
    }

    /// Opens a ticket in `team`. The stage defaults to the team's first and
    /// the SLA deadline comes from the team's strictest matching policy.
    pub fn open(
        id: TicketId,
        team: &Team,
        draft: TicketDraft,
        contact: Option<u64>,
        now: Timestamp,
    ) -> Result<Ticket, CoreError> {
        let title = clean_title(&draft.title)?;
        check_description(&draft.description)?;
        let stage = match draft.stage {
            Some(id) => team.stage(id).map_err(|_| CoreError::invalid("stage", format!("unknown stage {id}")))?.id,
            None => team.first_stage().id,
        };
        if let Some(key) = &draft.external_key {
            check_external_key(key)?;
        }
        let priority = draft.priority.unwrap_or_default();
        let mut ticket = Ticket {
            id,
            team: team.slug.clone(),
            title,
            description: draft.description,
            priority,
            stage,
            contact,
            origin: draft.origin,
            created_at: now,
            updated_at: now,
            sla: Sla::for_ticket(team, priority, now),
            thread_keys: draft.external_key.iter().cloned().collect(),
            external_key: draft.external_key,
            fields: BTreeMap::new(),
            stage_entry: 1,
            auto_moves: 0,
            assignee: None,
        };
        // Opening with fields is the same as setting them at once, so both
        // paths share one set of rules; the change list is not needed
        // because the "created" event covers it.
        ticket.set_fields(&draft.fields, now)?;
        ticket.evaluate_sla(team, now);
        Ok(ticket)
    }

    /// The key lists are sorted by.
    pub fn sort_key(&self) -> TicketSortKey {
        TicketSortKey(Reverse(self.priority), self.created_at, self.id)
    }

    /// Whether the SLA deadline has been breached.
    pub fn is_breached(&self) -> bool {
        matches!(&self.sla, Some(s) if s.status == SlaStatus::Breached)
    }

    /// The deadline while the SLA is still running; this is what a breach
    /// sweeper watches.
    pub fn running_deadline(&self) -> Option<Timestamp> {
        self.sla.as_ref().filter(|s| s.status == SlaStatus::Running).map(|s| s.deadline)
    }

    /// Changes the title.
    pub fn set_title(&mut self, title: &str, now: Timestamp) -> Result<Vec<TicketChange>, CoreError> {
        let title = clean_title(title)?;
        if title == self.title {
            return Ok(Vec::new());
        }
        let from = std::mem::replace(&mut self.title, title.clone());
        self.updated_at = now;
        Ok(vec![TicketChange::Title { from, to: title }])
    }

    /// Assigns the ticket to `to`, or to nobody.
    pub fn assign(&mut self, to: Option<Assignee>, now: Timestamp) -> Vec<TicketChange> {
        if self.assignee.as_ref().map(|a| a.id) == to.as_ref().map(|a| a.id) {
            return Vec::new();
        }
        let from = std::mem::replace(&mut self.assignee, to.clone());
        self.updated_at = now;
        vec![TicketChange::Assignee { from: from.map(|a| a.name), to: to.map(|a| a.name) }]
    }

    /// Changes the priority. While the SLA is still running (or there is
    /// none), the deadline is recomputed from the creation time with the
    /// strictest policy that matches the new priority; a met or breached
    /// SLA is history and stays as it is.
    pub fn set_priority(&mut self, priority: Priority, team: &Team, now: Timestamp) -> Vec<TicketChange> {
        if priority == self.priority {
            return Vec::new();
        }
        let mut changes = vec![TicketChange::Priority { from: self.priority, to: priority }];
        self.priority = priority;
        self.updated_at = now;
        let settled = matches!(&self.sla, Some(s) if s.status != SlaStatus::Running);
        if !settled {
            let old = self.running_deadline();
            self.sla = Sla::for_ticket(team, priority, self.created_at);
            let new = self.running_deadline();
            if old != new {
                changes.push(TicketChange::Deadline { from: old, to: new });
            }
            changes.extend(self.evaluate_sla(team, now));
        }
        changes
    }

    /// Moves the ticket to another stage of its team.
    pub fn move_to_stage(
        &mut self,
        stage: StageId,
        team: &Team,
        now: Timestamp,
    ) -> Result<Vec<TicketChange>, CoreError> {
        let to = team.stage(stage).map_err(|_| CoreError::invalid("stage", format!("unknown stage {stage}")))?;
        if stage == self.stage {
            return Ok(Vec::new());
        }
        let from = team.stage(self.stage).map(|s| s.name.clone()).unwrap_or_else(|_| format!("stage {}", self.stage));
        let mut changes = vec![TicketChange::Stage { from, to: to.name.clone() }];
        self.stage = stage;
        self.stage_entry += 1;
        self.updated_at = now;
        changes.extend(self.evaluate_sla(team, now));
        Ok(changes)
    }

    /// Sets custom fields; an empty value removes the field. Keys are 1 to
    /// 64 letters, digits, `-` and `_`.
    pub fn set_fields(&mut self, fields: &[(String, String)], now: Timestamp) -> Result<Vec<TicketChange>, CoreError> {
        // The size of the request is checked before any work, so that one
        // oversized edit cannot hold the store: a change may clear every
        // field and set as many new ones, and no more.
        if fields.len() > 2 * MAX_FIELDS {
            return Err(CoreError::invalid(
                "fields",
                format!("{} fields sent; a ticket has at most {MAX_FIELDS}", fields.len()),
            ));
        }
        let mut next = self.fields.clone();
        let mut keys = std::collections::BTreeSet::new();
        for (key, value) in fields {
            let key_ok = !key.is_empty()
                && key.len() <= 64
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !key_ok {
                return Err(CoreError::invalid(
                    "fields",
                    format!("\"{key}\" is not a field key; use 1 to 64 letters, digits, - and _"),
                ));
            }
            if value.chars().count() > MAX_FIELD_LEN {
                return Err(CoreError::invalid(
                    "fields",
                    format!("\"{key}\" is longer than {MAX_FIELD_LEN} characters"),
                ));
            }
            let changed = if value.is_empty() {
                next.remove(key).is_some()
            } else {
                next.insert(key.clone(), value.clone()).as_ref() != Some(value)
            };
            if changed {
                keys.insert(key.clone());
            }
        }
        if next.len() > MAX_FIELDS {
            return Err(CoreError::invalid("fields", format!("a ticket has at most {MAX_FIELDS} fields")));
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.fields = next;
        self.updated_at = now;
        Ok(vec![TicketChange::Fields { keys: keys.into_iter().collect() }])
    }

    /// Records a breach if the deadline has passed. The store calls this
    /// from its sweeper for tickets whose deadline is due.
    pub fn check_deadline(&mut self, now: Timestamp) -> Vec<TicketChange> {
        let Some(sla) = self.sla.as_mut() else {
            return Vec::new();
        };
        if sla.status != SlaStatus::Running || now <= sla.deadline {
            return Vec::new();
        }
        sla.status = SlaStatus::Breached;
        sla.breached_at = Some(now);
        self.updated_at = now;
        vec![TicketChange::SlaBreached { policy: sla.policy_name.clone(), deadline: sla.deadline }]
    }

    /// Settles a running SLA when the current stage reaches its target:
    /// met when in time, breached when late. Then checks the deadline.
    fn evaluate_sla(&mut self, team: &Team, now: Timestamp) -> Vec<TicketChange> {
        let Some(sla) = self.sla.as_mut() else {
            return Vec::new();
        };
        if sla.status == SlaStatus::Running && sla.is_reached_by(team, self.stage) && now <= sla.deadline {
            sla.status = SlaStatus::Met;
            sla.reached_at = Some(now);
            return vec![TicketChange::SlaMet { policy: sla.policy_name.clone() }];
        }
        self.check_deadline(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SlaPolicyDraft, TeamDraft};
    use jiff::SignedDuration;
    use proptest::prelude::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_hours(hours)
    }

    /// A team with "Normal: 48h to Solved" for everything and "Fast: 4h to
    /// Solved" from high priority on.
    fn team() -> Team {
        let mut team = Team::new(TeamDraft { name: "Ops".into(), ..TeamDraft::default() }, at(0)).expect("team");
        for (name, min_priority, hours) in [("Normal", Priority::Low, 48.0), ("Fast", Priority::High, 4.0)] {
            team.add_policy(SlaPolicyDraft { name: name.into(), min_priority, target_stage: 3, hours })
                .expect("policy");
        }
        team
    }

    fn open(team: &Team, priority: Priority) -> Ticket {
        let draft = TicketDraft {
            title: "Printer on fire".into(),
            priority: Some(priority),
            origin: "api".into(),
            ..TicketDraft::default()
        };
        Ticket::open(1, team, draft, None, at(0)).expect("ticket")
    }

    #[test]
    fn new_ticket_starts_in_first_stage_with_deadline() {
        let team = team();
        let t = open(&team, Priority::Low);
        assert_eq!(t.stage, 1);
        assert_eq!(t.running_deadline(), Some(at(48)));
        assert_eq!(open(&team, Priority::Urgent).running_deadline(), Some(at(4)));
    }

    #[test]
    fn title_is_required_and_single_line() {
        let team = team();
        let draft = |title: &str| TicketDraft { title: title.into(), ..TicketDraft::default() };
        assert!(Ticket::open(1, &team, draft("  "), None, at(0)).is_err());
        let t = Ticket::open(1, &team, draft("a\r\n b"), None, at(0)).expect("ticket");
        assert_eq!(t.title, "a b");
        assert!(Ticket::open(1, &team, TicketDraft { stage: Some(42), ..draft("x") }, None, at(0)).is_err());
    }

    #[test]
    fn opens_with_fields_by_the_set_fields_rules() {
        let team = team();
        let with = |fields: &[(&str, &str)]| TicketDraft {
            title: "x".into(),
            fields: fields.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            ..TicketDraft::default()
        };
        let t = Ticket::open(1, &team, with(&[("order", "A-1"), ("empty", "")]), None, at(0)).expect("ticket");
        assert_eq!(t.fields.into_iter().collect::<Vec<_>>(), [("order".to_owned(), "A-1".to_owned())]);
        let err = Ticket::open(1, &team, with(&[("bad key", "1")]), None, at(0)).expect_err("bad key");
        assert!(err.to_string().contains("\"bad key\" is not a field key"), "{err}");
    }

    #[test]
    fn raising_priority_recomputes_deadline_from_creation() {
        let team = team();
        let mut t = open(&team, Priority::Low);
        let changes = t.set_priority(Priority::Urgent, &team, at(1));
        assert_eq!(t.running_deadline(), Some(at(4)));
        assert!(changes.contains(&TicketChange::Deadline { from: Some(at(48)), to: Some(at(4)) }));
        // Lowering it again gives the longer deadline back.
        t.set_priority(Priority::Medium, &team, at(2));
        assert_eq!(t.running_deadline(), Some(at(48)));
    }

    #[test]
    fn raising_priority_past_the_new_deadline_breaches_at_once() {
        let team = team();
        let mut t = open(&team, Priority::Low);
        let changes = t.set_priority(Priority::High, &team, at(5));
        assert!(t.is_breached());
        assert!(changes.iter().any(|c| matches!(c, TicketChange::SlaBreached { .. })));
    }

    #[test]
    fn no_policy_no_deadline() {
        let mut team = team();
        team.remove_policy(1).expect("removed");
        let mut t = open(&team, Priority::Low);
        assert!(t.sla.is_none());
        t.set_priority(Priority::High, &team, at(1));
        assert_eq!(t.running_deadline(), Some(at(4)));
        t.set_priority(Priority::Low, &team, at(1));
        assert!(t.sla.is_none());
    }

    #[test]
    fn each_move_to_another_stage_is_a_new_entry_and_staying_is_not() {
        let team = team();
        let mut t = open(&team, Priority::Low);
        assert_eq!(t.stage_entry, 1, "opening enters the first stage");
        t.move_to_stage(2, &team, at(1)).expect("moved");
        assert_eq!(t.stage_entry, 2);
        t.move_to_stage(2, &team, at(2)).expect("stayed");
        assert_eq!(t.stage_entry, 2, "a move to the same stage enters nothing");
        t.move_to_stage(1, &team, at(3)).expect("moved back");
        assert_eq!(t.stage_entry, 3, "coming back is an entry of its own");
    }

    #[test]
    fn reaching_target_in_time_is_success_and_late_is_breach() {
        let team = team();
        let mut t = open(&team, Priority::High);
        t.move_to_stage(2, &team, at(1)).expect("moved");
        assert_eq!(t.sla.as_ref().map(|s| s.status), Some(SlaStatus::Running));
        let changes = t.move_to_stage(3, &team, at(3)).expect("moved");
        assert!(changes.contains(&TicketChange::SlaMet { policy: "Fast".into() }));
        assert_eq!(t.sla.as_ref().and_then(|s| s.reached_at), Some(at(3)));
        // A met SLA is history: a later priority change leaves it alone.
        t.set_priority(Priority::Low, &team, at(10));
        assert_eq!(t.sla.as_ref().map(|s| s.status), Some(SlaStatus::Met));

        let mut late = open(&team, Priority::High);
        late.move_to_stage(3, &team, at(5)).expect("moved");
        assert!(late.is_breached());
    }

    #[test]
    fn later_stage_counts_as_reaching_target() {
        let team = team();
        let mut t = open(&team, Priority::High);
        t.move_to_stage(4, &team, at(1)).expect("moved");
        assert_eq!(t.sla.as_ref().map(|s| s.status), Some(SlaStatus::Met));
    }

    #[test]
    fn fields_are_set_removed_and_checked() {
        let team = team();
        let mut t = open(&team, Priority::Low);
        let set = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            t.set_fields(&set("order_id", "A-1"), at(1)).expect("set"),
            vec![TicketChange::Fields { keys: vec!["order_id".into()] }]
        );
        assert!(t.set_fields(&set("order_id", "A-1"), at(2)).expect("same").is_empty());
        t.set_fields(&set("order_id", ""), at(3)).expect("removed");
        assert!(t.fields.is_empty());
        assert!(t.set_fields(&set("bad key", "x"), at(4)).is_err());
    }

    #[test]
    fn deadline_check_breaches_only_after_deadline() {
        let team = team();
        let mut t = open(&team, Priority::High);
        assert!(t.check_deadline(at(4)).is_empty());
        assert_eq!(t.check_deadline(at(5)).len(), 1);
        assert!(t.is_breached());
        assert!(t.check_deadline(at(6)).is_empty(), "a breach is recorded once");
    }

    proptest! {
        /// Sorting by the key puts higher priorities first and, within a
        /// priority, older tickets first.
        #[test]
        fn sort_order(tickets in proptest::collection::vec((0u8..4, 0i64..1000), 0..40)) {
            let team = team();
            let mut list: Vec<Ticket> = tickets
                .iter()
                .enumerate()
                .map(|(i, &(p, h))| {
                    let draft = TicketDraft {
                        title: "t".into(),
                        priority: Some(Priority::try_from(p).expect("in range")),
                        ..TicketDraft::default()
                    };
                    Ticket::open(i as u64, &team, draft, None, at(h)).expect("ticket")
                })
                .collect();
            list.sort_by_key(Ticket::sort_key);
            for pair in list.windows(2) {
                prop_assert!(pair[0].priority >= pair[1].priority);
                if pair[0].priority == pair[1].priority {
                    prop_assert!(pair[0].created_at <= pair[1].created_at);
                }
            }
        }
    }

    #[test]
    fn thread_keys_keep_the_first_and_the_latest() {
        let team =
            Team::new(TeamDraft { name: "Ops".into(), ..TeamDraft::default() }, Timestamp::UNIX_EPOCH).expect("team");
        let draft = TicketDraft { title: "t".into(), external_key: Some("<root@x>".into()), ..TicketDraft::default() };
        let mut t = Ticket::open(1, &team, draft, None, Timestamp::UNIX_EPOCH).expect("ticket");
        assert_eq!(t.thread_keys, ["<root@x>"]);
        for i in 0..100 {
            t.remember_key(&format!("<{i}@x>"));
        }
        t.remember_key("<99@x>");
        assert_eq!(t.thread_keys.len(), MAX_THREAD_KEYS);
        assert_eq!((t.thread_keys[0].as_str(), t.thread_keys[1].as_str()), ("<root@x>", "<51@x>"));
        assert_eq!(t.thread_keys.last().map(String::as_str), Some("<99@x>"));
    }
}

#[cfg(test)]
mod assignment_tests {
    use super::*;

    #[test]
    fn assigning_records_who_had_it_and_a_second_assign_to_the_same_agent_changes_nothing() {
        let team =
            Team::new(crate::TeamDraft { name: "Ops".into(), ..crate::TeamDraft::default() }, Timestamp::UNIX_EPOCH)
                .expect("team");
        let draft = TicketDraft { title: "T".into(), origin: "api".into(), ..TicketDraft::default() };
        let mut t = Ticket::open(1, &team, draft, None, Timestamp::UNIX_EPOCH).expect("ticket");
        let ada = Assignee { id: 2, name: "Ada".into() };
        let changes = t.assign(Some(ada.clone()), Timestamp::UNIX_EPOCH);
        assert_eq!(changes[0].describe(), "Assigned to Ada");
        assert!(t.assign(Some(ada), Timestamp::UNIX_EPOCH).is_empty());
        let bo = Assignee { id: 3, name: "Bo".into() };
        assert_eq!(t.assign(Some(bo), Timestamp::UNIX_EPOCH)[0].describe(), "Assigned to Bo (was Ada)");
        assert_eq!(t.assign(None, Timestamp::UNIX_EPOCH)[0].describe(), "Unassigned (was Bo)");
        assert_eq!(t.assignee, None);
    }
}
