//! Deterministic stand-in overlays for the offline command and the
//! benchmarks: spectrum bars that move like music (with falling peaks) and
//! boxes that drift and bounce, all a pure function of (seed, time).

use std::time::Duration;

use crate::peaks::PeakFall;
use crate::scene::{Bar, DetectionBox, NormRect};

/// splitmix64 of a seed and two indices.
fn hash(seed: u64, a: u64, b: u64) -> u64 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in `0..1` from a hash.
fn unit(seed: u64, a: u64, b: u64) -> f64 {
    (hash(seed, a, b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Reflects `v` into `0..=max` (a triangle wave), for bouncing.
fn bounce(v: f64, max: f64) -> f64 {
    if max <= 0.0 {
        return 0.0;
    }
    let period = 2.0 * max;
    let m = v.rem_euclid(period);
    if m > max { period - m } else { m }
}

/// Bars and boxes that move with time.
#[derive(Clone, Debug)]
pub struct SyntheticOverlays {
    seed: u64,
    bars: usize,
    boxes: usize,
    peaks: PeakFall,
}

impl SyntheticOverlays {
    /// `bars` bars and `boxes` boxes from `seed`.
    pub fn new(seed: u64, bars: usize, boxes: usize) -> Self {
        Self {
            seed,
            bars,
            boxes,
            peaks: PeakFall::default(),
        }
    }

    /// The bars at `t` seconds, with peaks advanced by `dt`.
    pub fn bars_at(&mut self, t: f64, dt: Duration) -> Vec<Bar> {
        let n = self.bars.max(1) as f64;
        let mut bars: Vec<Bar> = (0..self.bars as u64)
            .map(|i| {
                // Louder at the low end, each bar with its own beat.
                let tilt = 0.35 + 0.65 * (1.0 - i as f64 / n).powf(1.5);
                let freq = 0.7 + 2.5 * unit(self.seed, 1, i);
                let phase = unit(self.seed, 2, i);
                let wave = 0.5 + 0.5 * (std::f64::consts::TAU * (freq * t + phase)).sin();
                Bar {
                    magnitude: (tilt * (0.25 + 0.75 * wave)).clamp(0.0, 1.0) as f32,
                    peak: 0.0,
                }
            })
            .collect();
        self.peaks.update(&mut bars, dt);
        bars
    }

    /// The boxes at `t` seconds; track ids are 1, 2, ...
    pub fn boxes_at(&self, t: f64) -> Vec<DetectionBox> {
        (0..self.boxes as u64)
            .map(|k| {
                let u = |j: u64| unit(self.seed, 10 + j, k);
                let (w, h) = (0.06 + 0.1 * u(0), 0.08 + 0.14 * u(1));
                let (x0, y0) = (u(2) * (1.0 - w), u(3) * (0.75 - h).max(0.0));
                let (vx, vy) = ((u(4) - 0.5) * 0.4, (u(5) - 0.5) * 0.3);
                DetectionBox {
                    rect: NormRect {
                        x: bounce(x0 + vx * t, 1.0 - w) as f32,
                        y: bounce(y0 + vy * t, (0.75 - h).max(0.0)) as f32,
                        w: w as f32,
                        h: h as f32,
                    },
                    track_id: k as u32 + 1,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlays_are_deterministic_and_in_range() {
        let mut a = SyntheticOverlays::new(4, 64, 50);
        let mut b = SyntheticOverlays::new(4, 64, 50);
        let dt = Duration::from_millis(33);
        for f in 0..30 {
            let t = f64::from(f) * 0.033;
            let (ba, bb) = (a.bars_at(t, dt), b.bars_at(t, dt));
            assert_eq!(ba, bb);
            assert!(ba.iter().all(|x| (0.0..=1.0).contains(&x.magnitude)));
            assert!(ba.iter().all(|x| x.peak >= x.magnitude));
            let boxes = a.boxes_at(t);
            assert_eq!(boxes, b.boxes_at(t));
            assert!(
                boxes
                    .iter()
                    .all(|x| x.rect.x >= 0.0 && x.rect.x + x.rect.w <= 1.0)
            );
        }
        assert_ne!(
            SyntheticOverlays::new(5, 8, 0).bars_at(0.5, dt),
            SyntheticOverlays::new(4, 8, 0).bars_at(0.5, dt)
        );
    }

    #[test]
    fn bounce_reflects() {
        assert_eq!(bounce(0.3, 1.0), 0.3);
        assert!((bounce(1.2, 1.0) - 0.8).abs() < 1e-12);
        assert!((bounce(-0.2, 1.0) - 0.2).abs() < 1e-12);
    }
}
