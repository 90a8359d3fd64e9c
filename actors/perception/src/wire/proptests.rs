//! Round trips and corruption of the wire frames: property tests over
//! arbitrary frames, and one crafted frame per error.

use proptest::prelude::*;

use super::codec::frame;
use super::*;
use crate::detect::Detection;
use crate::geometry::{BBox, Border};
use crate::timeline::{Timeline, TimelinePoint};
use crate::tracker::{TrackReport, TrackState};

fn finite() -> impl Strategy<Value = f32> {
    -1.0e6f32..1.0e6
}

fn bbox() -> impl Strategy<Value = BBox> {
    (finite(), finite(), 0.0f32..1.0e4, 0.0f32..1.0e4)
        .prop_map(|(x, y, w, h)| BBox::new(x, y, w, h))
}

fn detection() -> impl Strategy<Value = Detection> {
    (bbox(), 0.0f32..1.0, 0.0f32..1.0e6, 0u8..16).prop_map(|(bbox, score, area, bits)| Detection {
        bbox,
        score,
        area,
        border: Border::from_bits(bits).unwrap_or_default(),
    })
}

fn track() -> impl Strategy<Value = TrackReport> {
    (
        any::<u64>(),
        bbox(),
        (finite(), finite()),
        0.0f32..1.0,
        any::<(u32, u32, u32)>(),
        0u8..4,
    )
        .prop_map(
            |(id, bbox, velocity, score, (age, hits, time_since_update), code)| TrackReport {
                id,
                bbox,
                velocity,
                score,
                age,
                hits,
                time_since_update,
                state: TrackState::from_code(code).unwrap_or(TrackState::Tracked),
            },
        )
}

fn timeline() -> impl Strategy<Value = Timeline> {
    let point =
        (any::<u32>(), bbox(), 0.0f32..1.0e4, 0.0f32..1.0e4).prop_map(|(dt_ms, bbox, sx, sy)| {
            TimelinePoint {
                dt_ms,
                bbox,
                sigma: (sx, sy),
            }
        });
    (any::<u64>(), prop::collection::vec(point, 0..12))
        .prop_map(|(track_id, points)| Timeline { track_id, points })
}

fn detection_frame() -> impl Strategy<Value = DetectionFrame> {
    (
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec(detection(), 0..40),
    )
        .prop_map(|(frame_id, timestamp_ms, detections)| DetectionFrame {
            frame_id,
            timestamp_ms,
            detections,
        })
}

/// Decode as whatever kind the bytes claim; any error is fine, a panic is not.
/// One encoded frame of any of the three kinds.
fn encoded_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        detection_frame().prop_map(|f| f.encode().expect("encodable")),
        (any::<u64>(), prop::collection::vec(track(), 0..12)).prop_map(|(id, tracks)| {
            TracksFrame {
                frame_id: id,
                timestamp_ms: 5,
                tracks,
            }
            .encode()
            .expect("encodable")
        }),
        (any::<u64>(), prop::collection::vec(timeline(), 0..4)).prop_map(|(id, timelines)| {
            TimelinesFrame {
                frame_id: id,
                timestamp_ms: 5,
                timelines,
            }
            .encode()
            .expect("encodable")
        }),
    ]
}

fn decode_any(bytes: &[u8]) -> Result<(), WireError> {
    DetectionFrame::decode(bytes)
        .map(drop)
        .or_else(|_| TracksFrame::decode(bytes).map(drop))
        .or_else(|_| TimelinesFrame::decode(bytes).map(drop))
}

