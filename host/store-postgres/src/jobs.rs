//! Jobs: a row each, claimed with `FOR UPDATE SKIP LOCKED` so that several
//! servers claiming at once never wait for each other nor share a job.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use jiff::SignedDuration;
use switchboard_core::Timestamp;
use switchboard_store::{Committed, Got, Job, JobDraft, JobOutcome, JobState, JobStore, Lease, StoreError};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::convert::{column, db_id, domain_id, nanos, timestamp};
use crate::store::PgStore;
use crate::tx::{TxError, execute, into_store, next_id, row, rows, transact};

/// The columns a job is read from, in the order [`job_of`] expects.
pub(crate) const COLUMNS: &str =
    "id, queue, key, payload, due_ns, attempts, state, failure, holder, lease_until_ns, created_ns, updated_ns";

/// A job from its row.
pub(crate) fn job_of(r: &Row) -> Result<Job, StoreError> {
    let state: String = column(r, "state")?;
    let state = match state.as_str() {
        "pending" => JobState::Pending,
        "done" => JobState::Done,
        "failed" => JobState::Failed(column::<_, Option<String>>(r, "failure")?.unwrap_or_default()),
        other => return Err(crate::convert::corrupt("job", format!("unknown state \"{other}\""))),
    };
    let holder: Option<String> = column(r, "holder")?;
    let until: Option<i64> = column(r, "lease_until_ns")?;
    let lease = match holder.zip(until) {
        Some((holder, until)) => Some(Lease { holder, until: timestamp(until)? }),
        None => None,
    };
    let attempts: i32 = column(r, "attempts")?;
    Ok(Job {
        id: domain_id(column(r, "id")?)?,
        queue: column(r, "queue")?,
        key: column(r, "key")?,
        payload: column(r, "payload")?,
        due_at: timestamp(column(r, "due_ns")?)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        state,
        lease,
        created_at: timestamp(column(r, "created_ns")?)?,
        updated_at: timestamp(column(r, "updated_ns")?)?,
    })
}

/// Writes what a claim or a finish changed.
pub(crate) async fn save(tx: &Transaction<'_>, job: &Job) -> Result<(), TxError> {
    let (state, failure) = match &job.state {
        JobState::Pending => ("pending", None),
        JobState::Done => ("done", None),
        JobState::Failed(reason) => ("failed", Some(reason.as_str())),
    };
    let holder = job.lease.as_ref().map(|l| l.holder.as_str());
    let until = job.lease.as_ref().map(|l| nanos(l.until)).transpose()?;
    let attempts = i32::try_from(job.attempts).unwrap_or(i32::MAX);
    let sql = "UPDATE jobs SET due_ns = $2, attempts = $3, state = $4, failure = $5, holder = $6,
                      lease_until_ns = $7, updated_ns = $8, payload = $9 WHERE id = $1";
    let params: [&(dyn ToSql + Sync); 9] = [
        &db_id(job.id)?,
        &nanos(job.due_at)?,
        &attempts,
        &state,
        &failure,
        &holder,
        &until,
        &nanos(job.updated_at)?,
        &job.payload,
    ];
    execute(tx, sql, &params).await?;
    Ok(())
}

pub(crate) async fn enqueue_attempt(
    tx: &Transaction<'_>,
    draft: &JobDraft,
    now: Timestamp,
) -> Result<Got<Job>, TxError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE queue = $1 AND key = $2");
    if let Some(found) = row(tx, &sql, &[&draft.queue, &draft.key]).await? {
        return Ok(Got { record: job_of(&found)?, created: false });
    }
    let job = Job::new(next_id(tx, "job_ids").await?, draft.clone(), now);
    let holder = job.lease.as_ref().map(|l| l.holder.as_str());
    let until = job.lease.as_ref().map(|l| nanos(l.until)).transpose()?;
    let attempts = i32::try_from(job.attempts).unwrap_or(i32::MAX);
    let sql = "INSERT INTO jobs (id, queue, key, payload, due_ns, attempts, state, holder, lease_until_ns,
                                 created_ns, updated_ns)
               VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $9) ON CONFLICT DO NOTHING";
    let params: [&(dyn ToSql + Sync); 9] = [
        &db_id(job.id)?,
        &job.queue,
        &job.key,
        &job.payload,
        &nanos(job.due_at)?,
        &attempts,
        &holder,
        &until,
        &nanos(now)?,
    ];
    if execute(tx, sql, &params).await? == 0 {
        // Another caller enqueued the key since the look-up: return theirs.
        return Err(TxError::Retry(format!("job key \"{}\" was taken meanwhile", draft.key)));
    }
    Ok(Got { record: job, created: true })
}

/// The parts of a claim.
struct Claim<'a> {
    queue: &'a str,
    holder: &'a str,
    now: Timestamp,
    lease: SignedDuration,
    limit: usize,
}

