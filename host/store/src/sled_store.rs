//! [`Store`] on sled 0.34.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use sled::Tree;
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, TransactionError, Transactional, TransactionalTree,
};
use switchboard_core::{
    Author, Contact, ContactDraft, CoreError, Installation, Message, MessageDraft, PluginRecord, Role, StageId, Team,
    Ticket, TicketDraft, TicketId, Timestamp, User, UserId,
};

use crate::batch::{self, Batch, Broken};
use crate::codec::{decode, encode};
use crate::group_commit::GroupCommit;
use crate::keys;
use crate::record_cache::RecordCache;
use crate::{Committed, Store, StoreError, StoreStats, TicketEdit, TicketFilter};

/// The layout version this build reads and writes. Opening a data
/// directory with another version fails instead of misreading it.
pub const SCHEMA_VERSION: u32 = 1;

const SCHEMA_KEY: &[u8] = b"schema_version";

/// The trees, in the order transactions see them.
const TREES: [&str; 17] = [
    "meta",
    "teams",
    "aliases",
    "tickets",
    "ticket_order",
    "stage_counts",
    "sla_due",
    "messages",
    "contacts",
    "contact_keys",
    "users",
    "tokens",
    "plugins",
    "plugin_code",
    "installations",
    "plugin_kv",
    "external_keys",
];
const META: usize = 0;
const TEAMS: usize = 1;
const ALIASES: usize = 2;
const TICKETS: usize = 3;
const TICKET_ORDER: usize = 4;
const STAGE_COUNTS: usize = 5;
const SLA_DUE: usize = 6;
const MESSAGES: usize = 7;
const CONTACTS: usize = 8;
const CONTACT_KEYS: usize = 9;
const USERS: usize = 10;
const TOKENS: usize = 11;
const PLUGINS: usize = 12;
const PLUGIN_CODE: usize = 13;
const INSTALLATIONS: usize = 14;
const PLUGIN_KV: usize = 15;
const EXTERNAL_KEYS: usize = 16;

type TxResult<T> = ConflictableTransactionResult<T, StoreError>;

fn abort<T>(e: impl Into<StoreError>) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e.into()))
}

/// Lets `?` abort a transaction with a store or domain error.
trait OrAbort<T> {
    fn or_abort(self) -> TxResult<T>;
}

impl<T, E: Into<StoreError>> OrAbort<T> for Result<T, E> {
    fn or_abort(self) -> TxResult<T> {
        self.or_else(abort)
    }
}

