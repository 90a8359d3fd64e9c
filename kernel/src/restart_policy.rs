//! The supervisor's decisions, as pure functions: whether a child is
//! restarted (restart type), which children a failure takes down (strategy),
//! whether the restart intensity is exceeded, and how long to back off.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::{Restart, Strategy};

/// Whether a child of restart type `restart` that ended (`normal` or not) is restarted.
pub(crate) fn should_restart(restart: Restart, normal: bool) -> bool {
    match restart {
        Restart::Permanent => true,
        Restart::Transient => !normal,
        Restart::Temporary => false,
    }
}

/// Indices (in start order) of the children restarted when child `failed`
/// of `count` fails under `strategy`; `alive(i)` says whether child `i`
/// currently runs (stopped children are not brought back by a sibling's failure).
pub(crate) fn affected(
    strategy: Strategy,
    failed: usize,
    count: usize,
    alive: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let others = |range: std::ops::Range<usize>| -> Vec<usize> {
        range.filter(|i| *i == failed || alive(*i)).collect()
    };
    match strategy {
        Strategy::OneForOne => vec![failed],
        Strategy::OneForAll => others(0..count),
        Strategy::RestForOne => others(failed..count),
    }
}

/// OTP's restart intensity: more than `max` restarts within `within` is too many.
#[derive(Debug, Clone)]
pub(crate) struct Intensity {
    max: u32,
    within: Duration,
    restarts: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max: u32, within: Duration) -> Self {
        Intensity {
            max,
            within,
            restarts: VecDeque::new(),
        }
    }

    /// Record a restart at `now`; false when it exceeds the intensity.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        while let Some(first) = self.restarts.front() {
            if now.saturating_duration_since(*first) >= self.within {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        self.restarts.push_back(now);
        self.restarts.len() as u32 <= self.max
    }

    /// Restarts counted in the current window.
    pub(crate) fn count(&self) -> usize {
        self.restarts.len()
    }
}

/// A child that ran at least this long before failing restarts without delay.
pub(crate) const BACKOFF_RESET: Duration = Duration::from_millis(500);

/// Exponential backoff for children that fail soon after starting: the
/// first failure restarts at once; each further quick failure doubles the
/// delay from `initial` up to `max`.
pub(crate) fn backoff(quick_failures: u32, initial: Duration, max: Duration) -> Duration {
    if quick_failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32.checked_shl(quick_failures - 1).unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_types_follow_otp() {
        assert!(should_restart(Restart::Permanent, true));
        assert!(should_restart(Restart::Permanent, false));
        assert!(!should_restart(Restart::Transient, true));
        assert!(should_restart(Restart::Transient, false));
        assert!(!should_restart(Restart::Temporary, false));
    }

    #[test]
    fn strategies_pick_the_right_children() {
        let all = |_| true;
        assert_eq!(affected(Strategy::OneForOne, 1, 4, all), vec![1]);
        assert_eq!(affected(Strategy::OneForAll, 1, 4, all), vec![0, 1, 2, 3]);
        assert_eq!(affected(Strategy::RestForOne, 1, 4, all), vec![1, 2, 3]);
        // A stopped sibling stays stopped.
        assert_eq!(
            affected(Strategy::OneForAll, 1, 4, |i| i != 3),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn intensity_counts_within_the_window() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut intensity = Intensity::new(2, s(10));
        assert!(intensity.admit(t0));
        assert!(intensity.admit(t0 + s(1)));
        assert!(!intensity.admit(t0 + s(2)), "third restart within 10 s");
        let mut intensity = Intensity::new(2, s(10));
        assert!(intensity.admit(t0));
        assert!(intensity.admit(t0 + s(1)));
        assert!(intensity.admit(t0 + s(10)), "the first one left the window");
        assert_eq!(intensity.count(), 2);
    }

    #[test]
    fn zero_restarts_allowed_escalates_at_once() {
        let mut intensity = Intensity::new(0, Duration::from_secs(5));
        assert!(!intensity.admit(Instant::now()));
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let ms = Duration::from_millis;
        assert_eq!(backoff(0, ms(10), ms(100)), ms(0));
        assert_eq!(backoff(1, ms(10), ms(100)), ms(10));
        assert_eq!(backoff(3, ms(10), ms(100)), ms(40));
        assert_eq!(backoff(10, ms(10), ms(100)), ms(100));
        assert_eq!(backoff(99, ms(10), ms(100)), ms(100));
    }
}
