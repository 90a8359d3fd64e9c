//! The matching steps of one tracker update, apart from its orchestration
//! in `tracker.rs`: IoU association (both ByteTrack passes), splitting a
//! track off a blob that comes apart, placing tracks by appearance, and
//! removing duplicate tracks.

use super::{TrackState, Tracker};
use crate::assign::match_by_iou;
use crate::detect::{Detection, FrameEvidence};
use crate::kalman::BoxKalman;

/// Frames a detection may stay too large for a track's template before the
/// template is judged partial and dropped.
const SWOLLEN_LIMIT: u32 = 5;

impl Tracker {
    /// A confirmed, unmatched track whose box holds two or more unmatched
    /// high-score detections was following a merged blob that comes apart:
    /// it restarts on the detection it overlaps most; the others will start
    /// tracks of their own.
    pub(super) fn split(
        &mut self,
        dets: &[&Detection],
        high: &[usize],
        det_used: &mut [bool],
        track_used: &mut [bool],
    ) {
        let kalman = self.config().kalman;
        for (t, used) in track_used.iter_mut().enumerate() {
            let track = &mut self.tracks[t];
            if *used || !track.confirmed() {
                continue;
            }
            let pred = track.kf.bbox();
            let inside: Vec<usize> = high
                .iter()
                .copied()
                .filter(|&d| !det_used[d] && dets[d].bbox.covered_by(&pred) >= 0.8)
                .collect();
            if inside.len() < 2 {
                continue;
            }
            let best = inside
                .iter()
                .copied()
                .max_by(|&a, &b| dets[a].bbox.iou(&pred).total_cmp(&dets[b].bbox.iou(&pred)));
            if let Some(d) = best {
                track.kf = BoxKalman::new(dets[d].bbox, kalman);
                track.hit(dets[d]);
                det_used[d] = true;
                *used = true;
            }
        }
    }

    /// Two confirmed tracks on one object (same place, same motion): the one
    /// with fewer hits goes.
    pub(super) fn drop_duplicates(&mut self) {
        let mut gone = vec![false; self.tracks.len()];
        for i in 0..self.tracks.len() {
            for j in i + 1..self.tracks.len() {
                let (a, b) = (&self.tracks[i], &self.tracks[j]);
                if gone[i] || gone[j] || !a.confirmed() || !b.confirmed() {
                    continue;
                }
                let (ba, bb) = (a.kf.bbox(), b.kf.bbox());
                let (va, vb) = (a.kf.velocity(), b.kf.velocity());
                let dv = ((va.0 - vb.0).powi(2) + (va.1 - vb.1).powi(2)).sqrt();
                let same_place =
                    ba.iou(&bb) >= 0.5 || ba.covered_by(&bb) >= 0.9 || bb.covered_by(&ba) >= 0.9;
                if same_place && dv <= 1.0 {
                    // Keep the one a detection confirmed this frame, else
                    // the one with more hits.
                    let (ta, tb) = (
                        a.state == TrackState::Tracked,
                        b.state == TrackState::Tracked,
                    );
                    if (ta && !tb) || (ta == tb && a.hits >= b.hits) {
                        gone[j] = true;
                    } else {
                        gone[i] = true;
                    }
                }
            }
        }
        let mut k = 0;
        self.tracks.retain(|_| {
            k += 1;
            !gone[k - 1]
        });
    }

    /// Place each of `candidates` by searching for its template near its
    /// prediction; a placement needs enough agreement and foreground under
    /// it. Returns the tracks placed (their position is corrected).
    pub(super) fn relocate(
        &mut self,
        candidates: &[usize],
        evidence: Option<&FrameEvidence>,
    ) -> Vec<usize> {
        let Some(ev) = evidence else {
            return Vec::new();
        };
        let cfg = self.config().clone();
        let tolerance = (cfg.template_sigmas * ev.noise_sigma()).max(4.0);
        let mut placed = Vec::new();
        for &t in candidates {
            let track = &mut self.tracks[t];
            let Some(template) = &track.template else {
                continue;
            };
            let pred = track.kf.bbox();
            let Some((bbox, score)) =
                template.locate(ev, &pred, i64::from(cfg.relocate_radius), tolerance)
            else {
                continue;
            };
            if score >= cfg.relocate_min_match && ev.fraction_in(&bbox) >= cfg.coast_support {
                // The template's box is the object's last clean size.
                track.kf.update(bbox);
                track.time_since_update = 0;
                if track.state != TrackState::Occluded {
                    track.state = TrackState::Coasting;
                }
                placed.push(t);
            }
        }
        placed
    }

    /// Hungarian matching of `dets[ds]` with `tracks[ts]` on IoU; correct the
    /// matched tracks and mark both sides used. A confirmed track matched to
    /// a detection much larger than itself (merged with an object that has
    /// no track) is placed by its appearance inside it when it can be.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn associate(
        &mut self,
        dets: &[&Detection],
        ds: &[usize],
        ts: &[usize],
        threshold: f32,
        det_used: &mut [bool],
        track_used: &mut [bool],
        evidence: Option<&FrameEvidence>,
    ) {
        let preds: Vec<_> = ts.iter().map(|&t| self.tracks[t].kf.bbox()).collect();
        let pairs = match_by_iou(ds.len(), ts.len(), f64::from(threshold), |r, c| {
            f64::from(dets[ds[r]].bbox.iou(&preds[c]))
        });
        for (r, c) in pairs {
            let (det, t) = (dets[ds[r]], ts[c]);
            // Larger than the object seen alone (or than the prediction,
            // before there is a template): merged with something untracked,
            // so the track is placed by its appearance inside. A detection
            // that stays this large for SWOLLEN_LIMIT frames is the object
            // itself and the template was partial: it goes.
            let track = &self.tracks[t];
            let clean = track
                .template
                .as_ref()
                .map_or(preds[c].area(), |tpl| tpl.area());
            let swollen =
                det.bbox.area() > 1.4 * clean && !det.border.any() && track.swollen < SWOLLEN_LIMIT;
            if swollen && track.confirmed() && !self.relocate(&[t], evidence).is_empty() {
                self.tracks[t].hit_unclean(det.score);
            } else {
                if self.tracks[t].swollen >= SWOLLEN_LIMIT {
                    self.tracks[t].template = None;
                }
                self.tracks[t].hit(det);
            }
            det_used[ds[r]] = true;
            track_used[t] = true;
        }
    }
}
