//! The `perception` actor: frames from the synthetic camera (default) or a
//! directory of images at a configured rate, through the pipeline (detect,
//! track, predict), published as seed 003's wire frames — detections and
//! tracks at the frame rate, timelines at `timeline_hz` — each with its
//! `frame_id`, `timestamp_ms` and CRC32, and the camera picture itself as a
//! shared RGBA frame. Commands carry a `request_id` and are acknowledged as
//! the seed specifies (`config_update`, `refresh_timelines`).

mod camera;
mod messages;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use warden_kernel::{Actor, ActorError, ConfigProblem, Ctx, PoolSpec};

use crate::error::PerceptionError;
use crate::pipeline::{FrameOutput, Pipeline, PipelineConfig};
use crate::scenario::Scenario;
use crate::shm::ShmWriter;
use crate::source::Frame;
use crate::timeline::TimelineConfig;
use crate::wire::{FrameKind, TimelinesFrame};

use camera::{Camera, CameraSource};
pub use messages::{
    Ack, CameraFrame, Command, ConfigPatch, LatestFrames, PerceptionMsg, PerceptionReply,
    PerceptionStats, WireFrame,
};

/// Detections, at the frame rate.
pub const DETECTIONS: &str = "perception.detections";
/// Tracks, at the frame rate.
pub const TRACKS: &str = "perception.tracks";
/// Timelines, at `timeline_hz`.
pub const TIMELINES: &str = "perception.timelines";
/// The camera picture (RGBA), at the frame rate.
pub const FRAME: &str = "perception.frame";

/// Most points a published timeline may have (the wire frame of 64
/// timelines must fit one message).
const MAX_POINTS: usize = 32;

/// `[actors.NAME]` keys of a `perception` actor (every one has a default).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerceptionConfig {
    /// `"synthetic"` (a seeded synthetic camera) or `"dir"` (the images in `dir`).
    pub source: SourceKind,
    /// The image directory when `source = "dir"` (PNG/JPEG, sorted, looping).
    pub dir: Option<std::path::PathBuf>,
    /// Frames per second (0 < fps ≤ 60).
    pub fps: f32,
    /// The synthetic scene: `easy`, `crossing`, `crowded` or `noisy`.
    pub scenario: String,
    /// Its seed (the next sequence takes the next seed).
    pub seed: u64,
    /// Its frame size, `WxH` (16..=4096 a side).
    pub size: String,
    /// Objects in view at once (the scenario's count when unset).
    pub objects: Option<usize>,
    /// Timelines published per second (0 < hz ≤ fps).
    pub timeline_hz: f32,
    /// How far timelines look ahead (s).
    pub timeline_horizon_s: f32,
    /// Time between timeline points (s).
    pub timeline_step_s: f32,
    /// Publish the camera picture on `perception.frame`.
    pub publish_frames: bool,
    /// `wall` (frames on a wall-clock grid) or `virtual` (a frame only when
    /// `AdvanceTo` asks: offline, deterministic).
    pub clock: String,
    /// Keep the latest detections, tracks and timelines in shared memory
    /// for foreign readers (`crate::shm`, docs/PERCEPTION.md).
    pub shm_export: bool,
    /// The segments' instance name: `/dev/shm/warden-<instance>-<kind>`
    /// (empty: the actor's name).
    pub shm_instance: String,
}

/// Where frames come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The synthetic camera.
    Synthetic,
    /// A directory of images.
    Dir,
}

impl Default for PerceptionConfig {
    fn default() -> Self {
        let timeline = TimelineConfig::default();
        PerceptionConfig {
            source: SourceKind::Synthetic,
            dir: None,
            fps: 10.0,
            scenario: "easy".into(),
            seed: 1,
            size: "640x480".into(),
            objects: None,
            timeline_hz: 1.0,
            timeline_horizon_s: timeline.horizon_s,
            timeline_step_s: timeline.step_s,
            publish_frames: true,
            clock: "wall".into(),
            shm_export: true,
            shm_instance: String::new(),
        }
    }
}

fn problem(key: &str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem::new(key, message)
}

