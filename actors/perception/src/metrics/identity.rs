//! Identity measures (Ristani et al. 2016, as in py-motmetrics and TrackEval):
//! every ground-truth trajectory is paired with at most one hypothesis
//! trajectory so that the number of frames in which the pair overlaps
//! (IoU ≥ threshold) is largest in total — a global min-cost bipartite
//! matching. Those frames are the identity true positives (IDTP).
//!
//! The pairing graph is split into connected components (trajectories that
//! never overlap cannot be paired) so the Hungarian method runs on small
//! matrices even for long sequences with many identities.

use std::collections::{BTreeMap, HashMap};

use super::{FrameBoxes, iou64};
use crate::assign::max_weight_matching;

/// Totals of the identity pass.
#[derive(Debug, Default)]
pub(crate) struct Identity {
    pub(crate) idtp: usize,
    pub(crate) gt_ids: usize,
    pub(crate) hyp_ids: usize,
}

pub(crate) fn identity(
    gt: &BTreeMap<u32, FrameBoxes>,
    hyp: &BTreeMap<u32, FrameBoxes>,
    threshold: f64,
) -> Identity {
    let mut gt_index: HashMap<u64, usize> = HashMap::new();
    let mut hyp_index: HashMap<u64, usize> = HashMap::new();
    for boxes in gt.values() {
        for (id, _) in boxes {
            let n = gt_index.len();
            gt_index.entry(*id).or_insert(n);
        }
    }
    for boxes in hyp.values() {
        for (id, _) in boxes {
            let n = hyp_index.len();
            hyp_index.entry(*id).or_insert(n);
        }
    }
    // Frames in which each (object, hypothesis) pair overlaps.
    let mut overlap: HashMap<(usize, usize), i64> = HashMap::new();
    for (f, g) in gt {
        let Some(h) = hyp.get(f) else { continue };
        for (oid, gb) in g {
            for (hid, hb) in h {
                if iou64(gb, hb) >= threshold {
                    *overlap.entry((gt_index[oid], hyp_index[hid])).or_insert(0) += 1;
                }
            }
        }
    }
    let (n_gt, n_hyp) = (gt_index.len(), hyp_index.len());
    // Connected components over objects 0..n_gt and hypotheses n_gt..n_gt+n_hyp.
    let mut parent: Vec<usize> = (0..n_gt + n_hyp).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(o, h) in overlap.keys() {
        let (a, b) = (find(&mut parent, o), find(&mut parent, n_gt + h));
        if a != b {
            parent[a] = b;
        }
    }
    let mut components: HashMap<usize, (Vec<usize>, Vec<usize>)> = HashMap::new();
    for &(o, h) in overlap.keys() {
        let root = find(&mut parent, o);
        let entry = components.entry(root).or_default();
        entry.0.push(o);
        entry.1.push(h);
    }
    let mut idtp = 0i64;
    for (mut objs, mut hyps) in components.into_values() {
        objs.sort_unstable();
        objs.dedup();
        hyps.sort_unstable();
        hyps.dedup();
        let pairs = max_weight_matching(objs.len(), hyps.len(), |r, c| {
            overlap.get(&(objs[r], hyps[c])).copied()
        });
        idtp += pairs
            .iter()
            .map(|&(r, c)| overlap.get(&(objs[r], hyps[c])).copied().unwrap_or(0))
            .sum::<i64>();
    }
    Identity {
        idtp: idtp.max(0) as usize,
        gt_ids: n_gt,
        hyp_ids: n_hyp,
    }
}
