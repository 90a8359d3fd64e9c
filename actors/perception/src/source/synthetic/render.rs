//! Pixels of the synthetic camera: the textured background (made once), the
//! objects drawn far to near with their exact ground truth, then the sensor:
//! gain (flicker), offset (drift) and Gaussian noise.

use image::RgbImage;
use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;

use super::scene::SceneObject;
use crate::geometry::BBox;
use crate::source::TruthBox;

/// Background luma stays in this range, object luma outside `[60, 195]`:
/// every object contrasts with the background by at least 30 grey levels.
const BACKGROUND_LUMA: (f32, f32) = (90.0, 165.0);
/// Entries in the Gaussian noise table (a power of two, indexed by 12 bits).
const NOISE_TABLE: usize = 4096;

/// Draws frames of one synthetic sequence.
#[derive(Debug)]
pub(crate) struct Renderer {
    width: u32,
    height: u32,
    background: Vec<u8>,
    ids: Vec<u16>,
    noise: Vec<i16>,
}

/// The sensor's response for one frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sensor {
    /// Multiplicative gain (1 = none).
    pub(crate) gain: f32,
    /// Additive offset in grey levels.
    pub(crate) offset: f32,
}

impl Renderer {
    /// A renderer with a fresh random background texture of contrast
    /// `texture` and a noise table of standard deviation `sigma`.
    pub(crate) fn new(
        width: u32,
        height: u32,
        texture: f32,
        sigma: f32,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let noise = (0..NOISE_TABLE)
            .map(|_| {
                // Box-Muller.
                let u1: f32 = rng.random_range(f32::EPSILON..1.0);
                let u2: f32 = rng.random_range(0.0..1.0);
                let z = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
                (z * sigma).round() as i16
            })
            .collect();
        Renderer {
            width,
            height,
            background: background(width, height, texture, rng),
            ids: vec![0; width as usize * height as usize],
            noise,
        }
    }

    /// Draw `objects` (any order) over the background into `out`, apply the
    /// sensor and return the ground truth of every object with at least
    /// `min_inside` of its area inside the frame.
    pub(crate) fn render(
        &mut self,
        objects: &[&SceneObject],
        sensor: Sensor,
        noisy: bool,
        min_inside: f32,
        rng: &mut ChaCha8Rng,
        out: &mut RgbImage,
    ) -> Vec<TruthBox> {
        let buf: &mut [u8] = out;
        buf.copy_from_slice(&self.background);
        self.ids.fill(0);
        let mut order: Vec<usize> = (0..objects.len()).collect();
        order.sort_by(|&a, &b| objects[b].depth.total_cmp(&objects[a].depth));
        let mut extents = vec![Extent::default(); objects.len()];
        for &i in &order {
            extents[i] = self.draw(objects[i], i as u16 + 1, buf);
        }
        let mut truth = Vec::with_capacity(objects.len());
        for (i, (obj, ext)) in objects.iter().zip(&extents).enumerate() {
            if ext.total == 0
                || ext.inside == 0
                || (ext.inside as f32) < min_inside * ext.total as f32
            {
                continue;
            }
            let visible = self.count_id(ext, i as u16 + 1);
            truth.push(TruthBox {
                id: obj.id,
                bbox: BBox::new(
                    ext.x0 as f32,
                    ext.y0 as f32,
                    (ext.x1 - ext.x0 + 1) as f32,
                    (ext.y1 - ext.y0 + 1) as f32,
                ),
                visibility: visible as f32 / ext.total as f32,
            });
        }
        truth.sort_by_key(|t| t.id);
        if noisy || sensor.gain != 1.0 || sensor.offset != 0.0 {
            self.apply_sensor(sensor, noisy, rng, buf);
        }
        truth
    }

    /// Rasterise one object (pixel centres inside the shape) and record the
    /// extent of its pixels inside the frame.
    fn draw(&mut self, obj: &SceneObject, id: u16, buf: &mut [u8]) -> Extent {
        let b = obj.bbox();
        let (x_first, x_end) = ((b.x - 0.5).ceil() as i64, (b.right() - 0.5).ceil() as i64);
        let (y_first, y_end) = ((b.y - 0.5).ceil() as i64, (b.bottom() - 0.5).ceil() as i64);
        let (rx, ry) = (obj.w / 2.0, obj.h / 2.0);
        let mut ext = Extent {
            x0: i64::MAX,
            y0: i64::MAX,
            x1: i64::MIN,
            y1: i64::MIN,
            ..Extent::default()
        };
        for py in y_first..y_end {
            let dy = (py as f32 + 0.5 - obj.cy) / ry;
            for px in x_first..x_end {
                if obj.ellipse {
                    let dx = (px as f32 + 0.5 - obj.cx) / rx;
                    if dx * dx + dy * dy > 1.0 {
                        continue;
                    }
                }
                ext.total += 1;
                if px < 0 || py < 0 || px >= i64::from(self.width) || py >= i64::from(self.height) {
                    continue;
                }
                ext.inside += 1;
                ext.x0 = ext.x0.min(px);
                ext.x1 = ext.x1.max(px);
                ext.y0 = ext.y0.min(py);
                ext.y1 = ext.y1.max(py);
                let at = py as usize * self.width as usize + px as usize;
                self.ids[at] = id;
                let shade = cell_hash(obj.pattern, (px - x_first) / 4, (py - y_first) / 4) & 3;
                buf[at * 3..at * 3 + 3].copy_from_slice(&obj.shades[shade as usize]);
            }
        }
        ext
    }