impl PerceptionConfig {
    fn size(&self) -> Result<(u32, u32), ConfigProblem> {
        let (w, h) =
            warden_image::parse_size(&self.size).map_err(|e| problem("size", e.to_string()))?;
        if !(16..=4096).contains(&w) || !(16..=4096).contains(&h) {
            return Err(problem(
                "size",
                format!("{w}x{h}: each side must be 16..=4096"),
            ));
        }
        Ok((w, h))
    }

    fn scenario(&self) -> Result<Scenario, ConfigProblem> {
        self.scenario
            .parse()
            .map_err(|err: PerceptionError| problem("scenario", err.to_string()))
    }

    fn timeline(&self) -> Result<TimelineConfig, ConfigProblem> {
        check_timeline(self.timeline_horizon_s, self.timeline_step_s)
    }

    fn camera(&self) -> Result<CameraSource, ConfigProblem> {
        match self.source {
            SourceKind::Synthetic => Ok(CameraSource::synthetic(
                self.scenario()?,
                self.seed,
                self.size()?,
                self.objects,
                self.fps,
            )),
            SourceKind::Dir => self
                .dir
                .clone()
                .map(CameraSource::Dir)
                .ok_or_else(|| problem("dir", "source = \"dir\" needs the directory in `dir`")),
        }
    }
}

fn check_fps(fps: f32) -> Result<(), ConfigProblem> {
    if fps.is_finite() && fps > 0.0 && fps <= 60.0 {
        Ok(())
    } else {
        Err(problem("fps", format!("{fps} is outside (0, 60]")))
    }
}

fn check_timeline(horizon_s: f32, step_s: f32) -> Result<TimelineConfig, ConfigProblem> {
    let timeline = TimelineConfig { horizon_s, step_s };
    timeline
        .validate()
        .map_err(|err| problem("timeline_horizon_s", err.to_string()))?;
    if timeline.points() > MAX_POINTS {
        return Err(problem(
            "timeline_horizon_s",
            format!(
                "{} points per timeline (horizon / step); at most {MAX_POINTS} are published",
                timeline.points()
            ),
        ));
    }
    Ok(timeline)
}

