//! Overlays as a display list: the bars and boxes layers become integer
//! rectangles (`Quad`s) with a colour or a vertical gradient, clipped to the
//! canvas, alpha already multiplied by the layer opacity. The CPU path
//! blends them row by row; the wgpu path draws the same list as instanced
//! quads, so both rasterise identical pixel sets.

mod bars;
mod boxes;
mod font;

use crate::fixed::div255;
use crate::frame::Rgba;
use crate::scene::{LayerKind, NormRect, Scene};

/// One axis-aligned rectangle `[x0, x1) × [y0, y1)` in canvas pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quad {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    /// Colour at row `g1 − 1` (the only colour when `g1 ≤ g0 + 1`).
    pub bottom: Rgba,
    /// Colour at row `g0`.
    pub top: Rgba,
    /// Gradient row range.
    pub g0: u32,
    pub g1: u32,
}

impl Quad {
    /// A single-colour rectangle.
    #[cfg(test)]
    pub(crate) fn solid(x0: u32, y0: u32, x1: u32, y1: u32, colour: Rgba) -> Self {
        Self {
            x0,
            y0,
            x1,
            y1,
            bottom: colour,
            top: colour,
            g0: 0,
            g1: 0,
        }
    }
}

/// Collects the quads of one overlay layer, clipping to the canvas and
/// folding the layer opacity into each colour's alpha.
pub(crate) struct QuadSink<'a> {
    out: &'a mut Vec<Quad>,
    width: u32,
    height: u32,
    opacity: u8,
}

impl QuadSink<'_> {
    /// Adds a solid rectangle given as signed coordinates (clipped).
    pub(crate) fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, colour: Rgba) {
        self.gradient(x0, y0, x1, y1, colour, colour, 0, 0);
    }

    /// Adds a gradient rectangle (clipped).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gradient(
        &mut self,
        x0: i64,
        y0: i64,
        x1: i64,
        y1: i64,
        bottom: Rgba,
        top: Rgba,
        g0: u32,
        g1: u32,
    ) {
        let cx = |v: i64| v.clamp(0, i64::from(self.width)) as u32;
        let cy = |v: i64| v.clamp(0, i64::from(self.height)) as u32;
        let (x0, x1, y0, y1) = (cx(x0), cx(x1), cy(y0), cy(y1));
        let fade = |c: Rgba| -> Rgba {
            [
                c[0],
                c[1],
                c[2],
                div255(u32::from(c[3]) * u32::from(self.opacity)) as u8,
            ]
        };
        let (bottom, top) = (fade(bottom), fade(top));
        if x0 >= x1 || y0 >= y1 || (bottom[3] == 0 && top[3] == 0) {
            return;
        }
        self.out.push(Quad {
            x0,
            y0,
            x1,
            y1,
            bottom,
            top,
            g0,
            g1,
        });
    }

    /// Canvas width.
    pub(crate) fn width(&self) -> u32 {
        self.width
    }

    /// Canvas height.
    pub(crate) fn height(&self) -> u32 {
        self.height
    }
}

/// A fraction rectangle in whole canvas pixels (rounded edges, unclipped).
pub(crate) fn pixel_rect(r: &NormRect, width: u32, height: u32) -> (i64, i64, i64, i64) {
    let (w, h) = (f64::from(width), f64::from(height));
    let px = |v: f32, len: f64| (f64::from(v) * len).round().clamp(-1e9, 1e9) as i64;
    (px(r.x, w), px(r.y, h), px(r.x + r.w, w), px(r.y + r.h, h))
}

/// Appends the quads of one overlay layer to `out` (nothing for the
/// slideshow, or when the layer is hidden).
pub(crate) fn layer_quads(scene: &Scene, kind: LayerKind, out: &mut Vec<Quad>) {
    let props = match kind {
        LayerKind::Slideshow | LayerKind::Camera => return,
        LayerKind::Bars => scene.bars.props,
        LayerKind::Boxes => scene.boxes.props,
    };
    if !props.shown() {
        return;
    }
    let mut sink = QuadSink {
        out,
        width: scene.width,
        height: scene.height,
        opacity: props.alpha(),
    };
    match kind {
        LayerKind::Bars => bars::quads(&scene.bars, &mut sink),
        LayerKind::Boxes => boxes::quads(&scene.boxes, &mut sink),
        LayerKind::Slideshow | LayerKind::Camera => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_clips_drops_empty_and_folds_opacity() {
        let mut out = Vec::new();
        let mut sink = QuadSink {
            out: &mut out,
            width: 10,
            height: 8,
            opacity: 128,
        };
        sink.rect(-5, 2, 4, 20, [1, 2, 3, 255]);
        sink.rect(12, 0, 20, 5, [1, 2, 3, 255]);
        sink.rect(1, 1, 3, 3, [1, 2, 3, 0]);
        assert_eq!(out, vec![Quad::solid(0, 2, 4, 8, [1, 2, 3, 128])]);
    }
}
