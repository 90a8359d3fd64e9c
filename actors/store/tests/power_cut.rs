//! Power-loss durability. A SIGKILL (`crash.rs`) leaves the page cache
//! intact, so it cannot see a missing or misplaced fsync; this test can.
//! The store runs on a simulated disk (a redb `StorageBackend`) whose
//! writes stay volatile until `sync_data` makes them durable; at a random
//! write, resize or sync the power goes: that operation and every later one
//! fail, and everything not yet synced is thrown away. The durable image
//! is then written to a real file and reopened by `Store::open`, and
//! checked against an oracle that owes nothing to the store's reducers: a
//! plain map of the values whose updates were acknowledged. Every acked
//! value is there (or, for its key, the value of the one update in flight
//! at the cut), nothing else is, the audit log has every acked update
//! with its new value, and `verify` finds no problem. A cut while the file
//! is created leaves a half-made file under its temporary name (the rename
//! into place happens once it is whole); the next open replaces it.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use proptest::prelude::*;
use serde_json::{Value, json};
use warden_store::{
    AuditQuery, Author, CREATING_FILE_NAME, FILE_NAME, Outcome, StorageBackend, Store, StoreConfig,
    Topic, verify,
};

/// Updates per case (each one a durable commit).
const UPDATES: u64 = 40;
/// Camera targets the updates write (few, so keys are overwritten often).
const TARGETS: [&str; 3] = ["main", "side", "top"];

/// The simulated disk.
#[derive(Debug, Default)]
struct Disk {
    /// What reads see: every write so far.
    volatile: Vec<u8>,
    /// What survives the power cut: the state at the last `sync_data`.
    durable: Vec<u8>,
    /// Writes, resizes and syncs so far.
    ops: u64,
    /// The operation at which the power goes (1-based).
    cut_at: u64,
    /// The power is gone.
    cut: bool,
    /// Syncs that succeeded.
    syncs: u64,
}

impl Disk {
    /// Count one mutating operation; fail it and all later ones from the cut.
    fn tick(&mut self) -> io::Result<()> {
        if !self.cut {
            self.ops += 1;
            self.cut = self.ops >= self.cut_at;
        }
        if self.cut {
            return Err(io::Error::other("the power is off"));
        }
        Ok(())
    }
}

/// A disk shared between the store (as its backend) and the test.
#[derive(Clone, Debug)]
struct PowerCut(Arc<Mutex<Disk>>);

