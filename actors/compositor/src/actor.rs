//! The `compositor` actor: a renderer session (CPU or wgpu, demoting itself
//! session-wide on GPU faults) that renders the scene on request. The live
//! loop that fills the scene from the other actors builds on it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use warden_image::actor::{ImageDecode, ImageFrame, ImageMsg, ImageReply, Scale};
use warden_kernel::{Actor, ActorError, ConfigProblem, Ctx, Pending, PoolSpec, SharedFrame};
use warden_renderer::{Compositor as _, Frame, Renderer, RendererOptions, Scene};

use crate::config::{CompositorConfig, Settings};

/// Render times kept for the status (the last minute at 60 fps).
const KEPT: usize = 3600;

/// Requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CompositorMsg {
    /// Render the current scene now and return the frame.
    RenderOnce,
    /// Backend, demotion level, rate and frame-time figures (idempotent).
    Status,
    /// Change the slideshow's timing or transitions from now on (`None`
    /// keeps a value); refused, naming the key, when a value is invalid.
    Configure {
        /// Transition names, used in turn.
        transitions: Option<Vec<String>>,
        /// Transition length (ms).
        transition_ms: Option<u64>,
        /// Time an image stays (s).
        slide_secs: Option<f64>,
    },
    /// Ask image_decode actor `from` for its image at `index`, prescaled to
    /// the canvas, without waiting; the image is held once it arrives
    /// (`Status` says when, and how long it took).
    Fetch {
        /// The image_decode actor.
        from: String,
        /// The image's position in its source.
        index: u64,
    },
}

/// A rendered frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenderedFrame {
    /// Frames rendered by this instance before this one.
    pub frame: u64,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// RGBA8, row-major.
    pub rgba: SharedFrame,
    /// Time to render it (ms).
    pub render_ms: f64,
}

/// What `Status` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompositorStatus {
    /// `cpu` or `wgpu`.
    pub backend: String,
    /// The backend, its adapter and why it was chosen, in words.
    pub backend_reason: String,
    /// `full-shaders`, `compositing-only` or `software`.
    pub demotion_level: String,
    /// Every demotion so far, in words.
    pub demotions: Vec<String>,
    /// Canvas width.
    pub width: u32,
    /// Canvas height.
    pub height: u32,
    /// The configured rate.
    pub fps_target: f64,
    /// Frames rendered by this instance.
    pub frames: u64,
    /// Render time per frame over the last frames (ms).
    pub render_ms_p50: f64,
    /// The same, 99th percentile.
    pub render_ms_p99: f64,
    /// The same, slowest.
    pub render_ms_max: f64,
    /// Images received from image_decode.
    pub images_fetched: u64,
    /// Request → image in memory, for the last one (ms).
    pub image_fetch_ms: f64,
    /// Why the last image request failed, if it did.
    pub image_fetch_error: Option<String>,
    /// The image held: its name and size.
    pub image: Option<(String, u32, u32)>,
}

/// Replies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CompositorReply {
    /// A frame.
    Frame(RenderedFrame),
    /// The status.
    Status(CompositorStatus),
}

/// See the module documentation.
pub struct Compositor {
    config: CompositorConfig,
    settings: Settings,
    renderer: Renderer,
    scene: Scene,
    out: Frame,
    frames: u64,
    render_times: VecDeque<Duration>,
    fetch: Option<(Pending<ImageReply>, Instant)>,
    fetched: u64,
    fetch_ms: f64,
    fetch_error: Option<String>,
    image: Option<ImageFrame>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len().saturating_sub(1)) as f64 * p).round() as usize)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

impl Compositor {
    fn render(&mut self) -> Result<Duration, ActorError> {
        let started = Instant::now();
        self.renderer
            .render_into(&self.scene, &mut self.out)
            .map_err(|err| ActorError::Failed(format!("render failed: {err}")))?;
        let took = started.elapsed();
        self.frames += 1;
        if self.render_times.len() == KEPT {
            self.render_times.pop_front();
        }
        self.render_times.push_back(took);
        Ok(took)
    }

    fn status(&self) -> CompositorStatus {
        let mut sorted: Vec<Duration> = self.render_times.iter().copied().collect();
        sorted.sort_unstable();
        let choice = self.renderer.choice();
        CompositorStatus {
            backend: self.renderer.backend().to_string(),
            backend_reason: choice.to_string(),
            demotion_level: self.renderer.level().to_string(),
            demotions: self
                .renderer
                .demotions()
                .iter()
                .map(ToString::to_string)
                .collect(),
            width: self.settings.width,
            height: self.settings.height,
            fps_target: 1.0 / self.settings.period.as_secs_f64(),
            frames: self.frames,
            render_ms_p50: percentile(&sorted, 0.5),
            render_ms_p99: percentile(&sorted, 0.99),
            render_ms_max: sorted.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            images_fetched: self.fetched,
            image_fetch_ms: self.fetch_ms,
            image_fetch_error: self.fetch_error.clone(),
            image: self
                .image
                .as_ref()
                .map(|image| (image.name.clone(), image.width, image.height)),
        }
    }

