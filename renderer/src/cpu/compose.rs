//! Transitions on the CPU: each kind writes the whole canvas from the two
//! images with the formulas of `fixed.rs`, row by row, copying whole
//! segments wherever a row is a shifted piece of one image.

use crate::fixed::{ViewportMap, block_start, centred, crossfade_weight, flip, squeeze, travel};
use crate::frame::Rgba;
use crate::tables::TransitionTables;
use crate::transition::TransitionKind;

/// What a transition reads.
pub(crate) struct Inputs<'a> {
    pub from: &'a [u8],
    pub to: &'a [u8],
    pub width: u32,
    pub height: u32,
    /// Shows in a flipping block's gap.
    pub background: Rgba,
    /// Eased progress, Q16.
    pub progress: u32,
    /// Blockflip or dissolve tables (required for those kinds).
    pub tables: Option<&'a TransitionTables>,
}

impl Inputs<'_> {
    fn stride(&self) -> usize {
        self.width as usize * 4
    }

    fn rows(
        &self,
    ) -> (
        std::slice::ChunksExact<'_, u8>,
        std::slice::ChunksExact<'_, u8>,
    ) {
        (
            self.from.chunks_exact(self.stride()),
            self.to.chunks_exact(self.stride()),
        )
    }
}

/// Per-frame working memory, kept by the compositor so frames do not allocate.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Source columns of gathered spans.
    columns: Vec<u32>,
    /// One block row's plan (blockflip).
    segments: Vec<Segment>,
}

/// A span of one output row: copied, filled, or gathered through `columns`.
#[derive(Clone, Copy)]
enum Segment {
    Copy {
        to: bool,
        x0: u32,
        x1: u32,
    },
    Fill {
        x0: u32,
        x1: u32,
    },
    Gather {
        to: bool,
        x0: u32,
        x1: u32,
        map: u32,
    },
}

/// Writes the transition `kind` at `inputs.progress` into `out` (canvas-sized).
pub(crate) fn compose(
    kind: TransitionKind,
    inputs: &Inputs<'_>,
    out: &mut [u8],
    scratch: &mut Scratch,
) {
    match kind {
        TransitionKind::Crossfade => crossfade(inputs, out),
        TransitionKind::SlideLeft => slide_h(inputs, out, true),
        TransitionKind::SlideRight => slide_h(inputs, out, false),
        TransitionKind::SlideUp => slide_v(inputs, out, true),
        TransitionKind::SlideDown => slide_v(inputs, out, false),
        TransitionKind::WipeLeft => wipe_h(inputs, out, true),
        TransitionKind::WipeRight => wipe_h(inputs, out, false),
        TransitionKind::WipeUp => wipe_v(inputs, out, true),
        TransitionKind::WipeDown => wipe_v(inputs, out, false),
        TransitionKind::Blockflip => blockflip(inputs, out, scratch),
        TransitionKind::Dissolve => dissolve(inputs, out),
        TransitionKind::Zoom => zoom(inputs, out, scratch),
    }
}

/// `(a·(256 − w) + b·w + 128) >> 8` on every byte; u16 lanes, vectorised.
fn crossfade(i: &Inputs<'_>, out: &mut [u8]) {
    let w = crossfade_weight(i.progress) as u16;
    let iw = 256 - w;
    for ((o, a), b) in out.iter_mut().zip(i.from).zip(i.to) {
        *o = ((u16::from(*a) * iw + u16::from(*b) * w + 128) >> 8) as u8;
    }
}

fn slide_h(i: &Inputs<'_>, out: &mut [u8], left: bool) {
    let off = travel(i.progress, i.width) as usize * 4;
    let n = i.stride();
    let (a_rows, b_rows) = i.rows();
    for ((o, a), b) in out.chunks_exact_mut(n).zip(a_rows).zip(b_rows) {
        if left {
            o[..n - off].copy_from_slice(&a[off..]);
            o[n - off..].copy_from_slice(&b[..off]);
        } else {
            o[..off].copy_from_slice(&b[n - off..]);
            o[off..].copy_from_slice(&a[..n - off]);
        }
    }
}

fn slide_v(i: &Inputs<'_>, out: &mut [u8], up: bool) {
    let (h, n) = (i.height as usize, i.stride());
    let off = travel(i.progress, i.height) as usize;
    for (y, o) in out.chunks_exact_mut(n).enumerate() {
        let (img, sy) = if up {
            if y + off < h {
                (i.from, y + off)
            } else {
                (i.to, y + off - h)
            }
        } else if y >= off {
            (i.from, y - off)
        } else {
            (i.to, y + h - off)
        };
        o.copy_from_slice(&img[sy * n..(sy + 1) * n]);
    }
}

