//! `TracksFrame`: the reported tracks of one camera frame. Record (52
//! bytes): `id: u64`, `x, y, w, h, vx, vy, score: f32`, `age, hits,
//! time_since_update: u32`, `state: u32` (0 tracked, 1 occluded, 2
//! coasting, 3 lost).

use super::codec::{Reader, Writer, frame, open};
use super::{FrameKind, MAX_TRACKS, WireError};
use crate::geometry::BBox;
use crate::tracker::{TrackReport, TrackState};

/// Tracks published for one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TracksFrame {
    /// Monotonic frame counter.
    pub frame_id: u64,
    /// Capture time, ms.
    pub timestamp_ms: u64,
    /// The tracks.
    pub tracks: Vec<TrackReport>,
}

impl TracksFrame {
    /// Bytes of one record.
    pub const RECORD_LEN: usize = 52;

    /// Encode; fails on more than [`MAX_TRACKS`] tracks or a value that is
    /// not finite.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let count = u32::try_from(self.tracks.len())
            .ok()
            .filter(|&c| c <= MAX_TRACKS)
            .ok_or(WireError::CountOverLimit {
                what: "track",
                count: self.tracks.len() as u64,
                limit: MAX_TRACKS,
            })?;
        let mut w = Writer {
            buf: Vec::with_capacity(self.tracks.len() * Self::RECORD_LEN),
        };
        for t in &self.tracks {
            w.u64(t.id);
            w.f32("track.x", t.bbox.x)?;
            w.f32("track.y", t.bbox.y)?;
            w.f32_nonneg("track.w", t.bbox.w)?;
            w.f32_nonneg("track.h", t.bbox.h)?;
            w.f32("track.vx", t.velocity.0)?;
            w.f32("track.vy", t.velocity.1)?;
            w.f32("track.score", t.score)?;
            w.u32(t.age);
            w.u32(t.hits);
            w.u32(t.time_since_update);
            w.u32(u32::from(t.state.code()));
        }
        frame(
            FrameKind::Tracks,
            self.frame_id,
            self.timestamp_ms,
            count,
            &w.buf,
        )
    }

    /// Decode and validate.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let (header, payload) = open(bytes, FrameKind::Tracks, "track", MAX_TRACKS)?;
        let mut r = Reader::new(payload);
        let mut tracks = Vec::with_capacity(header.count as usize);
        for _ in 0..header.count {
            let id = r.u64("track.id")?;
            let bbox = BBox::new(
                r.f32("track.x")?,
                r.f32("track.y")?,
                r.f32("track.w")?,
                r.f32("track.h")?,
            );
            if bbox.w < 0.0 || bbox.h < 0.0 {
                return Err(WireError::InvalidField {
                    what: "track.size",
                    reason: format!("negative {}x{}", bbox.w, bbox.h),
                });
            }
            let velocity = (r.f32("track.vx")?, r.f32("track.vy")?);
            let score = r.f32("track.score")?;
            let (age, hits, time_since_update) = (
                r.u32("track.age")?,
                r.u32("track.hits")?,
                r.u32("track.time_since_update")?,
            );
            let code = r.u32("track.state")?;
            let state = u8::try_from(code)
                .ok()
                .and_then(TrackState::from_code)
                .ok_or_else(|| WireError::InvalidField {
                    what: "track.state",
                    reason: format!("unknown code {code}"),
                })?;
            tracks.push(TrackReport {
                id,
                bbox,
                velocity,
                score,
                age,
                hits,
                time_since_update,
                state,
            });
        }
        r.finish()?;
        Ok(TracksFrame {
            frame_id: header.frame_id,
            timestamp_ms: header.timestamp_ms,
            tracks,
        })
    }
}