async fn claim_attempt(tx: &Transaction<'_>, c: &Claim<'_>) -> Result<Vec<Job>, TxError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM jobs WHERE queue = $1 AND state = 'pending' AND due_ns <= $2
         ORDER BY due_ns, id LIMIT $3 FOR UPDATE SKIP LOCKED"
    );
    let limit = i64::try_from(c.limit).unwrap_or(i64::MAX);
    let mut claimed = Vec::new();
    for found in rows(tx, &sql, &[&c.queue, &nanos(c.now)?, &limit]).await? {
        let mut job = job_of(&found)?;
        job.claim(c.holder, c.now, c.lease);
        save(tx, &job).await?;
        claimed.push(job);
    }
    Ok(claimed)
}

async fn finish_attempt(
    tx: &Transaction<'_>,
    id: u64,
    holder: &str,
    outcome: &JobOutcome,
    now: Timestamp,
) -> Result<Job, TxError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE");
    let Some(found) = row(tx, &sql, &[&db_id(id)?]).await? else {
        return Err(StoreError::UnknownJob(id).into());
    };
    let mut job = job_of(&found)?;
    job.finish(holder, outcome.clone(), now)?;
    save(tx, &job).await?;
    Ok(job)
}

async fn rerun_attempt(tx: &Transaction<'_>, id: u64, now: Timestamp) -> Result<Job, TxError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE");
    let Some(found) = row(tx, &sql, &[&db_id(id)?]).await? else {
        return Err(StoreError::UnknownJob(id).into());
    };
    let mut job = job_of(&found)?;
    job.rerun(now)?;
    save(tx, &job).await?;
    Ok(job)
}

async fn schedule_attempt(tx: &Transaction<'_>, draft: &JobDraft, now: Timestamp) -> Result<Job, TxError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE queue = $1 AND key = $2 FOR UPDATE");
    let Some(found) = row(tx, &sql, &[&draft.queue, &draft.key]).await? else {
        let fresh = JobDraft { held_by: None, ..draft.clone() };
        return enqueue_attempt(tx, &fresh, now).await.map(|got| got.record);
    };
    let mut job = job_of(&found)?;
    job.reschedule(draft.payload.clone(), draft.due_at, now);
    save(tx, &job).await?;
    Ok(job)
}

async fn cancel_attempt(tx: &Transaction<'_>, queue: &str, key: &str, now: Timestamp) -> Result<bool, TxError> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE queue = $1 AND key = $2 FOR UPDATE");
    let Some(found) = row(tx, &sql, &[&queue, &key]).await? else {
        return Ok(false);
    };
    let mut job = job_of(&found)?;
    if !job.cancel(now) {
        return Ok(false);
    }
    save(tx, &job).await?;
    Ok(true)
}

/// `prefix` as a `LIKE` pattern that matches only itself, then anything.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[async_trait]
impl JobStore for PgStore {
    async fn enqueue_job(&self, draft: JobDraft, now: Timestamp) -> Result<Committed<Got<Job>>, StoreError> {
        draft.check()?;
        transact!(self, |tx| enqueue_attempt(&tx, &draft, now)).map(Committed::durable_now)
    }

    async fn claim_jobs(
        &self,
        queue: &str,
        holder: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: usize,
    ) -> Result<Committed<Vec<Job>>, StoreError> {
        let claim = Claim { queue, holder, now, lease, limit };
        transact!(self, |tx| claim_attempt(&tx, &claim)).map(Committed::durable_now)
    }

    async fn finish_job(
        &self,
        id: u64,
        holder: &str,
        outcome: JobOutcome,
        now: Timestamp,
    ) -> Result<Committed<Job>, StoreError> {
        transact!(self, |tx| finish_attempt(&tx, id, holder, &outcome, now)).map(Committed::durable_now)
    }

    async fn job(&self, id: u64) -> Result<Job, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        let found = row(&client, &sql, &[&db_id(id)?]).await.map_err(into_store)?;
        found.as_ref().map(job_of).transpose()?.ok_or(StoreError::UnknownJob(id))
    }

    async fn failed_jobs(&self, queue: &str, key_prefix: &str, limit: usize) -> Result<Vec<Job>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE queue = $1 AND state = 'failed' AND key LIKE $2
             ORDER BY key LIMIT $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let found = rows(&client, &sql, &[&queue, &like_prefix(key_prefix), &limit]).await.map_err(into_store)?;
        found.iter().map(job_of).collect()
    }

    async fn schedule_job(&self, draft: JobDraft, now: Timestamp) -> Result<Committed<Job>, StoreError> {
        draft.check()?;
        transact!(self, |tx| schedule_attempt(&tx, &draft, now)).map(Committed::durable_now)
    }

    async fn cancel_job(&self, queue: &str, key: &str, now: Timestamp) -> Result<Committed<bool>, StoreError> {
        transact!(self, |tx| cancel_attempt(&tx, queue, key, now)).map(Committed::durable_now)
    }

    async fn rerun_job(&self, id: u64, now: Timestamp) -> Result<Committed<Job>, StoreError> {
        transact!(self, |tx| rerun_attempt(&tx, id, now)).map(Committed::durable_now)
    }
}

#[cfg(test)]
mod tests {
    use super::like_prefix;

    #[test]
    fn a_prefix_pattern_matches_its_wildcards_literally() {
        assert_eq!(like_prefix("care/50%_a\\b"), "care/50\\%\\_a\\\\b%");
    }
}
