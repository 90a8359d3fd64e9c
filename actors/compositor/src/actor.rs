//! The `compositor` actor. Its thread keeps the inputs — it asks
//! `image_decode` for the next image well ahead (a request, never a wait),
//! follows `fft.bars`, the camera and its tracks, and the store's scene —
//! and the live loop (`live.rs`, a thread of its own) renders them on its
//! own clock. Under a virtual clock there is no loop: each `RenderOnce`
//! renders the next frame (offline, deterministic).

mod inputs;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use warden_image::actor::{ImageDecode, ImageMsg, ImageReply, Scale};
use warden_kernel::{Actor, ActorError, ConfigProblem, Ctx, Pending, PoolSpec, SharedFrame};
use warden_renderer::{Frame, Renderer, RendererOptions};
use warden_store::actor::{StoreActor, StoreMsg};

use crate::composer::{Clock, Composer, Inputs};
use crate::config::{CompositorConfig, Settings};
use crate::live::{Live, Priority, Shared, lock, step};
use crate::scene_sync::SLIDESHOW;
use crate::slideshow::{Slideshow, Timing};
use crate::telemetry::{FrameSample, Pacing};

use inputs::Feeds;

/// Requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CompositorMsg {
    /// Under the wall clock: the latest frame. Under the virtual clock:
    /// render the next frame (the clock moves one period), or say why not
    /// yet (the image its transition needs is not in memory).
    RenderOnce,
    /// The latest frame, under either clock; never renders one.
    Latest,
    /// Backend, demotion level, pacing figures, the slideshow and the age of
    /// every input (idempotent).
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
    /// the canvas, without waiting (a measurement of the path: `Status`
    /// says when it came and how long it took; the slideshow is not touched).
    Fetch {
        /// The image_decode actor.
        from: String,
        /// The image's position in its source.
        index: u64,
    },
    /// Someone watches: publish frames on `compositor.frame` for the next
    /// `secs` seconds (0 ends this watcher's watch at once), at most
    /// `max_fps` a second (0: every frame). Viewers renew it while they
    /// watch, so frames are copied out only while someone looks, and only as
    /// often as the most eager watcher wants them.
    Watch {
        /// Who watches (each watcher's watch is its own).
        watcher: String,
        /// How long from now (s, at most 60).
        secs: f64,
        /// Frames a second wanted at most; 0 for every frame.
        max_fps: f64,
    },
}

/// A rendered frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenderedFrame {
    /// Its number (frames rendered by this instance before it).
    pub frame: u64,
    /// The compositor's clock when it was rendered (ms).
    pub clock_ms: f64,
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
    /// `wall` or `virtual`.
    pub clock: String,
    /// Pacing: rate, intervals, render times, late frames.
    pub pacing: Pacing,
    /// How the frame loop's thread is scheduled, in words (`real-time
    /// (SCHED_FIFO 10)`, or the ordinary scheduler and why); empty under
    /// the virtual clock.
    pub scheduling: String,
    /// The image shown (the target during a transition).
    pub image: Option<String>,
    /// The transition under way and its time fraction.
    pub transition: Option<(String, f64)>,
    /// Transitions started by this instance.
    pub transitions: u64,
    /// The slideshow's timing now (config, or a client's `Configure`):
    /// seconds an image stays, …
    pub slide_secs: f64,
    /// … the transition's length (ms), …
    pub transition_ms: u64,
    /// … and the transitions used in turn.
    pub transition_kinds: Vec<String>,
    /// Images received from image_decode.
    pub images_fetched: u64,
    /// Request → image in memory, for the last one (ms).
    pub image_fetch_ms: f64,
    /// Why the last image request failed, if it did.
    pub image_fetch_error: Option<String>,
    /// Age of the latest `fft.bars` value (ms; `None`: none yet).
    pub bars_age_ms: Option<f64>,
    /// Age of the latest camera picture (ms).
    pub camera_age_ms: Option<f64>,
    /// Age of the latest tracks (ms).
    pub tracks_age_ms: Option<f64>,
    /// The store version the scene is at.
    pub scene_version: u64,
    /// Why the live loop stopped, if it did (the instance then restarts).
    pub failure: Option<String>,
}

/// Replies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CompositorReply {
    /// A frame.
    Frame(RenderedFrame),
    /// No frame yet, and why (`RenderOnce` under a virtual clock waits for
    /// its image; ask again).
    Held(String),
    /// The status.
    Status(Box<CompositorStatus>),
}

