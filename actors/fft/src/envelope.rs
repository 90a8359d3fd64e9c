//! Bar dynamics for display: attack/decay smoothing of the bar heights and
//! the peak ("ghost") envelopes that hold, then fall at a configured rate.

/// One-pole smoothing with separate rise (attack) and fall (decay) time
/// constants, plus a held-then-falling peak per bar. All state is allocated
/// once; [`Envelopes::update`] does not allocate.
#[derive(Clone, Debug)]
pub struct Envelopes {
    attack: f32,
    decay: f32,
    hold_frames: u32,
    fall_per_frame: f32,
    smoothed: Vec<f32>,
    peaks: Vec<f32>,
    held: Vec<u32>,
}

/// The per-frame coefficient of a one-pole filter with time constant `tau_s`
/// advanced by `dt_s`: `1 − exp(−dt/τ)` (1 when τ is 0: follow instantly).
fn coefficient(tau_s: f32, dt_s: f64) -> f32 {
    if tau_s <= 0.0 {
        1.0
    } else {
        (1.0 - (-dt_s / f64::from(tau_s)).exp()) as f32
    }
}

impl Envelopes {
    /// State for `bars` bars updated every `dt_s` seconds.
    pub fn new(
        bars: usize,
        dt_s: f64,
        attack_s: f32,
        decay_s: f32,
        hold_s: f32,
        fall_per_s: f32,
    ) -> Self {
        Self {
            attack: coefficient(attack_s, dt_s),
            decay: coefficient(decay_s, dt_s),
            hold_frames: (f64::from(hold_s) / dt_s).round() as u32,
            fall_per_frame: (f64::from(fall_per_s) * dt_s) as f32,
            smoothed: vec![0.0; bars],
            peaks: vec![0.0; bars],
            held: vec![0; bars],
        }
    }

    /// Advance one frame toward the raw bar heights `target`.
    pub fn update(&mut self, target: &[f32]) {
        let iter = self
            .smoothed
            .iter_mut()
            .zip(&mut self.peaks)
            .zip(&mut self.held)
            .zip(target);
        for (((s, p), held), &x) in iter {
            let k = if x > *s { self.attack } else { self.decay };
            // x·k + s·(1 − k): exact at k = 1 (follow instantly).
            *s = x * k + *s * (1.0 - k);
            if *s >= *p {
                *p = *s;
                *held = self.hold_frames;
            } else if *held > 0 {
                *held -= 1;
            } else {
                *p = (*p - self.fall_per_frame).max(*s);
            }
        }
    }

    /// Smoothed bar heights (0..1).
    pub fn bars(&self) -> &[f32] {
        &self.smoothed
    }

    /// Peak envelopes (0..1), each ≥ its smoothed bar.
    pub fn peaks(&self) -> &[f32] {
        &self.peaks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_is_faster_than_decay_and_peaks_hold_then_fall() {
        // 100 frames per second, attack 10 ms, decay 100 ms, hold 0.1 s, fall 1/s.
        let mut e = Envelopes::new(1, 0.01, 0.01, 0.1, 0.1, 1.0);
        e.update(&[1.0]);
        let after_attack = e.bars()[0];
        assert!((after_attack - (1.0 - (-1.0f32).exp())).abs() < 1e-5);
        for _ in 0..20 {
            e.update(&[1.0]);
        }
        assert!(e.bars()[0] > 0.999);
        assert!((e.peaks()[0] - e.bars()[0]).abs() < 1e-6);
        e.update(&[0.0]);
        let drop = 1.0 - e.bars()[0];
        assert!(
            (drop - (1.0 - (-0.1f32).exp())).abs() < 1e-3,
            "decay step {drop}"
        );
        // Held for 10 frames at the top, then falling 0.01 per frame.
        let top = e.peaks()[0];
        for _ in 0..9 {
            e.update(&[0.0]);
        }
        assert!((e.peaks()[0] - top).abs() < 1e-6, "held for 10 frames");
        e.update(&[0.0]);
        assert!(
            (top - e.peaks()[0] - 0.01).abs() < 1e-4,
            "falls at the rate"
        );
        for _ in 0..1000 {
            e.update(&[0.0]);
            assert!(e.peaks()[0] >= e.bars()[0]);
        }
        assert!(e.peaks()[0] < 1e-3);
    }

    #[test]
    fn zero_time_constants_follow_instantly() {
        let mut e = Envelopes::new(2, 0.01, 0.0, 0.0, 0.0, 1.0);
        e.update(&[0.3, 0.9]);
        assert_eq!(e.bars(), &[0.3, 0.9]);
        e.update(&[0.1, 0.2]);
        assert_eq!(e.bars(), &[0.1, 0.2]);
        assert!((e.peaks()[1] - 0.89).abs() < 1e-6);
    }
}
