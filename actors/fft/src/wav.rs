//! WAV input: `hound` parses and validates the header (RIFF, fmt, data
//! chunks); the data chunk is then read in bulk and decoded here
//! ([`pcm`]), mixed to mono (the mean of the channels). Readable: 8/16/24/32-bit
//! integer PCM (24-bit in 3- or 4-byte containers) and 32-bit float, any
//! channel count and sample rate. Every failure is a typed [`FftError`]
//! naming the file.

mod pcm;
mod write;

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::FftError;
use pcm::PcmLayout;
pub use write::{WavEncoding, encode_wav, write_wav};

/// What a WAV file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WavInfo {
    /// Sample rate in hertz.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Valid bits per sample.
    pub bits: u16,
    /// IEEE float samples (otherwise signed integer PCM).
    pub float: bool,
    /// Sample frames (one sample per channel) the header announces.
    pub frames: u64,
}

impl WavInfo {
    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }
}

/// A WAV file opened for streaming, read as its mono mix.
pub struct WavSource<R: Read> {
    reader: R,
    info: WavInfo,
    layout: PcmLayout,
    path: PathBuf,
    frames_read: u64,
    /// Bytes already consumed from `reader` that belong to the next frames.
    pending: Vec<u8>,
    bytes: Vec<u8>,
}

impl<R: Read> std::fmt::Debug for WavSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl WavSource<BufReader<File>> {
    /// Open the WAV file at `path` and read its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FftError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| FftError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_reader(BufReader::with_capacity(1 << 16, file), path)
    }
}

