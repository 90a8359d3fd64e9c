//! Scoring with the MOTChallenge definitions: CLEAR MOT (MOTA, MOTP,
//! precision, recall, ID switches) and the identity measures (IDF1, IDP,
//! IDR), both with a box match at IoU ≥ a threshold (0.5 in the benchmarks).
//! `clear.rs` and `identity.rs` hold the two algorithms.

mod clear;
mod identity;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::geometry::BBox;
use crate::mot_io::MotRecord;

/// The scores of one sequence. Ratios are `NaN` when their denominator is 0
/// (e.g. MOTA without any ground truth).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MotMetrics {
    /// Frames that hold ground truth or hypotheses.
    pub frames: usize,
    /// Ground-truth boxes.
    pub ground_truth: usize,
    /// Hypothesis (tracker) boxes.
    pub hypotheses: usize,
    /// Matched boxes (true positives).
    pub matches: usize,
    /// Hypotheses matched to nothing.
    pub false_positives: usize,
    /// Ground truth matched to nothing.
    pub misses: usize,
    /// Ground-truth objects matched to a different hypothesis than at their
    /// previous match.
    pub id_switches: usize,
    /// `1 − (misses + false positives + ID switches) / ground truth`.
    pub mota: f64,
    /// Mean IoU of the matches.
    pub motp_iou: f64,
    /// `matches / hypotheses`.
    pub precision: f64,
    /// `matches / ground truth`.
    pub recall: f64,
    /// Identity true positives (boxes matched under the best one-to-one
    /// pairing of whole trajectories).
    pub idtp: usize,
    /// Identity false positives.
    pub idfp: usize,
    /// Identity false negatives.
    pub idfn: usize,
    /// `2 IDTP / (2 IDTP + IDFP + IDFN)`.
    pub idf1: f64,
    /// `IDTP / (IDTP + IDFP)`.
    pub idp: f64,
    /// `IDTP / (IDTP + IDFN)`.
    pub idr: f64,
    /// Distinct ground-truth identities.
    pub gt_ids: usize,
    /// Distinct hypothesis identities.
    pub hyp_ids: usize,
}

/// The boxes of one frame: `(id, box)`.
pub(crate) type FrameBoxes = Vec<(u64, BBox)>;

/// Group records by frame.
pub(crate) fn by_frame(records: &[MotRecord]) -> BTreeMap<u32, FrameBoxes> {
    let mut out: BTreeMap<u32, FrameBoxes> = BTreeMap::new();
    for r in records {
        out.entry(r.frame).or_default().push((r.id, r.bbox));
    }
    out
}

/// IoU in double precision (as the Python scorers compute it).
pub(crate) fn iou64(a: &BBox, b: &BBox) -> f64 {
    let (ax, ay, aw, ah) = (
        f64::from(a.x),
        f64::from(a.y),
        f64::from(a.w),
        f64::from(a.h),
    );
    let (bx, by, bw, bh) = (
        f64::from(b.x),
        f64::from(b.y),
        f64::from(b.w),
        f64::from(b.h),
    );
    let iw = ((ax + aw).min(bx + bw) - ax.max(bx)).max(0.0);
    let ih = ((ay + ah).min(by + bh) - ay.max(by)).max(0.0);
    let inter = iw * ih;
    let union = aw * ah + bw * bh - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Score `hypotheses` against `ground_truth`; boxes match at IoU ≥ `iou_threshold`.
pub fn evaluate(
    ground_truth: &[MotRecord],
    hypotheses: &[MotRecord],
    iou_threshold: f64,
) -> MotMetrics {
    let gt = by_frame(ground_truth);
    let hyp = by_frame(hypotheses);
    let c = clear::clear_mot(&gt, &hyp, iou_threshold);
    let id = identity::identity(&gt, &hyp, iou_threshold);
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            f64::NAN
        } else {
            num as f64 / den as f64
        }
    };
    let n_gt = ground_truth.len();
    let n_hyp = hypotheses.len();
    let mut frames: Vec<u32> = gt.keys().chain(hyp.keys()).copied().collect();
    frames.sort_unstable();
    frames.dedup();
    MotMetrics {
        frames: frames.len(),
        ground_truth: n_gt,
        hypotheses: n_hyp,
        matches: c.matches,
        false_positives: n_hyp - c.matches,
        misses: n_gt - c.matches,
        id_switches: c.switches,
        mota: if n_gt == 0 {
            f64::NAN
        } else {
            1.0 - (n_gt - c.matches + n_hyp - c.matches + c.switches) as f64 / n_gt as f64
        },
        motp_iou: if c.matches == 0 {
            f64::NAN
        } else {
            c.iou_sum / c.matches as f64
        },
        precision: ratio(c.matches, n_hyp),
        recall: ratio(c.matches, n_gt),
        idtp: id.idtp,
        idfp: n_hyp - id.idtp,
        idfn: n_gt - id.idtp,
        idf1: ratio(2 * id.idtp, n_gt + n_hyp),
        idp: ratio(id.idtp, n_hyp),
        idr: ratio(id.idtp, n_gt),
        gt_ids: id.gt_ids,
        hyp_ids: id.hyp_ids,
    }
}

#[cfg(test)]
mod tests;
