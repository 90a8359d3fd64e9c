//! The seeded synthetic camera: a textured background, moving objects that
//! enter, cross, occlude each other and leave, a sensor with noise, flicker
//! and brightness drift — and the exact ground truth of every frame.
//!
//! The same seed and configuration always give the same frames and truth.

mod render;
mod scene;

use image::RgbImage;
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Frame, FrameSource};
use crate::error::PerceptionError;
use render::{Renderer, Sensor};
use scene::Scene;

/// How objects move through the scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Each object keeps to its own horizontal lane: no object ever
    /// overlaps another.
    Lanes,
    /// Objects enter through any edge towards a random point of the frame,
    /// on gently curving paths: some cross, some do not.
    Free,
    /// Objects enter through any edge on straight paths aimed at the middle
    /// of the frame, so that they cross and occlude each other there.
    Crossing,
}

/// Everything that defines a synthetic sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticConfig {
    /// Seed of every random choice (scene, texture, noise).
    pub seed: u64,
    /// Frame width, px.
    pub width: u32,
    /// Frame height, px.
    pub height: u32,
    /// Frames per second.
    pub fps: f32,
    /// Number of frames in the sequence.
    pub frames: usize,
    /// Objects in the scene at once (one leaves, another arrives).
    pub objects: usize,
    /// How the objects move.
    pub layout: Layout,
    /// Smallest object (its larger side), as a fraction of the frame height.
    pub size_min: f32,
    /// Largest object (its larger side), as a fraction of the frame height.
    pub size_max: f32,
    /// Smallest width / height ratio.
    pub aspect_min: f32,
    /// Largest width / height ratio.
    pub aspect_max: f32,
    /// Slowest speed, in frame widths per second.
    pub speed_min: f32,
    /// Fastest speed, in frame widths per second.
    pub speed_max: f32,
    /// Largest turn rate of [`Layout::Free`] paths, radians per second.
    pub turn_max: f32,
    /// Standard deviation of the per-channel Gaussian sensor noise, grey levels.
    pub noise_sigma: f32,
    /// Flicker: each frame's gain is `1 ± flicker` (uniform).
    pub flicker: f32,
    /// Brightness drift: a slow offset of this amplitude, grey levels.
    pub drift: f32,
    /// Period of the drift, seconds.
    pub drift_period_s: f32,
    /// Contrast of the background texture, grey levels.
    pub texture: f32,
    /// Objects are already inside the first frame (true), or the scene
    /// starts empty and they enter within `arrival_s` (false). Objects in
    /// the first frame become part of the first background: a motion
    /// detector sees their ghosts until they move off.
    pub start_inside: bool,
    /// Without `start_inside`, the first arrivals are spread uniformly over
    /// this many seconds.
    pub arrival_s: f32,
    /// An object is in the ground truth when at least this fraction of its
    /// area is inside the frame (truncated objects entering or leaving).
    pub min_inside: f32,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            seed: 1,
            width: 640,
            height: 480,
            fps: 10.0,
            frames: 300,
            objects: 8,
            layout: Layout::Free,
            size_min: 0.06,
            size_max: 0.14,
            aspect_min: 0.5,
            aspect_max: 2.0,
            speed_min: 0.04,
            speed_max: 0.10,
            turn_max: 0.15,
            noise_sigma: 3.0,
            flicker: 0.0,
            drift: 0.0,
            drift_period_s: 20.0,
            texture: 35.0,
            start_inside: false,
            arrival_s: 2.0,
            min_inside: 0.25,
        }
    }
}

impl SyntheticConfig {
    /// Check every parameter; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), PerceptionError> {
        let err = PerceptionError::config;
        if !(16..=8192).contains(&self.width) {
            return Err(err(
                "synthetic.width",
                format!("{} is outside 16..=8192", self.width),
            ));
        }
        if !(16..=8192).contains(&self.height) {
            return Err(err(
                "synthetic.height",
                format!("{} is outside 16..=8192", self.height),
            ));
        }
        if !(self.fps.is_finite() && self.fps > 0.0 && self.fps <= 1000.0) {
            return Err(err(
                "synthetic.fps",
                format!("{} is not in (0, 1000]", self.fps),
            ));
        }
        if self.objects > 1000 {
            return Err(err(
                "synthetic.objects",
                format!("{} is more than 1000", self.objects),
            ));
        }
        let range = |what, lo: f32, hi: f32, max: f32| {
            if lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi && hi <= max {
                Ok(())
            } else {
                Err(err(
                    what,
                    format!("{lo}..{hi} is not an increasing range in (0, {max}]"),
                ))
            }
        };
        range("synthetic.size", self.size_min, self.size_max, 1.0)?;
        range("synthetic.aspect", self.aspect_min, self.aspect_max, 10.0)?;
        range("synthetic.speed", self.speed_min, self.speed_max, 10.0)?;
        let nonneg = |what, v: f32, max: f32| {
            if v.is_finite() && (0.0..=max).contains(&v) {
                Ok(())
            } else {
                Err(err(what, format!("{v} is outside 0..={max}")))
            }
        };
        nonneg("synthetic.turn_max", self.turn_max, 10.0)?;
        nonneg("synthetic.noise_sigma", self.noise_sigma, 100.0)?;
        nonneg("synthetic.flicker", self.flicker, 0.5)?;
        nonneg("synthetic.drift", self.drift, 100.0)?;
        nonneg("synthetic.texture", self.texture, 100.0)?;
        nonneg("synthetic.min_inside", self.min_inside, 1.0)?;
        nonneg("synthetic.arrival_s", self.arrival_s, 3600.0)?;
        if !(self.drift_period_s.is_finite() && self.drift_period_s > 0.0) {
            return Err(err(
                "synthetic.drift_period_s",
                format!("{} is not positive", self.drift_period_s),
            ));
        }
        Ok(())
    }
}

