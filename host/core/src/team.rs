//! Teams: the unit that owns an alias, stages, SLA policies and tickets.

use serde::{Deserialize, Serialize};

use crate::slug::{slugify, validate_local_part, validate_slug};
use crate::text::clean_name;
use crate::{CoreError, SlaPolicy, SlaPolicyDraft, Stage, StageId, Timestamp};

/// What an admin gives to create a team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamDraft {
    /// The team's display name.
    pub name: String,
    /// A slug to use instead of the one derived from the name.
    pub slug: Option<String>,
    /// An alias local part to use instead of the slug.
    pub alias: Option<String>,
}

/// A support team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// Unique, URL-safe identifier derived from the name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Local part of the team's e-mail alias; the domain is a server setting.
    pub alias: String,
    /// Stages in board order.
    pub stages: Vec<Stage>,
    /// The id the next new stage gets.
    pub next_stage_id: StageId,
    /// SLA policies, in creation order.
    pub sla_policies: Vec<SlaPolicy>,
    /// The id the next new SLA policy gets.
    pub next_policy_id: u32,
    /// When the team was created.
    pub created_at: Timestamp,
    /// Triggers that move tickets between stages, in order (see
    /// `trigger`). Records from before triggers have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<crate::Trigger>,
}

impl Team {
    /// Builds a new team with the default stages. The slug comes from the
    /// name unless given, and the alias is the slug unless given.
    pub fn new(draft: TeamDraft, now: Timestamp) -> Result<Team, CoreError> {
        let name = clean_name("name", &draft.name)?;
        let slug = match draft.slug {
            Some(slug) => {
                validate_slug(&slug)?;
                slug
            }
            None => {
                let slug = slugify(&name);
                if slug.is_empty() {
                    return Err(CoreError::invalid(
                        "name",
                        format!("\"{name}\" has no letters or digits to make a slug from; give a slug"),
                    ));
                }
                slug
            }
        };
        let alias = validate_local_part(draft.alias.as_deref().unwrap_or(&slug))?;
        let stages = Stage::defaults();
        let next_stage_id = stages.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        Ok(Team {
            slug,
            name,
            alias,
            stages,
            next_stage_id,
            sla_policies: Vec::new(),
            next_policy_id: 1,
            created_at: now,
            triggers: Vec::new(),
        })
    }

    /// Renames the team. The slug stays, so links keep working.
    pub fn rename(&mut self, name: &str) -> Result<(), CoreError> {
        self.name = clean_name("name", name)?;
        Ok(())
    }

    /// Changes the alias local part. Uniqueness across teams is the store's
    /// job, because only it sees every team.
    pub fn set_alias(&mut self, alias: &str) -> Result<(), CoreError> {
        self.alias = validate_local_part(alias)?;
        Ok(())
    }

    /// The stage new tickets start in.
    pub fn first_stage(&self) -> &Stage {
        // A team always has a stage: `remove_stage` refuses to remove the last.
        &self.stages[0]
    }

    /// The stage with this id.
    pub fn stage(&self, id: StageId) -> Result<&Stage, CoreError> {
        self.stages.iter().find(|s| s.id == id).ok_or(CoreError::UnknownStage(id))
    }

    /// The position of a stage on the board, counted from zero.
    pub fn stage_position(&self, id: StageId) -> Option<usize> {
        self.stages.iter().position(|s| s.id == id)
    }

    /// Finds a stage by id or, case-insensitively, by name.
    pub fn find_stage(&self, key: &str) -> Result<&Stage, CoreError> {
        let key = key.trim();
        key.parse::<StageId>()
            .ok()
            .and_then(|id| self.stages.iter().find(|s| s.id == id))
            .or_else(|| self.stages.iter().find(|s| s.name.eq_ignore_ascii_case(key)))
            .ok_or_else(|| CoreError::invalid("stage", format!("unknown stage \"{key}\"")))
    }

