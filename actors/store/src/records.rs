//! The records of one topic, `target → key → Record`, and how a reducer's
//! writes are applied to them (producing the changes with old values).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{Author, Change, Record, Stamp};

/// One write a reducer asks for: set `(target, key)` to `value`, or delete it.
#[derive(Clone, Debug, PartialEq)]
pub struct Write {
    /// The record's target.
    pub target: String,
    /// The property.
    pub key: String,
    /// The new value; `None` deletes the record.
    pub value: Option<Value>,
}

impl Write {
    /// Set `(target, key)` to `value`.
    pub fn set(target: impl Into<String>, key: impl Into<String>, value: Value) -> Self {
        Self {
            target: target.into(),
            key: key.into(),
            value: Some(value),
        }
    }

    /// Delete `(target, key)`.
    pub fn delete(target: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            key: key.into(),
            value: None,
        }
    }
}

/// The records of one topic. Nested maps let lookups borrow `&str` keys.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TopicRecords {
    targets: BTreeMap<String, BTreeMap<String, Record>>,
}

impl TopicRecords {
    /// No records.
    pub fn new() -> Self {
        Self::default()
    }

    /// The record at `(target, key)`.
    pub fn get(&self, target: &str, key: &str) -> Option<&Record> {
        self.targets.get(target)?.get(key)
    }

    /// The confirmed value at `(target, key)`.
    pub fn value(&self, target: &str, key: &str) -> Option<&Value> {
        self.get(target, key).map(|r| &r.confirmed_value)
    }

    /// The records of one target, by key.
    pub fn target(&self, target: &str) -> Option<&BTreeMap<String, Record>> {
        self.targets.get(target)
    }

    /// Every target, in order, with its records.
    pub fn targets(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, Record>)> {
        self.targets.iter().map(|(t, r)| (t.as_str(), r))
    }

    /// Every record as `(target, key, record)`, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Record)> {
        self.targets
            .iter()
            .flat_map(|(t, keys)| keys.iter().map(move |(k, r)| (t.as_str(), k.as_str(), r)))
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.targets.values().map(BTreeMap::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The highest version among the records `writes` touch (0 if none exist):
    /// what an update's `expected_version` is checked against.
    pub(crate) fn guard<'w>(&self, writes: &'w [Write]) -> Option<(&'w Write, u64)> {
        writes
            .iter()
            .filter_map(|w| self.get(&w.target, &w.key).map(|r| (w, r.version)))
            .max_by_key(|(_, v)| *v)
    }

    /// Put a record in place as it is (loading from disk, applying a snapshot).
    pub(crate) fn insert(&mut self, target: String, key: String, record: Record) {
        self.targets.entry(target).or_default().insert(key, record);
    }

    /// Apply `writes` with `stamp` and `author`; returns one change per write.
    pub(crate) fn apply(
        &mut self,
        writes: Vec<Write>,
        stamp: Stamp,
        author: &Author,
    ) -> Vec<Change> {
        let mut changes = Vec::with_capacity(writes.len());
        for Write { target, key, value } in writes {
            let old = match &value {
                Some(new) => self.set(&target, &key, new.clone(), stamp, author),
                None => self.remove(&target, &key),
            };
            changes.push(Change {
                target,
                key,
                old,
                new: value,
            });
        }
        changes
    }

    /// Apply the changes of an entry made elsewhere (a client applying
    /// `notify` deltas to a baseline does exactly this).
    pub fn apply_changes(&mut self, changes: &[Change], stamp: Stamp, author: &Author) {
        for change in changes {
            match &change.new {
                Some(new) => {
                    self.set(&change.target, &change.key, new.clone(), stamp, author);
                }
                None => {
                    self.remove(&change.target, &change.key);
                }
            }
        }
    }

    fn set(
        &mut self,
        target: &str,
        key: &str,
        value: Value,
        stamp: Stamp,
        author: &Author,
    ) -> Option<Value> {
        let record = Record {
            confirmed_value: value,
            version: stamp.version,
            actor_id: author.actor_id.clone(),
            origin: author.origin.clone(),
            timestamp: stamp.timestamp,
        };
        // Updating an existing record must not allocate new key strings.
        if let Some(keys) = self.targets.get_mut(target) {
            if let Some(slot) = keys.get_mut(key) {
                return Some(std::mem::replace(slot, record).confirmed_value);
            }
            keys.insert(key.to_owned(), record);
            return None;
        }
        self.targets
            .entry(target.to_owned())
            .or_default()
            .insert(key.to_owned(), record);
        None
    }

    fn remove(&mut self, target: &str, key: &str) -> Option<Value> {
        let keys = self.targets.get_mut(target)?;
        let old = keys.remove(key)?;
        if keys.is_empty() {
            self.targets.remove(target);
        }
        Some(old.confirmed_value)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stamp(version: u64) -> Stamp {
        Stamp {
            version,
            timestamp: 1000 + version,
        }
    }

    #[test]
    fn apply_records_old_values_and_stamps() {
        let mut records = TopicRecords::new();
        let author = Author::new("alice", "test");
        let first = records.apply(
            vec![Write::set("l1", "opacity", json!(0.5))],
            stamp(1),
            &author,
        );
        assert_eq!(first[0].old, None);
        let second = records.apply(
            vec![
                Write::set("l1", "opacity", json!(0.7)),
                Write::set("l1", "name", json!("bg")),
            ],
            stamp(2),
            &author,
        );
        assert_eq!(second[0].old, Some(json!(0.5)));
        assert_eq!(second[0].new, Some(json!(0.7)));
        let rec = records
            .get("l1", "opacity")
            .map(|r| (r.version, r.timestamp, r.actor_id.to_string()));
        assert_eq!(rec, Some((2, 1002, "alice".to_owned())));
        assert_eq!(records.len(), 2);
    }

    #[test]
    fn delete_removes_empty_targets_and_guard_sees_highest_version() {
        let mut records = TopicRecords::new();
        let author = Author::new("a", "t");
        records.apply(
            vec![Write::set("l1", "name", json!("x"))],
            stamp(3),
            &author,
        );
        records.apply(
            vec![Write::set("l2", "name", json!("y"))],
            stamp(7),
            &author,
        );
        let writes = [
            Write::delete("l1", "name"),
            Write::set("l2", "name", json!("z")),
        ];
        assert_eq!(
            records.guard(&writes).map(|(w, v)| (w.target.clone(), v)),
            Some(("l2".to_owned(), 7))
        );
        let changes = records.apply(vec![Write::delete("l1", "name")], stamp(8), &author);
        assert_eq!(changes[0].old, Some(json!("x")));
        assert!(records.target("l1").is_none());
        assert_eq!(records.guard(&[Write::delete("l1", "name")]), None);
    }
}
