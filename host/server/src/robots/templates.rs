//! Texts in robot settings are templates (minijinja) over a fixed set of
//! values: the ticket, its contact and its team.
//!
//! A settings property is a template when the plugin's schema marks it
//! with `"x-template": true` (see `settings_schema`). The host checks each
//! template when the settings are saved, so that a typo such as
//! `{{ ticket.titel }}` is an error the admin sees at once rather than an
//! SMS that fails at three in the morning; and it renders them before each
//! run, so that every robot gets plain text and needs no template engine.
//!
//! Templates come from admins, but are still bounded: a fuel limit stops
//! a loop that would run long, and the rendered text has a size cap.

use minijinja::{Environment, UndefinedBehavior, Value};
use switchboard_core::{Contact, Team, Ticket};

/// The values a template may use.
pub(crate) const VALUES: [&str; 9] = [
    "ticket.id",
    "ticket.title",
    "ticket.priority",
    "ticket.stage",
    "ticket.url",
    "contact.name",
    "contact.email",
    "contact.phone",
    "team.name",
];

/// Instructions one rendering may run: plenty for any text, too few for a
/// loop to hold a worker.
const FUEL: u64 = 50_000;

/// The longest rendered text, in bytes.
const MAX_RENDERED: usize = 64 * 1024;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

/// Checks a template: it must parse, and use only [`VALUES`] (or the
/// objects they belong to). The error says what is wrong, quoting it.
pub(crate) fn check(source: &str) -> Result<(), String> {
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| describe(&e))?;
    let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    used.sort();
    let objects = ["ticket", "contact", "team"];
    if let Some(unknown) = used.iter().find(|v| !VALUES.contains(&v.as_str()) && !objects.contains(&v.as_str())) {
        return Err(format!("unknown template value \"{unknown}\"; the values are {}", VALUES.join(", ")));
    }
    Ok(())
}

/// Checks the template properties of `settings` (see `SettingsSchema`):
/// the error names the property and what is wrong with it.
pub(crate) fn check_fields(
    schema: &crate::settings_schema::SettingsSchema,
    settings: &serde_json::Value,
) -> Result<(), (String, String)> {
    for name in schema.templates() {
        if let Some(source) = settings.get(name).and_then(serde_json::Value::as_str) {
            check(source).map_err(|e| (name.clone(), e))?;
        }
    }
    Ok(())
}

/// Renders the template properties of `settings` in place, or says which
/// one failed and why.
pub(crate) fn render_fields(
    schema: &crate::settings_schema::SettingsSchema,
    settings: &mut serde_json::Value,
    values: &Value,
) -> Result<(), String> {
    for name in schema.templates() {
        if let Some(slot) = settings.get_mut(name)
            && let Some(source) = slot.as_str()
        {
            let text = render(source, values).map_err(|e| format!("its {name} template: {e}"))?;
            *slot = serde_json::Value::String(text);
        }
    }
    Ok(())
}

/// The values of one run.
pub(crate) fn values(ticket: &Ticket, contact: Option<&Contact>, team: &Team, url: String) -> Value {
    let stage = team.stage(ticket.stage).map(|s| s.name.clone()).unwrap_or_default();
    let contact = contact.map_or_else(
        || minijinja::context! { name => "", email => "", phone => "" },
        |c| {
            minijinja::context! {
                name => c.name.clone(),
                email => c.emails.first().map(|e| e.address.clone()).unwrap_or_default(),
                phone => c.phones.first().map(|p| p.number.clone()).unwrap_or_default(),
            }
        },
    );
    minijinja::context! {
        ticket => minijinja::context! {
            id => ticket.id,
            title => ticket.title.clone(),
            priority => ticket.priority.name(),
            stage => stage,
            url => url,
        },
        contact => contact,
        team => minijinja::context! { name => team.name.clone() },
    }
}

/// Renders a template with a run's values.
pub(crate) fn render(source: &str, values: &Value) -> Result<String, String> {
    let env = environment();
    let text = env.render_str(source, values).map_err(|e| describe(&e))?;
    if text.len() > MAX_RENDERED {
        return Err(format!("renders to {} bytes; the most is {MAX_RENDERED}", text.len()));
    }
    Ok(text)
}

/// A minijinja error as one line, with the place it names.
fn describe(e: &minijinja::Error) -> String {
    let mut text = e.kind().to_string();
    if let Some(detail) = e.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(line) = e.line() {
        text.push_str(&format!(" (line {line})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::{Email, PointKind, TeamDraft, TicketDraft, Timestamp};

    fn run_values() -> Value {
        let now = Timestamp::UNIX_EPOCH;
        let team = Team::new(TeamDraft { name: "Ops <Desk>".into(), slug: None, alias: None }, now).expect("team");
        let draft = TicketDraft { title: "Printer on fire".into(), origin: "api".into(), ..TicketDraft::default() };
        let ticket = Ticket::open(42, &team, draft, Some(7), now).expect("ticket");
        let contact = Contact {
            id: 7,
            name: "Ann".into(),
            emails: vec![Email { address: "ann@example.com".into(), kind: PointKind::Work }],
            phones: Vec::new(),
            company: None,
            created_at: now,
            updated_at: now,
        };
        values(&ticket, Some(&contact), &team, "https://help.example.com/api/tickets/42".into())
    }

    #[test]
    fn templates_render_the_fixed_values_as_plain_text() {
        let text = render(
            "#{{ ticket.id }} {{ ticket.title }} ({{ ticket.stage }}, {{ ticket.priority }}) for {{ contact.name }} <{{ contact.email }}> of {{ team.name }}",
            &run_values(),
        );
        assert_eq!(text.as_deref(), Ok("#42 Printer on fire (New, low) for Ann <ann@example.com> of Ops <Desk>"));
        assert_eq!(render("{{ contact.phone }}", &run_values()).as_deref(), Ok(""), "a missing phone is empty");
        assert_eq!(render("{{ ticket.title | upper }}", &run_values()).as_deref(), Ok("PRINTER ON FIRE"));
    }

    #[test]
    fn an_unknown_value_or_bad_syntax_is_found_when_checked() {
        let unknown = check("Hi {{ ticket.titel }}").expect_err("typo");
        assert!(unknown.starts_with("unknown template value \"ticket.titel\""), "{unknown}");
        assert!(check("{{ secrets.token }}").is_err());
        let syntax = check("Hi {{ ticket.id").expect_err("unclosed");
        assert!(syntax.contains("line 1"), "{syntax}");
        check(
            "Hi {{ contact.name | default('there') }}, #{{ ticket.id }} {% if ticket.url %}{{ ticket.url }}{% endif %}",
        )
        .expect("known values, filters and conditions");
    }

    #[test]
    fn a_long_loop_runs_out_of_fuel_and_a_huge_text_is_refused() {
        let looping =
            render("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", &run_values());
        assert!(looping.is_err(), "fuel stops it");
        let huge = render("{{ 'x' * 100000 }}", &run_values());
        assert!(huge.is_err());
    }
}
