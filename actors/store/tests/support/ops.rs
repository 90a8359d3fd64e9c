//! Seed-driven random updates for the property and crash tests: any `u64`
//! names one delta (valid or not) of some topic, so proptest can shrink the
//! seeds and a crash child can regenerate exactly the parent's sequence.

use serde_json::{Value, json};
use warden_store::Topic;

const LAYERS: [&str; 4] = ["a", "b", "c", "d"];
const VIEWS: [&str; 2] = ["main", "side"];

/// A tiny deterministic bit source over one seed (splitmix64).
struct Bits(u64);

impl Bits {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// A number in `lo..hi` on a coarse grid (so values repeat sometimes).
    fn num(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.below(41) as f64 / 40.0
    }
}

/// The delta named by `seed`: mostly valid, sometimes not.
pub(crate) fn op(seed: u64) -> (Topic, Value) {
    let mut b = Bits(seed);
    match b.below(10) {
        0..=4 => {
            let id = b.pick(&LAYERS);
            let delta = match b.below(5) {
                0 | 1 => json!({"op": "add", "id": id, "opacity": b.num(0.0, 1.0)}),
                2 => json!({"op": "remove", "id": id}),
                3 => {
                    let mut order: Vec<&str> = LAYERS.to_vec();
                    order.rotate_left(b.below(4) as usize);
                    order.truncate(1 + b.below(4) as usize);
                    json!({"op": "reorder", "order": order})
                }
                _ => {
                    json!({"op": "set", "id": id, "opacity": b.num(-0.25, 1.25), "visible": b.below(2) == 0})
                }
            };
            (Topic::Layers, delta)
        }
        5..=6 => {
            let view = b.pick(&VIEWS);
            let delta = match b.below(3) {
                0 => json!({"op": "ndim", "target": view, "ndim": 1 + b.below(4)}),
                1 => {
                    json!({"op": "range", "target": view, "axis": b.below(4), "range": [0, b.below(20), 1 + b.below(3)]})
                }
                _ => {
                    json!({"op": "current_step", "target": view, "axis": b.below(4), "value": b.below(25)})
                }
            };
            (Topic::Dims, delta)
        }
        _ => {
            let view = b.pick(&VIEWS);
            let delta = match b.below(3) {
                0 => json!({"op": "set", "target": view, "zoom": b.num(-1.0, 4.0)}),
                1 => {
                    json!({"op": "set", "target": view, "center": [b.num(-5.0, 5.0), b.num(-5.0, 5.0)], "perspective": b.num(0.0, 90.0)})
                }
                _ => {
                    json!({"op": "set", "target": view, "angles": [b.num(0.0, 360.0), 0, b.num(-90.0, 90.0)]})
                }
            };
            (Topic::Camera, delta)
        }
    }
}

/// The `expected_version` a writer at `version` sends for `seed`: usually
/// current, sometimes stale, rarely ahead.
pub(crate) fn expected(seed: u64, version: u64) -> u64 {
    let mut b = Bits(seed ^ 0x5DEE_CE66_D1CE_4E5B);
    match b.below(16) {
        0..=10 => version,
        11..=14 => version.saturating_sub(1 + b.below(4)),
        _ => version + 1,
    }
}
