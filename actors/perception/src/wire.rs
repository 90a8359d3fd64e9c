//! The wire frames of seed 003: detections and tracks (published at 10 Hz)
//! and timelines (1 Hz), each a little-endian binary frame
//!
//! ```text
//! magic u32 = 0x4F4D4E49 ("OMNI") | version u32 | kind u32 | frame_id u64
//! | timestamp_ms u64 | count u32 | payload_len u32 | payload | crc32 u32
//! ```
//!
//! The CRC32 (`crc32fast`, IEEE) covers every byte before it. Decoding
//! checks, in this order, the length of the header, the magic, the version,
//! the kind, the count against its limit, the payload length against the
//! bytes present, the checksum, then every field — and answers a typed
//! [`WireError`], never a panic.

mod codec;
mod detections;
mod timelines;
mod tracks;

pub use detections::DetectionFrame;
pub use timelines::TimelinesFrame;
pub use tracks::TracksFrame;

/// `"OMNI"` read as a little-endian `u32`.
pub const MAGIC: u32 = 0x4F4D_4E49;
/// The protocol version this crate writes and reads.
pub const VERSION: u32 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 36;
/// Most detections in one frame.
pub const MAX_DETECTIONS: u32 = 256;
/// Most tracks in one frame.
pub const MAX_TRACKS: u32 = 256;
/// Most timelines in one frame.
pub const MAX_TIMELINES: u32 = 64;

/// Which frame a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A [`DetectionFrame`].
    Detections,
    /// A [`TracksFrame`].
    Tracks,
    /// A [`TimelinesFrame`].
    Timelines,
}

impl FrameKind {
    /// The code in the header.
    pub fn code(self) -> u32 {
        match self {
            FrameKind::Detections => 1,
            FrameKind::Tracks => 2,
            FrameKind::Timelines => 3,
        }
    }

    /// The kind of a header code, if known.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(FrameKind::Detections),
            2 => Some(FrameKind::Tracks),
            3 => Some(FrameKind::Timelines),
            _ => None,
        }
    }
}

/// Why a frame could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// Fewer bytes than the header or the payload needs.
    #[error("frame truncated: {needed} bytes needed, {available} present")]
    Truncated {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// More bytes than the header announces.
    #[error("{extra} bytes after the end of the frame")]
    TrailingBytes {
        /// Bytes past the checksum.
        extra: usize,
    },
    /// The first four bytes are not `"OMNI"`.
    #[error("bad magic {found:#010x}, expected {MAGIC:#010x}")]
    BadMagic {
        /// What was there.
        found: u32,
    },
    /// A protocol version this decoder does not know.
    #[error("unsupported protocol version {found} (this decoder reads {VERSION})")]
    UnsupportedVersion {
        /// The version in the frame.
        found: u32,
    },
    /// The frame is of another kind (or an unknown one).
    #[error("frame kind {found} where {expected:?} (code {}) was expected", expected.code())]
    WrongKind {
        /// The kind asked for.
        expected: FrameKind,
        /// The code in the frame.
        found: u32,
    },
    /// A count beyond the protocol's limit.
    #[error("{what} count {count} is over the limit of {limit}")]
    CountOverLimit {
        /// What is counted.
        what: &'static str,
        /// The count.
        count: u64,
        /// The limit.
        limit: u32,
    },
    /// The stored checksum does not match the bytes.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    ChecksumMismatch {
        /// Checksum in the frame.
        stored: u32,
        /// Checksum of the bytes received.
        computed: u32,
    },
    /// A field holds a value no encoder writes (non-finite number, unknown
    /// code, reserved bits, inconsistent length).
    #[error("invalid {what}: {reason}")]
    InvalidField {
        /// The field.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The header of any frame, after its checks (not the checksum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The frame's kind.
    pub kind: FrameKind,
    /// Monotonic frame counter of the publisher.
    pub frame_id: u64,
    /// Capture time, ms.
    pub timestamp_ms: u64,
    /// Records in the payload.
    pub count: u32,
}

/// Read and check the header of `bytes` (magic, version, kind) without
/// decoding the payload — to dispatch on the kind.
pub fn peek_header(bytes: &[u8]) -> Result<FrameHeader, WireError> {
    codec::read_header(bytes)
}

#[cfg(test)]
mod proptests;