fn wipe_h(i: &Inputs<'_>, out: &mut [u8], left: bool) {
    let n = i.stride();
    let off = travel(i.progress, i.width) as usize * 4;
    let (a_rows, b_rows) = i.rows();
    for ((o, a), b) in out.chunks_exact_mut(n).zip(a_rows).zip(b_rows) {
        // wipe-left uncovers the target from the right edge.
        let edge = if left { n - off } else { off };
        let (first, second) = if left { (a, b) } else { (b, a) };
        o[..edge].copy_from_slice(&first[..edge]);
        o[edge..].copy_from_slice(&second[edge..]);
    }
}

fn wipe_v(i: &Inputs<'_>, out: &mut [u8], up: bool) {
    let (h, n) = (i.height as usize, i.stride());
    let off = travel(i.progress, i.height) as usize;
    let edge = if up { h - off } else { off };
    let (first, second) = if up { (i.from, i.to) } else { (i.to, i.from) };
    out[..edge * n].copy_from_slice(&first[..edge * n]);
    out[edge * n..].copy_from_slice(&second[edge * n..]);
}

fn dissolve(i: &Inputs<'_>, out: &mut [u8]) {
    let Some(t) = i.tables.and_then(TransitionTables::dissolve) else {
        // Validated upstream: the compositor always supplies dissolve tables.
        return crossfade(i, out);
    };
    let p = i.progress;
    for (((o, a), b), t) in out
        .chunks_exact_mut(4)
        .zip(i.from.chunks_exact(4))
        .zip(i.to.chunks_exact(4))
        .zip(t)
    {
        o.copy_from_slice(if p > u32::from(*t) { b } else { a });
    }
}

/// Plans each row of blocks once (copy, fill, or a squeezed gather per
/// block), then applies the plan to every pixel row of that block row.
fn blockflip(i: &Inputs<'_>, out: &mut [u8], scratch: &mut Scratch) {
    let Some(g) = i.tables.and_then(TransitionTables::blockflip) else {
        return crossfade(i, out);
    };
    let (w, h, n) = (i.width, i.height, i.stride());
    for by in 0..g.rows {
        scratch.segments.clear();
        scratch.columns.clear();
        for bx in 0..g.cols {
            let x0 = block_start(bx, w, g.cols);
            let bw = block_start(bx + 1, w, g.cols) - x0;
            let f = flip(i.progress, g.starts[(by * g.cols + bx) as usize], bw);
            if f.visible == bw {
                scratch.segments.push(Segment::Copy {
                    to: f.to,
                    x0,
                    x1: x0 + bw,
                });
                continue;
            }
            let lo = x0 + centred(bw, f.visible);
            let hi = lo + f.visible;
            scratch.segments.push(Segment::Fill { x0, x1: lo });
            let map = scratch.columns.len() as u32;
            scratch
                .columns
                .extend((0..f.visible).map(|k| x0 + squeeze(k, bw, f.visible)));
            scratch.segments.push(Segment::Gather {
                to: f.to,
                x0: lo,
                x1: hi,
                map,
            });
            scratch.segments.push(Segment::Fill {
                x0: hi,
                x1: x0 + bw,
            });
        }
        let (y0, y1) = (block_start(by, h, g.rows), block_start(by + 1, h, g.rows));
        for y in y0 as usize..y1 as usize {
            let o = &mut out[y * n..(y + 1) * n];
            let row = |to: bool| &(if to { i.to } else { i.from })[y * n..(y + 1) * n];
            for seg in &scratch.segments {
                match *seg {
                    Segment::Copy { to, x0, x1 } => {
                        let r = x0 as usize * 4..x1 as usize * 4;
                        o[r.clone()].copy_from_slice(&row(to)[r]);
                    }
                    Segment::Fill { x0, x1 } => {
                        for px in o[x0 as usize * 4..x1 as usize * 4].chunks_exact_mut(4) {
                            px.copy_from_slice(&i.background);
                        }
                    }
                    Segment::Gather { to, x0, x1, map } => {
                        let src = row(to);
                        let cols = &scratch.columns[map as usize..(map + x1 - x0) as usize];
                        gather(&mut o[x0 as usize * 4..x1 as usize * 4], src, cols);
                    }
                }
            }
        }
    }
}

