//! Idempotency records, kept in the transaction of the write they answer.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use switchboard_core::Timestamp;
use switchboard_store::{Committed, Idempotency, IdempotencyRecord, IdempotencyStore, StoreError, StoredAnswer};

use crate::SledResult;
use crate::keys;
use crate::store::SledStore;
use crate::trees::Tree;
use crate::tx::{Tx, TxResult, abort};
use crate::visibility::Trees;

/// The trees an idempotency record lives in; every write that keeps one
/// adds them to its own.
pub(crate) const KEPT: Trees = Trees::of(&[Tree::Idempotency, Tree::IdempotencyExpiry]);

/// A record as stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    fingerprint: [u8; 32],
    status: u16,
    body: String,
    expires_at: Timestamp,
}

impl Stored {
    fn into_record(self) -> IdempotencyRecord {
        IdempotencyRecord {
            fingerprint: self.fingerprint,
            answer: StoredAnswer { status: self.status, body: self.body.into_bytes() },
            expires_at: self.expires_at,
        }
    }
}

impl Tx<'_> {
    /// Aborts if `idem`'s key was used before and has not expired: with
    /// the first answer when the request is the same, with an error when
    /// it is not. Call it before the write.
    pub(crate) fn check_idempotency<T>(&self, idem: Option<&Idempotency<T>>) -> TxResult<()> {
        let Some(idem) = idem else { return Ok(()) };
        let key = keys::idempotency(&idem.scope, &idem.key);
        match self.get::<Stored>(Tree::Idempotency, &key, "idempotency record")? {
            Some(stored) if stored.expires_at > idem.now => {
                if stored.fingerprint == idem.fingerprint {
                    abort(StoreError::Replayed { key: idem.key.clone(), answer: stored.into_record().answer })
                } else {
                    abort(StoreError::KeyReused(idem.key.clone()))
                }
            }
            Some(expired) => {
                self.remove(Tree::IdempotencyExpiry, &keys::idempotency_expiry(expired.expires_at, &key))?;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Keeps the answer to `value` for `idem`'s key. Call it after the
    /// write, in the same transaction.
    pub(crate) fn keep_idempotency<T>(&self, idem: Option<&Idempotency<T>>, value: &T) -> TxResult<()> {
        let Some(idem) = idem else { return Ok(()) };
        let answer = (idem.answer)(value);
        let key = keys::idempotency(&idem.scope, &idem.key);
        let stored = Stored {
            fingerprint: idem.fingerprint,
            status: answer.status,
            body: String::from_utf8_lossy(&answer.body).into_owned(),
            expires_at: idem.expires_at,
        };
        self.put(Tree::Idempotency, &key, &stored)?;
        self.put_raw(Tree::IdempotencyExpiry, &keys::idempotency_expiry(idem.expires_at, &key), &[][..])
    }
}

#[async_trait]
impl IdempotencyStore for SledStore {
    async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let stored: Option<Stored> =
            self.inner.get(Tree::Idempotency, &keys::idempotency(scope, key), "idempotency record")?;
        self.inner.settled(KEPT).await?;
        Ok(stored.filter(|s| s.expires_at > now).map(Stored::into_record))
    }

    async fn expire_idempotency(&self, now: Timestamp) -> Result<Committed<u64>, StoreError> {
        // Expiry keys start with the expiry time, so the expired ones are a
        // prefix of the index: the sweep reads only what it removes.
        let due: Vec<Vec<u8>> = self
            .inner
            .tree(Tree::IdempotencyExpiry)
            .range(..keys::idempotency_expired_by(now))
            .keys()
            .map(|k| k.map(|k| k.to_vec()))
            .collect::<Result<_, _>>()
            .backend()?;
        if due.is_empty() {
            return Ok(Committed::durable_now(0));
        }
        self.write(KEPT, move |tx| {
            for entry in &due {
                tx.remove(Tree::IdempotencyExpiry, entry)?;
                tx.remove(Tree::Idempotency, &entry[8..])?;
            }
            Ok(due.len() as u64)
        })
        .await
    }
}
