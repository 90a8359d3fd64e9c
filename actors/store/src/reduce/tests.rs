//! Unit tests of the reducers: every op, and every rejection names its field.

use serde_json::{Value, json};

use super::*;
use crate::record::{Author, Stamp};

/// Apply `deltas` in turn to empty records of `topic`.
fn state(topic: Topic, deltas: &[Value]) -> TopicRecords {
    let mut records = TopicRecords::new();
    let author = Author::new("t", "test");
    for (i, delta) in deltas.iter().enumerate() {
        let writes =
            reduce(topic, &records, delta).unwrap_or_else(|r| panic!("delta {i} {delta}: {r}"));
        let stamp = Stamp {
            version: i as u64 + 1,
            timestamp: 0,
        };
        records.apply(writes, stamp, &author);
    }
    records
}

fn field(topic: Topic, prev: &TopicRecords, delta: Value) -> String {
    match reduce(topic, prev, &delta) {
        Err(Rejection::Invalid { field, .. }) => field,
        other => panic!("{delta} was not rejected as invalid: {other:?}"),
    }
}

#[test]
fn layers_add_set_reorder_remove() {
    let records = state(
        Topic::Layers,
        &[
            json!({"op": "add", "id": "a"}),
            json!({"op": "add", "id": "b", "name": "Base", "opacity": 0.25, "visible": false, "index": 0}),
            json!({"op": "add", "id": "c"}),
            json!({"op": "set", "id": "a", "opacity": 0.5, "name": "Alpha"}),
            json!({"op": "reorder", "order": ["c", "a", "b"]}),
            json!({"op": "remove", "id": "a"}),
        ],
    );
    assert_eq!(records.value("*", "order"), Some(&json!(["c", "b"])));
    assert_eq!(records.value("b", "name"), Some(&json!("Base")));
    assert_eq!(records.value("b", "opacity"), Some(&json!(0.25)));
    assert_eq!(records.value("b", "visible"), Some(&json!(false)));
    assert_eq!(records.value("c", "opacity"), Some(&json!(1.0)));
    assert!(
        records.target("a").is_none(),
        "a removed layer leaves no records"
    );
}

#[test]
fn layers_rejections_name_the_field() {
    let prev = state(
        Topic::Layers,
        &[
            json!({"op": "add", "id": "a"}),
            json!({"op": "add", "id": "b"}),
        ],
    );
    let cases = [
        (json!({"op": "set", "id": "a", "opacity": 1.5}), "opacity"),
        (json!({"op": "set", "id": "a", "opacity": "x"}), "opacity"),
        (json!({"op": "set", "id": "a", "visible": 1}), "visible"),
        (json!({"op": "set", "id": "a", "name": ""}), "name"),
        (json!({"op": "set", "id": "zz", "opacity": 0.1}), "id"),
        (json!({"op": "set", "id": "a"}), "op"),
        (json!({"op": "set", "id": "a", "opactiy": 0.1}), "opactiy"),
        (json!({"op": "add", "id": "a"}), "id"),
        (json!({"op": "add", "id": "bad id"}), "id"),
        (json!({"op": "add", "id": "*"}), "id"),
        (json!({"op": "add", "id": "c", "index": 5}), "index"),
        (json!({"op": "remove"}), "id"),
        (json!({"op": "reorder", "order": ["a"]}), "order"),
        (json!({"op": "reorder", "order": ["a", "a"]}), "order[1]"),
        (json!({"op": "reorder", "order": ["a", "q"]}), "order[1]"),
        (json!({"op": "reorder", "order": "a,b"}), "order"),
        (json!({"op": "explode"}), "op"),
        (json!({"id": "a"}), "op"),
        (json!([1, 2]), "payload"),
    ];
    for (delta, want) in cases {
        assert_eq!(field(Topic::Layers, &prev, delta.clone()), want, "{delta}");
    }
}

