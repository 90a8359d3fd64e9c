//! Onset detection: spectral flux over a fixed log-spaced filterbank
//! (three bands per octave, log-compressed), each band's rise measured
//! against its maximum over the previous 30 ms and half-wave rectified, with
//! peak picking against an adaptive threshold: the local mean plus the larger
//! of a fraction of the recent maximum and a multiple of the recent median.

use crate::ring::Ring;

/// Log compression constant: band energy `E` (relative to a full-scale sine)
/// becomes `ln(1 + GAMMA·E)`, so changes below about −50 dB barely count and
/// above it the flux measures level ratios, independent of playback level.
const GAMMA: f32 = 1e5;
/// Each band's rise is measured against its loudest level over this many
/// seconds of previous frames (a maximum filter in time), so amplitude
/// beating between close partials, which short frames cannot resolve, does
/// not read as a string of onsets.
const REFERENCE_S: f64 = 0.03;
/// Seconds of flux whose median the threshold adapts to.
const MEDIAN_S: f64 = 0.5;
/// The threshold is at least this many times the median flux of the last
/// `MEDIAN_S` seconds above the local mean: stationary noise, whose flux is
/// never near zero, crosses it rarely; percussive audio, whose median flux
/// is near zero, is not affected.
const MEDIAN_FACTOR: f32 = 3.0;
/// Bands per octave of the onset filterbank.
const BANDS_PER_OCTAVE: f64 = 3.0;
/// Lowest onset band edge in hertz.
const ONSET_MIN_HZ: f64 = 30.0;
/// Absolute floor of the threshold scale, so near-silence (where the recent
/// maximum is tiny) never produces onsets.
const SCALE_FLOOR: f32 = 0.05;

/// What one frame contributes to onset detection.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OnsetStep {
    /// Spectral flux of this frame (mean positive log-energy rise per band).
    pub flux: f32,
    /// Flux above its local mean, rectified: the onset strength envelope the
    /// tempo estimator reads.
    pub novelty: f32,
    /// An onset peak was confirmed at the *previous* frame (peak picking needs
    /// one frame of look-ahead); its strength above the threshold.
    pub onset_prev: Option<f32>,
}

/// Spectral-flux onset detector; allocation happens only in [`OnsetDetector::new`].
#[derive(Clone, Debug)]
pub struct OnsetDetector {
    bands: Vec<(usize, usize)>,
    inv_ref_power: f32,
    /// Band levels of the last `lag + 1` frames, flattened row by row; `row`
    /// is the one the next frame overwrites.
    levels: Vec<f32>,
    lag: usize,
    row: usize,
    flux: Ring,
    pre_max: usize,
    wait: usize,
    delta: f32,
    scale: f32,
    scale_decay: f32,
    since_onset: usize,
    /// The last `MEDIAN_S` seconds of flux, and scratch to take their median.
    long: Ring,
    sorted: Vec<f32>,
    median: f32,
    since_median: usize,
    median_every: usize,
}

impl OnsetDetector {
    /// A detector for frames of `frame_len` samples at `sample_rate`, one
    /// every `1 / frame_rate` seconds, bands up to `max_hz`. `full_scale_magnitude`
    /// is the windowed magnitude of a full-scale sine; `delta` is the threshold
    /// above the local mean as a fraction of the recent maximum flux.
    pub fn new(
        frame_len: usize,
        sample_rate: u32,
        frame_rate: f64,
        max_hz: f32,
        full_scale_magnitude: f64,
        delta: f32,
    ) -> Self {
        let bin_hz = f64::from(sample_rate) / frame_len as f64;
        let last_bin = frame_len / 2;
        let octaves = (f64::from(max_hz) / ONSET_MIN_HZ).log2().max(1.0);
        let count = (octaves * BANDS_PER_OCTAVE).round() as usize;
        let mut bands: Vec<(usize, usize)> = Vec::with_capacity(count);
        for i in 0..count {
            let lo = ONSET_MIN_HZ * 2f64.powf(i as f64 / BANDS_PER_OCTAVE);
            let hi = ONSET_MIN_HZ * 2f64.powf((i + 1) as f64 / BANDS_PER_OCTAVE);
            let start = ((lo / bin_hz).round() as usize).clamp(1, last_bin);
            let end = ((hi / bin_hz).round() as usize).clamp(start + 1, last_bin + 1);
            // Bands narrower than a bin collapse onto the same bins: keep one.
            if bands.last().is_none_or(|&(_, prev_end)| start >= prev_end) {
                bands.push((start, end));
            }
        }
        let frames = |seconds: f64| (seconds * frame_rate).round() as usize;
        let lag = frames(REFERENCE_S).max(1);
        Self {
            levels: vec![0.0; bands.len() * (lag + 1)],
            lag,
            row: 0,
            bands,
            inv_ref_power: (1.0 / (full_scale_magnitude * full_scale_magnitude)) as f32,
            flux: Ring::new(frames(0.1).max(2) + 2),
            pre_max: frames(0.03).max(1),
            wait: frames(0.05).max(2),
            delta,
            scale: SCALE_FLOOR,
            // the running maximum halves every 4 seconds
            scale_decay: 0.5f64.powf(1.0 / (4.0 * frame_rate)) as f32,
            since_onset: usize::MAX / 2,
            long: Ring::new(frames(MEDIAN_S).max(3)),
            sorted: vec![0.0; frames(MEDIAN_S).max(3)],
            median: 0.0,
            since_median: 0,
            // The median moves slowly: refresh it every 50 ms.
            median_every: frames(0.05).max(1),
        }
    }

