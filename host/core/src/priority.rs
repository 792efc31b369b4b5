//! Ticket priority: zero to three stars.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::CoreError;

/// How urgent a ticket is. Shown as 0 to 3 stars; the default is low.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Priority {
    /// No star.
    #[default]
    Low = 0,
    /// One star.
    Medium = 1,
    /// Two stars.
    High = 2,
    /// Three stars.
    Urgent = 3,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Medium, Priority::High, Priority::Urgent];

    /// The number of stars, 0 to 3.
    pub fn stars(self) -> u8 {
        self as u8
    }

    /// The lowercase name used in the API and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Parses a star count or a name such as `"high"`.
    pub fn parse(text: &str) -> Result<Priority, CoreError> {
        let text = text.trim();
        if let Ok(n) = text.parse::<u8>() {
            return Priority::try_from(n);
        }
        Priority::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(text)).ok_or_else(|| {
            CoreError::invalid("priority", format!("unknown priority \"{text}\"; use 0-3 or low, medium, high, urgent"))
        })
    }
}

impl From<Priority> for u8 {
    fn from(p: Priority) -> u8 {
        p.stars()
    }
}

impl TryFrom<u8> for Priority {
    type Error = CoreError;

    fn try_from(n: u8) -> Result<Priority, CoreError> {
        Priority::ALL
            .get(usize::from(n))
            .copied()
            .ok_or_else(|| CoreError::invalid("priority", format!("priority {n} is out of range 0..=3")))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_names() {
        assert_eq!(Priority::parse("2"), Ok(Priority::High));
        assert_eq!(Priority::parse("Urgent"), Ok(Priority::Urgent));
        assert!(Priority::parse("4").is_err());
        assert!(Priority::parse("critical").is_err());
    }

    #[test]
    fn default_is_low_and_order_follows_stars() {
        assert_eq!(Priority::default(), Priority::Low);
        assert!(Priority::Urgent > Priority::High);
        assert!(Priority::High > Priority::Medium);
        assert!(Priority::Medium > Priority::Low);
    }
}
