//! The generator's instruments: a stereo mix buffer and the voices (kick,
//! snare, hi-hat, chords, sweep) it renders into it, all deterministic.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::Rng;

/// A stereo mix under construction.
pub(super) struct Mix {
    pub(super) left: Vec<f32>,
    pub(super) right: Vec<f32>,
    pub(super) rate: f64,
}

impl Mix {
    /// Add `voice(t)` (t in seconds since `start`) for `length` seconds, with
    /// gains `(left, right)`, faded out over its last 20 ms so that no voice
    /// ends in a click (a click is an onset of its own).
    fn add(
        &mut self,
        start: f64,
        length: f64,
        (gl, gr): (f32, f32),
        mut voice: impl FnMut(f64) -> f32,
    ) {
        let first = (start * self.rate).round().max(0.0) as usize;
        let count = (length * self.rate) as usize;
        let end = (first + count).min(self.left.len());
        let fade = (0.02 * self.rate).max(1.0);
        for i in first..end {
            let release = ((first + count - i) as f64 / fade).min(1.0) as f32;
            let v = voice((i - first) as f64 / self.rate) * release;
            self.left[i] += gl * v;
            self.right[i] += gr * v;
        }
    }
}

/// Uniform in 0..1 from the generator's stream.
pub(super) fn unit(rng: &mut ChaCha8Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

/// Uniform in −1..1.
pub(super) fn noise(rng: &mut ChaCha8Rng) -> f32 {
    2.0 * unit(rng) - 1.0
}

/// A bass drum: a sine gliding from ~155 Hz down to 45 Hz with a click.
pub(super) fn kick(mix: &mut Mix, at: f64, velocity: f32) {
    let mut phase = 0.0f64;
    let dt = 1.0 / mix.rate;
    mix.add(at, 0.4, (velocity, velocity), |t| {
        let f = 45.0 + 110.0 * (-t / 0.035).exp();
        phase += std::f64::consts::TAU * f * dt;
        let body = phase.sin() * (-t / 0.16).exp();
        let click = (-t / 0.002).exp() * 0.3;
        (body + click) as f32
    });
}

/// A snare: a noise burst over a 185 Hz tone.
pub(super) fn snare(mix: &mut Mix, at: f64, velocity: f32, rng: &mut ChaCha8Rng) {
    mix.add(at, 0.3, (velocity, velocity * 0.9), |t| {
        let tone = (std::f64::consts::TAU * 185.0 * t).sin() * (-t / 0.06).exp() * 0.6;
        let rattle = f64::from(noise(rng)) * (-t / 0.09).exp();
        (tone + rattle) as f32
    });
}

/// A hi-hat: differentiated (high-passed) noise decaying with time constant
/// `decay_s` (short: closed, long: open).
pub(super) fn hat(mix: &mut Mix, at: f64, velocity: f32, decay_s: f64, rng: &mut ChaCha8Rng) {
    let mut prev = 0.0f32;
    mix.add(at, 4.0 * decay_s, (velocity * 0.7, velocity), |t| {
        let n = noise(rng);
        let high = n - prev;
        prev = n;
        high * 0.5 * (-t / decay_s).exp() as f32
    });
}

/// One chord per bar (C, G, Am, F), three notes with a soft attack.
pub(super) fn chords(mix: &mut Mix, beats: &[f64], beat_s: f64) {
    const PROGRESSION: [[f64; 3]; 4] = [
        [261.63, 329.63, 392.00],
        [196.00, 246.94, 293.66],
        [220.00, 261.63, 329.63],
        [174.61, 220.00, 261.63],
    ];
    let bar_s = 4.0 * beat_s;
    for (bar, &start) in beats.iter().step_by(4).enumerate() {
        for (voice, &f) in PROGRESSION[bar % 4].iter().enumerate() {
            let pan = [(0.8, 0.5), (0.6, 0.6), (0.5, 0.8)][voice];
            mix.add(start, bar_s, pan, |t| {
                let attack = (t / 0.03).min(1.0);
                let release = ((bar_s - t) / 0.03).clamp(0.0, 1.0);
                let w = std::f64::consts::TAU * f * t;
                let tone = w.sin() + 0.3 * (2.0 * w).sin();
                (0.05 * attack * release * (-t / 1.5).exp() * tone) as f32
            });
        }
    }
}

/// A quiet exponential sine sweep, 30 Hz to min(15 kHz, 0.45·rate), faded in.
pub(super) fn sweep(mix: &mut Mix, seconds: f64) {
    let f0 = 30.0f64;
    let f1 = 15_000.0f64.min(0.45 * mix.rate);
    let k = (f1 / f0).ln();
    mix.add(0.0, seconds, (0.02, 0.02), |t| {
        let phase = std::f64::consts::TAU * f0 * seconds / k * ((k * t / seconds).exp() - 1.0);
        (phase.sin() * (t / 0.5).min(1.0)) as f32
    });
}
