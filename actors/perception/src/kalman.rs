//! The constant-velocity Kalman filter of a tracked box. The state is the
//! box's centre and size with their velocities, `[cx, cy, w, h, vcx, vcy, vw,
//! vh]`; the motion model, the process noise and the measurement noise are
//! block-diagonal (as in SORT and ByteTrack), so the 8-state filter is exactly
//! four independent (position, velocity) filters, one per box coordinate —
//! which is how it is computed here, in closed form.

use serde::{Deserialize, Serialize};

use crate::geometry::BBox;

/// Noise levels of the filter, as fractions of the box's size (ByteTrack's
/// convention: a bigger box moves and jitters more in pixels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KalmanConfig {
    /// Process noise on positions, per frame, × size.
    pub position_noise: f32,
    /// Process noise on velocities, per frame, × size.
    pub velocity_noise: f32,
    /// Measurement noise, × size.
    pub measurement_noise: f32,
    /// Each frame the size velocities are multiplied by this (1 = pure
    /// constant velocity); below 1 keeps a coasting box from growing or
    /// shrinking without end.
    pub size_velocity_decay: f32,
}

impl Default for KalmanConfig {
    fn default() -> Self {
        KalmanConfig {
            position_noise: 1.0 / 20.0,
            velocity_noise: 1.0 / 160.0,
            measurement_noise: 1.0 / 20.0,
            size_velocity_decay: 0.8,
        }
    }
}

/// One coordinate: value, velocity and their 2×2 covariance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axis {
    pub(crate) p: f32,
    pub(crate) v: f32,
    pub(crate) pp: f32,
    pub(crate) pv: f32,
    pub(crate) vv: f32,
}

impl Axis {
    fn new(p: f32, pos_sd: f32, vel_sd: f32) -> Self {
        Axis {
            p,
            v: 0.0,
            pp: pos_sd * pos_sd,
            pv: 0.0,
            vv: vel_sd * vel_sd,
        }
    }

    /// `x ← F x`, `P ← F P Fᵀ + Q` with `F = [[1, 1], [0, d]]`.
    fn predict(&mut self, d: f32, q_p: f32, q_v: f32) {
        self.p += self.v;
        self.v *= d;
        let pp = self.pp + 2.0 * self.pv + self.vv + q_p;
        let pv = d * (self.pv + self.vv);
        let vv = d * d * self.vv + q_v;
        self.pp = pp;
        self.pv = pv;
        self.vv = vv;
    }

    /// Measurement `z` of the value with variance `r` (`H = [1, 0]`).
    fn update(&mut self, z: f32, r: f32) {
        let s = self.pp + r;
        if s <= 0.0 {
            return;
        }
        let (kp, kv) = (self.pp / s, self.pv / s);
        let y = z - self.p;
        self.p += kp * y;
        self.v += kv * y;
        let (pp, pv, vv) = (self.pp, self.pv, self.vv);
        self.pp = (1.0 - kp) * pp;
        self.pv = (1.0 - kp) * pv;
        self.vv = vv - kv * pv;
    }
}

/// Which coordinates of a box a measurement observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Observed {
    pub(crate) cx: bool,
    pub(crate) cy: bool,
    pub(crate) w: bool,
    pub(crate) h: bool,
}

/// The filter of one tracked box.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxKalman {
    cfg: KalmanConfig,
    pub(crate) axes: [Axis; 4],
}

impl BoxKalman {
    /// A filter started at `bbox`, at rest, with ByteTrack's initial uncertainty.
    pub fn new(bbox: BBox, cfg: KalmanConfig) -> Self {
        let s = size_of(&bbox);
        let (pos, vel) = (2.0 * cfg.position_noise * s, 10.0 * cfg.velocity_noise * s);
        BoxKalman {
            cfg,
            axes: [
                Axis::new(bbox.cx(), pos, vel),
                Axis::new(bbox.cy(), pos, vel),
                Axis::new(bbox.w, pos, vel),
                Axis::new(bbox.h, pos, vel),
            ],
        }
    }

    /// Move the box to `bbox` (positions and sizes, with the uncertainty of
    /// a new filter) and keep the velocities.
    pub(crate) fn reset_box(&mut self, bbox: BBox) {
        let fresh = BoxKalman::new(bbox, self.cfg);
        for (a, f) in self.axes.iter_mut().zip(fresh.axes) {
            a.p = f.p;
            a.pp = f.pp;
            a.pv = 0.0;
        }
    }

