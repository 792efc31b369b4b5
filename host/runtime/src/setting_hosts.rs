//! Grants that follow a setting: `http:setting:<name>` allows requests to
//! the host of the URL the installation's setting `<name>` holds (or its
//! default in the manifest's schema). A provider's API address is a
//! setting an admin may point at another region or a stand-in; the grant
//! goes where the setting goes, and nowhere else.

use switchboard_core::{Capability, Manifest};

/// Adds to `grants`, for each `http:setting:<name>` among them, the
/// `http:<host>:<port>` its setting names now. A setting that holds no
/// http or https URL adds nothing, so the capability then allows no
/// request at all.
pub(crate) fn resolve(grants: &mut Vec<Capability>, settings: &str, manifest: &Manifest) {
    let wanted: Vec<String> = grants
        .iter()
        .filter_map(|g| match g {
            Capability::HttpSetting { setting } => Some(setting.clone()),
            _ => None,
        })
        .collect();
    if wanted.is_empty() {
        return;
    }
    // Only installations that hold such a grant pay for reading their
    // settings here; the schema is read only for a setting left out.
    let settings: serde_json::Value = serde_json::from_str(settings).unwrap_or_default();
    let mut schema: Option<serde_json::Value> = None;
    for name in wanted {
        let value = match settings.get(&name) {
            Some(v) => v.clone(),
            None => {
                let schema =
                    schema.get_or_insert_with(|| serde_json::from_str(&manifest.settings_schema).unwrap_or_default());
                match schema.pointer(&format!("/properties/{name}/default")) {
                    Some(v) => v.clone(),
                    None => continue,
                }
            }
        };
        if let Some(grant) = value.as_str().and_then(host_of) {
            grants.push(grant);
        }
    }
}

/// The `http:<host>:<port>` grant for an http or https URL.
fn host_of(url: &str) -> Option<Capability> {
    let url = reqwest::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    Some(Capability::Http { host, port: Some(url.port_or_known_default()?) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            id: "whatsapp".into(),
            name: "WhatsApp".into(),
            version: "1.0.0".into(),
            kind: switchboard_core::PluginKind::Channel,
            vendor: "Switchboard".into(),
            wit: "0.1.11".into(),
            capabilities: vec![Capability::parse("http:setting:graph_url").expect("cap")],
            settings_schema: r#"{"type":"object","properties":{"graph_url":{"type":"string","default":"https://graph.facebook.com"}}}"#.into(),
        }
    }

    fn resolved(settings: &str) -> Vec<Capability> {
        let mut grants = vec![Capability::parse("http:setting:graph_url").expect("cap")];
        resolve(&mut grants, settings, &manifest());
        grants
    }

    #[test]
    fn the_grant_follows_the_setting_or_its_default() {
        let stand_in = resolved(r#"{"graph_url":"http://127.0.0.1:4567/"}"#);
        assert!(stand_in.iter().any(|g| g.allows_http("127.0.0.1", 4567)));
        assert!(!stand_in.iter().any(|g| g.allows_http("graph.facebook.com", 443)), "the default is not granted too");
        assert!(!stand_in.iter().any(|g| g.allows_http("127.0.0.1", 80)), "only the setting's port");
        let default = resolved("{}");
        assert!(default.iter().any(|g| g.allows_http("graph.facebook.com", 443)));
    }

    #[test]
    fn a_setting_that_is_no_web_address_allows_nothing() {
        for settings in [r#"{"graph_url":"file:///etc/passwd"}"#, r#"{"graph_url":7}"#, r#"{"graph_url":"not a url"}"#]
        {
            let grants = resolved(settings);
            assert!(!grants.iter().any(|g| matches!(g, Capability::Http { .. })), "{settings}");
        }
    }
}
