//! Beat tracking: turns onsets and tempo estimates into beats. Before a tempo
//! is known, strong onsets are beats; once it is, the tracker predicts the
//! next beat, accepts the onset that lands near the prediction (rejecting
//! off-beat hits), bridges short gaps on the predicted grid, and re-phases
//! when the tempo estimator's comb disagrees with the running grid.

use crate::tempo::TempoEstimate;

/// Half-width of the acceptance window around a predicted beat, as a
/// fraction of the beat period.
const TOLERANCE: f64 = 0.2;
/// Predicted beats emitted without a supporting onset before the tracker
/// falls silent (the music stopped or changed).
const MAX_MISSES: u32 = 4;
/// An onset in the window counts as the beat when its strength is at least
/// `(ACCEPT_BASE + ACCEPT_SLOPE·(d/w)²)` times the running mean strength of
/// accepted beats, `d` being its distance from the prediction and `w` the
/// window half-width: on time, weak hits count; near the window's edge only
/// hits as strong as the beats so far do.
const ACCEPT_BASE: f32 = 0.1;
/// See [`ACCEPT_BASE`].
const ACCEPT_SLOPE: f32 = 0.6;
/// While no tempo is known, an onset is a beat when at least this fraction of
/// the recent strongest onset.
const STRONG_FRACTION: f32 = 0.5;

/// While no tempo is known, onsets weaker than this are never beats. Onset
/// strength is the flux above its threshold: the mean log-energy rise per
/// band, in nepers, so it does not depend on the playback level. Drum hits
/// measure 0.5..1.5; a quiet sound entering one band, about 0.01.
const MIN_STRENGTH: f32 = 0.1;

/// Streaming beat tracker over analysis frame indices.
#[derive(Clone, Debug)]
pub(crate) struct BeatTracker {
    period: Option<f64>,
    next: Option<f64>,
    last_beat: Option<f64>,
    misses: u32,
    strongest: f32,
    strongest_decay: f32,
    /// Running mean strength of the onsets accepted as beats.
    beat_strength: Option<f32>,
    min_gap: f64,
}

impl BeatTracker {
    /// A tracker for frames at `frame_rate`, never placing beats closer than
    /// one period of `max_bpm`.
    pub(crate) fn new(frame_rate: f64, max_bpm: f64) -> Self {
        Self {
            period: None,
            next: None,
            last_beat: None,
            misses: 0,
            strongest: 0.0,
            beat_strength: None,
            strongest_decay: 0.5f64.powf(1.0 / (2.0 * frame_rate)) as f32,
            min_gap: 60.0 * frame_rate / max_bpm,
        }
    }

    /// Take a fresh tempo estimate made at frame `now`.
    pub(crate) fn on_tempo(&mut self, estimate: &TempoEstimate, now: u64) {
        let period = estimate.period_frames;
        self.period = Some(period);
        // The estimator's grid, continued to the first beat not yet decided.
        let decided = now as f64 - 1.0 - TOLERANCE * period;
        let mut grid_next = estimate.last_beat_frame;
        while grid_next <= decided {
            grid_next += period;
        }
        let rephase = match self.next {
            None => true,
            Some(next) => {
                let diff = (grid_next - next).rem_euclid(period);
                diff.min(period - diff) > TOLERANCE * period || self.misses >= MAX_MISSES
            }
        };
        if rephase {
            if let Some(last) = self.last_beat {
                while grid_next - last < 0.5 * period {
                    grid_next += period;
                }
            }
            self.next = Some(grid_next);
            self.misses = 0;
        }
    }

    /// The tempo is no longer clear: stop predicting, fall back to strong onsets.
    pub(crate) fn lose_tempo(&mut self) {
        self.period = None;
        self.next = None;
        self.misses = 0;
    }

    /// Advance to frame `now`; `onset` is the strength of an onset confirmed
    /// at frame `now − 1`. Returns the (fractional) frame of a beat decided
    /// now, if any.
    pub(crate) fn step(&mut self, now: u64, onset: Option<f32>) -> Option<f64> {
        let onset_frame = now as f64 - 1.0;
        if let Some(strength) = onset {
            self.strongest = self.strongest.max(strength);
        }
        let beat = match (self.period, self.next) {
            (Some(period), Some(next)) => self.tracked(period, next, onset_frame, onset),
            _ => onset
                .filter(|&s| s >= MIN_STRENGTH.max(STRONG_FRACTION * self.strongest))
                .filter(|_| {
                    self.last_beat
                        .is_none_or(|last| onset_frame - last >= self.min_gap)
                })
                .map(|s| {
                    self.note_beat_strength(s);
                    onset_frame
                }),
        };
        self.strongest *= self.strongest_decay;
        if let Some(frame) = beat {
            self.last_beat = Some(frame);
        }
        beat
    }

    fn tracked(
        &mut self,
        period: f64,
        next: f64,
        onset_frame: f64,
        onset: Option<f32>,
    ) -> Option<f64> {
        let window = TOLERANCE * period;
        let spaced = |f: f64| self.last_beat.is_none_or(|last| f - last >= 0.5 * period);
        if let Some(strength) = onset {
            let d = ((onset_frame - next) / window) as f32;
            let needed = (ACCEPT_BASE + ACCEPT_SLOPE * d * d) * self.beat_strength.unwrap_or(0.0);
            if d.abs() <= 1.0 && strength >= needed && spaced(onset_frame) {
                self.note_beat_strength(strength);
                self.next = Some(onset_frame + period);
                self.misses = 0;
                return Some(onset_frame);
            }
        }
        if onset_frame > next + window {
            self.next = Some(next + period);
            if self.misses < MAX_MISSES && spaced(next) {
                self.misses += 1;
                return Some(next);
            }
        }
        None
    }

    fn note_beat_strength(&mut self, strength: f32) {
        self.beat_strength = Some(match self.beat_strength {
            None => strength,
            Some(mean) => mean + 0.2 * (strength - mean),
        });
    }
}
