//! The crate's error type: every way a source, a configuration or a
//! MOTChallenge file can be wrong, each naming what and where. Wire-frame
//! decoding has its own enum ([`crate::wire::WireError`]) because callers
//! branch on its cause.

use std::path::PathBuf;

/// Errors of frame sources, configuration and MOTChallenge file I/O.
#[derive(Debug, thiserror::Error)]
pub enum PerceptionError {
    /// A configuration value is out of range; `what` names the parameter.
    #[error("invalid {what}: {reason}")]
    InvalidConfig {
        /// The parameter, e.g. `synthetic.width`.
        what: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The image-directory source was given something that is not a directory.
    #[error("{path}: not a directory")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The image directory holds no PNG or JPEG file.
    #[error("{path}: no PNG or JPEG frames in this directory")]
    EmptyDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// Reading a file or listing a directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A frame file could not be decoded.
    #[error("{path}: cannot decode image: {source}")]
    Decode {
        /// The frame file.
        path: PathBuf,
        /// The decoder's error.
        #[source]
        source: image::ImageError,
    },
    /// A frame differs in size from the first frame of the sequence.
    #[error("{path}: frame is {found_w}x{found_h} but the sequence is {expected_w}x{expected_h}")]
    FrameSizeMismatch {
        /// The frame file.
        path: PathBuf,
        /// Width of the sequence.
        expected_w: u32,
        /// Height of the sequence.
        expected_h: u32,
        /// Width of this frame.
        found_w: u32,
        /// Height of this frame.
        found_h: u32,
    },
    /// A frame given to a detector differs in size from its first frame.
    #[error("frame is {found_w}x{found_h} but this detector started at {expected_w}x{expected_h}")]
    FrameSizeChanged {
        /// Width of the first frame.
        expected_w: u32,
        /// Height of the first frame.
        expected_h: u32,
        /// Width of this frame.
        found_w: u32,
        /// Height of this frame.
        found_h: u32,
    },
    /// A MOTChallenge text file has a malformed line.
    #[error("{path}:{line}: {reason}")]
    MotParse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
}

impl PerceptionError {
    /// Shorthand for [`PerceptionError::InvalidConfig`].
    pub(crate) fn config(what: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            what,
            reason: reason.into(),
        }
    }
}
