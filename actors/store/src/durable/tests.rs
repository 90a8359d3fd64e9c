//! Unit tests of the store file: round trips through redb.

use serde_json::json;

use super::*;
use crate::record::Author;
use crate::topic::Topic;

#[test]
fn batches_round_trip_and_reload_the_same_scene() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let durable = Durable::create(dir.path())?;
    let mut scene = Scene::new(HistoryLimits::uniform(2));
    let author = Author::new("alice", "test");
    let mut entries = Vec::new();
    entries.push(scene.apply_delta(
        Topic::Layers,
        json!({"op": "add", "id": "a"}),
        0,
        &author,
        10,
    )?);
    entries.push(scene.apply_delta(
        Topic::Layers,
        json!({"op": "add", "id": "b"}),
        1,
        &author,
        11,
    )?);
    entries.push(scene.apply_delta(
        Topic::Layers,
        json!({"op": "remove", "id": "a"}),
        2,
        &author,
        12,
    )?);
    entries.push(scene.apply_delta(
        Topic::Camera,
        json!({"op": "set", "target": "v", "zoom": 2}),
        3,
        &author,
        13,
    )?);
    let mut dirty = Dirty::new(0);
    dirty.note(&entries[..2]);
    durable.write_batch(&entries[..2], Some(&mut dirty))?;
    dirty.note(&entries[2..]);
    durable.write_batch(&entries[2..], None)?;
    let (loaded, pending) = durable.load(HistoryLimits::uniform(2))?;
    assert_eq!(
        pending.version(),
        4,
        "the redone entries wait for the next checkpoint"
    );
    assert_eq!(
        pending.entries(),
        2,
        "the records table holds the first batch only"
    );
    assert_eq!(
        loaded.version(),
        4,
        "the second batch is redone from the log"
    );
    for topic in Topic::ALL {
        assert_eq!(loaded.records(topic), scene.records(topic), "{topic}");
        assert_eq!(
            loaded.compacted_at(topic),
            scene.compacted_at(topic),
            "{topic}"
        );
        assert_eq!(
            loaded.replay_since(topic, 0),
            scene.replay_since(topic, 0),
            "{topic}"
        );
    }
    assert_eq!(loaded.compacted_at(Topic::Layers), 1);
    Ok(())
}

#[test]
fn a_file_that_is_not_a_store_is_a_clear_error() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join(FILE_NAME),
        b"this is not a redb file, just some text....",
    )?;
    let err = Durable::open_existing(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("cannot open the store file"), "{err}");
    let missing = Durable::open_existing(&dir.path().join("nowhere"))
        .err()
        .map(|e| e.to_string());
    assert!(missing.is_some_and(|m| m.starts_with("no store at")));
    Ok(())
}

/// A checkpoint written after a reopen must include the records redone at
/// the reopen (the entries between the old checkpoint and the crash), or
/// they vanish from the records table once the checkpoint moves past them.
#[test]
fn a_checkpoint_after_reopen_keeps_what_the_reopen_redid() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    let author = Author::new("alice", "test");
    let mut scene = Scene::new(HistoryLimits::uniform(8));
    let a = scene.apply_delta(
        Topic::Layers,
        json!({"op": "add", "id": "a"}),
        0,
        &author,
        1,
    )?;
    let b = scene.apply_delta(
        Topic::Layers,
        json!({"op": "add", "id": "b"}),
        1,
        &author,
        2,
    )?;
    let c = scene.apply_delta(
        Topic::Camera,
        json!({"op": "set", "target": "v", "zoom": 3}),
        2,
        &author,
        3,
    )?;
    {
        let durable = Durable::create(dir.path())?;
        let mut dirty = Dirty::new(0);
        dirty.note(std::slice::from_ref(&a));
        durable.write_batch(std::slice::from_ref(&a), Some(&mut dirty))?;
        // `b` is logged but not checkpointed: then the process dies.
        durable.write_batch(std::slice::from_ref(&b), None)?;
    }
    {
        let durable = Durable::open_existing(dir.path())?;
        let (_, mut dirty) = durable.load(HistoryLimits::uniform(8))?;
        dirty.note(std::slice::from_ref(&c));
        durable.write_batch(std::slice::from_ref(&c), Some(&mut dirty))?;
    }
    let durable = Durable::open_existing(dir.path())?;
    let (loaded, pending) = durable.load(HistoryLimits::uniform(8))?;
    assert_eq!(pending.entries(), 0, "everything is checkpointed");
    for topic in Topic::ALL {
        assert_eq!(loaded.records(topic), scene.records(topic), "{topic}");
    }
    Ok(())
}
