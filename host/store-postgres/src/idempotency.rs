//! Idempotency records, kept in the transaction of the write they answer.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use switchboard_core::Timestamp;
use switchboard_store::{Committed, Idempotency, IdempotencyRecord, IdempotencyStore, StoreError, StoredAnswer};
use tokio_postgres::Row;

use crate::convert::{column, corrupt, nanos, timestamp};
use crate::store::PgStore;
use crate::tx::{TxError, execute, into_store, row, transact};

/// A stored record read back.
fn stored(found: &Row) -> Result<IdempotencyRecord, StoreError> {
    let fingerprint: Vec<u8> = column(found, "fingerprint")?;
    let status: i32 = column(found, "status")?;
    Ok(IdempotencyRecord {
        fingerprint: fingerprint
            .try_into()
            .map_err(|_| corrupt("idempotency record", "fingerprint is not 32 bytes".to_owned()))?,
        answer: StoredAnswer {
            status: u16::try_from(status).map_err(|_| corrupt("idempotency record", format!("status {status}")))?,
            body: column(found, "body")?,
        },
        expires_at: timestamp(column(found, "expires_ns")?)?,
    })
}

/// Refuses the write if `idem`'s key was used before and has not expired:
/// with the first answer when the request is the same, with an error when
/// it is not. Call it before the write.
pub(crate) async fn check_idempotency<T>(tx: &Transaction<'_>, idem: Option<&Idempotency<T>>) -> Result<(), TxError> {
    let Some(idem) = idem else { return Ok(()) };
    let sql = "SELECT fingerprint, status, body, expires_ns FROM idempotency
               WHERE scope = $1 AND key = $2 AND expires_ns > $3";
    let Some(found) = row(tx, sql, &[&idem.scope, &idem.key, &nanos(idem.now)?]).await? else {
        return Ok(());
    };
    let record = stored(&found)?;
    if record.fingerprint == idem.fingerprint {
        Err(StoreError::Replayed { key: idem.key.clone(), answer: record.answer }.into())
    } else {
        Err(StoreError::KeyReused(idem.key.clone()).into())
    }
}

/// Keeps the answer to `value` for `idem`'s key, in the write's own
/// transaction. A live record that another request wrote since the check
/// makes the write run again, and that attempt replays it.
pub(crate) async fn keep_idempotency<T>(
    tx: &Transaction<'_>,
    idem: Option<&Idempotency<T>>,
    value: &T,
) -> Result<(), TxError> {
    let Some(idem) = idem else { return Ok(()) };
    let answer = (idem.answer)(value);
    let sql = "INSERT INTO idempotency (scope, key, fingerprint, status, body, expires_ns)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (scope, key) DO UPDATE
                   SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
                       body = EXCLUDED.body, expires_ns = EXCLUDED.expires_ns
                   WHERE idempotency.expires_ns <= $7";
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
        &idem.scope,
        &idem.key,
        &idem.fingerprint.as_slice(),
        &i32::from(answer.status),
        &answer.body,
        &nanos(idem.expires_at)?,
        &nanos(idem.now)?,
    ];
    if execute(tx, sql, &params).await? == 0 {
        return Err(TxError::Retry(format!("idempotency key \"{}\" was taken meanwhile", idem.key)));
    }
    Ok(())
}

async fn expire_attempt(tx: &Transaction<'_>, now: Timestamp) -> Result<u64, TxError> {
    execute(tx, "DELETE FROM idempotency WHERE expires_ns <= $1", &[&nanos(now)?]).await
}

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let client = self.client().await.map_err(into_store)?;
        let sql = "SELECT fingerprint, status, body, expires_ns FROM idempotency
                   WHERE scope = $1 AND key = $2 AND expires_ns > $3";
        let found = row(&client, sql, &[&scope, &key, &nanos(now)?]).await.map_err(into_store)?;
        found.as_ref().map(stored).transpose()
    }

    async fn expire_idempotency(&self, now: Timestamp) -> Result<Committed<u64>, StoreError> {
        transact!(self, |tx| expire_attempt(&tx, now)).map(Committed::durable_now)
    }
}