/// Counts the bytes read through it (shared, so the count can be read while
/// `hound` owns the reader).
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: Read> WavSource<R> {
    /// Read the header from `reader`; `name` is what errors call the input.
    pub fn from_reader(reader: R, name: impl Into<PathBuf>) -> Result<Self, FftError> {
        let path = name.into();
        let count = Rc::new(Cell::new(0));
        let mut wav = hound::WavReader::new(Counted {
            inner: reader,
            count: Rc::clone(&count),
        })
        .map_err(|e| header_error(&path, e))?;
        let spec = wav.spec();
        let float = spec.sample_format == hound::SampleFormat::Float;
        let info = WavInfo {
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            bits: spec.bits_per_sample,
            float,
            frames: u64::from(wav.duration()),
        };
        let unsupported = || FftError::UnsupportedWav {
            path: path.clone(),
            reason: format!(
                "{}-bit {}; readable are 8/16/24/32-bit integer PCM and 32-bit float",
                info.bits,
                if float { "float" } else { "integer" }
            ),
        };
        if info.sample_rate == 0 {
            return Err(FftError::MalformedWav {
                path,
                reason: "sample rate is 0".into(),
            });
        }
        // hound knows the container width but does not say; let it decode the
        // first sample and see how many bytes that took.
        let mut pending = Vec::new();
        let layout = if wav.len() == 0 {
            PcmLayout::new(float, u64::from(info.bits / 8), info.bits).ok_or_else(unsupported)?
        } else {
            let before = count.get();
            let first = if float {
                wav.samples::<f32>()
                    .next()
                    .map(|r| r.map(|v| v.to_bits() as i32))
            } else {
                wav.samples::<i32>().next()
            };
            let value = match first {
                Some(Ok(v)) => v,
                Some(Err(hound::Error::Unsupported | hound::Error::TooWide)) => {
                    return Err(unsupported());
                }
                Some(Err(e)) => return Err(data_error(&path, e, info.frames, 0)),
                None => {
                    return Err(FftError::TruncatedWav {
                        path,
                        expected: info.frames,
                        found: 0,
                    });
                }
            };
            let layout =
                PcmLayout::new(float, count.get() - before, info.bits).ok_or_else(unsupported)?;
            layout.encode(value, &mut pending);
            layout
        };
        let reader = wav.into_inner().inner;
        Ok(Self {
            reader,
            info,
            layout,
            path,
            frames_read: 0,
            pending,
            bytes: Vec::new(),
        })
    }

    /// What the header says.
    pub fn info(&self) -> WavInfo {
        self.info
    }

    /// Sample frames read so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// Replace `out` with the mono mix of up to `max_frames` further sample
    /// frames; returns how many were read (0 at the end of the data).
    pub fn read_mono(&mut self, out: &mut Vec<f32>, max_frames: usize) -> Result<usize, FftError> {
        out.clear();
        if max_frames == 0 {
            return Ok(0);
        }
        let want = (max_frames as u64).min(self.info.frames - self.frames_read) as usize;
        let frame_bytes = self.layout.bytes() * usize::from(self.info.channels);
        let need = want * frame_bytes;
        self.bytes.clear();
        self.bytes.append(&mut self.pending);
        let mut filled = self.bytes.len();
        self.bytes.resize(need.max(filled), 0);
        while filled < need {
            match self.reader.read(&mut self.bytes[filled..need]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(FftError::Io {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
        let whole = filled / frame_bytes;
        self.layout.decode_mono(
            &self.bytes[..whole * frame_bytes],
            usize::from(self.info.channels),
            out,
        );
        self.frames_read += whole as u64;
        if whole < want {
            return Err(FftError::TruncatedWav {
                path: self.path.clone(),
                expected: self.info.frames,
                found: self.frames_read,
            });
        }
        Ok(whole)
    }

    /// Read everything that is left as mono.
    pub fn read_all_mono(&mut self) -> Result<Vec<f32>, FftError> {
        // The header's frame count is untrusted: reserve at most a minute at
        // 48 kHz up front and let a longer file grow the buffer as it reads.
        let claimed = self.info.frames.saturating_sub(self.frames_read);
        let mut all = Vec::with_capacity(claimed.min(1 << 22) as usize);
        let mut chunk = Vec::new();
        while self.read_mono(&mut chunk, 1 << 16)? > 0 {
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }
}

/// Whether `hound` hit the end of the input: it reports that as a custom
/// `Other` error with this message rather than `UnexpectedEof`.
fn is_short_read(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::UnexpectedEof
        || (e.kind() == ErrorKind::Other
            && e.get_ref()
                .is_some_and(|inner| inner.to_string() == "Failed to read enough bytes."))
}

/// Map a header-parsing error to the crate's error.
fn header_error(path: &Path, e: hound::Error) -> FftError {
    let path = path.to_path_buf();
    match e {
        hound::Error::IoError(e) if is_short_read(&e) => FftError::MalformedWav {
            path,
            reason: "the file ends before the data chunk (RIFF/fmt header incomplete or missing)"
                .into(),
        },
        hound::Error::IoError(source) => FftError::Io { path, source },
        hound::Error::Unsupported => FftError::UnsupportedWav {
            path,
            reason: "compressed or unknown format tag; readable are integer PCM and IEEE float"
                .into(),
        },
        hound::Error::TooWide => FftError::UnsupportedWav {
            path,
            reason: "more than 32 bits per sample".into(),
        },
        // hound calls a well-formed 64-bit float file a format error.
        hound::Error::FormatError(reason) if reason.contains("is not 32") => {
            FftError::UnsupportedWav {
                path,
                reason:
                    "float samples wider than 32 bits; readable are integer PCM and 32-bit float"
                        .into(),
            }
        }
        hound::Error::FormatError(reason) => FftError::MalformedWav {
            path,
            reason: reason.into(),
        },
        other => FftError::MalformedWav {
            path,
            reason: other.to_string(),
        },
    }
}

/// Map an error while reading sample data.
fn data_error(path: &Path, e: hound::Error, expected: u64, found: u64) -> FftError {
    let path = path.to_path_buf();
    match e {
        hound::Error::IoError(e) if is_short_read(&e) => FftError::TruncatedWav {
            path,
            expected,
            found,
        },
        hound::Error::IoError(source) => FftError::Io { path, source },
        other => FftError::MalformedWav {
            path,
            reason: other.to_string(),
        },
    }
}
