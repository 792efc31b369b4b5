//! Plugins: manifests, capabilities, and their installation in a team.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::clean_name;
use crate::{CoreError, Timestamp};

/// Which world a plugin's component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    /// Brings customers in: exports `channel-handler`.
    Channel,
    /// Acts on tickets: exports `robot-handler`.
    Robot,
}

impl PluginKind {
    /// `channel` or `robot`.
    pub fn name(self) -> &'static str {
        match self {
            PluginKind::Channel => "channel",
            PluginKind::Robot => "robot",
        }
    }
}

/// Something a plugin may do beyond computing, granted per installation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Capability {
    /// Read and change the team's tickets (`tickets`).
    Tickets,
    /// Use the installation's key-value storage (`storage`).
    Storage,
    /// Send HTTP requests to one host, on one port or any (`http:<host>`,
    /// `http:<host>:<port>`).
    Http {
        /// The host name, lowercase.
        host: String,
        /// The port, or any when absent.
        port: Option<u16>,
    },
    /// Send e-mail from one address (`mail:<address>`), or from the team's
    /// own alias, whatever it is then (`mail:team`).
    Mail {
        /// The address, lowercase; `None` for the team's alias.
        from: Option<String>,
    },
    /// Send HTTP requests to the host of the URL in one of the
    /// installation's settings (`http:setting:<name>`), such as a
    /// provider's API address that an admin may point elsewhere: a grant
    /// that follows the setting rather than naming one host for ever.
    HttpSetting {
        /// The setting's name: a top-level property of the settings.
        setting: String,
    },
    /// Run the installation's live conversations (`chat`).
    Chat,
    /// Set durable, keyed callbacks (`timers`).
    Timers,
}

impl Capability {
    /// Parses `tickets`, `storage`, `chat`, `timers`, `http:<host>`,
    /// `http:<host>:<port>`, `http:setting:<name>`, `mail:team` or
    /// `mail:<address>`.
    pub fn parse(text: &str) -> Result<Capability, CoreError> {
        let bad = |why: &str| CoreError::invalid("capabilities", format!("\"{text}\" {why}"));
        match text {
            "tickets" => Ok(Capability::Tickets),
            "storage" => Ok(Capability::Storage),
            "chat" => Ok(Capability::Chat),
            "timers" => Ok(Capability::Timers),
            "mail:team" => Ok(Capability::Mail { from: None }),
            _ => {
                if let Some(address) = text.strip_prefix("mail:") {
                    let address =
                        crate::normalize_email(address).map_err(|_| bad("does not name a valid e-mail address"))?;
                    return Ok(Capability::Mail { from: Some(address) });
                }
                if let Some(setting) = text.strip_prefix("http:setting:")
                    && setting.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                {
                    if setting.len() > 64
                        || !setting.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    {
                        return Err(bad("names a setting that is not lowercase letters, digits and _ (at most 64)"));
                    }
                    return Ok(Capability::HttpSetting { setting: setting.to_owned() });
                }
                let Some(target) = text.strip_prefix("http:") else {
                    return Err(bad(
                        "is not a capability; use tickets, storage, chat, timers, http:<host>[:<port>], http:setting:<name>, mail:team or mail:<address>",
                    ));
                };
                let (host, port) = match target.rsplit_once(':') {
                    Some((host, port)) => (
                        host,
                        Some(port.parse::<u16>().map_err(|_| bad("has a port that is not a number up to 65535"))?),
                    ),
                    None => (target, None),
                };
                let host = host.to_ascii_lowercase();
                let valid_label = |l: &str| {
                    !l.is_empty()
                        && l.len() <= 63
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                };
                if host.is_empty() || host.len() > 253 || !host.split('.').all(valid_label) {
                    return Err(bad("does not name a valid host"));
                }
                Ok(Capability::Http { host, port })
            }
        }
    }

    /// Whether this capability allows an HTTP request to `host:port`.
    pub fn allows_http(&self, host: &str, port: u16) -> bool {
        match self {
            Capability::Http { host: h, port: p } => h.eq_ignore_ascii_case(host) && p.is_none_or(|p| p == port),
            _ => false,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capability::Tickets => f.write_str("tickets"),
            Capability::Storage => f.write_str("storage"),
            Capability::Chat => f.write_str("chat"),
            Capability::Timers => f.write_str("timers"),
            Capability::Http { host, port: None } => write!(f, "http:{host}"),
            Capability::Http { host, port: Some(p) } => write!(f, "http:{host}:{p}"),
            Capability::HttpSetting { setting } => write!(f, "http:setting:{setting}"),
            Capability::Mail { from: None } => f.write_str("mail:team"),
            Capability::Mail { from: Some(address) } => write!(f, "mail:{address}"),
        }
    }
}