    /// Number of bands in the onset filterbank.
    pub fn bands(&self) -> usize {
        self.bands.len()
    }

    /// Feed one frame's power spectrum (`|X[k]|²`, bins `0..=N/2`).
    pub fn step(&mut self, power: &[f32]) -> OnsetStep {
        let flux = self.flux_of(power);
        self.flux.push(flux);
        self.scale = (self.scale * self.scale_decay).max(flux).max(SCALE_FLOOR);
        self.since_onset = self.since_onset.saturating_add(1);
        self.long.push(flux);
        self.since_median += 1;
        if self.since_median >= self.median_every {
            self.since_median = 0;
            let n = self.long.copy_chronological(&mut self.sorted);
            self.median = *self.sorted[..n]
                .select_nth_unstable_by(n / 2, f32::total_cmp)
                .1;
        }

        // The flux ring holds exactly the local-mean window.
        let held = self.flux.values();
        let mean = held.iter().sum::<f32>() / held.len() as f32;
        let novelty = (flux - mean).max(0.0);

        let mut onset_prev = None;
        if let (Some(cand), Some(post)) = (self.flux.get(1), self.flux.get(0)) {
            let is_peak = cand >= post
                && (2..2 + self.pre_max).all(|age| self.flux.get(age).is_none_or(|v| cand >= v));
            let threshold = mean + (self.delta * self.scale).max(MEDIAN_FACTOR * self.median);
            if is_peak && cand > threshold && self.since_onset > self.wait {
                onset_prev = Some(cand - threshold);
                // The onset is one frame old.
                self.since_onset = 1;
            }
        }
        OnsetStep {
            flux,
            novelty,
            onset_prev,
        }
    }

    /// Mean over bands of the rise of `ln(1 + γ·E)` above the band's maximum
    /// over the previous `lag` frames.
    fn flux_of(&mut self, power: &[f32]) -> f32 {
        let bands = self.bands.len();
        let rows = self.lag + 1;
        let cur = self.row;
        self.row = if self.row + 1 == rows {
            0
        } else {
            self.row + 1
        };
        let mut rise = 0.0f32;
        for (b, &(start, end)) in self.bands.iter().enumerate() {
            let sum: f32 = power[start..end].iter().sum();
            let energy = sum * self.inv_ref_power / (end - start) as f32;
            let level = (1.0 + GAMMA * energy).ln();
            let mut reference = 0.0f32;
            for r in (0..rows).filter(|&r| r != cur) {
                reference = reference.max(self.levels[r * bands + b]);
            }
            rise += (level - reference).max(0.0);
            self.levels[cur * bands + b] = level;
        }
        rise / bands.max(1) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A detector at 48 kHz, 2048-sample frames, hop 512 (93.75 frames/s).
    fn detector() -> OnsetDetector {
        OnsetDetector::new(2048, 48_000, 93.75, 16_000.0, 512.0, 0.08)
    }

    fn flat_power(level: f32) -> Vec<f32> {
        vec![level * 512.0 * 512.0; 1025]
    }

    #[test]
    fn bands_are_log_spaced_distinct_and_inside_the_spectrum() {
        let d = detector();
        assert!((20..=30).contains(&d.bands()), "{} bands", d.bands());
        for w in d.bands.windows(2) {
            assert!(w[0].1 <= w[1].0 && w[0].0 < w[0].1);
        }
        assert!(d.bands.last().is_some_and(|b| b.1 <= 1025));
    }

    #[test]
    fn a_sudden_broadband_rise_is_one_onset_and_steady_sound_none() {
        let mut d = detector();
        let quiet = flat_power(0.0);
        let loud = flat_power(1e-1);
        let mut onsets = Vec::new();
        for frame in 0..200 {
            let p = if frame < 100 { &quiet } else { &loud };
            if let Some(strength) = d.step(p).onset_prev {
                onsets.push((frame - 1, strength));
            }
        }
        assert_eq!(onsets.len(), 1, "{onsets:?}");
        assert_eq!(onsets[0].0, 100);
        assert!(
            onsets[0].1 > 0.5,
            "a broadband jump from silence to -10 dB is strong: {onsets:?}"
        );
    }

    #[test]
    fn silence_gives_no_flux() {
        let mut d = detector();
        for _ in 0..100 {
            let s = d.step(&flat_power(0.0));
            assert_eq!((s.flux, s.novelty, s.onset_prev), (0.0, 0.0, None));
        }
    }
}
