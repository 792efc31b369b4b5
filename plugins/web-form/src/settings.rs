//! What an admin configures: the page's texts, the abuse limits and the
//! fields in order. Parsed from the installation's JSON by the SDK (shape
//! errors name the path, such as `settings.fields[2].type`), then checked
//! here for what the shape cannot say.

use serde::Deserialize;
use switchboard_sdk::PluginError;
use switchboard_sdk::types::Priority;

/// The longest page title.
pub const MAX_TITLE: usize = 200;
/// The longest intro, success message or field description.
pub const MAX_TEXT: usize = 4000;
/// The most fields a form may have.
pub const MAX_FIELDS: usize = 50;
/// The most options a select may have.
pub const MAX_OPTIONS: usize = 100;
/// Ticket title length, as the host enforces it.
pub const TICKET_TITLE_MAX: u32 = 300;
/// Ticket description length, as the host enforces it.
pub const TICKET_DESCRIPTION_MAX: u32 = 100_000;
/// Custom field value length, as the host enforces it.
pub const CUSTOM_FIELD_MAX: u32 = 10_000;

/// The installation's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Whether the form is served; an unpublished form is a 404.
    #[serde(default = "yes")]
    pub published: bool,
    /// The page's heading and title.
    #[serde(default = "default_title")]
    pub title: String,
    /// Text above the form; blank lines separate paragraphs.
    #[serde(default)]
    pub intro: String,
    /// Shown after a successful submission, above the ticket reference.
    #[serde(default = "default_success")]
    pub success_message: String,
    /// The submit button's text.
    #[serde(default = "default_submit")]
    pub submit_label: String,
    /// The priority of new tickets when no field sets one.
    #[serde(default)]
    pub priority: Option<PriorityName>,
    /// Submissions allowed per client address.
    #[serde(default)]
    pub rate_limit: RateLimit,
    /// The name of the trap field that people never see and bots fill in.
    #[serde(default = "default_honeypot")]
    pub honeypot: String,
    /// The fields, in order. Empty means the default form: name, e-mail,
    /// subject, description.
    #[serde(default)]
    pub fields: Vec<Field>,
}

fn yes() -> bool {
    true
}

fn default_title() -> String {
    "Contact support".into()
}

fn default_success() -> String {
    "Thank you. We have received your request and will answer soon.".into()
}

fn default_submit() -> String {
    "Send".into()
}

fn default_honeypot() -> String {
    "website".into()
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            published: true,
            title: default_title(),
            intro: String::new(),
            success_message: default_success(),
            submit_label: default_submit(),
            priority: None,
            rate_limit: RateLimit::default(),
            honeypot: default_honeypot(),
            fields: Vec::new(),
        }
    }
}

/// Submissions per client address: `submissions` per `per_minutes`.
/// `submissions: 0` turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// How many submissions.
    pub submissions: u32,
    /// In how many minutes.
    pub per_minutes: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { submissions: 5, per_minutes: 10 }
    }
}

/// A priority by name, as admins write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriorityName {
    /// Low (0 stars).
    Low,
    /// Medium (1 star).
    Medium,
    /// High (2 stars).
    High,
    /// Urgent (3 stars).
    Urgent,
}

impl PriorityName {
    /// The WIT priority.
    pub fn to_wit(self) -> Priority {
        match self {
            PriorityName::Low => Priority::Low,
            PriorityName::Medium => Priority::Medium,
            PriorityName::High => Priority::High,
            PriorityName::Urgent => Priority::Urgent,
        }
    }

    /// Parses `low`, `medium`, `high`, `urgent` or `0` to `3`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "low" | "0" => Some(PriorityName::Low),
            "medium" | "1" => Some(PriorityName::Medium),
            "high" | "2" => Some(PriorityName::High),
            "urgent" | "3" => Some(PriorityName::Urgent),
            _ => None,
        }
    }
}