/// The sled store. Opening it checks the schema version and starts the
/// group-commit flusher; dropping it flushes and stops the flusher.
pub struct SledStore {
    /// Tells this store's batches from another's (see `batch`).
    id: u64,
    db: sled::Db,
    trees: Vec<Tree>,
    next_ticket: AtomicU64,
    next_contact: AtomicU64,
    next_user: AtomicU64,
    /// Decoded teams, by slug.
    teams: RecordCache<Team>,
    /// Decoded installations, by their key.
    installations: RecordCache<Installation>,
    // Declared last so that it is dropped after the trees it flushes.
    commit: GroupCommit,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

/// Numbers the stores opened in this process.
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

/// A batch attempt that must not commit (see `Store::write_batch`).
struct BatchFailed;

/// One past the highest id stored in `tree`, whose keys are big-endian ids.
fn next_id(tree: &Tree) -> Result<u64, StoreError> {
    Ok(match tree.last()? {
        Some((key, _)) => keys::read_id(&key).unwrap_or(0) + 1,
        None => 1,
    })
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`.
    pub fn open(path: &Path) -> Result<SledStore, StoreError> {
        let db = sled::Config::new().path(path).open()?;
        let trees = TREES.iter().map(|name| db.open_tree(name)).collect::<Result<Vec<_>, _>>()?;
        let meta = &trees[META];
        match meta.get(SCHEMA_KEY)? {
            Some(v) => {
                let found =
                    <[u8; 4]>::try_from(v.as_ref()).map(u32::from_be_bytes).map_err(|_| StoreError::Corrupt {
                        what: "schema version".into(),
                        reason: format!("{} bytes instead of 4", v.len()),
                    })?;
                if found != SCHEMA_VERSION {
                    return Err(StoreError::SchemaMismatch { found, expected: SCHEMA_VERSION });
                }
            }
            None => {
                if trees[TEAMS].first()?.is_some() || trees[USERS].first()?.is_some() {
                    return Err(StoreError::Corrupt {
                        what: "data directory".into(),
                        reason: "it holds records but no schema version".into(),
                    });
                }
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
            }
        }
        let store = SledStore {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            next_ticket: AtomicU64::new(next_id(&trees[TICKETS])?),
            next_contact: AtomicU64::new(next_id(&trees[CONTACTS])?),
            next_user: AtomicU64::new(next_id(&trees[USERS])?),
            teams: RecordCache::default(),
            installations: RecordCache::default(),
            commit: GroupCommit::start(db.clone()).map_err(|e| StoreError::Flush(e.to_string()))?,
            trees,
            db,
        };
        Ok(store)
    }

    /// Runs `f` in one transaction over every tree and queues the result
    /// for the next group flush.
    ///
    /// Inside a batch (see `Store::write_batch`), `f` joins the batch's
    /// transaction instead.
    fn write<T>(&self, f: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<Committed<T>, StoreError> {
        if let Some(joined) = batch::with_current(self.id, |batch| self.join(batch, &f)) {
            return joined;
        }
        let refs: Vec<&Tree> = self.trees.iter().collect();
        let (value, cached) = refs.as_slice().transaction(|trees: &Vec<TransactionalTree>| {
            let tx = Tx { trees, store: self, cached: RefCell::default() };
            let value = f(&tx)?;
            Ok((value, tx.cached.into_inner()))
        })?;
        // Only now is the new value what readers see, so only now may the
        // old copies go.
        self.forget_cached(cached);
        Ok(Committed::pending(value, self.commit.wait()))
    }

    /// Runs `f` in `batch`'s transaction. Its value comes back at once; its
    /// flush waiter is queued only when the batch commits.
    fn join<T>(&self, batch: &mut Batch, f: impl Fn(&Tx<'_>) -> TxResult<T>) -> Result<Committed<T>, StoreError> {
        if batch.broken.is_some() {
            // This attempt will be thrown away: do not build on it.
            return Err(StoreError::Writer("an earlier write of its batch failed".into()));
        }
        let tx = Tx { trees: &batch.trees, store: self, cached: RefCell::default() };
        let outcome = f(&tx);
        let cached = tx.cached.into_inner();
        match outcome {
            Ok(value) => {
                batch.cached.extend(cached);
                let (waiter, flushed) = tokio::sync::oneshot::channel();
                batch.waiters.push(waiter);
                Ok(Committed::pending(value, flushed))
            }
            Err(ConflictableTransactionError::Conflict) => {
                batch.broken = Some(Broken::Conflict);
                Err(StoreError::Writer("its batch met a conflict".into()))
            }
            Err(ConflictableTransactionError::Abort(e)) => {
                batch.broken = Some(Broken::Failed);
                Err(e)
            }
            Err(ConflictableTransactionError::Storage(e)) => {
                batch.broken = Some(Broken::Failed);
                Err(e.into())
            }
        }
    }

    /// Forgets the cached copies of records a committed write changed.
    fn forget_cached(&self, cached: Vec<(usize, Vec<u8>)>) {
        for (tree, key) in cached {
            match tree {
                TEAMS => self.teams.forget(&key),
                INSTALLATIONS => self.installations.forget(&key),
                _ => {}
            }
        }
    }

    fn get<T: serde::de::DeserializeOwned>(
        &self,
        tree: usize,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        self.trees[tree].get(key)?.map(|v| decode(what, &v)).transpose()
    }
}

/// A transaction's view of every tree, with typed helpers.
struct Tx<'a> {
    trees: &'a [TransactionalTree],
    store: &'a SledStore,
    /// Keys of cached trees (teams, installations) this attempt wrote, to
    /// forget once it commits.
    cached: RefCell<Vec<(usize, Vec<u8>)>>,
}

impl Tx<'_> {
    fn get<T: serde::de::DeserializeOwned>(&self, tree: usize, key: &[u8], what: &str) -> TxResult<Option<T>> {
        match self.trees[tree].get(key)? {
            Some(v) => decode(what, &v).map(Some).or_abort(),
            None => Ok(None),
        }
    }

    fn put<T: serde::Serialize>(&self, tree: usize, key: &[u8], value: &T) -> TxResult<()> {
        self.trees[tree].insert(key, encode(value))?;
        self.touched(tree, key);
        Ok(())
    }

    /// Removes the record at `key`, returning whether there was one.
    fn remove(&self, tree: usize, key: &[u8]) -> TxResult<bool> {
        let removed = self.trees[tree].remove(key)?.is_some();
        self.touched(tree, key);
        Ok(removed)
    }

    /// Notes a write to a tree whose records the store caches.
    fn touched(&self, tree: usize, key: &[u8]) {
        if tree == TEAMS || tree == INSTALLATIONS {
            self.cached.borrow_mut().push((tree, key.to_vec()));
        }
    }

    fn id_at(&self, tree: usize, key: &[u8]) -> TxResult<Option<u64>> {
        Ok(self.trees[tree].get(key)?.and_then(|v| keys::read_id(&v)))
    }

    fn team(&self, slug: &str) -> TxResult<Team> {
        match self.get(TEAMS, slug.as_bytes(), "team")? {
            Some(team) => Ok(team),
            None => abort(StoreError::UnknownTeam(slug.to_owned())),
        }
    }

    fn ticket(&self, id: TicketId) -> TxResult<Ticket> {
        match self.get(TICKETS, &keys::id(id), "ticket")? {
            Some(ticket) => Ok(ticket),
            None => abort(StoreError::UnknownTicket(id)),
        }
    }

    fn add_to_stage_count(&self, slug: &str, stage: StageId, delta: i64) -> TxResult<()> {
        let key = keys::stage_count(slug, stage);
        let count = self.id_at(STAGE_COUNTS, &key)?.unwrap_or(0);
        let count = count.saturating_add_signed(delta);
        self.trees[STAGE_COUNTS].insert(key, &keys::id(count))?;
        Ok(())
    }

    /// Writes a ticket and moves its index entries from where `old` had
    /// them to where the ticket now needs them.
    fn put_ticket(&self, old: Option<&Ticket>, new: &Ticket) -> TxResult<()> {
        let order = |t: &Ticket| keys::ticket_order(&t.team, t.priority, t.created_at, t.id);
        let due = |t: &Ticket| t.running_deadline().map(|d| keys::sla_due(d, t.id));
        if let Some(old) = old {
            if old.priority != new.priority {
                self.trees[TICKET_ORDER].remove(order(old))?;
            }
            if old.stage != new.stage {
                self.add_to_stage_count(&old.team, old.stage, -1)?;
                self.add_to_stage_count(&new.team, new.stage, 1)?;
            }
            if let Some(key) = due(old).filter(|k| Some(k) != due(new).as_ref()) {
                self.trees[SLA_DUE].remove(key)?;
            }
        } else {
            self.add_to_stage_count(&new.team, new.stage, 1)?;
        }
        self.trees[TICKET_ORDER].insert(order(new), &[])?;
        if let Some(key) = due(new) {
            self.trees[SLA_DUE].insert(key, &[])?;
        }
        self.put(TICKETS, &keys::id(new.id), new)
    }

    fn add_message(&self, ticket: TicketId, draft: MessageDraft, now: Timestamp) -> TxResult<Message> {
        let id = self.trees[MESSAGES].generate_id()?;
        let message = Message::new(id, ticket, draft, now).or_abort()?;
        self.put(MESSAGES, &keys::message(ticket, id), &message)?;
        Ok(message)
    }

    fn add_event(&self, ticket: TicketId, author: &Author, body: String, now: Timestamp) -> TxResult<()> {
        let draft = MessageDraft { kind: switchboard_core::MessageKind::Event, author: author.clone(), body };
        self.add_message(ticket, draft, now).map(drop)
    }

    /// Finds the contact owning one of the draft's addresses or numbers and
    /// adds what it lacks, or creates a contact. The draft is normalized.
    fn upsert_contact(&self, draft: &ContactDraft, now: Timestamp) -> TxResult<Contact> {
        let email_keys = draft.emails.iter().map(|e| (keys::contact_email(&e.address), e.address.as_str()));
        let phone_keys = draft.phones.iter().map(|p| (keys::contact_phone(&p.number), p.number.as_str()));
        let all: Vec<(Vec<u8>, &str)> = email_keys.chain(phone_keys).collect();
        let mut owner = None;
        let mut free = HashSet::new();
        for (key, value) in &all {
            match self.id_at(CONTACT_KEYS, key)? {
                Some(id) if owner.is_none() => owner = Some(id),
                Some(_) => {}
                None => {
                    free.insert(*value);
                }
            }
        }
        let (contact, claim) = match owner {
            Some(id) => {
                let mut contact: Contact = match self.get(CONTACTS, &keys::id(id), "contact")? {
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
                let id = self.store.next_contact.fetch_add(1, Ordering::Relaxed);
                let contact = Contact::new(id, draft.clone(), now);
                (contact, all.into_iter().map(|(k, _)| k).collect())
            }
        };
        for key in claim {
            self.trees[CONTACT_KEYS].insert(key, &keys::id(contact.id))?;
        }
        self.put(CONTACTS, &keys::id(contact.id), &contact)?;
        Ok(contact)
    }
}

impl Store for SledStore {
    fn create_team(&self, team: Team) -> Result<Committed<Team>, StoreError> {
        self.write(|tx| {
            if tx.trees[TEAMS].get(team.slug.as_bytes())?.is_some() {
                return abort(StoreError::SlugTaken(team.slug.clone()));
            }
            if let Some(owner) = tx.trees[ALIASES].get(team.alias.as_bytes())? {
                return abort(StoreError::AliasTaken {
                    alias: team.alias.clone(),
                    team: String::from_utf8_lossy(&owner).into_owned(),
                });
            }
            tx.trees[ALIASES].insert(team.alias.as_bytes(), team.slug.as_bytes())?;
            tx.put(TEAMS, team.slug.as_bytes(), &team)?;
            Ok(team.clone())
        })
    }

    fn team(&self, slug: &str) -> Result<Team, StoreError> {
        self.teams
            .get_or_load(slug.as_bytes(), || self.get(TEAMS, slug.as_bytes(), "team"))?
            .ok_or_else(|| StoreError::UnknownTeam(slug.to_owned()))
    }

    fn teams(&self) -> Result<Vec<Team>, StoreError> {
        self.trees[TEAMS].iter().values().map(|v| decode("team", &v?)).collect()
    }

    fn team_by_alias(&self, alias: &str) -> Result<Option<Team>, StoreError> {
        match self.trees[ALIASES].get(alias.to_ascii_lowercase().as_bytes())? {
            Some(slug) => self.get(TEAMS, &slug, "team"),
            None => Ok(None),
        }
    }

    fn update_team(
        &self,
        slug: &str,
        edit: &mut dyn FnMut(&mut Team) -> Result<(), CoreError>,
    ) -> Result<Committed<Team>, StoreError> {
        // sled may run a transaction more than once, and wants `Fn`.
        let edit = RefCell::new(edit);
        self.write(|tx| {
            let old = tx.team(slug)?;
            let mut team = old.clone();
            (edit.borrow_mut())(&mut team).or_abort()?;
            team.slug = old.slug.clone();
            if team.alias != old.alias {
                if let Some(owner) = tx.trees[ALIASES].get(team.alias.as_bytes())? {
                    return abort(StoreError::AliasTaken {
                        alias: team.alias.clone(),
                        team: String::from_utf8_lossy(&owner).into_owned(),
                    });
                }
                tx.trees[ALIASES].remove(old.alias.as_bytes())?;
                tx.trees[ALIASES].insert(team.alias.as_bytes(), team.slug.as_bytes())?;
            }
            tx.put(TEAMS, slug.as_bytes(), &team)?;
            Ok(team)
        })
    }

    fn remove_stage(&self, slug: &str, stage: StageId) -> Result<Committed<Team>, StoreError> {
        self.write(|tx| {
            let mut team = tx.team(slug)?;
            let key = keys::stage_count(slug, stage);
            let count = tx.id_at(STAGE_COUNTS, &key)?.unwrap_or(0);
            if count > 0 {
                return abort(StoreError::StageInUse { team: slug.to_owned(), stage, count });
            }
            team.remove_stage(stage).or_abort()?;
            tx.trees[STAGE_COUNTS].remove(key)?;
            tx.put(TEAMS, slug.as_bytes(), &team)?;
            Ok(team)
        })
    }

    fn stage_counts(&self, slug: &str) -> Result<Vec<(StageId, u64)>, StoreError> {
        let team = self.team(slug)?;
        team.stages
            .iter()
            .map(|s| {
                let count = self.trees[STAGE_COUNTS].get(keys::stage_count(slug, s.id))?;
                Ok((s.id, count.and_then(|v| keys::read_id(&v)).unwrap_or(0)))
            })
            .collect()
    }

    fn create_ticket(
        &self,
        slug: &str,
        draft: TicketDraft,
        contact: Option<ContactDraft>,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Ticket>, StoreError> {
        let contact = contact.map(|c| c.normalized()).transpose()?;
        self.write(|tx| {
            let team = tx.team(slug)?;
            let contact = contact.as_ref().map(|c| tx.upsert_contact(c, now)).transpose()?;
            let id = self.next_ticket.fetch_add(1, Ordering::Relaxed);
            let ticket = Ticket::open(id, &team, draft.clone(), contact.map(|c| c.id), now).or_abort()?;
            tx.put_ticket(None, &ticket)?;
            let stage = team.stage(ticket.stage).map(|s| s.name.as_str()).unwrap_or("?");
            let created = format!("Ticket created via {} in stage {stage}", ticket.origin);
            tx.add_event(id, &author, created, now)?;
            Ok(ticket)
        })
    }

    fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError> {
        self.get(TICKETS, &keys::id(id), "ticket")?.ok_or(StoreError::UnknownTicket(id))
    }

    fn tickets(&self, slug: &str, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError> {
        self.team(slug)?;
        let mut out = Vec::new();
        let mut skipped = 0;
        for entry in self.trees[TICKET_ORDER].scan_prefix(keys::team_prefix(slug)).keys() {
            let key = entry?;
            let Some(id) = key.len().checked_sub(8).and_then(|at| keys::read_id(&key[at..])) else {
                continue;
            };
            let ticket = self.ticket(id)?;
            let matches = filter.stage.is_none_or(|s| s == ticket.stage)
                && filter.priority.is_none_or(|p| p == ticket.priority)
                && filter.breached.is_none_or(|b| b == ticket.is_breached());
            if !matches {
                continue;
            }
            if skipped < filter.offset {
                skipped += 1;
                continue;
            }
            out.push(ticket);
            if out.len() >= filter.limit {
                break;
            }
        }
        Ok(out)
    }

    fn update_ticket(
        &self,
        id: TicketId,
        edit: &TicketEdit,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Ticket>, StoreError> {
        self.write(|tx| {
            let old = tx.ticket(id)?;
            let team = tx.team(&old.team)?;
            let mut ticket = old.clone();
            let mut changes = Vec::new();
            if let Some(title) = &edit.title {
                changes.extend(ticket.set_title(title, now).or_abort()?);
            }
            if let Some(priority) = edit.priority {
                changes.extend(ticket.set_priority(priority, &team, now));
            }
            if let Some(stage) = edit.stage {
                changes.extend(ticket.move_to_stage(stage, &team, now).or_abort()?);
            }
            if changes.is_empty() {
                return Ok(ticket);
            }
            tx.put_ticket(Some(&old), &ticket)?;
            for change in &changes {
                tx.add_event(id, &author, change.describe(), now)?;
            }
            Ok(ticket)
        })
    }

    fn append_message(
        &self,
        id: TicketId,
        draft: MessageDraft,
        now: Timestamp,
    ) -> Result<Committed<Message>, StoreError> {
        self.write(|tx| {
            let mut ticket = tx.ticket(id)?;
            let message = tx.add_message(id, draft.clone(), now)?;
            ticket.updated_at = now;
            tx.put(TICKETS, &keys::id(id), &ticket)?;
            Ok(message)
        })
    }

    fn messages(&self, id: TicketId) -> Result<Vec<Message>, StoreError> {
        self.ticket(id)?;
        self.trees[MESSAGES].scan_prefix(keys::id(id)).values().map(|v| decode("message", &v?)).collect()
    }

    fn breach_overdue(&self, now: Timestamp) -> Result<Committed<Vec<TicketId>>, StoreError> {
        let due: Vec<TicketId> = self.trees[SLA_DUE]
            .range(..=keys::sla_due_until(now))
            .keys()
            .filter_map(|k| k.map(|k| keys::sla_due_ticket(&k)).transpose())
            .collect::<Result<_, _>>()?;
        if due.is_empty() {
            return Ok(Committed::unchanged(due));
        }
        self.write(|tx| {
            let mut breached = Vec::new();
            for &id in &due {
                let old = tx.ticket(id)?;
                let mut ticket = old.clone();
                let changes = ticket.check_deadline(now);
                tx.put_ticket(Some(&old), &ticket)?;
                for change in &changes {
                    tx.add_event(id, &Author::System, change.describe(), now)?;
                }
                if !changes.is_empty() {
                    breached.push(id);
                }
            }
            Ok(breached)
        })
    }

    fn upsert_contact(&self, draft: ContactDraft, now: Timestamp) -> Result<Committed<Contact>, StoreError> {
        let draft = draft.normalized()?;
        self.write(|tx| tx.upsert_contact(&draft, now))
    }

    fn contact(&self, id: u64) -> Result<Contact, StoreError> {
        self.get(CONTACTS, &keys::id(id), "contact")?.ok_or(StoreError::UnknownContact(id))
    }

    fn find_contact(&self, email: Option<&str>, phone: Option<&str>) -> Result<Option<Contact>, StoreError> {
        let mut candidates = Vec::new();
        if let Some(email) = email {
            candidates.push(keys::contact_email(&switchboard_core::normalize_email(email)?));
        }
        if let Some(phone) = phone {
            candidates.push(keys::contact_phone(&switchboard_core::normalize_phone(phone)?));
        }
        for key in candidates {
            if let Some(id) = self.trees[CONTACT_KEYS].get(key)?.and_then(|v| keys::read_id(&v)) {
                return self.contact(id).map(Some);
            }
        }
        Ok(None)
    }

    fn create_user(
        &self,
        name: &str,
        role: Role,
        token_hash: String,
        now: Timestamp,
    ) -> Result<Committed<User>, StoreError> {
        self.write(|tx| {
            let id = self.next_user.fetch_add(1, Ordering::Relaxed);
            let user = User::new(id, name, role, token_hash.clone(), now).or_abort()?;
            tx.put(USERS, &keys::id(id), &user)?;
            tx.trees[TOKENS].insert(user.token_hash.as_bytes(), &keys::id(id))?;
            Ok(user)
        })
    }

    fn user_by_token(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        match self.trees[TOKENS].get(token_hash.as_bytes())?.and_then(|v| keys::read_id(&v)) {
            Some(id) => self.user(id),
            None => Ok(None),
        }
    }

    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.get(USERS, &keys::id(id), "user")
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.trees[USERS].iter().values().map(|v| decode("user", &v?)).collect()
    }

    fn ticket_by_external_key(&self, slug: &str, origin: &str, key: &str) -> Result<Option<Ticket>, StoreError> {
        match self.trees[EXTERNAL_KEYS].get(keys::external_key(slug, origin, key))?.and_then(|v| keys::read_id(&v)) {
            Some(id) => self.ticket(id).map(Some),
            None => Ok(None),
        }
    }

    fn set_ticket_fields(
        &self,
        id: TicketId,
        fields: &[(String, String)],
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Ticket>, StoreError> {
        self.write(|tx| {
            let old = tx.ticket(id)?;
            let mut ticket = old.clone();
            let changes = ticket.set_fields(fields, now).or_abort()?;
            if changes.is_empty() {
                return Ok(ticket);
            }
            tx.put_ticket(Some(&old), &ticket)?;
            for change in &changes {
                tx.add_event(id, &author, change.describe(), now)?;
            }
            Ok(ticket)
        })
    }

    fn put_plugin(&self, record: PluginRecord, code: Vec<u8>) -> Result<Committed<PluginRecord>, StoreError> {
        self.write(|tx| {
            let id = record.manifest.id.as_bytes();
            let mut record = record.clone();
            if let Some(old) = tx.get::<PluginRecord>(PLUGINS, id, "plugin")? {
                record.installed_at = old.installed_at;
                record.enabled_in = old.enabled_in;
            }
            tx.put(PLUGINS, id, &record)?;
            tx.trees[PLUGIN_CODE].insert(id, code.as_slice())?;
            Ok(record)
        })
    }

    fn plugin(&self, id: &str) -> Result<PluginRecord, StoreError> {
        self.get(PLUGINS, id.as_bytes(), "plugin")?.ok_or_else(|| StoreError::UnknownPlugin(id.to_owned()))
    }

    fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        self.trees[PLUGINS].iter().values().map(|v| decode("plugin", &v?)).collect()
    }

    fn plugin_code(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        self.trees[PLUGIN_CODE]
            .get(id.as_bytes())?
            .map(|v| v.to_vec())
            .ok_or_else(|| StoreError::UnknownPlugin(id.to_owned()))
    }

    fn remove_plugin(&self, id: &str) -> Result<Committed<()>, StoreError> {
        self.write(|tx| {
            let Some(record) = tx.get::<PluginRecord>(PLUGINS, id.as_bytes(), "plugin")? else {
                return abort(StoreError::UnknownPlugin(id.to_owned()));
            };
            if record.enabled_in > 0 {
                return abort(StoreError::PluginInUse { plugin: id.to_owned(), teams: record.enabled_in });
            }
            tx.trees[PLUGINS].remove(id.as_bytes())?;
            tx.trees[PLUGIN_CODE].remove(id.as_bytes())?;
            Ok(())
        })
    }

    fn put_installation(&self, installation: Installation) -> Result<Committed<Installation>, StoreError> {
        self.write(|tx| {
            tx.team(&installation.team)?;
            let Some(mut plugin) = tx.get::<PluginRecord>(PLUGINS, installation.plugin.as_bytes(), "plugin")? else {
                return abort(StoreError::UnknownPlugin(installation.plugin.clone()));
            };
            installation.check(&plugin.manifest).or_abort()?;
            let key = keys::installation(&installation.team, &installation.plugin);
            let mut installation = installation.clone();
            match tx.get::<Installation>(INSTALLATIONS, &key, "installation")? {
                Some(old) => installation.enabled_at = old.enabled_at,
                None => {
                    plugin.enabled_in += 1;
                    tx.put(PLUGINS, installation.plugin.as_bytes(), &plugin)?;
                }
            }
            tx.put(INSTALLATIONS, &key, &installation)?;
            Ok(installation)
        })
    }

    fn installation(&self, slug: &str, plugin: &str) -> Result<Installation, StoreError> {
        let key = keys::installation(slug, plugin);
        self.installations
            .get_or_load(&key, || self.get(INSTALLATIONS, &key, "installation"))?
            .ok_or_else(|| StoreError::NotEnabled { team: slug.to_owned(), plugin: plugin.to_owned() })
    }

    fn installations(&self, slug: &str) -> Result<Vec<Installation>, StoreError> {
        self.trees[INSTALLATIONS]
            .scan_prefix(keys::team_prefix(slug))
            .values()
            .map(|v| decode("installation", &v?))
            .collect()
    }

    fn remove_installation(&self, slug: &str, plugin: &str) -> Result<Committed<()>, StoreError> {
        self.write(|tx| {
            let key = keys::installation(slug, plugin);
            if !tx.remove(INSTALLATIONS, &key)? {
                return abort(StoreError::NotEnabled { team: slug.to_owned(), plugin: plugin.to_owned() });
            }
            if let Some(mut record) = tx.get::<PluginRecord>(PLUGINS, plugin.as_bytes(), "plugin")? {
                record.enabled_in = record.enabled_in.saturating_sub(1);
                tx.put(PLUGINS, plugin.as_bytes(), &record)?;
            }
            Ok(())
        })
    }

    fn kv_get(&self, slug: &str, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.trees[PLUGIN_KV].get(keys::plugin_kv(slug, plugin, key))?.map(|v| v.to_vec()))
    }

    fn kv_set(&self, slug: &str, plugin: &str, key: &str, value: Vec<u8>) -> Result<Committed<()>, StoreError> {
        let k = keys::plugin_kv(slug, plugin, key);
        self.write(|tx| {
            tx.trees[PLUGIN_KV].insert(k.as_slice(), value.as_slice())?;
            Ok(())
        })
    }

    fn kv_delete(&self, slug: &str, plugin: &str, key: &str) -> Result<Committed<()>, StoreError> {
        let k = keys::plugin_kv(slug, plugin, key);
        self.write(|tx| {
            tx.trees[PLUGIN_KV].remove(k.as_slice())?;
            Ok(())
        })
    }

    fn kv_keys(&self, slug: &str, plugin: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let scope = keys::plugin_kv(slug, plugin, "");
        self.trees[PLUGIN_KV]
            .scan_prefix(keys::plugin_kv(slug, plugin, prefix))
            .keys()
            .map(|k| {
                let k = k?;
                Ok(String::from_utf8_lossy(&k[scope.len()..]).into_owned())
            })
            .collect()
    }

    fn write_batch(&self, writes: &mut dyn FnMut(&dyn Store) -> bool) -> Result<bool, StoreError> {
        let writes = RefCell::new(writes);
        let refs: Vec<&Tree> = self.trees.iter().collect();
        let outcome = refs.as_slice().transaction(|trees: &Vec<TransactionalTree>| {
            let scope = batch::Scope::enter(Batch::new(self.id, trees.clone()));
            let all_made = (writes.borrow_mut())(self);
            let batch = scope.leave().ok_or(ConflictableTransactionError::Abort(BatchFailed))?;
            match batch.broken {
                Some(Broken::Conflict) => Err(ConflictableTransactionError::Conflict),
                Some(Broken::Failed) => Err(ConflictableTransactionError::Abort(BatchFailed)),
                None if !all_made => Err(ConflictableTransactionError::Abort(BatchFailed)),
                None => Ok((batch.cached, batch.waiters)),
            }
        });
        match outcome {
            Ok((cached, waiters)) => {
                self.forget_cached(cached);
                self.commit.queue(waiters);
                Ok(true)
            }
            Err(TransactionError::Abort(BatchFailed)) => Ok(false),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    fn stats(&self) -> StoreStats {
        let (flushes, durable_writes) = self.commit.counts();
        StoreStats { flushes, durable_writes }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // The group-commit thread flushes on its way out; this covers the
        // case where it could not start its final flush.
        if let Err(e) = self.db.flush() {
            tracing::error!(error = %e, "flush on close failed");
        }
    }
}