/// `out[k] = src[cols[k]]`, pixel by pixel.
fn gather(out: &mut [u8], src: &[u8], cols: &[u32]) {
    for (px, &sx) in out.chunks_exact_mut(4).zip(cols) {
        let sx = sx as usize * 4;
        px.copy_from_slice(&src[sx..sx + 4]);
    }
}

fn zoom(i: &Inputs<'_>, out: &mut [u8], scratch: &mut Scratch) {
    let (w, h, n) = (i.width, i.height, i.stride());
    let (zw, zh) = (travel(i.progress, w), travel(i.progress, h));
    let (x0, y0) = (centred(w, zw), centred(h, zh));
    let (xs, xe) = (x0 as usize * 4, (x0 + zw) as usize * 4);
    scratch.columns.clear();
    scratch.columns.extend((0..zw).map(|k| squeeze(k, w, zw)));
    for (y, o) in out.chunks_exact_mut(n).enumerate() {
        let a = &i.from[y * n..(y + 1) * n];
        let y = y as u32;
        if zw == 0 || zh == 0 || y < y0 || y >= y0 + zh {
            o.copy_from_slice(a);
            continue;
        }
        let sy = squeeze(y - y0, h, zh) as usize;
        let b = &i.to[sy * n..(sy + 1) * n];
        o[..xs].copy_from_slice(&a[..xs]);
        o[xe..].copy_from_slice(&a[xe..]);
        gather(&mut o[xs..xe], b, &scratch.columns);
    }
}

/// The viewport's source column for each output column.
pub(crate) fn column_map(map: &ViewportMap, width: u32, xmap: &mut Vec<u32>) {
    xmap.clear();
    xmap.extend((0..width).map(|x| ViewportMap::map(map.ox, map.step, x, width)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transition::PROGRESS_ONE;

    fn image(w: u32, h: u32, salt: u8) -> Vec<u8> {
        (0..w * h * 4)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
            .collect()
    }

    #[test]
    fn every_kind_starts_on_the_source_and_ends_on_the_target() {
        for (w, h) in [(1, 1), (7, 5), (97, 13)] {
            let (a, b) = (image(w, h, 3), image(w, h, 200));
            for kind in TransitionKind::ALL {
                let tables = TransitionTables::build(kind, w, h, 11).expect("size ok");
                let mut out = vec![0; a.len()];
                for (p, want) in [(PROGRESS_ONE, &b), (0, &a)] {
                    let inputs = Inputs {
                        from: &a,
                        to: &b,
                        width: w,
                        height: h,
                        background: [1, 2, 3, 4],
                        progress: p,
                        tables: tables.as_ref(),
                    };
                    compose(kind, &inputs, &mut out, &mut Scratch::default());
                    assert!(&out == want, "{kind} at {p} on {w}x{h}");
                }
            }
        }
    }

    #[test]
    fn slide_left_halfway_shows_both_halves_shifted() {
        let (w, h) = (4, 1);
        let a: Vec<u8> = (0..16).collect();
        let b: Vec<u8> = (100..116).collect();
        let mut out = vec![0; 16];
        let inputs = Inputs {
            from: &a,
            to: &b,
            width: w,
            height: h,
            background: [0; 4],
            progress: PROGRESS_ONE / 2,
            tables: None,
        };
        compose(
            TransitionKind::SlideLeft,
            &inputs,
            &mut out,
            &mut Scratch::default(),
        );
        assert_eq!(&out[..8], &a[8..]);
        assert_eq!(&out[8..], &b[..8]);
        compose(
            TransitionKind::WipeRight,
            &inputs,
            &mut out,
            &mut Scratch::default(),
        );
        assert_eq!(&out[..8], &b[..8]);
        assert_eq!(&out[8..], &a[8..]);
    }

    #[test]
    fn dissolve_switches_pixels_in_proportion_to_progress() {
        let (w, h) = (64, 32);
        let (a, b) = (vec![0u8; 64 * 32 * 4], vec![255u8; 64 * 32 * 4]);
        let tables = TransitionTables::build(TransitionKind::Dissolve, w, h, 5)
            .expect("ok")
            .expect("dissolve");
        let mut out = vec![0; a.len()];
        let inputs = Inputs {
            from: &a,
            to: &b,
            width: w,
            height: h,
            background: [0; 4],
            progress: PROGRESS_ONE / 4,
            tables: Some(&tables),
        };
        compose(
            TransitionKind::Dissolve,
            &inputs,
            &mut out,
            &mut Scratch::default(),
        );
        let switched = out.chunks_exact(4).filter(|p| p[0] == 255).count();
        assert_eq!(switched, 64 * 32 / 4);
    }
}
