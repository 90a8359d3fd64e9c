//! The in-memory hot paths, each beside its baseline:
//! - `apply/scene_apply_delta` (parse, reduce, version check, write, history)
//!   vs `apply/baseline_map_insert` (the bare record write it must at least do);
//! - `replay_100k/reduce` (re-running every reducer over 100k logged deltas, as
//!   `verify` does) vs `replay_100k/redo_changes` (applying the logged changes);
//! - `replay_since/100k` (a cursor catching up on 100k entries) vs
//!   `replay_since/baseline_vec_clone` (cloning the same `Vec<Arc<Entry>>`);
//! - `protocol/update_frame` (parse + validate a `state.update` frame into an
//!   `Apply`) vs `protocol/baseline_parse` (bare `serde_json::from_str`).
//!
//! Run: `cargo bench -p warden-store --bench core`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use warden_store::protocol::{Input, Protocol, ProtocolConfig};
use warden_store::{Author, Entry, HistoryLimits, Replay, Scene, Topic, TopicRecords};

const TARGETS: usize = 64;

/// A scene with 64 layers, dims views and camera views, like the CLI bench.
fn seeded(limit: usize) -> Scene {
    let mut scene = Scene::new(HistoryLimits::uniform(limit));
    let mut layers = serde_json::Map::new();
    let mut dims = serde_json::Map::new();
    let mut camera = serde_json::Map::new();
    let ids: Vec<String> = (0..TARGETS).map(|i| format!("w{i}")).collect();
    layers.insert("*".into(), json!({ "order": ids }));
    for i in 0..TARGETS {
        layers.insert(
            format!("w{i}"),
            json!({"name": format!("w{i}"), "visible": true, "opacity": 1.0}),
        );
        dims.insert(format!("v{i}"), json!({"ndim": 3, "range": [[0, 999, 1], [0, 999, 1], [0, 999, 1]], "current_step": [0, 0, 0]}));
        camera.insert(format!("v{i}"), json!({"zoom": 1.0}));
    }
    for (n, (topic, seed)) in [
        (Topic::Layers, layers),
        (Topic::Dims, dims),
        (Topic::Camera, camera),
    ]
    .into_iter()
    .enumerate()
    {
        scene
            .seed_snapshot(topic, Value::Object(seed), n as u64 + 1, 0)
            .expect("the bench seed is valid");
    }
    scene
}

/// The k-th update: one record of one of the 64 targets.
fn update(k: usize) -> (Topic, Value) {
    let i = k % TARGETS;
    match (k / TARGETS) % 3 {
        0 => (
            Topic::Layers,
            json!({"op": "set", "id": format!("w{i}"), "opacity": (k % 1000) as f64 / 1000.0}),
        ),
        1 => (
            Topic::Dims,
            json!({"op": "current_step", "target": format!("v{i}"), "axis": k % 3, "value": k % 1000}),
        ),
        _ => (
            Topic::Camera,
            json!({"op": "set", "target": format!("v{i}"), "zoom": 1.0 + (k % 97) as f64}),
        ),
    }
}

fn apply(c: &mut Criterion) {
    // Payloads arrive owned (parsed from a frame); sharing them through an
    // `Arc` here keeps the copy out of the measurement, as moving them would.
    let updates: Vec<(Topic, Arc<Value>)> = (0..4096)
        .map(|k| {
            let (topic, payload) = update(k);
            (topic, Arc::new(payload))
        })
        .collect();
    let author = Author::new("bench", "criterion");
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(1));
    group.bench_function("scene_apply_delta", |b| {
        let mut scene = seeded(4096);
        let mut k = 0;
        b.iter(|| {
            let (topic, payload) = &updates[k % updates.len()];
            k += 1;
            let version = scene.version();
            black_box(
                scene
                    .apply_delta(*topic, Arc::clone(payload), version, &author, 0)
                    .expect("valid"),
            )
        });
    });
    group.bench_function("baseline_map_insert", |b| {
        let mut map: BTreeMap<(String, String), Value> = BTreeMap::new();
        let mut k = 0;
        b.iter(|| {
            let (_, payload) = &updates[k % updates.len()];
            k += 1;
            let key = (format!("w{}", k % TARGETS), "opacity".to_owned());
            black_box(map.insert(key, payload["opacity"].clone()))
        });
    });
    group.finish();
}

