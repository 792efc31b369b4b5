//! The one encoding of stored values: a format byte, then JSON.
//!
//! JSON keeps records readable in a pinch and lets fields be added with
//! serde defaults; the leading byte leaves room for a different encoding
//! later without guessing.

use serde::{Serialize, de::DeserializeOwned};

use crate::StoreError;

/// The format byte of JSON-encoded records.
const JSON_V1: u8 = 1;

/// Encodes a record.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![JSON_V1];
    // Serializing plain data structs to a Vec cannot fail: they have string
    // keys and no custom serializers that error.
    serde_json::to_writer(&mut out, value).expect("records serialize to JSON");
    out
}

/// Decodes a record, naming `what` it is in the error.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { what: what.to_owned(), reason };
    match bytes.split_first() {
        Some((&JSON_V1, body)) => serde_json::from_slice(body).map_err(|e| corrupt(e.to_string())),
        Some((format, _)) => Err(corrupt(format!("unknown format byte {format}"))),
        None => Err(corrupt("empty value".to_owned())),
    }
}
