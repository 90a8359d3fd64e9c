//! The perception pipeline of one camera — detect, track, predict timelines —
//! and the offline runner that plays a whole source through it, timing each
//! frame and collecting tracks and ground truth as MOTChallenge records.

use std::collections::VecDeque;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::detect::{Detection, Detector, DetectorConfig};
use crate::error::PerceptionError;
use crate::mot_io::MotRecord;
use crate::source::{Frame, FrameSource};
use crate::timeline::{Timeline, TimelineConfig};
use crate::tracker::{TrackReport, Tracker, TrackerConfig};
use crate::wire::{DetectionFrame, TracksFrame, WireError};

/// Configuration of the whole pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// The motion detector.
    pub detector: DetectorConfig,
    /// The tracker.
    pub tracker: TrackerConfig,
    /// The timeline predictor.
    pub timeline: TimelineConfig,
    /// A track is reported only while at least this fraction of its
    /// estimated box is inside the frame (the ground-truth convention for
    /// objects entering or leaving: see `SyntheticConfig::min_inside`).
    pub min_inside: f32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            detector: DetectorConfig::default(),
            tracker: TrackerConfig::default(),
            timeline: TimelineConfig::default(),
            min_inside: 0.25,
        }
    }
}

/// What the pipeline found in one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameOutput {
    /// The frame's index.
    pub frame_id: u64,
    /// The frame's timestamp, ms.
    pub timestamp_ms: u64,
    /// Detections.
    pub detections: Vec<Detection>,
    /// Reported tracks, boxes clipped to the frame.
    pub tracks: Vec<TrackReport>,
    /// Timelines of the reported tracks.
    pub timelines: Vec<Timeline>,
}

impl FrameOutput {
    /// The frame's detections in seed 003's wire format (`perception.detections`).
    pub fn detections_wire(&self) -> Result<Vec<u8>, WireError> {
        DetectionFrame {
            frame_id: self.frame_id,
            timestamp_ms: self.timestamp_ms,
            detections: self.detections.clone(),
        }
        .encode()
    }

    /// The frame's tracks in seed 003's wire format (`perception.tracks`).
    pub fn tracks_wire(&self) -> Result<Vec<u8>, WireError> {
        TracksFrame {
            frame_id: self.frame_id,
            timestamp_ms: self.timestamp_ms,
            tracks: self.tracks.clone(),
        }
        .encode()
    }
}

/// Detector, tracker and timeline predictor of one camera.
#[derive(Debug)]
pub struct Pipeline {
    detector: Detector,
    tracker: Tracker,
    timeline: TimelineConfig,
    min_inside: f32,
    fps: f32,
    /// Frames pushed and not yet output: index, timestamp, size.
    pending: VecDeque<(u64, u64, (u32, u32))>,
}

impl Pipeline {
    /// A pipeline for a camera at `fps`, every part validated.
    pub fn new(cfg: &PipelineConfig, fps: f32) -> Result<Self, PerceptionError> {
        cfg.timeline.validate()?;
        if !(cfg.min_inside.is_finite() && (0.0..=1.0).contains(&cfg.min_inside)) {
            return Err(PerceptionError::config(
                "min_inside",
                format!("{} is outside 0..=1", cfg.min_inside),
            ));
        }
        if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
            return Err(PerceptionError::config(
                "fps",
                format!("{fps} is outside (0, 1000]"),
            ));
        }
        Ok(Pipeline {
            detector: Detector::new(cfg.detector.clone())?,
            tracker: Tracker::new(cfg.tracker.clone())?,
            timeline: cfg.timeline,
            min_inside: cfg.min_inside,
            fps,
            pending: VecDeque::new(),
        })
    }

    /// Take one frame; return the outputs of every frame that became ready,
    /// in order. While the detector gathers its first background
    /// (`detector.bootstrap_frames`) nothing is ready; then those frames
    /// come out together, and after that one output per frame.
    pub fn push(&mut self, frame: &Frame) -> Result<Vec<FrameOutput>, PerceptionError> {
        self.detector.push(&frame.image)?;
        self.pending
            .push_back((frame.index, frame.timestamp_ms, frame.image.dimensions()));
        Ok(self.drain())
    }

    /// End of the stream: the outputs of the frames still held back.
    pub fn finish(&mut self) -> Vec<FrameOutput> {
        self.detector.flush();
        self.drain()
    }

    fn drain(&mut self) -> Vec<FrameOutput> {
        let mut out = Vec::new();
        while let Some(detections) = self.detector.next_detections() {
            let Some((frame_id, timestamp_ms, (w, h))) = self.pending.pop_front() else {
                break;
            };
            let min_inside = self.min_inside;
            let tracks: Vec<TrackReport> = self
                .tracker
                .update(&detections, Some(self.detector.evidence()))
                .into_iter()
                .filter_map(|t| {
                    let bbox = t.bbox.clip(w, h)?;
                    (bbox.area() >= min_inside * t.bbox.area()).then_some(TrackReport { bbox, ..t })
                })
                .collect();
            let ids: Vec<u64> = tracks.iter().map(|t| t.id).collect();
            let timelines = self.tracker.timelines_of(&ids, &self.timeline, self.fps);
            out.push(FrameOutput {
                frame_id,
                timestamp_ms,
                detections,
                tracks,
                timelines,
            });
        }
        out
    }

    /// The detector (its foreground mask and last threshold).
    pub fn detector(&self) -> &Detector {
        &self.detector
    }
}

