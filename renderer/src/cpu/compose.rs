//! Transitions on the CPU: each kind writes canvas rows from the two images
//! with the formulas of `fixed.rs`, copying whole segments wherever a row is
//! a shifted piece of one image. A frame is `prepare`d once (column maps,
//! blockflip plans), then drawn in row bands (`rows`), so the compositor can
//! blend the overlays into each band while it is still in cache.

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

    fn row(&self, to: bool, y: usize) -> &[u8] {
        let n = self.stride();
        &(if to { self.to } else { self.from })[y * n..(y + 1) * n]
    }
}

/// Per-frame working memory, kept by the compositor so frames do not allocate.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Source columns of gathered spans.
    columns: Vec<u32>,
    /// Every block row's plan, one after another (blockflip).
    segments: Vec<Segment>,
    /// Per block row: its pixel rows and its range in `segments`.
    plans: Vec<(u32, u32, usize, usize)>,
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
    prepare(kind, inputs, scratch);
    rows(kind, inputs, scratch, 0, inputs.height, out);
}

/// Builds what every row of this frame shares: zoom's column map, the
/// blockflip plans.
pub(crate) fn prepare(kind: TransitionKind, i: &Inputs<'_>, scratch: &mut Scratch) {
    scratch.columns.clear();
    scratch.segments.clear();
    scratch.plans.clear();
    match kind {
        TransitionKind::Zoom => {
            let zw = travel(i.progress, i.width);
            scratch
                .columns
                .extend((0..zw).map(|k| squeeze(k, i.width, zw)));
        }
        TransitionKind::Blockflip => plan_blockflip(i, scratch),
        _ => {}
    }
}

/// Writes rows `y0..y1` of the transition into `out` (those rows only),
/// after [`prepare`].
pub(crate) fn rows(
    kind: TransitionKind,
    inputs: &Inputs<'_>,
    scratch: &Scratch,
    y0: u32,
    y1: u32,
    out: &mut [u8],
) {
    let n = inputs.stride();
    let (a, b) = (y0 as usize * n, y1 as usize * n);
    match kind {
        TransitionKind::Crossfade => {
            crossfade(&inputs.from[a..b], &inputs.to[a..b], inputs.progress, out)
        }
        TransitionKind::SlideLeft | TransitionKind::SlideRight => {
            slide_h(inputs, y0, out, kind == TransitionKind::SlideLeft)
        }
        TransitionKind::SlideUp | TransitionKind::SlideDown => {
            slide_v(inputs, y0, out, kind == TransitionKind::SlideUp)
        }
        TransitionKind::WipeLeft | TransitionKind::WipeRight => {
            wipe_h(inputs, y0, out, kind == TransitionKind::WipeLeft)
        }
        TransitionKind::WipeUp | TransitionKind::WipeDown => {
            wipe_v(inputs, y0, out, kind == TransitionKind::WipeUp)
        }
        TransitionKind::Blockflip => blockflip(inputs, scratch, y0, out),
        TransitionKind::Dissolve => dissolve(inputs, y0, out),
        TransitionKind::Zoom => zoom(inputs, scratch, y0, out),
    }
}

/// `(a·(256 − w) + b·w + 128) >> 8` on every byte; u16 lanes, vectorised.
fn crossfade(from: &[u8], to: &[u8], progress: u32, out: &mut [u8]) {
    let w = crossfade_weight(progress) as u16;
    let iw = 256 - w;
    for ((o, a), b) in out.iter_mut().zip(from).zip(to) {
        *o = ((u16::from(*a) * iw + u16::from(*b) * w + 128) >> 8) as u8;
    }
}

fn slide_h(i: &Inputs<'_>, y0: u32, out: &mut [u8], left: bool) {
    let n = i.stride();
    let off = travel(i.progress, i.width) as usize * 4;
    for (k, o) in out.chunks_exact_mut(n).enumerate() {
        let y = y0 as usize + k;
        let (a, b) = (i.row(false, y), i.row(true, y));
        if left {
            o[..n - off].copy_from_slice(&a[off..]);
            o[n - off..].copy_from_slice(&b[..off]);
        } else {
            o[..off].copy_from_slice(&b[n - off..]);
            o[off..].copy_from_slice(&a[..n - off]);
        }
    }
}

fn slide_v(i: &Inputs<'_>, y0: u32, out: &mut [u8], up: bool) {
    let h = i.height as usize;
    let off = travel(i.progress, i.height) as usize;
    for (k, o) in out.chunks_exact_mut(i.stride()).enumerate() {
        let y = y0 as usize + k;
        let (to, sy) = if up {
            if y + off < h {
                (false, y + off)
            } else {
                (true, y + off - h)
            }
        } else if y >= off {
            (false, y - off)
        } else {
            (true, y + h - off)
        };
        o.copy_from_slice(i.row(to, sy));
    }
}

