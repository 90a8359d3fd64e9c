//! The background model of the motion detector, at reduced resolution:
//! greyscale + box downscale of each frame, a running-average background
//! updated only where no foreground was found, global gain compensation
//! (flicker, exposure changes) and a robust estimate of the noise level.

use image::RgbImage;

/// Per-pixel state of the downscaled scene.
#[derive(Debug)]
pub(crate) struct BackgroundModel {
    /// Low-resolution width.
    pub(crate) width: usize,
    /// Low-resolution height.
    pub(crate) height: usize,
    /// Downscale factor (full-resolution pixels per low-resolution pixel, per axis).
    pub(crate) factor: usize,
    /// The background estimate.
    bg: Vec<f32>,
    /// The current frame, downscaled.
    pub(crate) cur: Vec<f32>,
    /// The previous frame, downscaled.
    prev: Vec<f32>,
    /// Gain of the previous frame relative to the background.
    prev_gain: f32,
    /// Scratch for medians.
    sample: Vec<f32>,
    initialized: bool,
    /// Frames made current so far.
    frames: u64,
    /// Whether `prev` holds the frame before `cur`.
    has_prev: bool,
}

impl BackgroundModel {
    /// A model for frames of `width × height`, downscaled by `factor`.
    pub(crate) fn new(width: u32, height: u32, factor: u32) -> Self {
        let factor = factor.max(1) as usize;
        let (w, h) = (
            (width as usize / factor).max(1),
            (height as usize / factor).max(1),
        );
        BackgroundModel {
            width: w,
            height: h,
            factor,
            bg: vec![0.0; w * h],
            cur: vec![0.0; w * h],
            prev: vec![0.0; w * h],
            prev_gain: 1.0,
            sample: Vec::with_capacity(w * h / 4 + 1),
            initialized: false,
            frames: 0,
            has_prev: false,
        }
    }

    /// Whether a background exists (false until [`BackgroundModel::bootstrap`]).
    pub(crate) fn is_initialized(&self) -> bool {
        self.initialized
    }

    /// `image` at the model's resolution: BT.601 luma, averaged over
    /// `factor × factor` blocks (the remainder rows and columns are dropped).
    pub(crate) fn downscale(&self, image: &RgbImage) -> Vec<f32> {
        let f = self.factor;
        let stride = image.width() as usize * 3;
        let raw = image.as_raw();
        let norm = 1.0 / (f * f * 256) as f32;
        let mut out = vec![0.0; self.width * self.height];
        let mut acc = vec![0u32; self.width];
        for (y, row_out) in out.chunks_exact_mut(self.width).enumerate() {
            acc.fill(0);
            for row in raw[y * f * stride..(y + 1) * f * stride].chunks_exact(stride) {
                for (a, block) in acc.iter_mut().zip(row.chunks_exact(3 * f)) {
                    for px in block.chunks_exact(3) {
                        *a +=
                            77 * u32::from(px[0]) + 150 * u32::from(px[1]) + 29 * u32::from(px[2]);
                    }
                }
            }
            for (o, a) in row_out.iter_mut().zip(&acc) {
                *o = *a as f32 * norm;
            }
        }
        out
    }

    /// Start the background from `frames` (downscaled, non-empty): per
    /// pixel, the mean of its longest stable stretch — the longest run of
    /// consecutive frames whose value stays within the noise (3 σ, at least
    /// 6 grey levels) of the run's mean. Background is what stays put; an
    /// object passing over a pixel changes it (its edges and its texture
    /// move), so it leaves no trace even when it covers the pixel for most
    /// of the frames, where a per-pixel median would keep it.
    pub(crate) fn bootstrap(&mut self, frames: &[Vec<f32>]) {
        // Bring every frame to the illumination of the last one (flicker).
        let last = frames.len().saturating_sub(1);
        let gains: Vec<f32> = frames
            .iter()
            .map(|f| self.relative_gain(f, &frames[last]))
            .collect();
        let tolerance = (3.0 * self.frame_noise(frames, &gains)).max(6.0);
        for (i, b) in self.bg.iter_mut().enumerate() {
            let (mut best_len, mut best_mean) = (0usize, 0.0f32);
            let (mut len, mut sum) = (0usize, 0.0f32);
            for (f, g) in frames.iter().zip(&gains) {
                let Some(v) = f.get(i).map(|v| v / g) else {
                    continue;
                };
                if len > 0 && (v - sum / len as f32).abs() > tolerance {
                    len = 0;
                    sum = 0.0;
                }
                len += 1;
                sum += v;
                // Later runs win ties: the scene as it is now.
                if len >= best_len {
                    best_len = len;
                    best_mean = sum / len as f32;
                }
            }
            *b = best_mean;
        }
        self.prev_gain = 1.0;
        self.initialized = true;
        self.has_prev = false;
    }

