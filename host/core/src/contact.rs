//! Contacts: the customers who write in, and their companies.

use serde::{Deserialize, Serialize};

use crate::address::{normalize_email, normalize_phone};
use crate::text::{MAX_NAME_LEN, line_problem};
use crate::{CoreError, Timestamp};

/// What kind of e-mail address or phone number a contact point is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// A mobile phone, the one SMS goes to.
    Mobile,
    /// A work address or number.
    Work,
    /// A home address or number.
    Home,
    /// Anything else.
    #[default]
    Other,
}

/// An e-mail address with its kind. The address is stored normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The address, trimmed and lowercased.
    pub address: String,
    /// Its kind.
    pub kind: PointKind,
}

/// A phone number with its kind. The number is stored normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    /// Digits with an optional leading `+`.
    pub number: String,
    /// Its kind.
    pub kind: PointKind,
}

/// The company a contact works for, with its own phones and e-mails.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    /// The company's name.
    pub name: String,
    /// The company's e-mail addresses.
    pub emails: Vec<Email>,
    /// The company's phone numbers.
    pub phones: Vec<Phone>,
}

/// What a caller knows about a contact: enough to find one or make one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactDraft {
    /// The person's name.
    pub name: Option<String>,
    /// E-mail addresses, not yet normalized.
    pub emails: Vec<Email>,
    /// Phone numbers, not yet normalized.
    pub phones: Vec<Phone>,
    /// The company, if any.
    pub company: Option<Company>,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The contact's id.
    pub id: u64,
    /// The person's name; may be empty when only an address is known.
    pub name: String,
    /// E-mail addresses, each owned by this contact alone.
    pub emails: Vec<Email>,
    /// Phone numbers, each owned by this contact alone.
    pub phones: Vec<Phone>,
    /// The company, if any.
    pub company: Option<Company>,
    /// When the contact was first seen.
    pub created_at: Timestamp,
    /// When the contact last changed.
    pub updated_at: Timestamp,
}

fn normalize_emails(emails: &[Email]) -> Result<Vec<Email>, CoreError> {
    let mut out: Vec<Email> = Vec::with_capacity(emails.len());
    for e in emails {
        let address = normalize_email(&e.address)?;
        if !out.iter().any(|o| o.address == address) {
            out.push(Email { address, kind: e.kind });
        }
    }
    Ok(out)
}

fn normalize_phones(phones: &[Phone]) -> Result<Vec<Phone>, CoreError> {
    let mut out: Vec<Phone> = Vec::with_capacity(phones.len());
    for p in phones {
        let number = normalize_phone(&p.number)?;
        if !out.iter().any(|o| o.number == number) {
            out.push(Phone { number, kind: p.kind });
        }
    }
    Ok(out)
}

impl ContactDraft {
    /// Normalizes every address and number, drops repeats, and checks that
    /// there is something to identify the contact by.
    pub fn normalized(&self) -> Result<ContactDraft, CoreError> {
        let name = self.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if let Some(problem) = name.and_then(|n| line_problem(n, MAX_NAME_LEN)) {
            return Err(CoreError::invalid("name", problem));
        }
        let company = match &self.company {
            Some(c) if !c.name.trim().is_empty() => Some(Company {
                name: c.name.trim().to_owned(),
                emails: normalize_emails(&c.emails)?,
                phones: normalize_phones(&c.phones)?,
            }),
            Some(_) => return Err(CoreError::invalid("company.name", "must not be empty")),
            None => None,
        };
        let draft = ContactDraft {
            name: name.map(str::to_owned),
            emails: normalize_emails(&self.emails)?,
            phones: normalize_phones(&self.phones)?,
            company,
        };
        if draft.name.is_none() && draft.emails.is_empty() && draft.phones.is_empty() {
            return Err(CoreError::invalid("contact", "needs a name, an e-mail or a phone"));
        }
        Ok(draft)
    }
}

impl Contact {
    /// Makes a contact from a normalized draft.
    pub fn new(id: u64, draft: ContactDraft, now: Timestamp) -> Contact {
        Contact {
            id,
            name: draft.name.unwrap_or_default(),
            emails: draft.emails,
            phones: draft.phones,
            company: draft.company,
            created_at: now,
            updated_at: now,
        }
    }

    /// Adds what a normalized draft knows and this contact does not: a name
    /// when it has none, new addresses and numbers that `is_free` says no
    /// other contact owns, and a company when it has none. Returns whether
    /// anything changed. Nothing known is ever overwritten, so a stranger
    /// who types someone's address cannot rename them.
    pub fn absorb(&mut self, draft: &ContactDraft, now: Timestamp, mut is_free: impl FnMut(&str) -> bool) -> bool {
        let mut changed = false;
        if let Some(name) = draft.name.as_ref().filter(|_| self.name.is_empty()) {
            self.name = name.clone();
            changed = true;
        }
        for e in &draft.emails {
            if !self.emails.iter().any(|o| o.address == e.address) && is_free(&e.address) {
                self.emails.push(e.clone());
                changed = true;
            }
        }
        for p in &draft.phones {
            if !self.phones.iter().any(|o| o.number == p.number) && is_free(&p.number) {
                self.phones.push(p.clone());
                changed = true;
            }
        }
        if self.company.is_none() && draft.company.is_some() {
            self.company = draft.company.clone();
            changed = true;
        }
        if changed {
            self.updated_at = now;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_needs_something_to_identify_by() {
        assert!(ContactDraft::default().normalized().is_err());
        let d = ContactDraft {
            emails: vec![
                Email { address: "A@x.org".into(), kind: PointKind::Work },
                Email { address: "a@x.org".into(), kind: PointKind::Home },
            ],
            ..ContactDraft::default()
        };
        assert_eq!(d.normalized().expect("valid").emails.len(), 1, "repeats dropped");
    }

    #[test]
    fn absorb_adds_but_never_overwrites() {
        let known = ContactDraft {
            name: Some("Ann".into()),
            emails: vec![Email { address: "ann@x.org".into(), kind: PointKind::Work }],
            ..ContactDraft::default()
        };
        let mut c = Contact::new(1, known, Timestamp::UNIX_EPOCH);
        let incoming = ContactDraft {
            name: Some("Mallory".into()),
            emails: vec![Email { address: "ann@x.org".into(), kind: PointKind::Other }],
            phones: vec![
                Phone { number: "+15550100".into(), kind: PointKind::Mobile },
                Phone { number: "+15550199".into(), kind: PointKind::Work },
            ],
            company: None,
        };
        let changed = c.absorb(&incoming, Timestamp::UNIX_EPOCH, |n| n != "+15550199");
        assert!(changed);
        assert_eq!(c.name, "Ann");
        assert_eq!(c.emails.len(), 1);
        assert_eq!(c.phones, vec![Phone { number: "+15550100".into(), kind: PointKind::Mobile }]);
        assert!(!c.absorb(&incoming, Timestamp::UNIX_EPOCH, |n| n != "+15550199"));
    }
}
