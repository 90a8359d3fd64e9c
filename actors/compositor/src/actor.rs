//! The `compositor` actor: a renderer session (CPU or wgpu, demoting itself
//! session-wide on GPU faults) that renders the scene on request. The live
//! loop that fills the scene from the other actors builds on it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use warden_kernel::{Actor, ActorError, ConfigProblem, Ctx, PoolSpec, SharedFrame};
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
    settings: Settings,
    renderer: Renderer,
    scene: Scene,
    out: Frame,
    frames: u64,
    render_times: VecDeque<Duration>,
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
            settings,
            renderer,
            scene,
            out: Frame::empty(),
            frames: 0,
            render_times: VecDeque::new(),
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
        }
    }

    fn idempotent(msg: &CompositorMsg) -> bool {
        matches!(msg, CompositorMsg::Status)
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