/// See the module documentation.
pub struct Compositor {
    config: CompositorConfig,
    settings: Settings,
    shared: Arc<Shared>,
    /// The live loop (wall clock); dropped first, so it stops before the rest.
    live: Option<Live>,
    /// The composer of the stepped loop (virtual clock).
    stepped: Option<Composer>,
    /// `None` until the scene says where to start.
    slideshow: Option<Slideshow>,
    /// The position last written to the store, and last read from it.
    written_step: Option<u64>,
    seen_step: Option<u64>,
    asking: Option<(u64, Pending<ImageReply>, Instant)>,
    feeds: Feeds,
    fetched: u64,
    fetch_ms: f64,
    fetch_error: Option<String>,
    probe: Option<(Pending<ImageReply>, Instant)>,
    /// When the live loop last made progress, and its frame count then.
    progress: (Instant, u64),
}

fn timing(settings: &Settings) -> Timing {
    Timing {
        slide: settings.slide,
        transition: settings.transition,
        kinds: settings.transitions.clone(),
        easing: settings.easing,
    }
}

/// The live loop counts as stuck after this long without a frame.
const STUCK: Duration = Duration::from_secs(5);

/// What a moved compositor hands to the next instance: what clients
/// changed at run time (the slideshow's timing), where the slideshow is,
/// and who watches the frames (so a stream does not pause for a renewal).
#[derive(Debug, Serialize, Deserialize)]
struct Handover {
    transitions: Vec<String>,
    transition_ms: u64,
    slide_secs: f64,
    /// The image shown and the slideshow's next turn.
    slide: Option<(u64, u64)>,
    /// Watcher, seconds left, seconds between frames.
    watches: Vec<(String, f64, f64)>,
}

impl Compositor {
    fn now(&self) -> Duration {
        self.shared.clock.now()
    }

    /// Change the slideshow's timing or transitions (`None` keeps a value).
    fn configure(
        &mut self,
        transitions: Option<Vec<String>>,
        transition_ms: Option<u64>,
        slide_secs: Option<f64>,
    ) -> Result<(), ActorError> {
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
        if let Some(slideshow) = self.slideshow.as_mut() {
            slideshow.retime(timing(&settings));
        }
        self.config = config;
        self.settings = settings;
        Ok(())
    }

    /// Keep the slideshow going: ask for images, start and end transitions,
    /// keep the store's position current, and hand the loop what to show.
    fn update(&mut self, ctx: &mut Ctx) {
        let now = self.now();
        if self.slideshow.is_none() {
            // The scene says where to start (a restarted compositor resumes).
            let Some(first) = self.feeds.slide_start() else {
                return;
            };
            self.slideshow = Some(Slideshow::new(timing(&self.settings), first));
            self.seen_step = Some(first);
        }
        self.follow_store();
        self.take_image(ctx, now);
        let Some(slideshow) = self.slideshow.as_mut() else {
            return;
        };
        slideshow.advance(now);
        if !self.config.images.is_empty()
            && let Some(index) = slideshow.wants(now)
        {
            let msg = ImageMsg::Nth {
                index,
                scale: Scale {
                    size: Some((self.settings.width, self.settings.height)),
                    fit: Some(self.config.fit.clone()),
                },
            };
            let pending = ctx.request::<ImageDecode>(&self.config.images, &msg);
            slideshow.asked(index);
            self.asking = Some((index, pending, Instant::now()));
            // An immediate refusal (an unknown actor) is there already.
            self.take_image(ctx, now);
        }
        let Some(slideshow) = self.slideshow.as_ref() else {
            return;
        };
        let (image, transition) = slideshow.view();
        let shown = image.map(|p| p.index);
        {
            let mut inputs = lock(&self.shared.inputs);
            inputs.image = image.map(|p| Arc::clone(&p.frame));
            inputs.transition = transition.cloned();
        }
        self.write_step(ctx, shown);
    }

    /// A position a client wrote to the store moves the slideshow there.
    fn follow_store(&mut self) {
        let step = self.feeds.slide_step();
        if step == self.seen_step {
            return;
        }
        self.seen_step = step;
        if let (Some(step), Some(slideshow)) = (step, self.slideshow.as_mut())
            && Some(step) != self.written_step
        {
            tracing::info!(step, "the scene moved the slideshow");
            slideshow.jump(step);
            self.written_step = Some(step);
        }
    }