    /// Gain of `frame` relative to `reference`: the median ratio over a
    /// sparse grid.
    fn relative_gain(&mut self, frame: &[f32], reference: &[f32]) -> f32 {
        self.sample.clear();
        self.sample.extend(
            frame
                .iter()
                .zip(reference)
                .step_by(5)
                .filter(|(_, r)| **r > 8.0)
                .map(|(f, r)| f / r),
        );
        median(&mut self.sample).unwrap_or(1.0).clamp(0.25, 4.0)
    }

    /// Noise of a frame sequence (each frame divided by its gain): the
    /// median absolute difference between consecutive frames over a sparse
    /// grid, as a standard deviation.
    fn frame_noise(&mut self, frames: &[Vec<f32>], gains: &[f32]) -> f32 {
        self.sample.clear();
        for (pair, g) in frames.windows(2).zip(gains.windows(2)) {
            let diffs = pair[0]
                .iter()
                .zip(&pair[1])
                .step_by(7)
                .map(|(a, b)| (a / g[0] - b / g[1]).abs());
            self.sample.extend(diffs);
        }
        median(&mut self.sample).map_or(0.0, |m| m * 1.4826 / std::f32::consts::SQRT_2)
    }

    /// Make `frame` (from [`BackgroundModel::downscale`]) the current frame.
    pub(crate) fn set_current(&mut self, frame: Vec<f32>) {
        self.prev = std::mem::replace(&mut self.cur, frame);
        self.has_prev = self.frames > 0;
        self.frames += 1;
    }

    /// Whether a previous frame exists to measure motion against.
    pub(crate) fn has_prev(&self) -> bool {
        self.has_prev
    }

    /// Global gain of the current frame relative to the background: the
    /// median of `cur / bg` over a sparse grid (robust to foreground).
    pub(crate) fn gain(&mut self) -> f32 {
        self.sample.clear();
        for (c, b) in self.cur.iter().zip(&self.bg).step_by(5) {
            if *b > 8.0 {
                self.sample.push(c / b);
            }
        }
        median(&mut self.sample).unwrap_or(1.0).clamp(0.25, 4.0)
    }

    /// Noise level of `cur - gain·bg`: 1.4826 × the median absolute
    /// deviation, over a sparse grid.
    pub(crate) fn noise_sigma(&mut self, gain: f32) -> f32 {
        self.sample.clear();
        for (c, b) in self.cur.iter().zip(&self.bg).step_by(5) {
            self.sample.push(c - gain * b);
        }
        let Some(mid) = median(&mut self.sample) else {
            return 0.0;
        };
        for v in self.sample.iter_mut() {
            *v = (*v - mid).abs();
        }
        median(&mut self.sample).unwrap_or(0.0) * 1.4826
    }

    /// Mark pixels whose difference from the gain-compensated background
    /// exceeds `threshold` with 255 in `mask`, others 0; returns the count.
    pub(crate) fn foreground(&self, gain: f32, threshold: f32, mask: &mut [u8]) -> usize {
        let mut n = 0;
        for ((m, c), b) in mask.iter_mut().zip(&self.cur).zip(&self.bg) {
            let fg = (c - gain * b).abs() > threshold;
            *m = if fg { 255 } else { 0 };
            n += usize::from(fg);
        }
        n
    }

