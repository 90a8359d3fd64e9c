//! Detection boxes as quads: a four-quad outline (no pixel covered twice),
//! and a label tag above the box with the track id in the 3×5 font.

use super::font::{GLYPH_H, GLYPH_W, runs};
use super::{QuadSink, pixel_rect};
use crate::frame::Rgba;
use crate::scene::Boxes;

/// Colours by track id, chosen to stay apart from each other.
const PALETTE: [[u8; 3]; 10] = [
    [230, 25, 75],
    [60, 180, 75],
    [255, 225, 25],
    [0, 130, 200],
    [245, 130, 48],
    [145, 30, 180],
    [70, 240, 240],
    [240, 50, 230],
    [210, 245, 60],
    [250, 190, 190],
];

/// The outline colour of a track.
pub(crate) fn track_colour(track_id: u32, alpha: u8) -> Rgba {
    let [r, g, b] = PALETTE[(track_id % PALETTE.len() as u32) as usize];
    [r, g, b, alpha]
}

/// Appends the quads of the boxes layer.
pub(super) fn quads(layer: &Boxes, sink: &mut QuadSink<'_>) {
    let style = &layer.style;
    let t = i64::from(style.thickness.max(1));
    // Font pixel size grows with the canvas: 1 up to 539 rows, 4 at 1080p.
    let scale = i64::from((sink.height() / 270).max(1));
    for b in &layer.boxes {
        let (x0, y0, x1, y1) = pixel_rect(&b.rect, sink.width(), sink.height());
        if x1 <= x0 || y1 <= y0 {
            continue;
        }
        let colour = track_colour(b.track_id, style.alpha);
        if x1 - x0 <= 2 * t || y1 - y0 <= 2 * t {
            sink.rect(x0, y0, x1, y1, colour);
        } else {
            sink.rect(x0, y0, x1, y0 + t, colour);
            sink.rect(x0, y1 - t, x1, y1, colour);
            sink.rect(x0, y0 + t, x0 + t, y1 - t, colour);
            sink.rect(x1 - t, y0 + t, x1, y1 - t, colour);
        }
        if style.labels {
            label(sink, b.track_id, x0, y0, scale, colour);
        }
    }
}

/// A tag with the track id: above the box, or just inside it at the top edge.
fn label(sink: &mut QuadSink<'_>, id: u32, x0: i64, y0: i64, s: i64, colour: Rgba) {
    // Decimal digits, most significant first, without allocating.
    let mut buf = [0u8; 10];
    let mut len = 0;
    let mut v = id;
    loop {
        buf[len] = (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf[..len].reverse();
    let digits = &buf[..len];
    let n = len as i64;
    let (gw, gh) = (i64::from(GLYPH_W), i64::from(GLYPH_H));
    let tag_w = n * gw * s + (n - 1) * s + 2 * s;
    let tag_h = gh * s + 2 * s;
    let ty = if y0 >= tag_h { y0 - tag_h } else { y0 };
    sink.rect(x0, ty, x0 + tag_w, ty + tag_h, colour);
    let ink = [255, 255, 255, 255];
    for (i, d) in digits.iter().enumerate() {
        let gx = x0 + s + i as i64 * (gw + 1) * s;
        runs(*d, |c, r, len| {
            let (c, r, len) = (i64::from(c), i64::from(r), i64::from(len));
            let (px, py) = (gx + c * s, ty + s + r * s);
            sink.rect(px, py, px + len * s, py + s, ink);
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::overlay::layer_quads;
    use crate::scene::{DetectionBox, LayerKind, NormRect, Scene};

    fn covered(q: &[crate::overlay::Quad], w: u32, h: u32) -> Vec<u32> {
        let mut c = vec![0; (w * h) as usize];
        for q in q {
            for y in q.y0..q.y1 {
                for x in q.x0..q.x1 {
                    c[(y * w + x) as usize] += 1;
                }
            }
        }
        c
    }

    #[test]
    fn outline_covers_each_border_pixel_once() {
        let mut s = Scene::new(40, 30);
        s.boxes.style.labels = false;
        s.boxes.boxes.push(DetectionBox {
            rect: NormRect {
                x: 0.25,
                y: 0.2,
                w: 0.5,
                h: 0.6,
            },
            track_id: 3,
        });
        let mut q = Vec::new();
        layer_quads(&s, LayerKind::Boxes, &mut q);
        let c = covered(&q, 40, 30);
        // Box is x 10..30, y 6..24, thickness 2.
        assert!(c.iter().all(|&n| n <= 1));
        assert_eq!(c[6 * 40 + 10], 1);
        assert_eq!(c[23 * 40 + 29], 1);
        assert_eq!(c[15 * 40 + 11], 1);
        assert_eq!(c[15 * 40 + 12], 0, "inside is open");
        assert_eq!(c.iter().sum::<u32>(), 20 * 18 - 16 * 14);
    }

    #[test]
    fn labels_sit_above_the_box_and_draw_the_digits() {
        let mut s = Scene::new(80, 60);
        s.boxes.boxes.push(DetectionBox {
            rect: NormRect {
                x: 0.1,
                y: 0.5,
                w: 0.5,
                h: 0.3,
            },
            track_id: 17,
        });
        let mut q = Vec::new();
        layer_quads(&s, LayerKind::Boxes, &mut q);
        // 4 outline quads, 1 tag, and ink: "1" and "7" have 5 runs each.
        assert_eq!(q.len(), 4 + 1 + 5 + 5);
        let tag = q[4];
        assert_eq!((tag.x0, tag.y0, tag.x1, tag.y1), (8, 23, 8 + 9, 30));
        assert!(q[5..].iter().all(|g| g.bottom == [255, 255, 255, 255]));
    }
}
