//! Jobs: a key index per queue, and an index of pending jobs by the time
//! they may be claimed next, moved in the transaction of every claim and
//! finish.

use async_trait::async_trait;
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use switchboard_core::Timestamp;
use switchboard_store::{Committed, Got, Job, JobDraft, JobOutcome, JobState, JobStore, Lease, StoreError};

use crate::SledResult;
use crate::keys;
use crate::store::SledStore;
use crate::trees::{Sequence, Tree};
use crate::tx::{Tx, TxResult, abort};
use crate::visibility::Trees;

/// What job writes touch.
pub(crate) const WRITE: Trees = Trees::of(&[Tree::Meta, Tree::Jobs, Tree::JobKeys, Tree::JobDue, Tree::JobFailed]);
/// What job reads look at.
const READ: Trees = Trees::of(&[Tree::Jobs, Tree::JobKeys, Tree::JobDue, Tree::JobFailed]);

/// How many times a claim looks again when every job it found was taken by
/// another claimer meanwhile.
const CLAIM_SCANS: usize = 4;

/// A job as stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    id: u64,
    queue: String,
    key: String,
    payload: Vec<u8>,
    due_at: Timestamp,
    attempts: u32,
    done: bool,
    failed: Option<String>,
    holder: Option<String>,
    lease_until: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<&Job> for Stored {
    fn from(j: &Job) -> Self {
        Stored {
            id: j.id,
            queue: j.queue.clone(),
            key: j.key.clone(),
            payload: j.payload.clone(),
            due_at: j.due_at,
            attempts: j.attempts,
            done: j.state == JobState::Done,
            failed: match &j.state {
                JobState::Failed(reason) => Some(reason.clone()),
                _ => None,
            },
            holder: j.lease.as_ref().map(|l| l.holder.clone()),
            lease_until: j.lease.as_ref().map(|l| l.until),
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

impl From<Stored> for Job {
    fn from(s: Stored) -> Self {
        let state = match (s.done, s.failed) {
            (true, _) => JobState::Done,
            (false, Some(reason)) => JobState::Failed(reason),
            (false, None) => JobState::Pending,
        };
        let lease = s.holder.zip(s.lease_until).map(|(holder, until)| Lease { holder, until });
        Job {
            id: s.id,
            queue: s.queue,
            key: s.key,
            payload: s.payload,
            due_at: s.due_at,
            attempts: s.attempts,
            state,
            lease,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

impl Tx<'_> {
    pub(crate) fn job(&self, id: u64) -> TxResult<Job> {
        match self.get::<Stored>(Tree::Jobs, &keys::id(id), "job")? {
            Some(stored) => Ok(stored.into()),
            None => abort(StoreError::UnknownJob(id)),
        }
    }

    /// Enqueues a job unless its queue has one with its key, which then
    /// comes back unchanged.
    pub(crate) fn enqueue(&self, draft: &JobDraft, now: Timestamp) -> TxResult<Got<Job>> {
        let index = keys::job_key(&draft.queue, &draft.key);
        if let Some(id) = self.id_at(Tree::JobKeys, &index)? {
            return Ok(Got { record: self.job(id)?, created: false });
        }
        let job = Job::new(self.next_id(Sequence::Job)?, draft.clone(), now);
        self.put_raw(Tree::JobKeys, &index, keys::id(job.id).as_slice())?;
        self.put_job(None, &job)?;
        Ok(Got { record: job, created: true })
    }

    /// Writes a job and moves its place in the due index from where `old`
    /// had it (a pending job is in it; a finished one is not), and in the
    /// index of failed jobs.
    pub(crate) fn put_job(&self, old: Option<&Job>, job: &Job) -> TxResult<()> {
        if let Some(old) = old.filter(|o| o.state == JobState::Pending) {
            self.remove(Tree::JobDue, &keys::job_due(&old.queue, old.due_at, old.id))?;
        }
        if job.state == JobState::Pending {
            self.put_raw(Tree::JobDue, &keys::job_due(&job.queue, job.due_at, job.id), &[][..])?;
        }
        let failed = |j: &Job| matches!(j.state, JobState::Failed(_));
        if old.is_some_and(failed) && !failed(job) {
            self.remove(Tree::JobFailed, &keys::job_key(&job.queue, &job.key))?;
        }
        if failed(job) {
            self.put_raw(Tree::JobFailed, &keys::job_key(&job.queue, &job.key), keys::id(job.id).as_slice())?;
        }
        self.put(Tree::Jobs, &keys::id(job.id), &Stored::from(job))
    }
}

#[async_trait]
impl JobStore for SledStore {
    async fn enqueue_job(&self, draft: JobDraft, now: Timestamp) -> Result<Committed<Got<Job>>, StoreError> {
        draft.check()?;
        self.write(WRITE, move |tx| tx.enqueue(&draft, now)).await
    }

    async fn claim_jobs(
        &self,
        queue: &str,
        holder: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: usize,
    ) -> Result<Committed<Vec<Job>>, StoreError> {
        let (start, end) = (keys::team_prefix(queue), keys::job_due_until(queue, now));
        for _ in 0..CLAIM_SCANS {
            let due: Vec<u64> = self
                .inner
                .tree(Tree::JobDue)
                .range(start.clone()..=end.clone())
                .keys()
                .take(limit)
                .map(|k| k.map(|k| k.len().checked_sub(8).and_then(|at| keys::read_id(&k[at..])).unwrap_or(0)))
                .collect::<Result<_, _>>()
                .backend()?;
            if due.is_empty() {
                return Ok(Committed::durable_now(Vec::new()));
            }
            let holder = holder.to_owned();
            let claimed = self
                .write(WRITE, move |tx| {
                    let mut claimed = Vec::new();
                    for &id in &due {
                        let old = tx.job(id)?;
                        // Another claimer may have taken it since the scan.
                        if !old.claimable(now) {
                            continue;
                        }
                        let mut job = old.clone();
                        job.claim(&holder, now, lease);
                        tx.put_job(Some(&old), &job)?;
                        claimed.push(job);
                    }
                    Ok(claimed)
                })
                .await?;
            let (jobs, durability) = claimed.split();
            if !jobs.is_empty() {
                return Ok(Committed::pending(jobs, durability));
            }
            durability.wait().await?;
        }
        Ok(Committed::durable_now(Vec::new()))
    }

    async fn finish_job(
        &self,
        id: u64,
        holder: &str,
        outcome: JobOutcome,
        now: Timestamp,
    ) -> Result<Committed<Job>, StoreError> {
        let holder = holder.to_owned();
        self.write(WRITE, move |tx| {
            let old = tx.job(id)?;
            let mut job = old.clone();
            if let Err(e) = job.finish(&holder, outcome.clone(), now) {
                return abort(e);
            }
            tx.put_job(Some(&old), &job)?;
            Ok(job)
        })
        .await
    }

    async fn job(&self, id: u64) -> Result<Job, StoreError> {
        let stored = self.inner.get::<Stored>(Tree::Jobs, &keys::id(id), "job");
        self.read(READ, stored).await?.map(Job::from).ok_or(StoreError::UnknownJob(id))
    }

    async fn failed_jobs(&self, queue: &str, key_prefix: &str, limit: usize) -> Result<Vec<Job>, StoreError> {
        let ids: Vec<u64> = self
            .inner
            .tree(Tree::JobFailed)
            .scan_prefix(keys::job_key(queue, key_prefix))
            .values()
            .take(limit)
            .map(|v| v.map(|v| keys::read_id(&v).unwrap_or(0)))
            .collect::<Result<_, _>>()
            .backend()?;
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            let stored = self.inner.get::<Stored>(Tree::Jobs, &keys::id(id), "job");
            if let Some(job) = self.read(READ, stored).await?.map(Job::from) {
                jobs.push(job);
            }
        }
        Ok(jobs)
    }

    async fn schedule_job(&self, draft: JobDraft, now: Timestamp) -> Result<Committed<Job>, StoreError> {
        draft.check()?;
        self.write(WRITE, move |tx| {
            let index = keys::job_key(&draft.queue, &draft.key);
            let Some(id) = tx.id_at(Tree::JobKeys, &index)? else {
                let fresh = JobDraft { held_by: None, ..draft.clone() };
                return tx.enqueue(&fresh, now).map(|got| got.record);
            };
            let old = tx.job(id)?;
            let mut job = old.clone();
            job.reschedule(draft.payload.clone(), draft.due_at, now);
            tx.put_job(Some(&old), &job)?;
            Ok(job)
        })
        .await
    }

    async fn cancel_job(&self, queue: &str, key: &str, now: Timestamp) -> Result<Committed<bool>, StoreError> {
        let index = keys::job_key(queue, key);
        self.write(WRITE, move |tx| {
            let Some(id) = tx.id_at(Tree::JobKeys, &index)? else { return Ok(false) };
            let old = tx.job(id)?;
            let mut job = old.clone();
            if !job.cancel(now) {
                return Ok(false);
            }
            tx.put_job(Some(&old), &job)?;
            Ok(true)
        })
        .await
    }

    async fn rerun_job(&self, id: u64, now: Timestamp) -> Result<Committed<Job>, StoreError> {
        self.write(WRITE, move |tx| {
            let old = tx.job(id)?;
            let mut job = old.clone();
            if let Err(e) = job.rerun(now) {
                return abort(e);
            }
            tx.put_job(Some(&old), &job)?;
            Ok(job)
        })
        .await
    }
}