impl From<Capability> for String {
    fn from(c: Capability) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for Capability {
    type Error = CoreError;

    fn try_from(s: String) -> Result<Capability, CoreError> {
        Capability::parse(&s)
    }
}

/// Checks a plugin id: 1 to 64 lowercase letters, digits and hyphens,
/// starting with a letter. Ids appear in URLs and storage keys.
pub fn validate_plugin_id(id: &str) -> Result<(), CoreError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "id",
            format!(
                "\"{id}\" is not a plugin id; use 1 to 64 lowercase letters, digits and hyphens, starting with a letter"
            ),
        ))
    }
}

/// Parses `MAJOR.MINOR.PATCH` with an optional `-pre` suffix, as semver
/// does, and returns the three numbers.
pub fn parse_version(field: &'static str, text: &str) -> Result<(u64, u64, u64), CoreError> {
    let core = text.split_once(['-', '+']).map_or(text, |(core, _)| core);
    let parts: Vec<_> = core.split('.').map(str::parse::<u64>).collect();
    match parts.as_slice() {
        [Ok(a), Ok(b), Ok(c)] => Ok((*a, *b, *c)),
        _ => Err(CoreError::invalid(field, format!("\"{text}\" is not a version like 1.2.3"))),
    }
}

/// What a plugin declares about itself in its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Unique id, used in URLs: `/c/<team>/<id>/`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The plugin's own version, `MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Channel or robot.
    pub kind: PluginKind,
    /// Who made it.
    pub vendor: String,
    /// The version of the `switchboard:plugin` WIT package it was built
    /// against.
    pub wit: String,
    /// What it asks to be allowed to do.
    pub capabilities: Vec<Capability>,
    /// A JSON Schema of its settings, as JSON text (empty for none).
    pub settings_schema: String,
}

impl Manifest {
    /// Checks the manifest's fields.
    pub fn validate(&self) -> Result<(), CoreError> {
        validate_plugin_id(&self.id)?;
        clean_name("name", &self.name)?;
        clean_name("vendor", &self.vendor)?;
        parse_version("version", &self.version)?;
        parse_version("wit", &self.wit)?;
        Ok(())
    }

    /// Whether `version` is newer than this manifest's version.
    pub fn is_older_than(&self, version: &str) -> bool {
        match (parse_version("version", &self.version), parse_version("version", version)) {
            (Ok(mine), Ok(theirs)) => theirs > mine,
            _ => self.version != version,
        }
    }
}

/// An installed plugin: its manifest and what is known of its component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRecord {
    /// The manifest.
    pub manifest: Manifest,
    /// SHA-256 of the component, hex.
    pub sha256: String,
    /// The component's size in bytes.
    pub size: u64,
    /// Whether it ships with the server.
    pub bundled: bool,
    /// The vendor key (hex) whose signature was checked when it was
    /// installed from a signed bundle. (Records from before bundles have
    /// none.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// How many teams have it enabled.
    pub enabled_in: u32,
    /// When it was first installed.
    pub installed_at: Timestamp,
    /// When its component last changed.
    pub updated_at: Timestamp,
}

/// Per-call limits of an installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// CPU time per call, in milliseconds.
    pub cpu_ms: u32,
    /// Linear memory, in MiB.
    pub memory_mib: u32,
}

impl Limits {
    /// The most CPU time a call may be given.
    pub const MAX_CPU_MS: u32 = 10_000;
    /// The most memory a call may be given.
    pub const MAX_MEMORY_MIB: u32 = 256;

    /// Checks the limits against the server's maximums.
    pub fn validate(&self) -> Result<(), CoreError> {
        if !(1..=Self::MAX_CPU_MS).contains(&self.cpu_ms) {
            return Err(CoreError::invalid(
                "limits.cpu_ms",
                format!("{} is not between 1 and {}", self.cpu_ms, Self::MAX_CPU_MS),
            ));
        }
        if !(1..=Self::MAX_MEMORY_MIB).contains(&self.memory_mib) {
            return Err(CoreError::invalid(
                "limits.memory_mib",
                format!("{} is not between 1 and {}", self.memory_mib, Self::MAX_MEMORY_MIB),
            ));
        }
        Ok(())
    }
}

