//! The audit log: one line per changed record — `(actor, scope, target, key,
//! old, new, version, timestamp)` — queryable by version range and actor.
//! It is a view of the append-only entry log: nothing is ever rewritten.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::Entry;
use crate::topic::Topic;

/// One changed record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The global version of the update.
    pub version: u64,
    /// When it was stamped (ms since the Unix epoch).
    pub timestamp: u64,
    /// The actor that made it.
    pub actor: String,
    /// Where it came from.
    pub origin: String,
    /// The topic.
    pub scope: Topic,
    /// The record's target.
    pub target: String,
    /// The record's key.
    pub key: String,
    /// The value before (`null` if the record did not exist).
    pub old: Option<Value>,
    /// The value after (`null` if the record was deleted).
    pub new: Option<Value>,
}

/// Which audit entries to return: versions `from..=to`, optionally one actor's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    /// The lowest version.
    pub from: u64,
    /// The highest version.
    pub to: u64,
    /// Only this actor's changes.
    pub actor: Option<String>,
}

impl AuditQuery {
    /// Every entry.
    pub fn all() -> Self {
        Self {
            from: 0,
            to: u64::MAX,
            actor: None,
        }
    }

    /// Entries with versions in `from..=to`.
    pub fn versions(from: u64, to: u64) -> Self {
        Self {
            from,
            to,
            actor: None,
        }
    }

    /// Restrict to one actor.
    pub fn by(mut self, actor: &str) -> Self {
        self.actor = Some(actor.to_owned());
        self
    }

    /// Whether `entry` is selected.
    pub fn matches(&self, entry: &Entry) -> bool {
        (self.from..=self.to).contains(&entry.version)
            && self.actor.as_deref().is_none_or(|a| a == &*entry.actor_id)
    }
}

/// The audit lines of one entry, one per changed record.
pub(crate) fn lines(entry: &Entry) -> impl Iterator<Item = AuditEntry> + '_ {
    entry.changes.iter().map(move |change| AuditEntry {
        version: entry.version,
        timestamp: entry.timestamp,
        actor: entry.actor_id.to_string(),
        origin: entry.origin.to_string(),
        scope: entry.topic,
        target: change.target.clone(),
        key: change.key.clone(),
        old: change.old.clone(),
        new: change.new.clone(),
    })
}
