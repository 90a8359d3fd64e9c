//! Crash safety for real: a child process (this test binary, re-executed)
//! writes through a durable `Store` and prints every attempt and every ack;
//! the parent SIGKILLs it at a random ack count, reopens the store, and
//! checks that it equals a model that applied exactly the acknowledged
//! updates (plus, possibly, the one in flight) — every ack survived, and no
//! update is half there. Several rounds per store, seeded by proptest.

#[path = "support/ops.rs"]
mod ops;

use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use warden_store::{Author, HistoryLimits, Outcome, Replay, Scene, Store, StoreConfig, Topic};

const DIR_ENV: &str = "WARDEN_STORE_CRASH_DIR";
const SEED_ENV: &str = "WARDEN_STORE_CRASH_SEED";
/// The longest a child may stay silent before the test calls it deadlocked.
const SILENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// The child: write until killed. Prints `TRY i expected` before and
/// `ACK i version` / `REJ i` after each update. Does nothing unless the
/// parent set the environment (so `--ignored` runs are harmless).
#[test]
#[ignore = "run by crash tests as a child process"]
fn crash_child() -> Result<(), Box<dyn std::error::Error>> {
    let (Ok(dir), Ok(seed)) = (std::env::var(DIR_ENV), std::env::var(SEED_ENV)) else {
        return Ok(());
    };
    let seed: u64 = seed.parse()?;
    // Checkpoint often, so kills land before, during and after checkpoints.
    let config = StoreConfig {
        checkpoint_every: 7,
        ..StoreConfig::default()
    };
    let store = Store::open(Path::new(&dir), config)?;
    let author = Author::new("crash-child", "crash");
    let mut out = std::io::stdout().lock();
    writeln!(out, "READY {}", store.version())?;
    out.flush()?;
    for i in 0..100_000u64 {
        let op_seed = seed.wrapping_mul(0x1000_0001).wrapping_add(i);
        let (topic, delta) = ops::op(op_seed);
        let expected = match is_seed(i) {
            true => store.version() + 1,
            false => ops::expected(op_seed, store.version()),
        };
        writeln!(out, "TRY {i} {expected}")?;
        out.flush()?;
        let outcome = match is_seed(i) {
            true => store.seed_snapshot(topic, serde_json::json!({}), expected)?,
            false => store.apply_delta(topic, delta, expected, &author)?,
        };
        match outcome {
            Outcome::Ack { version } => writeln!(out, "ACK {i} {version}")?,
            Outcome::Reject { .. } => writeln!(out, "REJ {i}")?,
        }
        out.flush()?;
    }
    Ok(())
}

/// Now and then the child seeds a topic (an empty snapshot) instead of
/// updating it: a seed restarts the topic's history, which a reopen must
/// rebuild the same way.
fn is_seed(i: u64) -> bool {
    i % 11 == 10
}

/// The history window of the reopened store in the test (small, so that a
/// reopen reads it partly from the log redone after the checkpoint and
/// partly from before it).
const WINDOW: usize = 5;

/// What the parent learnt from one child's output.
#[derive(Default)]
struct Transcript {
    /// `(i, expected, outcome)`: `Some(Some(v))` acked at v, `Some(None)`
    /// rejected, `None` in flight when killed.
    attempts: Vec<(u64, u64, Option<Option<u64>>)>,
    acks: usize,
}

fn run_child(
    dir: &Path,
    seed: u64,
    kill_after_acks: usize,
) -> Result<Transcript, Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir)
        .env(SEED_ENV, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("child.stderr"))?)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    // The pipe is read on a thread of its own, so that a child that stops
    // talking (a deadlock) fails the test within the deadline instead of
    // hanging CI.
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut transcript = Transcript::default();
    let mut killed = false;
    loop {
        let line = match lines.recv_timeout(SILENCE) {
            Ok(line) => line?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                child.kill()?;
                let _ = child.wait();
                return Err(format!(
                    "the child said nothing for {SILENCE:?} after {} acks: deadlocked?",
                    transcript.acks
                )
                .into());
            }
        };
        // The test harness may print `test crash_child ... ` before our first word.
        let words: Vec<&str> = line.split_whitespace().collect();
        let start = words
            .iter()
            .position(|w| matches!(*w, "READY" | "TRY" | "ACK" | "REJ"))
            .unwrap_or(words.len());
        let words = &words[start..];
        match words {
            ["READY", _] if kill_after_acks == 0 => {
                child.kill()?;
                killed = true;
            }
            ["TRY", i, expected] => transcript
                .attempts
                .push((i.parse()?, expected.parse()?, None)),
            ["ACK", i, _] | ["REJ", i] => {
                let i: u64 = i.parse()?;
                let outcome = match words {
                    ["ACK", _, version] => Some(version.parse()?),
                    _ => None,
                };
                let last = transcript
                    .attempts
                    .last_mut()
                    .filter(|a| a.0 == i)
                    .ok_or("an answer without a try")?;
                last.2 = Some(outcome);
                if outcome.is_some() {
                    transcript.acks += 1;
                    if transcript.acks == kill_after_acks && !killed {
                        child.kill()?;
                        killed = true;
                    }
                }
            }
            _ => {}
        }
    }
    let status = child.wait()?;
    if !killed {
        let stderr = std::fs::read_to_string(dir.join("child.stderr")).unwrap_or_default();
        let last = transcript.attempts.last().map(|a| a.0);
        return Err(format!(
            "the child ended ({status}) after {} acks, last attempt {last:?}; stderr: {stderr}",
            transcript.acks
        )
        .into());
    }
    Ok(transcript)
}