/// One input on the form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The input's name: 1 to 64 lowercase letters, digits, `-` and `_`.
    /// For a custom field it is also the key kept on the ticket.
    pub name: String,
    /// What the value fills.
    pub target: Target,
    /// The kind of input.
    #[serde(rename = "type", default)]
    pub input: InputType,
    /// The label; also read out by screen readers when hidden.
    pub label: String,
    /// Where the label goes.
    #[serde(default)]
    pub label_position: LabelPosition,
    /// A line of help under the input.
    #[serde(default)]
    pub description: String,
    /// Example text shown inside an empty input.
    #[serde(default)]
    pub placeholder: String,
    /// The value the input starts with.
    #[serde(default)]
    pub default: String,
    /// Whether a value must be given.
    #[serde(default)]
    pub required: bool,
    /// When the field is shown and taken.
    #[serde(default)]
    pub visibility: Visibility,
    /// The choices of a select.
    #[serde(default)]
    pub options: Vec<SelectOption>,
    /// The most characters accepted; the target's limit when absent.
    #[serde(default)]
    pub max_length: Option<u32>,
}

/// What a field's value fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The contact's name.
    ContactName,
    /// The contact's e-mail address.
    ContactEmail,
    /// The contact's phone number.
    ContactPhone,
    /// The ticket's title.
    Title,
    /// The ticket's description.
    Description,
    /// The ticket's priority.
    Priority,
    /// A custom field on the ticket, under the field's name.
    Custom,
}

impl Target {
    /// How admins write it, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Target::ContactName => "contact_name",
            Target::ContactEmail => "contact_email",
            Target::ContactPhone => "contact_phone",
            Target::Title => "title",
            Target::Description => "description",
            Target::Priority => "priority",
            Target::Custom => "custom",
        }
    }
}

/// The kind of input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// One line of text.
    #[default]
    Text,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A web address.
    Url,
    /// Several lines of text.
    LongText,
    /// One of a list of options.
    Select,
}

/// Where a label goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelPosition {
    /// Above the input.
    #[default]
    Above,
    /// Left of the input.
    Beside,
    /// Not shown, but still read out by screen readers.
    Hidden,
}

/// When a field is shown and its value taken.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Always.
    #[default]
    Always,
    /// Never shown; its value is its default, or what the page's address
    /// pre-fills (`?name=value`).
    Hidden,
    /// Shown and taken only when an earlier field has a given value.
    OnlyWhen(Condition),
}

/// "Only when field `field` has value `equals`".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The name of an earlier field.
    pub field: String,
    /// The value it must have.
    pub equals: String,
}

/// A choice in a select: a plain string, or a value with its own label.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SelectOption {
    /// The value is also the label.
    Plain(String),
    /// A value and the label shown for it.
    Labelled {
        /// What is submitted.
        value: String,
        /// What people see.
        label: String,
    },
}

impl SelectOption {
    /// What is submitted.
    pub fn value(&self) -> &str {
        match self {
            SelectOption::Plain(v) | SelectOption::Labelled { value: v, .. } => v,
        }
    }

    /// What people see.
    pub fn label(&self) -> &str {
        match self {
            SelectOption::Plain(v) | SelectOption::Labelled { label: v, .. } => v,
        }
    }
}

impl Field {
    /// A visible field with a label, for building forms in code.
    pub fn new(name: &str, target: Target, input: InputType, label: &str) -> Self {
        Field {
            name: name.into(),
            target,
            input,
            label: label.into(),
            label_position: LabelPosition::Above,
            description: String::new(),
            placeholder: String::new(),
            default: String::new(),
            required: false,
            visibility: Visibility::Always,
            options: Vec::new(),
            max_length: None,
        }
    }

    /// Marks the field as required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The most characters the target can keep.
    fn target_limit(&self) -> u32 {
        match self.target {
            Target::Title => TICKET_TITLE_MAX,
            Target::Description => TICKET_DESCRIPTION_MAX,
            Target::ContactEmail => 254,
            Target::ContactPhone => 32,
            Target::ContactName => 200,
            Target::Priority => 10,
            Target::Custom => CUSTOM_FIELD_MAX,
        }
    }

    /// The most characters accepted.
    pub fn max_len(&self) -> u32 {
        let by_input = match self.input {
            InputType::Text => 200,
            InputType::Email => 254,
            InputType::Phone => 32,
            InputType::Url => 2048,
            InputType::LongText => 10_000,
            InputType::Select => 200,
        };
        self.max_length.unwrap_or(by_input).min(self.target_limit())
    }

    /// Whether `value` is one of the select's options.
    pub fn has_option(&self, value: &str) -> bool {
        self.options.iter().any(|o| o.value() == value)
    }
}

