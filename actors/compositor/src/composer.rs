//! From the inputs the actor keeps to a rendered frame: the clock, what the
//! render step reads each frame ([`Inputs`]), and the step itself —
//! build the renderer's scene for the time `now` and render it into a frame
//! reused from the last but one. Shared by the live loop (a thread of its
//! own) and the stepped loop (`RenderOnce` under a virtual clock).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use warden_renderer::{
    ActiveTransition, Compositor as _, DetectionBox, Frame, LayerKind, LayerProps, NormRect,
    RenderError, Renderer, Scene, Viewport,
};

use crate::overlays::LatestBars;
use crate::slideshow::Running;

/// The compositor's clock: wall time since the instance started, or a
/// virtual time that only `RenderOnce` moves (offline, deterministic).
#[derive(Debug)]
pub enum Clock {
    /// Real time.
    Wall(Instant),
    /// Nanoseconds of virtual time.
    Virtual(AtomicU64),
}

impl Clock {
    /// Time since the start.
    pub fn now(&self) -> Duration {
        match self {
            Clock::Wall(started) => started.elapsed(),
            Clock::Virtual(nanos) => Duration::from_nanos(nanos.load(Ordering::Acquire)),
        }
    }

    /// Move a virtual clock on by `step` (a wall clock ignores it).
    pub fn advance(&self, step: Duration) {
        if let Clock::Virtual(nanos) = self {
            nanos.fetch_add(step.as_nanos() as u64, Ordering::AcqRel);
        }
    }

    /// Whether this is the virtual clock.
    pub fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }
}

/// Everything a frame shows, as the actor last set it.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// The slideshow's image (the target while a transition runs).
    pub image: Option<Arc<Frame>>,
    /// The transition under way.
    pub transition: Option<Running>,
    /// Layer props, by kind, from the store.
    pub props: [(LayerKind, LayerProps); 4],
    /// The slideshow's viewport, from the store.
    pub viewport: Viewport,
    /// The latest bars.
    pub bars: LatestBars,
    /// The latest camera picture and when it came.
    pub camera: Option<(Arc<Frame>, Duration)>,
    /// The camera inset's place.
    pub inset: NormRect,
    /// The latest tracks' boxes (already placed in the inset) and when they came.
    pub boxes: (Vec<DetectionBox>, Duration),
    /// When the scene (layers, viewport) last changed, until a frame shows it.
    pub scene_changed: Option<Duration>,
}

impl Inputs {
    /// An empty picture at the default stacking.
    pub fn new(inset: NormRect) -> Self {
        Inputs {
            image: None,
            transition: None,
            props: [
                (LayerKind::Slideshow, LayerProps::at(0)),
                (LayerKind::Bars, LayerProps::at(1)),
                (LayerKind::Camera, LayerProps::at(2)),
                (LayerKind::Boxes, LayerProps::at(3)),
            ],
            viewport: Viewport::default(),
            bars: LatestBars::default(),
            camera: None,
            inset,
            boxes: (Vec::new(), Duration::ZERO),
            scene_changed: None,
        }
    }

    fn props(&self, kind: LayerKind) -> LayerProps {
        self.props
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(LayerProps::at(0), |(_, p)| *p)
    }

    /// The renderer's scene at `now`.
    pub fn scene(&self, width: u32, height: u32, now: Duration) -> Scene {
        let mut scene = Scene::new(width, height);
        scene.slideshow.props = self.props(LayerKind::Slideshow);
        scene.slideshow.viewport = self.viewport;
        scene.slideshow.image = self.image.clone();
        scene.slideshow.transition = self.transition.as_ref().map(|running| {
            ActiveTransition::new(Arc::clone(&running.from), running.spec, running.time(now))
        });
        scene.bars.props = self.props(LayerKind::Bars);
        scene.bars.bars = self.bars.at(now);
        scene.camera.props = self.props(LayerKind::Camera);
        scene.camera.rect = self.inset;
        scene.camera.image = self.camera.as_ref().map(|(frame, _)| Arc::clone(frame));
        scene.boxes.props = self.props(LayerKind::Boxes);
        scene.boxes.boxes = self.boxes.0.clone();
        scene
    }
}

/// The renderer and its frames (see the module documentation).
pub struct Composer {
    renderer: Renderer,
    width: u32,
    height: u32,
    spare: Option<Frame>,
    pipelined: bool,
}

impl Composer {
    /// A composer drawing `width × height` with `renderer`.
    pub fn new(renderer: Renderer, width: u32, height: u32) -> Self {
        Composer {
            renderer,
            width,
            height,
            spare: None,
            pipelined: false,
        }
    }

    /// Render pipelined on the GPU ([`Renderer::render_pipelined`]): each
    /// frame shows the inputs of the call before, and the GPU's work
    /// overlaps the loop's wait for its next deadline.
    pub fn pipelined(mut self, pipelined: bool) -> Self {
        self.pipelined = pipelined;
        self
    }

    /// The session (backend, demotions).
    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Render `inputs` at `now`; returns the frame and the render time
    /// (`None`: the first pipelined frame, nothing to show yet).
    pub fn render(
        &mut self,
        inputs: &Inputs,
        now: Duration,
    ) -> Result<Option<(Arc<Frame>, Duration)>, RenderError> {
        let scene = inputs.scene(self.width, self.height, now);
        let mut out = self.spare.take().unwrap_or_else(Frame::empty);
        let started = Instant::now();
        if self.pipelined {
            if self.renderer.render_pipelined(&scene, &mut out)?.is_none() {
                self.spare = Some(out);
                return Ok(None);
            }
        } else {
            self.renderer.render_into(&scene, &mut out)?;
        }
        Ok(Some((Arc::new(out), started.elapsed())))
    }

    /// Give back a frame nobody reads any more, to render the next into.
    pub fn recycle(&mut self, frame: Arc<Frame>) {
        if let Ok(frame) = Arc::try_unwrap(frame) {
            self.spare = Some(frame);
        }
    }
}
