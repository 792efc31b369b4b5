//! A robot's settings on a stage, over its team's installation.
//!
//! A robot plugin has one settings schema. What is the same wherever the
//! robot runs (a provider's account, its secrets) is set once, when an
//! admin enables the plugin for the team; what differs per stage (the SMS
//! text, the number to call) is set with the stage's robot. The run gets
//! both as one document: the stage's keys over the installation's. The
//! schema and the plugin's own check judge that whole document, when the
//! stage's robots are saved and again at each run (settings the
//! installation has since changed may no longer fit).

use serde_json::{Map, Value};
use switchboard_core::{Contact, Installation, Manifest, Team, Ticket};
use switchboard_store::StoreError;

use crate::robots::templates;
use crate::settings_schema::SettingsSchema;
use crate::state::AppState;

/// The settings a run gets: the installation's object with the stage's
/// keys over it. Both must be JSON objects; the error names which is not.
pub(crate) fn merged(installation: &str, stage: &Value) -> Result<Value, String> {
    let Value::Object(stage) = stage else {
        return Err("must be a JSON object".to_owned());
    };
    let mut out: Map<String, Value> = match serde_json::from_str(installation) {
        Ok(Value::Object(object)) => object,
        // An installation always keeps an object (the API checks it); a
        // record from before may keep nothing.
        _ => Map::new(),
    };
    out.extend(stage.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(Value::Object(out))
}

/// What a run of `installation` gets as settings: the stage's (if any)
/// over the installation's, with the templates rendered for `ticket`.
/// The inner error says why the run cannot start (it fails with it).
pub(crate) async fn for_run(
    state: &AppState,
    installation: &Installation,
    stage: Option<&str>,
    ticket: &Ticket,
    contact: Option<&Contact>,
    team: &Team,
) -> Result<Result<String, String>, StoreError> {
    let manifest = state.stores.plugins.plugin(&installation.plugin).await?.manifest;
    Ok(render_for_run(state, installation, &manifest, stage, ticket, contact, team))
}

/// [`for_run`] with the plugin's manifest already read.
pub(crate) fn render_for_run(
    state: &AppState,
    installation: &Installation,
    manifest: &Manifest,
    stage: Option<&str>,
    ticket: &Ticket,
    contact: Option<&Contact>,
    team: &Team,
) -> Result<String, String> {
    let stage = stage.map_or_else(|| Value::Object(Map::new()), |s| serde_json::from_str(s).unwrap_or(Value::Null));
    let mut settings = merged(&installation.settings, &stage).map_err(|e| format!("its settings on the stage {e}"))?;
    let schema = SettingsSchema::compile(&manifest.settings_schema).map_err(|e| e.to_string())?;
    let url = format!("{}/api/tickets/{}", state.public_url.as_deref().unwrap_or(""), ticket.id);
    let values = templates::values(ticket, contact, team, url);
    templates::render_fields(&schema, &mut settings, &values).map(|()| settings.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_stage_keys_go_over_the_installation_and_a_non_object_is_refused() {
        let base = r#"{"account":"AC1","text":"default","from":"+15550001"}"#;
        let run = merged(base, &json!({"text": "Hello {{ contact.name }}", "phone": "mobile"})).expect("merged");
        assert_eq!(
            run,
            json!({"account": "AC1", "text": "Hello {{ contact.name }}", "from": "+15550001", "phone": "mobile"})
        );
        assert_eq!(merged("", &json!({"a": 1})).expect("merged"), json!({"a": 1}));
        assert!(merged(base, &json!(["text"])).is_err());
    }
}
