//! Putting pixels into the canvas: fills, the slideshow at an opacity
//! (optionally through the viewport), and overlay quads blended source-over.
//! Exact rounding (`fixed::div255`) in u16 lanes.

use super::compose::column_map;
use crate::fixed::{ViewportMap, gradient};
use crate::frame::{Frame, Rgba};
use crate::overlay::Quad;

/// Fills the whole canvas with one colour.
pub(super) fn fill(out: &mut [u8], colour: Rgba) {
    for px in out.chunks_exact_mut(4) {
        px.copy_from_slice(&colour);
    }
}

/// `out = lerp(out, src, alpha)` on all four channels; a copy at 255.
pub(super) fn put(out: &mut [u8], src: &[u8], alpha: u8) {
    if alpha == 255 {
        out.copy_from_slice(src);
        return;
    }
    let a = u16::from(alpha);
    let ia = 255 - a;
    for (o, s) in out.iter_mut().zip(src) {
        let t = u16::from(*s) * a + u16::from(*o) * ia + 128;
        *o = ((t + (t >> 8)) >> 8) as u8;
    }
}

/// Like [`put`], reading `src` through the viewport map.
#[allow(clippy::too_many_arguments)]
pub(super) fn put_viewport(
    out: &mut [u8],
    src: &[u8],
    width: u32,
    height: u32,
    map: &ViewportMap,
    alpha: u8,
    xmap: &mut Vec<u32>,
    row: &mut Vec<u8>,
) {
    let n = width as usize * 4;
    column_map(map, width, xmap);
    row.resize(n, 0);
    for (y, o) in out.chunks_exact_mut(n).enumerate() {
        let sy = ViewportMap::map(map.oy, map.step, y as u32, height) as usize;
        let s = &src[sy * n..(sy + 1) * n];
        for (px, &sx) in row.chunks_exact_mut(4).zip(xmap.iter()) {
            let sx = sx as usize * 4;
            px.copy_from_slice(&s[sx..sx + 4]);
        }
        put(o, row, alpha);
    }
}

/// One colour made ready to blend: the per-colour products are computed
/// once, not once per row (a box outline is hundreds of 2-pixel rows).
#[derive(Clone, Copy)]
pub(super) struct Pen {
    colour: Rgba,
    /// `c·a + 128` per channel (alpha: `255·a + 128`), repeated for 4 pixels.
    lit: [u16; 16],
    /// `255 − a`.
    keep: u16,
}

impl Pen {
    fn new(c: Rgba) -> Self {
        let a = u16::from(c[3]);
        let s = [
            u16::from(c[0]) * a + 128,
            u16::from(c[1]) * a + 128,
            u16::from(c[2]) * a + 128,
            255 * a + 128,
        ];
        Self {
            colour: c,
            lit: std::array::from_fn(|k| s[k % 4]),
            keep: 255 - a,
        }
    }

    /// Source-over across a row, 16 bytes (4 pixels) per step in u16 lanes
    /// so the compiler vectorises it.
    fn blend(&self, row: &mut [u8]) {
        match self.colour[3] {
            0 => {}
            255 => fill(row, self.colour),
            _ => {
                let ia = self.keep;
                let mut chunks = row.chunks_exact_mut(16);
                for ch in &mut chunks {
                    for (d, s) in ch.iter_mut().zip(self.lit) {
                        let t = s + u16::from(*d) * ia;
                        *d = ((t + (t >> 8)) >> 8) as u8;
                    }
                }
                for (d, s) in chunks.into_remainder().iter_mut().zip(self.lit) {
                    let t = s + u16::from(*d) * ia;
                    *d = ((t + (t >> 8)) >> 8) as u8;
                }
            }
        }
    }
}

/// The pens of the rows of the last gradient seen: bars share one gradient,
/// so it is evaluated once per frame instead of once per bar row.
#[derive(Default)]
pub(super) struct GradientRows {
    key: Option<(Rgba, Rgba, u32, u32)>,
    rows: Vec<Pen>,
}

