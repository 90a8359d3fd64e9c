//! `TimelinesFrame`: the predicted futures of the reported tracks. Each
//! timeline is `track_id: u64, points: u32` followed by that many points of
//! 28 bytes: `dt_ms: u32`, `x, y, w, h, sigma_x, sigma_y: f32`.

use super::codec::{Reader, Writer, frame, open};
use super::{FrameKind, MAX_TIMELINES, WireError};
use crate::geometry::BBox;
use crate::timeline::{MAX_TIMELINE_POINTS, Timeline, TimelinePoint};

/// Timelines published at 1 Hz.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelinesFrame {
    /// Monotonic frame counter.
    pub frame_id: u64,
    /// Time the prediction starts from, ms.
    pub timestamp_ms: u64,
    /// The timelines.
    pub timelines: Vec<Timeline>,
}

impl TimelinesFrame {
    /// Encode; fails on more than [`MAX_TIMELINES`] timelines, more than
    /// [`MAX_TIMELINE_POINTS`] points in one, or a value that is not finite.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let count = u32::try_from(self.timelines.len())
            .ok()
            .filter(|&c| c <= MAX_TIMELINES)
            .ok_or(WireError::CountOverLimit {
                what: "timeline",
                count: self.timelines.len() as u64,
                limit: MAX_TIMELINES,
            })?;
        let mut w = Writer::default();
        for t in &self.timelines {
            let n = u32::try_from(t.points.len())
                .ok()
                .filter(|&n| n as usize <= MAX_TIMELINE_POINTS)
                .ok_or(WireError::CountOverLimit {
                    what: "timeline point",
                    count: t.points.len() as u64,
                    limit: MAX_TIMELINE_POINTS as u32,
                })?;
            w.u64(t.track_id);
            w.u32(n);
            for p in &t.points {
                w.u32(p.dt_ms);
                w.f32("point.x", p.bbox.x)?;
                w.f32("point.y", p.bbox.y)?;
                w.f32_nonneg("point.w", p.bbox.w)?;
                w.f32_nonneg("point.h", p.bbox.h)?;
                w.f32_nonneg("point.sigma_x", p.sigma.0)?;
                w.f32_nonneg("point.sigma_y", p.sigma.1)?;
            }
        }
        frame(
            FrameKind::Timelines,
            self.frame_id,
            self.timestamp_ms,
            count,
            &w.buf,
        )
    }

    /// Decode and validate.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let (header, payload) = open(bytes, FrameKind::Timelines, "timeline", MAX_TIMELINES)?;
        let mut r = Reader::new(payload);
        let mut timelines = Vec::with_capacity(header.count as usize);
        for _ in 0..header.count {
            let track_id = r.u64("timeline.track_id")?;
            let n = r.u32("timeline.points")?;
            if n as usize > MAX_TIMELINE_POINTS {
                return Err(WireError::CountOverLimit {
                    what: "timeline point",
                    count: u64::from(n),
                    limit: MAX_TIMELINE_POINTS as u32,
                });
            }
            let mut points = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let dt_ms = r.u32("point.dt_ms")?;
                let bbox = BBox::new(
                    r.f32("point.x")?,
                    r.f32("point.y")?,
                    r.f32("point.w")?,
                    r.f32("point.h")?,
                );
                if bbox.w < 0.0 || bbox.h < 0.0 {
                    return Err(WireError::InvalidField {
                        what: "point.size",
                        reason: format!("negative {}x{}", bbox.w, bbox.h),
                    });
                }
                let sigma = (r.f32("point.sigma_x")?, r.f32("point.sigma_y")?);
                if sigma.0 < 0.0 || sigma.1 < 0.0 {
                    return Err(WireError::InvalidField {
                        what: "point.sigma",
                        reason: format!("negative {sigma:?}"),
                    });
                }
                points.push(TimelinePoint { dt_ms, bbox, sigma });
            }
            timelines.push(Timeline { track_id, points });
        }
        r.finish()?;
        Ok(TimelinesFrame {
            frame_id: header.frame_id,
            timestamp_ms: header.timestamp_ms,
            timelines,
        })
    }
}
