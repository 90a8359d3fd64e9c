//! The quality targets, asserted on the built-in scenarios: full
//! 640×480 sequences of 300 frames (30 s at 10 fps), two seeds each, plus
//! other object counts. Everything is seeded, so the scores are exact and
//! the same on every machine; timing is not asserted here (see the
//! benchmarks).

use warden_perception::{PipelineConfig, Scenario, SyntheticCamera, evaluate, run_sequence};

/// MOTA and IDF1 of one synthetic sequence.
fn score(scenario: Scenario, seed: u64, objects: Option<usize>) -> (f64, f64) {
    score_with(scenario, seed, objects, false)
}

fn score_with(
    scenario: Scenario,
    seed: u64,
    objects: Option<usize>,
    start_inside: bool,
) -> (f64, f64) {
    let mut cfg = scenario.config(seed);
    cfg.start_inside = start_inside;
    if let Some(n) = objects {
        cfg.objects = n;
    }
    let mut cam = SyntheticCamera::new(cfg).expect("valid scenario");
    let report =
        run_sequence(&mut cam, &PipelineConfig::default(), |_| {}).expect("synthetic frames");
    let truth = report.truth.expect("synthetic frames carry truth");
    let m = evaluate(&truth, &report.tracks, 0.5);
    (m.mota, m.idf1)
}

fn assert_meets(scenario: Scenario, seed: u64, objects: Option<usize>, mota: f64, idf1: f64) {
    let (a, b) = score(scenario, seed, objects);
    assert!(
        a >= mota && b >= idf1,
        "{scenario} seed {seed} objects {objects:?}: MOTA {a:.3} (target {mota}), IDF1 {b:.3} (target {idf1})"
    );
}

#[test]
fn easy_meets_mota_095_and_idf1_090() {
    for seed in [1, 2] {
        assert_meets(Scenario::Easy, seed, None, 0.95, 0.90);
    }
}

#[test]
fn crossing_meets_mota_095_and_idf1_090() {
    for seed in [1, 2] {
        assert_meets(Scenario::Crossing, seed, None, 0.95, 0.90);
    }
}

#[test]
fn crowded_meets_mota_085_and_idf1_075() {
    for seed in [1, 2] {
        assert_meets(Scenario::Crowded, seed, None, 0.85, 0.75);
    }
}

#[test]
fn noisy_meets_mota_085_and_idf1_075() {
    for seed in [1, 2] {
        assert_meets(Scenario::Noisy, seed, None, 0.85, 0.75);
    }
}

#[test]
fn other_object_counts_meet_the_same_targets() {
    assert_meets(Scenario::Easy, 7, Some(6), 0.95, 0.90);
    assert_meets(Scenario::Crossing, 7, Some(6), 0.95, 0.90);
    assert_meets(Scenario::Crowded, 7, Some(30), 0.85, 0.75);
    assert_meets(Scenario::Noisy, 7, Some(12), 0.85, 0.75);
}

/// Objects already in view when the camera starts: the bootstrapped
/// background keeps them out of it, so they are tracked from the start.
#[test]
fn objects_in_the_first_frame_are_tracked_from_the_start() {
    for (scenario, seed, mota, idf1) in [
        (Scenario::Easy, 1, 0.95, 0.90),
        (Scenario::Crowded, 1, 0.85, 0.75),
    ] {
        let (a, b) = score_with(scenario, seed, None, true);
        assert!(
            a >= mota && b >= idf1,
            "{scenario} seed {seed} starting inside: MOTA {a:.3}, IDF1 {b:.3}"
        );
    }
}
