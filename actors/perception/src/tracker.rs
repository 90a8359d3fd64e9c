//! SORT with ByteTrack's second pass: a constant-velocity Kalman filter per
//! track, Hungarian assignment on IoU, `max_age` / `min_hits`, and a second
//! association of low-score detections with the tracks left over. Merged
//! blobs of crossing objects are recognised (`groups.rs`) and tracks whose
//! objects are hidden but whose foreground is still there keep being reported
//! on their prediction, so identities survive crossings and short occlusions.

mod appearance;
mod groups;
mod passes;
mod track;

use serde::{Deserialize, Serialize};

use crate::detect::{Detection, FrameEvidence};
use crate::error::PerceptionError;
use crate::kalman::KalmanConfig;
use appearance::Template;
use track::Track;
pub use track::{TrackReport, TrackState};

/// Parameters of the [`Tracker`]; `docs/PERCEPTION.md` explains each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerConfig {
    /// Smallest IoU of a first-pass (high-score) match.
    pub iou_threshold: f32,
    /// Smallest IoU of a second-pass (low-score) match.
    pub low_iou_threshold: f32,
    /// Detections scoring at least this take part in the first pass and may
    /// start tracks.
    pub high_score: f32,
    /// Detections scoring below this are ignored; between the two they only
    /// take part in the second pass.
    pub low_score: f32,
    /// Frames a track survives without any correction before it is dropped.
    pub max_age: u32,
    /// Matches a new track needs before it is confirmed and reported.
    pub min_hits: u32,
    /// Frames a confirmed track is still reported on its prediction while
    /// foreground supports it (see `coast_support`).
    pub max_coast: u32,
    /// Fraction of a predicted box that must be foreground for the track to
    /// coast.
    pub coast_support: f32,
    /// Fraction of a predicted box inside a detection for the track to be a
    /// member of that detection's group (two members make a merged blob).
    pub group_cover: f32,
    /// How far (low-resolution pixels) around its prediction a track that
    /// has no detection of its own searches for its appearance.
    pub relocate_radius: u32,
    /// Fraction of a track's template that must agree with the frame for
    /// the search to place it.
    pub relocate_min_match: f32,
    /// Template pixels agree when they differ by at most this many noise
    /// standard deviations (and at least 4 grey levels).
    pub template_sigmas: f32,
    /// The Kalman filter's noise levels.
    pub kalman: KalmanConfig,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            iou_threshold: 0.3,
            low_iou_threshold: 0.5,
            high_score: 0.6,
            low_score: 0.1,
            max_age: 40,
            min_hits: 2,
            max_coast: 30,
            coast_support: 0.3,
            group_cover: 0.6,
            relocate_radius: 4,
            relocate_min_match: 0.6,
            template_sigmas: 3.0,
            kalman: KalmanConfig::default(),
        }
    }
}

impl TrackerConfig {
    /// Check every parameter; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), PerceptionError> {
        let unit = |what, v: f32| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(PerceptionError::config(
                    what,
                    format!("{v} is outside 0..=1"),
                ))
            }
        };
        unit("tracker.iou_threshold", self.iou_threshold)?;
        unit("tracker.low_iou_threshold", self.low_iou_threshold)?;
        unit("tracker.high_score", self.high_score)?;
        unit("tracker.low_score", self.low_score)?;
        unit("tracker.coast_support", self.coast_support)?;
        unit("tracker.group_cover", self.group_cover)?;
        unit("tracker.relocate_min_match", self.relocate_min_match)?;
        if self.relocate_radius > 32 {
            return Err(PerceptionError::config(
                "tracker.relocate_radius",
                format!("{} is more than 32", self.relocate_radius),
            ));
        }
        if !(self.template_sigmas.is_finite() && self.template_sigmas >= 0.0) {
            return Err(PerceptionError::config(
                "tracker.template_sigmas",
                format!("{} is negative", self.template_sigmas),
            ));
        }
        unit(
            "tracker.kalman.size_velocity_decay",
            self.kalman.size_velocity_decay,
        )?;
        if self.low_score > self.high_score {
            return Err(PerceptionError::config(
                "tracker.low_score",
                "must not exceed tracker.high_score",
            ));
        }
        if self.min_hits == 0 {
            return Err(PerceptionError::config(
                "tracker.min_hits",
                "must be at least 1",
            ));
        }
        if self.max_coast > self.max_age {
            return Err(PerceptionError::config(
                "tracker.max_coast",
                "must not exceed tracker.max_age",
            ));
        }
        let k = &self.kalman;
        for (what, v) in [
            ("tracker.kalman.position_noise", k.position_noise),
            ("tracker.kalman.velocity_noise", k.velocity_noise),
            ("tracker.kalman.measurement_noise", k.measurement_noise),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(PerceptionError::config(
                    what,
                    format!("{v} is not positive"),
                ));
            }
        }
        Ok(())
    }
}

