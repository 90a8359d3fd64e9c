//! `DetectionFrame`: the detections of one camera frame. Record (28 bytes):
//! `x, y, w, h, score, area: f32` and `border: u32` (bits: left 1, top 2,
//! right 4, bottom 8; other bits reserved, zero).

use super::codec::{Reader, Writer, frame, open};
use super::{FrameKind, MAX_DETECTIONS, WireError};
use crate::detect::Detection;
use crate::geometry::{BBox, Border};

/// Detections published for one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionFrame {
    /// Monotonic frame counter.
    pub frame_id: u64,
    /// Capture time, ms.
    pub timestamp_ms: u64,
    /// The detections.
    pub detections: Vec<Detection>,
}

impl DetectionFrame {
    /// Bytes of one record.
    pub const RECORD_LEN: usize = 28;

    /// Encode; fails on more than [`MAX_DETECTIONS`] detections or a value
    /// that is not finite.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let count = u32::try_from(self.detections.len())
            .ok()
            .filter(|&c| c <= MAX_DETECTIONS)
            .ok_or(WireError::CountOverLimit {
                what: "detection",
                count: self.detections.len() as u64,
                limit: MAX_DETECTIONS,
            })?;
        let mut w = Writer {
            buf: Vec::with_capacity(self.detections.len() * Self::RECORD_LEN),
        };
        for d in &self.detections {
            w.f32("detection.x", d.bbox.x)?;
            w.f32("detection.y", d.bbox.y)?;
            w.f32_nonneg("detection.w", d.bbox.w)?;
            w.f32_nonneg("detection.h", d.bbox.h)?;
            w.f32("detection.score", d.score)?;
            w.f32("detection.area", d.area)?;
            w.u32(u32::from(d.border.bits()));
        }
        frame(
            FrameKind::Detections,
            self.frame_id,
            self.timestamp_ms,
            count,
            &w.buf,
        )
    }

    /// Decode and validate.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let (header, payload) = open(bytes, FrameKind::Detections, "detection", MAX_DETECTIONS)?;
        let mut r = Reader::new(payload);
        let mut detections = Vec::with_capacity(header.count as usize);
        for _ in 0..header.count {
            let bbox = BBox::new(
                r.f32("detection.x")?,
                r.f32("detection.y")?,
                r.f32("detection.w")?,
                r.f32("detection.h")?,
            );
            if bbox.w < 0.0 || bbox.h < 0.0 {
                return Err(WireError::InvalidField {
                    what: "detection.size",
                    reason: format!("negative {}x{}", bbox.w, bbox.h),
                });
            }
            let score = r.f32("detection.score")?;
            let area = r.f32("detection.area")?;
            let bits = r.u32("detection.border")?;
            let border = u8::try_from(bits)
                .ok()
                .and_then(Border::from_bits)
                .ok_or_else(|| WireError::InvalidField {
                    what: "detection.border",
                    reason: format!("reserved bits set in {bits:#x}"),
                })?;
            detections.push(Detection {
                bbox,
                score,
                area,
                border,
            });
        }
        r.finish()?;
        Ok(DetectionFrame {
            frame_id: header.frame_id,
            timestamp_ms: header.timestamp_ms,
            detections,
        })
    }
}
