//! The built-in synthetic scenarios the targets are stated for: `easy`,
//! `crossing`, `crowded` and `noisy`. Each is a [`SyntheticConfig`] for any
//! seed; the seed changes the scene, never the kind of scene.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::PerceptionError;
use crate::source::synthetic::{Layout, SyntheticConfig};

/// A built-in synthetic scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scenario {
    /// 4 objects, each in its own lane: no crossing, no occlusion, mild noise.
    Easy,
    /// 8 objects on straight paths through the middle: they cross and
    /// occlude each other.
    Crossing,
    /// 25 smaller objects on free, curving paths, arriving over the first
    /// six seconds.
    Crowded,
    /// 8 objects on free paths under sensor noise σ 12, ±8 % flicker and a
    /// ±15 grey-level brightness drift.
    Noisy,
}

impl Scenario {
    /// Every scenario, in the order of the documentation.
    pub const ALL: [Scenario; 4] = [
        Scenario::Easy,
        Scenario::Crossing,
        Scenario::Crowded,
        Scenario::Noisy,
    ];

    /// The scenario's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Easy => "easy",
            Scenario::Crossing => "crossing",
            Scenario::Crowded => "crowded",
            Scenario::Noisy => "noisy",
        }
    }

    /// The synthetic camera configuration of this scenario for `seed`
    /// (640×480 at 10 fps, 300 frames).
    pub fn config(self, seed: u64) -> SyntheticConfig {
        let base = SyntheticConfig {
            seed,
            ..SyntheticConfig::default()
        };
        match self {
            Scenario::Easy => SyntheticConfig {
                objects: 4,
                layout: Layout::Lanes,
                ..base
            },
            Scenario::Crossing => SyntheticConfig {
                objects: 8,
                layout: Layout::Crossing,
                ..base
            },
            Scenario::Crowded => SyntheticConfig {
                objects: 25,
                layout: Layout::Free,
                size_min: 0.04,
                size_max: 0.09,
                arrival_s: 6.0,
                ..base
            },
            Scenario::Noisy => SyntheticConfig {
                objects: 8,
                layout: Layout::Free,
                noise_sigma: 12.0,
                flicker: 0.08,
                drift: 15.0,
                ..base
            },
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = PerceptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| {
                PerceptionError::config(
                    "scenario",
                    format!("{s:?} is not one of easy, crossing, crowded, noisy"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_names_are_rejected() {
        for sc in Scenario::ALL {
            assert_eq!(sc.name().parse::<Scenario>().expect("known"), sc);
            sc.config(7).validate().expect("valid config");
        }
        let err = "busy".parse::<Scenario>().expect_err("unknown");
        assert!(err.to_string().contains("\"busy\""));
    }
}
