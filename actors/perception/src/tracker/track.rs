//! One track's life: its filter, its hit counts and what happened to it in
//! the current frame.

use serde::{Deserialize, Serialize};

use super::appearance::Template;
use crate::detect::Detection;
use crate::geometry::BBox;
use crate::kalman::{BoxKalman, KalmanConfig, Observed};

/// What happened to a track in the last frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackState {
    /// Matched to a detection of its own.
    Tracked,
    /// Inside a detection that merges it with other tracks (a crossing):
    /// corrected by the blob's edges it defines, otherwise predicted.
    Occluded,
    /// No detection, but foreground is still where it is predicted.
    Coasting,
    /// Not seen and not supported: kept for re-identification, not reported.
    Lost,
}

impl TrackState {
    /// Wire code of the state.
    pub fn code(self) -> u8 {
        match self {
            TrackState::Tracked => 0,
            TrackState::Occluded => 1,
            TrackState::Coasting => 2,
            TrackState::Lost => 3,
        }
    }

    /// The state of a wire code, if the code is known.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => TrackState::Tracked,
            1 => TrackState::Occluded,
            2 => TrackState::Coasting,
            3 => TrackState::Lost,
            _ => return None,
        })
    }
}

/// A track as the tracker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrackReport {
    /// Stable identity (assigned when the track is confirmed; starts at 1).
    pub id: u64,
    /// Current box estimate, full-resolution pixels.
    pub bbox: BBox,
    /// Centre velocity, px per frame.
    pub velocity: (f32, f32),
    /// Score of the last detection matched to it.
    pub score: f32,
    /// Frames since the track started.
    pub age: u32,
    /// Frames with a matching detection.
    pub hits: u32,
    /// Frames since the last correction (0 when corrected this frame).
    pub time_since_update: u32,
    /// What happened in this frame.
    pub state: TrackState,
}

/// Internal state of one track.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    /// Public id once confirmed, 0 while tentative.
    pub(crate) id: u64,
    pub(crate) kf: BoxKalman,
    pub(crate) hits: u32,
    pub(crate) age: u32,
    pub(crate) time_since_update: u32,
    pub(crate) score: f32,
    pub(crate) state: TrackState,
    /// Appearance, cut while the object was seen alone.
    pub(crate) template: Option<Template>,
    /// The last detection matched was whole and steady: not cut by the
    /// border, not much larger or smaller than the prediction (a merge or a
    /// fragment), and of the same size (within 25 %) over the last
    /// [`STEADY_HITS`] + 1 detections — so a template cut now shows the
    /// whole object, not a growing fragment.
    pub(crate) clean_hit: bool,
    /// Box area of the last detection matched.
    last_area: f32,
    /// Consecutive hits whose size changed by less than 25 %.
    steady: u32,
    /// Consecutive detections too large for the template (see
    /// [`Track::hit_unclean`]).
    pub(crate) swollen: u32,
}

/// Hits of a steady size before the track's appearance is taken.
const STEADY_HITS: u32 = 1;

impl Track {
    pub(crate) fn new(bbox: BBox, score: f32, kalman: KalmanConfig) -> Self {
        Track {
            id: 0,
            kf: BoxKalman::new(bbox, kalman),
            hits: 1,
            age: 0,
            time_since_update: 0,
            score,
            state: TrackState::Tracked,
            template: None,
            clean_hit: false,
            last_area: bbox.area(),
            steady: 0,
            swollen: 0,
        }
    }

    /// Whether it has been confirmed (has a public id).
    pub(crate) fn confirmed(&self) -> bool {
        self.id != 0
    }

    pub(crate) fn predict(&mut self) {
        self.kf.predict();
        self.age += 1;
        self.time_since_update += 1;
    }

    /// Correct with a detection of its own. Sides cut by the frame's border
    /// are not the object's: along such an axis only the inner side is
    /// measured and the size is kept (an object leaving keeps its size and
    /// slides out), unless the detection is larger than the prediction (an
    /// object entering grows into view).
    pub(crate) fn hit(&mut self, det: &Detection) {
        let area = det.bbox.area();
        let change = area / self.last_area.max(1.0);
        self.steady = if !det.border.any() && (0.8..=1.25).contains(&change) {
            self.steady + 1
        } else {
            0
        };
        self.last_area = area;
        let ratio = area / self.kf.bbox().area().max(1.0);
        self.clean_hit = self.steady >= STEADY_HITS && (0.7..=1.4).contains(&ratio);
        if det.border.any() {
            let p = self.kf.bbox();
            let d = det.bbox;
            let (x, w, cx, sw) = cut_axis(d.x, d.w, p.w, det.border.left, det.border.right);
            let (y, h, cy, sh) = cut_axis(d.y, d.h, p.h, det.border.top, det.border.bottom);
            self.kf.update_observed(
                BBox::new(x, y, w, h),
                Observed {
                    cx,
                    cy,
                    w: sw,
                    h: sh,
                },
            );
        } else {
            self.kf.update(det.bbox);
        }
        self.hits += 1;
        self.time_since_update = 0;
        self.score = det.score;
        self.state = TrackState::Tracked;
        self.swollen = 0;
    }

    /// A detection was matched but not used to correct the box (a merge;
    /// the track was placed by its template): count it, and restart the
    /// steadiness count.
    pub(crate) fn hit_unclean(&mut self, score: f32) {
        self.hits += 1;
        self.score = score;
        self.state = TrackState::Tracked;
        self.clean_hit = false;
        self.steady = 0;
        self.swollen += 1;
    }

    pub(crate) fn report(&self) -> TrackReport {
        TrackReport {
            id: self.id,
            bbox: self.kf.bbox(),
            velocity: self.kf.velocity(),
            score: self.score,
            age: self.age,
            hits: self.hits,
            time_since_update: self.time_since_update,
            state: self.state,
        }
    }
}

/// One axis of a detection cut by the border on the `lo` and/or `hi` side:
/// the measured start and size and whether centre and size are observed,
/// given the predicted size `pred`.
fn cut_axis(start: f32, size: f32, pred: f32, lo: bool, hi: bool) -> (f32, f32, bool, bool) {
    if size >= pred || !(lo || hi) {
        return (start, size, true, true);
    }
    match (lo, hi) {
        (true, false) => (start + size - pred, pred, true, false),
        (false, true) => (start, pred, true, false),
        _ => (start, size, false, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detection_cut_by_the_border_keeps_the_predicted_size() {
        // Leaving through the left edge: the right side is real.
        assert_eq!(
            cut_axis(0.0, 12.0, 30.0, true, false),
            (-18.0, 30.0, true, false)
        );
        // Leaving through the right edge: the left side is real.
        assert_eq!(
            cut_axis(620.0, 20.0, 30.0, false, true),
            (620.0, 30.0, true, false)
        );
        // Entering, larger than predicted: the whole detection is measured.
        assert_eq!(
            cut_axis(0.0, 40.0, 30.0, true, false),
            (0.0, 40.0, true, true)
        );
        // Not cut at all.
        assert_eq!(
            cut_axis(5.0, 10.0, 30.0, false, false),
            (5.0, 10.0, true, true)
        );
    }

    #[test]
    fn state_codes_round_trip_and_unknown_codes_are_none() {
        for s in [
            TrackState::Tracked,
            TrackState::Occluded,
            TrackState::Coasting,
            TrackState::Lost,
        ] {
            assert_eq!(TrackState::from_code(s.code()), Some(s));
        }
        assert_eq!(TrackState::from_code(9), None);
    }
}
