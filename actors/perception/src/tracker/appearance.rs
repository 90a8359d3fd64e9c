//! A track's appearance: a small grey template cut from the downscaled frame
//! while the track's object is seen alone, and the search that finds it
//! again near the prediction when detection cannot separate it (merged blobs
//! of crossing objects, objects briefly lost by the detector). The match
//! score is the fraction of template pixels that agree within the noise, so
//! a partly hidden object is still placed by its visible part.

use crate::detect::FrameEvidence;
use crate::geometry::BBox;

/// At most this many template samples per side (larger boxes are sampled).
const MAX_SIDE: usize = 24;

/// A grey template of one object, at the detector's resolution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    /// Sample positions relative to the box's top-left corner (low-res px)
    /// and the grey value there.
    samples: Vec<(u16, u16, f32)>,
    /// Full-resolution size of the box it was cut from.
    size: (f32, f32),
}

impl Template {
    /// Cut the template of `bbox` from the evidence; `None` when the box is
    /// not inside the frame or too small.
    pub(crate) fn capture(ev: &FrameEvidence, bbox: &BBox) -> Option<Template> {
        let f = ev.factor();
        let (lw, lh) = ev.low_res_size();
        if f <= 0.0 || lw == 0 {
            return None;
        }
        let (x0, y0) = ((bbox.x / f).round(), (bbox.y / f).round());
        let (w, h) = ((bbox.w / f).round() as usize, (bbox.h / f).round() as usize);
        if x0 < 0.0 || y0 < 0.0 || w < 3 || h < 3 || x0 as usize + w > lw || y0 as usize + h > lh {
            return None;
        }
        let (x0, y0) = (x0 as usize, y0 as usize);
        let step = w.max(h).div_ceil(MAX_SIDE).max(1);
        let grey = ev.grey();
        let mut samples = Vec::with_capacity((w / step + 1) * (h / step + 1));
        for dy in (0..h).step_by(step) {
            for dx in (0..w).step_by(step) {
                samples.push((dx as u16, dy as u16, grey[(y0 + dy) * lw + x0 + dx]));
            }
        }
        Some(Template {
            samples,
            size: (bbox.w, bbox.h),
        })
    }

    /// Area of the box the template was cut from, full-resolution px².
    pub(crate) fn area(&self) -> f32 {
        self.size.0 * self.size.1
    }

    /// Search within `radius` low-res pixels of `predicted`'s corner for the
    /// placement where most samples agree with the frame within
    /// `tolerance`; returns the placed box (the template's size) and the
    /// fraction that agrees there.
    pub(crate) fn locate(
        &self,
        ev: &FrameEvidence,
        predicted: &BBox,
        radius: i64,
        tolerance: f32,
    ) -> Option<(BBox, f32)> {
        let f = ev.factor();
        let (lw, lh) = ev.low_res_size();
        if self.samples.is_empty() || f <= 0.0 {
            return None;
        }
        let grey = ev.grey();
        // Place the template centred on the prediction.
        let cx = (predicted.cx() / f).round() as i64;
        let cy = (predicted.cy() / f).round() as i64;
        let (tw, th) = (
            (self.size.0 / f).round() as i64,
            (self.size.1 / f).round() as i64,
        );
        let (bx, by) = (cx - tw / 2, cy - th / 2);
        let mut best: Option<(i64, i64, usize)> = None;
        for dy in -radius..=radius {
            for dx in -radius..=radius {
                let (ox, oy) = (bx + dx, by + dy);
                let mut agree = 0usize;
                for &(sx, sy, v) in &self.samples {
                    let (x, y) = (ox + i64::from(sx), oy + i64::from(sy));
                    if x >= 0
                        && y >= 0
                        && (x as usize) < lw
                        && (y as usize) < lh
                        && (grey[y as usize * lw + x as usize] - v).abs() <= tolerance
                    {
                        agree += 1;
                    }
                }
                let better = match best {
                    None => true,
                    Some((bdx, bdy, b)) => {
                        agree > b || (agree == b && dx * dx + dy * dy < bdx * bdx + bdy * bdy)
                    }
                };
                if better {
                    best = Some((dx, dy, agree));
                }
            }
        }
        let (dx, dy, agree) = best?;
        let placed = BBox::new(
            (bx + dx) as f32 * f,
            (by + dy) as f32 * f,
            self.size.0,
            self.size.1,
        );
        Some((placed, agree as f32 / self.samples.len() as f32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Detector, DetectorConfig};
    use image::{Rgb, RgbImage};

    /// A textured 20×16 object at `(x, y)` on a flat background.
    fn frame(x: u32, y: u32) -> RgbImage {
        RgbImage::from_fn(160, 120, |px, py| {
            if px >= x && px < x + 20 && py >= y && py < y + 16 {
                let v = 200 + (((px - x) / 4 * 7 + (py - y) / 4 * 13) % 5) as u8 * 10;
                Rgb([v, v, v])
            } else {
                Rgb([100, 100, 100])
            }
        })
    }

    fn detector() -> Detector {
        Detector::new(DetectorConfig {
            bootstrap_frames: 1,
            ..DetectorConfig::default()
        })
        .expect("valid")
    }

    fn show(det: &mut Detector, image: &RgbImage) {
        det.push(image).expect("same size");
        det.next_detections().expect("ready");
    }

    #[test]
    fn finds_the_object_where_it_moved() {
        let mut det = detector();
        show(&mut det, &frame(40, 40));
        show(&mut det, &frame(40, 40));
        let t =
            Template::capture(det.evidence(), &BBox::new(40.0, 40.0, 20.0, 16.0)).expect("inside");
        show(&mut det, &frame(46, 44));
        let (placed, score) = t
            .locate(det.evidence(), &BBox::new(42.0, 40.0, 20.0, 16.0), 5, 4.0)
            .expect("found");
        assert!(score > 0.95, "{score}");
        assert!(
            (placed.x - 46.0).abs() <= 1.0 && (placed.y - 44.0).abs() <= 1.0,
            "{placed:?}"
        );
    }

    #[test]
    fn boxes_outside_the_frame_have_no_template() {
        let mut det = detector();
        show(&mut det, &frame(40, 40));
        assert!(Template::capture(det.evidence(), &BBox::new(150.0, 40.0, 20.0, 16.0)).is_none());
        assert!(Template::capture(det.evidence(), &BBox::new(10.0, 10.0, 2.0, 2.0)).is_none());
    }
}
