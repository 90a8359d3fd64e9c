//! Byte-level reading and writing shared by the three frames: the header,
//! the checksum, and a bounds-checked little-endian cursor.

use super::{FrameHeader, FrameKind, HEADER_LEN, MAGIC, VERSION, WireError};

/// Append-only little-endian writer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A finite `f32`; `what` names the field when it is not finite.
    pub(crate) fn f32(&mut self, what: &'static str, v: f32) -> Result<(), WireError> {
        if !v.is_finite() {
            return Err(WireError::InvalidField {
                what,
                reason: format!("{v} is not finite"),
            });
        }
        self.buf.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    /// A finite, non-negative `f32` (sizes, deviations): what decoding
    /// refuses is refused here too.
    pub(crate) fn f32_nonneg(&mut self, what: &'static str, v: f32) -> Result<(), WireError> {
        if v < 0.0 {
            return Err(WireError::InvalidField {
                what,
                reason: format!("{v} is negative"),
            });
        }
        self.f32(what, v)
    }
}

/// Bounds-checked little-endian reader over a payload.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    fn take<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let end = self
            .at
            .checked_add(N)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| WireError::InvalidField {
                what,
                reason: format!(
                    "payload ends at byte {} before this field",
                    self.bytes.len()
                ),
            })?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.at..end]);
        self.at = end;
        Ok(out)
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.take::<4>(what)?))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.take::<8>(what)?))
    }

    pub(crate) fn f32(&mut self, what: &'static str) -> Result<f32, WireError> {
        let v = f32::from_le_bytes(self.take::<4>(what)?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(WireError::InvalidField {
                what,
                reason: format!("{v} is not finite"),
            })
        }
    }

    /// Error unless every byte was read.
    pub(crate) fn finish(&self) -> Result<(), WireError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(WireError::InvalidField {
                what: "payload_len",
                reason: format!(
                    "{} bytes announced, records use {}",
                    self.bytes.len(),
                    self.at
                ),
            })
        }
    }
}

/// A whole frame: header, `payload` (with `count` records) and checksum.
pub(crate) fn frame(
    kind: FrameKind,
    frame_id: u64,
    timestamp_ms: u64,
    count: u32,
    payload: &[u8],
) -> Result<Vec<u8>, WireError> {
    let payload_len = u32::try_from(payload.len()).map_err(|_| WireError::InvalidField {
        what: "payload_len",
        reason: format!("{} bytes do not fit in u32", payload.len()),
    })?;
    let mut w = Writer {
        buf: Vec::with_capacity(HEADER_LEN + payload.len() + 4),
    };
    w.u32(MAGIC);
    w.u32(VERSION);
    w.u32(kind.code());
    w.u64(frame_id);
    w.u64(timestamp_ms);
    w.u32(count);
    w.u32(payload_len);
    w.buf.extend_from_slice(payload);
    let crc = crc32fast::hash(&w.buf);
    w.u32(crc);
    Ok(w.buf)
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Check the header (not the payload or checksum).
pub(crate) fn read_header(bytes: &[u8]) -> Result<FrameHeader, WireError> {
    if bytes.len() < HEADER_LEN {
        return Err(WireError::Truncated {
            needed: HEADER_LEN + 4,
            available: bytes.len(),
        });
    }
    let magic = le32(bytes, 0);
    if magic != MAGIC {
        return Err(WireError::BadMagic { found: magic });
    }
    let version = le32(bytes, 4);
    if version != VERSION {
        return Err(WireError::UnsupportedVersion { found: version });
    }
    let code = le32(bytes, 8);
    let kind = FrameKind::from_code(code).ok_or(WireError::InvalidField {
        what: "kind",
        reason: format!("unknown code {code}"),
    })?;
    Ok(FrameHeader {
        kind,
        frame_id: le64(bytes, 12),
        timestamp_ms: le64(bytes, 20),
        count: le32(bytes, 28),
    })
}

/// Check header, kind, count limit, length and checksum; return the header
/// and the payload.
pub(crate) fn open<'a>(
    bytes: &'a [u8],
    expected: FrameKind,
    what: &'static str,
    limit: u32,
) -> Result<(FrameHeader, &'a [u8]), WireError> {
    let header = read_header(bytes).map_err(|e| match e {
        WireError::InvalidField { what: "kind", .. } => WireError::WrongKind {
            expected,
            found: le32(bytes, 8),
        },
        other => other,
    })?;
    if header.kind != expected {
        return Err(WireError::WrongKind {
            expected,
            found: header.kind.code(),
        });
    }
    if header.count > limit {
        return Err(WireError::CountOverLimit {
            what,
            count: u64::from(header.count),
            limit,
        });
    }
    let payload_len = le32(bytes, 32) as usize;
    let needed = HEADER_LEN + payload_len + 4;
    if bytes.len() < needed {
        return Err(WireError::Truncated {
            needed,
            available: bytes.len(),
        });
    }
    if bytes.len() > needed {
        return Err(WireError::TrailingBytes {
            extra: bytes.len() - needed,
        });
    }
    let stored = le32(bytes, needed - 4);
    let computed = crc32fast::hash(&bytes[..needed - 4]);
    if stored != computed {
        return Err(WireError::ChecksumMismatch { stored, computed });
    }
    Ok((header, &bytes[HEADER_LEN..needed - 4]))
}
