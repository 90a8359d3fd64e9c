//! The crate's error type: every way analysis, WAV input/output or the
//! generator can fail, each naming what was wrong and where.

use std::path::PathBuf;

/// Everything that can go wrong in `warden-fft`.
#[derive(Debug, thiserror::Error)]
pub enum FftError {
    /// A configuration value is out of its valid range.
    #[error("invalid {field} = {value}: {reason}")]
    InvalidConfig {
        /// The configuration key (as the CLI and config files spell it).
        field: &'static str,
        /// The offending value, as given.
        value: String,
        /// What the valid range is.
        reason: &'static str,
    },
    /// The file could not be opened, read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a well-formed WAV file (bad RIFF/fmt/data chunk).
    #[error("{}: not a valid WAV file: {reason}", path.display())]
    MalformedWav {
        /// The file.
        path: PathBuf,
        /// What the WAV parser found wrong.
        reason: String,
    },
    /// A well-formed WAV whose encoding this crate does not read.
    #[error("{}: unsupported WAV encoding: {reason}", path.display())]
    UnsupportedWav {
        /// The file.
        path: PathBuf,
        /// Which encoding, and what is supported instead.
        reason: String,
    },
    /// The data chunk ends before the length its header promises.
    #[error(
        "{}: WAV data ends early: the header promises {expected} sample frames, \
         the file holds {found}",
        path.display()
    )]
    TruncatedWav {
        /// The file.
        path: PathBuf,
        /// Sample frames (one sample per channel) the header announces.
        expected: u64,
        /// Complete sample frames actually read.
        found: u64,
    },
    /// Writing a WAV file failed inside the encoder.
    #[error("{}: cannot write WAV: {reason}", path.display())]
    WavWrite {
        /// The file.
        path: PathBuf,
        /// What the encoder reported.
        reason: String,
    },
    /// A window handed to the analyser has the wrong number of samples.
    #[error("window holds {found} samples, the analyser is configured for {expected}")]
    WindowLength {
        /// The configured frame length.
        expected: usize,
        /// The length that was passed.
        found: usize,
    },
}

impl FftError {
    /// Shorthand for [`FftError::InvalidConfig`].
    pub(crate) fn config(field: &'static str, value: impl ToString, reason: &'static str) -> Self {
        Self::InvalidConfig {
            field,
            value: value.to_string(),
            reason,
        }
    }
}
