//! CLEAR MOT matching, frame by frame, exactly as py-motmetrics does it: a
//! ground-truth object keeps the hypothesis of its last match while both are
//! present and still overlap enough; the rest are paired by the Hungarian
//! method (most pairs, then least total `1 − IoU`); an object matched to a
//! different hypothesis than at its last match is an ID switch.
//!
//! (The MOTChallenge devkit and TrackEval keep only matches of the frame just
//! before; the two differ only when an object is re-found after a gap by the
//! same hypothesis and another one also fits.)

use std::collections::{BTreeMap, HashMap};

use super::{FrameBoxes, iou64};
use crate::assign::match_by_iou;

/// Totals of the CLEAR MOT pass.
#[derive(Debug, Default)]
pub(crate) struct Clear {
    pub(crate) matches: usize,
    pub(crate) switches: usize,
    pub(crate) iou_sum: f64,
}

/// Run CLEAR MOT over every frame that has ground truth or hypotheses.
pub(crate) fn clear_mot(
    gt: &BTreeMap<u32, FrameBoxes>,
    hyp: &BTreeMap<u32, FrameBoxes>,
    threshold: f64,
) -> Clear {
    let empty = FrameBoxes::new();
    let mut frames: Vec<u32> = gt.keys().chain(hyp.keys()).copied().collect();
    frames.sort_unstable();
    frames.dedup();
    let mut out = Clear::default();
    // The last match of each object.
    let mut last: HashMap<u64, u64> = HashMap::new();
    for f in frames {
        let g = gt.get(&f).unwrap_or(&empty);
        let h = hyp.get(&f).unwrap_or(&empty);
        let mut g_used = vec![false; g.len()];
        let mut h_used = vec![false; h.len()];
        let record =
            |gi: usize, hi: usize, out: &mut Clear, last: &mut HashMap<u64, u64>, iou: f64| {
                let (oid, hid) = (g[gi].0, h[hi].0);
                if last.get(&oid).is_some_and(|&prev| prev != hid) {
                    out.switches += 1;
                }
                last.insert(oid, hid);
                out.matches += 1;
                out.iou_sum += iou;
            };
        // 1. Keep last matches that are still valid.
        for (gi, (oid, gb)) in g.iter().enumerate() {
            let Some(&hid) = last.get(oid) else {
                continue;
            };
            let Some(hi) = h
                .iter()
                .enumerate()
                .position(|(j, (id, _))| !h_used[j] && *id == hid)
            else {
                continue;
            };
            let iou = iou64(gb, &h[hi].1);
            if iou >= threshold {
                g_used[gi] = true;
                h_used[hi] = true;
                record(gi, hi, &mut out, &mut last, iou);
            }
        }
        // 2. Hungarian on the rest.
        let gs: Vec<usize> = (0..g.len()).filter(|&i| !g_used[i]).collect();
        let hs: Vec<usize> = (0..h.len()).filter(|&j| !h_used[j]).collect();
        let pairs = match_by_iou(gs.len(), hs.len(), threshold, |r, c| {
            iou64(&g[gs[r]].1, &h[hs[c]].1)
        });
        for (r, c) in pairs {
            let iou = iou64(&g[gs[r]].1, &h[hs[c]].1);
            record(gs[r], hs[c], &mut out, &mut last, iou);
        }
    }
    out
}
