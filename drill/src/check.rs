//! The checks after the drill: every acknowledged update is in the store's
//! audit log exactly as acknowledged (the oracle is the acks file the
//! writers kept, not the store's own state), the frame intervals outside
//! the fault windows, and the recovery percentiles.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

use crate::readers::FrameSample;
use crate::ws::Ack;

/// The acks missing from `audit` (the `audit` array of `warden store
/// inspect --json --audit`), and the first in words.
pub fn lost_acks(acks: &[Ack], audit: &[Value]) -> (u64, Option<String>) {
    let mut by_version: HashMap<u64, Vec<&Value>> = HashMap::new();
    for entry in audit {
        if let Some(version) = entry["version"].as_u64() {
            by_version.entry(version).or_default().push(entry);
        }
    }
    let mut lost = 0;
    let mut first = None;
    for ack in acks {
        let found = by_version.get(&ack.version).is_some_and(|entries| {
            entries.iter().any(|e| {
                e["actor"] == ack.actor.as_str()
                    && e["target"] == ack.layer.as_str()
                    && e["key"] == "opacity"
                    && e["new"]
                        .as_f64()
                        .is_some_and(|v| (v - ack.opacity).abs() < 1e-9)
            })
        });
        if !found {
            lost += 1;
            first.get_or_insert_with(|| {
                format!(
                    "{} acked version {} ({} opacity {}) but the audit log has {:?} there",
                    ack.request_id,
                    ack.version,
                    ack.layer,
                    ack.opacity,
                    by_version.get(&ack.version)
                )
            });
        }
    }
    (lost, first)
}

/// The acks file's lines.
pub fn read_acks(text: &str) -> anyhow::Result<Vec<Ack>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|err| anyhow::anyhow!("acks file line {}: {err}", i + 1))
        })
        .collect()
}

/// A span during which frame intervals are not held to their bound (the
/// compositor itself struck, or the kernel down).
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// From.
    pub from: Instant,
    /// To.
    pub to: Instant,
}

/// The largest frame interval (ms) among `samples` outside `excused`, and
/// how many samples were held to the bound. A sample's interval ends when
/// it arrived (within a few ms), so one that arrives within the interval's
/// length after a window's end is excused too; the first frame of an
/// instance (`frame` 0) has no interval.
pub fn dt_max(samples: &[FrameSample], excused: &[Window]) -> (f64, usize) {
    let mut max: f64 = 0.0;
    let mut held = 0;
    for s in samples {
        if s.frame == 0 {
            continue;
        }
        let started = s.at.checked_sub(std::time::Duration::from_secs_f64(
            s.interval_ms / 1000.0 + 0.05,
        ));
        let in_window = excused.iter().any(|w| {
            let begin = started.unwrap_or(s.at);
            begin <= w.to && s.at >= w.from
        });
        if !in_window {
            held += 1;
            max = max.max(s.interval_ms);
        }
    }
    (max, held)
}

/// The `q` quantile (0..=1) of sorted `values` (nearest rank); 0 if empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn ack(version: u64, opacity: f64) -> Ack {
        Ack {
            actor: "drill-w0".into(),
            request_id: format!("drill-w0-{version}"),
            version,
            layer: "drill0".into(),
            opacity,
        }
    }

    fn entry(version: u64, opacity: f64) -> Value {
        json!({"version": version, "actor": "drill-w0", "scope": "layers", "target": "drill0", "key": "opacity", "old": null, "new": opacity})
    }

    #[test]
    fn an_ack_matches_only_its_own_version_actor_target_and_value() {
        let audit = vec![entry(5, 0.5), entry(6, 0.25)];
        assert_eq!(lost_acks(&[ack(5, 0.5), ack(6, 0.25)], &audit).0, 0);
        let (lost, first) = lost_acks(&[ack(5, 0.25), ack(7, 0.1)], &audit);
        assert_eq!(lost, 2, "a wrong value and a missing version");
        assert!(first.expect("named").contains("version 5"));
        let mut other = entry(5, 0.5);
        other["actor"] = json!("someone");
        assert_eq!(
            lost_acks(&[ack(5, 0.5)], &[other]).0,
            1,
            "another writer's change at that version"
        );
    }

    #[test]
    fn the_acks_file_parses_and_a_bad_line_is_named() {
        let text = format!(
            "{}\n\n{}\n",
            serde_json::to_string(&ack(1, 0.1)).expect("json"),
            serde_json::to_string(&ack(2, 0.2)).expect("json")
        );
        assert_eq!(read_acks(&text).expect("parses").len(), 2);
        assert!(
            read_acks("{}\nnot json")
                .expect_err("bad")
                .to_string()
                .contains("line 1")
        );
    }

    #[test]
    fn intervals_in_a_fault_window_are_excused_and_others_count() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let samples = [
            FrameSample {
                at: at(100),
                frame: 3,
                interval_ms: 33.0,
            },
            FrameSample {
                at: at(1000),
                frame: 4,
                interval_ms: 400.0,
            },
            FrameSample {
                at: at(3000),
                frame: 0,
                interval_ms: 0.0,
            },
            FrameSample {
                at: at(5000),
                frame: 9,
                interval_ms: 45.0,
            },
        ];
        let window = Window {
            from: at(700),
            to: at(900),
        };
        assert_eq!(dt_max(&samples, &[window]), (45.0, 2));
        assert_eq!(dt_max(&samples, &[]), (400.0, 3));
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
