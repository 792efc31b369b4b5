//! Wire types shared by several routes, and their conversions from the
//! domain. The domain crate knows nothing of JSON; this is where its types
//! get their public shape.

use serde::{Deserialize, Serialize};
use switchboard_core::{Author, Company, ContactDraft, Email, Phone, PointKind, Priority, Stage, StageId, Team};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A priority: 0-3 stars, or the name `low`, `medium`, `high` or `urgent`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PriorityIn {
    /// 0 (low) to 3 (urgent).
    Stars(u8),
    /// `low`, `medium`, `high` or `urgent`.
    Name(String),
}

// Written by hand because the derive cannot put bounds on the variants of
// an untagged enum, and the document must say which values are accepted.
impl utoipa::PartialSchema for PriorityIn {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let stars = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(3));
        let names =
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["low", "medium", "high", "urgent"]));
        OneOfBuilder::new()
            .item(stars)
            .item(names)
            .description(Some("0 (low) to 3 (urgent) stars, or the name low, medium, high or urgent"))
            .into()
    }
}

impl ToSchema for PriorityIn {}

impl PriorityIn {
    /// The priority named, or a 422 on the field.
    pub fn resolve(&self, field: &str) -> Result<Priority, ApiError> {
        match self {
            PriorityIn::Stars(n) => Priority::try_from(*n),
            PriorityIn::Name(s) => Priority::parse(s),
        }
        .map_err(|e| match e {
            switchboard_core::CoreError::Invalid { reason, .. } => ApiError::invalid(field, reason),
            other => other.into(),
        })
    }
}

/// A stage, by id or by name.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum StageRef {
    /// The stage's id.
    Id(StageId),
    /// The stage's name, matched without regard to case.
    Name(String),
}

impl StageRef {
    /// The id of the team's stage this names, or a 422 on the field.
    pub fn resolve(&self, team: &Team, field: &str) -> Result<StageId, ApiError> {
        let found = match self {
            StageRef::Id(id) => team.stage(*id).map(|s| s.id),
            StageRef::Name(name) => team.find_stage(name).map(|s| s.id),
        };
        found.map_err(|_| {
            let named = match self {
                StageRef::Id(id) => id.to_string(),
                StageRef::Name(n) => format!("\"{n}\""),
            };
            ApiError::invalid(field, format!("team \"{}\" has no stage {named}", team.slug))
        })
    }
}

/// A stage as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageOut {
    /// The stage's id within its team.
    pub id: StageId,
    /// Its name.
    pub name: String,
    /// Whether tickets in it count as finished.
    pub closing: bool,
}

impl From<&Stage> for StageOut {
    fn from(s: &Stage) -> Self {
        StageOut { id: s.id, name: s.name.clone(), closing: s.closing }
    }
}

/// The kind of an e-mail address or phone number.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PointKindWire {
    /// A mobile phone.
    Mobile,
    /// At work.
    Work,
    /// At home.
    Home,
    /// Anything else.
    #[default]
    Other,
}

impl From<PointKindWire> for PointKind {
    fn from(k: PointKindWire) -> Self {
        match k {
            PointKindWire::Mobile => PointKind::Mobile,
            PointKindWire::Work => PointKind::Work,
            PointKindWire::Home => PointKind::Home,
            PointKindWire::Other => PointKind::Other,
        }
    }
}

impl From<PointKind> for PointKindWire {
    fn from(k: PointKind) -> Self {
        match k {
            PointKind::Mobile => PointKindWire::Mobile,
            PointKind::Work => PointKindWire::Work,
            PointKind::Home => PointKindWire::Home,
            PointKind::Other => PointKindWire::Other,
        }
    }
}

/// An e-mail address with its kind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailWire {
    /// The address.
    pub address: String,
    /// Its kind; `other` when absent.
    #[serde(default, rename = "type")]
    pub kind: PointKindWire,
}

/// A phone number with its kind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneWire {
    /// The number; spaces, dots, hyphens and parentheses are ignored.
    pub number: String,
    /// Its kind; `other` when absent.
    #[serde(default, rename = "type")]
    pub kind: PointKindWire,
}

/// A company with its own addresses and numbers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyWire {
    /// The company's name.
    pub name: String,
    /// Its e-mail addresses.
    #[serde(default)]
    pub emails: Vec<EmailWire>,
    /// Its phone numbers.
    #[serde(default)]
    pub phones: Vec<PhoneWire>,
}

/// Who a ticket is from. An existing contact that owns one of the e-mails
/// or phones is reused and learns the others; otherwise one is created.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// The person's name.
    pub name: Option<String>,
    /// A single e-mail address, of kind `other`.
    pub email: Option<String>,
    /// A single phone number, of kind `other`.
    pub phone: Option<String>,
    /// E-mail addresses with kinds.
    #[serde(default)]
    pub emails: Vec<EmailWire>,
    /// Phone numbers with kinds.
    #[serde(default)]
    pub phones: Vec<PhoneWire>,
    /// The company.
    pub company: Option<CompanyWire>,
}

fn emails(list: &[EmailWire]) -> Vec<Email> {
    list.iter().map(|e| Email { address: e.address.clone(), kind: e.kind.into() }).collect()
}

fn phones(list: &[PhoneWire]) -> Vec<Phone> {
    list.iter().map(|p| Phone { number: p.number.clone(), kind: p.kind.into() }).collect()
}

impl From<ContactIn> for ContactDraft {
    fn from(c: ContactIn) -> Self {
        let mut draft = ContactDraft {
            name: c.name,
            emails: emails(&c.emails),
            phones: phones(&c.phones),
            company: c.company.map(|co| Company {
                name: co.name,
                emails: emails(&co.emails),
                phones: phones(&co.phones),
            }),
        };
        if let Some(address) = c.email {
            draft.emails.insert(0, Email { address, kind: PointKind::Other });
        }
        if let Some(number) = c.phone {
            draft.phones.insert(0, Phone { number, kind: PointKind::Other });
        }
        draft
    }
}

/// Who wrote a thread entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorOut {
    /// `user`, `contact`, `plugin` or `system`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The user's or contact's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Their name, or the plugin's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl From<&Author> for AuthorOut {
    fn from(a: &Author) -> Self {
        match a {
            Author::User { id, name } => AuthorOut { kind: "user", id: Some(*id), name: Some(name.clone()) },
            Author::Contact { id, name } => AuthorOut { kind: "contact", id: Some(*id), name: Some(name.clone()) },
            Author::Plugin { id } => AuthorOut { kind: "plugin", id: None, name: Some(id.clone()) },
            Author::System => AuthorOut { kind: "system", id: None, name: None },
        }
    }
}