    /// Keep the store's position at the image shown (a tell: the compositor
    /// never waits on the store; a refused write is tried at the next image).
    fn write_step(&mut self, ctx: &mut Ctx, shown: Option<u64>) {
        let Some(index) = shown else {
            return;
        };
        if self.feeds.store().is_empty() || self.written_step == Some(index) {
            return;
        }
        let step = index % (warden_store::actor::SLIDESHOW_STEPS + 1);
        let msg = StoreMsg::Update {
            topic: "dims".into(),
            payload_json: serde_json::json!({
                "op": "current_step", "target": SLIDESHOW, "axis": 0, "value": step,
            })
            .to_string(),
            expected_version: self.feeds.scene_version(),
            actor_id: format!("compositor:{}", ctx.name()),
        };
        match ctx.tell::<StoreActor>(self.feeds.store(), &msg) {
            Ok(()) => self.written_step = Some(index),
            Err(err) => tracing::debug!(%err, "the slideshow position was not written"),
        }
    }

    fn take_image(&mut self, ctx: &mut Ctx, now: Duration) {
        let Some((_, pending, asked)) = &self.asking else {
            return;
        };
        let Some(result) = ctx.reply(pending) else {
            return;
        };
        self.fetch_ms = asked.elapsed().as_secs_f64() * 1000.0;
        self.asking = None;
        let picture = match result {
            Ok(ImageReply::Image(image)) => inputs::picture(&image, &self.settings),
            Ok(other) => Err(format!("unexpected answer {other:?}")),
            Err(err) => Err(err.to_string()),
        };
        let Some(slideshow) = self.slideshow.as_mut() else {
            return;
        };
        match picture {
            Ok(picture) => {
                self.fetched += 1;
                self.fetch_error = None;
                slideshow.received(picture, now);
            }
            Err(err) => {
                tracing::debug!(%err, "no image this time");
                self.fetch_error = Some(err);
                slideshow.failed(now);
            }
        }
    }

    fn take_probe(&mut self, ctx: &mut Ctx) {
        let Some((pending, asked)) = &self.probe else {
            return;
        };
        let Some(result) = ctx.reply(pending) else {
            return;
        };
        self.fetch_ms = asked.elapsed().as_secs_f64() * 1000.0;
        self.probe = None;
        match result {
            Ok(ImageReply::Image(_)) => {
                self.fetched += 1;
                self.fetch_error = None;
            }
            Ok(other) => self.fetch_error = Some(format!("unexpected answer {other:?}")),
            Err(err) => self.fetch_error = Some(err.to_string()),
        }
    }

    /// A live loop that stopped (or stopped making frames) ends the
    /// instance: the supervisor starts a fresh one.
    fn check_loop(&mut self) {
        if self.live.is_none() {
            return;
        }
        if let Some(failure) = lock(&self.shared.failure).clone() {
            panic!("the live loop stopped: {failure}");
        }
        let frames = self
            .shared
            .frames
            .load(std::sync::atomic::Ordering::Acquire);
        if frames != self.progress.1 {
            self.progress = (Instant::now(), frames);
        } else if self.progress.0.elapsed() > STUCK {
            panic!("the live loop made no frame for {} s", STUCK.as_secs());
        }
    }

    fn status(&self) -> CompositorStatus {
        let now = self.now();
        let renderer = lock(&self.shared.renderer).clone();
        let (image, transition) = match &self.slideshow {
            Some(slideshow) => slideshow.view(),
            None => (None, None),
        };
        let ages = self.feeds.ages(now);
        CompositorStatus {
            backend: renderer.backend,
            backend_reason: renderer.choice,
            demotion_level: renderer.level,
            demotions: renderer.demotions,
            width: self.settings.width,
            height: self.settings.height,
            clock: self.config.clock.clone(),
            // Copied out, then summed up: the frame loop takes this lock
            // every frame, and sorting a minute of samples under it would
            // make a frame wait for a status request.
            pacing: lock(&self.shared.telemetry).clone().summary(),
            scheduling: lock(&self.shared.scheduling).clone(),
            image: image.map(|p| p.name.clone()),
            transition: transition.map(|t| (t.spec.kind.name().to_string(), t.time(now))),
            transitions: self.slideshow.as_ref().map_or(0, Slideshow::transitions),
            slide_secs: self.config.slide_secs,
            transition_ms: self.config.transition_ms,
            transition_kinds: self.config.transitions.clone(),
            images_fetched: self.fetched,
            image_fetch_ms: self.fetch_ms,
            image_fetch_error: self.fetch_error.clone(),
            bars_age_ms: ages.bars,
            camera_age_ms: ages.camera,
            tracks_age_ms: ages.tracks,
            scene_version: self.feeds.scene_version(),
            failure: lock(&self.shared.failure).clone(),
        }
    }

