//! Frame-time statistics: min / median / max / mean of render times, and
//! the `dt_max` and `avg_fps` of seed 001's metrics.

use std::time::Duration;

/// Collected frame times.
#[derive(Clone, Debug, Default)]
pub struct FrameTimes {
    samples: Vec<Duration>,
}

/// A summary of [`FrameTimes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSummary {
    /// Frames measured.
    pub count: usize,
    /// Fastest.
    pub min: Duration,
    /// Median (upper median for even counts).
    pub median: Duration,
    /// Slowest (`dt_max`).
    pub max: Duration,
    /// Mean.
    pub mean: Duration,
}

impl TimeSummary {
    /// Frames per second the mean allows (`avg_fps`); 0 when nothing was timed.
    pub fn avg_fps(&self) -> f64 {
        let s = self.mean.as_secs_f64();
        if s > 0.0 { 1.0 / s } else { 0.0 }
    }
}

impl FrameTimes {
    /// No samples yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one frame.
    pub fn record(&mut self, d: Duration) {
        self.samples.push(d);
    }

    /// The summary; `None` before the first frame.
    pub fn summary(&self) -> Option<TimeSummary> {
        if self.samples.is_empty() {
            return None;
        }
        let mut s = self.samples.clone();
        s.sort_unstable();
        let total: Duration = s.iter().sum();
        Some(TimeSummary {
            count: s.len(),
            min: s[0],
            median: s[s.len() / 2],
            max: s[s.len() - 1],
            mean: total / s.len() as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_orders_the_samples() {
        let mut t = FrameTimes::new();
        assert!(t.summary().is_none());
        for ms in [5, 1, 9, 3] {
            t.record(Duration::from_millis(ms));
        }
        let s = t.summary().expect("samples");
        assert_eq!(s.count, 4);
        assert_eq!(s.min, Duration::from_millis(1));
        assert_eq!(s.median, Duration::from_millis(5));
        assert_eq!(s.max, Duration::from_millis(9));
        assert_eq!(
            s.mean,
            Duration::from_millis(4) + Duration::from_micros(500)
        );
        assert!((s.avg_fps() - 222.2).abs() < 0.1);
    }
}
