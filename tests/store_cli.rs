//! `warden store`, run as the real binary: a bench SIGKILLed at random
//! moments (several seeded rounds on one store) leaves every acked update in
//! `inspect --json` and a store that `verify` accepts; the JSON contracts of
//! `inspect` and `bench`; one-line errors for missing and damaged stores.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn warden() -> Command {
    Command::new(env!("CARGO_BIN_EXE_warden"))
}

fn store(args: &[&str]) -> Output {
    warden().arg("store").args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A seeded xorshift: the kill points are random but reproducible.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// Every line `VERSION SCOPE TARGET KEY VALUE_JSON` of `acks` must be in
/// `inspect`: the record is at that version with that value, or newer.
fn assert_acks_survived(data: &Path, acks: &Path) -> usize {
    let inspected = json(&store(&[
        "inspect",
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]));
    let version = inspected["version"].as_u64().unwrap();
    let records: HashMap<(String, String, String), (u64, Value)> = inspected["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = (
                r["scope"].as_str().unwrap().to_owned(),
                r["target"].as_str().unwrap().to_owned(),
                r["key"].as_str().unwrap().to_owned(),
            );
            (key, (r["version"].as_u64().unwrap(), r["value"].clone()))
        })
        .collect();
    let text = std::fs::read_to_string(acks).unwrap();
    for line in text.lines() {
        let mut parts = line.splitn(5, ' ');
        let acked: u64 = parts.next().unwrap().parse().unwrap();
        let key = (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        );
        let value: Value = serde_json::from_str(parts.next().unwrap()).unwrap();
        assert!(
            acked <= version,
            "ack {acked} is past the store's version {version}"
        );
        let (stored, stored_value) = records
            .get(&key)
            .unwrap_or_else(|| panic!("acked record {key:?} is missing"));
        assert!(
            *stored >= acked,
            "{key:?} acked at {acked}, stored at {stored}"
        );
        if *stored == acked {
            assert_eq!(*stored_value, value, "{key:?} at version {acked}");
        }
    }
    text.lines().count()
}

#[test]
fn a_bench_killed_at_random_moments_keeps_every_acked_update() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let mut rng = Rng(0x5EED_0F57_0E00);
    let mut survived = 0;
    for round in 0..4 {
        let acks = dir.path().join(format!("acks-{round}.log"));
        let target = 1 + rng.below(2_500) as usize;
        let mut child = warden()
            .args([
                "store",
                "bench",
                "--data",
                data.to_str().unwrap(),
                "--writers",
                "8",
                "--overwrite",
            ])
            .args([
                "--updates",
                "100000000",
                "--acks-log",
                acks.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while lines(&acks) < target {
            assert!(
                Instant::now() < deadline,
                "round {round}: {} of {target} acks in 120 s",
                lines(&acks)
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "round {round}: the bench exited early"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        survived += assert_acks_survived(&data, &acks);
        let verify = store(&["verify", "--data", data.to_str().unwrap(), "--json"]);
        let report = json(&verify);
        assert_eq!(report["ok"], Value::Bool(true), "round {round}: {report}");
    }
    assert!(survived >= 4, "every round acked at least one update");
}

#[test]
fn inspect_and_bench_print_their_json_contracts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let bench = json(&store(&[
        "bench",
        "--data",
        data,
        "--writers",
        "2",
        "--updates",
        "50",
        "--json",
    ]));
    for key in ["acks_per_sec", "p50_ms", "p99_ms"] {
        assert!(bench[key].as_f64().unwrap() > 0.0, "{key}: {bench}");
    }
    assert_eq!(bench["acks"], 50);
    let inspected = json(&store(&["inspect", "--data", data, "--json", "--audit"]));
    // Three seeds (one per topic), then one version per update.
    assert_eq!(inspected["version"], 53);
    let records = inspected["records"].as_array().unwrap();
    // Two writers: 2 layers x 3 keys + the order; 2 views x 3 dims keys;
    // 2 views x 3 camera keys (center and zoom seeded, angles set by the bench).
    assert_eq!(records.len(), 7 + 6 + 6, "{records:?}");
    for r in records {
        for key in ["scope", "target", "key", "value", "version", "actor_id"] {
            assert!(r.get(key).is_some(), "record without {key}: {r}");
        }
    }
    let audit = inspected["audit"].as_array().unwrap();
    // The seeds write 7 + 6 + 4 records; every update writes one.
    assert_eq!(audit.len(), 17 + 50);
    for a in audit {
        for key in ["version", "actor", "scope", "target", "key", "old", "new"] {
            assert!(a.get(key).is_some(), "audit entry without {key}: {a}");
        }
    }
    assert!(
        audit
            .windows(2)
            .all(|w| w[0]["version"].as_u64() <= w[1]["version"].as_u64())
    );
    let human = store(&["inspect", "--data", data]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("version 53, 19 records"), "{text}");
    assert!(text.contains("audit (tail):"), "{text}");
    let without_audit = json(&store(&["inspect", "--data", data, "--json"]));
    assert!(without_audit.get("audit").is_none());

    // A second bench on the same, now non-empty store is refused and
    // changes nothing; --overwrite runs it.
    let again = store(&["bench", "--data", data, "--updates", "5"]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(
        err.contains("already holds a store (version 53)") && err.contains("--overwrite"),
        "{err}"
    );
    let unchanged = json(&store(&["inspect", "--data", data, "--json"]));
    assert_eq!(unchanged["version"], 53);
    let overwritten = json(&store(&[
        "bench",
        "--data",
        data,
        "--writers",
        "2",
        "--updates",
        "5",
        "--overwrite",
        "--json",
    ]));
    assert_eq!(overwritten["acks"], 5);
    let out = store(&["bench", "--data", data, "--updates", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn missing_or_damaged_stores_and_bad_arguments_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nowhere");
    let out = store(&["inspect", "--data", nowhere.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: no store at "), "{err}");

    let data = dir.path().join("store");
    json(&store(&[
        "bench",
        "--data",
        data.to_str().unwrap(),
        "--writers",
        "1",
        "--updates",
        "20",
        "--json",
    ]));
    let file = data.join(warden_store::FILE_NAME);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 3]).unwrap();
    for command in ["verify", "inspect"] {
        let out = store(&[command, "--data", data.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{command} on a truncated file: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.lines().any(|l| l.starts_with("error: ")),
            "{command}: {err}"
        );
    }

    let fresh = dir.path().join("fresh");
    let out = store(&["bench", "--data", fresh.to_str().unwrap(), "--writers", "0"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad argument is a usage error"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--writers"));
    assert!(!fresh.exists(), "nothing is created for a bad argument");
}
