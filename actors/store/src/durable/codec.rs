//! How entries and records are encoded in the database: JSON bytes (values
//! are arbitrary JSON, which bincode cannot carry), with decode errors that
//! name the row.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;
use crate::record::{Entry, Record};
use crate::topic::Topic;

/// Encode a row value.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these types (maps with string keys, numbers, strings) cannot fail.
    serde_json::to_vec(value).expect("invariant: entries and records always serialise to JSON")
}

/// Encode a row value into `buf` (reused between rows).
pub(crate) fn encode_into<T: Serialize>(buf: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(buf, value)
        .expect("invariant: entries and records always serialise to JSON");
}

fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    what: impl FnOnce() -> String,
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what: format!("{}: {e}", what()),
    })
}

/// Decode the log row `(topic, version)`, checking that it says where it is.
pub(crate) fn decode_entry(topic: Topic, version: u64, bytes: &[u8]) -> Result<Entry, StoreError> {
    let entry: Entry = decode(bytes, || format!("log entry {topic}@{version}"))?;
    if entry.topic != topic || entry.version != version {
        return Err(StoreError::Corrupt {
            what: format!(
                "log entry {topic}@{version} says it is {}@{}",
                entry.topic, entry.version
            ),
        });
    }
    Ok(entry)
}

/// Decode the record row `(topic, target, key)`.
pub(crate) fn decode_record(
    topic: Topic,
    target: &str,
    key: &str,
    bytes: &[u8],
) -> Result<Record, StoreError> {
    decode(bytes, || format!("record {topic}/{target}/{key}"))
}

/// The topic of a stored code, or a corruption error naming the table.
pub(crate) fn topic(code: u8, table: &str) -> Result<Topic, StoreError> {
    Topic::from_code(code).ok_or_else(|| StoreError::Corrupt {
        what: format!("table {table} holds unknown topic code {code}"),
    })
}
