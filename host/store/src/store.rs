//! The storage trait the server calls.

use switchboard_core::{
    Author, Contact, ContactDraft, Installation, Message, MessageDraft, PluginRecord, Priority, Role, StageId, Team,
    Ticket, TicketDraft, TicketId, Timestamp, User, UserId,
};

use crate::{Committed, StoreError};

/// Which of a team's tickets to list. Lists are always sorted by priority,
/// highest first, then oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Only tickets in this stage.
    pub stage: Option<StageId>,
    /// Only tickets of this priority.
    pub priority: Option<Priority>,
    /// Only tickets whose SLA is (or is not) breached.
    pub breached: Option<bool>,
    /// Skip this many matching tickets.
    pub offset: usize,
    /// Return at most this many.
    pub limit: usize,
}

/// The fields of a ticket an agent may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketEdit {
    /// A new title.
    pub title: Option<String>,
    /// A new priority.
    pub priority: Option<Priority>,
    /// A new stage.
    pub stage: Option<StageId>,
}

/// Counters that show group commit at work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Flushes (fsyncs) done so far.
    pub flushes: u64,
    /// Writes that asked to be made durable.
    pub durable_writes: u64,
}

/// Switchboard's persistence use cases. Every write checks the domain rules
/// and updates its indexes in one transaction, and returns a [`Committed`]
/// that resolves once the write is on disk.
pub trait Store: Send + Sync + 'static {
    /// Creates a team; its slug and alias must be free.
    fn create_team(&self, team: Team) -> Result<Committed<Team>, StoreError>;
    /// The team with this slug.
    fn team(&self, slug: &str) -> Result<Team, StoreError>;
    /// Every team, by slug.
    fn teams(&self) -> Result<Vec<Team>, StoreError>;
    /// The team whose alias is this local part, if any.
    fn team_by_alias(&self, alias: &str) -> Result<Option<Team>, StoreError>;
    /// Applies `edit` to a team. The slug cannot change; a changed alias
    /// must be free.
    fn update_team(
        &self,
        slug: &str,
        edit: &mut dyn FnMut(&mut Team) -> Result<(), switchboard_core::CoreError>,
    ) -> Result<Committed<Team>, StoreError>;
    /// Removes a stage that holds no tickets.
    fn remove_stage(&self, slug: &str, stage: StageId) -> Result<Committed<Team>, StoreError>;
    /// How many tickets are in each of a team's stages.
    fn stage_counts(&self, slug: &str) -> Result<Vec<(StageId, u64)>, StoreError>;

    /// Opens a ticket in a team, finding or creating its contact, and
    /// writes a "created" event into its thread by `author`.
    fn create_ticket(
        &self,
        slug: &str,
        draft: TicketDraft,
        contact: Option<ContactDraft>,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Ticket>, StoreError>;
    /// The ticket with this id.
    fn ticket(&self, id: TicketId) -> Result<Ticket, StoreError>;
    /// A team's tickets in list order.
    fn tickets(&self, slug: &str, filter: &TicketFilter) -> Result<Vec<Ticket>, StoreError>;
    /// Changes a ticket and writes each change into its thread as an event
    /// by `author`.
    fn update_ticket(
        &self,
        id: TicketId,
        edit: &TicketEdit,
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Ticket>, StoreError>;
    /// Adds a message to a ticket's thread.
    fn append_message(
        &self,
        id: TicketId,
        draft: MessageDraft,
        now: Timestamp,
    ) -> Result<Committed<Message>, StoreError>;
    /// A ticket's thread, oldest first.
    fn messages(&self, id: TicketId) -> Result<Vec<Message>, StoreError>;
    /// Marks every running SLA whose deadline passed by `now` as breached
    /// and returns the tickets affected.
    fn breach_overdue(&self, now: Timestamp) -> Result<Committed<Vec<TicketId>>, StoreError>;

    /// Finds the contact owning one of the draft's e-mails or phones and
    /// adds what it did not know, or creates a new contact.
    fn upsert_contact(&self, draft: ContactDraft, now: Timestamp) -> Result<Committed<Contact>, StoreError>;
    /// The contact with this id.
    fn contact(&self, id: u64) -> Result<Contact, StoreError>;
    /// The contact that owns this e-mail address or phone number.
    fn find_contact(&self, email: Option<&str>, phone: Option<&str>) -> Result<Option<Contact>, StoreError>;

    /// Creates a user holding a token with this hash.
    fn create_user(
        &self,
        name: &str,
        role: Role,
        token_hash: String,
        now: Timestamp,
    ) -> Result<Committed<User>, StoreError>;
    /// The user holding the token with this hash.
    fn user_by_token(&self, token_hash: &str) -> Result<Option<User>, StoreError>;
    /// The user with this id.
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// Every user, by id.
    fn users(&self) -> Result<Vec<User>, StoreError>;

    /// The ticket that `origin` opened in a team with this external key.
    fn ticket_by_external_key(&self, slug: &str, origin: &str, key: &str) -> Result<Option<Ticket>, StoreError>;
    /// Sets or removes custom fields of a ticket, writing the change into
    /// its thread by `author`.
    fn set_ticket_fields(
        &self,
        id: TicketId,
        fields: &[(String, String)],
        author: Author,
        now: Timestamp,
    ) -> Result<Committed<Ticket>, StoreError>;

    /// Installs a plugin or replaces its manifest and component, keeping
    /// when it was first installed and where it is enabled.
    fn put_plugin(&self, record: PluginRecord, code: Vec<u8>) -> Result<Committed<PluginRecord>, StoreError>;
    /// The installed plugin with this id.
    fn plugin(&self, id: &str) -> Result<PluginRecord, StoreError>;
    /// Every installed plugin, by id.
    fn plugins(&self) -> Result<Vec<PluginRecord>, StoreError>;
    /// A plugin's component.
    fn plugin_code(&self, id: &str) -> Result<Vec<u8>, StoreError>;
    /// Uninstalls a plugin that no team has enabled.
    fn remove_plugin(&self, id: &str) -> Result<Committed<()>, StoreError>;

    /// Enables a plugin for a team, or replaces its settings and grants.
    /// Grants must have been requested by the plugin's manifest.
    fn put_installation(&self, installation: Installation) -> Result<Committed<Installation>, StoreError>;
    /// A team's installation of a plugin.
    fn installation(&self, slug: &str, plugin: &str) -> Result<Installation, StoreError>;
    /// Every plugin enabled for a team.
    fn installations(&self, slug: &str) -> Result<Vec<Installation>, StoreError>;
    /// Disables a plugin for a team. Its storage is kept for a re-enable.
    fn remove_installation(&self, slug: &str, plugin: &str) -> Result<Committed<()>, StoreError>;

    /// A value in an installation's storage.
    fn kv_get(&self, slug: &str, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores a value in an installation's storage.
    fn kv_set(&self, slug: &str, plugin: &str, key: &str, value: Vec<u8>) -> Result<Committed<()>, StoreError>;
    /// Removes a value from an installation's storage.
    fn kv_delete(&self, slug: &str, plugin: &str, key: &str) -> Result<Committed<()>, StoreError>;
    /// The keys of an installation's storage that start with `prefix`.
    fn kv_keys(&self, slug: &str, plugin: &str, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Group-commit counters.
    fn stats(&self) -> StoreStats;

    /// Runs `writes`, which makes writes through the store it is given, so
    /// that they all commit together in one transaction: cheaper than one
    /// each (see [`crate::Writer`]). Each write's value comes back as it is
    /// made, and its [`Committed`] resolves once the whole batch is on disk.
    ///
    /// `writes` returns whether every write it meant to make was made. If
    /// not, or if a write fails (a rule refuses it, say), nothing of the
    /// batch is kept and the answer is `Ok(false)`: the caller then makes
    /// the writes one by one, so that one write's failure stays its own.
    /// `writes` may run more than once, after a conflict; only its last
    /// run counts. Reads made outside a write do not see the batch's
    /// writes until it has committed.
    fn write_batch(&self, writes: &mut dyn FnMut(&dyn Store) -> bool) -> Result<bool, StoreError>;
}
