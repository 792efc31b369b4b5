//! The inputs and outputs of the store's use cases that are not domain
//! records themselves.

use std::sync::Arc;

use switchboard_core::{CoreError, Priority, StageId, Team, Timestamp};

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
/// All of them change in one write, or none does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketEdit {
    /// A new title.
    pub title: Option<String>,
    /// A new priority.
    pub priority: Option<Priority>,
    /// A new stage.
    pub stage: Option<StageId>,
    /// Custom fields to set; an empty value removes a field.
    pub fields: Option<Vec<(String, String)>>,
    /// A new assignee: `Some(None)` unassigns.
    pub assignee: Option<Option<switchboard_core::Assignee>>,
}

impl TicketEdit {
    /// An edit that only sets custom fields.
    pub fn fields(fields: Vec<(String, String)>) -> Self {
        TicketEdit { fields: Some(fields), ..TicketEdit::default() }
    }
}

/// A change to a team, applied to the stored team inside the write. It may
/// run more than once (a backend retries a transaction that met a
/// conflict), so it must only change the team it is given.
pub type TeamEdit = Arc<dyn Fn(&mut Team) -> Result<(), CoreError> + Send + Sync>;

/// The result of [`crate::TicketStore::create_or_get_ticket`].
#[derive(Debug, Clone, PartialEq)]
pub struct Got<T> {
    /// The record: new, or the one that was there.
    pub record: T,
    /// Whether this call created it.
    pub created: bool,
}

/// An API answer kept for an idempotency key: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as sent.
    pub body: Vec<u8>,
}

/// An `Idempotency-Key` given with a write. The backend checks the key and
/// keeps the answer in the same transaction as the write, so that a retry
/// after a crash, a timeout or a dropped connection finds either both or
/// neither.
pub struct Idempotency<T> {
    /// Whose key it is, such as `user 3`: keys of different callers never
    /// meet.
    pub scope: String,
    /// The key the client sent.
    pub key: String,
    /// A hash of the request (method, path, body); a retry must match it.
    pub fingerprint: [u8; 32],
    /// The time of the request: records that expired by then count as
    /// absent.
    pub now: Timestamp,
    /// When the record kept for this request expires.
    pub expires_at: Timestamp,
    /// Renders the answer the client gets for the write's value.
    pub answer: Arc<dyn Fn(&T) -> StoredAnswer + Send + Sync>,
}

impl<T> Clone for Idempotency<T> {
    fn clone(&self) -> Self {
        Idempotency {
            scope: self.scope.clone(),
            key: self.key.clone(),
            fingerprint: self.fingerprint,
            now: self.now,
            expires_at: self.expires_at,
            answer: Arc::clone(&self.answer),
        }
    }
}

impl<T> std::fmt::Debug for Idempotency<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency").field("scope", &self.scope).field("key", &self.key).finish_non_exhaustive()
    }
}

/// What is kept for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The hash of the first request.
    pub fingerprint: [u8; 32],
    /// Its answer.
    pub answer: StoredAnswer,
    /// When the record expires.
    pub expires_at: Timestamp,
}