    fn render_once(&mut self, ctx: &mut Ctx) -> Result<CompositorReply, ActorError> {
        let (frame, sample) = match self.stepped.as_mut() {
            None => match lock(&self.shared.latest).clone() {
                Some(latest) => latest,
                None => return Ok(CompositorReply::Held("no frame rendered yet".into())),
            },
            Some(composer) => {
                let now = self.shared.clock.now();
                let Some(slideshow) = self.slideshow.as_ref() else {
                    return Ok(CompositorReply::Held(
                        "waiting for the scene to say where the slideshow starts".into(),
                    ));
                };
                if slideshow.empty() && !self.config.images.is_empty() {
                    return Ok(CompositorReply::Held("waiting for the first image".into()));
                }
                if slideshow.held(now) {
                    return Ok(CompositorReply::Held(
                        "waiting for the next image's transition".into(),
                    ));
                }
                if let Err(waiting) = self.feeds.lockstep(ctx, &self.shared, &self.settings, now) {
                    return Ok(CompositorReply::Held(waiting));
                }
                let publisher = ctx.publisher();
                let Some((frame, sample)) = step(
                    &self.shared,
                    composer,
                    Some(&publisher),
                    now,
                    (Duration::ZERO, Duration::ZERO),
                    self.config.publish_frames,
                ) else {
                    return Err(ActorError::Failed(
                        lock(&self.shared.failure)
                            .clone()
                            .unwrap_or_else(|| "render failed".into()),
                    ));
                };
                self.shared.clock.advance(self.settings.period);
                // The slideshow moves with the clock.
                self.update(ctx);
                (frame, sample)
            }
        };
        Ok(self.frame_reply(ctx, &frame, sample))
    }

