//! Frame sources: the [`FrameSource`] trait, the [`Frame`] it yields and the
//! ground truth a synthetic frame carries. Two implementations live in
//! `source/`: a seeded synthetic camera and a directory of images.

pub mod image_dir;
pub mod synthetic;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::PerceptionError;
use crate::geometry::BBox;

pub use image_dir::ImageDirSource;
pub use synthetic::{SyntheticCamera, SyntheticConfig};

/// One camera frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// 0-based position in the sequence.
    pub index: u64,
    /// Capture time in milliseconds since the start of the sequence.
    pub timestamp_ms: u64,
    /// The pixels.
    pub image: RgbImage,
    /// Exact ground truth, when the source knows it (the synthetic camera).
    pub truth: Option<Vec<TruthBox>>,
}

/// One object's ground truth in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TruthBox {
    /// Identity, stable for the object's whole life in the scene.
    pub id: u64,
    /// The object's full extent (amodal: occluded parts included), clipped
    /// to the frame.
    pub bbox: BBox,
    /// Fraction of the object's pixels that are seen (not hidden by a nearer
    /// object and inside the frame), in `[0, 1]`.
    pub visibility: f32,
}

/// A sequence of frames.
pub trait FrameSource {
    /// Frame size in pixels, `(width, height)`.
    fn size(&self) -> (u32, u32);
    /// Frames per second (timestamps and timeline horizons use it).
    fn fps(&self) -> f32;
    /// Number of frames this source will yield, when known.
    fn frame_count(&self) -> Option<usize>;
    /// The next frame, `Ok(None)` at the end of the sequence.
    fn next_frame(&mut self) -> Result<Option<Frame>, PerceptionError>;
}