/// The multi-object tracker.
#[derive(Debug)]
pub struct Tracker {
    cfg: TrackerConfig,
    pub(crate) tracks: Vec<Track>,
    next_id: u64,
}

impl Tracker {
    /// A tracker with a validated configuration.
    pub fn new(cfg: TrackerConfig) -> Result<Self, PerceptionError> {
        cfg.validate()?;
        Ok(Tracker {
            cfg,
            tracks: Vec::new(),
            next_id: 1,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    /// Advance one frame with its `detections`. The detector's `evidence`
    /// (foreground and image) lets confirmed tracks be placed by their
    /// appearance inside merged blobs and coast through occlusions; without
    /// it the tracker is plain SORT + ByteTrack. Returns the confirmed tracks
    /// reported in this frame, by id; boxes may extend past the frame (they
    /// estimate the whole object).
    pub fn update(
        &mut self,
        detections: &[Detection],
        evidence: Option<&FrameEvidence>,
    ) -> Vec<TrackReport> {
        let cfg = self.cfg.clone();
        let was_tracked: Vec<bool> = self
            .tracks
            .iter()
            .map(|t| t.state == TrackState::Tracked)
            .collect();
        for t in &mut self.tracks {
            t.predict();
        }
        let dets: Vec<&Detection> = detections
            .iter()
            .filter(|d| d.score >= cfg.low_score)
            .collect();
        let mut det_used = vec![false; dets.len()];
        let mut track_used = vec![false; self.tracks.len()];

        // Merged blobs: a detection over two or more live confirmed tracks.
        let live: Vec<bool> = self
            .tracks
            .iter()
            .map(|t| t.confirmed() && t.time_since_update <= cfg.max_coast)
            .collect();
        let mut grouped = vec![false; self.tracks.len()];
        for (d, det) in dets.iter().enumerate() {
            let usable: Vec<bool> = live
                .iter()
                .zip(&track_used)
                .map(|(l, u)| *l && !*u)
                .collect();
            let members = groups::members(&self.tracks, &usable, &det.bbox, cfg.group_cover);
            let members = groups::merged(&self.tracks, &members, &det.bbox);
            if !members.is_empty() && groups::are_fragments(&self.tracks, &members, &det.bbox) {
                // One object in pieces: the piece with most hits takes the
                // whole detection, the others go.
                let keep = members
                    .iter()
                    .copied()
                    .max_by_key(|&m| self.tracks[m].hits)
                    .unwrap_or(members[0]);
                for &m in &members {
                    track_used[m] = true;
                    let track = &mut self.tracks[m];
                    if m == keep {
                        track.template = None;
                        track.kf.reset_box(det.bbox);
                        track.hit(det);
                    } else {
                        track.state = TrackState::Lost;
                        track.time_since_update = cfg.max_age + 1;
                    }
                }
                det_used[d] = true;
            } else if !members.is_empty() {
                for &m in &members {
                    track_used[m] = true;
                    grouped[m] = true;
                    self.tracks[m].state = TrackState::Occluded;
                }
                let placed = self.relocate(&members, evidence);
                let rest: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|m| !placed.contains(m))
                    .collect();
                if rest.len() == members.len() {
                    groups::correct(&mut self.tracks, &rest, &det.bbox);
                }
                det_used[d] = true;
            }
        }

        // First pass: high-score detections against every track.
        let high: Vec<usize> = (0..dets.len())
            .filter(|&d| !det_used[d] && dets[d].score >= cfg.high_score)
            .collect();
        let open: Vec<usize> = (0..self.tracks.len()).filter(|&t| !track_used[t]).collect();
        self.associate(
            &dets,
            &high,
            &open,
            cfg.iou_threshold,
            &mut det_used,
            &mut track_used,
            evidence,
        );

        // Splits: a track that followed a merged blob now coming apart.
        self.split(&dets, &high, &mut det_used, &mut track_used);

        // Second pass (ByteTrack): low-score detections against the tracks
        // that were tracked in the previous frame and are still unmatched.
        let low: Vec<usize> = (0..dets.len())
            .filter(|&d| !det_used[d] && dets[d].score < cfg.high_score)
            .collect();
        let open: Vec<usize> = (0..self.tracks.len())
            .filter(|&t| !track_used[t] && was_tracked.get(t).copied().unwrap_or(false))
            .collect();
        self.associate(
            &dets,
            &low,
            &open,
            cfg.low_iou_threshold,
            &mut det_used,
            &mut track_used,
            evidence,
        );

        // Appearance of tracks seen alone.
        if let Some(ev) = evidence {
            for (t, track) in self.tracks.iter_mut().enumerate() {
                let alone = track_used[t]
                    && !grouped[t]
                    && track.state == TrackState::Tracked
                    && track.clean_hit;
                if let Some(template) = alone
                    .then(|| Template::capture(ev, &track.kf.bbox()))
                    .flatten()
                {
                    track.template = Some(template);
                }
            }
        }

        // Unmatched confirmed tracks: placed by appearance, else coast while
        // foreground supports them, else lost.
        let unmatched: Vec<usize> = (0..self.tracks.len())
            .filter(|&t| !track_used[t] && self.tracks[t].confirmed() && live[t])
            .collect();
        let placed = self.relocate(&unmatched, evidence);
        for (t, track) in self.tracks.iter_mut().enumerate() {
            if track_used[t] || placed.contains(&t) {
                continue;
            }
            let supported =
                evidence.is_some_and(|ev| ev.fraction_in(&track.kf.bbox()) >= cfg.coast_support);
            track.state =
                if track.confirmed() && track.time_since_update <= cfg.max_coast && supported {
                    TrackState::Coasting
                } else {
                    TrackState::Lost
                };
        }
        self.tracks.retain(|t| {
            let tentative_missed = !t.confirmed() && t.time_since_update > 0;
            !(tentative_missed || t.time_since_update > cfg.max_age)
        });
        self.drop_duplicates();

        // Births: unmatched high-score detections not inside a reported
        // track.
        for (d, det) in dets.iter().enumerate() {
            if det_used[d] || det.score < cfg.high_score {
                continue;
            }
            let inside_reported = self
                .tracks
                .iter()
                .any(|t| t.state != TrackState::Lost && det.bbox.covered_by(&t.kf.bbox()) >= 0.5);
            if !inside_reported {
                self.tracks
                    .push(Track::new(det.bbox, det.score, cfg.kalman));
            }
        }

        let mut reports = Vec::new();
        for t in &mut self.tracks {
            if !t.confirmed() && t.hits >= cfg.min_hits {
                t.id = self.next_id;
                self.next_id += 1;
            }
            if t.confirmed() && t.state != TrackState::Lost {
                reports.push(t.report());
            }
        }
        reports.sort_by_key(|r| r.id);
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{BBox, Border};

    fn det(x: f32, y: f32, w: f32, h: f32) -> Detection {
        Detection {
            bbox: BBox::new(x, y, w, h),
            score: 1.0,
            area: w * h,
            border: Border::default(),
        }
    }

    /// The id of the report whose box overlaps `b` most.
    fn id_at(reports: &[TrackReport], b: &BBox) -> Option<u64> {
        reports
            .iter()
            .filter(|r| r.bbox.iou(b) > 0.3)
            .max_by(|x, y| x.bbox.iou(b).total_cmp(&y.bbox.iou(b)))
            .map(|r| r.id)
    }

    /// ByteTrack's second pass: a low-score detection (between `low_score`
    /// and `high_score`) keeps a track that was tracked last frame, and never
    /// starts a track of its own.
    #[test]
    fn low_score_detections_continue_tracks_but_start_none() {
        let cfg = TrackerConfig::default();
        let mut tracker = Tracker::new(cfg.clone()).expect("valid");
        let at = |t: f32| BBox::new(10.0 + 3.0 * t, 50.0, 24.0, 24.0);
        let mut id = None;
        for f in 0..8 {
            let reports = tracker.update(&[det(at(f as f32).x, 50.0, 24.0, 24.0)], None);
            id = id_at(&reports, &at(f as f32));
        }
        let id = id.expect("confirmed");
        let low = |b: BBox| Detection {
            score: (cfg.low_score + cfg.high_score) / 2.0,
            ..det(b.x, b.y, b.w, b.h)
        };
        for f in 8..14 {
            let b = at(f as f32);
            let reports = tracker.update(&[low(b)], None);
            let track = reports.iter().find(|r| r.id == id).expect("still reported");
            assert_eq!(
                track.time_since_update, 0,
                "frame {f}: matched in the second pass"
            );
            assert_eq!(track.state, TrackState::Tracked);
            assert_eq!(reports.len(), 1, "frame {f}: {reports:?}");
        }
        // A low-score detection far from any track starts nothing.
        let mut fresh = Tracker::new(cfg.clone()).expect("valid");
        for _ in 0..5 {
            assert!(
                fresh
                    .update(&[low(BBox::new(200.0, 200.0, 20.0, 20.0))], None)
                    .is_empty()
            );
        }
    }

    #[test]
    fn ids_survive_a_crossing_where_the_detector_sees_one_blob() {
        let mut tracker = Tracker::new(TrackerConfig::default()).expect("valid");
        // A moves right from x=0, B moves left from x=200, both 20×20 at
        // 4 px per frame, 4 px apart vertically: they meet around frame 22.
        let a = |t: f32| BBox::new(4.0 * t, 100.0, 20.0, 20.0);
        let b = |t: f32| BBox::new(200.0 - 4.0 * t, 104.0, 20.0, 20.0);
        let (mut id_a, mut id_b) = (None, None);
        for f in 0..50 {
            let t = f as f32;
            let (ba, bb) = (a(t), b(t));
            let dets = if ba.intersection(&bb) > 0.0 || (bb.x - ba.right()).abs() < 2.0 {
                let (x0, y0) = (ba.x.min(bb.x), ba.y.min(bb.y));
                vec![det(
                    x0,
                    y0,
                    ba.right().max(bb.right()) - x0,
                    ba.bottom().max(bb.bottom()) - y0,
                )]
            } else {
                vec![det(ba.x, ba.y, 20.0, 20.0), det(bb.x, bb.y, 20.0, 20.0)]
            };
            let reports = tracker.update(&dets, None);
            if f == 10 {
                (id_a, id_b) = (id_at(&reports, &ba), id_at(&reports, &bb));
            }
            if f == 49 {
                assert!(id_a.is_some() && id_a != id_b);
                assert_eq!(id_at(&reports, &ba), id_a, "A kept its id: {reports:?}");
                assert_eq!(id_at(&reports, &bb), id_b, "B kept its id: {reports:?}");
            }
        }
    }

    #[test]
    fn an_id_survives_a_short_gap_in_detections() {
        let mut tracker = Tracker::new(TrackerConfig::default()).expect("valid");
        let at = |t: f32| BBox::new(10.0 + 3.0 * t, 50.0, 24.0, 16.0);
        let mut first = None;
        for f in 0..30 {
            let t = f as f32;
            let seen = !(12..17).contains(&f);
            let dets = if seen {
                vec![det(at(t).x, 50.0, 24.0, 16.0)]
            } else {
                vec![]
            };
            let reports = tracker.update(&dets, None);
            if f == 5 {
                first = id_at(&reports, &at(t));
            }
            if f == 29 {
                assert_eq!(id_at(&reports, &at(t)), first);
                assert_eq!(reports.len(), 1);
            }
        }
        assert!(first.is_some());
    }

    #[test]
    fn a_new_track_is_reported_after_min_hits_and_dropped_after_max_age() {
        let cfg = TrackerConfig {
            min_hits: 3,
            max_age: 4,
            max_coast: 2,
            ..TrackerConfig::default()
        };
        let mut tracker = Tracker::new(cfg).expect("valid");
        let d = [det(10.0, 10.0, 20.0, 20.0)];
        assert!(tracker.update(&d, None).is_empty());
        assert!(tracker.update(&d, None).is_empty());
        assert_eq!(tracker.update(&d, None).len(), 1);
        for _ in 0..5 {
            assert!(tracker.update(&[], None).is_empty());
        }
        assert!(tracker.tracks.is_empty());
    }

    #[test]
    fn configuration_errors_name_the_parameter() {
        let bad = TrackerConfig {
            low_score: 0.9,
            high_score: 0.5,
            ..TrackerConfig::default()
        };
        assert!(
            Tracker::new(bad)
                .expect_err("low > high")
                .to_string()
                .contains("tracker.low_score")
        );
        let bad = TrackerConfig {
            min_hits: 0,
            ..TrackerConfig::default()
        };
        assert!(
            Tracker::new(bad)
                .expect_err("zero")
                .to_string()
                .contains("tracker.min_hits")
        );
    }
}
