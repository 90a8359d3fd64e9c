//! Scenes shared by the renderer's integration tests and golden images:
//! two procedurally drawn images (no binary fixtures) and scene builders.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use warden_renderer::{
    ActiveTransition, Bar, DetectionBox, Easing, Frame, NormRect, Scene, TransitionKind,
    TransitionSpec,
};

/// Image A: colour ramps with a checkerboard, opaque.
pub(crate) fn image_a(w: u32, h: u32) -> Arc<Frame> {
    let mut d = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let check = ((x / 8) + (y / 8)) % 2 == 0;
            let r = (x * 255 / w.max(1)) as u8;
            let g = (y * 255 / h.max(1)) as u8;
            let b = if check { 200 } else { 40 };
            d.extend_from_slice(&[r, g, b, 255]);
        }
    }
    Arc::new(Frame::from_rgba(w, h, d).expect("sized"))
}

/// Image B: diagonal stripes and a disc, opaque.
pub(crate) fn image_b(w: u32, h: u32) -> Arc<Frame> {
    let mut d = Vec::with_capacity((w * h * 4) as usize);
    let (cx, cy, r) = (w as i64 / 2, h as i64 / 2, (w.min(h) / 3) as i64);
    for y in 0..h {
        for x in 0..w {
            let stripe = ((x + y) / 5) % 2 == 0;
            let (dx, dy) = (x as i64 - cx, y as i64 - cy);
            let px = if dx * dx + dy * dy < r * r {
                [250, 220, 30, 255]
            } else if stripe {
                [20, 90, 180, 255]
            } else {
                [120, 20, 60, 255]
            };
            d.extend_from_slice(&px);
        }
    }
    Arc::new(Frame::from_rgba(w, h, d).expect("sized"))
}

/// A → B with `kind` at time fraction `t` (linear easing, seed 7).
pub(crate) fn transition(kind: TransitionKind, w: u32, h: u32, t: f64) -> Scene {
    let mut s = Scene::new(w, h);
    s.slideshow.image = Some(image_b(w, h));
    s.slideshow.transition = Some(ActiveTransition::new(
        image_a(w, h),
        TransitionSpec {
            kind,
            duration: Duration::from_millis(800),
            easing: Easing::Linear,
            seed: 7,
        },
        t,
    ));
    s
}

/// `n` bars with a deterministic shape and peaks above them.
pub(crate) fn bars(n: usize) -> Vec<Bar> {
    (0..n)
        .map(|i| {
            let m = ((i * 37) % 100) as f32 / 100.0;
            Bar {
                magnitude: m,
                peak: (m + 0.15).min(1.0),
            }
        })
        .collect()
}

/// `n` boxes spread over the canvas with growing track ids.
pub(crate) fn boxes(n: usize) -> Vec<DetectionBox> {
    (0..n)
        .map(|i| {
            let f = i as f32;
            DetectionBox {
                rect: NormRect {
                    x: (f * 0.137) % 0.8,
                    y: 0.15 + (f * 0.071) % 0.6,
                    w: 0.12 + (f * 0.013) % 0.1,
                    h: 0.15 + (f * 0.029) % 0.1,
                },
                track_id: 1 + i as u32 * 7,
            }
        })
        .collect()
}

/// A transition with bars and boxes over it.
pub(crate) fn full(kind: TransitionKind, w: u32, h: u32, t: f64) -> Scene {
    let mut s = transition(kind, w, h, t);
    s.bars.bars = bars(24);
    s.boxes.boxes = boxes(6);
    s
}
