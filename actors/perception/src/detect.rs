//! Motion detection without weights: greyscale and downscale, a running-average
//! background with gain compensation, absolute difference against an
//! adaptive threshold, morphology, connected components, ghost suppression
//! and an area filter → boxes with a score.

mod background;
mod blobs;
mod evidence;
mod integral;

use std::collections::VecDeque;

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::PerceptionError;
use crate::geometry::{BBox, Border};
use background::BackgroundModel;
pub use evidence::FrameEvidence;
use integral::Integral;

/// Parameters of the [`Detector`]; `docs/PERCEPTION.md` explains each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Downscale factor per axis before anything else (1 = full resolution).
    pub downscale: u32,
    /// Frames from which the first background is made (each pixel's
    /// longest stable stretch; 0 or 1: the first frame). Detection waits for
    /// them, then catches up.
    pub bootstrap_frames: usize,
    /// Background learning rate where no foreground is found (0..1).
    pub learning_rate: f32,
    /// Background learning rate under foreground (0 = never learn objects).
    pub foreground_learning_rate: f32,
    /// Lowest difference threshold, grey levels.
    pub min_threshold: f32,
    /// The threshold is at least this many noise standard deviations.
    pub noise_sigmas: f32,
    /// Compensate global gain changes (flicker, exposure).
    pub compensate_gain: bool,
    /// Radius of the morphological opening (low-resolution pixels).
    pub open_radius: u8,
    /// Radius of the morphological closing (low-resolution pixels).
    pub close_radius: u8,
    /// Smallest blob kept, full-resolution px².
    pub min_area: f32,
    /// Largest blob kept, as a fraction of the frame area.
    pub max_area_fraction: f32,
    /// A blob with fewer moving pixels than this fraction is a ghost (a
    /// stale background hole, not an object): it is absorbed into the
    /// background and not reported.
    pub ghost_motion_fraction: f32,
    /// When more than this fraction of the frame is foreground, the scene
    /// changed: the background restarts from the current frame.
    pub reset_fraction: f32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            downscale: 2,
            bootstrap_frames: 20,
            learning_rate: 0.05,
            foreground_learning_rate: 0.0,
            min_threshold: 14.0,
            noise_sigmas: 4.0,
            compensate_gain: true,
            open_radius: 1,
            close_radius: 2,
            min_area: 120.0,
            max_area_fraction: 0.25,
            ghost_motion_fraction: 0.02,
            reset_fraction: 0.6,
        }
    }
}

impl DetectorConfig {
    /// Check every parameter; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), PerceptionError> {
        let err = PerceptionError::config;
        if !(1..=16).contains(&self.downscale) {
            return Err(err(
                "detector.downscale",
                format!("{} is outside 1..=16", self.downscale),
            ));
        }
        let unit = |what, v: f32| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(err(what, format!("{v} is outside 0..=1")))
            }
        };
        if self.bootstrap_frames > 1000 {
            return Err(err(
                "detector.bootstrap_frames",
                format!("{} is more than 1000", self.bootstrap_frames),
            ));
        }
        unit("detector.learning_rate", self.learning_rate)?;
        unit(
            "detector.foreground_learning_rate",
            self.foreground_learning_rate,
        )?;
        unit("detector.max_area_fraction", self.max_area_fraction)?;
        unit("detector.ghost_motion_fraction", self.ghost_motion_fraction)?;
        unit("detector.reset_fraction", self.reset_fraction)?;
        let nonneg = |what, v: f32| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(err(what, format!("{v} is negative or not finite")))
            }
        };
        nonneg("detector.min_threshold", self.min_threshold)?;
        nonneg("detector.noise_sigmas", self.noise_sigmas)?;
        nonneg("detector.min_area", self.min_area)?;
        Ok(())
    }
}

/// A detected moving object.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Bounding box, full-resolution pixels.
    pub bbox: BBox,
    /// Confidence in `[0, 1]`: the blob's fill ratio (foreground pixels over
    /// box pixels). Compact single objects score high; merged or ragged
    /// blobs score low.
    pub score: f32,
    /// Foreground area, full-resolution px².
    pub area: f32,
    /// Sides cut by the frame's border.
    pub border: Border,
}