    fn count_id(&self, ext: &Extent, id: u16) -> u32 {
        let mut n = 0;
        for y in ext.y0..=ext.y1 {
            let row = y as usize * self.width as usize;
            n += self.ids[row + ext.x0 as usize..=row + ext.x1 as usize]
                .iter()
                .filter(|&&v| v == id)
                .count() as u32;
        }
        n
    }

    /// Gain, offset and Gaussian noise on every channel of every pixel.
    fn apply_sensor(&self, sensor: Sensor, noisy: bool, rng: &mut ChaCha8Rng, buf: &mut [u8]) {
        let gain_q = (sensor.gain * 4096.0).round() as i32;
        let offset = sensor.offset.round() as i32;
        for chunk in buf.chunks_mut(5) {
            let mut bits = if noisy { rng.next_u64() } else { 0 };
            for v in chunk {
                let n = if noisy {
                    i32::from(self.noise[(bits & 0xFFF) as usize])
                } else {
                    0
                };
                bits >>= 12;
                *v = (((i32::from(*v) * gain_q) >> 12) + offset + n).clamp(0, 255) as u8;
            }
        }
    }
}

/// A well-mixed hash of a pattern seed and a cell position.
fn cell_hash(seed: u64, cx: i64, cy: i64) -> u64 {
    let mut h = seed
        ^ (cx as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (cy as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h
}

/// Pixel extent of one drawn object.
#[derive(Debug, Clone, Copy, Default)]
struct Extent {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
    /// Pixels of the whole shape, inside the frame or not.
    total: u32,
    /// Pixels inside the frame.
    inside: u32,
}

/// A smooth, blocky, grainy colour texture with luma in [`BACKGROUND_LUMA`].
fn background(width: u32, height: u32, texture: f32, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let (w, h) = (width as f32, height as f32);
    let waves: Vec<[f32; 4]> = (0..5)
        .map(|_| {
            let cycles = rng.random_range(1.0..8.0f32);
            let angle = rng.random_range(0.0..std::f32::consts::PI);
            let k = std::f32::consts::TAU * cycles / w.max(h);
            [
                k * angle.cos(),
                k * angle.sin(),
                rng.random_range(0.0..std::f32::consts::TAU),
                0.12 * texture,
            ]
        })
        .collect();
    let blocks: Vec<(BBox, f32)> = (0..12)
        .map(|_| {
            let bw = rng.random_range(0.05..0.3) * w;
            let bh = rng.random_range(0.05..0.3) * h;
            let bx = rng.random_range(0.0..w);
            let by = rng.random_range(0.0..h);
            (
                BBox::new(bx, by, bw, bh),
                rng.random_range(-0.3..0.3) * texture,
            )
        })
        .collect();
    let grain = 0.15 * texture;
    let mut out = vec![0u8; width as usize * height as usize * 3];
    let mut seed = rng.next_u64() | 1;
    // The colour tint varies along one axis each: computed once per column
    // and once per row (the same expressions, so the same bits).
    let tint_r: Vec<f32> = (0..width)
        .map(|x| 12.0 * (x as f32 / w * 3.0).sin())
        .collect();
    // Each wave's phase grows by `kx` per pixel along a row: its sine is
    // carried along by a rotation (in f64, restarted exactly at every row)
    // instead of five `sin` calls per pixel — a start of the perception
    // actor at 640×480 spent most of its ~20 ms here.
    let steps: Vec<(f64, f64)> = waves
        .iter()
        .map(|[kx, ..]| (f64::from(*kx).sin(), f64::from(*kx).cos()))
        .collect();
    let mut rot: Vec<(f64, f64)> = vec![(0.0, 1.0); waves.len()];
    // The blocks' offsets along the current row (each block covers a run
    // of columns on the rows it spans).
    let mut row_blocks = vec![0.0f32; width as usize];
    for y in 0..height {
        let fy = y as f32;
        row_blocks.fill(0.0);
        for (b, off) in blocks.iter().filter(|(b, _)| fy >= b.y && fy < b.bottom()) {
            for (x, sum) in row_blocks.iter_mut().enumerate() {
                let fx = x as f32;
                if fx >= b.x && fx < b.right() {
                    *sum += off;
                }
            }
        }
        let db = 12.0 * (y as f32 / h * 2.0 + 1.0).cos();
        for ([_, ky, phase, _], r) in waves.iter().zip(rot.iter_mut()) {
            let start = f64::from(*ky) * f64::from(y) + f64::from(*phase);
            *r = (start.sin(), start.cos());
        }
        for x in 0..width {
            let mut luma = 127.0;
            for (([.., amp], r), (sd, cd)) in waves.iter().zip(rot.iter_mut()).zip(&steps) {
                luma += amp * r.0 as f32;
                *r = (r.0 * cd + r.1 * sd, r.1 * cd - r.0 * sd);
            }
            luma += row_blocks[x as usize];
            // xorshift grain: fixed per pixel, so it is part of the scene.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            luma += ((seed & 0xFF) as f32 / 255.0 - 0.5) * 2.0 * grain;
            let luma = luma.clamp(BACKGROUND_LUMA.0, BACKGROUND_LUMA.1);
            let dr = tint_r[x as usize];
            let dg = -(0.299 * dr + 0.114 * db) / 0.587;
            let at = (y as usize * width as usize + x as usize) * 3;
            for (c, d) in [dr, dg, db].into_iter().enumerate() {
                out[at + c] = (luma + d).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}
