//! FFT audio analysis: spectrum bars, peak envelopes, onsets and tempo.
//!
//! The core of the `fft` actor. Audio comes from a WAV file ([`WavSource`],
//! any integer or float PCM, mixed to mono) or the deterministic
//! [`generate`]d test signal. The [`Analyzer`] frames the mono stream (frame
//! `n` centred on sample `n·hop`, zero-padded at both ends), applies a
//! symmetric Hann window, runs a real FFT planned once, and per frame
//! produces a [`BarsFrame`]: log-spaced bars in dB mapped to 0..1, smoothed
//! with attack/decay, peak ("ghost") envelopes, a beat flag from spectral-flux
//! onsets tracked on a tempo grid, and the tempo estimate. The per-frame path
//! does not allocate. See `docs/FFT.md` for the details.

pub mod actor;
mod analyzer;
mod bars;
mod beat;
mod config;
mod envelope;
mod error;
mod eval;
mod frame;
mod framer;
mod generator;
mod offline;
mod onset;
mod ring;
mod tempo;
mod wav;
pub mod window;

pub use analyzer::{Analyzer, FrameView};
pub use bars::BarLayout;
pub use config::AnalyzerConfig;
pub use envelope::Envelopes;
pub use error::FftError;
pub use eval::{BeatScore, score_beats};
pub use frame::BarsFrame;
pub use generator::{DrumPattern, Generated, GeneratorConfig, generate};
pub use offline::{Summary, analyze_samples, analyze_source};
pub use onset::{OnsetDetector, OnsetStep};
/// The complex type of [`Analyzer::spectrum`] (from `realfft`'s `num_complex`).
pub use realfft::num_complex::Complex;
pub use wav::{WavEncoding, WavInfo, WavSource, encode_wav, write_wav};
