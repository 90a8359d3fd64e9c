//! Property tests of the store's core promises (issue 4, item 8): versions
//! only go up under any interleaving of writers; a snapshot at v plus
//! `replay_since(v)` equals the current state; a rejected update changes
//! nothing. (Reopening after a crash is `crash.rs`.)

#[path = "support/ops.rs"]
mod ops;

use proptest::prelude::*;
use warden_store::{Author, HistoryLimits, Outcome, Replay, Scene, Store, StoreConfig, Topic};

fn actors() -> Vec<Author> {
    (0..4)
        .map(|i| Author::new(&format!("actor-{i}"), "proptest"))
        .collect()
}

/// Apply `seeds` as one writer that always sends the current version.
fn build(limit: usize, seeds: &[u64]) -> Scene {
    let mut scene = Scene::new(HistoryLimits::uniform(limit));
    let author = Author::new("builder", "proptest");
    for (i, seed) in seeds.iter().enumerate() {
        let (topic, delta) = ops::op(*seed);
        let _ = scene.apply_delta(topic, delta, scene.version(), &author, i as u64);
    }
    scene
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Four writers, each with its own (lagging) view of the version, in any
    /// interleaving: every applied update gets exactly the next version, the
    /// records it writes carry it, and a rejection consumes none.
    #[test]
    fn versions_strictly_increase_under_any_interleaving(steps in prop::collection::vec((0..4usize, any::<u64>()), 1..250)) {
        let actors = actors();
        let mut scene = Scene::new(HistoryLimits::uniform(10_000));
        let mut seen = [0u64; 4];
        let mut last = 0;
        for (i, (who, seed)) in steps.into_iter().enumerate() {
            let (topic, delta) = ops::op(seed);
            let expected = ops::expected(seed, seen[who]);
            match scene.apply_delta(topic, delta, expected, &actors[who], i as u64) {
                Ok(entry) => {
                    prop_assert_eq!(entry.version, last + 1);
                    last = entry.version;
                    seen[who] = last;
                    for change in &entry.changes {
                        if change.new.is_some() {
                            let record = scene.records(topic).get(&change.target, &change.key);
                            prop_assert_eq!(record.map(|r| r.version), Some(last));
                        }
                    }
                }
                Err(_) => {
                    prop_assert_eq!(scene.version(), last);
                    // The writer relists (catches up) after a rejection.
                    seen[who] = scene.version();
                }
            }
        }
        for topic in Topic::ALL {
            prop_assert!(scene.records(topic).iter().all(|(_, _, r)| r.version <= last));
            if let Replay::Deltas(entries) = scene.replay_since(topic, 0) {
                prop_assert!(entries.windows(2).all(|w| w[0].version < w[1].version));
            }
        }
    }

    /// `snapshot(v)` + `replay_since(v)` = now; and it is a baseline exactly
    /// when more of the topic's entries followed v than the history keeps.
    #[test]
    fn snapshot_plus_replay_equals_the_current_state(
        before in prop::collection::vec(any::<u64>(), 0..120),
        after in prop::collection::vec(any::<u64>(), 0..120),
        limit in 1usize..48,
    ) {
        let mut scene = build(limit, &before);
        let snapshots: Vec<_> = Topic::ALL.iter().map(|t| scene.snapshot(*t)).collect();
        let author = Author::new("later", "proptest");
        let mut applied = [0usize; 3];
        for seed in &after {
            let (topic, delta) = ops::op(*seed);
            if scene.apply_delta(topic, delta, scene.version(), &author, 0).is_ok() {
                applied[Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0)] += 1;
            }
        }
        for (i, snapshot) in snapshots.into_iter().enumerate() {
            let topic = Topic::ALL[i];
            match scene.replay_since(topic, snapshot.version) {
                Replay::Deltas(entries) => {
                    prop_assert!(applied[i] <= limit, "{topic}: {} entries followed, history keeps {limit}", applied[i]);
                    prop_assert_eq!(entries.len(), applied[i]);
                    let mut caught_up = snapshot;
                    for entry in &entries {
                        caught_up.apply(entry);
                    }
                    prop_assert_eq!(&caught_up.records, scene.records(topic));
                }
                Replay::Baseline(baseline) => {
                    prop_assert!(applied[i] > limit, "{topic}: a baseline although the history held all {} entries", applied[i]);
                    prop_assert_eq!(&baseline.records, scene.records(topic));
                    prop_assert_eq!(baseline.version, scene.version());
                }
            }
        }
    }

    /// A rejected update leaves the version, every record and every history
    /// exactly as they were.
    #[test]
    fn a_rejected_update_changes_nothing(before in prop::collection::vec(any::<u64>(), 0..80), probes in prop::collection::vec(any::<u64>(), 1..40)) {
        let mut scene = build(16, &before);
        let author = Author::new("prober", "proptest");
        for probe in probes {
            let (topic, delta) = ops::op(probe);
            let expected = ops::expected(probe, scene.version());
            let kept = scene.clone();
            if scene.apply_delta(topic, delta, expected, &author, 0).is_err() {
                prop_assert_eq!(scene.version(), kept.version());
                for t in Topic::ALL {
                    prop_assert_eq!(scene.records(t), kept.records(t));
                    prop_assert_eq!(scene.replay_since(t, 0), kept.replay_since(t, 0));
                    prop_assert_eq!(scene.compacted_at(t), kept.compacted_at(t));
                }
            } else {
                prop_assert_eq!(scene.version(), kept.version() + 1);
            }
        }
    }
}

