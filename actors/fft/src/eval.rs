//! Scoring detected beats against known ones: one-to-one matching within a
//! tolerance, precision, recall and F-measure (as `mir_eval.beat.f_measure`).

use serde::{Deserialize, Serialize};

/// How well detected beat times match reference beat times.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeatScore {
    /// Detections matched to a distinct reference beat.
    pub matched: usize,
    /// Detected beats.
    pub detected: usize,
    /// Reference beats.
    pub reference: usize,
    /// `matched / detected` (1 when nothing was detected and nothing expected).
    pub precision: f64,
    /// `matched / reference`.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f_measure: f64,
    /// Mean signed error (detected − reference) of the matches, in seconds.
    pub mean_offset_s: f64,
}

/// Match `detected` to `reference` (both in seconds, any order): each
/// reference beat takes at most one detection within `tolerance_s`, nearest
/// first in time order.
pub fn score_beats(detected: &[f64], reference: &[f64], tolerance_s: f64) -> BeatScore {
    let mut det: Vec<f64> = detected.to_vec();
    let mut refs: Vec<f64> = reference.to_vec();
    det.sort_by(f64::total_cmp);
    refs.sort_by(f64::total_cmp);
    let (mut i, mut j, mut matched, mut offset_sum) = (0, 0, 0usize, 0.0);
    while i < det.len() && j < refs.len() {
        let d = det[i] - refs[j];
        if d.abs() <= tolerance_s {
            // Prefer the next detection if it is closer to this reference.
            if i + 1 < det.len() && (det[i + 1] - refs[j]).abs() < d.abs() {
                i += 1;
                continue;
            }
            matched += 1;
            offset_sum += d;
            i += 1;
            j += 1;
        } else if d < 0.0 {
            i += 1;
        } else {
            j += 1;
        }
    }
    let ratio = |a: usize, b: usize| {
        if b == 0 {
            if a == 0 { 1.0 } else { 0.0 }
        } else {
            a as f64 / b as f64
        }
    };
    let precision = if det.is_empty() && refs.is_empty() {
        1.0
    } else {
        ratio(matched, det.len())
    };
    let recall = if refs.is_empty() {
        precision
    } else {
        ratio(matched, refs.len())
    };
    let f_measure = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    BeatScore {
        matched,
        detected: det.len(),
        reference: refs.len(),
        precision,
        recall,
        f_measure,
        mean_offset_s: if matched > 0 {
            offset_sum / matched as f64
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_missing_extra_and_offset_detections() {
        let truth = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(score_beats(&truth, &truth, 0.05).f_measure, 1.0);
        let s = score_beats(&[1.01, 2.0, 3.2], &truth, 0.05);
        assert_eq!((s.matched, s.detected, s.reference), (2, 3, 4));
        assert!((s.precision - 2.0 / 3.0).abs() < 1e-12 && (s.recall - 0.5).abs() < 1e-12);
        assert!((s.f_measure - 4.0 / 7.0).abs() < 1e-12);
        assert!((s.mean_offset_s - 0.005).abs() < 1e-12);
        // Two detections near one beat count once.
        let s = score_beats(&[0.99, 1.0, 2.0], &[1.0, 2.0], 0.05);
        assert_eq!((s.matched, s.detected), (2, 3));
        assert_eq!(score_beats(&[], &truth, 0.05).f_measure, 0.0);
    }
}
