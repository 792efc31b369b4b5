//! The installation's settings: chat channels with their options and
//! ordered rules, and the chatbot scripts the rules name. Everything an
//! admin may leave out has a default; removing an option resets it.

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use switchboard_sdk::PluginError;

/// The longest URL pattern, in bytes.
const MAX_PATTERN_LEN: usize = 500;
/// The most memory a compiled URL pattern may take: a pattern that needs
/// more is refused when the settings are saved.
const MAX_PATTERN_BYTES: usize = 256 * 1024;
/// The most channels, rules per channel, scripts and steps per script.
const MAX_CHANNELS: usize = 20;
const MAX_RULES: usize = 50;
const MAX_SCRIPTS: usize = 50;
const MAX_STEPS: usize = 50;

/// The settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The chat channels; none means one, named after the team, with the
    /// default options and a rule that shows the button everywhere.
    #[serde(default)]
    pub channels: Vec<ChatChannelSettings>,
    /// Chatbot scripts by name.
    #[serde(default)]
    pub scripts: BTreeMap<String, Vec<Step>>,
}

/// One chat channel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatChannelSettings {
    /// Its name, unique among the channels.
    pub name: String,
    /// How its window looks and greets.
    #[serde(default)]
    pub options: Options,
    /// Which pages show the chat, and how, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// A channel's options; each one left out has its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The text of the notification bubble.
    pub notification_text: Option<String>,
    /// The button's colour, `#rrggbb`.
    pub button_color: Option<String>,
    /// The window header's colour, `#rrggbb`.
    pub header_color: Option<String>,
    /// The welcome message, shown first as if from the operator.
    pub welcome_message: Option<String>,
    /// The input's placeholder.
    pub input_placeholder: Option<String>,
    /// Seconds a handed-over visitor may wait for an operator before the
    /// channel tells them and makes a ticket of the conversation, so that
    /// the request is not lost; none to wait for ever.
    pub no_answer_after: Option<u32>,
    /// What the visitor is told then; a text in their language when left
    /// out.
    pub no_answer_message: Option<String>,
}

/// The options' defaults.
pub const DEFAULT_BUTTON_COLOR: &str = "#875a7b";
/// The header's default colour.
pub const DEFAULT_HEADER_COLOR: &str = "#875a7b";

/// What a rule does with the chat on a matching page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Display {
    /// Show the button.
    #[default]
    Show,
    /// Show the button with the notification bubble.
    ShowWithNotification,
    /// Open the window by itself after `open_after` seconds.
    OpenAutomatically,
    /// Show nothing.
    Hide,
}

/// One rule of a channel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What to do.
    #[serde(default)]
    pub display: Display,
    /// For `open_automatically`: seconds to wait, 0 to 3600.
    #[serde(default)]
    pub open_after: u32,
    /// A regular expression the page's path must match; none matches
    /// every page.
    pub url: Option<String>,
    /// Countries (ISO 3166 alpha-2) the visitor must be in; empty for all.
    #[serde(default)]
    pub countries: Vec<String>,
    /// The chatbot script to run, by name.
    pub script: Option<String>,
    /// Apply only when no operator is online in the channel.
    #[serde(default)]
    pub only_if_no_operator: bool,
}

/// What kind of step a chatbot step is (Odoo's step types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// A message; the script goes on.
    Text,
    /// A question with answers to pick from.
    Question,
    /// Asks for an e-mail address, saved on the contact.
    Email,
    /// Asks for a phone number, saved on the contact.
    Phone,
    /// Asks for one line of free text.
    FreeInputLine,
    /// Asks for free text of several lines.
    FreeInputLines,
    /// Hands the visitor to an operator; with nobody online, the script
    /// goes on with the next step.
    ForwardToOperator,
    /// Makes a ticket of the conversation; the script goes on.
    CreateTicket,
}

