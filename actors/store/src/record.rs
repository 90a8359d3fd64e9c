//! The values the store keeps: a record per `(scope, target, key)`, the
//! author and stamp of a change, and the log entry of one applied update.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::topic::Topic;

/// Who made a change: the client or agent (`actor_id`) and where the change
/// entered the store (`origin`, e.g. `session:s-3`, `bench`, `seed`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Author {
    /// The actor named in the handshake (a client, an agent, a server module).
    pub actor_id: Arc<str>,
    /// Where the update came from.
    pub origin: Arc<str>,
}

impl Author {
    /// An author with the given actor id and origin.
    pub fn new(actor_id: &str, origin: &str) -> Self {
        Self {
            actor_id: Arc::from(actor_id),
            origin: Arc::from(origin),
        }
    }

    /// The author recorded for `seed_snapshot`: the server itself.
    pub fn seed() -> Self {
        Self::new("server", "seed")
    }
}

/// The confirmed state of one property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The confirmed value (JSON).
    pub confirmed_value: Value,
    /// The global version of the record's last change.
    pub version: u64,
    /// The actor that made the last change.
    pub actor_id: Arc<str>,
    /// Where the last change came from.
    pub origin: Arc<str>,
    /// When the last change was stamped, in milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// The version and time given to an update before its reducer runs; replay
/// uses the logged stamp, so replaying gives the same state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The global version the update gets if it is applied.
    pub version: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// The change of one record made by one update: `old` and `new` are `None`
/// where the record did not exist before, or does not after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The record's target (a layer id, a view name, `*` for a scope-wide record).
    pub target: String,
    /// The property.
    pub key: String,
    /// The value before the update.
    pub old: Option<Value>,
    /// The value after the update.
    pub new: Option<Value>,
}

/// What an entry of the log records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// An `apply_delta`: the payload is the delta its reducer applied.
    Delta,
    /// A `seed_snapshot`: the payload replaced the whole topic.
    Seed,
}

/// One applied update: what the history rings hold, what the durable log
/// stores, what `replay_since` returns and what the audit log is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The global version the update was given.
    pub version: u64,
    /// Milliseconds since the Unix epoch, stamped before the reducer ran.
    pub timestamp: u64,
    /// The topic the update applied to.
    pub topic: Topic,
    /// A delta or a seed.
    pub kind: EntryKind,
    /// The actor that made the update.
    pub actor_id: Arc<str>,
    /// Where the update came from.
    pub origin: Arc<str>,
    /// The version the writer said it had seen (the seed's own version for seeds).
    pub expected_version: u64,
    /// The delta (or, for a seed, the snapshot) as the writer sent it;
    /// shared, so history, log and replay never copy it.
    pub payload: Arc<Value>,
    /// The records it changed, with their values before and after.
    pub changes: Vec<Change>,
}

impl Entry {
    /// The stamp this entry was applied with.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            version: self.version,
            timestamp: self.timestamp,
        }
    }

    /// The author of this entry.
    pub fn author(&self) -> Author {
        Author {
            actor_id: Arc::clone(&self.actor_id),
            origin: Arc::clone(&self.origin),
        }
    }
}
