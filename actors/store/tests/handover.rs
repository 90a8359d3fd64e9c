//! The in-process hand-over (`Store::hand_over_on_drop`): a store dropped
//! with it set is taken by the next open of its directory — same durable
//! state, writes go on — or, untaken, closed with its checkpoint.

#[path = "support/ops.rs"]
#[allow(dead_code)]
mod ops;

use warden_store::{
    Author, HANDOVER_WAIT, HistoryLimits, Replay, Store, StoreConfig, Topic, TopicRecords,
};

type Failure = Box<dyn std::error::Error>;

fn write(store: &Store, from: u64, to: u64) -> Result<(), Failure> {
    let author = Author::new("writer", "handover");
    for i in from..to {
        let (topic, delta) = ops::op(i);
        store.apply_delta(topic, delta, store.version(), &author)?;
    }
    Ok(())
}

fn state(store: &Store) -> Result<(u64, Vec<TopicRecords>, Vec<Replay>), Failure> {
    let mut records = Vec::new();
    let mut replays = Vec::new();
    for topic in Topic::ALL {
        records.push(store.snapshot(topic)?.records);
        replays.push(store.replay_since(topic, 0)?);
    }
    Ok((store.version(), records, replays))
}

fn config() -> StoreConfig {
    StoreConfig {
        history: HistoryLimits::uniform(32),
        checkpoint_every: 10,
    }
}

#[test]
fn a_dropped_store_is_taken_by_the_next_open_and_goes_on() -> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), config())?;
    assert!(!store.was_handed_over());
    write(&store, 0, 45)?;
    store.hand_over_on_drop(true);
    let before = state(&store)?;
    drop(store);

    // The same directory by another name is the same store.
    let store = Store::open(&dir.path().join("."), config())?;
    assert!(
        store.was_handed_over(),
        "the reopen loaded the file instead"
    );
    assert_eq!(state(&store)?, before);
    write(&store, 45, 80)?;
    let after = state(&store)?;
    store.close()?;

    // What the successor wrote is in the file, and the file is whole.
    let store = Store::open(dir.path(), config())?;
    assert!(!store.was_handed_over(), "a closed store was handed over");
    assert_eq!(state(&store)?.0, after.0);
    assert_eq!(state(&store)?.1, after.1);
    store.close()?;
    let report = warden_store::verify(dir.path(), &mut |_, _| {})?;
    assert!(report.ok, "{:?}", report.problems);
    Ok(())
}

#[test]
fn an_untaken_store_is_closed_with_its_checkpoint() -> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), config())?;
    write(&store, 0, 37)?;
    store.hand_over_on_drop(true);
    let before = state(&store)?;
    drop(store);
    // Parked, the file is still open: nobody else may write it meanwhile.
    let err = warden_store::verify(dir.path(), &mut |_, _| {})
        .err()
        .ok_or("the file of a parked store could be opened")?;
    assert!(err.to_string().contains("already open"), "{err}");

    std::thread::sleep(HANDOVER_WAIT + std::time::Duration::from_millis(500));
    let report = warden_store::verify(dir.path(), &mut |_, _| {})?;
    assert!(report.ok, "{:?}", report.problems);
    let store = Store::open(dir.path(), config())?;
    assert!(!store.was_handed_over());
    assert_eq!(state(&store)?, before);
    store.close()?;
    Ok(())
}

#[test]
fn another_config_reloads_from_the_file_and_a_closed_store_is_never_parked() -> Result<(), Failure>
{
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), config())?;
    write(&store, 0, 20)?;
    store.hand_over_on_drop(true);
    let version = store.version();
    drop(store);
    let other = StoreConfig {
        history: HistoryLimits::uniform(8),
        ..config()
    };
    let store = Store::open(dir.path(), other)?;
    assert!(!store.was_handed_over(), "handed over across configs");
    assert_eq!(store.version(), version);

    // close() closes even with the flag set.
    store.hand_over_on_drop(true);
    store.close()?;
    let report = warden_store::verify(dir.path(), &mut |_, _| {})?;
    assert!(report.ok, "{:?}", report.problems);
    Ok(())
}