fn check_timeline_hz(hz: f32, fps: f32) -> Result<(), ConfigProblem> {
    if hz.is_finite() && hz > 0.0 && hz <= fps {
        Ok(())
    } else {
        Err(problem(
            "timeline_hz",
            format!("{hz} is outside (0, fps = {fps}]"),
        ))
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// See the module documentation.
pub struct PerceptionActor {
    camera: Camera,
    pipeline_config: PipelineConfig,
    pipeline: Pipeline,
    timeline_hz: f32,
    publish_frames: bool,
    last_output: Option<FrameOutput>,
    latest: LatestFrames,
    next_timelines: Instant,
    stats: messages::Counters,
    virtual_clock: bool,
    /// The latest picture (kept under the virtual clock, for `AdvanceTo`).
    picture: Option<(u64, u64, u32, u32, Vec<u8>)>,
    /// The shared-memory export, per topic (`None`: off, or refused).
    export: Export,
}

/// The shared-memory writers of the three topics.
#[derive(Default)]
struct Export {
    detections: Option<ShmWriter>,
    tracks: Option<ShmWriter>,
    timelines: Option<ShmWriter>,
    /// What the export does, for `Stats`.
    state: String,
}

impl Export {
    fn open(config: &PerceptionConfig, name: &str) -> Self {
        if !config.shm_export {
            return Export {
                state: "off (shm_export = false)".into(),
                ..Export::default()
            };
        }
        let instance = if config.shm_instance.is_empty() {
            name
        } else {
            &config.shm_instance
        };
        let open = |kind| match ShmWriter::create(instance, kind) {
            Ok(writer) => Ok(writer),
            Err(err) => {
                tracing::warn!(%err, "the shared-memory export is off for this segment");
                Err(err.to_string())
            }
        };
        let (detections, tracks, timelines) = (
            open(FrameKind::Detections),
            open(FrameKind::Tracks),
            open(FrameKind::Timelines),
        );
        let state = match (&detections, &tracks, &timelines) {
            (Ok(_), Ok(_), Ok(_)) => {
                format!("/dev/shm/warden-{instance}-{{detections,tracks,timelines}}")
            }
            (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => format!("off: {err}"),
        };
        Export {
            detections: detections.ok(),
            tracks: tracks.ok(),
            timelines: timelines.ok(),
            state,
        }
    }

    fn writer(&mut self, topic: &str) -> Option<&mut ShmWriter> {
        match topic {
            DETECTIONS => self.detections.as_mut(),
            TRACKS => self.tracks.as_mut(),
            TIMELINES => self.timelines.as_mut(),
            _ => None,
        }
    }

    /// Unlink the segments (a clean stop).
    fn remove(&mut self) {
        for writer in [
            self.detections.take(),
            self.tracks.take(),
            self.timelines.take(),
        ]
        .into_iter()
        .flatten()
        {
            writer.remove();
        }
    }
}

impl PerceptionActor {
    fn rebuild(&mut self) -> Result<(), PerceptionError> {
        self.pipeline = Pipeline::new(&self.pipeline_config, self.camera.fps())?;
        Ok(())
    }

    fn publish_wire(
        &mut self,
        ctx: &mut Ctx,
        topic: &str,
        frame_id: u64,
        timestamp_ms: u64,
        count: usize,
        wire: Result<Vec<u8>, crate::wire::WireError>,
    ) -> Option<WireFrame> {
        let wire = match wire {
            Ok(wire) => wire,
            Err(err) => {
                self.stats.encode_failures += 1;
                tracing::warn!(topic, %err, "a frame could not be encoded");
                return None;
            }
        };
        let frame = WireFrame::new(frame_id, timestamp_ms, count as u32, wire);
        if let Some(writer) = self.export.writer(topic)
            && let Err(err) = writer.publish(&frame)
        {
            tracing::warn!(topic, %err, "not exported to shared memory");
        }
        if let Err(err) = ctx.publish(topic, &frame) {
            tracing::debug!(topic, %err, "not published");
        }
        Some(frame)
    }

    fn publish_timelines(&mut self, ctx: &mut Ctx) {
        let Some(output) = self.last_output.clone() else {
            return;
        };
        let encoded = TimelinesFrame {
            frame_id: output.frame_id,
            timestamp_ms: output.timestamp_ms,
            timelines: output.timelines.clone(),
        }
        .encode();
        if let Some(frame) = self.publish_wire(
            ctx,
            TIMELINES,
            output.frame_id,
            output.timestamp_ms,
            output.timelines.len(),
            encoded,
        ) {
            self.stats.timelines_published += 1;
            self.latest.timelines = Some(frame);
        }
        self.next_timelines = Instant::now() + Duration::from_secs_f32(1.0 / self.timeline_hz);
    }

    fn publish_output(&mut self, ctx: &mut Ctx, output: FrameOutput) {
        let (id, ts) = (output.frame_id, output.timestamp_ms);
        let detections = output.detections_wire();
        self.latest.detections =
            self.publish_wire(ctx, DETECTIONS, id, ts, output.detections.len(), detections);
        let tracks = output.tracks_wire();
        self.latest.tracks = self.publish_wire(ctx, TRACKS, id, ts, output.tracks.len(), tracks);
        self.stats.detections = output.detections.len();
        self.stats.tracks = output.tracks.len();
        self.stats.frame_id = id;
        self.last_output = Some(output);
    }

    fn publish_picture(&mut self, ctx: &mut Ctx, frame: &Frame) {
        let (w, h) = frame.image.dimensions();
        let mut buf = ctx.buffer(w as usize * h as usize * 4);
        for (rgba, rgb) in buf
            .chunks_exact_mut(4)
            .zip(frame.image.as_raw().chunks_exact(3))
        {
            rgba[..3].copy_from_slice(rgb);
            rgba[3] = 255;
        }
        if self.virtual_clock {
            self.picture = Some((frame.index, frame.timestamp_ms, w, h, buf.to_vec()));
        }
        let picture = CameraFrame {
            frame_id: frame.index,
            timestamp_ms: frame.timestamp_ms,
            width: w,
            height: h,
            rgba: buf.freeze(),
        };
        if let Err(err) = ctx.publish(FRAME, &picture) {
            tracing::debug!(%err, "camera frame not published");
        }
    }

    /// Capture, process and publish the frame whose slot has come by
    /// `now_ms` (the wall clock's, or the virtual clock's), if any.
    fn step(&mut self, ctx: &mut Ctx, now_ms: u64) -> Result<(), PerceptionError> {
        let step_started = Instant::now();
        let Some(frame) = self.camera.due(now_ms)? else {
            return Ok(());
        };
        self.stats.size = frame.image.dimensions();
        let started = Instant::now();
        let outputs = self.pipeline.push(&frame)?;
        let processing = started.elapsed();
        for output in outputs {
            self.publish_output(ctx, output);
        }
        if self.publish_frames {
            self.publish_picture(ctx, &frame);
        }
        let latency = if self.virtual_clock {
            0
        } else {
            unix_ms().saturating_sub(frame.timestamp_ms)
        };
        self.stats
            .record_frame(processing, step_started.elapsed(), latency);
        if Instant::now() >= self.next_timelines {
            self.publish_timelines(ctx);
        }
        self.stats.skipped = self.camera.skipped;
        Ok(())
    }

    fn apply(&mut self, patch: &ConfigPatch) -> Result<String, ConfigProblem> {
        let fps = patch.fps.unwrap_or(self.camera.fps());
        check_fps(fps)?;
        let timeline = check_timeline(
            patch
                .timeline_horizon_s
                .unwrap_or(self.pipeline_config.timeline.horizon_s),
            patch
                .timeline_step_s
                .unwrap_or(self.pipeline_config.timeline.step_s),
        )?;
        let timeline_hz = patch.timeline_hz.unwrap_or(self.timeline_hz);
        check_timeline_hz(timeline_hz, fps)?;
        let min_inside = patch.min_inside.unwrap_or(self.pipeline_config.min_inside);
        if !(min_inside.is_finite() && (0.0..=1.0).contains(&min_inside)) {
            return Err(problem(
                "min_inside",
                format!("{min_inside} is outside 0..=1"),
            ));
        }
        let mut changed = Vec::new();
        let restart = fps != self.camera.fps()
            || timeline != self.pipeline_config.timeline
            || min_inside != self.pipeline_config.min_inside;
        if restart {
            self.pipeline_config.timeline = timeline;
            self.pipeline_config.min_inside = min_inside;
            if fps != self.camera.fps() {
                self.camera
                    .set_fps(fps)
                    .map_err(|err| problem("fps", err.to_string()))?;
            }
            self.rebuild()
                .map_err(|err| problem("fps", err.to_string()))?;
            changed.push("tracking restarted");
        }
        if timeline_hz != self.timeline_hz {
            self.timeline_hz = timeline_hz;
            changed.push("timeline rate");
        }
        if let Some(publish) = patch.publish_frames {
            self.publish_frames = publish;
            changed.push("frame publishing");
        }
        Ok(if changed.is_empty() {
            "Configuration unchanged".to_string()
        } else {
            format!("Configuration updated ({})", changed.join(", "))
        })
    }
}

impl Actor for PerceptionActor {
    const KIND: &'static str = "perception";
    type Config = PerceptionConfig;
    type Msg = PerceptionMsg;
    type Reply = PerceptionReply;

    fn validate(config: &PerceptionConfig) -> Result<(), ConfigProblem> {
        if !matches!(config.clock.as_str(), "wall" | "virtual") {
            return Err(problem(
                "clock",
                format!("{:?} is not wall or virtual", config.clock),
            ));
        }
        check_fps(config.fps)?;
        config.size()?;
        config.scenario()?;
        config.timeline()?;
        check_timeline_hz(config.timeline_hz, config.fps)?;
        config.camera()?;
        if !config.shm_instance.is_empty() {
            crate::shm::segment_path(&config.shm_instance, FrameKind::Detections)
                .map_err(|err| problem("shm_instance", err.to_string()))?;
        }
        Ok(())
    }

    fn start(config: PerceptionConfig, ctx: &mut Ctx) -> Result<Self, ActorError> {
        let began = Instant::now();
        let fatal = |err: &dyn std::fmt::Display| ActorError::Fatal(err.to_string());
        let pipeline_config = PipelineConfig {
            timeline: config.timeline().map_err(|e| fatal(&e))?,
            ..PipelineConfig::default()
        };
        let camera = Camera::open(config.camera().map_err(|e| fatal(&e))?, config.fps)
            .map_err(|e| fatal(&e))?;
        let camera_ms = began.elapsed().as_secs_f64() * 1e3;
        let pipeline = Pipeline::new(&pipeline_config, config.fps).map_err(|e| fatal(&e))?;
        tracing::debug!(
            camera_ms,
            total_ms = began.elapsed().as_secs_f64() * 1e3,
            "perception started"
        );
        Ok(PerceptionActor {
            camera,
            pipeline_config,
            pipeline,
            timeline_hz: config.timeline_hz,
            publish_frames: config.publish_frames,
            last_output: None,
            latest: LatestFrames::default(),
            next_timelines: Instant::now(),
            stats: messages::Counters::new(),
            virtual_clock: config.clock == "virtual",
            picture: None,
            export: Export::open(&config, ctx.name()),
        })
    }

    fn handle(&mut self, msg: PerceptionMsg, ctx: &mut Ctx) -> Result<PerceptionReply, ActorError> {
        match msg {
            PerceptionMsg::Command {
                request_id,
                command,
            } => {
                if request_id.is_empty() || request_id.len() > 128 {
                    return Err(ActorError::Rejected(
                        "request_id must be 1 to 128 bytes".into(),
                    ));
                }
                let message = match command {
                    Command::ConfigUpdate(patch) => self.apply(&patch).map_err(|problem| {
                        ActorError::Rejected(format!("request {request_id}: {problem}"))
                    })?,
                    Command::RefreshTimelines => {
                        self.publish_timelines(ctx);
                        "Timelines refreshed".to_string()
                    }
                };
                Ok(PerceptionReply::Ack(Ack::success(
                    request_id,
                    message,
                    unix_ms(),
                )))
            }
            PerceptionMsg::Latest => Ok(PerceptionReply::Latest(self.latest.clone())),
            PerceptionMsg::AdvanceTo { ms } => {
                if !self.virtual_clock {
                    return Err(ActorError::Rejected(
                        "AdvanceTo needs clock = \"virtual\"; this actor runs on the wall clock"
                            .into(),
                    ));
                }
                self.step(ctx, ms).map_err(|err| {
                    self.stats.source_errors += 1;
                    ActorError::Rejected(format!("the frame at {ms} ms: {err}"))
                })?;
                let picture = self.picture.as_ref().map(|(id, ts, w, h, rgba)| {
                    let mut buf = ctx.buffer(rgba.len());
                    buf.copy_from_slice(rgba);
                    CameraFrame {
                        frame_id: *id,
                        timestamp_ms: *ts,
                        width: *w,
                        height: *h,
                        rgba: buf.freeze(),
                    }
                });
                Ok(PerceptionReply::Frame {
                    picture,
                    tracks: self.latest.tracks.clone(),
                })
            }
            PerceptionMsg::Stats => {
                let mut stats =
                    self.stats
                        .report(self.camera.fps(), self.timeline_hz, ctx.uptime());
                stats.shm_export = self.export.state.clone();
                Ok(PerceptionReply::Stats(stats))
            }
        }
    }

    fn tick(&mut self, ctx: &mut Ctx) {
        if self.virtual_clock {
            return;
        }
        if let Err(err) = self.step(ctx, unix_ms()) {
            // A frame that cannot be read (a corrupt file in the directory):
            // counted and skipped; the camera goes on.
            self.stats.source_errors += 1;
            tracing::warn!(%err, "a camera frame was skipped");
        }
    }

    fn stop(&mut self, _ctx: &mut Ctx) {
        self.export.remove();
    }

    fn idempotent(msg: &PerceptionMsg) -> bool {
        matches!(msg, PerceptionMsg::Latest | PerceptionMsg::Stats)
    }

    fn tick_hint(config: &PerceptionConfig) -> Option<Duration> {
        let period = Duration::from_secs_f32(1.0 / config.fps.clamp(0.1, 60.0));
        Some((period / 4).clamp(Duration::from_millis(2), Duration::from_millis(20)))
    }

    fn pool_hint(config: &PerceptionConfig) -> Option<PoolSpec> {
        // A directory's frames are as large as its images: room for 1080p.
        let (w, h) = match config.source {
            SourceKind::Synthetic => config.size().unwrap_or((640, 480)),
            SourceKind::Dir => (1920, 1080),
        };
        Some(PoolSpec {
            slots: 8,
            slot_bytes: w as usize * h as usize * 4,
        })
    }
}
