//! `verify`: check a store file offline — redb's own integrity check, then
//! replay the whole log through the reducers, checking that versions follow
//! each other, that every entry makes exactly the changes it logged, and that
//! the records checkpoint equals the replayed state at its version.

use std::path::Path;

use serde::Serialize;

use crate::durable::Durable;
use crate::error::StoreError;
use crate::history::HistoryLimits;
use crate::records::TopicRecords;
use crate::scene::Scene;
use crate::topic::Topic;

/// At most this many problems are listed (the count is always exact).
const LISTED: usize = 50;

/// What `verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// No problem found.
    pub ok: bool,
    /// The file checked.
    pub path: String,
    /// redb's integrity check passed without repairing anything.
    pub integrity: bool,
    /// The version the log ends at.
    pub version: u64,
    /// The version the stored records table (the checkpoint) is at.
    pub checkpoint: u64,
    /// Log entries replayed.
    pub entries: u64,
    /// Records in the replayed state.
    pub records: usize,
    /// How many problems there are.
    pub problem_count: usize,
    /// The first problems, each naming where.
    pub problems: Vec<String>,
}

#[derive(Default)]
struct Problems {
    count: usize,
    listed: Vec<String>,
}

impl Problems {
    fn add(&mut self, problem: String) {
        self.count += 1;
        if self.listed.len() < LISTED {
            self.listed.push(problem);
        }
    }
}

/// Verify the store in `dir`; `progress(done, total)` is called as the log replays.
pub fn verify(dir: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<VerifyReport, StoreError> {
    let mut durable = Durable::open_existing(dir)?;
    let integrity = durable.check_integrity()?;
    let mut problems = Problems::default();
    if !integrity {
        problems.add("redb integrity check failed; the file was repaired".into());
    }
    let reader = durable.reader()?;
    let version = reader.last_version()?;
    let checkpoint = reader.checkpoint()?;
    let stored = reader.records()?;
    let total = reader.log_len()?;

    let mut scene = Scene::new(HistoryLimits::uniform(1));
    let mut entries = 0u64;
    let mut stopped = false;
    let mut checked = false;
    let check_checkpoint = |scene: &Scene, problems: &mut Problems| {
        for topic in Topic::ALL {
            compare(
                topic,
                &stored[topic.index()],
                scene.records(topic),
                problems,
            );
        }
    };
    if checkpoint == 0 {
        check_checkpoint(&scene, &mut problems);
        checked = true;
    }
    reader.for_each_entry(0, u64::MAX, |entry| {
        entries += 1;
        if entries.is_multiple_of(10_000) {
            progress(entries, total);
        }
        if stopped {
            return Ok(());
        }
        match scene.replay(&entry) {
            Ok(_) if entry.version == checkpoint => {
                check_checkpoint(&scene, &mut problems);
                checked = true;
            }
            Ok(_) => {}
            Err(err) => {
                problems.add(format!(
                    "log {}@{}: {err}; replay stopped here",
                    entry.topic, entry.version
                ));
                stopped = true;
            }
        }
        Ok(())
    })?;
    progress(entries, total);
    if !stopped && !checked {
        problems.add(format!(
            "the records checkpoint is at version {checkpoint}, which no log entry has"
        ));
    }
    Ok(VerifyReport {
        ok: problems.count == 0,
        path: durable.path().display().to_string(),
        integrity,
        version,
        checkpoint,
        entries,
        records: scene_records(&scene),
        problem_count: problems.count,
        problems: problems.listed,
    })
}

fn scene_records(scene: &Scene) -> usize {
    Topic::ALL.iter().map(|t| scene.records(*t).len()).sum()
}

fn compare(topic: Topic, stored: &TopicRecords, replayed: &TopicRecords, problems: &mut Problems) {
    for (target, key, record) in stored.iter() {
        match replayed.get(target, key) {
            None => problems.add(format!("record {topic}/{target}/{key} is stored but the log never made it")),
            Some(want) if want != record => problems.add(format!(
                "record {topic}/{target}/{key} is stored as {} at version {}, the log gives {} at version {}",
                record.confirmed_value, record.version, want.confirmed_value, want.version
            )),
            Some(_) => {}
        }
    }
    for (target, key, _) in replayed.iter() {
        if stored.get(target, key).is_none() {
            problems.add(format!(
                "record {topic}/{target}/{key} is missing; the log made it"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::durable::Dirty;
    use crate::record::{Author, Entry};

    fn entries() -> Result<Vec<Arc<Entry>>, crate::reduce::Rejection> {
        let mut scene = Scene::new(HistoryLimits::uniform(8));
        let author = Author::new("alice", "test");
        Ok(vec![
            scene.apply_delta(
                Topic::Layers,
                json!({"op": "add", "id": "a"}),
                0,
                &author,
                1,
            )?,
            scene.apply_delta(
                Topic::Camera,
                json!({"op": "set", "target": "v", "zoom": 2}),
                1,
                &author,
                2,
            )?,
        ])
    }

    #[test]
    fn a_consistent_store_verifies() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let log = entries()?;
        let durable = Durable::create(dir.path())?;
        let mut dirty = Dirty::new(0);
        dirty.note(&log);
        durable.write_batch(&log, Some(&mut dirty))?;
        drop(durable);
        let report = verify(dir.path(), &mut |_, _| {})?;
        assert!(report.ok, "{:?}", report.problems);
        assert_eq!(
            (
                report.version,
                report.checkpoint,
                report.entries,
                report.records
            ),
            (2, 2, 2, 5)
        );
        Ok(())
    }

    #[test]
    fn a_logged_change_the_reducer_would_not_make_is_reported()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut log = entries()?;
        let mut forged = (*log[1]).clone();
        forged.changes[0].new = Some(json!(3.0));
        log[1] = Arc::new(forged);
        Durable::create(dir.path())?.write_batch(&log, None)?;
        let report = verify(dir.path(), &mut |_, _| {})?;
        assert!(!report.ok);
        assert_eq!(report.problem_count, 1);
        assert!(
            report.problems[0].starts_with("log camera@2: entry 2 replays to other changes"),
            "{:?}",
            report.problems
        );
        Ok(())
    }

    #[test]
    fn a_checkpoint_that_disagrees_with_the_log_is_reported()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let log = entries()?;
        let mut forged = (*log[1]).clone();
        forged.changes[0].new = Some(json!(9.0));
        let mut dirty = Dirty::new(0);
        dirty.note(&log[..1]);
        dirty.note(&[Arc::new(forged)]);
        Durable::create(dir.path())?.write_batch(&log, Some(&mut dirty))?;
        let report = verify(dir.path(), &mut |_, _| {})?;
        assert!(!report.ok);
        assert!(
            report.problems.iter().any(|p| p.starts_with(
                "record camera/v/zoom is stored as 9.0 at version 2, the log gives 2.0"
            )),
            "{:?}",
            report.problems
        );
        Ok(())
    }
}
