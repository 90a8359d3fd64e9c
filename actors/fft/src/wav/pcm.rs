//! Decoding raw PCM bytes (the WAV data chunk) to `f32` in −1..1 and mixing
//! each sample frame to mono: the fast path behind [`WavSource`](crate::WavSource).
//! The layouts are exactly those `hound` reads.

/// How one sample is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PcmLayout {
    /// 8-bit unsigned (offset 128).
    U8,
    /// 16-bit signed little-endian.
    I16,
    /// 24-bit signed little-endian in 3 bytes.
    I24,
    /// 24-bit signed little-endian in the low 3 of 4 bytes.
    I24In4,
    /// 32-bit signed little-endian.
    I32,
    /// 32-bit IEEE float little-endian.
    F32,
}

impl PcmLayout {
    /// The layout for `bits` valid bits in `bytes`-byte containers, if readable.
    pub(crate) fn new(float: bool, bytes: u64, bits: u16) -> Option<Self> {
        Some(match (float, bytes, bits) {
            (false, 1, 8) => Self::U8,
            (false, 2, 16) => Self::I16,
            (false, 3, 24) => Self::I24,
            (false, 4, 24) => Self::I24In4,
            (false, 4, 32) => Self::I32,
            (true, 4, 32) => Self::F32,
            _ => return None,
        })
    }

    /// Bytes per sample.
    pub(crate) fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::I16 => 2,
            Self::I24 => 3,
            Self::I24In4 | Self::I32 | Self::F32 => 4,
        }
    }

    /// Encode one sample as `hound` decoded it (an `i32`, or the `f32` bits
    /// for float files) back into its stored bytes.
    pub(crate) fn encode(self, value: i32, out: &mut Vec<u8>) {
        let le = value.to_le_bytes();
        match self {
            Self::U8 => out.push((value + 128) as u8),
            Self::I16 => out.extend_from_slice(&le[..2]),
            Self::I24 => out.extend_from_slice(&le[..3]),
            Self::I24In4 | Self::I32 | Self::F32 => out.extend_from_slice(&le),
        }
    }

    /// Decode whole sample frames of `channels` samples from `bytes`,
    /// appending each frame's mono mix (the mean of its channels) to `out`.
    pub(crate) fn decode_mono(self, bytes: &[u8], channels: usize, out: &mut Vec<f32>) {
        let frame_bytes = self.bytes() * channels;
        let inv = 1.0 / channels as f32;
        for frame in bytes.chunks_exact(frame_bytes) {
            let sum: f32 = match self {
                Self::U8 => frame.iter().map(|&b| (f32::from(b) - 128.0) / 128.0).sum(),
                Self::I16 => frame
                    .chunks_exact(2)
                    .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
                    .sum(),
                Self::I24 => frame.chunks_exact(3).map(|b| i24(b[0], b[1], b[2])).sum(),
                Self::I24In4 => frame.chunks_exact(4).map(|b| i24(b[0], b[1], b[2])).sum(),
                Self::I32 => frame
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0)
                    .sum(),
                Self::F32 => frame
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .sum(),
            };
            out.push(sum * inv);
        }
    }
}

/// A little-endian signed 24-bit sample, scaled to −1..1.
fn i24(b0: u8, b1: u8, b2: u8) -> f32 {
    // Place the 24 bits at the top of an i32 and shift back to sign-extend.
    let v = i32::from_le_bytes([0, b0, b1, b2]) >> 8;
    v as f32 / 8_388_608.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_layout_and_mixes_to_mono() {
        let mut out = Vec::new();
        PcmLayout::U8.decode_mono(&[0, 255, 128, 128], 2, &mut out);
        assert_eq!(out, [(-1.0 + 127.0 / 128.0) / 2.0, 0.0]);
        out.clear();
        PcmLayout::I16.decode_mono(&[0x00, 0x80, 0xff, 0x7f], 1, &mut out);
        assert_eq!(out, [-1.0, 32_767.0 / 32_768.0]);
        out.clear();
        PcmLayout::I24.decode_mono(&[0x00, 0x00, 0x80, 0x00, 0x00, 0x40], 2, &mut out);
        assert_eq!(out, [(-1.0 + 0.5) / 2.0]);
        out.clear();
        PcmLayout::I24In4.decode_mono(&[0x00, 0x00, 0xc0, 0x00], 1, &mut out);
        assert_eq!(out, [-0.5]);
        out.clear();
        PcmLayout::I32.decode_mono(&i32::MIN.to_le_bytes(), 1, &mut out);
        assert_eq!(out, [-1.0]);
        out.clear();
        PcmLayout::F32.decode_mono(&0.25f32.to_le_bytes(), 1, &mut out);
        assert_eq!(out, [0.25]);
    }

    #[test]
    fn encode_inverts_what_hound_decodes() {
        for (layout, value) in [
            (PcmLayout::U8, -100),
            (PcmLayout::I16, -12_345),
            (PcmLayout::I24, -4_000_000),
            (PcmLayout::I24In4, 4_000_000),
            (PcmLayout::I32, i32::MIN + 7),
            (PcmLayout::F32, 0.5f32.to_bits() as i32),
        ] {
            let mut bytes = Vec::new();
            layout.encode(value, &mut bytes);
            assert_eq!(bytes.len(), layout.bytes());
        }
        let mut bytes = Vec::new();
        PcmLayout::I24.encode(-4_000_000, &mut bytes);
        let mut out = Vec::new();
        PcmLayout::I24.decode_mono(&bytes, 1, &mut out);
        assert_eq!(out, [-4_000_000.0 / 8_388_608.0]);
    }
}
