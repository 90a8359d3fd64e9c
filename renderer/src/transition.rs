//! Transitions: their kinds and names, easing, timing, and the progress
//! value in Q16 fixed point that both paths consume. Progress 1.0 maps to
//! exactly 65536, where every kind's formula yields its target bit for bit.

use std::sync::Arc;
use std::time::Duration;

use crate::error::RenderError;
use crate::frame::Frame;
use crate::tables::TransitionTables;

/// Progress in Q16 fixed point: 0 is the source image, `PROGRESS_ONE` the target.
pub const PROGRESS_ONE: u32 = 1 << 16;

/// Every transition the renderer draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransitionKind {
    /// Per-pixel linear blend from source to target.
    Crossfade,
    /// The source slides out to the left while the target slides in from the right.
    SlideLeft,
    /// The source slides out to the right while the target slides in from the left.
    SlideRight,
    /// The source slides out upwards while the target slides in from below.
    SlideUp,
    /// The source slides out downwards while the target slides in from above.
    SlideDown,
    /// A vertical edge moves from the right edge to the left, uncovering the target.
    WipeLeft,
    /// A vertical edge moves from the left edge to the right, uncovering the target.
    WipeRight,
    /// A horizontal edge moves from the bottom to the top, uncovering the target.
    WipeUp,
    /// A horizontal edge moves from the top to the bottom, uncovering the target.
    WipeDown,
    /// A grid of blocks flip (around their vertical axis) one after another in a seeded order.
    Blockflip,
    /// Pixels switch from source to target in a seeded order.
    Dissolve,
    /// The target grows from the centre over the source.
    Zoom,
}

impl TransitionKind {
    /// All kinds, in the order of their shader codes.
    pub const ALL: [TransitionKind; 12] = [
        TransitionKind::Crossfade,
        TransitionKind::SlideLeft,
        TransitionKind::SlideRight,
        TransitionKind::SlideUp,
        TransitionKind::SlideDown,
        TransitionKind::WipeLeft,
        TransitionKind::WipeRight,
        TransitionKind::WipeUp,
        TransitionKind::WipeDown,
        TransitionKind::Blockflip,
        TransitionKind::Dissolve,
        TransitionKind::Zoom,
    ];

    /// The name used on the command line and in configs (`slide-left`, ...).
    pub fn name(self) -> &'static str {
        match self {
            TransitionKind::Crossfade => "crossfade",
            TransitionKind::SlideLeft => "slide-left",
            TransitionKind::SlideRight => "slide-right",
            TransitionKind::SlideUp => "slide-up",
            TransitionKind::SlideDown => "slide-down",
            TransitionKind::WipeLeft => "wipe-left",
            TransitionKind::WipeRight => "wipe-right",
            TransitionKind::WipeUp => "wipe-up",
            TransitionKind::WipeDown => "wipe-down",
            TransitionKind::Blockflip => "blockflip",
            TransitionKind::Dissolve => "dissolve",
            TransitionKind::Zoom => "zoom",
        }
    }

    /// Parses a name as [`name`](Self::name) prints it.
    pub fn from_name(name: &str) -> Result<Self, RenderError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| RenderError::UnknownName {
                what: "transition",
                name: name.to_owned(),
                expected: Self::ALL.map(Self::name).join(", "),
            })
    }

    /// The number the WGSL shader switches on (index in [`ALL`](Self::ALL)).
    pub(crate) fn code(self) -> u32 {
        Self::ALL
            .iter()
            .position(|k| *k == self)
            .expect("invariant: every kind is in ALL") as u32
    }

    /// Whether this kind needs precomputed [`TransitionTables`].
    pub fn needs_tables(self) -> bool {
        matches!(self, TransitionKind::Blockflip | TransitionKind::Dissolve)
    }
}

impl std::fmt::Display for TransitionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for TransitionKind {
    type Err = RenderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s)
    }
}

/// How progress follows time. All map 0 to 0 and 1 to 1 exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Easing {
    /// Progress equals the time fraction.
    Linear,
    /// Cubic ease-in: slow start.
    EaseIn,
    /// Cubic ease-out: slow end.
    EaseOut,
    /// Cubic ease-in-out: slow start and end.
    #[default]
    EaseInOut,
}

impl Easing {
    /// All easings.
    pub const ALL: [Easing; 4] = [
        Easing::Linear,
        Easing::EaseIn,
        Easing::EaseOut,
        Easing::EaseInOut,
    ];