/// Real threads on one `Store`: every ack version is unique, the acks cover
/// 1..=N without a gap, each writer sees its own acks increase, and the
/// audit log lists the updates in strictly increasing versions.
#[test]
fn concurrent_writers_get_unique_gapless_increasing_versions()
-> Result<(), Box<dyn std::error::Error>> {
    let store = Store::in_memory(StoreConfig::default());
    let per_writer: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|w| {
                let store = &store;
                s.spawn(move || {
                    let author = Author::new(&format!("w{w}"), "threads");
                    let mut acks = Vec::new();
                    for i in 0..400u64 {
                        let seed = w << 32 | i;
                        let (topic, delta) = ops::op(seed);
                        if let Ok(warden_store::Outcome::Ack { version }) =
                            store.apply_delta(topic, delta, store.version(), &author)
                        {
                            acks.push(version);
                        }
                    }
                    acks
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut all: Vec<u64> = per_writer.iter().flatten().copied().collect();
    for acks in &per_writer {
        assert!(
            acks.windows(2).all(|w| w[0] < w[1]),
            "a writer's acks go up"
        );
    }
    all.sort_unstable();
    assert!(!all.is_empty());
    assert_eq!(
        all,
        (1..=all.len() as u64).collect::<Vec<_>>(),
        "unique and without gaps"
    );
    assert_eq!(store.version(), all.len() as u64);
    let audit = store.audit(&warden_store::AuditQuery::all())?;
    assert!(audit.windows(2).all(|w| w[0].version <= w[1].version));
    let by_w0 = store.audit(&warden_store::AuditQuery::all().by("w0"))?;
    assert!(by_w0.iter().all(|a| a.actor == "w0") && !by_w0.is_empty());
    Ok(())
}

/// The same promises across a reopen: history reloaded from the log lets a
/// cursor from before the close catch up to exactly the reopened state.
#[test]
fn a_snapshot_taken_before_close_catches_up_after_reopen() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    // Checkpoints at every 16 entries, so the reopen reads one and redoes after it.
    let config = StoreConfig {
        history: HistoryLimits::uniform(64),
        checkpoint_every: 16,
    };
    let author = Author::new("writer", "reopen");
    let store = Store::open(dir.path(), config)?;
    for i in 0..40u64 {
        let (topic, delta) = ops::op(i);
        store.apply_delta(topic, delta, store.version(), &author)?;
    }
    let snapshots: Vec<_> = Topic::ALL
        .iter()
        .map(|t| store.snapshot(*t))
        .collect::<Result<_, _>>()?;
    for i in 40..70u64 {
        let (topic, delta) = ops::op(i);
        store.apply_delta(topic, delta, store.version(), &author)?;
    }
    let version = store.version();
    store.close()?;
    let store = Store::open(dir.path(), config)?;
    assert_eq!(store.version(), version);
    for mut snapshot in snapshots {
        let topic = snapshot.topic;
        match store.replay_since(topic, snapshot.version)? {
            Replay::Deltas(entries) => entries.iter().for_each(|e| snapshot.apply(e)),
            Replay::Baseline(_) => panic!("{topic}: 30 updates fit in a history of 64"),
        }
        assert_eq!(snapshot.records, store.snapshot(topic)?.records, "{topic}");
    }
    store.close()?;
    let report = warden_store::verify(dir.path(), &mut |_, _| {})?;
    assert!(report.ok, "{:?}", report.problems);
    Ok(())
}

/// Versions never wrap: a seed may reach `MAX_VERSION` (2^53 − 1, exact in
/// every JSON client) but not pass it, and an update past it is refused
/// naming `version`, leaving the scene as it was.
#[test]
fn versions_stop_at_the_largest_json_integer() {
    use warden_store::{MAX_VERSION, Rejection};
    let mut scene = Scene::new(HistoryLimits::uniform(8));
    let author = Author::new("edge", "test");
    let too_far = scene.seed_snapshot(Topic::Layers, serde_json::json!({}), MAX_VERSION + 1, 1);
    assert!(
        matches!(&too_far, Err(Rejection::Invalid { field, .. }) if field == "version"),
        "{too_far:?}"
    );
    scene
        .seed_snapshot(Topic::Layers, serde_json::json!({}), MAX_VERSION, 1)
        .expect("a seed at the largest version");
    let (topic, delta) = ops::op(7);
    let refused = scene.apply_delta(topic, delta, MAX_VERSION, &author, 2);
    assert!(
        matches!(&refused, Err(Rejection::Invalid { field, .. }) if field == "version"),
        "{refused:?}"
    );
    assert_eq!(scene.version(), MAX_VERSION);
}

/// The version, each topic's history bounds, and every topic's replay from every cursor.
type HistoryView = (u64, Vec<(Topic, u64, usize)>, Vec<Replay>);

/// A store's [`HistoryView`].
fn history_view(store: &Store) -> Result<HistoryView, TestCaseError> {
    let fail = |e: warden_store::StoreError| TestCaseError::fail(e.to_string());
    let version = store.version();
    let mut replays = Vec::new();
    for topic in Topic::ALL {
        for since in 0..=version {
            replays.push(store.replay_since(topic, since).map_err(fail)?);
        }
    }
    Ok((version, store.history_state().map_err(fail)?, replays))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A reopen rebuilds each topic's history exactly as the store held it
    /// at close — the same entries, the same compaction points — whatever
    /// the history limit, the checkpoint interval and the seeds in the log.
    /// (A clean close checkpoints, so this reopen reads every window from
    /// before the checkpoint; `crash.rs` reopens with log to redo.)
    #[test]
    fn a_reopened_store_has_the_history_it_closed_with(
        seeds in prop::collection::vec(any::<u64>(), 0..120),
        limit in 1..24usize,
        every in 1..40u64,
        jumps in prop::collection::vec(0..120usize, 0..4),
    ) {
        let fail = |e: warden_store::StoreError| TestCaseError::fail(e.to_string());
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let config = StoreConfig { history: HistoryLimits::uniform(limit), checkpoint_every: every };
        let author = Author::new("writer", "reopen");
        let store = Store::open(dir.path(), config).map_err(fail)?;
        for (i, seed) in seeds.iter().enumerate() {
            if jumps.contains(&i) {
                let topic = Topic::ALL[(*seed % 3) as usize];
                // An empty snapshot: every topic takes it.
                let outcome = store
                    .seed_snapshot(topic, serde_json::json!({}), store.version() + 1 + seed % 3)
                    .map_err(fail)?;
                prop_assert!(matches!(outcome, Outcome::Ack { .. }), "{outcome:?}");
            } else {
                let (topic, delta) = ops::op(*seed);
                let _ = store.apply_delta(topic, delta, store.version(), &author);
            }
        }
        let before = history_view(&store)?;
        store.close().map_err(fail)?;
        let store = Store::open(dir.path(), config).map_err(fail)?;
        let after = history_view(&store)?;
        prop_assert_eq!(&after.0, &before.0);
        prop_assert_eq!(&after.1, &before.1);
        prop_assert!(after.2 == before.2, "the replays differ after the reopen");
        store.close().map_err(fail)?;
    }
}
