//! Tempo estimation: autocorrelation (by real FFT, planned once) of the last
//! eight seconds of onset novelty, scored over a log-spaced grid of beat
//! periods, refined to sub-frame precision, plus the beat phase that best
//! fits the same history.
//!
//! A candidate period `P` scores `Σₖ AC(kP) − ½·AC((k − ½)P)` for
//! `k = 1..=4`. The harmonic sum rejects tempi that are too fast (half of
//! their harmonics fall on off-beat subdivisions, which correlate weakly);
//! the subtracted half-period term rejects tempi that are too slow (half a
//! period of a half-time candidate is a real beat, which correlates
//! strongly). Together they avoid octave errors without a tempo prior.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::ring::Ring;

/// Seconds of novelty history the estimator looks at.
const HISTORY_S: f64 = 8.0;
/// Seconds of history needed before the first estimate.
const MIN_HISTORY_S: f64 = 2.5;
/// Seconds between estimates.
const UPDATE_S: f64 = 0.5;
/// Harmonics summed per candidate period.
const HARMONICS: usize = 4;
/// Weight of the autocorrelation half a period before each harmonic, which
/// the score subtracts (see the module documentation).
const HALF_WEIGHT: f64 = 0.5;
/// Below this score (autocorrelation normalised by its value at lag 0) the
/// history has no clear periodicity and no tempo is reported. Drum patterns
/// score 0.9..3; white noise up to about 0.45.
const MIN_SCORE: f64 = 0.6;
/// Step of the candidate grid (relative).
const GRID_STEP: f64 = 0.002;

/// A tempo and beat phase read from the recent onset history.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct TempoEstimate {
    /// Beats per minute.
    pub(crate) bpm: f64,
    /// Beat period in analysis frames.
    pub(crate) period_frames: f64,
    /// Frame index (fractional) of the most recent beat the history supports.
    pub(crate) last_beat_frame: f64,
}

/// What one frame's novelty did to the tempo estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum TempoUpdate {
    /// No new estimate this frame (estimates come every half second).
    Unchanged,
    /// A fresh estimate.
    Estimate(TempoEstimate),
    /// The history has no clear periodicity (silence, noise, rubato).
    NoTempo,
}

/// Streaming tempo estimator; its buffers and FFT plans are made once.
pub(crate) struct TempoEstimator {
    history: Ring,
    frame_rate: f64,
    min_len: usize,
    update_every: usize,
    since_update: usize,
    frames_seen: u64,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    signal: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    ac: Vec<f32>,
    periods: Vec<f64>,
    scores: Vec<f64>,
}

impl std::fmt::Debug for TempoEstimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoEstimator")
            .field("frames_seen", &self.frames_seen)
            .finish_non_exhaustive()
    }
}

impl TempoEstimator {
    /// An estimator for novelty arriving at `frame_rate` per second, looking
    /// for tempi in `min_bpm..=max_bpm`.
    pub(crate) fn new(frame_rate: f64, min_bpm: f64, max_bpm: f64) -> Self {
        let capacity = (HISTORY_S * frame_rate).round() as usize;
        let fft_len = (2 * capacity).next_power_of_two();
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(fft_len);
        let inverse = planner.plan_fft_inverse(fft_len);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        let mut periods = Vec::new();
        let mut bpm = max_bpm;
        while bpm >= min_bpm {
            periods.push(60.0 * frame_rate / bpm);
            bpm /= 1.0 + GRID_STEP;
        }
        Self {
            history: Ring::new(capacity),
            frame_rate,
            min_len: (MIN_HISTORY_S * frame_rate).round() as usize,
            update_every: (UPDATE_S * frame_rate).round().max(1.0) as usize,
            since_update: 0,
            frames_seen: 0,
            signal: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            scratch: vec![Complex::default(); scratch_len],
            ac: inverse.make_output_vec(),
            forward,
            inverse,
            scores: vec![0.0; periods.len()],
            periods,
        }
    }

    /// Add one frame's novelty; re-estimates every half second once enough
    /// history is held.
    pub(crate) fn push(&mut self, novelty: f32) -> TempoUpdate {
        self.history.push(novelty);
        self.frames_seen += 1;
        self.since_update += 1;
        if self.history.len() < self.min_len || self.since_update < self.update_every {
            return TempoUpdate::Unchanged;
        }
        self.since_update = 0;
        match self.estimate() {
            Some(estimate) => TempoUpdate::Estimate(estimate),
            None => TempoUpdate::NoTempo,
        }
    }

