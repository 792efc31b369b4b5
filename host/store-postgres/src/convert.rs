//! Conversions between domain values and what the columns hold.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use switchboard_store::StoreError;
use tokio_postgres::Row;
use tokio_postgres::types::Json;

/// A domain id as a `bigint`. Ids come from sequences and fit; one that
/// does not is refused rather than wrapped.
pub(crate) fn db_id(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| StoreError::Backend(format!("id {id} does not fit a bigint")))
}

/// A `bigint` id back as a domain id.
pub(crate) fn domain_id(id: i64) -> Result<u64, StoreError> {
    u64::try_from(id).map_err(|_| corrupt("id", format!("negative id {id}")))
}

/// A time as nanoseconds since 1970, which a `bigint` holds until 2262
/// and which sorts as the time does.
pub(crate) fn nanos(t: Timestamp) -> Result<i64, StoreError> {
    i64::try_from(t.as_nanosecond()).map_err(|_| StoreError::Backend(format!("time {t} does not fit a bigint")))
}

/// Nanoseconds since 1970 back as a time.
pub(crate) fn timestamp(ns: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_nanosecond(i128::from(ns)).map_err(|e| corrupt("time", e.to_string()))
}

/// The record in column `column` of `row`, decoded from its JSON.
pub(crate) fn record<T: DeserializeOwned>(what: &str, row: &Row, column: &str) -> Result<T, StoreError> {
    row.try_get::<_, Json<T>>(column).map(|Json(value)| value).map_err(|e| corrupt(what, e.to_string()))
}

/// The value of a plain column, such as an id or a count.
pub(crate) fn column<'a, I, T>(row: &'a Row, index: I) -> Result<T, StoreError>
where
    I: tokio_postgres::row::RowIndex + std::fmt::Display,
    T: tokio_postgres::types::FromSql<'a>,
{
    row.try_get(index).map_err(|e| corrupt("column", e.to_string()))
}

/// A record as JSON for a `jsonb` column.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> Json<&T> {
    Json(value)
}

/// A stored value that could not be read back.
pub(crate) fn corrupt(what: &str, reason: String) -> StoreError {
    StoreError::Corrupt { what: what.to_owned(), reason }
}
