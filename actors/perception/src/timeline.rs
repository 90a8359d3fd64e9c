//! Timelines: where each reported track is expected over the next seconds,
//! by running its Kalman filter forward without measurements. The centre's
//! standard deviation grows with the horizon — the prediction says how sure
//! it is.

use serde::{Deserialize, Serialize};

use crate::error::PerceptionError;
use crate::geometry::BBox;
use crate::tracker::{TrackState, Tracker};

/// Most points in one timeline (the wire format's limit).
pub const MAX_TIMELINE_POINTS: usize = 64;

/// How far ahead and how densely timelines are predicted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimelineConfig {
    /// Horizon, seconds.
    pub horizon_s: f32,
    /// Time between points, seconds.
    pub step_s: f32,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        TimelineConfig {
            horizon_s: 3.0,
            step_s: 0.5,
        }
    }
}

impl TimelineConfig {
    /// Check the parameters; the error names the one out of range.
    pub fn validate(&self) -> Result<(), PerceptionError> {
        if !(self.step_s.is_finite() && self.step_s > 0.0) {
            return Err(PerceptionError::config(
                "timeline.step_s",
                format!("{} is not positive", self.step_s),
            ));
        }
        if !(self.horizon_s.is_finite() && self.horizon_s >= self.step_s) {
            return Err(PerceptionError::config(
                "timeline.horizon_s",
                format!("{} is shorter than one step", self.horizon_s),
            ));
        }
        if self.points() > MAX_TIMELINE_POINTS {
            return Err(PerceptionError::config(
                "timeline.horizon_s",
                format!(
                    "{} points per timeline, more than {MAX_TIMELINE_POINTS}",
                    self.points()
                ),
            ));
        }
        Ok(())
    }

    /// Points per timeline.
    pub fn points(&self) -> usize {
        (self.horizon_s / self.step_s + 1e-3).floor() as usize
    }
}

/// One predicted position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Time ahead of the frame, milliseconds.
    pub dt_ms: u32,
    /// Predicted box.
    pub bbox: BBox,
    /// Standard deviation of the predicted centre, px (x, y).
    pub sigma: (f32, f32),
}

/// The predicted future of one track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The track's id.
    pub track_id: u64,
    /// Points at `step_s, 2·step_s, …, horizon_s`.
    pub points: Vec<TimelinePoint>,
}

impl Tracker {
    /// Timelines of every confirmed, not lost track, for a camera at `fps`.
    pub fn timelines(&self, cfg: &TimelineConfig, fps: f32) -> Vec<Timeline> {
        self.timelines_where(cfg, fps, |_| true)
    }

    /// Timelines of the tracks with these ids (the ones a frame reports).
    pub fn timelines_of(&self, ids: &[u64], cfg: &TimelineConfig, fps: f32) -> Vec<Timeline> {
        self.timelines_where(cfg, fps, |id| ids.contains(&id))
    }

    fn timelines_where(
        &self,
        cfg: &TimelineConfig,
        fps: f32,
        wanted: impl Fn(u64) -> bool,
    ) -> Vec<Timeline> {
        let fps = if fps.is_finite() && fps > 0.0 {
            fps
        } else {
            1.0
        };
        let n = cfg.points().min(MAX_TIMELINE_POINTS);
        let mut out = Vec::new();
        for t in self
            .tracks
            .iter()
            .filter(|t| t.confirmed() && t.state != TrackState::Lost && wanted(t.id))
        {
            let mut kf = t.kf.clone();
            let mut frames_done = 0u32;
            let mut points = Vec::with_capacity(n);
            for k in 1..=n {
                let dt = k as f32 * cfg.step_s;
                let target = (dt * fps).round().max(1.0) as u32;
                while frames_done < target {
                    kf.predict();
                    frames_done += 1;
                }
                points.push(TimelinePoint {
                    // The time actually predicted: whole frames at `fps`.
                    dt_ms: (target as f32 / fps * 1000.0).round() as u32,
                    bbox: kf.bbox(),
                    sigma: kf.center_sigma(),
                });
            }
            out.push(Timeline {
                track_id: t.id,
                points,
            });
        }
        out.sort_by_key(|t| t.track_id);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Detection;
    use crate::tracker::TrackerConfig;

    #[test]
    fn timelines_extrapolate_the_motion_with_growing_uncertainty() {
        let mut tracker = Tracker::new(TrackerConfig::default()).expect("valid");
        for t in 0..20 {
            let det = Detection {
                bbox: BBox::new(10.0 + 4.0 * t as f32, 50.0, 20.0, 20.0),
                score: 1.0,
                area: 400.0,
                border: Default::default(),
            };
            tracker.update(&[det], None);
        }
        let cfg = TimelineConfig {
            horizon_s: 2.0,
            step_s: 0.5,
        };
        let lines = tracker.timelines(&cfg, 10.0);
        assert_eq!(lines.len(), 1);
        let pts = &lines[0].points;
        assert_eq!(
            pts.iter().map(|p| p.dt_ms).collect::<Vec<_>>(),
            [500, 1000, 1500, 2000]
        );
        // Last seen at x = 86; 4 px per frame, 10 frames per second.
        assert!((pts[3].bbox.x - (86.0 + 80.0)).abs() < 3.0, "{:?}", pts[3]);
        assert!(pts.windows(2).all(|w| w[1].sigma.0 > w[0].sigma.0));
    }

    #[test]
    fn too_many_points_or_a_zero_step_are_rejected() {
        assert!(
            TimelineConfig {
                horizon_s: 100.0,
                step_s: 0.1
            }
            .validate()
            .is_err()
        );
        let err = TimelineConfig {
            horizon_s: 1.0,
            step_s: 0.0,
        }
        .validate()
        .expect_err("zero step");
        assert!(err.to_string().contains("timeline.step_s"));
    }
}
