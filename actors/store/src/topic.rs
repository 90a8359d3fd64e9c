//! The topics of the scene — one per reducer (`layers`, `dims`, `camera`) —
//! each with its own records, history ring and compaction point.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::UnknownTopic;

/// A scope of the scene. Records are keyed `(scope, target, key)`; the scope
/// is a topic, and every topic has its own reducer and history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topic {
    /// Image layers: order, name, visibility, opacity.
    Layers,
    /// Viewer dimensions: `ndim`, per-axis ranges, the current step.
    Dims,
    /// The camera of a view: center, zoom, angles, perspective.
    Camera,
}

impl Topic {
    /// Every topic, in their fixed order (also the order of `code`).
    pub const ALL: [Topic; 3] = [Topic::Layers, Topic::Dims, Topic::Camera];

    /// The topic's name as it appears in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Layers => "layers",
            Topic::Dims => "dims",
            Topic::Camera => "camera",
        }
    }

    /// A dense index, `0..3`, for per-topic arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Topic::Layers => 0,
            Topic::Dims => 1,
            Topic::Camera => 2,
        }
    }

    /// The stable one-byte code stored in the database's keys.
    pub(crate) fn code(self) -> u8 {
        // The index doubles as the on-disk code; both are part of the format.
        self.index() as u8
    }

    /// The topic stored under `code`, if any.
    pub(crate) fn from_code(code: u8) -> Option<Topic> {
        Topic::ALL.get(usize::from(code)).copied()
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Topic {
    type Err = UnknownTopic;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTopic(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for topic in Topic::ALL {
            assert_eq!(topic.as_str().parse::<Topic>().ok(), Some(topic));
            assert_eq!(Topic::from_code(topic.code()), Some(topic));
        }
        assert_eq!(Topic::from_code(3), None);
        let err = "scene".parse::<Topic>().err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("unknown topic `scene` (expected layers, dims or camera)")
        );
    }
}