/// Per-frame processing time over a sequence, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Fastest frame.
    pub min_ms: f64,
    /// Median frame.
    pub median_ms: f64,
    /// Slowest frame.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Timing {
    /// Summary of per-frame durations; all zero for an empty slice.
    pub fn from_samples(samples_ms: &[f64]) -> Self {
        if samples_ms.is_empty() {
            return Timing {
                min_ms: 0.0,
                median_ms: 0.0,
                max_ms: 0.0,
                mean_ms: 0.0,
            };
        }
        let mut s = samples_ms.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Timing {
            min_ms: s[0],
            median_ms: median,
            max_ms: s[n - 1],
            mean_ms: s.iter().sum::<f64>() / n as f64,
        }
    }
}

/// Result of playing a whole source through a pipeline.
#[derive(Debug, Clone)]
pub struct SequenceReport {
    /// Frames processed.
    pub frames: usize,
    /// Detect + track + timelines time per frame (not reading or generating
    /// the frame).
    pub timing: Timing,
    /// Reported tracks of every frame, MOTChallenge records (frames from 1,
    /// `conf` = the track's last detection score).
    pub tracks: Vec<MotRecord>,
    /// The source's ground truth, when it has one (`conf` = 1).
    pub truth: Option<Vec<MotRecord>>,
}

/// MOTChallenge frame number (from 1) of a frame index.
fn frame_number(index: u64) -> Result<u32, PerceptionError> {
    u32::try_from(index + 1)
        .map_err(|_| PerceptionError::config("frames", "more than 4294967295 frames"))
}

/// Per-frame times and track records of [`run_sequence`].
struct Tally {
    samples: Vec<f64>,
    /// Time spent on frames whose outputs are not out yet (the bootstrap):
    /// shared by the outputs when they come.
    owed_ms: f64,
    tracks: Vec<MotRecord>,
}

impl Tally {
    fn add(&mut self, outputs: Vec<FrameOutput>, spent_ms: f64) -> Result<(), PerceptionError> {
        self.owed_ms += spent_ms;
        if outputs.is_empty() {
            return Ok(());
        }
        let each = self.owed_ms / outputs.len() as f64;
        self.owed_ms = 0.0;
        for out in outputs {
            self.samples.push(each);
            let number = frame_number(out.frame_id)?;
            let records = out.tracks.iter().map(|t| MotRecord {
                frame: number,
                id: t.id,
                bbox: t.bbox,
                conf: t.score,
            });
            self.tracks.extend(records);
        }
        Ok(())
    }
}

/// Progress of [`run_sequence`], given after every frame.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Frames done.
    pub done: usize,
    /// Frames in the sequence, when known.
    pub total: Option<usize>,
}

/// Play `source` through a new pipeline built from `cfg`; `on_frame` is
/// called after every frame (for progress display).
pub fn run_sequence(
    source: &mut dyn FrameSource,
    cfg: &PipelineConfig,
    mut on_frame: impl FnMut(Progress),
) -> Result<SequenceReport, PerceptionError> {
    let mut pipeline = Pipeline::new(cfg, source.fps())?;
    let total = source.frame_count();
    let mut tally = Tally {
        // The count is the caller's claim: reserve for at most an hour at 30 fps.
        samples: Vec::with_capacity(total.unwrap_or(0).min(108_000)),
        owed_ms: 0.0,
        tracks: Vec::new(),
    };
    let mut truth: Option<Vec<MotRecord>> = None;
    let mut frames = 0usize;
    while let Some(frame) = source.next_frame()? {
        let start = Instant::now();
        let outputs = pipeline.push(&frame)?;
        tally.add(outputs, start.elapsed().as_secs_f64() * 1000.0)?;
        if let Some(boxes) = &frame.truth {
            let number = frame_number(frame.index)?;
            let records = boxes.iter().map(|b| MotRecord {
                frame: number,
                id: b.id,
                bbox: b.bbox,
                conf: 1.0,
            });
            truth.get_or_insert_with(Vec::new).extend(records);
        }
        frames += 1;
        on_frame(Progress {
            done: frames,
            total,
        });
    }
    let start = Instant::now();
    let outputs = pipeline.finish();
    tally.add(outputs, start.elapsed().as_secs_f64() * 1000.0)?;
    let Tally {
        samples, tracks, ..
    } = tally;
    Ok(SequenceReport {
        frames,
        timing: Timing::from_samples(&samples),
        tracks,
        truth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_summary_of_odd_even_and_empty_samples() {
        let t = Timing::from_samples(&[3.0, 1.0, 2.0]);
        assert_eq!(
            (t.min_ms, t.median_ms, t.max_ms, t.mean_ms),
            (1.0, 2.0, 3.0, 2.0)
        );
        assert_eq!(Timing::from_samples(&[1.0, 4.0]).median_ms, 2.5);
        assert_eq!(Timing::from_samples(&[]).max_ms, 0.0);
    }
}