impl GradientRows {
    /// The pen of row `y` of a gradient quad.
    fn pen(&mut self, q: &Quad, y: u32) -> Pen {
        let key = (q.bottom, q.top, q.g0, q.g1);
        if self.key != Some(key) {
            self.rows.clear();
            self.rows
                .extend((q.g0..q.g1).map(|y| Pen::new(gradient(q.bottom, q.top, q.g0, q.g1, y))));
            self.key = Some(key);
        }
        match y.checked_sub(q.g0).and_then(|k| self.rows.get(k as usize)) {
            Some(p) => *p,
            None => Pen::new(gradient(q.bottom, q.top, q.g0, q.g1, y)),
        }
    }
}

/// Rows per band: a band of a 1080p canvas (~120 KB out, twice that in)
/// stays in L2 while the slideshow and then every quad crossing it are drawn.
pub(super) const BAND_ROWS: u32 = 16;

/// Blends each quad over the canvas: colour channels
/// `round((c·a + d·(255 − a)) / 255)`, alpha `round((255·a + d·(255 − a)) / 255)`.
/// The canvas is walked in horizontal bands, the quads in list order within
/// each band, so every pixel still sees its quads in list order while the
/// memory being blended stays in cache (a bar walks 300+ rows otherwise,
/// each a cache miss).
pub(super) fn quads(out: &mut Frame, quads: &[Quad], rows: &mut GradientRows) {
    let Some(top) = quads.iter().map(|q| q.y0).min() else {
        return;
    };
    let bottom = quads
        .iter()
        .map(|q| q.y1)
        .max()
        .unwrap_or(0)
        .min(out.height());
    let mut band = top;
    while band < bottom {
        let end = (band + BAND_ROWS).min(bottom);
        quads_in(out, quads, band, end, rows);
        band = end;
    }
}

/// Blends the rows `y0..y1` of every quad, in list order.
pub(super) fn quads_in(out: &mut Frame, quads: &[Quad], y0: u32, y1: u32, rows: &mut GradientRows) {
    let stride = out.stride();
    let data = out.data_mut();
    for q in quads {
        let (from, to) = (q.y0.max(y0), q.y1.min(y1));
        if from >= to {
            continue;
        }
        let (x0, x1) = (q.x0 as usize * 4, q.x1 as usize * 4);
        let span = |y: u32| y as usize * stride;
        if q.g1 <= q.g0 + 1 {
            let pen = Pen::new(q.bottom);
            for y in from..to {
                pen.blend(&mut data[span(y) + x0..span(y) + x1]);
            }
        } else {
            for y in from..to {
                rows.pen(q, y).blend(&mut data[span(y) + x0..span(y) + x1]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::blend255;

    #[test]
    fn row_blend_matches_the_exact_formula() {
        let mut row: Vec<u8> = (0..=255).chain(0..8).collect();
        let orig = row.clone();
        for a in [1u8, 77, 128, 254] {
            let c = [200, 13, 99, a];
            row.copy_from_slice(&orig);
            Pen::new(c).blend(&mut row);
            for (px, d) in row.chunks_exact(4).zip(orig.chunks_exact(4)) {
                assert_eq!(px[0], blend255(200, d[0], a));
                assert_eq!(px[1], blend255(13, d[1], a));
                assert_eq!(px[2], blend255(99, d[2], a));
                assert_eq!(px[3], blend255(255, d[3], a));
            }
        }
    }

    #[test]
    fn put_at_an_opacity_is_the_exact_lerp() {
        let src: Vec<u8> = (0..=255).collect();
        let mut out: Vec<u8> = (0..=255).rev().collect();
        let dst = out.clone();
        put(&mut out, &src, 100);
        for ((o, s), d) in out.iter().zip(&src).zip(&dst) {
            assert_eq!(*o, blend255(*s, *d, 100));
        }
    }
}