    /// The name used on the command line (`ease-in-out`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Easing::Linear => "linear",
            Easing::EaseIn => "ease-in",
            Easing::EaseOut => "ease-out",
            Easing::EaseInOut => "ease-in-out",
        }
    }

    /// Parses a name as [`name`](Self::name) prints it.
    pub fn from_name(name: &str) -> Result<Self, RenderError> {
        Self::ALL
            .into_iter()
            .find(|e| e.name() == name)
            .ok_or_else(|| RenderError::UnknownName {
                what: "easing",
                name: name.to_owned(),
                expected: Self::ALL.map(Self::name).join(", "),
            })
    }

    /// Applies the curve to a time fraction, clamped to `0..=1`.
    pub fn apply(self, t: f64) -> f64 {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        match self {
            Easing::Linear => t,
            Easing::EaseIn => t * t * t,
            Easing::EaseOut => 1.0 - (1.0 - t).powi(3),
            Easing::EaseInOut => {
                if t < 0.5 {
                    4.0 * t * t * t
                } else {
                    1.0 - (2.0 - 2.0 * t).powi(3) / 2.0
                }
            }
        }
    }
}

/// A transition as configured: what, how long, with which curve and seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TransitionSpec {
    /// Which transition.
    pub kind: TransitionKind,
    /// How long it runs.
    pub duration: Duration,
    /// How progress follows time.
    pub easing: Easing,
    /// Seed of the orders of `blockflip` and `dissolve` (ignored by the others).
    pub seed: u64,
}

impl TransitionSpec {
    /// The time fraction after `elapsed`, clamped to `0..=1`; a zero
    /// duration is finished at once.
    pub fn time_fraction(&self, elapsed: Duration) -> f64 {
        if self.duration.is_zero() {
            return 1.0;
        }
        (elapsed.as_secs_f64() / self.duration.as_secs_f64()).clamp(0.0, 1.0)
    }

    /// Whether the transition is over after `elapsed`: the scene owner then
    /// drops it and shows the target alone (`snap_to_new`).
    pub fn is_finished(&self, elapsed: Duration) -> bool {
        elapsed >= self.duration
    }
}

/// A transition in flight: the slideshow layer blends `from` into its
/// current image.
#[derive(Clone, Debug)]
pub struct ActiveTransition {
    /// The image being left.
    pub from: Arc<Frame>,
    /// What runs.
    pub spec: TransitionSpec,
    /// Time fraction, `0..=1` (before easing); 1 draws the target exactly.
    pub time: f64,
    /// Tables precomputed by a worker ([`TransitionTables::build`]); when
    /// `None` the compositor builds and caches them itself.
    pub tables: Option<Arc<TransitionTables>>,
}

impl ActiveTransition {
    /// A transition at time fraction `time`.
    pub fn new(from: Arc<Frame>, spec: TransitionSpec, time: f64) -> Self {
        Self {
            from,
            spec,
            time,
            tables: None,
        }
    }

    /// The eased progress in Q16, `0..=PROGRESS_ONE`.
    pub fn progress_q16(&self) -> u32 {
        progress_q16(self.spec.easing.apply(self.time))
    }
}

/// Converts an eased progress in `0..=1` to Q16 (rounded, clamped).
pub fn progress_q16(eased: f64) -> u32 {
    let e = if eased.is_nan() {
        0.0
    } else {
        eased.clamp(0.0, 1.0)
    };
    (e * f64::from(PROGRESS_ONE)).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for k in TransitionKind::ALL {
            assert_eq!(TransitionKind::from_name(k.name()).expect("known"), k);
            assert_eq!(TransitionKind::ALL[k.code() as usize], k);
        }
        let err = TransitionKind::from_name("fade").expect_err("unknown");
        let msg = err.to_string();
        assert!(
            msg.contains("\"fade\"") && msg.contains("wipe-down"),
            "{msg}"
        );
        for e in Easing::ALL {
            assert_eq!(Easing::from_name(e.name()).expect("known"), e);
        }
    }

    #[test]
    fn easings_pin_both_ends_and_progress_one_is_exact() {
        for e in Easing::ALL {
            assert_eq!(progress_q16(e.apply(0.0)), 0, "{e:?}");
            assert_eq!(progress_q16(e.apply(1.0)), PROGRESS_ONE, "{e:?}");
            assert_eq!(progress_q16(e.apply(7.0)), PROGRESS_ONE, "{e:?}");
            assert_eq!(progress_q16(e.apply(f64::NAN)), 0, "{e:?}");
            let mut last = 0;
            for i in 0..=100 {
                let p = progress_q16(e.apply(f64::from(i) / 100.0));
                assert!(p >= last, "{e:?} is monotonic");
                last = p;
            }
        }
    }

    #[test]
    fn time_fraction_clamps_and_zero_duration_is_finished() {
        let spec = TransitionSpec {
            kind: TransitionKind::Crossfade,
            duration: Duration::from_millis(400),
            easing: Easing::Linear,
            seed: 1,
        };
        assert_eq!(spec.time_fraction(Duration::from_millis(100)), 0.25);
        assert_eq!(spec.time_fraction(Duration::from_secs(9)), 1.0);
        assert!(!spec.is_finished(Duration::from_millis(399)));
        assert!(spec.is_finished(Duration::from_millis(400)));
        let zero = TransitionSpec {
            duration: Duration::ZERO,
            ..spec
        };
        assert_eq!(zero.time_fraction(Duration::ZERO), 1.0);
    }
}
