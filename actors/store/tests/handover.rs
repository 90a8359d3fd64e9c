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

/// The commit hook (how the store actor learns of commits): it runs once a
/// write is durable, an owner letting go of its hook does not unhook the
/// successor that replaced it, and an unhooked store runs nothing.
#[test]
fn the_commit_hook_follows_its_owner() -> Result<(), Failure> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path(), config())?;
    let counter = |seen: &Arc<AtomicU64>| -> warden_store::CommitHook {
        let seen = Arc::clone(seen);
        Arc::new(move || {
            seen.fetch_add(1, Ordering::SeqCst);
        })
    };
    let (first_seen, second_seen) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let first = counter(&first_seen);
    store.set_commit_hook(Arc::clone(&first));
    let commits = || store.commit_stats().commits;
    let before = commits();
    write(&store, 0, 3)?;
    let first_commits = commits() - before;
    assert!(first_commits > 0, "the writes committed nothing");
    // apply_delta returns once durable; the hook runs right after the
    // waiters are released, on the committer's thread.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while first_seen.load(Ordering::SeqCst) < first_commits && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(
        first_seen.load(Ordering::SeqCst),
        first_commits,
        "one run per commit"
    );

    let second = counter(&second_seen);
    store.set_commit_hook(Arc::clone(&second));
    store.unhook_commits(&first);
    let before = commits();
    write(&store, 3, 6)?;
    let second_commits = commits() - before;
    assert!(second_commits > 0, "the writes committed nothing");
    while second_seen.load(Ordering::SeqCst) < second_commits
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert_eq!(
        second_seen.load(Ordering::SeqCst),
        second_commits,
        "the successor's hook stayed"
    );
    assert_eq!(
        first_seen.load(Ordering::SeqCst),
        first_commits,
        "the replaced hook ran on"
    );

    store.unhook_commits(&second);
    let before = commits();
    write(&store, 6, 9)?;
    assert!(commits() > before, "the writes committed nothing");
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        second_seen.load(Ordering::SeqCst),
        second_commits,
        "an unhooked store ran a hook"
    );
    store.close()?;
    Ok(())
}
