//! Work that must happen once (a robot run, a mail to send, a reply to
//! deliver), claimed with leases, so that of several servers one does it,
//! and a server that dies mid-job leaves it to another once its lease ends.

use async_trait::async_trait;
use jiff::SignedDuration;
use switchboard_core::Timestamp;

use crate::{Committed, Got, StoreError};

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDraft {
    /// The queue it belongs to, such as `robot-runs` or `mail`: each worker
    /// claims from one queue.
    pub queue: String,
    /// A key unique in the queue, so that enqueueing the same work twice
    /// (a retried request, a redelivered webhook) makes one job.
    pub key: String,
    /// What the worker needs, in the worker's own encoding.
    pub payload: Vec<u8>,
    /// When it may run first.
    pub due_at: Timestamp,
    /// Claimed at once by this holder until the lease ends, for work the
    /// enqueuer starts itself (a mail the SMTP session hands to its plugin
    /// at once): no other worker takes it while the lease lasts, and
    /// another takes it over if the enqueuer dies before finishing it.
    pub held_by: Option<Lease>,
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting to be claimed, or claimed and running under a lease.
    Pending,
    /// Finished.
    Done,
    /// Given up on, for this reason.
    Failed(String),
}

/// Who holds a job, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker that claimed it (a server's name, say).
    pub holder: String,
    /// When the lease ends and another worker may claim the job.
    pub until: Timestamp,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id.
    pub id: u64,
    /// Its queue.
    pub queue: String,
    /// Its key in the queue.
    pub key: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// When it may be claimed next: its due time, or when its lease ends.
    pub due_at: Timestamp,
    /// How many times it was claimed.
    pub attempts: u32,
    /// Where it stands.
    pub state: JobState,
    /// The last claim's lease; it has run out once `until` has passed.
    pub lease: Option<Lease>,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// How a claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It is done.
    Done,
    /// It failed in a way that may pass: run it again from `at`.
    Retry {
        /// When to run it again.
        at: Timestamp,
        /// Why it failed this time.
        reason: String,
    },
    /// It failed in a way that may pass, and its next attempt needs
    /// another payload (a robot run counts its attempts in it): run it
    /// again from `at` with `payload`, its claims counted from zero, so
    /// that a claim that finds more than one knows an attempt since this
    /// one never reported back.
    Again {
        /// When to run it again.
        at: Timestamp,
        /// Why it failed this time.
        reason: String,
        /// The payload of the next attempt.
        payload: Vec<u8>,
    },
    /// It failed for good.
    Failed(String),
}

/// Jobs. A queue's key belongs to one job; a job is claimed by one worker
/// at a time.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues a job, unless its queue has one with its key: then that
    /// job comes back, unchanged.
    async fn enqueue_job(&self, draft: JobDraft, now: Timestamp) -> Result<Committed<Got<Job>>, StoreError>;

    /// Claims up to `limit` pending jobs of `queue` that are due by `now`
    /// and whose last lease (if any) has run out, for `holder` until
    /// `now + lease`, oldest due first; each claim counts an attempt. Of
    /// concurrent claimers, each job goes to one.
    async fn claim_jobs(
        &self,
        queue: &str,
        holder: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: usize,
    ) -> Result<Committed<Vec<Job>>, StoreError>;

    /// Records how a claimed job ended. Refused with
    /// [`StoreError::LeaseLost`] unless `holder` holds its lease and the
    /// lease has not run out by `now`: another worker may have the job.
    async fn finish_job(
        &self,
        id: u64,
        holder: &str,
        outcome: JobOutcome,
        now: Timestamp,
    ) -> Result<Committed<Job>, StoreError>;

    /// The job with this id.
    async fn job(&self, id: u64) -> Result<Job, StoreError>;

    /// Up to `limit` jobs of `queue` that failed for good and whose key
    /// starts with `key_prefix`, by key; the work is proportional to the
    /// failed jobs listed, not to the queue's history.
    async fn failed_jobs(&self, queue: &str, key_prefix: &str, limit: usize) -> Result<Vec<Job>, StoreError>;

    /// Schedules the job of `draft`'s queue and key for `draft.due_at` with
    /// its payload: a new job, or the one the key has, whatever its state
    /// (see [`Job::reschedule`]). For timers: one callback per key, at the
    /// time last set. `held_by` is not used.
    async fn schedule_job(&self, draft: JobDraft, now: Timestamp) -> Result<Committed<Job>, StoreError>;

    /// Cancels the job of `queue` with `key` unless it has finished (see
    /// [`Job::cancel`]); says whether there was one to cancel.
    async fn cancel_job(&self, queue: &str, key: &str, now: Timestamp) -> Result<Committed<bool>, StoreError>;

    /// Makes a job that failed for good pending again, due at `now`, with
    /// its attempts counted from zero. Refused with
    /// [`StoreError::JobNotFailed`] when it did not fail.
    async fn rerun_job(&self, id: u64, now: Timestamp) -> Result<Committed<Job>, StoreError>;
}

