//! Contacts: found by any address or number, which the `contact_points`
//! table's key keeps to one contact each.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_core::{Contact, ContactDraft, Timestamp};
use switchboard_store::{Committed, ContactStore, StoreError};

use crate::convert::{column, db_id, domain_id, json, record};
use crate::store::PgStore;
use crate::tx::{TxError, execute, into_store, next_id, row, rows, transact};

/// A contact point's key: `e:` and an address, or `p:` and a number.
fn points(draft: &ContactDraft) -> Vec<(String, &str)> {
    let emails = draft.emails.iter().map(|e| (format!("e:{}", e.address), e.address.as_str()));
    let phones = draft.phones.iter().map(|p| (format!("p:{}", p.number), p.number.as_str()));
    emails.chain(phones).collect()
}

/// Claims `keys` for contact `id`. Another contact that claimed one since
/// this transaction looked makes it run again, and find that owner.
async fn claim(tx: &Transaction<'_>, keys: &[String], id: u64) -> Result<(), TxError> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = "INSERT INTO contact_points (point, contact_id) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING";
    let claimed = execute(tx, sql, &[&keys, &db_id(id)?]).await?;
    if claimed < keys.len() as u64 {
        return Err(TxError::Retry(format!("contact {id}: another contact claimed one of its points")));
    }
    Ok(())
}

/// Finds the contact owning one of the (normalized) draft's addresses or
/// numbers and adds what it lacks, or creates a contact.
pub(crate) async fn upsert(tx: &Transaction<'_>, draft: &ContactDraft, now: Timestamp) -> Result<Contact, TxError> {
    let all = points(draft);
    let keys: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    let sql = "SELECT point, contact_id FROM contact_points WHERE point = ANY($1)";
    let mut owners = HashMap::new();
    for found in rows(tx, sql, &[&keys]).await? {
        owners.insert(column::<_, String>(&found, 0)?, domain_id(column(&found, 1)?)?);
    }
    // The draft's first known point decides whose contact this is.
    let owner = all.iter().find_map(|(k, _)| owners.get(k).copied());
    let free: HashSet<&str> = all.iter().filter(|(k, _)| !owners.contains_key(k)).map(|(_, v)| *v).collect();
    let Some(id) = owner else {
        let contact = Contact::new(next_id(tx, "contact_ids").await?, draft.clone(), now);
        execute(tx, "INSERT INTO contacts (id, data) VALUES ($1, $2)", &[&db_id(contact.id)?, &json(&contact)]).await?;
        claim(tx, &all.into_iter().map(|(k, _)| k).collect::<Vec<_>>(), contact.id).await?;
        return Ok(contact);
    };
    let Some(found) = row(tx, "SELECT data FROM contacts WHERE id = $1 FOR UPDATE", &[&db_id(id)?]).await? else {
        return Err(StoreError::UnknownContact(id).into());
    };
    let mut contact: Contact = record("contact", &found, "data")?;
    if !contact.absorb(draft, now, |k| free.contains(k)) {
        return Ok(contact);
    }
    let new: Vec<String> = all.into_iter().filter(|(_, v)| free.contains(v)).map(|(k, _)| k).collect();
    claim(tx, &new, id).await?;
    execute(tx, "UPDATE contacts SET data = $2 WHERE id = $1", &[&db_id(id)?, &json(&contact)]).await?;
    Ok(contact)
}

#[async_trait]
impl ContactStore for PgStore {
    async fn upsert_contact(&self, draft: ContactDraft, now: Timestamp) -> Result<Committed<Contact>, StoreError> {
        let draft = draft.normalized()?;
        transact!(self, |tx| upsert(&tx, &draft, now)).map(Committed::durable_now)
    }

    async fn contact(&self, id: u64) -> Result<Contact, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let found =
            row(&client, "SELECT data FROM contacts WHERE id = $1", &[&db_id(id)?]).await.map_err(into_store)?;
        found.map(|r| record("contact", &r, "data")).transpose()?.ok_or(StoreError::UnknownContact(id))
    }

    async fn find_contact(&self, email: Option<&str>, phone: Option<&str>) -> Result<Option<Contact>, StoreError> {
        let mut candidates = Vec::new();
        if let Some(email) = email {
            candidates.push(format!("e:{}", switchboard_core::normalize_email(email)?));
        }
        if let Some(phone) = phone {
            candidates.push(format!("p:{}", switchboard_core::normalize_phone(phone)?));
        }
        let client = self.client().await.map_err(into_store)?;
        for point in candidates {
            let sql = "SELECT c.data FROM contact_points p JOIN contacts c ON c.id = p.contact_id WHERE p.point = $1";
            if let Some(found) = row(&client, sql, &[&point]).await.map_err(into_store)? {
                return record("contact", &found, "data").map(Some);
            }
        }
        Ok(None)
    }
}