    fn frame_reply(&self, ctx: &mut Ctx, frame: &Frame, sample: FrameSample) -> CompositorReply {
        let mut buf = ctx.buffer(frame.data().len());
        buf.copy_from_slice(frame.data());
        CompositorReply::Frame(RenderedFrame {
            frame: sample.frame,
            clock_ms: sample.at_ms,
            width: frame.width(),
            height: frame.height(),
            rgba: buf.freeze(),
            render_ms: sample.render_ms,
        })
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

    /// A standby child probes the adapters for `auto` while it waits.
    fn warm_up() {
        warden_renderer::warm_up();
    }

    fn start(config: CompositorConfig, ctx: &mut Ctx) -> Result<Self, ActorError> {
        let settings = config
            .settings()
            .map_err(|problem| ActorError::Fatal(problem.to_string()))?;
        let renderer = Renderer::open(RendererOptions {
            backend: settings.backend,
            ..RendererOptions::default()
        })
        .map_err(|err| ActorError::Fatal(format!("cannot open the renderer: {err}")))?;
        tracing::info!(choice = %renderer.choice(), "compositor renderer open");
        let clock = Arc::new(if settings.virtual_clock {
            Clock::Virtual(std::sync::atomic::AtomicU64::new(0))
        } else {
            Clock::Wall(Instant::now())
        });
        let shared = Shared::new(Inputs::new(settings.inset), settings.period, clock);
        let composer =
            Composer::new(renderer, settings.width, settings.height).pipelined(settings.pipelined);
        let feeds = Feeds::start(&config, ctx);
        let (live, stepped) = if settings.virtual_clock {
            (None, Some(composer))
        } else {
            let live = Live::start(
                Arc::clone(&shared),
                composer,
                ctx.publisher(),
                settings.period,
                config.publish_frames,
                Priority {
                    realtime: config.frame_realtime,
                    nice: config.frame_nice,
                },
            )
            .map_err(|err| ActorError::Fatal(format!("cannot start the live loop: {err}")))?;
            (Some(live), None)
        };
        Ok(Compositor {
            config,
            settings,
            shared,
            live,
            stepped,
            slideshow: None,
            written_step: None,
            seen_step: None,
            asking: None,
            feeds,
            fetched: 0,
            fetch_ms: 0.0,
            fetch_error: None,
            probe: None,
            progress: (Instant::now(), 0),
        })
    }

    fn handle(&mut self, msg: CompositorMsg, ctx: &mut Ctx) -> Result<CompositorReply, ActorError> {
        match msg {
            CompositorMsg::RenderOnce => self.render_once(ctx),
            CompositorMsg::Latest => match lock(&self.shared.latest).clone() {
                Some((frame, sample)) => Ok(self.frame_reply(ctx, &frame, sample)),
                None => Ok(CompositorReply::Held("no frame rendered yet".into())),
            },
            CompositorMsg::Status => Ok(CompositorReply::Status(Box::new(self.status()))),
            CompositorMsg::Configure {
                transitions,
                transition_ms,
                slide_secs,
            } => {
                self.configure(transitions, transition_ms, slide_secs)?;
                Ok(CompositorReply::Status(Box::new(self.status())))
            }
            CompositorMsg::Watch {
                watcher,
                secs,
                max_fps,
            } => {
                if !(secs.is_finite() && (0.0..=60.0).contains(&secs)) {
                    return Err(ActorError::Rejected(format!(
                        "watch for {secs} s: give 0..=60 seconds"
                    )));
                }
                if !(max_fps.is_finite() && (0.0..=1000.0).contains(&max_fps)) {
                    return Err(ActorError::Rejected(format!(
                        "watch at {max_fps} fps: give 0 (every frame) to 1000"
                    )));
                }
                if watcher.is_empty() || watcher.len() > 64 {
                    return Err(ActorError::Rejected(
                        "a watcher is named by 1 to 64 bytes".into(),
                    ));
                }
                let interval = if max_fps > 0.0 {
                    Duration::from_secs_f64(1.0 / max_fps)
                } else {
                    Duration::ZERO
                };
                self.shared
                    .watch(&watcher, Duration::from_secs_f64(secs), interval);
                Ok(CompositorReply::Held(format!(
                    "frames published for {secs} s"
                )))
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
                self.probe = Some((pending, Instant::now()));
                self.take_probe(ctx);
                Ok(CompositorReply::Status(Box::new(self.status())))
            }
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        self.check_loop();
        self.feeds.take(ctx, &self.shared, &self.settings);
        self.update(ctx);
    }

    fn wake(&mut self, ctx: &mut Ctx) {
        self.take_probe(ctx);
        self.feeds.take(ctx, &self.shared, &self.settings);
        self.update(ctx);
    }

    fn snapshot(&mut self, _ctx: &mut Ctx) -> Option<Vec<u8>> {
        let handover = Handover {
            transitions: self.config.transitions.clone(),
            transition_ms: self.config.transition_ms,
            slide_secs: self.config.slide_secs,
            slide: self.slideshow.as_ref().map(Slideshow::position),
            watches: self
                .shared
                .watches()
                .into_iter()
                .map(|(name, left, every)| (name, left.as_secs_f64(), every.as_secs_f64()))
                .collect(),
        };
        serde_json::to_vec(&handover).ok()
    }

    fn restore(&mut self, state: &[u8], _ctx: &mut Ctx) -> Result<(), ActorError> {
        let handover: Handover = serde_json::from_slice(state)
            .map_err(|err| ActorError::Rejected(format!("not a compositor's state: {err}")))?;
        self.configure(
            Some(handover.transitions),
            Some(handover.transition_ms),
            Some(handover.slide_secs),
        )?;
        if let Some((image, turn)) = handover.slide {
            self.slideshow = Some(Slideshow::resume(timing(&self.settings), (image, turn)));
            // The store already says this position: nothing to follow or write.
            self.seen_step = Some(image % (warden_store::actor::SLIDESHOW_STEPS + 1));
            self.written_step = Some(image);
        }
        for (watcher, left, every) in handover.watches {
            if left.is_finite() && every.is_finite() && (0.0..=60.0).contains(&left) && every >= 0.0
            {
                self.shared.watch(
                    &watcher,
                    Duration::from_secs_f64(left),
                    Duration::from_secs_f64(every.min(60.0)),
                );
            }
        }
        Ok(())
    }

    fn idempotent(msg: &CompositorMsg) -> bool {
        // Under the wall clock `RenderOnce` changes nothing; a re-sent one
        // under the virtual clock renders the next frame, as asked.
        matches!(
            msg,
            CompositorMsg::Status
                | CompositorMsg::RenderOnce
                | CompositorMsg::Latest
                | CompositorMsg::Watch { .. }
        )
    }

    fn tick_hint(_config: &CompositorConfig) -> Option<Duration> {
        Some(Duration::from_millis(10))
    }

    fn pool_hint(config: &CompositorConfig) -> Option<PoolSpec> {
        let (w, h) = config
            .settings()
            .map_or((1920, 1080), |s| (s.width, s.height));
        Some(PoolSpec {
            slots: 6,
            slot_bytes: w as usize * h as usize * 4,
        })
    }
}
