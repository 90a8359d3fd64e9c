//! The reducers: pure functions `(prev, delta) → writes | rejection`, one per
//! topic, and the validation of a whole-topic snapshot for `seed_snapshot`.
//!
//! A reducer reads the topic's current records and returns the writes that
//! take the topic to its new state. It never sees the clock or the version:
//! the store stamps both before the reducer runs, so replaying a logged delta
//! gives the same state.

mod camera;
mod dims;
mod fields;
mod layers;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::records::{TopicRecords, Write};
use crate::topic::Topic;

pub use camera::CAMERA_KEYS;
pub use dims::{DEFAULT_RANGE, MAX_NDIM, steps};
pub use layers::{LAYER_KEYS, ORDER_KEY, ORDER_TARGET};

/// Why an update was not applied. Nothing changes when an update is rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    /// The delta is malformed or breaks an invariant; `field` names what.
    #[error("field `{field}`: {message}")]
    Invalid {
        /// The offending field, as a path into the payload (`opacity`, `order[2]`).
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// A record the update writes changed after the version the writer saw.
    #[error(
        "stale: {target}/{key} changed at version {record_version}, after expected_version {expected_version}"
    )]
    Stale {
        /// The record's target.
        target: String,
        /// The record's key.
        key: String,
        /// The version of the record's last change.
        record_version: u64,
        /// The version the writer said it had seen.
        expected_version: u64,
    },
    /// The writer claims to have seen a version the store has not reached.
    #[error(
        "expected_version {expected_version} is ahead of the store's version {current_version}"
    )]
    Ahead {
        /// The version the writer sent.
        expected_version: u64,
        /// The store's version.
        current_version: u64,
    },
    /// A seed must move the global version forward.
    #[error("seed version {version} does not exceed the store's version {current_version}")]
    SeedNotAhead {
        /// The version asked for.
        version: u64,
        /// The store's version.
        current_version: u64,
    },
}

impl Rejection {
    /// An `Invalid` rejection naming `field` (any `Display`: paths such as
    /// `range[2]` are formatted only here, on the rejecting path).
    pub fn invalid(field: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Rejection::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The short machine-readable code (`invalid`, `stale`, `ahead`, `seed_not_ahead`).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Invalid { .. } => "invalid",
            Rejection::Stale { .. } => "stale",
            Rejection::Ahead { .. } => "ahead",
            Rejection::SeedNotAhead { .. } => "seed_not_ahead",
        }
    }
}

/// Run `topic`'s reducer: the writes that apply `delta` to `prev`.
pub fn reduce(topic: Topic, prev: &TopicRecords, delta: &Value) -> Result<Vec<Write>, Rejection> {
    match topic {
        Topic::Layers => layers::reduce(prev, delta),
        Topic::Dims => dims::reduce(prev, delta),
        Topic::Camera => camera::reduce(prev, delta),
    }
}

/// Validate a whole-topic snapshot `{target: {key: value}}` and return the
/// writes that replace `prev` with it (deleting what the snapshot lacks).
pub fn seed_writes(
    topic: Topic,
    prev: &TopicRecords,
    snapshot: &Value,
) -> Result<Vec<Write>, Rejection> {
    let targets = fields::object(snapshot, "snapshot")?;
    let mut writes = Vec::new();
    for (target, keys) in targets {
        let keys = fields::object(keys, target)?;
        fields::target_name(target, target)?;
        if target == "*" && topic != Topic::Layers {
            return Err(Rejection::invalid(target.as_str(), "`*` is reserved"));
        }
        for (key, value) in keys {
            let path = format!("{target}.{key}");
            let value = match topic {
                Topic::Layers => layers::check_value(target, key, value, &path)?,
                Topic::Dims => dims::check_value(key, value, &path)?,
                Topic::Camera => camera::check_value(key, value, &path)?,
            };
            writes.push(Write::set(target.clone(), key.clone(), value));
        }
    }
    match topic {
        Topic::Layers => layers::check_whole(targets)?,
        Topic::Dims => dims::check_whole(targets)?,
        Topic::Camera => camera::check_whole(targets)?,
    }
    for (target, key, _) in prev.iter() {
        let kept = targets
            .get(target)
            .and_then(Value::as_object)
            .is_some_and(|keys| keys.contains_key(key));
        if !kept {
            writes.push(Write::delete(target, key));
        }
    }
    Ok(writes)
}

#[cfg(test)]
mod tests;