    fn estimate(&mut self) -> Option<TempoEstimate> {
        let n = self.history.copy_chronological(&mut self.signal);
        let mean = self.signal[..n].iter().sum::<f32>() / n as f32;
        let energy: f32 = self.signal[..n]
            .iter()
            .map(|v| (v - mean) * (v - mean))
            .sum();
        if energy <= f32::EPSILON {
            return None;
        }
        for v in &mut self.signal[..n] {
            *v -= mean;
        }
        self.signal[n..].fill(0.0);
        self.forward
            .process_with_scratch(&mut self.signal, &mut self.spectrum, &mut self.scratch)
            .ok()?;
        for c in &mut self.spectrum {
            *c = Complex::new(c.norm_sqr(), 0.0);
        }
        self.inverse
            .process_with_scratch(&mut self.spectrum, &mut self.ac, &mut self.scratch)
            .ok()?;
        let norm = self.ac[0];
        if norm <= 0.0 {
            return None;
        }
        let limit = n as f64;
        for (score, &period) in self.scores.iter_mut().zip(&self.periods) {
            *score = (1..=HARMONICS)
                .map(|k| k as f64 * period)
                .filter(|&lag| lag < limit)
                .map(|lag| {
                    interpolate(&self.ac, lag)
                        - HALF_WEIGHT * interpolate(&self.ac, lag - 0.5 * period)
                })
                .sum::<f64>()
                / f64::from(norm);
        }
        let best = self
            .scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)?;
        if self.scores[best] < MIN_SCORE {
            return None;
        }
        let period = self.refine(self.periods[best], limit);
        let last_beat_frame = self.phase(period, n);
        Some(TempoEstimate {
            bpm: 60.0 * self.frame_rate / period,
            period_frames: period,
            last_beat_frame,
        })
    }

    /// Sharpen `period` by locating each harmonic's autocorrelation peak with
    /// parabolic interpolation and fitting `lag_k = k·period` by least squares.
    fn refine(&self, period: f64, limit: f64) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for k in 1..=HARMONICS {
            let centre = k as f64 * period;
            let reach = (0.08 * centre).max(1.0);
            let lo = (centre - reach).floor().max(1.0) as usize;
            let hi = ((centre + reach).ceil() as usize).min(limit as usize - 2);
            if hi <= lo {
                break;
            }
            let Some(peak) = (lo..=hi).max_by(|&a, &b| self.ac[a].total_cmp(&self.ac[b])) else {
                break;
            };
            if peak == lo || peak == hi {
                continue;
            }
            let (y0, y1, y2) = (
                f64::from(self.ac[peak - 1]),
                f64::from(self.ac[peak]),
                f64::from(self.ac[peak + 1]),
            );
            let curvature = y0 - 2.0 * y1 + y2;
            let offset = if curvature < 0.0 {
                0.5 * (y0 - y2) / curvature
            } else {
                0.0
            };
            let lag = peak as f64 + offset.clamp(-0.5, 0.5);
            num += k as f64 * lag;
            den += (k * k) as f64;
        }
        if den > 0.0 { num / den } else { period }
    }

    /// The frame index of the most recent beat: the offset into the history
    /// whose comb of beats (spaced `period`, recent beats weighted more)
    /// collects the most novelty.
    fn phase(&self, period: f64, n: usize) -> f64 {
        let beats = ((4.0 * self.frame_rate / period).ceil() as usize).max(2);
        let comb = |offset: usize| -> f64 {
            let mut weight = 1.0;
            let mut sum = 0.0;
            for k in 0..beats {
                let age = offset + (k as f64 * period).round() as usize;
                if age >= n {
                    break;
                }
                sum += weight * f64::from(self.history.get(age).unwrap_or(0.0));
                weight *= 0.85;
            }
            sum
        };
        let span = period.ceil() as usize;
        let mut best = (0usize, f64::MIN);
        for offset in 0..span {
            let s = comb(offset);
            if s > best.1 {
                best = (offset, s);
            }
        }
        let newest = self.frames_seen as f64 - 1.0;
        newest - best.0 as f64
    }
}

/// `values` read at a fractional index by linear interpolation.
fn interpolate(values: &[f32], at: f64) -> f64 {
    let i = at.floor() as usize;
    let frac = at - i as f64;
    let a = values.get(i).copied().unwrap_or(0.0);
    let b = values.get(i + 1).copied().unwrap_or(0.0);
    f64::from(a) + (f64::from(b) - f64::from(a)) * frac
}
