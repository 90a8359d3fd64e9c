//! `inspect`: what a store file holds — the global version, every record,
//! each topic's history window and compaction point, and the audit log.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::audit::{AuditEntry, AuditQuery};
use crate::error::StoreError;
use crate::store::{Store, StoreConfig};
use crate::topic::Topic;

/// One record, flattened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordRow {
    /// The topic.
    pub scope: Topic,
    /// The target.
    pub target: String,
    /// The key.
    pub key: String,
    /// The confirmed value.
    pub value: Value,
    /// The version of its last change.
    pub version: u64,
    /// Who made it.
    pub actor_id: String,
    /// Where it came from.
    pub origin: String,
    /// When (ms since the Unix epoch).
    pub timestamp: u64,
}

/// A topic's history window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryRow {
    /// The topic.
    pub scope: Topic,
    /// Cursors below this version get a baseline.
    pub compacted_at: u64,
    /// Entries held for replay.
    pub entries: usize,
}

/// Everything `inspect` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InspectReport {
    /// The global version.
    pub version: u64,
    /// Every record, by scope, target, key.
    pub records: Vec<RecordRow>,
    /// Each topic's history window (with the default limits).
    pub history: Vec<HistoryRow>,
    /// The audit log: every entry when asked for, else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<Vec<AuditEntry>>,
}

/// Inspect the store in `dir`. `audit`: every audit entry; otherwise the
/// lines of the last `tail` versions.
pub fn inspect(
    dir: &Path,
    audit: bool,
    tail: u64,
) -> Result<(InspectReport, Vec<AuditEntry>), StoreError> {
    let store = Store::open_existing(dir, StoreConfig::default())?;
    let report = report(&store, audit, tail)?;
    store.close()?;
    Ok(report)
}

/// The same report of an open store (the store actor's `Inspect`).
pub fn report(
    store: &Store,
    audit: bool,
    tail: u64,
) -> Result<(InspectReport, Vec<AuditEntry>), StoreError> {
    let version = store.version();
    let mut records = Vec::new();
    for topic in Topic::ALL {
        let snapshot = store.snapshot(topic)?;
        records.extend(snapshot.records.iter().map(|(target, key, r)| RecordRow {
            scope: topic,
            target: target.to_owned(),
            key: key.to_owned(),
            value: r.confirmed_value.clone(),
            version: r.version,
            actor_id: r.actor_id.to_string(),
            origin: r.origin.to_string(),
            timestamp: r.timestamp,
        }));
    }
    let history = store
        .history_state()?
        .into_iter()
        .map(|(scope, compacted_at, entries)| HistoryRow {
            scope,
            compacted_at,
            entries,
        })
        .collect();
    let tail_query = AuditQuery::versions(
        version.saturating_sub(tail.saturating_sub(1)).max(1),
        version,
    );
    let audit_all = audit.then(|| store.audit(&AuditQuery::all())).transpose()?;
    let tail = match &audit_all {
        Some(all) => {
            let from = tail_query.from;
            all.iter().filter(|a| a.version >= from).cloned().collect()
        }
        None => store.audit(&tail_query)?,
    };
    Ok((
        InspectReport {
            version,
            records,
            history,
            audit: audit_all,
        },
        tail,
    ))
}
