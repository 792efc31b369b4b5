//! The Twilio REST API as the telephony robots use it: the provider's
//! settings, the contact's number to reach, and one form POST with basic
//! auth whose answer says whether the message (or call) was accepted,
//! surely not sent, or perhaps sent.
//!
//! A run claims its request with `storage.set-if-absent` on the run id
//! before making it, and gives the claim back only when the provider's
//! answer proves nothing was sent (a 4xx, a 429, a 503), so that a retry
//! may send; after anything else (a 500, a lost connection) it keeps the
//! claim, so that nothing is ever sent twice for one run.

use switchboard_sdk::PluginError;
use switchboard_sdk::host::{http, secrets, storage};
use switchboard_sdk::types::{Contact, PointKind};

/// The Twilio API's address.
pub const TWILIO: &str = "https://api.twilio.com";

/// The name of the auth token's secret setting.
pub const AUTH_TOKEN: &str = "auth_token";

/// The settings both robots share: the provider's (set on the team's
/// installation) and which number to reach from which (set on a stage).
/// The robots take them in with `#[serde(flatten)]`; unknown keys are the
/// host's to refuse, by the manifest's schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Provider {
    /// The API's base URL.
    #[serde(default = "twilio_url")]
    pub base_url: String,
    /// The account SID: `AC` and 32 hexadecimal digits.
    #[serde(default)]
    pub account_sid: String,
    /// The numbers the account may send from.
    #[serde(default)]
    pub from_numbers: Vec<String>,
    /// The number to send from, one of `from_numbers`; the first if unset.
    #[serde(default)]
    pub from: Option<String>,
    /// Which of the contact's numbers to reach.
    #[serde(default)]
    pub phone_type: PhoneType,
}

fn twilio_url() -> String {
    TWILIO.to_owned()
}

impl Provider {
    /// Checks the settings, naming the first one that is wrong.
    pub fn check(&self) -> Result<(), PluginError> {
        let base = &self.base_url;
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(PluginError::invalid_settings(format!("base_url: \"{base}\" is not an http or https URL")));
        }
        let sid = &self.account_sid;
        let sid_ok = sid.len() == 34 && sid.starts_with("AC") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !sid.is_empty() && !sid_ok {
            return Err(PluginError::invalid_settings(format!(
                "account_sid: \"{sid}\" is not an account SID (AC and 32 hexadecimal digits)"
            )));
        }
        for (i, number) in self.from_numbers.iter().enumerate() {
            if !is_e164(number) {
                return Err(PluginError::invalid_settings(format!(
                    "from_numbers[{i}]: \"{number}\" is not a number in E.164 form, such as +15551234567"
                )));
            }
        }
        if self.from.is_some() {
            self.sender()?;
        }
        Ok(())
    }

    /// The number to send from: `from` if it is one of the account's, else
    /// the first.
    pub fn sender(&self) -> Result<String, PluginError> {
        match self.from.as_deref() {
            Some(number) if self.from_numbers.iter().any(|n| n == number) => Ok(number.to_owned()),
            Some(number) => Err(PluginError::invalid_settings(format!(
                "from: \"{number}\" is not one of the provider's from_numbers"
            ))),
            None => self
                .from_numbers
                .first()
                .cloned()
                .ok_or_else(|| PluginError::invalid_settings("from_numbers: no number to send from is set")),
        }
    }

    /// The URL of one of the account's resources, such as `Messages`.
    pub fn url(&self, resource: &str) -> String {
        format!("{}/2010-04-01/Accounts/{}/{resource}.json", self.base_url.trim_end_matches('/'), self.account_sid)
    }

    /// Whether the provider is set up enough to send.
    pub fn ready(&self) -> Result<(), PluginError> {
        if self.account_sid.is_empty() {
            return Err(PluginError::invalid_settings("account_sid: not set"));
        }
        if !secrets::is_set(AUTH_TOKEN) {
            return Err(PluginError::invalid_settings("auth_token: not set"));
        }
        Ok(())
    }
}

/// Whether `number` is in E.164 form: `+` and 8 to 15 digits.
pub fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Which of the contact's numbers to reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneType {
    /// The contact's first number, else the company's first.
    #[default]
    Automatic,
    /// The first mobile number.
    Mobile,
    /// The first work number.
    Work,
    /// The first home number.
    Home,
    /// The first other number.
    Other,
}

impl Provider {
    /// The contact's number to reach, or why there is none.
    pub fn recipient(&self, contact: Option<&Contact>) -> Result<String, String> {
        pick_phone(contact, self.phone_type)
    }
}

