//! The integer formulas both paths share. The CPU path calls these; the WGSL
//! shaders in `gpu/shaders/` restate them line for line in `u32`
//! arithmetic, which is why the two paths agree to the bit. Every formula
//! maps progress `PROGRESS_ONE` to the target pixel exactly.

use crate::frame::Rgba;
use crate::scene::Viewport;
use crate::tables::FLIP_SPAN;
use crate::transition::PROGRESS_ONE;

/// `round(x / 255)` for `x ≤ 255·255 + 127`, without a division.
#[inline(always)]
pub(crate) fn div255(x: u32) -> u32 {
    let t = x + 128;
    (t + (t >> 8)) >> 8
}

/// `round((s·a + d·(255 − a)) / 255)`: source over destination with alpha `a`
/// (the reference the vectorised loops are tested against).
#[cfg(test)]
#[inline(always)]
pub(crate) fn blend255(s: u8, d: u8, a: u8) -> u8 {
    div255(u32::from(s) * u32::from(a) + u32::from(d) * (255 - u32::from(a))) as u8
}

/// The crossfade weight of the target, `0..=256`.
#[inline]
pub(crate) fn crossfade_weight(p: u32) -> u32 {
    (p.min(PROGRESS_ONE) * 256 + 32768) >> 16
}

/// How far an edge has moved across `len` pixels at progress `p`, `0..=len`.
#[inline]
pub(crate) fn travel(p: u32, len: u32) -> u32 {
    ((u64::from(p.min(PROGRESS_ONE)) * u64::from(len) + 32768) >> 16) as u32
}

/// Index of the block holding pixel `x` when `len` pixels are cut into
/// `count` blocks at `i·len/count`: how the WGSL finds a pixel's block (the
/// CPU path walks blocks by their starts instead; the test below proves
/// the two agree).
#[cfg(test)]
pub(crate) fn block_of(x: u32, len: u32, count: u32) -> u32 {
    ((x + 1) * count - 1) / len
}

/// First pixel of block `i` of `count` over `len` pixels.
#[inline]
pub(crate) fn block_start(i: u32, len: u32, count: u32) -> u32 {
    i * len / count
}

/// What a blockflip block shows at progress `p`: which image, and the
/// visible width (of the block's width `bw`) it is squeezed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flip {
    /// Shows the target (second half of the flip, or done).
    pub to: bool,
    /// Visible width in pixels, `0..=bw`, centred in the block.
    pub visible: u32,
}

/// The flip state of a block that starts flipping at `start`.
#[inline]
pub(crate) fn flip(p: u32, start: u32, bw: u32) -> Flip {
    let q = p.min(PROGRESS_ONE).saturating_sub(start).min(FLIP_SPAN);
    let q16 = q * (PROGRESS_ONE / FLIP_SPAN);
    let (to, f) = if q16 < 32768 {
        (false, (32768 - q16) * 2)
    } else {
        (true, (q16 - 32768) * 2)
    };
    Flip {
        to,
        visible: (bw * f + 32768) >> 16,
    }
}

/// Left edge of a visible span of `visible` pixels centred in `len`.
#[inline]
pub(crate) fn centred(len: u32, visible: u32) -> u32 {
    (len - visible) / 2
}

/// The source pixel of position `i` inside a span of `visible` pixels that
/// shows `len` source pixels (nearest neighbour, left-aligned).
#[inline]
pub(crate) fn squeeze(i: u32, len: u32, visible: u32) -> u32 {
    i * len / visible
}

/// The viewport as integers: source position `x` of output pixel `x'` is
/// `min((origin + x'·step + step/2) >> 16, len − 1)` on each axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ViewportMap {
    /// Left edge of the view in source pixels, Q16.
    pub ox: u32,
    /// Top edge of the view in source pixels, Q16.
    pub oy: u32,
    /// Source pixels per output pixel, Q16 (`65536 / zoom`).
    pub step: u32,
}

impl ViewportMap {
    /// Builds the map of a validated viewport over a `width × height` image.
    pub(crate) fn new(v: &Viewport, width: u32, height: u32) -> Self {
        let zoom = f64::from(v.zoom).clamp(1.0, f64::from(Viewport::MAX_ZOOM));
        let step = (65536.0 / zoom).round() as u32;
        let origin = |len: u32, centre: f32| -> u32 {
            let span = u64::from(len) * u64::from(step);
            let max = u64::from(len) * 65536 - span;
            let want =
                f64::from(centre.clamp(0.0, 1.0)) * f64::from(len) * 65536.0 - span as f64 / 2.0;
            (want.round().max(0.0) as u64).min(max) as u32
        };
        Self {
            ox: origin(width, v.center[0]),
            oy: origin(height, v.center[1]),
            step,
        }
    }