impl Settings {
    /// The fields the form shows: the configured ones, or the default form.
    pub fn form(&self) -> Vec<Field> {
        if self.fields.is_empty() { default_fields() } else { self.fields.clone() }
    }

    /// Checks what the shape cannot: names, targets, options, conditions
    /// and limits. The message names the field and what is wrong.
    pub fn check(&self) -> Result<(), PluginError> {
        let bad = |at: String, why: String| Err(PluginError::invalid_settings(format!("settings.{at}: {why}")));
        let title_len = self.title.trim().chars().count();
        if title_len == 0 || title_len > MAX_TITLE {
            return bad("title".into(), format!("must be 1 to {MAX_TITLE} characters"));
        }
        for (name, text) in [("intro", &self.intro), ("success_message", &self.success_message)] {
            if text.chars().count() > MAX_TEXT {
                return bad(name.into(), format!("is longer than {MAX_TEXT} characters"));
            }
        }
        if self.submit_label.trim().is_empty() || self.submit_label.chars().count() > 60 {
            return bad("submit_label".into(), "must be 1 to 60 characters".into());
        }
        if self.rate_limit.submissions > 0 && !(1..=1440).contains(&self.rate_limit.per_minutes) {
            return bad("rate_limit.per_minutes".into(), "must be 1 to 1440".into());
        }
        if !is_name(&self.honeypot) {
            return bad("honeypot".into(), format!("\"{}\" is not a field name; {NAME_RULE}", self.honeypot));
        }
        if self.fields.len() > MAX_FIELDS {
            return bad("fields".into(), format!("a form has at most {MAX_FIELDS} fields"));
        }
        for (i, field) in self.fields.iter().enumerate() {
            let at = |what: &str| format!("fields[{i}]{what}");
            if let Err(why) = self.check_field(i, field) {
                let (suffix, why) = why;
                return bad(at(suffix), why);
            }
        }
        Ok(())
    }

    /// Checks field `i`; the error is (path suffix, message).
    fn check_field(&self, i: usize, field: &Field) -> Result<(), (&'static str, String)> {
        let earlier = &self.fields[..i];
        if !is_name(&field.name) {
            return Err((".name", format!("\"{}\" is not a field name; {NAME_RULE}", field.name)));
        }
        if field.name == self.honeypot {
            return Err((".name", format!("\"{}\" is the honeypot's name; rename one of them", field.name)));
        }
        if earlier.iter().any(|f| f.name == field.name) {
            return Err((".name", format!("\"{}\" is used by an earlier field", field.name)));
        }
        let same_target = earlier.iter().find(|f| f.target == field.target && field.target != Target::Custom);
        if let Some(other) = same_target {
            return Err((
                ".target",
                format!("\"{}\" is already filled by field \"{}\"", field.target.name(), other.name),
            ));
        }
        let needed = match field.target {
            Target::ContactEmail => Some(InputType::Email),
            Target::ContactPhone => Some(InputType::Phone),
            Target::Priority => Some(InputType::Select),
            _ => None,
        };
        if let Some(needed) = needed.filter(|n| *n != field.input) {
            return Err((".type", format!("a {} field must be of type {}", field.target.name(), input_name(needed))));
        }
        let label_len = field.label.trim().chars().count();
        if label_len == 0 || label_len > 200 {
            return Err((".label", "must be 1 to 200 characters (a hidden label is still read out)".into()));
        }
        if field.description.chars().count() > MAX_TEXT || field.placeholder.chars().count() > 200 {
            return Err((
                ".description",
                format!("description or placeholder is too long (at most {MAX_TEXT} and 200)"),
            ));
        }
        if let Some(max) = field.max_length {
            let limit = field.target_limit();
            if max == 0 || max > limit {
                return Err((".max_length", format!("must be 1 to {limit} for a {} field", field.target.name())));
            }
        }
        if field.default.chars().count() > field.max_len() as usize {
            return Err((".default", format!("is longer than the field's {} characters", field.max_len())));
        }
        if field.input == InputType::Select {
            if field.options.is_empty() || field.options.len() > MAX_OPTIONS {
                return Err((".options", format!("a select needs 1 to {MAX_OPTIONS} options")));
            }
            for (j, option) in field.options.iter().enumerate() {
                if option.value().trim().is_empty() || option.label().trim().is_empty() {
                    return Err((".options", format!("option {j} has an empty value or label")));
                }
                if field.options[..j].iter().any(|o| o.value() == option.value()) {
                    return Err((".options", format!("\"{}\" is listed twice", option.value())));
                }
                if field.target == Target::Priority && PriorityName::parse(option.value()).is_none() {
                    return Err((
                        ".options",
                        format!("\"{}\" is not a priority; use low, medium, high or urgent", option.value()),
                    ));
                }
            }
            if !field.default.is_empty() && !field.has_option(&field.default) {
                return Err((".default", format!("\"{}\" is not one of the options", field.default)));
            }
        } else if !field.options.is_empty() {
            return Err((".options", "only a select has options".into()));
        }
        match &field.visibility {
            Visibility::Hidden if field.required && field.default.is_empty() => {
                return Err((".required", "a hidden required field needs a default".into()));
            }
            Visibility::OnlyWhen(cond) => match earlier.iter().find(|f| f.name == cond.field) {
                None => {
                    return Err((
                        ".visibility.only_when.field",
                        format!("\"{}\" is not an earlier field of this form", cond.field),
                    ));
                }
                Some(other) if other.input == InputType::Select && !other.has_option(&cond.equals) => {
                    return Err((
                        ".visibility.only_when.equals",
                        format!("\"{}\" is not an option of field \"{}\"", cond.equals, other.name),
                    ));
                }
                Some(_) => {}
            },
            _ => {}
        }
        Ok(())
    }
}

