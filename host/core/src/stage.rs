//! Stages: the ordered columns a team's tickets move through.

use serde::{Deserialize, Serialize};

/// A stage's id, unique within its team and never reused.
pub type StageId = u32;

/// One step of a team's pipeline, such as "In Progress".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// The stage's id within its team.
    pub id: StageId,
    /// The name shown on the board.
    pub name: String,
    /// Whether a ticket in this stage counts as finished.
    pub closing: bool,
    /// The robots that run when a ticket enters the stage, in order (see
    /// `stage_robots`). Records from before robots have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub robots: Vec<crate::StageRobot>,
}

impl Stage {
    /// The stages every new team starts with: New, In Progress, Solved
    /// (closing) and Cancelled (closing).
    pub fn defaults() -> Vec<Stage> {
        [("New", false), ("In Progress", false), ("Solved", true), ("Cancelled", true)]
            .into_iter()
            .zip(1..)
            .map(|((name, closing), id)| Stage { id, name: name.to_owned(), closing, robots: Vec::new() })
            .collect()
    }
}
