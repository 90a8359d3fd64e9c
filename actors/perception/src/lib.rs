//! Camera perception without model weights: frame sources (a seeded
//! synthetic camera with exact ground truth, a directory of images), motion
//! detection by background subtraction, SORT tracking with ByteTrack's
//! second pass, per-track timelines, the seed's wire frames, and scoring with
//! the MOTChallenge metrics.

pub mod actor;
pub mod assign;
pub mod detect;
pub mod error;
pub mod geometry;
pub mod kalman;
pub mod metrics;
pub mod mot_io;
pub mod pipeline;
pub mod scenario;
pub mod shm;
pub mod source;
pub mod timeline;
pub mod tracker;
pub mod wire;

pub use detect::{Detection, Detector, DetectorConfig, FrameEvidence};
pub use error::PerceptionError;
pub use geometry::{BBox, Border};
pub use kalman::{BoxKalman, KalmanConfig};
pub use metrics::{MotMetrics, evaluate};
pub use mot_io::{MotRecord, read_mot, write_mot};
pub use pipeline::{
    FrameOutput, Pipeline, PipelineConfig, Progress, SequenceReport, Timing, run_sequence,
};
pub use scenario::Scenario;
pub use source::synthetic::Layout;
pub use source::{Frame, FrameSource, ImageDirSource, SyntheticCamera, SyntheticConfig, TruthBox};
pub use timeline::{Timeline, TimelineConfig, TimelinePoint};
pub use tracker::{TrackReport, TrackState, Tracker, TrackerConfig};
pub use wire::{DetectionFrame, FrameKind, TimelinesFrame, TracksFrame, WireError};
