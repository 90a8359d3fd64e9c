//! Writing WAV files (the generator's audio) through `hound`.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::FftError;

/// Sample encodings [`write_wav`] can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WavEncoding {
    /// 16-bit signed integer PCM.
    Int16,
    /// 24-bit signed integer PCM.
    Int24,
    /// 32-bit signed integer PCM.
    Int32,
    /// 32-bit IEEE float.
    Float32,
}

/// Write interleaved `samples` (−1..1) as a WAV file at `path`.
pub fn write_wav(
    path: impl AsRef<Path>,
    samples: &[f32],
    sample_rate: u32,
    channels: u16,
    encoding: WavEncoding,
) -> Result<(), FftError> {
    let path = path.as_ref();
    let file = File::create(path).map_err(|source| FftError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    encode_wav(
        BufWriter::new(file),
        samples,
        sample_rate,
        channels,
        encoding,
    )
    .map_err(|e| match e {
        hound::Error::IoError(source) => FftError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => FftError::WavWrite {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })
}

/// Encode interleaved `samples` (−1..1, clamped for integer encodings) as
/// WAV into `writer`.
pub fn encode_wav<W: Write + Seek>(
    writer: W,
    samples: &[f32],
    sample_rate: u32,
    channels: u16,
    encoding: WavEncoding,
) -> hound::Result<()> {
    let (bits, sample_format) = match encoding {
        WavEncoding::Int16 => (16, hound::SampleFormat::Int),
        WavEncoding::Int24 => (24, hound::SampleFormat::Int),
        WavEncoding::Int32 => (32, hound::SampleFormat::Int),
        WavEncoding::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: bits,
        sample_format,
    };
    let mut w = hound::WavWriter::new(writer, spec)?;
    if encoding == WavEncoding::Float32 {
        for &s in samples {
            w.write_sample(s)?;
        }
    } else {
        let full = ((1u64 << (bits - 1)) - 1) as f64;
        for &s in samples {
            w.write_sample((f64::from(s.clamp(-1.0, 1.0)) * full).round() as i32)?;
        }
    }
    w.finalize()
}