#[test]
fn dims_keep_current_step_within_range() {
    let records = state(
        Topic::Dims,
        &[
            json!({"op": "ndim", "target": "main", "ndim": 3}),
            json!({"op": "range", "target": "main", "axis": 0, "range": [0, 99, 1]}),
            json!({"op": "current_step", "target": "main", "axis": 0, "value": 80}),
            json!({"op": "range", "target": "main", "axis": 0, "range": [0, 10, 2]}),
        ],
    );
    assert_eq!(records.value("main", "ndim"), Some(&json!(3)));
    assert_eq!(
        records.value("main", "current_step"),
        Some(&json!([5, 0, 0])),
        "80 is pulled in to the last of 6 steps"
    );
    let shrunk = state(
        Topic::Dims,
        &[
            json!({"op": "ndim", "target": "v", "ndim": 3}),
            json!({"op": "ndim", "target": "v", "ndim": 2}),
        ],
    );
    assert_eq!(
        shrunk.value("v", "range"),
        Some(&json!([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]))
    );
    assert_eq!(steps([0.0, 1.0, 0.1]), 11);
}

#[test]
fn dims_rejections_name_the_field() {
    let prev = state(
        Topic::Dims,
        &[json!({"op": "ndim", "target": "main", "ndim": 2})],
    );
    let cases = [
        (
            json!({"op": "current_step", "target": "main", "axis": 0, "value": 2}),
            "value",
        ),
        (
            json!({"op": "current_step", "target": "main", "axis": 2, "value": 0}),
            "axis",
        ),
        (
            json!({"op": "current_step", "target": "other", "axis": 0, "value": 0}),
            "target",
        ),
        (
            json!({"op": "current_step", "target": "main", "axis": 0, "value": -1}),
            "value",
        ),
        (
            json!({"op": "range", "target": "main", "axis": 0, "range": [0, 10, 0]}),
            "range[2]",
        ),
        (
            json!({"op": "range", "target": "main", "axis": 0, "range": [5, 1, 1]}),
            "range[1]",
        ),
        (
            json!({"op": "range", "target": "main", "axis": 0, "range": [0, 1]}),
            "range",
        ),
        (json!({"op": "ndim", "target": "main", "ndim": 0}), "ndim"),
        (json!({"op": "ndim", "target": "main", "ndim": 33}), "ndim"),
        (json!({"op": "ndim", "ndim": 2}), "target"),
    ];
    for (delta, want) in cases {
        assert_eq!(field(Topic::Dims, &prev, delta.clone()), want, "{delta}");
    }
}

#[test]
fn camera_sets_and_rejects() {
    let records = state(
        Topic::Camera,
        &[
            json!({"op": "set", "target": "main", "center": [1, 2, 3], "zoom": 2, "angles": [0, 45, 90], "perspective": 30}),
        ],
    );
    assert_eq!(records.value("main", "zoom"), Some(&json!(2.0)));
    assert_eq!(
        records.value("main", "center"),
        Some(&json!([1.0, 2.0, 3.0]))
    );
    let cases = [
        (json!({"op": "set", "target": "main", "zoom": 0}), "zoom"),
        (json!({"op": "set", "target": "main", "zoom": -1}), "zoom"),
        (
            json!({"op": "set", "target": "main", "center": [1]}),
            "center",
        ),
        (
            json!({"op": "set", "target": "main", "center": [1, "y"]}),
            "center[1]",
        ),
        (
            json!({"op": "set", "target": "main", "angles": [1, 2]}),
            "angles",
        ),
        (
            json!({"op": "set", "target": "main", "perspective": 180}),
            "perspective",
        ),
        (json!({"op": "set", "target": "main"}), "op"),
        (json!({"op": "reset", "target": "main"}), "op"),
    ];
    for (delta, want) in cases {
        assert_eq!(
            field(Topic::Camera, &records, delta.clone()),
            want,
            "{delta}"
        );
    }
}

