//! What the `perception` actor sends and receives: seed 003's wire frames
//! on its topics (with their id, time and CRC32 beside the bytes), the
//! camera picture, commands with a `request_id` and their acknowledgement,
//! and the statistics the seed's `/api/perception/stats` shows.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use warden_kernel::SharedFrame;

/// One published wire frame (`DetectionFrame`, `TracksFrame` or
/// `TimelinesFrame` bytes, CRC32 included), with its header fields beside it
/// so that readers can tell fresh from stale without decoding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireFrame {
    /// The camera frame it belongs to.
    pub frame_id: u64,
    /// Capture time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Records in it.
    pub count: u32,
    /// The CRC32 the frame ends with.
    pub crc32: u32,
    /// The encoded frame.
    #[serde(with = "serde_bytes")]
    pub wire: Vec<u8>,
}

impl WireFrame {
    /// A frame with its CRC32 read from the end of `wire`.
    pub fn new(frame_id: u64, timestamp_ms: u64, count: u32, wire: Vec<u8>) -> Self {
        let crc32 = wire
            .len()
            .checked_sub(4)
            .and_then(|at| wire.get(at..))
            .map_or(0, |tail| {
                u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]])
            });
        WireFrame {
            frame_id,
            timestamp_ms,
            count,
            crc32,
            wire,
        }
    }
}

/// The camera picture, for a picture-in-picture layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CameraFrame {
    /// The frame's id (the same as its detections and tracks).
    pub frame_id: u64,
    /// Capture time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// RGBA8, row-major.
    pub rgba: SharedFrame,
}

/// A change of the running configuration; `None` keeps a value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigPatch {
    /// Frames per second (changing it restarts tracking).
    pub fps: Option<f32>,
    /// Timelines published per second.
    pub timeline_hz: Option<f32>,
    /// Timeline horizon, s (restarts tracking).
    pub timeline_horizon_s: Option<f32>,
    /// Timeline step, s (restarts tracking).
    pub timeline_step_s: Option<f32>,
    /// Fraction of a box that must be inside the frame to report it (restarts tracking).
    pub min_inside: Option<f32>,
    /// Publish the camera picture.
    pub publish_frames: Option<bool>,
}

/// The seed's commands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// `CONFIG_UPDATE`.
    ConfigUpdate(ConfigPatch),
    /// `REFRESH_TIMELINES`: publish the timelines now.
    RefreshTimelines,
}

/// Requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PerceptionMsg {
    /// A command, acknowledged with its `request_id`; a bad one is rejected
    /// with the field named.
    Command {
        /// The caller's id for the command (1..=128 bytes).
        request_id: String,
        /// What to do.
        command: Command,
    },
    /// The latest published frames (idempotent).
    Latest,
    /// Counters and rates (idempotent).
    Stats,
    /// Under the virtual clock: capture and process the frame due at `ms`
    /// (from the start), publish it as the wall clock would, and answer the
    /// picture and tracks — the same for the same `ms` every run. Refused
    /// under the wall clock.
    AdvanceTo {
        /// Time since the start (ms).
        ms: u64,
    },
}

/// The seed's acknowledgement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// The command's id.
    pub request_id: String,
    /// `"success"`.
    pub status: String,
    /// When it was carried out, ms since the Unix epoch.
    pub timestamp: u64,
    /// What was done.
    pub message: String,
}

impl Ack {
    pub(crate) fn success(request_id: String, message: String, timestamp: u64) -> Self {
        Ack {
            request_id,
            status: "success".into(),
            timestamp,
            message,
        }
    }
}

/// The latest frame of each topic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatestFrames {
    /// Detections.
    pub detections: Option<WireFrame>,
    /// Tracks.
    pub tracks: Option<WireFrame>,
    /// Timelines.
    pub timelines: Option<WireFrame>,
}

/// Replies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PerceptionReply {
    /// A command was carried out.
    Ack(Ack),
    /// The latest frames.
    Latest(LatestFrames),
    /// Counters.
    Stats(PerceptionStats),
    /// What `AdvanceTo` reached: the latest picture and tracks.
    Frame {
        /// The camera picture (a copy).
        picture: Option<CameraFrame>,
        /// The tracks.
        tracks: Option<WireFrame>,
    },
}

