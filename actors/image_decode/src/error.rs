//! The typed errors of this crate: one enum per operation (decode, prescale,
//! load = decode + prescale, PNG output), each message one self-contained line
//! that says what was wrong with the input.

use std::io;

use crate::format::ImageFormat;

/// Why an image could not be decoded. Messages are self-contained (no source
/// chain to walk) so that a caller can forward `to_string()` as a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The file could not be opened or read.
    #[error("cannot read the file: {detail}")]
    Io {
        /// The kind of I/O failure.
        kind: io::ErrorKind,
        /// The operating system's message.
        detail: String,
    },
    /// The input holds no bytes at all.
    #[error("the file is empty")]
    Empty,
    /// The input is larger than [`crate::Limits::max_input_bytes`].
    #[error("the file is {size} bytes, over the limit of {limit} bytes")]
    InputTooLarge {
        /// Size of the input in bytes.
        size: u64,
        /// The limit it broke.
        limit: u64,
    },
    /// The first bytes match no known image signature.
    #[error("not an image in a known format (first bytes: {magic})")]
    UnknownFormat {
        /// Hex dump of the first bytes.
        magic: String,
    },
    /// A known image format that this crate does not decode (AVIF, ICO, ...).
    #[error("{format} images are not supported (supported: JPEG, PNG, WebP, GIF, BMP, TIFF)")]
    UnsupportedFormat {
        /// Name of the recognised format.
        format: String,
    },
    /// A supported format using a feature its decoder does not implement.
    #[error("unsupported {format} feature: {detail}")]
    UnsupportedFeature {
        /// The container format.
        format: ImageFormat,
        /// What the decoder said.
        detail: String,
    },
    /// The header declares a width or height over the limits.
    #[error(
        "{format} header declares {width}x{height}, over the limit of {max_width}x{max_height}"
    )]
    DimensionsTooLarge {
        /// The container format.
        format: ImageFormat,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Width limit.
        max_width: u32,
        /// Height limit.
        max_height: u32,
    },
    /// The header declares more pixels than [`crate::Limits::max_pixels`].
    #[error(
        "{format} header declares {width}x{height} = {pixels} pixels, over the limit of {limit}"
    )]
    TooManyPixels {
        /// The container format.
        format: ImageFormat,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// `width * height`.
        pixels: u64,
        /// The limit it broke.
        limit: u64,
    },
    /// Decoding would need a buffer larger than [`crate::Limits::max_decoded_bytes`].
    #[error("{format} image would decode to {bytes} bytes, over the limit of {limit} bytes")]
    DecodedTooLarge {
        /// The container format.
        format: ImageFormat,
        /// Bytes the decoded buffer would take.
        bytes: u64,
        /// The limit it broke.
        limit: u64,
    },
    /// The header declares a zero width or height.
    #[error("{format} header declares an empty image ({width}x{height})")]
    ZeroDimension {
        /// The container format.
        format: ImageFormat,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// A decoder's own allocation limit tripped inside the data (for example a
    /// compressed metadata chunk that inflates past the decoded-bytes limit).
    #[error("{format} data needs more memory than the limits allow: {detail}")]
    DecoderLimit {
        /// The container format.
        format: ImageFormat,
        /// What the decoder said.
        detail: String,
    },
    /// The data ends before the image does.
    #[error("truncated {format} data: {detail}")]
    Truncated {
        /// The container format.
        format: ImageFormat,
        /// Where or how it ended.
        detail: String,
    },
    /// The data is malformed.
    #[error("corrupt {format} data: {detail}")]
    Corrupt {
        /// The container format.
        format: ImageFormat,
        /// What the decoder rejected.
        detail: String,
    },
    /// The decoder panicked; the panic was caught and the input is treated as
    /// hostile. (A bug in a decoder crate; the fuzz target looks for these.)
    #[error("the {format} decoder crashed on this input: {detail}")]
    DecoderPanicked {
        /// The container format.
        format: ImageFormat,
        /// The panic message.
        detail: String,
    },
}

impl DecodeError {
    /// Wraps an I/O failure.
    pub(crate) fn io(error: &io::Error) -> Self {
        Self::Io {
            kind: error.kind(),
            detail: error.to_string(),
        }
    }
}

/// Why a prescale could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScaleError {
    /// The target size has a zero side.
    #[error("target size {width}x{height} has a zero side")]
    ZeroTarget {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// The target size is larger than [`crate::MAX_TARGET_SIDE`] on a side.
    #[error("target size {width}x{height} is over the limit of {max} per side")]
    TargetTooLarge {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// The per-side limit.
        max: u32,
    },
    /// The target area is larger than [`crate::MAX_TARGET_PIXELS`].
    #[error("target size {width}x{height} is over the limit of {max_pixels} pixels")]
    TargetAreaTooLarge {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// The area limit.
        max_pixels: u64,
    },
    /// A size string was not `WIDTHxHEIGHT`.
    #[error("size {input:?} is not WIDTHxHEIGHT (for example 1920x1080)")]
    BadSize {
        /// What was given.
        input: String,
    },
    /// A fit or filter name is unknown.
    #[error("unknown {what} {input:?} (expected one of: {expected})")]
    UnknownName {
        /// "fit" or "filter".
        what: &'static str,
        /// What was given.
        input: String,
        /// The accepted names.
        expected: &'static str,
    },
    /// The resize library refused the buffers (an internal invariant broke).
    #[error("resize failed: {detail}")]
    Resize {
        /// What `fast_image_resize` said.
        detail: String,
    },
}

/// Why a buffer is not a valid RGBA8 image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an RGBA8 image of {width}x{height} needs {expected} bytes, got {actual}")]
pub struct PixelBufferError {
    /// Width given.
    pub width: u32,
    /// Height given.
    pub height: u32,
    /// `width * height * 4` (saturating).
    pub expected: u64,
    /// Length of the buffer given.
    pub actual: u64,
}

/// Why a decode + prescale (a "load") failed: the decode or the scale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Decoding failed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Prescaling failed.
    #[error(transparent)]
    Scale(#[from] ScaleError),
}

/// Why a PNG could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output file could not be created or written.
    #[error("cannot write {path}: {detail}")]
    Io {
        /// The output path.
        path: String,
        /// The operating system's message.
        detail: String,
    },
    /// The encoder failed.
    #[error("encoding failed: {detail}")]
    Encode {
        /// What the encoder said.
        detail: String,
    },
}