    /// Advance one frame.
    pub fn predict(&mut self) {
        let s = size_of(&self.bbox());
        let q_p = (self.cfg.position_noise * s).powi(2);
        let q_v = (self.cfg.velocity_noise * s).powi(2);
        let d = self.cfg.size_velocity_decay;
        for (i, a) in self.axes.iter_mut().enumerate() {
            a.predict(if i < 2 { 1.0 } else { d }, q_p, q_v);
        }
    }

    /// Correct with a measured box.
    pub fn update(&mut self, bbox: BBox) {
        self.update_observed(
            bbox,
            Observed {
                cx: true,
                cy: true,
                w: true,
                h: true,
            },
        );
    }

    /// Correct only the coordinates that `seen` marks as observed in `bbox`.
    pub(crate) fn update_observed(&mut self, bbox: BBox, seen: Observed) {
        let r = (self.cfg.measurement_noise * size_of(&bbox)).powi(2);
        let z = [bbox.cx(), bbox.cy(), bbox.w, bbox.h];
        let on = [seen.cx, seen.cy, seen.w, seen.h];
        for ((a, z), on) in self.axes.iter_mut().zip(z).zip(on) {
            if on {
                a.update(z, r);
            }
        }
    }

    /// The current box estimate (sizes at least 1 px).
    pub fn bbox(&self) -> BBox {
        BBox::from_center(
            self.axes[0].p,
            self.axes[1].p,
            self.axes[2].p.max(1.0),
            self.axes[3].p.max(1.0),
        )
    }

    /// Velocity of the centre, px per frame.
    pub fn velocity(&self) -> (f32, f32) {
        (self.axes[0].v, self.axes[1].v)
    }

    /// Standard deviation of the centre estimate, px (x, y).
    pub fn center_sigma(&self) -> (f32, f32) {
        (
            self.axes[0].pp.max(0.0).sqrt(),
            self.axes[1].pp.max(0.0).sqrt(),
        )
    }
}

fn size_of(b: &BBox) -> f32 {
    (b.w.max(1.0) * b.h.max(1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_constant_velocity_and_extrapolates_it() {
        let mut kf = BoxKalman::new(BBox::new(0.0, 0.0, 20.0, 20.0), KalmanConfig::default());
        for t in 1..30 {
            kf.predict();
            kf.update(BBox::new(3.0 * t as f32, 1.0 * t as f32, 20.0, 20.0));
        }
        let (vx, vy) = kf.velocity();
        assert!(
            (vx - 3.0).abs() < 0.1 && (vy - 1.0).abs() < 0.1,
            "{vx} {vy}"
        );
        for _ in 0..10 {
            kf.predict();
        }
        let b = kf.bbox();
        assert!(
            (b.x - 117.0).abs() < 2.0 && (b.y - 39.0).abs() < 2.0,
            "{b:?}"
        );
    }

    #[test]
    fn uncertainty_grows_while_coasting_and_shrinks_with_measurements() {
        let mut kf = BoxKalman::new(BBox::new(0.0, 0.0, 20.0, 20.0), KalmanConfig::default());
        let start = kf.center_sigma().0;
        let mut last = start;
        for _ in 0..5 {
            kf.predict();
            let s = kf.center_sigma().0;
            assert!(s > last);
            last = s;
        }
        kf.update(BBox::new(0.0, 0.0, 20.0, 20.0));
        assert!(kf.center_sigma().0 < last);
    }

    #[test]
    fn partial_update_leaves_unobserved_coordinates_alone() {
        let mut kf = BoxKalman::new(BBox::new(0.0, 0.0, 20.0, 10.0), KalmanConfig::default());
        kf.predict();
        let before = kf.bbox();
        kf.update_observed(
            BBox::new(10.0, 10.0, 40.0, 40.0),
            Observed {
                cx: true,
                ..Observed::default()
            },
        );
        let after = kf.bbox();
        assert!(after.cx() > before.cx());
        assert_eq!(
            (after.cy(), after.w, after.h),
            (before.cy(), before.w, before.h)
        );
    }
}