/// What the actor reports about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerceptionStats {
    /// The latest frame's id.
    pub frame_id: u64,
    /// Frames processed by this instance.
    pub frames: u64,
    /// The configured rate.
    pub fps_target: f32,
    /// Frames processed per second over the last frames.
    pub fps: f64,
    /// Pipeline time per frame (detect, track, predict), median of the last 100, ms.
    pub processing_ms_p50: f64,
    /// The actor's whole time per frame (camera, pipeline, encoding,
    /// publishing), median of the last 100, ms.
    pub step_ms_p50: f64,
    /// Capture → published, median of the last 100, ms.
    pub latency_ms_p50: f64,
    /// The same, 99th percentile.
    pub latency_ms_p99: f64,
    /// Detections in the latest frame.
    pub detections: usize,
    /// Tracks in the latest frame.
    pub tracks: usize,
    /// Timelines frames published.
    pub timelines_published: u64,
    /// Timelines per second.
    pub timeline_hz: f32,
    /// Frame slots skipped because processing fell behind.
    pub skipped: u64,
    /// Frames the source could not give (a bad file).
    pub source_errors: u64,
    /// Frames that could not be encoded.
    pub encode_failures: u64,
    /// Time since this instance started, ms.
    pub uptime_ms: u64,
    /// Where the shared-memory export writes, or why it is off.
    pub shm_export: String,
    /// The camera's frame size, `[width, height]` (0 before the first frame).
    pub size: (u32, u32),
}

/// The counters behind [`PerceptionStats`].
pub(crate) struct Counters {
    pub(crate) frame_id: u64,
    pub(crate) frames: u64,
    pub(crate) detections: usize,
    pub(crate) tracks: usize,
    pub(crate) timelines_published: u64,
    pub(crate) skipped: u64,
    pub(crate) size: (u32, u32),
    pub(crate) source_errors: u64,
    pub(crate) encode_failures: u64,
    /// (processing ms, latency ms, when, step ms) of the last frames.
    recent: VecDeque<(f64, f64, std::time::Instant, f64)>,
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

impl Counters {
    pub(crate) fn new() -> Self {
        Counters {
            frame_id: 0,
            frames: 0,
            detections: 0,
            tracks: 0,
            timelines_published: 0,
            skipped: 0,
            size: (0, 0),
            source_errors: 0,
            encode_failures: 0,
            recent: VecDeque::new(),
        }
    }

    pub(crate) fn record_frame(&mut self, processing: Duration, step: Duration, latency_ms: u64) {
        self.frames += 1;
        if self.recent.len() == 100 {
            self.recent.pop_front();
        }
        self.recent.push_back((
            processing.as_secs_f64() * 1000.0,
            latency_ms as f64,
            std::time::Instant::now(),
            step.as_secs_f64() * 1000.0,
        ));
    }

    pub(crate) fn report(
        &self,
        fps_target: f32,
        timeline_hz: f32,
        uptime: Duration,
    ) -> PerceptionStats {
        let fps = match (self.recent.front(), self.recent.back()) {
            (Some(first), Some(last)) if self.recent.len() > 1 => {
                let span = last.2.saturating_duration_since(first.2).as_secs_f64();
                if span > 0.0 {
                    (self.recent.len() - 1) as f64 / span
                } else {
                    0.0
                }
            }
            _ => 0.0,
        };
        let processing: Vec<f64> = self.recent.iter().map(|r| r.0).collect();
        let steps: Vec<f64> = self.recent.iter().map(|r| r.3).collect();
        let latency: Vec<f64> = self.recent.iter().map(|r| r.1).collect();
        PerceptionStats {
            frame_id: self.frame_id,
            frames: self.frames,
            fps_target,
            fps,
            processing_ms_p50: percentile(processing, 0.5),
            step_ms_p50: percentile(steps, 0.5),
            latency_ms_p50: percentile(latency.clone(), 0.5),
            latency_ms_p99: percentile(latency, 0.99),
            detections: self.detections,
            tracks: self.tracks,
            timelines_published: self.timelines_published,
            timeline_hz,
            skipped: self.skipped,
            size: self.size,
            source_errors: self.source_errors,
            encode_failures: self.encode_failures,
            uptime_ms: uptime.as_millis() as u64,
            shm_export: String::new(),
        }
    }
}