/// The longest queue name or key, in bytes.
const MAX_NAME: usize = 200;

impl JobDraft {
    /// Checks the queue and the key: each non-empty, at most 200 bytes,
    /// and without a zero byte (which backends may use as a separator).
    pub fn check(&self) -> Result<(), StoreError> {
        for (field, value) in [("queue", &self.queue), ("key", &self.key)] {
            let problem = if value.is_empty() {
                Some("must not be empty".to_owned())
            } else if value.len() > MAX_NAME {
                Some(format!("is {} bytes; the most is {MAX_NAME}", value.len()))
            } else if value.contains('\0') {
                Some("must not contain a zero byte".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(switchboard_core::CoreError::invalid(field, problem).into());
            }
        }
        Ok(())
    }
}

impl Job {
    /// A new pending job from a draft; held by its enqueuer if the draft
    /// says so, which counts as its first attempt.
    pub fn new(id: u64, draft: JobDraft, now: Timestamp) -> Job {
        let due_at = draft.held_by.as_ref().map_or(draft.due_at, |l| l.until);
        Job {
            id,
            queue: draft.queue,
            key: draft.key,
            payload: draft.payload,
            due_at,
            attempts: u32::from(draft.held_by.is_some()),
            state: JobState::Pending,
            lease: draft.held_by,
            created_at: now,
            updated_at: now,
        }
    }

    /// Makes a failed job pending again, due at `now`.
    pub fn rerun(&mut self, now: Timestamp) -> Result<(), StoreError> {
        if !matches!(self.state, JobState::Failed(_)) {
            return Err(StoreError::JobNotFailed(self.id));
        }
        self.state = JobState::Pending;
        self.due_at = now;
        self.attempts = 0;
        self.lease = None;
        self.updated_at = now;
        Ok(())
    }

    /// Schedules it again for `due_at` with `payload`, whatever it was: a
    /// pending job moves, a running one loses its lease (so the running
    /// worker's outcome is refused and the new time stands), a finished or
    /// failed one is pending again. Attempts count from zero.
    pub fn reschedule(&mut self, payload: Vec<u8>, due_at: Timestamp, now: Timestamp) {
        self.payload = payload;
        self.state = JobState::Pending;
        self.due_at = due_at;
        self.attempts = 0;
        self.lease = None;
        self.updated_at = now;
    }

    /// Cancels it unless it has finished: it will not run (again), and a
    /// running worker's outcome is refused. A cancelled job is done. Says
    /// whether there was something to cancel.
    pub fn cancel(&mut self, now: Timestamp) -> bool {
        if self.state != JobState::Pending {
            return false;
        }
        self.state = JobState::Done;
        self.lease = None;
        self.updated_at = now;
        true
    }

    /// Whether a worker may claim it at `now`.
    pub fn claimable(&self, now: Timestamp) -> bool {
        self.state == JobState::Pending && self.due_at <= now
    }

    /// Claims it for `holder` until `now + lease`.
    pub fn claim(&mut self, holder: &str, now: Timestamp, lease: SignedDuration) {
        let until = now + lease;
        self.lease = Some(Lease { holder: holder.to_owned(), until });
        self.due_at = until;
        self.attempts += 1;
        self.updated_at = now;
    }

    /// Applies `outcome` if `holder` holds a live lease at `now`.
    pub fn finish(&mut self, holder: &str, outcome: JobOutcome, now: Timestamp) -> Result<(), StoreError> {
        let held =
            self.state == JobState::Pending && self.lease.as_ref().is_some_and(|l| l.holder == holder && l.until > now);
        if !held {
            return Err(StoreError::LeaseLost { job: self.id, holder: holder.to_owned() });
        }
        match outcome {
            JobOutcome::Done => self.state = JobState::Done,
            JobOutcome::Failed(reason) => self.state = JobState::Failed(reason),
            JobOutcome::Retry { at, .. } => self.due_at = at,
            JobOutcome::Again { at, payload, .. } => {
                self.due_at = at;
                self.payload = payload;
                self.attempts = 0;
            }
        }
        self.lease = None;
        self.updated_at = now;
        Ok(())
    }
}
