//! Contacts: customers, found by any of their e-mail addresses or numbers.

use async_trait::async_trait;
use switchboard_core::{Contact, ContactDraft, Timestamp};

use crate::{Committed, StoreError};

/// Contacts. An e-mail address or phone number belongs to one contact.
#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Finds the contact owning one of the draft's e-mails or phones and
    /// adds what it did not know, or creates a new contact.
    async fn upsert_contact(&self, draft: ContactDraft, now: Timestamp) -> Result<Committed<Contact>, StoreError>;

    /// The contact with this id.
    async fn contact(&self, id: u64) -> Result<Contact, StoreError>;

    /// The contact that owns this e-mail address or phone number.
    async fn find_contact(&self, email: Option<&str>, phone: Option<&str>) -> Result<Option<Contact>, StoreError>;
}
