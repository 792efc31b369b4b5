//! Thread entries that a channel delivers (an agent's reply sent by mail):
//! the entry and the job that delivers it are written together, so that
//! no reply is recorded without being sent, nor sent without its record.

use std::sync::Arc;

use switchboard_core::{Message, MessageDraft};

use crate::{Got, Job, JobDraft};

/// Builds the job that delivers an entry, once the entry has its id. It
/// may be called more than once (a backend may run a write again), and
/// must give the same job each time.
pub type DeliveryJob = Arc<dyn Fn(&Message) -> JobDraft + Send + Sync>;

/// The thread entry a delivery is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryEntry {
    /// An entry the thread has, by id (an agent's reply a channel sends).
    Existing(u64),
    /// A new entry, written with the job.
    New(MessageDraft),
}

/// What queueing a delivery wrote or found.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// The entry, with its delivery state.
    pub message: Message,
    /// Its job: new, or the one its key had already (then the entry's
    /// delivery state is left as it was).
    pub job: Got<Job>,
}
