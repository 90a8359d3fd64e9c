//! Hand-computed cases for the metrics: each pins one rule of the
//! MOTChallenge definitions.

use super::*;

fn rec(frame: u32, id: u64, x: f32) -> MotRecord {
    MotRecord {
        frame,
        id,
        bbox: BBox::new(x, 0.0, 10.0, 10.0),
        conf: 1.0,
    }
}

#[test]
fn perfect_tracking_scores_one_everywhere() {
    let gt: Vec<_> = (1..=10)
        .flat_map(|f| [rec(f, 1, f as f32), rec(f, 2, 100.0 - f as f32)])
        .collect();
    let hyp: Vec<_> = gt
        .iter()
        .map(|r| MotRecord {
            id: r.id + 10,
            ..*r
        })
        .collect();
    let m = evaluate(&gt, &hyp, 0.5);
    assert_eq!(
        (m.matches, m.false_positives, m.misses, m.id_switches),
        (20, 0, 0, 0)
    );
    assert_eq!(
        (m.mota, m.idf1, m.precision, m.recall),
        (1.0, 1.0, 1.0, 1.0)
    );
}

#[test]
fn misses_false_positives_and_a_switch_add_up_in_mota() {
    // Object 1 over 4 frames: frame 1 hyp A, frame 2 nothing, frames 3-4 hyp B.
    // A stray hypothesis C in frame 2 far away.
    let gt: Vec<_> = (1..=4).map(|f| rec(f, 1, 0.0)).collect();
    let hyp = vec![
        rec(1, 7, 0.0),
        rec(2, 9, 50.0),
        rec(3, 8, 1.0),
        rec(4, 8, 0.0),
    ];
    let m = evaluate(&gt, &hyp, 0.5);
    assert_eq!(
        (m.matches, m.misses, m.false_positives, m.id_switches),
        (3, 1, 1, 1)
    );
    assert!((m.mota - (1.0 - 3.0 / 4.0)).abs() < 1e-12);
    assert!((m.precision - 0.75).abs() < 1e-12 && (m.recall - 0.75).abs() < 1e-12);
    // Best identity pairing: object 1 ↔ hypothesis 8 (2 frames).
    assert_eq!((m.idtp, m.idfn, m.idfp), (2, 2, 2));
    assert!((m.idf1 - 0.5).abs() < 1e-12);
}

#[test]
fn a_previous_match_is_kept_over_a_better_overlap() {
    // Frame 1: object 1 matched with hyp 5. Frame 2: hyp 6 fits better
    // (IoU 1) but hyp 5 still overlaps at IoU ≥ 0.5: no switch.
    let gt = vec![rec(1, 1, 0.0), rec(2, 1, 0.0)];
    let hyp = vec![rec(1, 5, 0.0), rec(2, 5, 2.0), rec(2, 6, 0.0)];
    let m = evaluate(&gt, &hyp, 0.5);
    assert_eq!((m.matches, m.id_switches, m.false_positives), (2, 0, 1));
}

#[test]
fn switch_back_after_a_gap_counts_against_the_last_match() {
    // A, gap, B, A: switches at frame 3 (A→B) and frame 4 (B→A).
    let gt: Vec<_> = (1..=4).map(|f| rec(f, 1, 0.0)).collect();
    let hyp = vec![rec(1, 1, 0.0), rec(3, 2, 0.0), rec(4, 1, 0.0)];
    let m = evaluate(&gt, &hyp, 0.5);
    assert_eq!((m.matches, m.id_switches), (3, 2));
}

#[test]
fn iou_exactly_at_the_threshold_matches() {
    // 10×10 boxes offset so that IoU = 0.5: overlap 20/3 of 10.
    let gt = vec![rec(1, 1, 0.0)];
    let hyp = vec![MotRecord {
        bbox: BBox::new(10.0 / 3.0, 0.0, 10.0, 10.0),
        ..rec(1, 2, 0.0)
    }];
    let iou = iou64(&gt[0].bbox, &hyp[0].bbox);
    assert!((iou - 0.5).abs() < 1e-6, "{iou}");
    let m = evaluate(&gt, &hyp, iou - 1e-9);
    assert_eq!(m.matches, 1);
    assert_eq!(evaluate(&gt, &hyp, iou + 1e-9).matches, 0);
}

#[test]
fn identity_pairing_is_global_not_greedy() {
    // Object 1 overlaps hyp A in frames 1-3 and hyp B in 4-6; object 2
    // overlaps hyp A in frames 4-9. Global best: 1↔B (3) + 2↔A (6) = 9,
    // where greedy 1↔A first would give 3 + 0.
    let mut gt = Vec::new();
    let mut hyp = Vec::new();
    for f in 1..=3 {
        gt.push(rec(f, 1, 0.0));
        hyp.push(rec(f, 10, 0.0));
    }
    for f in 4..=6 {
        gt.push(rec(f, 1, 0.0));
        hyp.push(rec(f, 11, 0.0));
    }
    for f in 4..=9 {
        gt.push(rec(f, 2, 100.0));
        hyp.push(rec(f, 10, 100.0));
    }
    let m = evaluate(&gt, &hyp, 0.5);
    assert_eq!(m.idtp, 9);
    assert_eq!((m.gt_ids, m.hyp_ids), (2, 2));
}

#[test]
fn no_ground_truth_gives_nan_ratios_not_a_panic() {
    let m = evaluate(&[], &[rec(1, 1, 0.0)], 0.5);
    assert!(m.mota.is_nan() && m.recall.is_nan());
    assert_eq!(m.false_positives, 1);
    assert_eq!(m.precision, 0.0);
}
