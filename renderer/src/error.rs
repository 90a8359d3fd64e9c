//! The crate's error type: every way a render, a fit or an image load can
//! fail, each naming what was wrong.

use std::path::PathBuf;

/// Why the renderer refused an input or could not produce a frame.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A frame's byte length does not match `width × height × 4`.
    #[error("frame {width}x{height} needs {expected} bytes of RGBA8, got {actual}")]
    FrameLength {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `width × height × 4`.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },
    /// A width or height of zero, or beyond the renderer's limit.
    #[error("{what} size {width}x{height} is out of range (1..={max} per side)")]
    SizeOutOfRange {
        /// Which input had the size ("canvas", "image", ...).
        what: &'static str,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The largest side accepted.
        max: u32,
    },
    /// An image in the scene does not have the canvas size.
    #[error(
        "{what} is {width}x{height} but the canvas is {canvas_width}x{canvas_height}; fit it first"
    )]
    SizeMismatch {
        /// Which image ("slideshow image", "transition source", ...).
        what: &'static str,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The canvas width.
        canvas_width: u32,
        /// The canvas height.
        canvas_height: u32,
    },
    /// The image could not be resampled to the canvas.
    #[error("cannot fit the image to the canvas: {detail}")]
    Fit {
        /// The resampler's message.
        detail: String,
    },
    /// A scene value outside its documented range (NaN, negative, ...).
    #[error("scene value {field} = {value} is invalid: {expected}")]
    InvalidValue {
        /// Which field, as a path (`boxes[3].w`).
        field: String,
        /// The offending value, printed.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Precomputed transition tables were built for another size, seed or kind.
    #[error("transition tables were built for {built}, the transition needs {needed}")]
    TablesMismatch {
        /// What the tables were built for.
        built: String,
        /// What the frame needs.
        needed: String,
    },
    /// A transition or easing name that does not exist.
    #[error("unknown {what} {name:?}; expected one of: {expected}")]
    UnknownName {
        /// "transition" or "easing".
        what: &'static str,
        /// The name given.
        name: String,
        /// The accepted names, comma-separated.
        expected: String,
    },
    /// The wgpu backend was forced but no adapter exists.
    #[error("no wgpu adapter is available: {0}")]
    NoAdapter(String),
    /// The wgpu device could not be opened.
    #[error("could not open the wgpu device on {adapter}: {detail}")]
    DeviceOpen {
        /// The adapter's name.
        adapter: String,
        /// What wgpu said.
        detail: String,
    },
    /// The GPU failed (outside the demotion ladder, which absorbs these).
    #[error("GPU failure: {0}")]
    Gpu(#[from] crate::gpu::GpuFault),
    /// Reading or decoding an image file failed.
    #[error("cannot load image {path}: {detail}")]
    ImageLoad {
        /// The file.
        path: PathBuf,
        /// The decoder's or the file system's message.
        detail: String,
    },
    /// Writing a PNG failed.
    #[error("cannot write PNG {path}: {detail}")]
    ImageSave {
        /// The file.
        path: PathBuf,
        /// The encoder's or the file system's message.
        detail: String,
    },
}
