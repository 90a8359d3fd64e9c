//! Durable acks, beside the physical limit and the bare library call:
//! - `durable_ack/store_apply_delta`: one writer, ack after the redb commit;
//! - `durable_ack/baseline_fdatasync_4k`: append 4 KiB and `fdatasync` (the disk's floor);
//! - `durable_ack/baseline_redb_commit`: one bare redb insert + `Durability::Immediate` commit;
//! - `group_commit/64_writers`: 64 threads, 16 acks each, per iteration
//!   (1024 acks) — the throughput the group committer buys;
//! - `group_commit/1_writer`: acks from one thread (64 per iteration; no batching).
//!
//! Run: `cargo bench -p warden-store --bench durable`

use std::fs::OpenOptions;
use std::io::Write as _;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redb::{Database, Durability, TableDefinition};
use serde_json::json;
use warden_store::{Author, Outcome, Store, StoreConfig, Topic};

const WRITERS: usize = 64;

fn open_seeded(dir: &std::path::Path) -> Store {
    let store = Store::open(dir, StoreConfig::default()).expect("open the store");
    let seed: serde_json::Map<String, serde_json::Value> = (0..WRITERS)
        .map(|i| (format!("v{i}"), json!({"zoom": 1.0})))
        .collect();
    let version = store.version() + 1;
    store
        .seed_snapshot(Topic::Camera, serde_json::Value::Object(seed), version)
        .expect("seed the store");
    store
}

fn zoom(store: &Store, author: &Author, view: usize, k: u64) {
    let payload =
        json!({"op": "set", "target": format!("v{view}"), "zoom": 1.0 + k as f64 / 1000.0});
    match store
        .apply_delta(Topic::Camera, payload, store.version(), author)
        .expect("durable")
    {
        Outcome::Ack { .. } => {}
        Outcome::Reject { reason, .. } => panic!("rejected: {reason}"),
    }
}

fn single(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("durable_ack");
    group.throughput(Throughput::Elements(1));
    {
        let store = open_seeded(&dir.path().join("store"));
        let author = Author::new("bench", "criterion");
        let mut k = 0;
        group.bench_function("store_apply_delta", |b| {
            b.iter(|| {
                k += 1;
                zoom(&store, &author, 0, k);
            });
        });
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("append.bin"))
        .expect("open");
    let block = vec![7u8; 4096];
    group.bench_function("baseline_fdatasync_4k", |b| {
        b.iter(|| {
            file.write_all(&block).expect("write");
            file.sync_data().expect("fdatasync");
        });
    });
    const TABLE: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("t");
    let db = Database::create(dir.path().join("bare.redb")).expect("create");
    let row = vec![1u8; 300];
    let mut key = 0u64;
    group.bench_function("baseline_redb_commit", |b| {
        b.iter(|| {
            let mut txn = db.begin_write().expect("begin");
            txn.set_durability(Durability::Immediate)
                .expect("durability");
            {
                let mut table = txn.open_table(TABLE).expect("table");
                key += 1;
                table.insert(key, row.as_slice()).expect("insert");
            }
            txn.commit().expect("commit");
        });
    });
    group.finish();
}

fn group_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_seeded(dir.path());
    let authors: Vec<Author> = (0..WRITERS)
        .map(|i| Author::new(&format!("w{i}"), "criterion"))
        .collect();
    let per_writer = 16u64;
    let mut group = c.benchmark_group("group_commit");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(WRITERS as u64 * per_writer));
    group.bench_function("64_writers", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for (i, author) in authors.iter().enumerate() {
                        let store = &store;
                        s.spawn(move || (0..per_writer).for_each(|k| zoom(store, author, i, k)));
                    }
                });
                total += start.elapsed();
            }
            total
        });
    });
    // One thread, one ack per writer identity: 64 acks per iteration.
    group.throughput(Throughput::Elements(WRITERS as u64));
    group.bench_function("1_writer", |b| {
        let mut k = 0;
        b.iter(|| {
            k += 1;
            for (i, author) in authors.iter().enumerate() {
                zoom(&store, author, i, k);
            }
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! { name = benches; config = config(); targets = single, group_commit }
criterion_main!(benches);