    /// Take an image that arrived.
    fn receive(&mut self, ctx: &mut Ctx) {
        let Some((pending, asked)) = &self.fetch else {
            return;
        };
        let Some(result) = ctx.reply(pending) else {
            return;
        };
        self.fetch_ms = asked.elapsed().as_secs_f64() * 1000.0;
        self.fetch = None;
        match result {
            Ok(ImageReply::Image(image)) => {
                self.fetched += 1;
                self.fetch_error = None;
                self.image = Some(image);
            }
            Ok(other) => self.fetch_error = Some(format!("unexpected answer {other:?}")),
            Err(err) => self.fetch_error = Some(err.to_string()),
        }
    }
}

impl Actor for Compositor {
    const KIND: &'static str = "compositor";
    type Config = CompositorConfig;
    type Msg = CompositorMsg;
    type Reply = CompositorReply;

    fn validate(config: &CompositorConfig) -> Result<(), ConfigProblem> {
        config.settings().map(|_| ())
    }

    fn start(config: CompositorConfig, _ctx: &mut Ctx) -> Result<Self, ActorError> {
        let settings = config
            .settings()
            .map_err(|problem| ActorError::Fatal(problem.to_string()))?;
        let renderer = Renderer::open(RendererOptions {
            backend: settings.backend,
            ..RendererOptions::default()
        })
        .map_err(|err| ActorError::Fatal(format!("cannot open the renderer: {err}")))?;
        tracing::info!(choice = %renderer.choice(), "compositor renderer open");
        let scene = Scene::new(settings.width, settings.height);
        Ok(Compositor {
            config,
            settings,
            renderer,
            scene,
            out: Frame::empty(),
            frames: 0,
            render_times: VecDeque::new(),
            fetch: None,
            fetched: 0,
            fetch_ms: 0.0,
            fetch_error: None,
            image: None,
        })
    }

    fn handle(&mut self, msg: CompositorMsg, ctx: &mut Ctx) -> Result<CompositorReply, ActorError> {
        match msg {
            CompositorMsg::RenderOnce => {
                let frame = self.frames;
                let took = self.render()?;
                let mut buf = ctx.buffer(self.out.data().len());
                buf.copy_from_slice(self.out.data());
                Ok(CompositorReply::Frame(RenderedFrame {
                    frame,
                    width: self.out.width(),
                    height: self.out.height(),
                    rgba: buf.freeze(),
                    render_ms: took.as_secs_f64() * 1000.0,
                }))
            }
            CompositorMsg::Status => Ok(CompositorReply::Status(self.status())),
            CompositorMsg::Configure {
                transitions,
                transition_ms,
                slide_secs,
            } => {
                let mut config = self.config.clone();
                if let Some(transitions) = transitions {
                    config.transitions = transitions;
                }
                if let Some(ms) = transition_ms {
                    config.transition_ms = ms;
                }
                if let Some(secs) = slide_secs {
                    config.slide_secs = secs;
                }
                let settings = config
                    .settings()
                    .map_err(|problem| ActorError::Rejected(problem.to_string()))?;
                self.config = config;
                self.settings = settings;
                Ok(CompositorReply::Status(self.status()))
            }
            CompositorMsg::Fetch { from, index } => {
                let msg = ImageMsg::Nth {
                    index,
                    scale: Scale {
                        size: Some((self.settings.width, self.settings.height)),
                        fit: None,
                    },
                };
                let pending = ctx.request::<ImageDecode>(&from, &msg);
                self.fetch = Some((pending, Instant::now()));
                // An error (an unknown actor) is already there.
                self.receive(ctx);
                Ok(CompositorReply::Status(self.status()))
            }
        }
    }

    fn wake(&mut self, ctx: &mut Ctx) {
        self.receive(ctx);
    }

    fn idempotent(msg: &CompositorMsg) -> bool {
        // Rendering changes nothing but the frame counter.
        matches!(msg, CompositorMsg::Status | CompositorMsg::RenderOnce)
    }

    fn pool_hint(config: &CompositorConfig) -> Option<PoolSpec> {
        let (w, h) = config
            .settings()
            .map_or((1920, 1080), |s| (s.width, s.height));
        Some(PoolSpec {
            slots: 4,
            slot_bytes: w as usize * h as usize * 4,
        })
    }
}