/// One step of a script.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A name other steps' conditions use; needed only then.
    pub id: Option<String>,
    /// What the bot says.
    #[serde(default)]
    pub message: String,
    /// The kind of step.
    #[serde(rename = "type")]
    pub kind: StepKind,
    /// For a question: the answers offered.
    #[serde(default)]
    pub answers: Vec<String>,
    /// Run this step only if, for every step named, the visitor gave one
    /// of the answers listed (all across steps, any within one step).
    #[serde(default)]
    pub only_if: BTreeMap<String, Vec<String>>,
}

fn invalid(what: String) -> PluginError {
    PluginError::InvalidSettings(what)
}

/// Compiles a URL pattern within the size limits.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("is {} bytes; the limit is {MAX_PATTERN_LEN}", pattern.len()));
    }
    RegexBuilder::new(pattern)
        .size_limit(MAX_PATTERN_BYTES)
        .dfa_size_limit(MAX_PATTERN_BYTES)
        .nest_limit(50)
        .build()
        .map_err(|e| format!("is not a usable pattern: {}", e.to_string().lines().last().unwrap_or("invalid")))
}

fn is_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl Settings {
    /// Checks what the schema cannot: unique names, colours, countries,
    /// patterns that compile within their limits, scripts that exist,
    /// conditions on earlier steps and answers they offer.
    pub fn check(&self) -> Result<(), PluginError> {
        if self.channels.len() > MAX_CHANNELS {
            return Err(invalid(format!("channels: at most {MAX_CHANNELS}")));
        }
        for (i, channel) in self.channels.iter().enumerate() {
            let at = format!("channels[{i}]");
            if channel.name.trim().is_empty() || channel.name.len() > 100 {
                return Err(invalid(format!("{at}.name: must be 1 to 100 bytes")));
            }
            if self.channels[..i].iter().any(|c| c.name == channel.name) {
                return Err(invalid(format!("{at}.name: \"{}\" is used twice", channel.name)));
            }
            for (field, color) in
                [("button_color", &channel.options.button_color), ("header_color", &channel.options.header_color)]
            {
                if let Some(color) = color
                    && !is_color(color)
                {
                    return Err(invalid(format!("{at}.options.{field}: \"{color}\" is not a colour like #875a7b")));
                }
            }
            if let Some(after) = channel.options.no_answer_after
                && !(10..=86_400).contains(&after)
            {
                return Err(invalid(format!("{at}.options.no_answer_after: 10 to 86400 seconds, not {after}")));
            }
            if channel.rules.len() > MAX_RULES {
                return Err(invalid(format!("{at}.rules: at most {MAX_RULES}")));
            }
            for (r, rule) in channel.rules.iter().enumerate() {
                self.check_rule(&format!("{at}.rules[{r}]"), rule)?;
            }
        }
        if self.scripts.len() > MAX_SCRIPTS {
            return Err(invalid(format!("scripts: at most {MAX_SCRIPTS}")));
        }
        for (name, steps) in &self.scripts {
            check_script(&format!("scripts.{name}"), steps)?;
        }
        Ok(())
    }

    fn check_rule(&self, at: &str, rule: &Rule) -> Result<(), PluginError> {
        if let Some(url) = &rule.url {
            compile_pattern(url).map_err(|why| invalid(format!("{at}.url: \"{url}\" {why}")))?;
        }
        if rule.open_after > 3600 {
            return Err(invalid(format!("{at}.open_after: at most 3600 seconds")));
        }
        for country in &rule.countries {
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(invalid(format!("{at}.countries: \"{country}\" is not a two-letter country code")));
            }
        }
        if let Some(script) = &rule.script
            && !self.scripts.contains_key(script)
        {
            return Err(invalid(format!("{at}.script: there is no script \"{script}\"")));
        }
        Ok(())
    }

    /// The channels in force: the configured ones, or one named after the
    /// team.
    pub fn channels(&self, team_name: impl FnOnce() -> String) -> Vec<ChatChannelSettings> {
        if self.channels.is_empty() {
            return vec![ChatChannelSettings { name: team_name(), ..ChatChannelSettings::default() }];
        }
        self.channels.clone()
    }
}

