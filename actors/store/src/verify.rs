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