    /// Whether the map is the identity (zoom 1).
    pub(crate) fn is_identity(&self) -> bool {
        self.step == 65536 && self.ox == 0 && self.oy == 0
    }

    /// Source coordinate of output coordinate `i` along an axis of `len`.
    #[inline]
    pub(crate) fn map(origin: u32, step: u32, i: u32, len: u32) -> u32 {
        ((origin + i * step + step / 2) >> 16).min(len - 1)
    }
}

/// The colour of row `y` of a vertical gradient from `bottom` (row `g1 − 1`)
/// to `top` (row `g0`); a single colour when the range is under 2 rows.
#[inline]
pub(crate) fn gradient(bottom: Rgba, top: Rgba, g0: u32, g1: u32, y: u32) -> Rgba {
    if g1 <= g0 + 1 {
        return bottom;
    }
    let n = g1 - g0 - 1;
    let k = (g1 - 1).saturating_sub(y).min(n);
    let mix = |b: u8, t: u8| ((u32::from(b) * (n - k) + u32::from(t) * k + n / 2) / n) as u8;
    [
        mix(bottom[0], top[0]),
        mix(bottom[1], top[1]),
        mix(bottom[2], top[2]),
        mix(bottom[3], top[3]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div255_rounds_exactly_over_the_whole_blend_range() {
        for x in 0..=(255 * 255 + 127) {
            let exact = (f64::from(x) / 255.0).round() as u32;
            assert_eq!(div255(x), exact, "x = {x}");
        }
    }

    #[test]
    fn blend_ends_are_exact() {
        for s in [0u8, 1, 77, 254, 255] {
            for d in [0u8, 3, 128, 255] {
                assert_eq!(blend255(s, d, 255), s);
                assert_eq!(blend255(s, d, 0), d);
            }
        }
    }

    #[test]
    fn progress_one_reaches_every_end() {
        assert_eq!(crossfade_weight(PROGRESS_ONE), 256);
        assert_eq!(crossfade_weight(0), 0);
        for len in [1, 2, 97, 1366, 8192] {
            assert_eq!(travel(PROGRESS_ONE, len), len);
            assert_eq!(travel(0, len), 0);
        }
        for bw in [1, 5, 160] {
            assert_eq!(
                flip(PROGRESS_ONE, PROGRESS_ONE - FLIP_SPAN, bw),
                Flip {
                    to: true,
                    visible: bw
                }
            );
            assert_eq!(
                flip(0, 0, bw),
                Flip {
                    to: false,
                    visible: bw
                }
            );
            // Mid-flip the block is edge-on.
            assert_eq!(flip(FLIP_SPAN / 2, 0, bw).visible, 0);
        }
    }

    #[test]
    fn blocks_partition_the_axis() {
        for (len, count) in [(7, 3), (97, 10), (1080, 7), (5, 5), (1, 1)] {
            let mut expect = 0;
            for x in 0..len {
                let b = block_of(x, len, count);
                assert!(b >= expect && b < count);
                assert!(block_start(b, len, count) <= x);
                assert!(x < block_start(b + 1, len, count));
                expect = b;
            }
            assert_eq!(block_of(len - 1, len, count), count - 1);
        }
    }

    #[test]
    fn identity_viewport_maps_each_pixel_to_itself() {
        let m = ViewportMap::new(&Viewport::default(), 97, 31);
        assert!(m.is_identity());
        for x in 0..97 {
            assert_eq!(ViewportMap::map(m.ox, m.step, x, 97), x);
        }
        let z = ViewportMap::new(
            &Viewport {
                zoom: 2.0,
                center: [1.0, 0.0],
            },
            100,
            50,
        );
        // Panned to the right edge and the top, clamped inside the image.
        assert_eq!(ViewportMap::map(z.ox, z.step, 0, 100), 50);
        assert_eq!(ViewportMap::map(z.ox, z.step, 99, 100), 99);
        assert_eq!(ViewportMap::map(z.oy, z.step, 0, 50), 0);
    }

    #[test]
    fn gradient_ends_are_the_two_colours() {
        let (b, t) = ([0, 100, 200, 255], [255, 0, 50, 128]);
        assert_eq!(gradient(b, t, 10, 20, 19), b);
        assert_eq!(gradient(b, t, 10, 20, 10), t);
        assert_eq!(gradient(b, t, 10, 11, 10), b);
    }
}