#[test]
fn seeds_are_validated_whole_and_replace_the_topic() {
    let prev = state(Topic::Layers, &[json!({"op": "add", "id": "old"})]);
    let seed = json!({"*": {"order": ["a"]}, "a": {"name": "A", "visible": true, "opacity": 1}});
    let writes = seed_writes(Topic::Layers, &prev, &seed).unwrap_or_default();
    assert!(
        writes.contains(&Write::set("a", "opacity", json!(1.0))),
        "numbers are normalised"
    );
    assert!(
        writes.contains(&Write::delete("old", "name")),
        "what the seed lacks is deleted"
    );
    let bad = [
        (Topic::Layers, json!({"*": {"order": ["a"]}}), "*.order[0]"),
        (
            Topic::Layers,
            json!({"*": {"order": ["a"]}, "a": {"name": "A", "visible": true}}),
            "a.opacity",
        ),
        (
            Topic::Layers,
            json!({"a": {"name": "A", "visible": true, "opacity": 1}}),
            "*.order",
        ),
        (
            Topic::Layers,
            json!({"*": {"order": []}, "a": {"name": "A", "visible": true, "opacity": 1}}),
            "a",
        ),
        (
            Topic::Dims,
            json!({"v": {"ndim": 1, "range": [[0, 3, 1]], "current_step": [4]}}),
            "v.current_step[0]",
        ),
        (
            Topic::Dims,
            json!({"v": {"ndim": 2, "range": [[0, 3, 1]], "current_step": [0]}}),
            "v.ndim",
        ),
        (Topic::Camera, json!({"v": {"zoom": 0}}), "v.zoom"),
        (Topic::Camera, json!({"*": {"zoom": 1}}), "*"),
        (Topic::Camera, json!([]), "snapshot"),
    ];
    for (topic, seed, want) in bad {
        match seed_writes(topic, &TopicRecords::new(), &seed) {
            Err(Rejection::Invalid { field, .. }) => assert_eq!(field, want, "{seed}"),
            other => panic!("{seed} was not rejected: {other:?}"),
        }
    }
}

fn message(topic: Topic, prev: &TopicRecords, delta: Value) -> String {
    match reduce(topic, prev, &delta) {
        Err(Rejection::Invalid { message, .. }) => message,
        other => panic!("{delta} was not rejected as invalid: {other:?}"),
    }
}

fn seed_field(topic: Topic, seed: &Value) -> String {
    match seed_writes(topic, &TopicRecords::new(), seed) {
        Err(Rejection::Invalid { field, .. }) => field,
        other => panic!("{seed} was not rejected: {other:?}"),
    }
}

