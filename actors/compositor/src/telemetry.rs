//! The live loop's own measurements: frame intervals and render times over
//! the last minute, late frames (an interval over 1.25 periods), skipped
//! deadlines, and how long each input took to reach the screen: the bars'
//! age when a frame drew them, a scene change's wait for its first frame,
//! and a transition's image's wait (from the moment it could have started).

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A frame is late when its interval exceeds this many periods.
pub const LATE: f64 = 1.25;

/// Samples kept (a minute at 60 fps).
const KEPT: usize = 3600;

/// What one frame did, as the live loop publishes it on `compositor.stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameSample {
    /// The frame's number (from 0 for this instance).
    pub frame: u64,
    /// The compositor's clock when it was rendered (ms).
    pub at_ms: f64,
    /// Time since the previous frame started (ms; 0 for the first).
    pub interval_ms: f64,
    /// Time to render it (ms).
    pub render_ms: f64,
    /// Whether its interval exceeded 1.25 periods.
    pub late: bool,
    /// Age of the bars it drew (ms), if it drew any.
    pub bars_age_ms: Option<f64>,
    /// If it is the first frame with a scene change: the change's wait (ms).
    pub scene_ms: Option<f64>,
    /// If it is the first frame of a transition: the wait since the
    /// transition could have started (ms).
    pub image_ms: Option<f64>,
    /// How long after its deadline it started (ms): the scheduler's wake-up
    /// latency, or the previous frame overrunning its period.
    #[serde(default)]
    pub start_late_ms: f64,
    /// How long the previous frame's whole step took (ms): taking the
    /// inputs, rendering, publishing the frame and its figures.
    #[serde(default)]
    pub previous_step_ms: f64,
}

/// How long inputs took to reach a frame (see [`FrameSample`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latencies {
    /// The bars' age.
    pub bars_age: Option<Duration>,
    /// A scene change's wait.
    pub scene: Option<Duration>,
    /// A transition image's wait.
    pub image: Option<Duration>,
    /// How long after its deadline the frame started.
    pub start_late: Duration,
    /// The previous frame's whole step.
    pub previous_step: Duration,
}

/// Rolling figures (see the module documentation).
#[derive(Clone, Debug)]
pub struct Telemetry {
    period: Duration,
    intervals: VecDeque<f64>,
    renders: VecDeque<f64>,
    frames: u64,
    late: u64,
    skipped: u64,
    started: Option<Duration>,
    last: Option<Duration>,
    bars_age: VecDeque<f64>,
    scene: VecDeque<f64>,
    image: VecDeque<f64>,
}

