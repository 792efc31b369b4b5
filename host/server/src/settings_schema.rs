//! A plugin's settings schema: the JSON Schema in its manifest, compiled
//! and checked against the settings an admin gives. It lives here, not in
//! the core, because it is a rule about JSON documents, and the core knows
//! no wire format.
//!
//! The host checks the schema before the plugin's own `validate-settings`
//! runs, so that every plugin gets the same clear errors for the same
//! mistakes (a wrong type, a missing field, a value out of range), each
//! named by its JSON pointer. The schema is the plugin's, so it is treated
//! as untrusted input: references to other documents are refused (nothing
//! is fetched), and patterns use the linear-time `regex` engine, so that no
//! schema can make a check take exponential time.
//!
//! A top-level property marked `"writeOnly": true` is a secret: the
//! server seals it at rest, never shows it, and keeps it out of the
//! settings plugins built against WIT 0.1.4 receive (see `secret_key`).
//! Secrets must be strings at the top level, so that each has a name the
//! `secrets` import can use; `writeOnly` deeper in a schema is refused
//! rather than silently ignored.
//!
//! A top-level string property marked `"x-template": true` is a template
//! over the run's values (see `robots::templates`): checked when settings
//! are saved, rendered by the host before a robot runs.

use jsonschema::{PatternOptions, Validator};
use serde_json::Value;

use switchboard_core::CoreError;

/// How many of the problems in one document are listed; the rest are
/// counted, so a document wrong everywhere gives a short answer.
const SHOWN_PROBLEMS: usize = 5;

/// A compiled settings schema.
#[derive(Debug)]
pub struct SettingsSchema {
    validator: Option<Validator>,
    secrets: Vec<String>,
    templates: Vec<String>,
    /// The top-level properties whose type is `string`.
    strings: Vec<String>,
}