    /// Mark with 1 in `out` the pixels that changed since the previous frame
    /// by more than `threshold` (after compensating the change of gain).
    pub(crate) fn motion(&self, gain: f32, threshold: f32, out: &mut Vec<u8>) {
        let k = gain / self.prev_gain;
        out.clear();
        out.extend(
            self.cur
                .iter()
                .zip(&self.prev)
                .map(|(c, p)| u8::from((c - p * k).abs() > threshold)),
        );
    }

    /// Blend the current frame into the background where `mask` is 0 (rate
    /// `alpha`) and where it is set (rate `alpha_fg`), in the background's
    /// illumination (divided by `gain`).
    pub(crate) fn update(&mut self, gain: f32, mask: &[u8], alpha: f32, alpha_fg: f32) {
        let inv = 1.0 / gain;
        for ((b, c), m) in self.bg.iter_mut().zip(&self.cur).zip(mask) {
            let a = if *m == 0 { alpha } else { alpha_fg };
            *b += a * (c * inv - *b);
        }
        self.prev_gain = gain;
    }

    /// Copy the current frame into the background at pixel `i` (used to
    /// absorb ghosts: foreground that does not move).
    pub(crate) fn absorb(&mut self, i: usize, gain: f32) {
        self.bg[i] = self.cur[i] / gain;
    }

    /// Start again from the current frame (after a scene change).
    pub(crate) fn reset_to_current(&mut self, gain: f32) {
        let inv = 1.0 / gain;
        for (b, c) in self.bg.iter_mut().zip(&self.cur) {
            *b = c * inv;
        }
    }
}

/// Median by selection; `None` for an empty slice. Reorders `values`.
fn median(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    Some(*m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downscale_averages_blocks_of_luma() {
        let mut img = RgbImage::new(4, 2);
        img.put_pixel(0, 0, image::Rgb([255, 255, 255]));
        let m = BackgroundModel::new(4, 2, 2);
        let low = m.downscale(&img);
        assert_eq!((m.width, m.height), (2, 1));
        assert!((low[0] - 255.0 / 4.0).abs() < 0.5, "{}", low[0]);
        assert_eq!(low[1], 0.0);
    }

    #[test]
    fn gain_is_recovered_from_a_brightened_frame() {
        let mut m = BackgroundModel::new(64, 64, 1);
        let base = RgbImage::from_fn(64, 64, |x, y| image::Rgb([(80 + (x + y) % 60) as u8; 3]));
        let low = m.downscale(&base);
        m.bootstrap(&[low]);
        let bright = RgbImage::from_fn(64, 64, |x, y| {
            image::Rgb([((80 + (x + y) % 60) as f32 * 1.2) as u8; 3])
        });
        m.set_current(m.downscale(&bright));
        assert!((m.gain() - 1.2).abs() < 0.02);
    }

    #[test]
    fn the_bootstrapped_background_has_no_trace_of_a_moving_object() {
        // A bright 4-px bar crossing a dark row over five frames.
        let frames: Vec<Vec<f32>> = (0..5)
            .map(|t| {
                (0..20)
                    .map(|x| if x / 4 == t { 200.0 } else { 50.0 })
                    .collect()
            })
            .collect();
        let mut m = BackgroundModel::new(20, 1, 1);
        m.bootstrap(&frames);
        assert!(m.bg.iter().all(|&v| v == 50.0), "{:?}", m.bg);
    }

    #[test]
    fn a_textured_object_covering_a_pixel_most_of_the_time_leaves_no_trace() {
        // Pixel 0 is covered in 7 of 10 frames by a moving textured object
        // (its value changes every frame); the background shows in 3.
        // The 49 other pixels are still background (they set the noise).
        let frames: Vec<Vec<f32>> = [
            200.0, 230.0, 100.0, 100.0, 100.0, 190.0, 240.0, 210.0, 180.0, 225.0,
        ]
        .iter()
        .map(|&v| {
            std::iter::once(v)
                .chain(std::iter::repeat_n(100.0, 49))
                .collect()
        })
        .collect();
        let mut m = BackgroundModel::new(50, 1, 1);
        m.bootstrap(&frames);
        assert_eq!(m.bg[0], 100.0);
    }

    #[test]
    fn median_of_odd_and_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut []), None);
    }
}