fn percentile(values: &VecDeque<f64>, p: f64) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().collect();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get(((sorted.len().saturating_sub(1)) as f64 * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

fn push(values: &mut VecDeque<f64>, value: f64) {
    if values.len() == KEPT {
        values.pop_front();
    }
    values.push_back(value);
}

impl Telemetry {
    /// Figures for a loop of `period`.
    pub fn new(period: Duration) -> Self {
        Telemetry {
            period,
            intervals: VecDeque::new(),
            renders: VecDeque::new(),
            frames: 0,
            late: 0,
            skipped: 0,
            started: None,
            last: None,
            bars_age: VecDeque::new(),
            scene: VecDeque::new(),
            image: VecDeque::new(),
        }
    }

    /// The loop's period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// A frame started at `at` (the loop's clock), took `render`, and
    /// showed its inputs with `latencies`.
    pub fn record(&mut self, at: Duration, render: Duration, latencies: Latencies) -> FrameSample {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        let (bars_age_ms, scene_ms, image_ms) = (
            ms(latencies.bars_age),
            ms(latencies.scene),
            ms(latencies.image),
        );
        for (values, value) in [
            (&mut self.bars_age, bars_age_ms),
            (&mut self.scene, scene_ms),
            (&mut self.image, image_ms),
        ] {
            if let Some(value) = value {
                push(values, value);
            }
        }
        let interval = self.last.map(|last| at.saturating_sub(last));
        self.last = Some(at);
        self.started.get_or_insert(at);
        let render_ms = render.as_secs_f64() * 1000.0;
        push(&mut self.renders, render_ms);
        let mut late = false;
        let interval_ms = match interval {
            Some(interval) => {
                let ms = interval.as_secs_f64() * 1000.0;
                push(&mut self.intervals, ms);
                late = interval.as_secs_f64() > self.period.as_secs_f64() * LATE;
                if late {
                    self.late += 1;
                }
                ms
            }
            None => 0.0,
        };
        let sample = FrameSample {
            frame: self.frames,
            at_ms: at.as_secs_f64() * 1000.0,
            interval_ms,
            render_ms,
            late,
            bars_age_ms,
            scene_ms,
            image_ms,
            start_late_ms: latencies.start_late.as_secs_f64() * 1000.0,
            previous_step_ms: latencies.previous_step.as_secs_f64() * 1000.0,
        };
        self.frames += 1;
        sample
    }

    /// Deadlines passed over (the loop fell more than a period behind).
    pub fn skipped(&mut self, count: u64) {
        self.skipped += count;
    }

    /// The figures now.
    pub fn summary(&self) -> Pacing {
        let span = match (self.started, self.last) {
            (Some(first), Some(last)) if last > first => (last - first).as_secs_f64(),
            _ => 0.0,
        };
        Pacing {
            // The configured rate, not the rounding of its period.
            fps_target: (1000.0 / self.period.as_secs_f64()).round() / 1000.0,
            fps: if span > 0.0 {
                (self.frames.saturating_sub(1)) as f64 / span
            } else {
                0.0
            },
            frames: self.frames,
            dt_p50_ms: percentile(&self.intervals, 0.5),
            dt_p99_ms: percentile(&self.intervals, 0.99),
            dt_max_ms: self.intervals.iter().copied().fold(0.0, f64::max),
            render_p50_ms: percentile(&self.renders, 0.5),
            render_p99_ms: percentile(&self.renders, 0.99),
            render_max_ms: self.renders.iter().copied().fold(0.0, f64::max),
            late_frames: self.late,
            skipped_deadlines: self.skipped,
            bars_age_p99_ms: percentile(&self.bars_age, 0.99),
            scene_to_screen_max_ms: self.scene.iter().copied().fold(0.0, f64::max),
            scene_changes: self.scene.len() as u64,
            image_to_screen_max_ms: self.image.iter().copied().fold(0.0, f64::max),
            image_transitions: self.image.len() as u64,
        }
    }
}

/// The pacing figures `Status` reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pacing {
    /// The configured rate.
    pub fps_target: f64,
    /// Frames per second achieved (over the frames kept).
    pub fps: f64,
    /// Frames rendered by this instance.
    pub frames: u64,
    /// Frame interval, median (ms).
    pub dt_p50_ms: f64,
    /// Frame interval, 99th percentile (ms).
    pub dt_p99_ms: f64,
    /// Frame interval, longest (ms).
    pub dt_max_ms: f64,
    /// Render time, median (ms).
    pub render_p50_ms: f64,
    /// Render time, 99th percentile (ms).
    pub render_p99_ms: f64,
    /// Render time, longest (ms).
    pub render_max_ms: f64,
    /// Intervals over 1.25 periods.
    pub late_frames: u64,
    /// Deadlines skipped after falling behind.
    pub skipped_deadlines: u64,
    /// Age of the bars a frame drew, 99th percentile (ms): `fft.bars`
    /// arrival → on screen.
    pub bars_age_p99_ms: f64,
    /// Scene change (store notify taken) → first frame showing it, longest (ms).
    pub scene_to_screen_max_ms: f64,
    /// Scene changes measured.
    pub scene_changes: u64,
    /// Transition image ready (in memory and due) → first frame of the
    /// transition, longest (ms).
    pub image_to_screen_max_ms: f64,
    /// Transitions measured.
    pub image_transitions: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_frames_are_intervals_over_a_quarter_more_than_the_period() {
        let mut t = Telemetry::new(Duration::from_millis(40));
        let ms = Duration::from_millis;
        let none = Latencies::default();
        t.record(ms(0), ms(2), none);
        t.record(
            ms(40),
            ms(3),
            Latencies {
                bars_age: Some(ms(12)),
                scene: Some(ms(30)),
                image: None,
                start_late: ms(7),
                previous_step: ms(1),
            },
        );
        let late = t.record(ms(91), ms(4), none);
        assert_eq!((late.start_late_ms, late.previous_step_ms), (0.0, 0.0));
        assert!(late.late && (late.interval_ms - 51.0).abs() < 1e-9);
        let fine = t.record(ms(140), ms(2), none);
        assert!(!fine.late, "49 ms is within 1.25 × 40");
        let pacing = t.summary();
        assert_eq!((pacing.frames, pacing.late_frames), (4, 1));
        assert_eq!(pacing.dt_max_ms, 51.0);
        assert!((pacing.fps - 3.0 / 0.14).abs() < 1e-6);
        assert_eq!(pacing.render_max_ms, 4.0);
        assert_eq!(
            (pacing.bars_age_p99_ms, pacing.scene_to_screen_max_ms),
            (12.0, 30.0)
        );
        assert_eq!((pacing.scene_changes, pacing.image_transitions), (1, 0));
    }
}
