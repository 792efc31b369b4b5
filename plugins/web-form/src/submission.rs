//! A submission: the values a client sent, which fields they count for,
//! the per-field errors, and the ticket an accepted one opens.

use std::collections::BTreeMap;

use switchboard_sdk::types::{ContactInfo, Email, NewTicket, Phone, PointKind};

use crate::formats::{is_email, is_phone, is_url};
use crate::settings::{Field, InputType, PriorityName, Settings, TICKET_TITLE_MAX, Target, Visibility};
use crate::texts::{Lang, Msg};

/// Submitted values by field name; the first value of a name wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values(Vec<(String, String)>);

impl Values {
    /// From name-value pairs such as a form body or a query string.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut values: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            if !values.iter().any(|(n, _)| *n == name) {
                values.push((name, value));
            }
        }
        Values(values)
    }

    /// From a JSON object of strings. Values that are not strings are
    /// errors on that field; a body that is not an object is an error of
    /// its own.
    pub fn from_json(body: &[u8], lang: Lang) -> Result<(Self, FieldErrors), String> {
        let object: serde_json::Map<String, serde_json::Value> = switchboard_sdk::http::parse_json(body)
            .map_err(|e| format!("the body must be a JSON object of field names and text values, each once: {e}"))?;
        let mut errors = FieldErrors::default();
        let mut pairs = Vec::new();
        for (name, value) in object {
            match value {
                serde_json::Value::String(text) => pairs.push((name, text)),
                serde_json::Value::Null => {}
                _ => errors.add(&name, Msg::SendAsText.text(lang).into()),
            }
        }
        Ok((Values::from_pairs(pairs), errors))
    }

    /// The value sent for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What a field should show or counts as: what was sent, or for a hidden
/// field that was not sent, its default.
pub fn value_of<'a>(field: &'a Field, values: &'a Values) -> &'a str {
    match values.get(&field.name) {
        Some(v) => v,
        None if field.visibility == Visibility::Hidden => &field.default,
        None => "",
    }
}

/// Which fields count for these values: a field shown "only when" another
/// has a value counts when that field counts and has that value. Others
/// always count. Conditions only point at earlier fields, so one pass in
/// order settles them.
pub fn active(form: &[Field], values: &Values) -> Vec<bool> {
    let mut on: Vec<bool> = Vec::with_capacity(form.len());
    for field in form {
        let is_on = match &field.visibility {
            Visibility::Always | Visibility::Hidden => true,
            Visibility::OnlyWhen(cond) => form
                .iter()
                .zip(&on)
                .find(|(f, _)| f.name == cond.field)
                .is_some_and(|(f, f_on)| *f_on && value_of(f, values).trim() == cond.equals),
        };
        on.push(is_on);
    }
    on
}

/// Messages by field name, in form order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    /// Adds a message for a field; the first message of a field wins.
    pub fn add(&mut self, name: &str, message: String) {
        if self.get(name).is_none() {
            self.0.push((name.to_owned(), message));
        }
    }

    /// The message for a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, m)| m.as_str())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As a JSON object of field name to message.
    pub fn to_json(&self) -> serde_json::Value {
        self.0.iter().map(|(n, m)| (n.clone(), serde_json::Value::String(m.clone()))).collect()
    }
}

/// A submission that passed every check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The ticket's title field, if the form has one.
    pub title: Option<String>,
    /// The ticket's description.
    pub description: String,
    /// The priority a field chose.
    pub priority: Option<PriorityName>,
    /// The contact's name.
    pub name: Option<String>,
    /// The contact's e-mail address.
    pub email: Option<String>,
    /// The contact's phone number.
    pub phone: Option<String>,
    /// Custom fields for the ticket.
    pub custom: BTreeMap<String, String>,
}

/// Checks every counting field of `form` against `values`.
pub fn evaluate(form: &[Field], values: &Values, lang: Lang) -> Result<Accepted, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut accepted = Accepted::default();
    for (field, on) in form.iter().zip(active(form, values)) {
        if !on {
            continue;
        }
        match check(field, value_of(field, values), lang) {
            Ok(None) => {}
            Ok(Some(value)) => accept(&mut accepted, field, value),
            Err(message) => errors.add(&field.name, message),
        }
    }
    if errors.is_empty() { Ok(accepted) } else { Err(errors) }
}

