//! The actor's camera: the synthetic camera (endless: a new seed each time a
//! sequence ends) or a directory of images (looping), paced on the wall
//! clock. Frame ids are the frame's slot on that clock (`unix_ms · fps /
//! 1000`), so they keep increasing across restarts of the actor (and, after
//! the rate is lowered, at least by one per frame); a slot the actor was
//! too late for is skipped, never bunched.

use std::path::PathBuf;

use crate::error::PerceptionError;
use crate::scenario::Scenario;
use crate::source::{Frame, FrameSource, ImageDirSource, SyntheticCamera, SyntheticConfig};

/// Frames of a synthetic sequence before it starts over with the next seed.
const SEQUENCE_FRAMES: usize = 36_000;

/// Where frames come from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CameraSource {
    Synthetic(SyntheticConfig),
    Dir(PathBuf),
}

impl CameraSource {
    pub(crate) fn synthetic(
        scenario: Scenario,
        seed: u64,
        size: (u32, u32),
        objects: Option<usize>,
        fps: f32,
    ) -> Self {
        let mut config = scenario.config(seed);
        config.width = size.0;
        config.height = size.1;
        config.fps = fps;
        config.frames = SEQUENCE_FRAMES;
        if let Some(objects) = objects {
            config.objects = objects;
        }
        CameraSource::Synthetic(config)
    }
}

enum Open {
    Synthetic(Box<SyntheticCamera>),
    Dir(ImageDirSource),
}

/// See the module documentation.
pub(crate) struct Camera {
    source: CameraSource,
    open: Open,
    fps: f32,
    /// The last frame slot taken (on the current rate's clock).
    last_slot: Option<u64>,
    /// The last frame id given out.
    last_id: Option<u64>,
    /// Slots passed over because the actor was late.
    pub(crate) skipped: u64,
}

impl Camera {
    pub(crate) fn open(source: CameraSource, fps: f32) -> Result<Self, PerceptionError> {
        let open = Self::start(&source, fps)?;
        Ok(Camera {
            source,
            open,
            fps,
            last_slot: None,
            last_id: None,
            skipped: 0,
        })
    }

    fn start(source: &CameraSource, fps: f32) -> Result<Open, PerceptionError> {
        Ok(match source {
            CameraSource::Synthetic(config) => {
                let mut config = config.clone();
                config.fps = fps;
                Open::Synthetic(Box::new(SyntheticCamera::new(config)?))
            }
            CameraSource::Dir(dir) => Open::Dir(ImageDirSource::open(dir, fps)?),
        })
    }

    pub(crate) fn fps(&self) -> f32 {
        self.fps
    }

    /// The slot of the wall-clock time `unix_ms`.
    pub(crate) fn slot(&self, unix_ms: u64) -> u64 {
        (unix_ms as f64 * f64::from(self.fps) / 1000.0).floor() as u64
    }

    /// The time a slot starts at.
    pub(crate) fn slot_ms(&self, slot: u64) -> u64 {
        (slot as f64 * 1000.0 / f64::from(self.fps)).ceil() as u64
    }

    /// The next frame if its slot has come by `unix_ms`, stamped with the
    /// slot as `index` and the slot's time as `timestamp_ms`.
    pub(crate) fn due(&mut self, unix_ms: u64) -> Result<Option<Frame>, PerceptionError> {
        let slot = self.slot(unix_ms);
        if self.last_slot.is_some_and(|last| slot <= last) {
            return Ok(None);
        }
        if let Some(last) = self.last_slot {
            self.skipped += slot - last - 1;
        }
        self.last_slot = Some(slot);
        let mut frame = match self.next_frame()? {
            Some(frame) => frame,
            None => return Ok(None),
        };
        let id = self.last_id.map_or(slot, |last| slot.max(last + 1));
        self.last_id = Some(id);
        frame.index = id;
        frame.timestamp_ms = self.slot_ms(slot);
        Ok(Some(frame))
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, PerceptionError> {
        let frame = match &mut self.open {
            Open::Synthetic(camera) => camera.next_frame()?,
            Open::Dir(dir) => dir.next_frame()?,
        };
        if frame.is_some() {
            return Ok(frame);
        }
        // The end: a new sequence (the next seed) or the directory again.
        if let CameraSource::Synthetic(config) = &mut self.source {
            config.seed = config.seed.wrapping_add(1);
        }
        self.open = Self::start(&self.source, self.fps)?;
        match &mut self.open {
            Open::Synthetic(camera) => camera.next_frame(),
            Open::Dir(dir) => dir.next_frame(),
        }
    }

    /// Play at another rate from now on.
    pub(crate) fn set_fps(&mut self, fps: f32) -> Result<(), PerceptionError> {
        let open = Self::start(&self.source, fps)?;
        self.open = open;
        self.fps = fps;
        self.last_slot = None;
        Ok(())
    }
}
