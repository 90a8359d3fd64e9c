//! What the overlays show, from the other actors' latest values: the bars
//! and their ghost peaks from `fft.bars` (falling to zero once no fresh value
//! has come for a while, never frozen), and the tracked boxes of
//! `perception.tracks` placed over the camera inset.

use std::time::Duration;

use warden_perception::TrackReport;
use warden_renderer::{Bar, DetectionBox, NormRect};

/// Bars older than this start to fall.
pub const STALE: Duration = Duration::from_millis(250);
/// …and are down to zero this much later.
pub const FALL: Duration = Duration::from_millis(250);

/// The latest bars and when they came (on the compositor's clock).
#[derive(Clone, Debug, Default)]
pub struct LatestBars {
    /// Heights, 0..1.
    pub bars: Vec<f32>,
    /// Ghost peaks, 0..1.
    pub peaks: Vec<f32>,
    /// When they arrived.
    pub at: Duration,
}

impl LatestBars {
    /// The bars to draw at `now`.
    pub fn at(&self, now: Duration) -> Vec<Bar> {
        let age = now.saturating_sub(self.at);
        let scale = if age <= STALE {
            1.0
        } else {
            1.0 - ((age - STALE).as_secs_f32() / FALL.as_secs_f32()).min(1.0)
        };
        self.bars
            .iter()
            .zip(self.peaks.iter().chain(std::iter::repeat(&0.0)))
            .map(|(bar, peak)| Bar {
                magnitude: (bar * scale).clamp(0.0, 1.0),
                peak: (peak * scale).clamp(0.0, 1.0),
            })
            .collect()
    }
}

/// Tracks' boxes (in camera pixels of a `size` frame) placed inside `inset`.
pub fn boxes(tracks: &[TrackReport], size: (u32, u32), inset: &NormRect) -> Vec<DetectionBox> {
    let (w, h) = (size.0.max(1) as f32, size.1.max(1) as f32);
    tracks
        .iter()
        .map(|track| DetectionBox {
            rect: NormRect {
                x: inset.x + track.bbox.x / w * inset.w,
                y: inset.y + track.bbox.y / h * inset.h,
                w: track.bbox.w / w * inset.w,
                h: track.bbox.h / h * inset.h,
            },
            track_id: u32::try_from(track.id).unwrap_or(u32::MAX),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_perception::{BBox, TrackState};

    #[test]
    fn stale_bars_fall_to_zero_and_never_freeze() {
        let latest = LatestBars {
            bars: vec![0.8, 0.4],
            peaks: vec![0.9, 0.5],
            at: Duration::from_secs(10),
        };
        let at = |ms| latest.at(Duration::from_secs(10) + Duration::from_millis(ms));
        assert_eq!(at(100)[0].magnitude, 0.8);
        let falling = at(375)[0].magnitude;
        assert!((falling - 0.4).abs() < 1e-6, "half way down: {falling}");
        assert!(at(500).iter().all(|b| b.magnitude == 0.0 && b.peak == 0.0));
        assert!(at(60_000).iter().all(|b| b.magnitude == 0.0));
    }

    #[test]
    fn boxes_land_inside_the_inset_where_the_camera_saw_them() {
        let track = TrackReport {
            id: 7,
            bbox: BBox {
                x: 320.0,
                y: 0.0,
                w: 160.0,
                h: 240.0,
            },
            velocity: (0.0, 0.0),
            score: 1.0,
            age: 1,
            hits: 1,
            time_since_update: 0,
            state: TrackState::Tracked,
        };
        let inset = NormRect {
            x: 0.5,
            y: 0.5,
            w: 0.5,
            h: 0.5,
        };
        let placed = boxes(&[track], (640, 480), &inset);
        assert_eq!(placed[0].track_id, 7);
        let r = placed[0].rect;
        assert!((r.x - 0.75).abs() < 1e-6 && (r.y - 0.5).abs() < 1e-6);
        assert!((r.w - 0.125).abs() < 1e-6 && (r.h - 0.25).abs() < 1e-6);
    }
}