/// The synthetic camera: a [`FrameSource`] whose frames carry ground truth.
#[derive(Debug)]
pub struct SyntheticCamera {
    cfg: SyntheticConfig,
    scene: Scene,
    renderer: Renderer,
    scene_rng: ChaCha8Rng,
    sensor_rng: ChaCha8Rng,
    index: u64,
}

impl SyntheticCamera {
    /// A camera for `cfg`, validated first.
    pub fn new(cfg: SyntheticConfig) -> Result<Self, PerceptionError> {
        cfg.validate()?;
        let mut scene_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut sensor_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5EED_CAFE_F00D_D00D);
        let renderer = Renderer::new(
            cfg.width,
            cfg.height,
            cfg.texture,
            cfg.noise_sigma,
            &mut sensor_rng,
        );
        let scene = Scene::new(&cfg, &mut scene_rng);
        Ok(SyntheticCamera {
            cfg,
            scene,
            renderer,
            scene_rng,
            sensor_rng,
            index: 0,
        })
    }

    /// The configuration this camera was built from.
    pub fn config(&self) -> &SyntheticConfig {
        &self.cfg
    }

    fn sensor(&mut self) -> Sensor {
        let t = self.index as f32 / self.cfg.fps;
        let gain = if self.cfg.flicker > 0.0 {
            1.0 + self
                .sensor_rng
                .random_range(-self.cfg.flicker..=self.cfg.flicker)
        } else {
            1.0
        };
        let offset = self.cfg.drift * (std::f32::consts::TAU * t / self.cfg.drift_period_s).sin();
        Sensor { gain, offset }
    }
}

impl FrameSource for SyntheticCamera {
    fn size(&self) -> (u32, u32) {
        (self.cfg.width, self.cfg.height)
    }

    fn fps(&self) -> f32 {
        self.cfg.fps
    }

    fn frame_count(&self) -> Option<usize> {
        Some(self.cfg.frames)
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, PerceptionError> {
        if self.index >= self.cfg.frames as u64 {
            return Ok(None);
        }
        let sensor = self.sensor();
        let mut image = RgbImage::new(self.cfg.width, self.cfg.height);
        let objects: Vec<_> = self.scene.objects().collect();
        let truth = self.renderer.render(
            &objects,
            sensor,
            self.cfg.noise_sigma > 0.0,
            self.cfg.min_inside,
            &mut self.sensor_rng,
            &mut image,
        );
        let frame = Frame {
            index: self.index,
            timestamp_ms: (self.index as f64 * 1000.0 / f64::from(self.cfg.fps)).round() as u64,
            image,
            truth: Some(truth),
        };
        self.scene.step(&self.cfg, &mut self.scene_rng);
        self.index += 1;
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SyntheticConfig {
        SyntheticConfig {
            width: 160,
            height: 120,
            frames: 20,
            objects: 3,
            ..SyntheticConfig::default()
        }
    }

    #[test]
    fn same_seed_gives_same_frames_and_truth() {
        let mut a = SyntheticCamera::new(small()).expect("valid");
        let mut b = SyntheticCamera::new(small()).expect("valid");
        while let (Some(fa), Some(fb)) = (
            a.next_frame().expect("frame"),
            b.next_frame().expect("frame"),
        ) {
            assert_eq!(fa.image.as_raw(), fb.image.as_raw());
            assert_eq!(fa.truth, fb.truth);
        }
    }

    #[test]
    fn yields_exactly_the_configured_number_of_frames() {
        let mut cam = SyntheticCamera::new(small()).expect("valid");
        let mut n = 0;
        while cam.next_frame().expect("frame").is_some() {
            n += 1;
        }
        assert_eq!(n, 20);
    }

    #[test]
    fn truth_boxes_cover_pixels_that_differ_from_the_background() {
        let cfg = SyntheticConfig {
            noise_sigma: 0.0,
            min_inside: 0.0,
            start_inside: true,
            ..small()
        };
        let mut cam = SyntheticCamera::new(cfg.clone()).expect("valid");
        let empty = {
            let mut c = SyntheticCamera::new(SyntheticConfig { objects: 0, ..cfg }).expect("valid");
            c.next_frame().expect("frame").expect("one frame").image
        };
        let frame = cam.next_frame().expect("frame").expect("one frame");
        let truth = frame.truth.expect("synthetic frames carry truth");
        assert!(!truth.is_empty());
        // Every changed pixel lies inside some truth box.
        for (x, y, p) in frame.image.enumerate_pixels() {
            if p != empty.get_pixel(x, y) {
                let inside = truth.iter().any(|t| {
                    (x as f32) >= t.bbox.x
                        && (x as f32) < t.bbox.right()
                        && (y as f32) >= t.bbox.y
                        && (y as f32) < t.bbox.bottom()
                });
                assert!(inside, "pixel {x},{y} changed outside every truth box");
            }
        }
    }

    #[test]
    fn invalid_configuration_names_the_parameter() {
        let err = SyntheticCamera::new(SyntheticConfig {
            size_min: 0.5,
            size_max: 0.1,
            ..small()
        })
        .expect_err("decreasing range");
        assert!(err.to_string().contains("synthetic.size"), "{err}");
        let err = SyntheticCamera::new(SyntheticConfig {
            width: 0,
            ..small()
        })
        .expect_err("zero width");
        assert!(err.to_string().contains("synthetic.width"), "{err}");
    }
}
