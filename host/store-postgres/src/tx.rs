//! Transactions that run again when they meet another's write, and the
//! statements they are made of.
//!
//! Every write use case is an `attempt`: an async function that takes a
//! transaction and returns [`TxError::Retry`] when it met a row another
//! transaction wrote (a unique constraint, a serialization failure, a
//! deadlock). `transact!` runs an attempt in a fresh
//! transaction, commits it, and runs it again after such a conflict, at
//! most [`MAX_ATTEMPTS`] times: the next attempt reads the row that got in
//! the way and answers from it (the ticket that has the key, the team that
//! has the alias). Any other error rolls the transaction back and is
//! returned as it is.

use std::time::Duration;

use deadpool_postgres::GenericClient;
use switchboard_core::CoreError;
use switchboard_store::StoreError;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

/// How many times a use case runs before a persisting conflict is
/// reported. Each conflict means another transaction committed, so the
/// bound is only reached under a storm of writes to the same rows.
pub(crate) const MAX_ATTEMPTS: u32 = 12;

/// Why an attempt did not commit.
#[derive(Debug)]
pub(crate) enum TxError {
    /// A rule or lookup refused the write: returned as it is.
    Store(StoreError),
    /// Another transaction wrote what this one needed: run it again.
    Retry(String),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

impl From<CoreError> for TxError {
    fn from(e: CoreError) -> Self {
        TxError::Store(e.into())
    }
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        let conflict =
            [SqlState::T_R_SERIALIZATION_FAILURE, SqlState::T_R_DEADLOCK_DETECTED, SqlState::UNIQUE_VIOLATION];
        match e.code() {
            Some(code) if conflict.contains(code) => TxError::Retry(e.to_string()),
            _ => TxError::Store(backend_error(&e)),
        }
    }
}

impl From<deadpool_postgres::PoolError> for TxError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        TxError::Store(StoreError::Unavailable(format!("no database connection: {e}")))
    }
}

/// A database error as the store reports it: a lost connection means the
/// database is unavailable (the outcome of a commit in flight is unknown,
/// so it is never retried); anything else is a backend failure.
pub(crate) fn backend_error(e: &tokio_postgres::Error) -> StoreError {
    if e.is_closed() || e.code().is_none() {
        StoreError::Unavailable(format!("database connection failed: {e}"))
    } else {
        StoreError::Backend(format!("database error: {e}"))
    }
}

/// What to do with an attempt's outcome.
pub(crate) enum Settled<T> {
    /// Return this.
    Done(Result<T, StoreError>),
    /// Run the attempt again.
    Again,
}

/// Decides whether `outcome`, the `attempts`-th, ends the use case.
pub(crate) fn settle<T>(outcome: Result<T, TxError>, attempts: u32) -> Settled<T> {
    match outcome {
        Ok(value) => Settled::Done(Ok(value)),
        Err(TxError::Store(e)) => Settled::Done(Err(e)),
        Err(TxError::Retry(why)) if attempts < MAX_ATTEMPTS => {
            tracing::debug!(attempts, %why, "transaction met a concurrent write; running it again");
            Settled::Again
        }
        Err(TxError::Retry(why)) => Settled::Done(Err(StoreError::Backend(format!(
            "transaction still conflicted after {attempts} attempts: {why}"
        )))),
    }
}

/// Waits a little before the next attempt, longer after each conflict and
/// by an amount that differs between callers, so that transactions that
/// collided do not collide again in step.
pub(crate) async fn backoff(attempts: u32) {
    let spread = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1000)
        .unwrap_or(0);
    let micros = (100u64 << attempts.min(8)) + u64::from(spread);
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

/// Runs `$attempt` (an expression using the transaction `$tx`) in a
/// transaction of `$store`'s pool, commits it, and runs it again after a
/// conflict (see the module docs). Evaluates to `Result<T, StoreError>`.
macro_rules! transact {
    ($store:expr, |$tx:ident| $attempt:expr) => {{
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let outcome = async {
                let mut client = $store.client().await?;
                let $tx = client.transaction().await?;
                let value = $attempt.await?;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match $crate::tx::settle(outcome, attempts) {
                $crate::tx::Settled::Done(result) => {
                    if result.is_ok() {
                        $store.count_commit();
                    }
                    break result;
                }
                $crate::tx::Settled::Again => {
                    $store.count_retry();
                    $crate::tx::backoff(attempts).await
                }
            }
        }
    }};
}
pub(crate) use transact;

/// A prepared statement for `sql`, from the connection's cache: each
/// statement is parsed once per connection, not once per call.
async fn statement<C: GenericClient>(db: &C, sql: &str) -> Result<Statement, TxError> {
    Ok(db.prepare_cached(sql).await?)
}

/// The rows `sql` returns.
pub(crate) async fn rows<C: GenericClient>(
    db: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, TxError> {
    let statement = statement(db, sql).await?;
    Ok(db.query(&statement, params).await?)
}

/// The row `sql` returns, if any; more than one is an error.
pub(crate) async fn row<C: GenericClient>(
    db: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, TxError> {
    let statement = statement(db, sql).await?;
    Ok(db.query_opt(&statement, params).await?)
}

/// Runs `sql` and says how many rows it changed.
pub(crate) async fn execute<C: GenericClient>(
    db: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, TxError> {
    let statement = statement(db, sql).await?;
    Ok(db.execute(&statement, params).await?)
}

/// The next value of an id sequence. Values taken by a transaction that
/// rolls back are not reused: ids increase but are not dense.
pub(crate) async fn next_id<C: GenericClient>(db: &C, sequence: &str) -> Result<u64, TxError> {
    let sql = format!("SELECT nextval('{sequence}')");
    let found = row(db, &sql, &[]).await?;
    let found = found.ok_or_else(|| StoreError::Backend(format!("sequence {sequence} returned nothing")))?;
    Ok(crate::convert::domain_id(crate::convert::column(&found, 0)?)?)
}

/// An error outside a transaction as the store reports it: a read has no
/// attempt to run again, since a single statement sees one snapshot.
pub(crate) fn into_store(e: TxError) -> StoreError {
    match e {
        TxError::Store(e) => e,
        TxError::Retry(why) => StoreError::Backend(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_retried_up_to_the_bound_and_then_reported() {
        let conflict = || Err::<(), _>(TxError::Retry("could not serialize access".into()));
        for attempts in 1..MAX_ATTEMPTS {
            assert!(matches!(settle(conflict(), attempts), Settled::Again), "attempt {attempts} runs again");
        }
        match settle(conflict(), MAX_ATTEMPTS) {
            Settled::Done(Err(StoreError::Backend(why))) => {
                assert!(why.contains(&format!("after {MAX_ATTEMPTS} attempts")), "{why}");
                assert!(why.contains("could not serialize access"), "{why}");
            }
            _ => panic!("a conflict that persists is reported"),
        }
        let refused = Err::<(), _>(TxError::Store(StoreError::UnknownTeam("ops".into())));
        assert!(matches!(settle(refused, 1), Settled::Done(Err(StoreError::UnknownTeam(_)))), "rules are not retried");
        assert!(matches!(settle(Ok(7), 3), Settled::Done(Ok(7))));
    }
}
