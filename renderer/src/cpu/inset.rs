//! The camera inset on the CPU: the picture scaled into its rectangle by
//! nearest-neighbour sampling (pixel centres), clipped to the canvas, and
//! blended over what is below with its alpha times the layer's opacity.

use crate::fixed::div255;
use crate::frame::Frame;
use crate::overlay::pixel_rect;
use crate::scene::Inset;

/// Draws `inset` into `out`; `xmap` is scratch for the column map.
pub(crate) fn draw(out: &mut Frame, inset: &Inset, xmap: &mut Vec<u32>) {
    let Some(image) = inset.image.as_ref().filter(|_| inset.shown()) else {
        return;
    };
    let (cw, ch) = (out.width(), out.height());
    let (x0, y0, x1, y1) = pixel_rect(&inset.rect, cw, ch);
    let (dw, dh) = (x1 - x0, y1 - y0);
    if dw <= 0 || dh <= 0 {
        return;
    }
    let (iw, ih) = (i64::from(image.width()), i64::from(image.height()));
    let (cx0, cx1) = (x0.max(0), x1.min(i64::from(cw)));
    let (cy0, cy1) = (y0.max(0), y1.min(i64::from(ch)));
    if cx0 >= cx1 || cy0 >= cy1 {
        return;
    }
    // Source column of each visible output column, from pixel centres.
    xmap.clear();
    xmap.extend((cx0..cx1).map(|x| (((2 * (x - x0) + 1) * iw) / (2 * dw)).clamp(0, iw - 1) as u32));
    let opacity = u32::from(inset.props.alpha());
    let stride = out.stride();
    let src = image.data();
    let src_stride = image.stride();
    let data = out.data_mut();
    for y in cy0..cy1 {
        let sy = (((2 * (y - y0) + 1) * ih) / (2 * dh)).clamp(0, ih - 1) as usize;
        let src_row = &src[sy * src_stride..(sy + 1) * src_stride];
        let row = &mut data[y as usize * stride..(y as usize + 1) * stride];
        for (x, sx) in (cx0..cx1).zip(xmap.iter()) {
            let s = &src_row[*sx as usize * 4..*sx as usize * 4 + 4];
            let d = &mut row[x as usize * 4..x as usize * 4 + 4];
            let a = div255(u32::from(s[3]) * opacity);
            if a == 255 {
                d.copy_from_slice(s);
                continue;
            }
            for c in 0..3 {
                d[c] = div255(u32::from(s[c]) * a + u32::from(d[c]) * (255 - a)) as u8;
            }
            d[3] = (a + div255(u32::from(d[3]) * (255 - a))).min(255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::scene::{LayerProps, NormRect};

    fn inset(image: Frame, rect: NormRect, opacity: f32) -> Inset {
        Inset {
            props: LayerProps {
                opacity,
                ..LayerProps::at(2)
            },
            rect,
            image: Some(Arc::new(image)),
        }
    }

    #[test]
    fn the_picture_is_scaled_into_its_rectangle_and_nothing_else_changes() {
        // A 2×2 picture into the right half of an 8×4 canvas: 2×2 blocks.
        let mut picture = Frame::filled(2, 2, [0; 4]).expect("frame");
        for (i, px) in picture.data_mut().chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[10 * (i as u8 + 1), 0, 0, 255]);
        }
        let mut out = Frame::filled(8, 4, [1, 2, 3, 255]).expect("frame");
        let half = NormRect {
            x: 0.5,
            y: 0.0,
            w: 0.5,
            h: 1.0,
        };
        draw(&mut out, &inset(picture, half, 1.0), &mut Vec::new());
        assert_eq!(out.pixel(0, 0), Some([1, 2, 3, 255]), "left half untouched");
        assert_eq!(out.pixel(4, 0), Some([10, 0, 0, 255]));
        assert_eq!(out.pixel(5, 1), Some([10, 0, 0, 255]));
        assert_eq!(out.pixel(6, 0), Some([20, 0, 0, 255]));
        assert_eq!(out.pixel(4, 2), Some([30, 0, 0, 255]));
        assert_eq!(out.pixel(7, 3), Some([40, 0, 0, 255]));
    }

    #[test]
    fn opacity_blends_and_off_canvas_parts_are_clipped() {
        let picture = Frame::filled(4, 4, [200, 200, 200, 255]).expect("frame");
        let mut out = Frame::filled(4, 4, [0, 0, 0, 255]).expect("frame");
        let beyond = NormRect {
            x: 0.5,
            y: 0.5,
            w: 1.0,
            h: 1.0,
        };
        draw(&mut out, &inset(picture, beyond, 0.5), &mut Vec::new());
        assert_eq!(out.pixel(0, 0), Some([0, 0, 0, 255]));
        let [r, _, _, a] = out.pixel(3, 3).expect("inside");
        assert!((99..=101).contains(&r), "half of 200: {r}");
        assert_eq!(a, 255);
    }
}
