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
}

impl SettingsSchema {
    /// Compiles the schema text of a manifest; an empty text accepts any
    /// settings. The error names what is wrong in the schema.
    pub fn compile(schema: &str) -> Result<SettingsSchema, CoreError> {
        if schema.trim().is_empty() {
            return Ok(SettingsSchema { validator: None });
        }
        let value: Value = serde_json::from_str(schema)
            .map_err(|e| CoreError::invalid("settings_schema", format!("is not JSON: {e}")))?;
        if !value.is_object() {
            return Err(CoreError::invalid("settings_schema", "must be a JSON Schema object"));
        }
        let validator = jsonschema::options()
            .with_pattern_options(PatternOptions::regex())
            .build(&value)
            .map_err(|e| CoreError::invalid("settings_schema", format!("is not a usable JSON Schema: {e}")))?;
        Ok(SettingsSchema { validator: Some(validator) })
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