/// The limits at their exact edges: each assertion here killed a mutant
/// that `cargo mutants` found surviving (`>` for `>=`, `-` for `+`, ...).
#[test]
fn limits_hold_at_their_exact_edges() {
    // steps(): a range that does not start at 0.
    assert_eq!(steps([2.0, 5.0, 1.0]), 4);
    assert_eq!(steps([3.0, 3.0, 1.0]), 1);
    let main = state(
        Topic::Dims,
        &[json!({"op": "ndim", "target": "main", "ndim": 1})],
    );
    // A range with stop == start is one step; stop below start is refused.
    assert!(
        reduce(
            Topic::Dims,
            &main,
            &json!({"op": "range", "target": "main", "axis": 0, "range": [2, 2, 1]})
        )
        .is_ok()
    );
    // Up to 2^32 steps: (stop - start) / step must stay below 2^32.
    let edge = (1u64 << 32) as f64;
    for (range, ok) in [
        (json!([10.0, 10.0 + edge - 1.0, 1.0]), true),
        (json!([0.0, edge, 1.0]), false),
        (json!([0.0, edge / 2.0, 0.5]), false),
        (json!([0.0, edge / 2.0 - 1.0, 0.5]), true),
    ] {
        let delta = json!({"op": "range", "target": "main", "axis": 0, "range": range});
        assert_eq!(reduce(Topic::Dims, &main, &delta).is_ok(), ok, "{delta}");
    }
    // A current step already on the last step of a range that keeps it
    // writes the range alone.
    let at_last = state(
        Topic::Dims,
        &[
            json!({"op": "ndim", "target": "main", "ndim": 1}),
            json!({"op": "range", "target": "main", "axis": 0, "range": [0, 3, 1]}),
            json!({"op": "current_step", "target": "main", "axis": 0, "value": 3}),
        ],
    );
    let writes = reduce(
        Topic::Dims,
        &at_last,
        &json!({"op": "range", "target": "main", "axis": 0, "range": [0, 3, 1]}),
    )
    .unwrap_or_default();
    assert_eq!(writes.len(), 1, "{writes:?}");
    // A dims snapshot whose steps (not ranges) disagree with ndim.
    assert_eq!(
        seed_field(
            Topic::Dims,
            &json!({"v": {"ndim": 1, "range": [[0, 3, 1]], "current_step": [0, 0]}})
        ),
        "v.ndim"
    );
    // Fields of a snapshot are named target.key.
    assert_eq!(
        seed_field(
            Topic::Dims,
            &json!({"v": {"ndim": 0, "range": [], "current_step": []}})
        ),
        "v.ndim"
    );
    // Names: targets up to 128 bytes, layer names up to 256.
    let long = |n: usize| "x".repeat(n);
    assert!(
        reduce(
            Topic::Camera,
            &TopicRecords::new(),
            &json!({"op": "set", "target": long(128), "zoom": 2})
        )
        .is_ok()
    );
    assert_eq!(
        field(
            Topic::Camera,
            &TopicRecords::new(),
            json!({"op": "set", "target": long(129), "zoom": 2})
        ),
        "target"
    );
    let layer_a = state(Topic::Layers, &[json!({"op": "add", "id": "a"})]);
    assert!(
        reduce(
            Topic::Layers,
            &layer_a,
            &json!({"op": "set", "id": "a", "name": long(256)})
        )
        .is_ok()
    );
    assert_eq!(
        field(
            Topic::Layers,
            &layer_a,
            json!({"op": "set", "id": "a", "name": long(257)})
        ),
        "name"
    );
    // Messages say what was found.
    let msg = message(
        Topic::Layers,
        &layer_a,
        json!({"op": "set", "id": "a", "visible": "yes"}),
    );
    assert!(msg.contains("expected a boolean, got a string"), "{msg}");
    let msg = message(
        Topic::Layers,
        &layer_a,
        json!({"op": "set", "id": "a", "opacity": [1]}),
    );
    assert!(msg.contains("got an array"), "{msg}");
}

#[test]
fn snapshots_at_their_edges() {
    // An empty layers snapshot clears the topic.
    let prev = state(Topic::Layers, &[json!({"op": "add", "id": "old"})]);
    let writes = seed_writes(Topic::Layers, &prev, &json!({})).unwrap_or_else(|r| panic!("{r}"));
    assert!(writes.contains(&Write::delete("old", "name")), "{writes:?}");
    // Exactly MAX_LAYERS layers are accepted; one more is not.
    let seed = |n: usize| {
        let mut targets = serde_json::Map::new();
        let ids: Vec<String> = (0..n).map(|i| format!("l{i}")).collect();
        targets.insert("*".into(), json!({"order": ids}));
        for id in ids {
            targets.insert(id, json!({"name": "L", "visible": true, "opacity": 1}));
        }
        Value::Object(targets)
    };
    let max = layers::MAX_LAYERS;
    assert!(seed_writes(Topic::Layers, &TopicRecords::new(), &seed(max)).is_ok());
    assert_eq!(seed_field(Topic::Layers, &seed(max + 1)), "*.order");
    // A camera view with no records is refused, naming the view.
    assert_eq!(seed_field(Topic::Camera, &json!({"v": {}})), "v");
}

#[test]
fn a_stored_dims_view_missing_a_record_is_named() {
    // Records a reducer never writes alone (a damaged or hand-edited store):
    // the rejection names the stored record that is missing.
    let mut records = TopicRecords::new();
    let stamp = Stamp {
        version: 1,
        timestamp: 0,
    };
    records.apply(
        vec![Write::set("v", "ndim", json!(1))],
        stamp,
        &Author::new("t", "test"),
    );
    assert_eq!(
        field(
            Topic::Dims,
            &records,
            json!({"op": "current_step", "target": "v", "axis": 0, "value": 0})
        ),
        "v.range"
    );
}