/// How field names are written.
const NAME_RULE: &str = "use 1 to 64 lowercase letters, digits, - and _";

/// Whether `name` is a valid field name; the same rule as the host's keys
/// for custom ticket fields, lowercase so names are unambiguous in forms.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// How admins write an input type, for messages.
fn input_name(input: InputType) -> &'static str {
    match input {
        InputType::Text => "text",
        InputType::Email => "email",
        InputType::Phone => "phone",
        InputType::Url => "url",
        InputType::LongText => "long_text",
        InputType::Select => "select",
    }
}

/// The form used when none is configured: name, e-mail, subject and
/// description, all required.
pub fn default_fields() -> Vec<Field> {
    vec![
        Field::new("name", Target::ContactName, InputType::Text, "Your name").required(),
        Field::new("email", Target::ContactEmail, InputType::Email, "E-mail").required(),
        Field::new("subject", Target::Title, InputType::Text, "Subject").required(),
        Field::new("description", Target::Description, InputType::LongText, "How can we help?").required(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Settings, PluginError> {
        let settings: Settings = switchboard_sdk::settings::parse(json)?;
        settings.check()?;
        Ok(settings)
    }

    fn message(json: &str) -> String {
        parse(json).expect_err(json).message().to_owned()
    }

    #[test]
    fn empty_settings_give_the_published_default_form() {
        let settings = parse("").expect("defaults");
        assert!(settings.published);
        let form = settings.form();
        let names: Vec<_> = form.iter().map(|f| (f.name.as_str(), f.target, f.required)).collect();
        assert_eq!(
            names,
            [
                ("name", Target::ContactName, true),
                ("email", Target::ContactEmail, true),
                ("subject", Target::Title, true),
                ("description", Target::Description, true),
            ]
        );
        assert_eq!(form[3].input, InputType::LongText);
    }

    #[test]
    fn reads_every_field_setting() {
        let settings = parse(
            r#"{"title": "Billing help", "fields": [
                {"name": "topic", "target": "custom", "type": "select", "label": "Topic",
                 "options": ["general", {"value": "billing", "label": "Billing"}], "default": "general"},
                {"name": "invoice", "target": "custom", "label": "Invoice number", "label_position": "beside",
                 "description": "On the top right", "placeholder": "INV-0001", "required": true, "max_length": 20,
                 "visibility": {"only_when": {"field": "topic", "equals": "billing"}}},
                {"name": "source", "target": "custom", "label": "Source", "visibility": "hidden", "default": "site"},
                {"name": "urgency", "target": "priority", "type": "select", "label": "Urgency",
                 "label_position": "hidden", "options": ["low", "urgent"]}
            ]}"#,
        )
        .expect("valid");
        let invoice = &settings.fields[1];
        assert_eq!(invoice.label_position, LabelPosition::Beside);
        assert_eq!(invoice.max_len(), 20);
        assert_eq!(
            invoice.visibility,
            Visibility::OnlyWhen(Condition { field: "topic".into(), equals: "billing".into() })
        );
        assert_eq!(settings.fields[0].options[1].label(), "Billing");
        assert_eq!(settings.fields[2].visibility, Visibility::Hidden);
    }

    #[test]
    fn wrong_settings_name_the_field_and_the_problem() {
        let cases = [
            (
                r#"{"fields": [{"name": "x", "target": "title", "type": "colour", "label": "X"}]}"#,
                "settings.fields[0].type: unknown variant `colour`",
            ),
            (
                r#"{"fields": [{"name": "Bad Name", "target": "custom", "label": "X"}]}"#,
                "settings.fields[0].name: \"Bad Name\" is not a field name",
            ),
            (
                r#"{"fields": [{"name": "a", "target": "custom", "label": "A"}, {"name": "a", "target": "custom", "label": "B"}]}"#,
                "settings.fields[1].name: \"a\" is used by an earlier field",
            ),
            (
                r#"{"fields": [{"name": "a", "target": "title", "label": "A"}, {"name": "b", "target": "title", "label": "B"}]}"#,
                "settings.fields[1].target: \"title\" is already filled by field \"a\"",
            ),
            (
                r#"{"fields": [{"name": "e", "target": "contact_email", "label": "E"}]}"#,
                "settings.fields[0].type: a contact_email field must be of type email",
            ),
            (
                r#"{"fields": [{"name": "s", "target": "custom", "type": "select", "label": "S"}]}"#,
                "settings.fields[0].options: a select needs 1 to 100 options",
            ),
            (
                r#"{"fields": [{"name": "s", "target": "custom", "label": "S", "options": ["a"]}]}"#,
                "settings.fields[0].options: only a select has options",
            ),
            (
                r#"{"fields": [{"name": "p", "target": "priority", "type": "select", "label": "P", "options": ["soon"]}]}"#,
                "settings.fields[0].options: \"soon\" is not a priority",
            ),
            (
                r#"{"fields": [{"name": "s", "target": "custom", "type": "select", "label": "S", "options": ["a"], "default": "b"}]}"#,
                "settings.fields[0].default: \"b\" is not one of the options",
            ),
            (
                r#"{"fields": [{"name": "a", "target": "custom", "label": "A", "visibility": {"only_when": {"field": "b", "equals": "x"}}}, {"name": "b", "target": "custom", "label": "B"}]}"#,
                "settings.fields[0].visibility.only_when.field: \"b\" is not an earlier field",
            ),
            (
                r#"{"fields": [{"name": "s", "target": "custom", "type": "select", "label": "S", "options": ["a"]}, {"name": "t", "target": "custom", "label": "T", "visibility": {"only_when": {"field": "s", "equals": "z"}}}]}"#,
                "settings.fields[1].visibility.only_when.equals: \"z\" is not an option of field \"s\"",
            ),
            (
                r#"{"fields": [{"name": "h", "target": "custom", "label": "H", "visibility": "hidden", "required": true}]}"#,
                "settings.fields[0].required: a hidden required field needs a default",
            ),
            (
                r#"{"fields": [{"name": "t", "target": "title", "label": "T", "max_length": 301}]}"#,
                "settings.fields[0].max_length: must be 1 to 300 for a title field",
            ),
            (
                r#"{"fields": [{"name": "website", "target": "custom", "label": "Site"}]}"#,
                "settings.fields[0].name: \"website\" is the honeypot's name",
            ),
            (
                r#"{"fields": [{"name": "n", "target": "custom", "label": " "}]}"#,
                "settings.fields[0].label: must be 1 to 200 characters",
            ),
            (r#"{"title": ""}"#, "settings.title: must be 1 to 200 characters"),
            (
                r#"{"rate_limit": {"submissions": 3, "per_minutes": 0}}"#,
                "settings.rate_limit.per_minutes: must be 1 to 1440",
            ),
            (r#"{"priority": "soon"}"#, "settings.priority: unknown variant `soon`"),
            (r#"{"colour": "red"}"#, "unknown field `colour`"),
        ];
        for (json, expected) in cases {
            let got = message(json);
            assert!(got.contains(expected), "{json}\n  got: {got}\n  expected: {expected}");
        }
    }
}