    fn check_stage_name_free(&self, name: &str, except: Option<StageId>) -> Result<(), CoreError> {
        if self.stages.iter().any(|s| Some(s.id) != except && s.name.eq_ignore_ascii_case(name)) {
            return Err(CoreError::Conflict(format!("team \"{}\" already has a stage named \"{name}\"", self.slug)));
        }
        Ok(())
    }

    /// Adds a stage at `position` (default: last) and returns its id.
    pub fn add_stage(&mut self, name: &str, closing: bool, position: Option<usize>) -> Result<StageId, CoreError> {
        let name = clean_name("name", name)?;
        self.check_stage_name_free(&name, None)?;
        let position = position.unwrap_or(self.stages.len());
        if position > self.stages.len() {
            return Err(CoreError::invalid(
                "position",
                format!("{position} is past the end; the team has {} stages", self.stages.len()),
            ));
        }
        let id = self.next_stage_id;
        self.next_stage_id += 1;
        self.stages.insert(position, Stage { id, name, closing, robots: Vec::new() });
        Ok(id)
    }

    /// Renames a stage and/or changes whether it closes tickets.
    pub fn edit_stage(&mut self, id: StageId, name: Option<&str>, closing: Option<bool>) -> Result<(), CoreError> {
        let name = name.map(|n| clean_name("name", n)).transpose()?;
        if let Some(name) = &name {
            self.check_stage_name_free(name, Some(id))?;
        }
        let stage = self.stages.iter_mut().find(|s| s.id == id).ok_or(CoreError::UnknownStage(id))?;
        if let Some(name) = name {
            stage.name = name;
        }
        if let Some(closing) = closing {
            stage.closing = closing;
        }
        Ok(())
    }

    /// Puts the stages in the given order, which must name every stage once.
    pub fn reorder_stages(&mut self, order: &[StageId]) -> Result<(), CoreError> {
        let mut reordered = Vec::with_capacity(self.stages.len());
        for &id in order {
            if reordered.iter().any(|s: &Stage| s.id == id) {
                return Err(CoreError::invalid("order", format!("stage {id} is listed twice")));
            }
            reordered.push(self.stage(id)?.clone());
        }
        if let Some(missing) = self.stages.iter().find(|s| !order.contains(&s.id)) {
            return Err(CoreError::invalid("order", format!("stage {} (\"{}\") is missing", missing.id, missing.name)));
        }
        self.stages = reordered;
        Ok(())
    }

    /// Removes a stage. The caller must have checked that no ticket is in it.
    /// The last stage, a stage an SLA policy targets and a stage a trigger
    /// names cannot be removed.
    pub fn remove_stage(&mut self, id: StageId) -> Result<Stage, CoreError> {
        let position = self.stage_position(id).ok_or(CoreError::UnknownStage(id))?;
        if self.stages.len() == 1 {
            return Err(CoreError::Conflict(format!("stage {id} is the team's last stage")));
        }
        if let Some(policy) = self.sla_policies.iter().find(|p| p.target_stage == id) {
            return Err(CoreError::Conflict(format!("stage {id} is the target of sla policy \"{}\"", policy.name)));
        }
        if let Some(i) = self.triggers.iter().position(|t| t.to_stage == id || t.from_stages.contains(&id)) {
            return Err(CoreError::Conflict(format!("stage {id} is named by trigger {i}; change the triggers first")));
        }
        Ok(self.stages.remove(position))
    }

    /// Adds an SLA policy and returns its id.
    pub fn add_policy(&mut self, draft: SlaPolicyDraft) -> Result<u32, CoreError> {
        let policy = SlaPolicy::new(self.next_policy_id, draft, self)?;
        self.next_policy_id += 1;
        let id = policy.id;
        self.sla_policies.push(policy);
        Ok(id)
    }

    /// Replaces an SLA policy's settings. Existing tickets keep their
    /// deadline until their priority changes, as in most helpdesks.
    pub fn edit_policy(&mut self, id: u32, draft: SlaPolicyDraft) -> Result<(), CoreError> {
        let policy = SlaPolicy::new(id, draft, self)?;
        let slot = self.sla_policies.iter_mut().find(|p| p.id == id).ok_or(CoreError::UnknownPolicy(id))?;
        *slot = policy;
        Ok(())
    }