fn is_default(limits: &PublicLimits) -> bool {
    *limits == PublicLimits::default()
}

impl Default for Limits {
    /// 100 ms of CPU and 64 MiB of memory per call.
    fn default() -> Self {
        Limits { cpu_ms: 100, memory_mib: 64 }
    }
}

/// Limits of a channel's public route (`/c/{team}/{plugin}/`) for one
/// installation. Each left unset takes the server's default, so that a
/// webhook provider that sends in bursts, or a form that takes uploads, can
/// be given room without raising every plugin's limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicLimits {
    /// Requests per second per client address; 0 means no limit.
    #[serde(default)]
    pub rate: Option<u32>,
    /// Requests a client may send at once above the rate.
    #[serde(default)]
    pub burst: Option<u32>,
    /// The largest request body, in bytes.
    #[serde(default)]
    pub body_bytes: Option<u32>,
}

impl PublicLimits {
    /// The highest rate an installation may set.
    pub const MAX_RATE: u32 = 10_000;
    /// The largest burst an installation may set.
    pub const MAX_BURST: u32 = 100_000;
    /// The smallest body limit: below it no form fits.
    pub const MIN_BODY_BYTES: u32 = 1024;
    /// The largest body limit: a body is copied into the plugin's memory.
    pub const MAX_BODY_BYTES: u32 = 16 * 1024 * 1024;

    /// Checks each limit that is set against its range.
    pub fn validate(&self) -> Result<(), CoreError> {
        let ranges = [
            ("public_limits.rate", self.rate, 0, Self::MAX_RATE),
            ("public_limits.burst", self.burst, 1, Self::MAX_BURST),
            ("public_limits.body_bytes", self.body_bytes, Self::MIN_BODY_BYTES, Self::MAX_BODY_BYTES),
        ];
        for (field, value, min, max) in ranges {
            if let Some(v) = value.filter(|v| !(min..=max).contains(v)) {
                return Err(CoreError::invalid(field, format!("{v} is not between {min} and {max}")));
            }
        }
        Ok(())
    }
}

/// A plugin enabled for a team, with its settings and grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    /// The team's slug.
    pub team: String,
    /// The plugin's id.
    pub plugin: String,
    /// The settings, as JSON text the plugin validated, without secrets.
    pub settings: String,
    /// The secrets among the settings (the properties the manifest's
    /// schema marks `writeOnly`), by name, each sealed by the server with
    /// a key the store never sees. The core and the store treat them as
    /// opaque text. (Records from before secrets have none.)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// The capabilities the admin granted.
    pub grants: Vec<Capability>,
    /// The capabilities the admin chose not to grant. Every capability the
    /// manifest asks for is granted or declined when the plugin is
    /// enabled, so that a missing grant is a decision, not a surprise at
    /// the first customer's request. (Records from before this field have
    /// none.)
    #[serde(default)]
    pub declined: Vec<Capability>,
    /// Per-call limits.
    pub limits: Limits,
    /// Limits of its public route. (Records from before them have the
    /// server's defaults.)
    #[serde(default, skip_serializing_if = "is_default")]
    pub public_limits: PublicLimits,
    /// When it was first enabled.
    pub enabled_at: Timestamp,
    /// When its settings or grants last changed.
    pub updated_at: Timestamp,
}

impl Installation {
    /// Checks that every capability the manifest asks for is granted or
    /// declined, that nothing else is, and that the limits are within
    /// bounds.
    pub fn check(&self, manifest: &Manifest) -> Result<(), CoreError> {
        for (field, list) in [("grants", &self.grants), ("declined", &self.declined)] {
            if let Some(extra) = list.iter().find(|c| !manifest.capabilities.contains(c)) {
                return Err(CoreError::invalid(
                    field,
                    format!("\"{extra}\" was not requested by plugin \"{}\"", manifest.id),
                ));
            }
        }
        // Every entry is one the manifest asks for, so more entries than it
        // asks for means one is listed twice; refusing that here keeps the
        // checks below within the manifest's size, whatever a body holds.
        if self.grants.len() + self.declined.len() > manifest.capabilities.len() {
            return Err(CoreError::invalid("grants", "a capability is listed more than once in grants and declined"));
        }
        if let Some(both) = self.grants.iter().find(|c| self.declined.contains(c)) {
            return Err(CoreError::invalid("declined", format!("\"{both}\" is also granted")));
        }
        let undecided = self.undecided(manifest);
        if !undecided.is_empty() {
            return Err(CoreError::invalid(
                "grants",
                format!(
                    "plugin \"{}\" asks for {}; grant or decline each (not decided: {})",
                    manifest.id,
                    quoted(&manifest.capabilities),
                    quoted(&undecided)
                ),
            ));
        }
        self.limits.validate()?;
        self.public_limits.validate()
    }

