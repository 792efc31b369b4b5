//! SLA policies and the deadline they put on a ticket.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::text::clean_name;
use crate::{CoreError, Priority, StageId, Team, Timestamp};

/// The longest SLA target accepted: one year.
pub const MAX_SLA_HOURS: f64 = 24.0 * 366.0;

/// The shortest SLA target accepted: one minute. A shorter one could
/// never be met by a person, and values such as `1e-300` would only make
/// every ticket breach at once.
pub const MIN_SLA_HOURS: f64 = 1.0 / 60.0;

/// What an admin gives to create or replace an SLA policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaPolicyDraft {
    /// The policy's name, such as "Urgent within 4h".
    pub name: String,
    /// The lowest priority the policy applies to.
    pub min_priority: Priority,
    /// The stage a ticket must reach in time.
    pub target_stage: StageId,
    /// Hours from the ticket's creation to its deadline.
    pub hours: f64,
}

/// A team's promise: tickets of at least `min_priority` reach
/// `target_stage` within `hours` of their creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// The policy's id within its team.
    pub id: u32,
    /// The policy's name.
    pub name: String,
    /// The lowest priority the policy applies to.
    pub min_priority: Priority,
    /// The stage a ticket must reach in time.
    pub target_stage: StageId,
    /// Hours from creation to the deadline.
    pub hours: f64,
}

impl SlaPolicy {
    /// Checks a draft against the team it belongs to.
    pub(crate) fn new(id: u32, draft: SlaPolicyDraft, team: &Team) -> Result<SlaPolicy, CoreError> {
        let name = clean_name("name", &draft.name)?;
        team.stage(draft.target_stage)
            .map_err(|_| CoreError::invalid("target_stage", format!("unknown stage {}", draft.target_stage)))?;
        if !(MIN_SLA_HOURS..=MAX_SLA_HOURS).contains(&draft.hours) {
            return Err(CoreError::invalid(
                "hours",
                format!("{:?} is not between one minute ({MIN_SLA_HOURS}) and one year ({MAX_SLA_HOURS})", draft.hours),
            ));
        }
        Ok(SlaPolicy {
            id,
            name,
            min_priority: draft.min_priority,
            target_stage: draft.target_stage,
            hours: draft.hours,
        })
    }

    /// The time allowed by this policy.
    pub fn duration(&self) -> SignedDuration {
        SignedDuration::from_secs_f64(self.hours * 3600.0)
    }

    /// The strictest policy that applies to `priority`: of the policies whose
    /// minimum priority it reaches, the one with the fewest hours (the lowest
    /// id on a tie). `None` when no policy applies.
    pub fn strictest(policies: &[SlaPolicy], priority: Priority) -> Option<&SlaPolicy> {
        policies
            .iter()
            .filter(|p| p.min_priority <= priority)
            .min_by(|a, b| a.hours.total_cmp(&b.hours).then(a.id.cmp(&b.id)))
    }
}

/// Where a ticket stands against its SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// The deadline is ahead and the target stage not yet reached.
    Running,
    /// The target stage was reached before the deadline.
    Met,
    /// The deadline passed before the target stage was reached.
    Breached,
}

/// The SLA deadline a ticket carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sla {
    /// The policy the deadline comes from.
    pub policy_id: u32,
    /// That policy's name when it was applied.
    pub policy_name: String,
    /// The stage the ticket must reach.
    pub target_stage: StageId,
    /// When the ticket must have reached it.
    pub deadline: Timestamp,
    /// Whether it is still running, met or breached.
    pub status: SlaStatus,
    /// When the target stage was reached in time.
    pub reached_at: Option<Timestamp>,
    /// When the breach was recorded.
    pub breached_at: Option<Timestamp>,
}

impl Sla {
    /// The deadline for a ticket of `priority` created at `created_at`, from
    /// the team's strictest matching policy; `None` when no policy matches.
    pub fn for_ticket(team: &Team, priority: Priority, created_at: Timestamp) -> Option<Sla> {
        SlaPolicy::strictest(&team.sla_policies, priority).map(|policy| Sla {
            policy_id: policy.id,
            policy_name: policy.name.clone(),
            target_stage: policy.target_stage,
            deadline: created_at.saturating_add(policy.duration()).unwrap_or(Timestamp::MAX),
            status: SlaStatus::Running,
            reached_at: None,
            breached_at: None,
        })
    }