/// Low-resolution pixels around a blob searched for motion by the ghost test.
const GHOST_MARGIN: usize = 2;

/// The motion detector. Keeps a background model across frames; a frame of
/// another size than the first is refused (`FrameSizeChanged`).
#[derive(Debug)]
pub struct Detector {
    cfg: DetectorConfig,
    model: Option<BackgroundModel>,
    frame_size: (u32, u32),
    mask: GrayImage,
    foreground: FrameEvidence,
    motion: Vec<u8>,
    motion_sat: Integral,
    last_threshold: f32,
    /// Downscaled frames not yet detected.
    pending: VecDeque<Vec<f32>>,
}

impl Detector {
    /// A detector with a validated configuration.
    pub fn new(cfg: DetectorConfig) -> Result<Self, PerceptionError> {
        cfg.validate()?;
        Ok(Detector {
            cfg,
            model: None,
            frame_size: (0, 0),
            mask: GrayImage::new(0, 0),
            foreground: FrameEvidence::default(),
            motion: Vec::new(),
            motion_sat: Integral::default(),
            last_threshold: 0.0,
            pending: VecDeque::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DetectorConfig {
        &self.cfg
    }

    /// What the last frame showed: foreground and the downscaled image.
    pub fn evidence(&self) -> &FrameEvidence {
        &self.foreground
    }

    /// The difference threshold used for the last frame, grey levels.
    pub fn last_threshold(&self) -> f32 {
        self.last_threshold
    }

    /// Queue a frame. Until `bootstrap_frames` frames have arrived there is
    /// no background yet and nothing is ready; then every queued frame is
    /// ready, in order, and after that each new one is. A frame of another
    /// size than the first is an error (start a new detector).
    pub fn push(&mut self, image: &RgbImage) -> Result<(), PerceptionError> {
        let size = image.dimensions();
        let f = self.cfg.downscale;
        if size.0 < f || size.1 < f {
            return Err(PerceptionError::config(
                "detector.downscale",
                format!("{f} is larger than the {}x{} frame", size.0, size.1),
            ));
        }
        let model = match &mut self.model {
            Some(m) if size == self.frame_size => m,
            Some(_) => {
                return Err(PerceptionError::FrameSizeChanged {
                    expected_w: self.frame_size.0,
                    expected_h: self.frame_size.1,
                    found_w: size.0,
                    found_h: size.1,
                });
            }
            None => {
                let m = BackgroundModel::new(size.0, size.1, self.cfg.downscale);
                self.mask = GrayImage::new(m.width as u32, m.height as u32);
                self.frame_size = size;
                self.model.insert(m)
            }
        };
        self.pending.push_back(model.downscale(image));
        if !model.is_initialized() && self.pending.len() >= self.cfg.bootstrap_frames.max(1) {
            model.bootstrap(self.pending.make_contiguous());
        }
        Ok(())
    }

    /// End of the stream: start the background from the frames queued so
    /// far (fewer than `bootstrap_frames`), so that they become ready.
    pub fn flush(&mut self) {
        if let Some(model) = &mut self.model
            && !model.is_initialized()
            && !self.pending.is_empty()
        {
            model.bootstrap(self.pending.make_contiguous());
        }
    }

    /// Frames queued and not yet detected.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The detections of the oldest ready frame (its evidence replaces the
    /// last one); `None` while no frame is ready.
    pub fn next_detections(&mut self) -> Option<Vec<Detection>> {
        let model = self.model.as_mut()?;
        if !model.is_initialized() {
            return None;
        }
        let frame = self.pending.pop_front()?;
        model.set_current(frame);
        Some(self.detect_current())
    }

    /// Detect against the background in the current frame.
    fn detect_current(&mut self) -> Vec<Detection> {
        let cfg = &self.cfg;
        let size = self.frame_size;
        let Some(model) = self.model.as_mut() else {
            return Vec::new();
        };
        let gain = if cfg.compensate_gain {
            model.gain()
        } else {
            1.0
        };
        let noise = model.noise_sigma(gain);
        let threshold = cfg.min_threshold.max(cfg.noise_sigmas * noise);
        self.last_threshold = threshold;
        let total = model.width * model.height;
        let fg = model.foreground(gain, threshold, &mut self.mask);
        if fg as f32 > cfg.reset_fraction * total as f32 {
            tracing::debug!(fg, total, "scene change: background restarts");
            model.reset_to_current(gain);
            self.mask.fill(0);
            self.foreground
                .rebuild(&self.mask, cfg.downscale, &model.cur, size, noise);
            model.update(gain, &self.mask, 0.0, 0.0);
            return Vec::new();
        }
        blobs::clean(&mut self.mask, cfg.open_radius, cfg.close_radius);
        let (labels, found) = blobs::label(&self.mask);
        // Motion (change since the previous frame) anywhere in or next to a
        // blob: a ghost has none; a real object has some even when its
        // leading edge is outside the frame (its trailing edge moved).
        model.motion(gain, threshold, &mut self.motion);
        self.motion_sat
            .rebuild(&self.motion, model.width, model.height);
        let m = GHOST_MARGIN;
        let f = cfg.downscale as f32;
        let frame_area = (size.0 as f32) * (size.1 as f32);
        let mut detections = Vec::with_capacity(found.len());
        let mut ghosts = Vec::new();
        for b in &found {
            let moving = self.motion_sat.count(
                (b.x0 as usize).saturating_sub(m),
                (b.y0 as usize).saturating_sub(m),
                b.x1 as usize + 1 + m,
                b.y1 as usize + 1 + m,
            );
            if model.has_prev() && (moving as f32) < cfg.ghost_motion_fraction * b.pixels as f32 {
                ghosts.push(b.label);
                continue;
            }
            let area = b.pixels as f32 * f * f;
            if area < cfg.min_area || area > cfg.max_area_fraction * frame_area {
                continue;
            }
            detections.push(Detection {
                bbox: BBox::new(
                    b.x0 as f32 * f,
                    b.y0 as f32 * f,
                    (b.x1 - b.x0 + 1) as f32 * f,
                    (b.y1 - b.y0 + 1) as f32 * f,
                ),
                score: b.pixels as f32 / b.box_area() as f32,
                area,
                border: Border {
                    left: b.x0 == 0,
                    top: b.y0 == 0,
                    right: b.x1 as usize + 1 >= model.width,
                    bottom: b.y1 as usize + 1 >= model.height,
                },
            });
        }
        if !ghosts.is_empty() {
            for (i, l) in labels.as_raw().iter().enumerate() {
                if *l != 0 && ghosts.contains(l) {
                    model.absorb(i, gain);
                    self.mask.as_mut()[i] = 0;
                }
            }
        }
        model.update(
            gain,
            &self.mask,
            cfg.learning_rate,
            cfg.foreground_learning_rate,
        );
        self.foreground
            .rebuild(&self.mask, cfg.downscale, &model.cur, size, noise);
        detections
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A detector that starts its background from the first frame.
    fn first_frame_detector() -> Detector {
        Detector::new(DetectorConfig {
            bootstrap_frames: 1,
            ..DetectorConfig::default()
        })
        .expect("valid")
    }

    /// Push one frame and take its detections.
    fn detect(det: &mut Detector, image: &RgbImage) -> Vec<Detection> {
        det.push(image).expect("same size");
        det.next_detections().expect("ready")
    }

    fn scene(square_at: Option<(u32, u32)>) -> RgbImage {
        RgbImage::from_fn(160, 120, |x, y| match square_at {
            Some((sx, sy)) if x >= sx && x < sx + 20 && y >= sy && y < sy + 16 => {
                Rgb([230, 230, 230])
            }
            _ => Rgb([100 + ((x * 7 + y * 3) % 20) as u8, 110, 90]),
        })
    }

    #[test]
    fn a_moving_square_is_found_where_it_is() {
        let mut det = first_frame_detector();
        assert!(
            detect(&mut det, &scene(None)).is_empty(),
            "first frame only initialises"
        );
        let mut last = Vec::new();
        for step in 0..5 {
            last = detect(&mut det, &scene(Some((40 + step * 4, 50))));
        }
        assert_eq!(last.len(), 1, "{last:?}");
        let truth = BBox::new(56.0, 50.0, 20.0, 16.0);
        assert!(last[0].bbox.iou(&truth) > 0.7, "{:?}", last[0]);
        assert!(last[0].score > 0.8);
        assert!(det.evidence().fraction_in(&truth) > 0.7);
        assert!(det.evidence().fraction_in(&BBox::new(0.0, 0.0, 20.0, 20.0)) < 0.01);
    }

    #[test]
    fn a_square_present_from_the_first_frame_leaves_no_lasting_ghost() {
        let mut det = first_frame_detector();
        detect(&mut det, &scene(Some((20, 20))));
        let mut last = Vec::new();
        for step in 1..25 {
            last = detect(&mut det, &scene(Some((20 + step * 4, 20))));
        }
        let ghost = BBox::new(20.0, 20.0, 20.0, 16.0);
        assert!(
            last.iter().all(|d| d.bbox.iou(&ghost) < 0.1),
            "ghost still reported: {last:?}"
        );
        assert_eq!(last.len(), 1, "{last:?}");
    }

    #[test]
    fn global_brightness_flicker_is_not_motion() {
        let mut det = first_frame_detector();
        detect(&mut det, &scene(None));
        let mut brighter = scene(None);
        for p in brighter.pixels_mut() {
            for c in p.0.iter_mut() {
                *c = (f32::from(*c) * 1.15) as u8;
            }
        }
        assert!(detect(&mut det, &brighter).is_empty());
    }

    #[test]
    fn a_bootstrapped_background_finds_objects_from_the_first_frame() {
        let mut det = Detector::new(DetectorConfig {
            bootstrap_frames: 10,
            ..DetectorConfig::default()
        })
        .expect("valid");
        for step in 0..10 {
            det.push(&scene(Some((10 + step * 8, 50))))
                .expect("same size");
            if step < 9 {
                assert!(
                    det.next_detections().is_none(),
                    "nothing ready before the background"
                );
            }
        }
        assert_eq!(det.pending(), 10);
        let first = det.next_detections().expect("ready");
        assert_eq!(first.len(), 1, "{first:?}");
        assert!(
            first[0].bbox.iou(&BBox::new(10.0, 50.0, 20.0, 16.0)) > 0.7,
            "{first:?}"
        );
        let mut n = 1;
        while det.next_detections().is_some() {
            n += 1;
        }
        assert_eq!(n, 10);
    }

    #[test]
    fn flush_makes_a_short_stream_ready_and_sizes_must_not_change() {
        let mut det = Detector::new(DetectorConfig::default()).expect("valid");
        det.push(&scene(None)).expect("first");
        assert!(det.next_detections().is_none());
        det.flush();
        assert!(det.next_detections().is_some());
        let err = det.push(&RgbImage::new(80, 60)).expect_err("other size");
        assert!(
            matches!(err, PerceptionError::FrameSizeChanged { found_w: 80, .. }),
            "{err}"
        );
        let mut tiny = Detector::new(DetectorConfig::default()).expect("valid");
        assert!(tiny.push(&RgbImage::new(1, 1)).is_err());
    }

    #[test]
    fn bad_configuration_is_rejected_by_name() {
        let err = Detector::new(DetectorConfig {
            downscale: 0,
            ..DetectorConfig::default()
        })
        .expect_err("zero");
        assert!(err.to_string().contains("detector.downscale"));
        let err = Detector::new(DetectorConfig {
            learning_rate: 2.0,
            ..DetectorConfig::default()
        })
        .expect_err("rate");
        assert!(err.to_string().contains("detector.learning_rate"));
    }
}
