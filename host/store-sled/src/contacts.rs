//! Contacts: found by any address or number, never duplicated.

use std::collections::HashSet;

use async_trait::async_trait;
use switchboard_core::{Contact, ContactDraft, Timestamp};
use switchboard_store::{Committed, ContactStore, StoreError};

use crate::SledResult;
use crate::keys;
use crate::store::SledStore;
use crate::trees::{Sequence, Tree};
use crate::tx::{Tx, TxResult, abort};
use crate::visibility::Trees;

/// What contact writes touch.
const WRITE: Trees = Trees::of(&[Tree::Meta, Tree::Contacts, Tree::ContactKeys]);
/// What contact reads look at.
const READ: Trees = Trees::of(&[Tree::Contacts, Tree::ContactKeys]);

impl Tx<'_> {
    /// Finds the contact owning one of the draft's addresses or numbers and
    /// adds what it lacks, or creates a contact. The draft is normalized.
    pub(crate) fn upsert_contact(&self, draft: &ContactDraft, now: Timestamp) -> TxResult<Contact> {
        let email_keys = draft.emails.iter().map(|e| (keys::contact_email(&e.address), e.address.as_str()));
        let phone_keys = draft.phones.iter().map(|p| (keys::contact_phone(&p.number), p.number.as_str()));
        let all: Vec<(Vec<u8>, &str)> = email_keys.chain(phone_keys).collect();
        let mut owner = None;
        let mut free = HashSet::new();
        for (key, value) in &all {
            match self.id_at(Tree::ContactKeys, key)? {
                Some(id) if owner.is_none() => owner = Some(id),
                Some(_) => {}
                None => {
                    free.insert(*value);
                }
            }
        }
        let (contact, claim) = match owner {
            Some(id) => {
                let mut contact: Contact = match self.get(Tree::Contacts, &keys::id(id), "contact")? {
                    Some(c) => c,
                    None => return abort(StoreError::UnknownContact(id)),
                };
                if !contact.absorb(draft, now, |k| free.contains(k)) {
                    return Ok(contact);
                }
                let claim: Vec<_> = all.iter().filter(|(_, v)| free.contains(v)).map(|(k, _)| k.clone()).collect();
                (contact, claim)
            }
            None => {
                let contact = Contact::new(self.next_id(Sequence::Contact)?, draft.clone(), now);
                (contact, all.into_iter().map(|(k, _)| k).collect())
            }
        };
        for key in claim {
            self.put_raw(Tree::ContactKeys, &key, keys::id(contact.id).as_slice())?;
        }
        self.put(Tree::Contacts, &keys::id(contact.id), &contact)?;
        Ok(contact)
    }
}

#[async_trait]
impl ContactStore for SledStore {
    async fn upsert_contact(&self, draft: ContactDraft, now: Timestamp) -> Result<Committed<Contact>, StoreError> {
        let draft = draft.normalized()?;
        self.write(WRITE, move |tx| tx.upsert_contact(&draft, now)).await
    }

    async fn contact(&self, id: u64) -> Result<Contact, StoreError> {
        let contact = self.inner.get(Tree::Contacts, &keys::id(id), "contact");
        self.read(READ, contact).await?.ok_or(StoreError::UnknownContact(id))
    }

    async fn find_contact(&self, email: Option<&str>, phone: Option<&str>) -> Result<Option<Contact>, StoreError> {
        let mut candidates = Vec::new();
        if let Some(email) = email {
            candidates.push(keys::contact_email(&switchboard_core::normalize_email(email)?));
        }
        if let Some(phone) = phone {
            candidates.push(keys::contact_phone(&switchboard_core::normalize_phone(phone)?));
        }
        for key in candidates {
            let owner = self.inner.tree(Tree::ContactKeys).get(key).backend()?;
            if let Some(id) = owner.and_then(|v| keys::read_id(&v)) {
                return self.contact(id).await.map(Some);
            }
        }
        Ok(None)
    }
}