/// The number of `contact` of `kind`, or why there is none.
pub fn pick_phone(contact: Option<&Contact>, kind: PhoneType) -> Result<String, String> {
    let Some(contact) = contact else {
        return Err("the ticket has no contact".to_owned());
    };
    let wanted = match kind {
        PhoneType::Automatic => {
            let company = contact.company.as_ref().and_then(|c| c.phones.first());
            return contact
                .phones
                .first()
                .or(company)
                .map(|p| p.number.clone())
                .ok_or_else(|| "the contact has no phone number, nor has their company".to_owned());
        }
        PhoneType::Mobile => (PointKind::Mobile, "mobile"),
        PhoneType::Work => (PointKind::Work, "work"),
        PhoneType::Home => (PointKind::Home, "home"),
        PhoneType::Other => (PointKind::Other, "other"),
    };
    contact
        .phones
        .iter()
        .find(|p| p.kind == wanted.0)
        .map(|p| p.number.clone())
        .ok_or_else(|| format!("the contact has no {} phone number", wanted.1))
}

/// What the provider made of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The resource's SID, such as `SM…` or `CA…`.
    pub sid: String,
    /// Its status, such as `queued`.
    pub status: String,
}

/// Why a run sent nothing, or may have.
#[derive(Debug, Clone, PartialEq)]
pub enum NotAccepted {
    /// An earlier attempt of the run claimed it.
    AlreadyClaimed,
    /// Surely not sent; the claim is given back.
    NotSent(PluginError),
    /// Perhaps sent; the claim is kept.
    Unknown(PluginError),
}

/// Claims the run, and posts `fields` to the account's `resource`. Needs
/// the capabilities `storage` and `http:<the provider's host>`.
pub fn claimed_post(
    provider: &Provider,
    run_id: &str,
    resource: &str,
    fields: &[(&str, &str)],
) -> Result<Accepted, NotAccepted> {
    let claim = format!("claim/{run_id}");
    if !storage::set_if_absent(&claim, b"").map_err(NotAccepted::NotSent)? {
        return Err(NotAccepted::AlreadyClaimed);
    }
    match post(provider, resource, fields) {
        // The SID goes into the thread with the run's outcome.
        Ok(accepted) => Ok(accepted),
        Err(NotAccepted::NotSent(e)) => {
            if let Err(release) = storage::delete(&claim) {
                // Kept claimed, a retry skips: nothing is sent twice.
                return Err(NotAccepted::Unknown(release));
            }
            Err(NotAccepted::NotSent(e))
        }
        Err(other) => Err(other),
    }
}

/// One POST, its answer classified.
fn post(provider: &Provider, resource: &str, fields: &[(&str, &str)]) -> Result<Accepted, NotAccepted> {
    let token = secrets::reveal(AUTH_TOKEN).map_err(NotAccepted::NotSent)?;
    let request = http::Request {
        method: "POST".into(),
        url: provider.url(resource),
        headers: vec![
            ("authorization".into(), switchboard_sdk::http::basic_auth(&provider.account_sid, &token)),
            ("content-type".into(), "application/x-www-form-urlencoded".into()),
            ("accept".into(), "application/json".into()),
        ],
        body: switchboard_sdk::http::form_body(fields),
    };
    let response = match http::send(&request) {
        Ok(r) => r,
        Err(e @ PluginError::Denied(_)) => return Err(NotAccepted::NotSent(e)),
        Err(e) => {
            return Err(NotAccepted::Unknown(PluginError::permanent(format!(
                "{}; the request may have reached the provider, so it is not sent again",
                e.message()
            ))));
        }
    };
    classify(response.status, &response.body)
}

/// Twilio's answer to a create, as an outcome.
pub fn classify(status: u16, body: &[u8]) -> Result<Accepted, NotAccepted> {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let text = |name: &str| json.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let error = || {
        let code = json.get("code").and_then(serde_json::Value::as_u64);
        let message = text("message");
        match code {
            Some(code) => format!("provider error {code} (HTTP {status}): {message}"),
            None => format!("provider answered HTTP {status}"),
        }
    };
    match status {
        200 | 201 => {
            let sid = text("sid");
            if sid.is_empty() {
                return Err(NotAccepted::Unknown(PluginError::permanent(format!(
                    "provider answered HTTP {status} without a sid; it may have been sent"
                ))));
            }
            Ok(Accepted { sid, status: text("status") })
        }
        401 | 403 => Err(NotAccepted::NotSent(PluginError::invalid_settings(format!(
            "{}; check account_sid and auth_token",
            error()
        )))),
        429 => Err(NotAccepted::NotSent(PluginError::RateLimited(error()))),
        503 => Err(NotAccepted::NotSent(PluginError::transient(error()))),
        400..=499 => Err(NotAccepted::NotSent(PluginError::permanent(error()))),
        _ => Err(NotAccepted::Unknown(PluginError::permanent(format!(
            "{}; it may have been sent, so it is not sent again",
            error()
        )))),
    }
}