/// Checks one value; `None` when it is empty and may be.
fn check(field: &Field, raw: &str, lang: Lang) -> Result<Option<String>, String> {
    let value = if field.input == InputType::LongText {
        raw.replace("\r\n", "\n").replace('\r', "\n").trim().to_owned()
    } else {
        raw.trim().to_owned()
    };
    if value.is_empty() {
        return if field.required { Err(Msg::Required.text(lang).into()) } else { Ok(None) };
    }
    if field.input != InputType::LongText && value.contains('\n') {
        return Err(Msg::SingleLine.text(lang).into());
    }
    // These mirror the host's rules for names and titles, so that a value
    // the host would refuse is this field's error, not a failed submission.
    // Only long text may hold line breaks and tabs.
    let multi_line = field.input == InputType::LongText;
    if value.chars().any(|c| c.is_control() && !(multi_line && (c == '\n' || c == '\t'))) {
        return Err(Msg::NoControls.text(lang).into());
    }
    let shown_in_lists = matches!(field.target, Target::ContactName | Target::Title);
    if shown_in_lists && value.chars().any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) {
        return Err(Msg::NoBidi.text(lang).into());
    }
    let (count, max) = (value.chars().count(), field.max_len() as usize);
    if count > max {
        return Err(Msg::TooLong.with(lang, &[("max", &max.to_string()), ("count", &count.to_string())]));
    }
    let format_ok = match field.input {
        InputType::Email => is_email(&value),
        InputType::Phone => is_phone(&value),
        InputType::Url => is_url(&value),
        InputType::Select => field.has_option(&value),
        InputType::Text | InputType::LongText => true,
    };
    if !format_ok {
        return Err(match field.input {
            InputType::Email => Msg::Email.text(lang).into(),
            InputType::Phone => Msg::Phone.text(lang).into(),
            InputType::Url => Msg::Url.text(lang).into(),
            _ => Msg::ChooseOption.text(lang).into(),
        });
    }
    if field.target == Target::Priority && PriorityName::parse(&value).is_none() {
        return Err(Msg::ChooseOption.text(lang).into());
    }
    Ok(Some(value))
}

fn accept(accepted: &mut Accepted, field: &Field, value: String) {
    match field.target {
        Target::ContactName => accepted.name = Some(value),
        Target::ContactEmail => accepted.email = Some(value),
        Target::ContactPhone => accepted.phone = Some(value),
        Target::Title => accepted.title = Some(value),
        Target::Description => accepted.description = value,
        Target::Priority => accepted.priority = PriorityName::parse(&value),
        Target::Custom => {
            accepted.custom.insert(field.name.clone(), value);
        }
    }
}

impl Accepted {
    /// The ticket this submission opens. Without a title field the title
    /// is the form's title and who sent it.
    pub fn new_ticket(&self, settings: &Settings) -> NewTicket {
        let title = match &self.title {
            Some(t) => t.clone(),
            None => {
                let who = self.name.as_deref().or(self.email.as_deref()).or(self.phone.as_deref());
                match who {
                    Some(who) => format!("{}: {who}", settings.title.trim()),
                    None => settings.title.trim().to_owned(),
                }
            }
        };
        let has_contact = self.name.is_some() || self.email.is_some() || self.phone.is_some();
        let contact = has_contact.then(|| ContactInfo {
            name: self.name.clone(),
            emails: self.email.iter().map(|a| Email { address: a.clone(), kind: PointKind::Other }).collect(),
            phones: self.phone.iter().map(|n| Phone { number: n.clone(), kind: PointKind::Other }).collect(),
        });
        NewTicket {
            title: title.chars().take(TICKET_TITLE_MAX as usize).collect(),
            description: self.description.clone(),
            priority: self.priority.or(settings.priority).map(PriorityName::to_wit),
            contact,
            external_key: None,
        }
    }