fn check_script(at: &str, steps: &[Step]) -> Result<(), PluginError> {
    if steps.len() > MAX_STEPS {
        return Err(invalid(format!("{at}: at most {MAX_STEPS} steps")));
    }
    for (i, step) in steps.iter().enumerate() {
        let here = format!("{at}[{i}]");
        if step.message.chars().count() > 4_000 {
            return Err(invalid(format!("{here}.message: at most 4000 characters")));
        }
        let needs_message = !matches!(step.kind, StepKind::ForwardToOperator | StepKind::CreateTicket);
        if needs_message && step.message.trim().is_empty() {
            return Err(invalid(format!("{here}.message: a step of this type says something")));
        }
        match step.kind {
            StepKind::Question if step.answers.is_empty() || step.answers.len() > 20 => {
                return Err(invalid(format!("{here}.answers: a question offers 1 to 20 answers")));
            }
            StepKind::Question => {}
            _ if !step.answers.is_empty() => {
                return Err(invalid(format!("{here}.answers: only a question offers answers")));
            }
            _ => {}
        }
        if let Some(id) = &step.id
            && steps[..i].iter().any(|s| s.id.as_deref() == Some(id))
        {
            return Err(invalid(format!("{here}.id: \"{id}\" is used twice")));
        }
        for (on, answers) in &step.only_if {
            let Some(earlier) = steps[..i].iter().find(|s| s.id.as_deref() == Some(on)) else {
                return Err(invalid(format!("{here}.only_if: \"{on}\" is not an earlier step's id")));
            };
            if earlier.kind == StepKind::Question
                && let Some(stray) = answers.iter().find(|a| !earlier.answers.contains(a))
            {
                return Err(invalid(format!("{here}.only_if.{on}: \"{stray}\" is not one of that step's answers")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Settings {
        serde_json::from_str(json).expect("settings parse")
    }

    fn refusal(json: &str) -> String {
        match parse(json).check() {
            Err(PluginError::InvalidSettings(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn no_channel_means_one_named_after_the_team() {
        let channels = parse("{}").channels(|| "Care".into());
        assert_eq!(channels.len(), 1);
        assert_eq!(channels[0].name, "Care");
        assert!(channels[0].rules.is_empty());
    }

    #[test]
    fn bad_settings_are_refused_naming_the_place() {
        let why = refusal(r#"{"channels": [{"name": "A", "rules": [{"url": "(a"}]}]}"#);
        assert!(why.starts_with("channels[0].rules[0].url: \"(a\""), "{why}");
        let why = refusal(r#"{"channels": [{"name": "A", "options": {"button_color": "red"}}]}"#);
        assert!(why.contains("options.button_color"), "{why}");
        let why = refusal(r#"{"channels": [{"name": "A", "rules": [{"script": "nope"}]}]}"#);
        assert!(why.contains("no script \"nope\""), "{why}");
        let why = refusal(r#"{"channels": [{"name": "A", "rules": [{"countries": ["Ukraine"]}]}]}"#);
        assert!(why.contains("\"Ukraine\""), "{why}");
        let why = refusal(r#"{"channels": [{"name": "A"}, {"name": "A"}]}"#);
        assert!(why.contains("used twice"), "{why}");
        let why = refusal(r#"{"scripts": {"s": [{"message": "Hi", "type": "text", "only_if": {"x": ["y"]}}]}}"#);
        assert!(why.contains("not an earlier step's id"), "{why}");
        let why = refusal(
            r#"{"scripts": {"s": [{"id": "q", "message": "?", "type": "question", "answers": ["a"]},
                                  {"message": "b", "type": "text", "only_if": {"q": ["b"]}}]}}"#,
        );
        assert!(why.contains("\"b\" is not one of that step's answers"), "{why}");
    }

    #[test]
    fn a_pattern_too_big_to_compile_small_is_refused() {
        // Repetition counts multiply the compiled size: this is short but
        // would need far more than the limit.
        let why = compile_pattern(r"(\w{100}){100}").expect_err("too big");
        assert!(why.contains("not a usable pattern"), "{why}");
        assert!(compile_pattern(&"a".repeat(501)).is_err());
        assert!(compile_pattern(r"^/shop/(cart|checkout)").is_ok());
    }
}