impl SettingsSchema {
    /// Compiles the schema text of a manifest; an empty text accepts any
    /// settings. The error names what is wrong in the schema.
    pub fn compile(schema: &str) -> Result<SettingsSchema, CoreError> {
        if schema.trim().is_empty() {
            return Ok(SettingsSchema {
                validator: None,
                secrets: Vec::new(),
                templates: Vec::new(),
                strings: Vec::new(),
            });
        }
        let value: Value = serde_json::from_str(schema)
            .map_err(|e| CoreError::invalid("settings_schema", format!("is not JSON: {e}")))?;
        if !value.is_object() {
            return Err(CoreError::invalid("settings_schema", "must be a JSON Schema object"));
        }
        let secrets = secret_properties(&value)?;
        let templates = template_properties(&value)?;
        let validator = jsonschema::options()
            .with_pattern_options(PatternOptions::regex())
            .build(&value)
            .map_err(|e| CoreError::invalid("settings_schema", format!("is not a usable JSON Schema: {e}")))?;
        let strings = value
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, p)| p.get("type") == Some(&Value::String("string".into())))
            .map(|(name, _)| name.clone())
            .collect();
        Ok(SettingsSchema { validator: Some(validator), secrets, templates, strings })
    }

    /// Whether the schema has a top-level property `name` of type string.
    pub fn has_string_property(&self, name: &str) -> bool {
        self.strings.iter().any(|s| s == name)
    }

    /// The names of the secret properties, in the schema's order.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The names of the template properties (see `robots::templates`), in
    /// the schema's order.
    pub fn templates(&self) -> &[String] {
        &self.templates
    }

    /// The names of the secret properties of a schema text that compiled at
    /// install, without building a validator: for showing an installation.
    pub fn secret_names(schema: &str) -> Vec<String> {
        serde_json::from_str(schema).ok().and_then(|value| secret_properties(&value).ok()).unwrap_or_default()
    }

    /// Checks settings against the schema. The error lists the problems,
    /// each as `settings<JSON pointer>: <what is wrong>`, such as
    /// `settings/rate_limit/per_minutes: 0 is less than the minimum of 1`.
    pub fn check(&self, settings: &Value) -> Result<(), CoreError> {
        let Some(validator) = &self.validator else {
            return Ok(());
        };
        let mut problems = Vec::new();
        let mut more = 0usize;
        for error in validator.iter_errors(settings) {
            if problems.len() < SHOWN_PROBLEMS {
                problems.push(format!("settings{}: {}", error.instance_path().as_str(), error));
            } else {
                more += 1;
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        if more > 0 {
            problems.push(format!("and {more} more"));
        }
        Err(CoreError::invalid("settings", problems.join("; ")))
    }
}

/// The top-level properties marked `mark: true`, each of which must be a
/// string; `what` names such a property in the error.
fn marked_properties(schema: &Value, mark: &str, what: &str) -> Result<Vec<String>, CoreError> {
    let mut marked = Vec::new();
    let properties = schema.get("properties").and_then(Value::as_object);
    for (name, property) in properties.into_iter().flatten() {
        if property.get(mark) == Some(&Value::Bool(true)) {
            if property.get("type") != Some(&Value::String("string".into())) {
                return Err(CoreError::invalid(
                    "settings_schema",
                    format!("{what} property \"{name}\" ({mark}) must have \"type\": \"string\""),
                ));
            }
            marked.push(name.clone());
        }
    }
    Ok(marked)
}

/// The top-level properties marked `"x-template": true`: texts the host
/// renders before a robot runs.
fn template_properties(schema: &Value) -> Result<Vec<String>, CoreError> {
    marked_properties(schema, "x-template", "template")
}

/// The top-level properties marked `"writeOnly": true`, each of which must
/// be a string. Refuses `writeOnly` anywhere else. One pass over the
/// schema.
fn secret_properties(schema: &Value) -> Result<Vec<String>, CoreError> {
    let secrets = marked_properties(schema, "writeOnly", "secret")?;
    // Anything marked writeOnly below the top level would be shown and
    // stored in plain text; say so instead of ignoring the mark.
    let mut stack: Vec<(&Value, String, bool)> = vec![(schema, String::new(), true)];
    while let Some((value, pointer, top)) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    if key == "writeOnly" && !top && child != &Value::Bool(false) {
                        return Err(CoreError::invalid(
                            "settings_schema",
                            format!("writeOnly at \"{pointer}\": only top-level properties can be secret"),
                        ));
                    }
                    let top_property = pointer.is_empty() && key == "properties";
                    if top_property {
                        for (name, property) in child.as_object().into_iter().flatten() {
                            for (k, v) in property.as_object().into_iter().flatten() {
                                if k != "writeOnly" {
                                    stack.push((v, format!("/properties/{name}/{k}"), false));
                                }
                            }
                        }
                    } else if !(top && key == "writeOnly") {
                        stack.push((child, format!("{pointer}/{key}"), false));
                    }
                }
            }
            Value::Array(items) => {
                stack.extend(items.iter().enumerate().map(|(i, v)| (v, format!("{pointer}/{i}"), false)));
            }
            _ => {}
        }
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> SettingsSchema {
        let text = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "title": {"type": "string"},
                "rate_limit": {"type": "object", "properties": {"per_minutes": {"type": "integer", "minimum": 1}}},
                "fields": {"type": "array", "items": {"type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}}}
            }
        });
        SettingsSchema::compile(&text.to_string()).expect("a valid schema")
    }

    fn reason(e: CoreError) -> String {
        match e {
            CoreError::Invalid { reason, .. } => reason,
            other => other.to_string(),
        }
    }

    #[test]
    fn problems_are_named_by_their_json_pointer() {
        let s = schema();
        s.check(&json!({"title": "Hi", "fields": [{"name": "ok"}]})).expect("valid settings");
        let why = reason(s.check(&json!({"rate_limit": {"per_minutes": 0}})).expect_err("below the minimum"));
        assert_eq!(why, "settings/rate_limit/per_minutes: 0 is less than the minimum of 1");
        let why = reason(s.check(&json!({"fields": [{"name": "ok"}, {"name": "Not OK"}]})).expect_err("pattern"));
        assert!(why.starts_with("settings/fields/1/name: "), "{why}");
        let why = reason(s.check(&json!({"colour": "red"})).expect_err("unknown property"));
        assert!(why.starts_with("settings: ") && why.contains("colour"), "{why}");
    }

    #[test]
    fn a_document_wrong_everywhere_gets_a_short_answer() {
        let fields: Vec<_> = (0..50).map(|_| json!({})).collect();
        let why = reason(schema().check(&json!({"fields": fields})).expect_err("50 missing names"));
        assert!(why.ends_with("and 45 more"), "{why}");
    }

    #[test]
    fn no_schema_accepts_anything_and_a_bad_schema_is_refused() {
        SettingsSchema::compile("").expect("empty").check(&json!({"x": 1})).expect("anything");
        for bad in [r#"{"type": "objekt"}"#, r#"{"$ref": "https://example.com/s.json"}"#, "[1]", "{"] {
            let err = SettingsSchema::compile(bad).expect_err(bad);
            assert!(err.to_string().contains("settings_schema"), "{bad}: {err}");
        }
    }

    #[test]
    fn top_level_write_only_strings_are_secrets_and_nothing_else_may_be() {
        let text = json!({"properties": {
            "title": {"type": "string"},
            "signing_key": {"type": "string", "writeOnly": true, "minLength": 16},
            "api_token": {"type": "string", "writeOnly": true}
        }});
        let s = SettingsSchema::compile(&text.to_string()).expect("schema");
        assert_eq!(s.secrets(), ["api_token", "signing_key"]);
        let not_string = json!({"properties": {"pin": {"type": "integer", "writeOnly": true}}});
        let why = reason(SettingsSchema::compile(&not_string.to_string()).expect_err("integer secret"));
        assert_eq!(why, "secret property \"pin\" (writeOnly) must have \"type\": \"string\"");
        let nested = json!({"properties": {"smtp": {"type": "object",
            "properties": {"password": {"type": "string", "writeOnly": true}}}}});
        let why = reason(SettingsSchema::compile(&nested.to_string()).expect_err("nested secret"));
        assert_eq!(
            why,
            "writeOnly at \"/properties/smtp/properties/password\": only top-level properties can be secret"
        );
        let in_list = json!({"properties": {"hooks": {"type": "array", "items": [{"writeOnly": true}]}}});
        assert!(SettingsSchema::compile(&in_list.to_string()).is_err());
    }

    #[test]
    fn top_level_strings_marked_x_template_are_templates() {
        let text = json!({"properties": {
            "text": {"type": "string", "x-template": true},
            "to": {"type": "string"},
        }})
        .to_string();
        assert_eq!(SettingsSchema::compile(&text).expect("schema").templates(), ["text"]);
        let number = json!({"properties": {"count": {"type": "integer", "x-template": true}}}).to_string();
        let err = SettingsSchema::compile(&number).expect_err("a template is a string");
        assert!(err.to_string().contains("template property \"count\" (x-template) must have"), "{err}");
    }

    #[test]
    fn patterns_run_in_linear_time() {
        // With a backtracking engine this pattern takes exponential time on
        // a string of a's followed by one b; the regex engine does not.
        let text = json!({"properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}).to_string();
        let s = SettingsSchema::compile(&text).expect("schema");
        let started = std::time::Instant::now();
        assert!(s.check(&json!({"s": format!("{}b", "a".repeat(10_000))})).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