    /// The capabilities the manifest asks for that were neither granted
    /// nor declined: after an upgrade that asks for more, the installation
    /// keeps its grants and these wait for the admin.
    pub fn undecided(&self, manifest: &Manifest) -> Vec<Capability> {
        manifest
            .capabilities
            .iter()
            .filter(|c| !self.grants.contains(c) && !self.declined.contains(c))
            .cloned()
            .collect()
    }

    /// Forgets grants and refusals of capabilities `manifest` no longer
    /// asks for, and says whether there were any. After an upgrade that
    /// drops a capability, a later version that asks for it again must be
    /// granted it again: the admin never agreed to that version's use.
    pub fn forget_unrequested(&mut self, manifest: &Manifest) -> bool {
        let before = self.grants.len() + self.declined.len();
        self.grants.retain(|c| manifest.capabilities.contains(c));
        self.declined.retain(|c| manifest.capabilities.contains(c));
        self.grants.len() + self.declined.len() != before
    }

    /// The grants in force for a plugin of `manifest`: those it asks for.
    /// A grant it no longer asks for gives its code nothing.
    pub fn grants_in_force(&self, manifest: &Manifest) -> Vec<Capability> {
        self.grants.iter().filter(|c| manifest.capabilities.contains(c)).cloned().collect()
    }

    /// Whether the installation holds `capability`.
    pub fn holds(&self, capability: &Capability) -> bool {
        self.grants.contains(capability)
    }
}

