//! Spectrum bars as quads: one gradient quad per bar (the gradient spans the
//! whole bars area, so a short bar shows only the bottom colours) and a
//! solid peak marker above it.

use super::{QuadSink, pixel_rect};
use crate::scene::Bars;

/// Appends the quads of the bars layer.
pub(super) fn quads(layer: &Bars, sink: &mut QuadSink<'_>) {
    let n = layer.bars.len() as i64;
    if n == 0 {
        return;
    }
    let s = &layer.style;
    let (ax0, ay0, ax1, ay1) = pixel_rect(&s.area, sink.width(), sink.height());
    let (aw, ah) = (ax1 - ax0, ay1 - ay0);
    if aw <= 0 || ah <= 0 {
        return;
    }
    let g0 = ay0.clamp(0, i64::from(sink.height())) as u32;
    let g1 = ay1.clamp(0, i64::from(sink.height())) as u32;
    let peak_h = i64::from(s.peak_height);
    for (i, bar) in layer.bars.iter().enumerate() {
        let i = i as i64;
        let sx0 = ax0 + i * aw / n;
        let sx1 = ax0 + (i + 1) * aw / n;
        let slot = sx1 - sx0;
        if slot <= 0 {
            continue;
        }
        let gap = (slot as f64 * f64::from(s.gap)).round() as i64;
        let bx1 = (sx1 - gap).max(sx0 + 1);
        let height = |v: f32| (f64::from(v.clamp(0.0, 1.0)) * ah as f64).round() as i64;
        let h = height(bar.magnitude);
        if h > 0 {
            sink.gradient(sx0, ay1 - h, bx1, ay1, s.bottom, s.top, g0, g1);
        }
        if bar.peak > 0.0 && peak_h > 0 {
            let top = (ay1 - height(bar.peak)).max(ay0);
            sink.rect(sx0, top, bx1, (top + peak_h).min(ay1), s.peak);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::overlay::{Quad, layer_quads};
    use crate::scene::{Bar, LayerKind, NormRect, Scene};

    #[test]
    fn bars_stand_on_the_area_floor_with_gaps_and_peaks() {
        let mut s = Scene::new(100, 50);
        s.bars.style.area = NormRect {
            x: 0.0,
            y: 0.5,
            w: 1.0,
            h: 0.5,
        };
        s.bars.style.gap = 0.2;
        s.bars.bars = vec![
            Bar {
                magnitude: 1.0,
                peak: 1.0,
            },
            Bar {
                magnitude: 0.0,
                peak: 0.0,
            },
            Bar {
                magnitude: 0.4,
                peak: 0.6,
            },
            Bar {
                magnitude: 7.0,
                peak: 0.0,
            },
        ];
        let mut q = Vec::new();
        layer_quads(&s, LayerKind::Bars, &mut q);
        let bars: Vec<&Quad> = q.iter().filter(|q| q.g1 == 50).collect();
        assert_eq!(bars.len(), 3, "the empty bar draws nothing");
        assert_eq!(
            (bars[0].x0, bars[0].x1, bars[0].y0, bars[0].y1),
            (0, 20, 25, 50)
        );
        assert_eq!((bars[1].x0, bars[1].x1, bars[1].y0), (50, 70, 40));
        assert_eq!(bars[2].y0, 25, "magnitudes clamp to 1");
        let peaks: Vec<&Quad> = q.iter().filter(|q| q.g1 == 0).collect();
        assert_eq!(peaks.len(), 2);
        assert_eq!((peaks[1].y0, peaks[1].y1), (35, 37));
        s.bars.props.visible = false;
        q.clear();
        layer_quads(&s, LayerKind::Bars, &mut q);
        assert!(q.is_empty());
    }
}
