//! Checking the layout version at open, and upgrading older layouts.
//!
//! Version 1 kept id counters in memory (from the highest key at start, and
//! sled's `generate_id` for messages), never wrote the external-key index,
//! and counted storage keys by scanning. Version 2 keeps id sequences in
//! `meta`, the external-key index, and a key count per installation, each
//! in the transaction of the record it follows. The upgrade builds them
//! from the records, then writes the new version: a crash halfway leaves
//! version 1, and the next start runs the upgrade again from the start.
//! Version 3 adds the job trees, which start empty: the upgrade from 2
//! only writes the version, so that an older build refuses data that may
//! hold jobs it would not see.

use switchboard_core::Ticket;
use switchboard_store::StoreError;

use crate::SledResult;
use crate::codec::decode;
use crate::keys;
use crate::store::{SCHEMA_KEY, SCHEMA_VERSION};
use crate::trees::{Sequence, Tree};

/// Brings the data in `trees` to [`SCHEMA_VERSION`], or refuses it.
pub(crate) fn to_current(db: &sled::Db, trees: &[sled::Tree]) -> Result<(), StoreError> {
    let tree = |t: Tree| &trees[t.index()];
    let found = match tree(Tree::Meta).get(SCHEMA_KEY).backend()? {
        Some(v) => <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes).map_err(|_| StoreError::Corrupt {
            what: "schema version".into(),
            reason: format!("{} bytes instead of 4", v.len()),
        })?,
        None if tree(Tree::Teams).first().backend()?.is_some() || tree(Tree::Users).first().backend()?.is_some() => {
            return Err(StoreError::Corrupt {
                what: "data directory".into(),
                reason: "it holds records but no schema version".into(),
            });
        }
        // A new store: every sequence starts at 1, every index is empty.
        None => SCHEMA_VERSION,
    };
    if found > SCHEMA_VERSION || found == 0 {
        return Err(StoreError::SchemaMismatch { found, expected: SCHEMA_VERSION });
    }
    if found == 1 {
        tracing::info!("upgrading the data from schema version 1 to 2");
        v1_to_v2(&tree)?;
    }
    tree(Tree::Meta).insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes()).backend()?;
    db.flush().backend()?;
    Ok(())
}

/// One past the highest big-endian id among the keys `ids` yields.
fn next_after(
    ids: impl Iterator<Item = Result<sled::IVec, sled::Error>>,
    id_of: fn(&[u8]) -> Option<u64>,
) -> Result<u64, StoreError> {
    let mut max = 0;
    for key in ids {
        max = max.max(id_of(&key.backend()?).unwrap_or(0));
    }
    Ok(max + 1)
}

fn v1_to_v2<'a>(tree: &impl Fn(Tree) -> &'a sled::Tree) -> Result<(), StoreError> {
    let last_id = |t: Tree| -> Result<u64, StoreError> {
        Ok(tree(t).last().backend()?.and_then(|(k, _)| keys::read_id(&k)).unwrap_or(0) + 1)
    };
    let message_id = |k: &[u8]| k.get(8..16).and_then(keys::read_id);
    let next = [
        (Sequence::Ticket, last_id(Tree::Tickets)?),
        (Sequence::Contact, last_id(Tree::Contacts)?),
        (Sequence::User, last_id(Tree::Users)?),
        (Sequence::Message, next_after(tree(Tree::Messages).iter().keys(), message_id)?),
    ];
    for (sequence, id) in next {
        tree(Tree::Meta).insert(sequence.key(), &keys::id(id)).backend()?;
    }
    for value in tree(Tree::Tickets).iter().values() {
        let ticket: Ticket = decode("ticket", &value.backend()?)?;
        if let Some(key) = &ticket.external_key {
            let entry = keys::external_key(&ticket.team, &ticket.origin, key);
            // Version 1 let two tickets share a key; the first keeps it.
            tree(Tree::ExternalKeys)
                .compare_and_swap(entry, None as Option<&[u8]>, Some(&keys::id(ticket.id)))
                .backend()?
                .ok();
        }
    }
    tree(Tree::KvCounts).clear().backend()?;
    let mut counts: std::collections::BTreeMap<Vec<u8>, u64> = std::collections::BTreeMap::new();
    for key in tree(Tree::PluginKv).iter().keys() {
        let key = key.backend()?;
        // `slug \0 plugin \0 key`: the installation is up to the second zero.
        let Some(end) = key.iter().enumerate().filter(|(_, b)| **b == 0).nth(1).map(|(i, _)| i) else { continue };
        *counts.entry(key[..end].to_vec()).or_default() += 1;
    }
    for (installation, count) in counts {
        tree(Tree::KvCounts).insert(installation, &keys::id(count)).backend()?;
    }
    Ok(())
}