    /// The custom fields as the host takes them.
    pub fn fields(&self) -> Vec<(String, String)> {
        self.custom.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use switchboard_sdk::types::Priority;

    use super::*;

    fn in_english(form: &[Field], values: &Values) -> Result<Accepted, FieldErrors> {
        evaluate(form, values, Lang::En)
    }

    fn json_in_english(body: &[u8]) -> Result<(Values, FieldErrors), String> {
        Values::from_json(body, Lang::En)
    }
    use crate::settings::{Condition, SelectOption};

    fn values(pairs: &[(&str, &str)]) -> Values {
        Values::from_pairs(pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())))
    }

    fn select(name: &str, target: Target, options: &[&str]) -> Field {
        let mut f = Field::new(name, target, InputType::Select, name);
        f.options = options.iter().map(|o| SelectOption::Plain((*o).into())).collect();
        f
    }

    fn only_when(mut field: Field, other: &str, equals: &str) -> Field {
        field.visibility = Visibility::OnlyWhen(Condition { field: other.into(), equals: equals.into() });
        field
    }

    /// topic (select) → invoice (only when billing, required) → line (only
    /// when invoice is "A-1", a chain).
    fn billing_form() -> Vec<Field> {
        vec![
            select("topic", Target::Custom, &["general", "billing"]),
            only_when(Field::new("invoice", Target::Custom, InputType::Text, "Invoice").required(), "topic", "billing"),
            only_when(Field::new("line", Target::Custom, InputType::Text, "Line").required(), "invoice", "A-1"),
        ]
    }

    #[test]
    fn conditional_fields_count_only_when_their_condition_holds() {
        let form = billing_form();
        assert_eq!(active(&form, &values(&[("topic", "general")])), [true, false, false]);
        assert_eq!(active(&form, &values(&[("topic", "billing")])), [true, true, false]);
        assert_eq!(active(&form, &values(&[("topic", "billing"), ("invoice", " A-1 ")])), [true, true, true]);
        // A chain breaks when an earlier link is off, whatever was sent.
        assert_eq!(active(&form, &values(&[("topic", "general"), ("invoice", "A-1")])), [true, false, false]);
    }

    #[test]
    fn an_ignored_conditional_field_is_neither_checked_nor_kept() {
        let form = billing_form();
        let accepted = in_english(&form, &values(&[("topic", "general"), ("invoice", "junk"), ("line", "x")]))
            .expect("required fields that are off are not required");
        assert_eq!(accepted.custom.into_iter().collect::<Vec<_>>(), [("topic".into(), "general".into())]);
        let errors = in_english(&form, &values(&[("topic", "billing")])).expect_err("invoice is on and required");
        assert_eq!(errors.0, [("invoice".to_owned(), "This field is required".to_owned())]);
    }

    #[test]
    fn every_kind_of_check_gives_a_message_for_its_field() {
        let mut short = Field::new("short", Target::Custom, InputType::Text, "Short");
        short.max_length = Some(5);
        let form = vec![
            Field::new("name", Target::ContactName, InputType::Text, "Name").required(),
            Field::new("email", Target::ContactEmail, InputType::Email, "E-mail"),
            Field::new("phone", Target::ContactPhone, InputType::Phone, "Phone"),
            Field::new("site", Target::Custom, InputType::Url, "Site"),
            select("level", Target::Priority, &["low", "urgent"]),
            short,
            Field::new("one", Target::Title, InputType::Text, "One line"),
        ];
        let errors = in_english(
            &form,
            &values(&[
                ("name", "   "),
                ("email", "ann@"),
                ("phone", "call me"),
                ("site", "javascript:alert(1)"),
                ("level", "high"),
                ("short", "123456"),
                ("one", "two\nlines"),
            ]),
        )
        .expect_err("all bad");
        let got: Vec<(&str, &str)> = errors.0.iter().map(|(n, m)| (n.as_str(), m.as_str())).collect();
        assert_eq!(
            got,
            [
                ("name", "This field is required"),
                ("email", "Enter an e-mail address such as name@example.com"),
                ("phone", "Enter a phone number with its country code, such as +44 20 7946 0958"),
                ("site", "Enter a web address that starts with https://"),
                ("level", "Choose one of the options"),
                ("short", "Use at most 5 characters (this has 6)"),
                ("one", "Use a single line"),
            ]
        );
    }

    #[test]
    fn an_accepted_submission_becomes_a_ticket_with_contact_priority_and_fields() {
        let form = vec![
            Field::new("name", Target::ContactName, InputType::Text, "Name"),
            Field::new("email", Target::ContactEmail, InputType::Email, "E-mail"),
            Field::new("phone", Target::ContactPhone, InputType::Phone, "Phone"),
            Field::new("subject", Target::Title, InputType::Text, "Subject"),
            Field::new("body", Target::Description, InputType::LongText, "Body"),
            select("level", Target::Priority, &["low", "urgent"]),
            Field::new("order", Target::Custom, InputType::Text, "Order"),
            Field::new("empty", Target::Custom, InputType::Text, "Empty"),
        ];
        let accepted = in_english(
            &form,
            &values(&[
                ("name", " Ann Lee "),
                ("email", "ann@example.com"),
                ("phone", "+380 44 123 4567"),
                ("subject", "Refund"),
                ("body", "line one\r\nline two\r\n"),
                ("level", "urgent"),
                ("order", "A-17"),
            ]),
        )
        .expect("valid");
        let ticket = accepted.new_ticket(&Settings::default());
        assert_eq!(ticket.title, "Refund");
        assert_eq!(ticket.description, "line one\nline two");
        assert_eq!(ticket.priority, Some(Priority::Urgent));
        let contact = ticket.contact.expect("contact");
        assert_eq!(contact.name.as_deref(), Some("Ann Lee"));
        assert_eq!(contact.emails[0].address, "ann@example.com");
        assert_eq!(contact.phones[0].number, "+380 44 123 4567");
        assert_eq!(accepted.fields(), [("order".to_owned(), "A-17".to_owned())]);
    }

    #[test]
    fn without_a_title_field_the_title_names_the_form_and_sender() {
        let form = vec![Field::new("email", Target::ContactEmail, InputType::Email, "E-mail").required()];
        let accepted = in_english(&form, &values(&[("email", "ann@example.com")])).expect("valid");
        let settings = Settings { priority: Some(PriorityName::High), ..Settings::default() };
        let ticket = accepted.new_ticket(&settings);
        assert_eq!(ticket.title, "Contact support: ann@example.com");
        assert_eq!(ticket.priority, Some(Priority::High), "the settings' priority when no field sets one");
    }

    #[test]
    fn hidden_fields_take_their_default_unless_sent() {
        let mut source = Field::new("source", Target::Custom, InputType::Text, "Source");
        source.visibility = Visibility::Hidden;
        source.default = "site".into();
        let form = vec![source];
        assert_eq!(in_english(&form, &values(&[])).expect("ok").custom["source"], "site");
        assert_eq!(in_english(&form, &values(&[("source", "ad")])).expect("ok").custom["source"], "ad");
    }

    #[test]
    fn json_bodies_take_strings_and_name_other_values() {
        let (vals, errors) = json_in_english(br#"{"name": "Ann", "age": 7, "skip": null}"#).expect("object");
        assert_eq!(vals.get("name"), Some("Ann"));
        assert_eq!(errors.get("age"), Some("Send this field's value as text"));
        assert!(json_in_english(b"[1]").is_err());
        let twice = json_in_english(br#"{"name": "Ann", "name": "Eve"}"#).expect_err("a repeated field");
        assert!(twice.contains(r#"duplicate key "name""#), "{twice}");
        assert_eq!(values(&[("a", "1"), ("a", "2")]).get("a"), Some("1"), "the first value wins");
    }

    proptest! {
        /// Whatever is sent, a field that does not count never produces an
        /// error or a value, and every error names a field that counts.
        #[test]
        fn only_counting_fields_are_judged(topic in "[a-z]{0,8}|billing", invoice in "\\PC{0,12}", line in "\\PC{0,12}") {
            let form = billing_form();
            let vals = values(&[("topic", &topic), ("invoice", &invoice), ("line", &line)]);
            let on = active(&form, &vals);
            match in_english(&form, &vals) {
                Ok(accepted) => {
                    for (field, on) in form.iter().zip(&on) {
                        if !on {
                            prop_assert!(!accepted.custom.contains_key(&field.name));
                        }
                    }
                }
                Err(errors) => {
                    for (name, _) in &errors.0 {
                        let i = form.iter().position(|f| f.name == *name).expect("known field");
                        prop_assert!(on[i]);
                    }
                }
            }
        }
    }
}
