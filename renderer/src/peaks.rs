//! Falling peak markers: each bar's peak jumps up with the magnitude, holds
//! for a moment, then falls at a constant rate — the state a visualiser
//! keeps between frames, separate from the compositor so any source of bar
//! magnitudes can use it.

use std::time::Duration;

use crate::scene::Bar;

/// Peak state for a row of bars.
#[derive(Clone, Debug)]
pub struct PeakFall {
    /// How long a new peak stays put.
    pub hold: Duration,
    /// How fast a peak falls afterwards, in bar heights per second.
    pub fall_per_sec: f32,
    peaks: Vec<(f32, Duration)>,
}

impl PeakFall {
    /// Peaks that hold for `hold` then fall at `fall_per_sec`.
    pub fn new(hold: Duration, fall_per_sec: f32) -> Self {
        Self {
            hold,
            fall_per_sec,
            peaks: Vec::new(),
        }
    }

    /// Advances by `dt` with new magnitudes and writes each bar's peak; bars
    /// whose count changed start from their magnitude.
    pub fn update(&mut self, bars: &mut [Bar], dt: Duration) {
        if self.peaks.len() != bars.len() {
            self.peaks = bars
                .iter()
                .map(|b| (b.magnitude.clamp(0.0, 1.0), Duration::ZERO))
                .collect();
        }
        for (bar, (peak, age)) in bars.iter_mut().zip(&mut self.peaks) {
            let m = if bar.magnitude.is_finite() {
                bar.magnitude.clamp(0.0, 1.0)
            } else {
                0.0
            };
            *age += dt;
            if *age > self.hold {
                let falling = (*age - self.hold).min(dt).as_secs_f32();
                *peak = (*peak - self.fall_per_sec * falling).max(0.0);
            }
            if m >= *peak {
                *peak = m;
                *age = Duration::ZERO;
            }
            bar.peak = *peak;
        }
    }
}

impl Default for PeakFall {
    /// Hold 300 ms, fall a full bar height in 1.5 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(300), 1.0 / 1.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_jump_hold_then_fall_and_never_go_below_the_bar() {
        let mut pf = PeakFall::new(Duration::from_millis(100), 1.0);
        let dt = Duration::from_millis(50);
        let mut bars = vec![Bar {
            magnitude: 0.8,
            peak: 0.0,
        }];
        pf.update(&mut bars, dt);
        assert_eq!(bars[0].peak, 0.8);
        bars[0].magnitude = 0.1;
        pf.update(&mut bars, dt);
        pf.update(&mut bars, dt);
        assert_eq!(bars[0].peak, 0.8, "held for 100 ms");
        pf.update(&mut bars, dt);
        assert!((bars[0].peak - 0.75).abs() < 1e-6, "{}", bars[0].peak);
        for _ in 0..40 {
            pf.update(&mut bars, dt);
        }
        assert_eq!(bars[0].peak, 0.1, "rests on the magnitude");
        bars[0].magnitude = 0.9;
        pf.update(&mut bars, dt);
        assert_eq!(bars[0].peak, 0.9);
    }
}