/// `"a", "b"`: capabilities as a message lists them.
fn quoted(capabilities: &[Capability]) -> String {
    capabilities.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            id: "sms".into(),
            name: "SMS".into(),
            version: "1.2.3".into(),
            kind: PluginKind::Robot,
            vendor: "Acme".into(),
            wit: "0.1.0".into(),
            capabilities: vec![Capability::Tickets, Capability::parse("http:api.twilio.com:443").expect("cap")],
            settings_schema: String::new(),
        }
    }

    #[test]
    fn capabilities_parse_and_print() {
        for text in [
            "tickets",
            "storage",
            "chat",
            "timers",
            "http:example.com",
            "http:api.example.com:8443",
            "mail:team",
            "mail:care@help.example.com",
        ] {
            assert_eq!(Capability::parse(text).expect(text).to_string(), text);
        }
        assert_eq!(
            Capability::parse("mail:Care@Help.Example.com").expect("cap").to_string(),
            "mail:care@help.example.com"
        );
        for bad in [
            "mail",
            "mail:",
            "mail:not-an-address",
            "http:",
            "http:exa mple.com",
            "http:example.com:99999",
            "http:-x.com",
        ] {
            assert!(Capability::parse(bad).is_err(), "{bad}");
        }
        let any_port = Capability::parse("http:Example.com").expect("cap");
        assert!(any_port.allows_http("example.com", 8080));
        let one_port = Capability::parse("http:example.com:443").expect("cap");
        assert!(one_port.allows_http("EXAMPLE.com", 443));
        assert!(!one_port.allows_http("example.com", 80));
        assert!(!one_port.allows_http("evil.com", 443));
    }

    #[test]
    fn manifest_fields_are_checked() {
        assert!(manifest().validate().is_ok());
        for (field, m) in [
            ("id", Manifest { id: "Bad Id".into(), ..manifest() }),
            ("version", Manifest { version: "1.2".into(), ..manifest() }),
            ("wit", Manifest { wit: "x".into(), ..manifest() }),
            ("vendor", Manifest { vendor: " ".into(), ..manifest() }),
        ] {
            assert!(matches!(m.validate(), Err(CoreError::Invalid { field: f, .. }) if f == field), "{field}");
        }
        assert!(manifest().is_older_than("1.10.0"));
        assert!(!manifest().is_older_than("1.2.3"));
        assert!(!manifest().is_older_than("0.9.9"));
    }

    #[test]
    fn public_limits_are_within_their_ranges_and_unset_means_the_default() {
        PublicLimits::default().validate().expect("defaults");
        PublicLimits { rate: Some(0), burst: Some(1), body_bytes: Some(1024) }.validate().expect("the least");
        let too = [
            (PublicLimits { rate: Some(10_001), ..PublicLimits::default() }, "public_limits.rate"),
            (PublicLimits { burst: Some(0), ..PublicLimits::default() }, "public_limits.burst"),
            (PublicLimits { body_bytes: Some(1023), ..PublicLimits::default() }, "public_limits.body_bytes"),
            (
                PublicLimits { body_bytes: Some(16 * 1024 * 1024 + 1), ..PublicLimits::default() },
                "public_limits.body_bytes",
            ),
        ];
        for (limits, field) in too {
            assert!(matches!(limits.validate(), Err(CoreError::Invalid { field: f, .. }) if f == field), "{field}");
        }
    }

    #[test]
    fn grants_must_be_requested() {
        let now = Timestamp::UNIX_EPOCH;
        let twilio = Capability::parse("http:api.twilio.com:443").expect("cap");
        let inst = |grants: Vec<Capability>, declined: Vec<Capability>| Installation {
            team: "ops".into(),
            plugin: "sms".into(),
            settings: "{}".into(),
            secrets: BTreeMap::new(),
            grants,
            declined,
            limits: Limits::default(),
            public_limits: Default::default(),
            enabled_at: now,
            updated_at: now,
        };
        assert!(inst(vec![Capability::Tickets, twilio.clone()], vec![]).check(&manifest()).is_ok());
        assert!(inst(vec![Capability::Tickets], vec![twilio.clone()]).check(&manifest()).is_ok());
        let err = inst(vec![Capability::Storage], vec![]).check(&manifest()).expect_err("not requested");
        assert!(err.to_string().contains("\"storage\" was not requested"), "{err}");
        let err = inst(vec![Capability::Tickets], vec![]).check(&manifest()).expect_err("undecided");
        assert!(err.to_string().contains("grant or decline each (not decided: \"http:api.twilio.com:443\")"), "{err}");
        let err = inst(vec![Capability::Tickets], vec![Capability::Tickets]).check(&manifest());
        assert!(err.expect_err("both").to_string().contains("is also granted"));
        // A body listing a capability many times is refused before the
        // lists are compared with each other.
        let twice = inst(vec![Capability::Tickets; 50_000], vec![twilio.clone(); 50_000]).check(&manifest());
        assert!(twice.expect_err("repeated").to_string().contains("listed more than once"));
        // An upgrade that asks for more leaves the new capability undecided.
        let mut upgraded = manifest();
        upgraded.capabilities.push(Capability::Storage);
        let kept = inst(vec![Capability::Tickets, twilio.clone()], vec![]);
        assert_eq!(kept.undecided(&upgraded), [Capability::Storage]);
        let mut big = inst(vec![Capability::Tickets, twilio], vec![]);
        big.limits.memory_mib = 4096;
        assert!(big.check(&manifest()).is_err());
    }

    #[test]
    fn an_upgrade_that_drops_a_capability_forgets_its_grant() {
        let twilio = Capability::parse("http:api.twilio.com:443").expect("cap");
        let now = Timestamp::UNIX_EPOCH;
        let mut kept = Installation {
            team: "ops".into(),
            plugin: "sms".into(),
            settings: "{}".into(),
            secrets: BTreeMap::new(),
            grants: vec![Capability::Tickets, twilio.clone()],
            declined: vec![],
            limits: Limits::default(),
            public_limits: Default::default(),
            enabled_at: now,
            updated_at: now,
        };
        let mut fewer = manifest();
        fewer.capabilities = vec![Capability::Tickets];
        assert_eq!(kept.grants_in_force(&fewer), [Capability::Tickets]);
        assert!(kept.forget_unrequested(&fewer));
        assert_eq!(kept.grants, [Capability::Tickets]);
        assert!(!kept.forget_unrequested(&fewer), "nothing left to forget");
        // Asked for again, the HTTP grant waits for the admin.
        assert_eq!(kept.undecided(&manifest()), [twilio]);
    }
}