/// Apply the transcript to the model; returns the last acked version.
fn follow(
    model: &mut Scene,
    seed: u64,
    transcript: &Transcript,
    reopened_version: u64,
) -> Result<(), String> {
    let author = Author::new("crash-child", "crash");
    for (i, expected, outcome) in &transcript.attempts {
        let op_seed = seed.wrapping_mul(0x1000_0001).wrapping_add(*i);
        let (topic, delta) = ops::op(op_seed);
        let apply = |model: &mut Scene| match is_seed(*i) {
            true => model
                .seed_snapshot(topic, serde_json::json!({}), *expected, 0)
                .ok()
                .map(|e| e.version),
            false => model
                .apply_delta(topic, delta.clone(), *expected, &author, 0)
                .ok()
                .map(|e| e.version),
        };
        match outcome {
            Some(result) => {
                let got = apply(model);
                if got != *result {
                    return Err(format!(
                        "op {i}: the model gives {got:?}, the child got {result:?}"
                    ));
                }
            }
            // The update in flight at the kill: durable or not, but whole.
            None if reopened_version > model.version() => {
                let got = apply(model);
                if got != Some(reopened_version) {
                    return Err(format!(
                        "op {i} in flight: the model gives {got:?}, the store is at {reopened_version}"
                    ));
                }
            }
            None => {}
        }
    }
    if model.version() != reopened_version {
        return Err(format!(
            "the store reopened at {reopened_version}, the acks say {}",
            model.version()
        ));
    }
    Ok(())
}

/// Per topic: the compaction point, the window's length and the versions a
/// cursor at the compaction point replays, from the scene or the store.
fn windows(
    state: impl Fn(Topic) -> (u64, usize),
    replay: impl Fn(Topic, u64) -> Replay,
) -> Vec<(Topic, u64, usize, Vec<u64>)> {
    Topic::ALL
        .iter()
        .map(|t| {
            let (from, len) = state(*t);
            let versions = match replay(*t, from) {
                Replay::Deltas(entries) => entries.iter().map(|e| e.version).collect(),
                Replay::Baseline(snapshot) => vec![u64::MAX, snapshot.version],
            };
            (*t, from, len, versions)
        })
        .collect()
}

/// The records without their timestamps (the model has its own clock).
fn values(
    scene_or_store: impl Fn(Topic) -> warden_store::TopicRecords,
) -> Vec<(Topic, String, String, serde_json::Value, u64, String)> {
    Topic::ALL
        .iter()
        .flat_map(|t| {
            scene_or_store(*t)
                .iter()
                .map(|(target, key, r)| {
                    (
                        *t,
                        target.to_owned(),
                        key.to_owned(),
                        r.confirmed_value.clone(),
                        r.version,
                        r.actor_id.to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn reopen_after_sigkill_equals_the_state_at_the_last_ack(
        seed in any::<u64>(),
        kills in prop::collection::vec(0usize..160, 3),
    ) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let window = StoreConfig { history: HistoryLimits::uniform(WINDOW), ..StoreConfig::default() };
        let mut model = Scene::new(window.history);
        for (round, kill_after) in kills.into_iter().enumerate() {
            let round_seed = seed.wrapping_add(round as u64);
            let transcript = run_child(dir.path(), round_seed, kill_after).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(transcript.acks >= kill_after, "the child was killed after {} acks", transcript.acks);
            let store = Store::open(dir.path(), window).map_err(|e| TestCaseError::fail(e.to_string()))?;
            follow(&mut model, round_seed, &transcript, store.version()).map_err(TestCaseError::fail)?;
            let stored = values(|t| store.snapshot(t).map(|s| s.records).unwrap_or_default());
            prop_assert_eq!(stored, values(|t| model.records(t).clone()), "round {} (killed after {} acks)", round, kill_after);
            let history = store.history_state().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let stored = windows(
                |t| history.iter().find(|h| h.0 == t).map_or((0, 0), |h| (h.1, h.2)),
                |t, from| store.replay_since(t, from).unwrap_or(Replay::Deltas(Vec::new())),
            );
            let modelled = windows(
                |t| (model.compacted_at(t), model.history_len(t)),
                |t, from| model.replay_since(t, from),
            );
            prop_assert_eq!(stored, modelled, "history, round {} (killed after {} acks)", round, kill_after);
            store.close().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let report = warden_store::verify(dir.path(), &mut |_, _| {}).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(report.ok, "round {}: {:?}", round, report.problems);
        }
    }
}