    /// Removes an SLA policy.
    pub fn remove_policy(&mut self, id: u32) -> Result<SlaPolicy, CoreError> {
        let position = self.sla_policies.iter().position(|p| p.id == id).ok_or(CoreError::UnknownPolicy(id))?;
        Ok(self.sla_policies.remove(position))
    }

    /// The SLA policy with this id.
    pub fn policy(&self, id: u32) -> Result<&SlaPolicy, CoreError> {
        self.sla_policies.iter().find(|p| p.id == id).ok_or(CoreError::UnknownPolicy(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(name: &str) -> Team {
        Team::new(TeamDraft { name: name.into(), ..TeamDraft::default() }, Timestamp::UNIX_EPOCH).expect("valid team")
    }

    #[test]
    fn new_team_gets_slug_alias_and_default_stages() {
        let t = team("Customer Care");
        assert_eq!(t.slug, "customer-care");
        assert_eq!(t.alias, "customer-care");
        let names: Vec<_> = t.stages.iter().map(|s| (s.name.as_str(), s.closing)).collect();
        assert_eq!(names, [("New", false), ("In Progress", false), ("Solved", true), ("Cancelled", true)]);
        assert_eq!(t.first_stage().name, "New");
    }

    #[test]
    fn explicit_slug_and_alias_are_checked() {
        let draft = |slug: Option<&str>, alias: Option<&str>| TeamDraft {
            name: "Ops".into(),
            slug: slug.map(Into::into),
            alias: alias.map(Into::into),
        };
        let now = Timestamp::UNIX_EPOCH;
        assert!(Team::new(draft(Some("Ops Team"), None), now).is_err());
        assert!(Team::new(draft(None, Some("ops team")), now).is_err());
        let t = Team::new(draft(Some("ops-2"), Some("Help")), now).expect("valid");
        assert_eq!((t.slug.as_str(), t.alias.as_str()), ("ops-2", "help"));
        assert!(Team::new(TeamDraft { name: "  ".into(), ..TeamDraft::default() }, now).is_err());
        assert!(Team::new(TeamDraft { name: "!!".into(), ..TeamDraft::default() }, now).is_err());
    }

    #[test]
    fn stages_can_be_added_renamed_reordered_and_removed() {
        let mut t = team("Ops");
        let id = t.add_stage("Waiting", false, Some(2)).expect("added");
        assert_eq!(t.stages[2].name, "Waiting");
        assert!(t.add_stage("waiting", false, None).is_err(), "names are unique");
        t.edit_stage(id, Some("On Hold"), Some(false)).expect("renamed");
        assert_eq!(t.stage(id).expect("exists").name, "On Hold");
        let mut order: Vec<_> = t.stages.iter().map(|s| s.id).collect();
        order.reverse();
        t.reorder_stages(&order).expect("reordered");
        assert_eq!(t.first_stage().name, "Cancelled");
        assert!(t.reorder_stages(&order[1..]).is_err(), "a stage is missing");
        assert!(t.reorder_stages(&[order[0], order[0]]).is_err(), "twice");
        t.remove_stage(id).expect("removed");
        assert!(t.stage(id).is_err());
        assert!(matches!(t.find_stage("in progress"), Ok(s) if s.id == 2));
        assert!(matches!(t.find_stage("2"), Ok(s) if s.name == "In Progress"));
    }

    #[test]
    fn last_stage_and_sla_target_cannot_be_removed() {
        let mut t = team("Ops");
        t.add_policy(SlaPolicyDraft {
            name: "Fast".into(),
            min_priority: crate::Priority::High,
            target_stage: 3,
            hours: 4.0,
        })
        .expect("policy");
        assert!(matches!(t.remove_stage(3), Err(CoreError::Conflict(_))));
        t.remove_stage(1).expect("removed");
        t.remove_stage(2).expect("removed");
        t.remove_stage(4).expect("removed");
        t.remove_policy(1).expect("removed");
        assert!(matches!(t.remove_stage(3), Err(CoreError::Conflict(_))));
    }
}
