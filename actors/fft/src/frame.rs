//! The output frame: the `fft.bars` payload a UI draws without further work.

use serde::{Deserialize, Serialize};

/// One analysis frame — pre-smoothed bars, their peak ("ghost") envelopes,
/// the beat flag and tempo — as published on `fft.bars`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BarsFrame {
    /// Frame sequence number, from 0 at the start of the stream.
    pub seq: u64,
    /// Stream time in seconds of the frame's centre (`seq · hop / rate`).
    pub t: f64,
    /// Smoothed bar heights in 0..1, lowest frequency first.
    pub bars: Vec<f32>,
    /// Peak envelopes in 0..1, each at least its bar.
    pub peaks: Vec<f32>,
    /// A beat was decided at this frame.
    pub beat: bool,
    /// When `beat` is set: the beat's time in seconds (at or a little before `t`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beat_t: Option<f64>,
    /// A spectral-flux onset peak was confirmed at this frame (it lies one hop earlier).
    pub onset: bool,
    /// The current tempo estimate in beats per minute, once there is one.
    pub bpm: Option<f32>,
}

impl BarsFrame {
    /// An all-zero frame with `bars` bars.
    pub fn with_bars(bars: usize) -> Self {
        Self {
            seq: 0,
            t: 0.0,
            bars: vec![0.0; bars],
            peaks: vec![0.0; bars],
            beat: false,
            beat_t: None,
            onset: false,
            bpm: None,
        }
    }
}