proptest! {
    #[test]
    fn detection_frames_round_trip(f in detection_frame()) {
        let bytes = f.encode().expect("encodable");
        prop_assert_eq!(bytes.len(), HEADER_LEN + f.detections.len() * DetectionFrame::RECORD_LEN + 4);
        prop_assert_eq!(DetectionFrame::decode(&bytes).expect("decodes"), f);
    }

    #[test]
    fn track_frames_round_trip(id in any::<u64>(), ts in any::<u64>(), tracks in prop::collection::vec(track(), 0..40)) {
        let f = TracksFrame { frame_id: id, timestamp_ms: ts, tracks };
        prop_assert_eq!(TracksFrame::decode(&f.encode().expect("encodable")).expect("decodes"), f);
    }

    #[test]
    fn timeline_frames_round_trip(id in any::<u64>(), ts in any::<u64>(), timelines in prop::collection::vec(timeline(), 0..8)) {
        let f = TimelinesFrame { frame_id: id, timestamp_ms: ts, timelines };
        prop_assert_eq!(TimelinesFrame::decode(&f.encode().expect("encodable")).expect("decodes"), f);
    }

    /// Any changed byte of any of the three frames is an error (the CRC32
    /// covers every byte before it, and a changed CRC no longer matches).
    #[test]
    fn any_changed_byte_is_an_error(bytes in encoded_frame(), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut bytes = bytes;
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        prop_assert!(decode_any(&bytes).is_err());
    }

    /// Any truncation of any of the three frames is an error.
    #[test]
    fn any_truncation_is_an_error(bytes in encoded_frame(), cut in any::<prop::sample::Index>()) {
        let keep = cut.index(bytes.len());
        prop_assert!(decode_any(&bytes[..keep]).is_err());
    }

    /// Damage behind a valid checksum: bytes changed, inserted or cut in a
    /// real frame of each kind, then the CRC rewritten, so that decoding
    /// gets past the checksum into every field — a frame or a typed error.
    #[test]
    fn damage_behind_a_valid_checksum_never_panics(
        bytes in encoded_frame(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = bytes;
        for (at, value, how) in edits {
            let body = bytes.len() - 4;
            if body == 0 {
                break;
            }
            let i = at.index(body);
            match how {
                0 => bytes[i] = value,
                1 => bytes.insert(i, value),
                _ => {
                    bytes.remove(i);
                }
            }
        }
        if bytes.len() >= 4 {
            reseal(&mut bytes);
        }
        let _ = decode_any(&bytes);
        let _ = peek_header(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode_any(&bytes);
    }

    #[test]
    fn random_payload_behind_a_valid_header_never_panics(kind in 1u32..=3, count in 0u32..300, payload in prop::collection::vec(any::<u8>(), 0..600)) {
        let bytes = frame(FrameKind::from_code(kind).unwrap_or(FrameKind::Detections), 1, 2, count, &payload).expect("frame");
        let _ = decode_any(&bytes);
    }
}

fn sample() -> Vec<u8> {
    let d = Detection {
        bbox: BBox::new(1.0, 2.0, 3.0, 4.0),
        score: 0.5,
        area: 12.0,
        border: Border::default(),
    };
    DetectionFrame {
        frame_id: 7,
        timestamp_ms: 700,
        detections: vec![d],
    }
    .encode()
    .expect("encodable")
}

/// Rewrite the checksum after editing a frame.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len();
    let crc = crc32fast::hash(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn each_header_fault_has_its_own_error() {
    let good = sample();
    assert_eq!(peek_header(&good).expect("header").frame_id, 7);

    let mut b = good.clone();
    b[0] = b'X';
    assert!(matches!(
        DetectionFrame::decode(&b),
        Err(WireError::BadMagic { .. })
    ));

    let mut b = good.clone();
    b[4..8].copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(
        DetectionFrame::decode(&b),
        Err(WireError::UnsupportedVersion { found: 9 })
    );

    assert!(matches!(
        TracksFrame::decode(&good),
        Err(WireError::WrongKind {
            expected: FrameKind::Tracks,
            found: 1
        })
    ));

    let mut b = good.clone();
    b[28..32].copy_from_slice(&1000u32.to_le_bytes());
    reseal(&mut b);
    assert!(matches!(
        DetectionFrame::decode(&b),
        Err(WireError::CountOverLimit {
            count: 1000,
            limit: MAX_DETECTIONS,
            ..
        })
    ));

    let mut b = good.clone();
    let n = b.len();
    b[n - 1] ^= 0xFF;
    assert!(matches!(
        DetectionFrame::decode(&b),
        Err(WireError::ChecksumMismatch { .. })
    ));

    assert!(matches!(
        DetectionFrame::decode(&good[..10]),
        Err(WireError::Truncated { available: 10, .. })
    ));
    assert!(matches!(
        DetectionFrame::decode(&good[..good.len() - 1]),
        Err(WireError::Truncated { .. })
    ));

    let mut b = good.clone();
    b.push(0);
    assert_eq!(
        DetectionFrame::decode(&b),
        Err(WireError::TrailingBytes { extra: 1 })
    );
}

#[test]
fn bad_fields_behind_a_valid_checksum_are_named() {
    // Reserved border bits.
    let mut payload = Vec::new();
    for v in [1.0f32, 2.0, 3.0, 4.0, 0.5, 12.0] {
        payload.extend_from_slice(&v.to_le_bytes());
    }
    payload.extend_from_slice(&0x100u32.to_le_bytes());
    let b = frame(FrameKind::Detections, 1, 1, 1, &payload).expect("frame");
    let err = DetectionFrame::decode(&b).expect_err("reserved bits");
    assert!(err.to_string().contains("detection.border"), "{err}");

    // A NaN coordinate.
    payload[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
    payload[24..28].copy_from_slice(&0u32.to_le_bytes());
    let b = frame(FrameKind::Detections, 1, 1, 1, &payload).expect("frame");
    assert!(
        DetectionFrame::decode(&b)
            .expect_err("nan")
            .to_string()
            .contains("detection.x")
    );

    // A count that the payload does not hold.
    let b = frame(FrameKind::Detections, 1, 1, 2, &payload).expect("frame");
    assert!(matches!(
        DetectionFrame::decode(&b),
        Err(WireError::InvalidField { .. })
    ));

    // An unknown track state.
    let t = TrackReport {
        id: 1,
        bbox: BBox::new(0.0, 0.0, 1.0, 1.0),
        velocity: (0.0, 0.0),
        score: 1.0,
        age: 1,
        hits: 1,
        time_since_update: 0,
        state: TrackState::Tracked,
    };
    let mut b = TracksFrame {
        frame_id: 1,
        timestamp_ms: 1,
        tracks: vec![t],
    }
    .encode()
    .expect("encodable");
    let at = b.len() - 8;
    b[at..at + 4].copy_from_slice(&9u32.to_le_bytes());
    reseal(&mut b);
    assert!(
        TracksFrame::decode(&b)
            .expect_err("state")
            .to_string()
            .contains("track.state")
    );
}

#[test]
fn encoding_refuses_what_it_could_not_decode() {
    let d = Detection {
        bbox: BBox::new(f32::INFINITY, 0.0, 1.0, 1.0),
        score: 1.0,
        area: 1.0,
        border: Border::default(),
    };
    assert!(
        DetectionFrame {
            frame_id: 0,
            timestamp_ms: 0,
            detections: vec![d]
        }
        .encode()
        .is_err()
    );
    let d = Detection {
        bbox: BBox::new(0.0, 0.0, 1.0, 1.0),
        ..d
    };
    let many = DetectionFrame {
        frame_id: 0,
        timestamp_ms: 0,
        detections: vec![d; MAX_DETECTIONS as usize + 1],
    };
    assert!(matches!(
        many.encode(),
        Err(WireError::CountOverLimit { .. })
    ));
    let long = Timeline {
        track_id: 1,
        points: vec![
            TimelinePoint {
                dt_ms: 1,
                bbox: d.bbox,
                sigma: (1.0, 1.0)
            };
            65
        ],
    };
    assert!(
        TimelinesFrame {
            frame_id: 0,
            timestamp_ms: 0,
            timelines: vec![long]
        }
        .encode()
        .is_err()
    );
    // Negative sizes and deviations decode as errors, so they do not encode.
    let negative = DetectionFrame {
        frame_id: 0,
        timestamp_ms: 0,
        detections: vec![Detection {
            bbox: BBox::new(0.0, 0.0, -1.0, 1.0),
            ..d
        }],
    };
    assert!(matches!(
        negative.encode(),
        Err(WireError::InvalidField {
            what: "detection.w",
            ..
        })
    ));
    let point = TimelinePoint {
        dt_ms: 1,
        bbox: d.bbox,
        sigma: (1.0, -0.5),
    };
    let bad_sigma = TimelinesFrame {
        frame_id: 0,
        timestamp_ms: 0,
        timelines: vec![Timeline {
            track_id: 1,
            points: vec![point],
        }],
    };
    assert!(matches!(
        bad_sigma.encode(),
        Err(WireError::InvalidField {
            what: "point.sigma_y",
            ..
        })
    ));
}

#[test]
fn a_timeline_over_the_point_limit_is_refused() {
    let n = crate::timeline::MAX_TIMELINE_POINTS as u32 + 1;
    let mut payload = 7u64.to_le_bytes().to_vec();
    payload.extend_from_slice(&n.to_le_bytes());
    let bytes = frame(FrameKind::Timelines, 1, 2, 1, &payload).expect("frame");
    assert!(matches!(
        TimelinesFrame::decode(&bytes),
        Err(WireError::CountOverLimit {
            what: "timeline point",
            ..
        })
    ));
}