    /// Whether a ticket in `stage` has reached this SLA's target: the target
    /// itself or any stage after it on the board.
    pub fn is_reached_by(&self, team: &Team, stage: StageId) -> bool {
        match (team.stage_position(stage), team.stage_position(self.target_stage)) {
            (Some(at), Some(target)) => at >= target,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TeamDraft;
    use proptest::prelude::*;

    fn team_with(policies: &[(Priority, f64)]) -> Team {
        let mut team =
            Team::new(TeamDraft { name: "Ops".into(), ..TeamDraft::default() }, Timestamp::UNIX_EPOCH).expect("team");
        for (i, &(min_priority, hours)) in policies.iter().enumerate() {
            team.add_policy(SlaPolicyDraft { name: format!("p{i}"), min_priority, target_stage: 3, hours })
                .expect("policy");
        }
        team
    }

    #[test]
    fn strictest_matching_policy_wins() {
        let team = team_with(&[(Priority::Low, 48.0), (Priority::High, 8.0), (Priority::Urgent, 2.0)]);
        let hours = |p| SlaPolicy::strictest(&team.sla_policies, p).map(|p| p.hours);
        assert_eq!(hours(Priority::Low), Some(48.0));
        assert_eq!(hours(Priority::Medium), Some(48.0));
        assert_eq!(hours(Priority::High), Some(8.0));
        assert_eq!(hours(Priority::Urgent), Some(2.0));
        assert_eq!(SlaPolicy::strictest(&[], Priority::Urgent), None);
    }

    #[test]
    fn no_matching_policy_means_no_deadline() {
        let team = team_with(&[(Priority::High, 8.0)]);
        assert!(Sla::for_ticket(&team, Priority::Medium, Timestamp::UNIX_EPOCH).is_none());
        let sla = Sla::for_ticket(&team, Priority::High, Timestamp::UNIX_EPOCH).expect("deadline");
        assert_eq!(sla.deadline, Timestamp::UNIX_EPOCH + SignedDuration::from_hours(8));
        assert_eq!(sla.status, SlaStatus::Running);
    }

    #[test]
    fn policy_settings_are_checked() {
        let mut team = team_with(&[]);
        let draft =
            |target_stage, hours| SlaPolicyDraft { name: "x".into(), min_priority: Priority::Low, target_stage, hours };
        assert!(team.add_policy(draft(99, 1.0)).is_err());
        assert!(team.add_policy(draft(3, 0.0)).is_err());
        assert!(team.add_policy(draft(3, f64::NAN)).is_err());
        let tiny = team.add_policy(draft(3, 1e-300)).expect_err("a deadline no one can meet");
        assert!(tiny.to_string().contains("1e-300 is not between one minute"), "{tiny}");
        assert!(team.add_policy(draft(3, MAX_SLA_HOURS + 1.0)).is_err());
        assert!(team.add_policy(draft(3, MIN_SLA_HOURS)).is_ok());
        assert!(team.add_policy(draft(3, MAX_SLA_HOURS)).is_ok());
    }

    proptest! {
        /// Raising a ticket's priority can only bring its deadline closer,
        /// because every policy that matched still matches.
        #[test]
        fn higher_priority_never_gets_a_later_deadline(
            policies in proptest::collection::vec((0u8..4, 1u32..500), 0..6),
            low in 0u8..4,
            high in 0u8..4,
        ) {
            let (low, high) = (low.min(high), low.max(high));
            let policies: Vec<_> = policies
                .into_iter()
                .map(|(p, h)| (Priority::try_from(p).expect("in range"), f64::from(h)))
                .collect();
            let team = team_with(&policies);
            let at = |p: u8| Sla::for_ticket(&team, Priority::try_from(p).expect("in range"), Timestamp::UNIX_EPOCH)
                .map(|s| s.deadline);
            match (at(low), at(high)) {
                (Some(l), Some(h)) => prop_assert!(h <= l),
                (Some(_), None) => prop_assert!(false, "a matching policy stopped matching"),
                _ => {}
            }
        }
    }
}