impl PowerCut {
    fn new(cut_at: u64) -> Self {
        Self(Arc::new(Mutex::new(Disk {
            cut_at,
            ..Disk::default()
        })))
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StorageBackend for PowerCut {
    fn len(&self) -> io::Result<u64> {
        Ok(self.disk().volatile.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let disk = self.disk();
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let bytes = disk
            .volatile
            .get(start..start + out.len())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end"))?;
        out.copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        disk.volatile
            .resize(usize::try_from(len).map_err(io::Error::other)?, 0);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        disk.durable = disk.volatile.clone();
        disk.syncs += 1;
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut disk = self.disk();
        disk.tick()?;
        let start = usize::try_from(offset).map_err(io::Error::other)?;
        let end = start + data.len();
        if disk.volatile.len() < end {
            disk.volatile.resize(end, 0);
        }
        disk.volatile[start..end].copy_from_slice(data);
        Ok(())
    }
}

/// Update `i` of case `seed`: one camera record set to a new value.
fn update(seed: u64, i: u64) -> (&'static str, &'static str, f64) {
    let mut x = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    let target = TARGETS[(x % 3) as usize];
    let key = if (x >> 8).is_multiple_of(2) {
        "zoom"
    } else {
        "perspective"
    };
    // Distinct values within a case, valid for both keys (0 < v < 180).
    (target, key, 1.0 + i as f64 + (seed % 7) as f64 / 8.0)
}

/// What a case saw before the power went.
#[derive(Debug, Default)]
struct Acked {
    /// The oracle: `(target, key) → value` of every acked update.
    values: BTreeMap<(String, String), f64>,
    /// `(version, target, key, value)` of every acked update.
    log: Vec<(u64, String, String, f64)>,
    /// The update in flight at the cut (no answer, or a failure).
    in_flight: Option<(String, String, f64)>,
    /// The store refused to open (the power went while it was created).
    open_failed: bool,
}

/// Write until the power goes at operation `cut_at`; returns what was
/// acknowledged and the disk's durable image.
fn write_until_the_cut(seed: u64, cut_at: u64) -> (Acked, PowerCut) {
    let disk = PowerCut::new(cut_at);
    let mut acked = Acked::default();
    let config = StoreConfig {
        checkpoint_every: 5,
        ..StoreConfig::default()
    };
    let store = match Store::open_on(Path::new("power-cut disk"), disk.clone(), config) {
        Ok(store) => store,
        Err(_) => {
            acked.open_failed = true;
            return (acked, disk);
        }
    };
    let author = Author::new("power-cut", "test");
    for i in 0..UPDATES {
        let (target, key, value) = update(seed, i);
        acked.in_flight = Some((target.into(), key.into(), value));
        let delta = json!({"op": "set", "target": target, key: value});
        match store.apply_delta(Topic::Camera, delta, store.version(), &author) {
            Ok(Outcome::Ack { version }) => {
                acked.values.insert((target.into(), key.into()), value);
                acked.log.push((version, target.into(), key.into(), value));
                acked.in_flight = None;
            }
            Ok(Outcome::Reject { reason, .. }) => panic!("a valid set was refused: {reason:?}"),
            Err(_) => break,
        }
    }
    drop(store);
    (acked, disk)
}

/// Reopen the durable image and check it against the oracle.
fn check_after_the_cut(acked: &Acked, disk: &PowerCut) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let image = disk.disk().durable.clone();
    // `Store::open` builds a new file under CREATING_FILE_NAME and renames it
    // into place once it is whole and synced: a cut during the creation
    // leaves the half-made file there, never under FILE_NAME.
    let file = if acked.open_failed {
        CREATING_FILE_NAME
    } else {
        FILE_NAME
    };
    if !image.is_empty() {
        std::fs::write(dir.path().join(file), &image).map_err(|e| e.to_string())?;
    }
    let store = Store::open(dir.path(), StoreConfig::default())
        .map_err(|e| format!("the store does not reopen after the cut: {e}"))?;
    if dir.path().join(CREATING_FILE_NAME).exists() {
        return Err("a half-made store file was left after the reopen".into());
    }
    let last_acked = acked.log.last().map_or(0, |a| a.0);
    let version = store.version();
    if version != last_acked && !(acked.in_flight.is_some() && version == last_acked + 1) {
        return Err(format!(
            "reopened at version {version}, the last ack was {last_acked}"
        ));
    }
    let in_flight_landed = version == last_acked + 1 && acked.in_flight.is_some();
    let records = store
        .snapshot(Topic::Camera)
        .map_err(|e| e.to_string())?
        .records;
    let mut expected: BTreeMap<(String, String), f64> = acked.values.clone();
    if in_flight_landed && let Some((target, key, value)) = &acked.in_flight {
        expected.insert((target.clone(), key.clone()), *value);
    }
    let mut found = BTreeMap::new();
    for (target, key, record) in records.iter() {
        found.insert(
            (target.to_owned(), key.to_owned()),
            record.confirmed_value.clone(),
        );
    }
    let want: BTreeMap<_, _> = expected
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if found != want {
        return Err(format!(
            "records after the cut {found:?}, the acks say {want:?} (in flight: {:?}, landed: {in_flight_landed})",
            acked.in_flight
        ));
    }
    let audit = store.audit(&AuditQuery::all()).map_err(|e| e.to_string())?;
    let lines: Vec<(u64, String, String, Option<Value>)> = audit
        .into_iter()
        .map(|a| (a.version, a.target, a.key, a.new))
        .collect();
    let mut want_lines: Vec<(u64, String, String, Option<Value>)> = acked
        .log
        .iter()
        .map(|(v, t, k, x)| (*v, t.clone(), k.clone(), Some(json!(x))))
        .collect();
    if in_flight_landed && let Some((target, key, value)) = &acked.in_flight {
        want_lines.push((version, target.clone(), key.clone(), Some(json!(value))));
    }
    if lines != want_lines {
        return Err(format!(
            "the audit log after the cut {lines:?}, the acks say {want_lines:?}"
        ));
    }
    drop(store);
    let report = verify(dir.path(), &mut |_, _| {}).map_err(|e| e.to_string())?;
    if !report.ok {
        return Err(format!("verify after the cut: {:?}", report.problems));
    }
    Ok(())
}

/// How many mutating operations a case makes when the power never goes.
fn operations_without_a_cut() -> (u64, u64) {
    let (acked, disk) = write_until_the_cut(1, u64::MAX);
    assert_eq!(acked.log.len() as u64, UPDATES);
    check_after_the_cut(&acked, &disk).unwrap();
    let disk = disk.disk();
    (disk.ops, disk.syncs)
}

#[test]
fn without_a_cut_everything_is_there_and_synced() {
    let (ops, syncs) = operations_without_a_cut();
    // Every ack waits for a sync: at least one sync per update.
    assert!(
        syncs >= UPDATES,
        "{syncs} syncs for {UPDATES} acked updates"
    );
    eprintln!("{UPDATES} updates: {ops} writes, resizes and syncs, {syncs} syncs");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, .. ProptestConfig::default() })]

    /// The power goes at any operation of a case's life, from the file's
    /// creation to its close: every acked update survives, whole.
    #[test]
    fn every_acked_update_survives_a_power_cut(seed in any::<u64>(), at in 0.0f64..0.98) {
        static OPS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let ops = *OPS.get_or_init(|| operations_without_a_cut().0);
        let cut_at = 1 + (at * ops as f64) as u64;
        let (acked, disk) = write_until_the_cut(seed, cut_at);
        prop_assert!(disk.disk().cut, "the power went at operation {cut_at} of {ops}");
        if let Err(problem) = check_after_the_cut(&acked, &disk) {
            prop_assert!(false, "cut at operation {cut_at} of {ops} (seed {seed}, {} acked{}): {problem}",
                acked.log.len(), if acked.open_failed { ", the open failed" } else { "" });
        }
    }
}