/// 100k logged entries (3 seeds, then deltas), as a log holds them.
fn log_of(n: usize) -> Vec<Arc<Entry>> {
    let author = Author::new("bench", "criterion");
    let mut scene = Scene::new(HistoryLimits::uniform(n));
    let mut log = Vec::with_capacity(n);
    let seed = seeded(1);
    for topic in Topic::ALL {
        let values: serde_json::Map<String, Value> = seed
            .records(topic)
            .targets()
            .map(|(t, keys)| {
                (
                    t.to_owned(),
                    keys.iter()
                        .map(|(k, r)| (k.clone(), r.confirmed_value.clone()))
                        .collect(),
                )
            })
            .collect();
        log.push(
            scene
                .seed_snapshot(topic, Value::Object(values), scene.version() + 1, 0)
                .expect("valid seed"),
        );
    }
    for k in 0..n - 3 {
        let (topic, payload) = update(k);
        log.push(
            scene
                .apply_delta(topic, payload, scene.version(), &author, k as u64)
                .expect("valid"),
        );
    }
    log
}

fn replay(c: &mut Criterion) {
    let log = log_of(100_000);
    let mut group = c.benchmark_group("replay_100k");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(log.len() as u64));
    group.bench_function("reduce", |b| {
        b.iter_batched(
            || Scene::new(HistoryLimits::uniform(4096)),
            |mut scene| {
                for entry in &log {
                    scene.replay(entry).expect("the log replays");
                }
                scene
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("redo_changes", |b| {
        b.iter_batched(
            || {
                [
                    TopicRecords::new(),
                    TopicRecords::new(),
                    TopicRecords::new(),
                ]
            },
            |mut records| {
                for entry in &log {
                    let i = Topic::ALL
                        .iter()
                        .position(|t| *t == entry.topic)
                        .unwrap_or(0);
                    records[i].apply_changes(&entry.changes, entry.stamp(), &entry.author());
                }
                records
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();

    let mut scene = Scene::new(HistoryLimits::uniform(100_000));
    for entry in &log {
        scene.replay(entry).expect("the log replays");
    }
    let Replay::Deltas(layers) = scene.replay_since(Topic::Layers, 3) else {
        panic!("the history holds everything");
    };
    let mut group = c.benchmark_group("replay_since");
    group.throughput(Throughput::Elements(layers.len() as u64));
    group.bench_function("100k", |b| {
        b.iter(|| black_box(scene.replay_since(Topic::Layers, 3)))
    });
    group.bench_function("baseline_vec_clone", |b| {
        b.iter(|| black_box(layers.clone()))
    });
    group.finish();
}

fn protocol(c: &mut Criterion) {
    let mut machine = Protocol::new(
        ProtocolConfig {
            max_in_flight: usize::MAX,
            ..ProtocolConfig::default()
        },
        [1; 32],
    );
    machine.handle(Input::Connected {
        conn: 1,
        may_write: true,
        now_ms: 0,
    });
    machine.handle(Input::Frame {
        conn: 1,
        text: json!({"type": "session.hello", "actor_id": "bench"}).to_string(),
        now_ms: 0,
    });
    let frames: Vec<String> = (0..1024)
        .map(|k| {
            json!({"type": "state.update", "request_id": format!("r{k}"), "topic": "layers", "expected_version": 7,
                   "payload": {"op": "set", "id": "w1", "opacity": 0.5}})
            .to_string()
        })
        .collect();
    let mut group = c.benchmark_group("protocol");
    group.throughput(Throughput::Elements(1));
    group.bench_function("update_frame", |b| {
        let mut k = 0;
        b.iter(|| {
            let text = frames[k % frames.len()].clone();
            k += 1;
            let actions = machine.handle(Input::Frame {
                conn: 1,
                text,
                now_ms: 0,
            });
            // Answer at once so the in-flight set stays small.
            if let Some(warden_store::protocol::Action::Apply {
                session,
                request_id,
                ..
            }) = actions.into_iter().next()
            {
                let result = Ok(warden_store::Outcome::Reject {
                    reason: warden_store::Rejection::Ahead {
                        expected_version: 7,
                        current_version: 0,
                    },
                    current_version: 0,
                });
                black_box(machine.handle(Input::Applied {
                    session,
                    request_id,
                    result,
                }));
            }
        });
    });
    group.bench_function("baseline_parse", |b| {
        let mut k = 0;
        b.iter(|| {
            let text = frames[k % frames.len()].clone();
            k += 1;
            black_box(serde_json::from_str::<Value>(&text).expect("valid JSON"))
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = apply, replay, protocol }
criterion_main!(benches);
