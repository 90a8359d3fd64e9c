//! What the detector saw in the last frame, beyond its boxes: the foreground
//! mask (as a summed-area table) and the downscaled grey image. The tracker
//! asks it whether an object is still where a track predicts it, and where a
//! track's appearance is in a merged blob.

use image::GrayImage;

use super::integral::Integral;
use crate::geometry::BBox;

/// Foreground and image of the last frame, at the detector's resolution.
#[derive(Debug, Clone, Default)]
pub struct FrameEvidence {
    factor: f32,
    frame: (u32, u32),
    width: usize,
    height: usize,
    grey: Vec<f32>,
    sat: Integral,
    noise: f32,
}

impl FrameEvidence {
    pub(crate) fn rebuild(
        &mut self,
        mask: &GrayImage,
        factor: u32,
        grey: &[f32],
        frame: (u32, u32),
        noise: f32,
    ) {
        self.noise = noise;
        self.factor = factor as f32;
        self.frame = frame;
        self.width = mask.width() as usize;
        self.height = mask.height() as usize;
        self.grey.clear();
        self.grey.extend_from_slice(grey);
        self.sat.rebuild(mask.as_raw(), self.width, self.height);
    }

    /// Size of the full-resolution frame.
    pub fn frame_size(&self) -> (u32, u32) {
        self.frame
    }

    /// Full-resolution pixels per low-resolution pixel, per axis.
    pub fn factor(&self) -> f32 {
        self.factor
    }

    /// Low-resolution size `(width, height)`.
    pub fn low_res_size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Estimated noise (standard deviation) of the downscaled grey frame
    /// against the background, grey levels.
    pub fn noise_sigma(&self) -> f32 {
        self.noise
    }

    /// The downscaled grey frame, row-major, low resolution.
    pub fn grey(&self) -> &[f32] {
        &self.grey
    }

    /// Fraction of `bbox` (full-resolution pixels) that is foreground, in
    /// `[0, 1]`; 0 for boxes outside the frame or before the first frame.
    pub fn fraction_in(&self, bbox: &BBox) -> f32 {
        if self.factor <= 0.0 {
            return 0.0;
        }
        let f = self.factor;
        let clamp = |v: f32, max: usize| (v / f).round().clamp(0.0, max as f32) as usize;
        let (x0, x1) = (clamp(bbox.x, self.width), clamp(bbox.right(), self.width));
        let (y0, y1) = (
            clamp(bbox.y, self.height),
            clamp(bbox.bottom(), self.height),
        );
        if x1 <= x0 || y1 <= y0 {
            return 0.0;
        }
        self.sat.count(x0, y0, x1, y1) as f32 / ((x1 - x0) * (y1 - y0)) as f32
    }
}