fn wipe_h(i: &Inputs<'_>, y0: u32, out: &mut [u8], left: bool) {
    let n = i.stride();
    let off = travel(i.progress, i.width) as usize * 4;
    // wipe-left uncovers the target from the right edge.
    let edge = if left { n - off } else { off };
    for (k, o) in out.chunks_exact_mut(n).enumerate() {
        let y = y0 as usize + k;
        let (first, second) = (i.row(!left, y), i.row(left, y));
        o[..edge].copy_from_slice(&first[..edge]);
        o[edge..].copy_from_slice(&second[edge..]);
    }
}

fn wipe_v(i: &Inputs<'_>, y0: u32, out: &mut [u8], up: bool) {
    let h = i.height as usize;
    let off = travel(i.progress, i.height) as usize;
    let edge = if up { h - off } else { off };
    for (k, o) in out.chunks_exact_mut(i.stride()).enumerate() {
        let y = y0 as usize + k;
        // Above the edge: the source for wipe-up, the target for wipe-down.
        o.copy_from_slice(i.row((y < edge) != up, y));
    }
}

fn dissolve(i: &Inputs<'_>, y0: u32, out: &mut [u8]) {
    let n = i.stride();
    let (a, b) = (y0 as usize * n, y0 as usize * n + out.len());
    let (from, to) = (&i.from[a..b], &i.to[a..b]);
    let Some(t) = i.tables.and_then(TransitionTables::dissolve) else {
        // Validated upstream: the compositor always supplies dissolve tables.
        return crossfade(from, to, i.progress, out);
    };
    let t = &t[a / 4..b / 4];
    let p = i.progress;
    // Whole pixels as u32 when the buffers are 4-aligned (they are, from the
    // allocator): a compare and a select per pixel, vectorised.
    if let (Ok(o), Ok(fa), Ok(fb)) = (
        bytemuck::try_cast_slice_mut::<u8, u32>(out),
        bytemuck::try_cast_slice::<u8, u32>(from),
        bytemuck::try_cast_slice::<u8, u32>(to),
    ) {
        for (((o, a), b), t) in o.iter_mut().zip(fa).zip(fb).zip(t) {
            *o = if p > u32::from(*t) { *b } else { *a };
        }
        return;
    }
    for (((o, a), b), t) in out
        .chunks_exact_mut(4)
        .zip(from.chunks_exact(4))
        .zip(to.chunks_exact(4))
        .zip(t)
    {
        o.copy_from_slice(if p > u32::from(*t) { b } else { a });
    }
}

/// Plans each row of blocks once: a copy for a block at rest, else a fill,
/// a squeezed gather and a fill.
fn plan_blockflip(i: &Inputs<'_>, scratch: &mut Scratch) {
    let Some(g) = i.tables.and_then(TransitionTables::blockflip) else {
        return;
    };
    let (w, h) = (i.width, i.height);
    for by in 0..g.rows {
        let first = scratch.segments.len();
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
        scratch.plans.push((
            block_start(by, h, g.rows),
            block_start(by + 1, h, g.rows),
            first,
            scratch.segments.len(),
        ));
    }
}

fn blockflip(i: &Inputs<'_>, scratch: &Scratch, y0: u32, out: &mut [u8]) {
    if scratch.plans.is_empty() {
        let (a, b) = (
            y0 as usize * i.stride(),
            y0 as usize * i.stride() + out.len(),
        );
        return crossfade(&i.from[a..b], &i.to[a..b], i.progress, out);
    }
    let mut plan = 0;
    for (k, o) in out.chunks_exact_mut(i.stride()).enumerate() {
        let y = y0 + k as u32;
        while scratch.plans[plan].1 <= y {
            plan += 1;
        }
        let (_, _, first, last) = scratch.plans[plan];
        let y = y as usize;
        for seg in &scratch.segments[first..last] {
            match *seg {
                Segment::Copy { to, x0, x1 } => {
                    let r = x0 as usize * 4..x1 as usize * 4;
                    o[r.clone()].copy_from_slice(&i.row(to, y)[r]);
                }
                Segment::Fill { x0, x1 } => {
                    for px in o[x0 as usize * 4..x1 as usize * 4].chunks_exact_mut(4) {
                        px.copy_from_slice(&i.background);
                    }
                }
                Segment::Gather { to, x0, x1, map } => {
                    let cols = &scratch.columns[map as usize..(map + x1 - x0) as usize];
                    gather(&mut o[x0 as usize * 4..x1 as usize * 4], i.row(to, y), cols);
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

fn zoom(i: &Inputs<'_>, scratch: &Scratch, y0: u32, out: &mut [u8]) {
    let (w, h) = (i.width, i.height);
    let (zw, zh) = (travel(i.progress, w), travel(i.progress, h));
    let (x0, top) = (centred(w, zw), centred(h, zh));
    let (xs, xe) = (x0 as usize * 4, (x0 + zw) as usize * 4);
    for (k, o) in out.chunks_exact_mut(i.stride()).enumerate() {
        let y = y0 + k as u32;
        let a = i.row(false, y as usize);
        if zw == 0 || zh == 0 || y < top || y >= top + zh {
            o.copy_from_slice(a);
            continue;
        }
        let b = i.row(true, squeeze(y - top, h, zh) as usize);
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
#[path = "compose_tests.rs"]
mod tests;
