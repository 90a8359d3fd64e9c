//! The checks after the drill: every acknowledged update is in the store's
//! audit log exactly as acknowledged (the oracle is the acks file the
//! writers kept, not the store's own state), the frame intervals outside
//! the fault windows, and the recovery percentiles.

use std::collections::{HashMap, HashSet};
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

/// The largest frame interval (ms) among `samples` outside `excused`, how
/// many samples were held to the bound, and the sample with that interval. A sample's interval ends when
/// it arrived (within a few ms), so one that arrives within the interval's
/// length after a window's end is excused too; the first frame of an
/// instance (`frame` 0) has no interval.
pub fn dt_max(samples: &[FrameSample], excused: &[Window]) -> (f64, usize, Option<FrameSample>) {
    let mut max: f64 = 0.0;
    let mut held = 0;
    let mut worst = None;
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
            if s.interval_ms > max {
                max = s.interval_ms;
                worst = Some(*s);
            }
        }
    }
    (max, held, worst)
}

/// The `q` quantile (0..=1) of sorted `values` (nearest rank); 0 if empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The supervisor's events held against the faults the drill struck, over
/// one kernel life (event ids start again with each kernel): every fault
/// that ends an instance has that instance's `exited` event, and every
/// `exited` event has its fault. A stalled instance may be replaced (a
/// stall that starves its heartbeats is a hang), so its exit is excused.
#[derive(Debug, Default)]
pub struct Ledger {
    struck: HashMap<(String, u64), &'static str>,
    stalled: HashSet<(String, u64)>,
    exits: HashMap<(String, u64), String>,
    /// The last event id seen in this life (`/api/events?since=`).
    pub since: u64,
    /// Events read over every life.
    pub events: u64,
    /// Faults matched to their exit event, over every life.
    pub accounted: u64,
    /// Each instance start the kernel measured (its `started` event: the
    /// start's beginning to the instance's readiness), by actor, in ms.
    pub starts: Vec<(String, f64)>,
}

/// The start time a `started` event's detail gives ("process instance
/// ready in 6.1 ms (from its standby)").
pub fn start_ms(detail: &str) -> Option<f64> {
    let rest = detail.split("ready in ").nth(1)?;
    rest.split(" ms").next()?.trim().parse().ok()
}

impl Ledger {
    /// `fault` struck `actor`'s instance `generation`, which must exit.
    pub fn struck(&mut self, actor: &str, generation: u64, fault: &'static str) {
        self.struck.insert((actor.to_string(), generation), fault);
    }

    /// `actor`'s instance `generation` was stalled: it may be replaced.
    pub fn stalled(&mut self, actor: &str, generation: u64) {
        self.stalled.insert((actor.to_string(), generation));
    }

    /// Read events (the array `/api/events` answers).
    pub fn observe(&mut self, events: &[Value]) {
        for event in events {
            let id = event["id"].as_u64().unwrap_or(0);
            if id <= self.since {
                continue;
            }
            self.since = id;
            self.events += 1;
            if event["kind"] == "started"
                && let (Some(actor), Some(ms)) = (
                    event["actor"].as_str(),
                    event["detail"].as_str().and_then(start_ms),
                )
            {
                self.starts.push((actor.to_string(), ms));
            }
            if event["kind"] == "exited"
                && let (Some(actor), Some(generation)) =
                    (event["actor"].as_str(), event["generation"].as_u64())
            {
                self.exits.insert(
                    (actor.to_string(), generation),
                    event["detail"].as_str().unwrap_or_default().to_string(),
                );
            }
        }
    }

    /// End a kernel life: what does not add up, in words (sorted), and a
    /// fresh start for the next life.
    pub fn close(&mut self) -> Vec<String> {
        let mut wrong = Vec::new();
        for ((actor, generation), fault) in self.struck.drain() {
            if self.exits.remove(&(actor.clone(), generation)).is_some() {
                self.accounted += 1;
            } else {
                wrong.push(format!(
                    "{actor}: {fault} struck generation {generation}, and no `exited` event for it"
                ));
            }
        }
        for ((actor, generation), detail) in self.exits.drain() {
            if !self.stalled.contains(&(actor.clone(), generation)) {
                wrong.push(format!(
                    "{actor}: generation {generation} exited with no fault struck: {detail}"
                ));
            }
        }
        self.stalled.clear();
        self.since = 0;
        wrong.sort();
        wrong
    }

    /// Forget a life whose events are lost (the kernel died on its own,
    /// which is a failure of its own).
    pub fn abandon(&mut self) {
        self.struck.clear();
        self.stalled.clear();
        self.exits.clear();
        self.since = 0;
    }
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

    fn sample() -> FrameSample {
        FrameSample {
            at: Instant::now(),
            frame: 0,
            interval_ms: 0.0,
            start_late_ms: 0.0,
            previous_step_ms: 0.0,
        }
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
                ..sample()
            },
            FrameSample {
                at: at(1000),
                frame: 4,
                interval_ms: 400.0,
                ..sample()
            },
            FrameSample {
                at: at(3000),
                frame: 0,
                interval_ms: 0.0,
                ..sample()
            },
            FrameSample {
                at: at(5000),
                frame: 9,
                interval_ms: 45.0,
                start_late_ms: 12.0,
                ..sample()
            },
        ];
        let window = Window {
            from: at(700),
            to: at(900),
        };
        let (max, held, worst) = dt_max(&samples, &[window]);
        assert_eq!((max, held), (45.0, 2));
        assert_eq!(worst.map(|s| (s.frame, s.start_late_ms)), Some((9, 12.0)));
        let (max, held, worst) = dt_max(&samples, &[]);
        assert_eq!((max, held, worst.map(|s| s.frame)), (400.0, 3, Some(4)));
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn the_ledger_matches_every_fault_to_its_exit_and_every_exit_to_a_fault() {
        let exited = |id: u64, actor: &str, generation: u64| json!({"id": id, "kind": "exited", "actor": actor, "generation": generation, "detail": "killed"});
        let mut ledger = Ledger::default();
        ledger.struck("fft", 1, "kill");
        ledger.struck("store", 4, "panic");
        ledger.stalled("compositor", 2);
        ledger.observe(&[
            exited(1, "fft", 1),
            json!({"id": 2, "kind": "started", "actor": "fft", "generation": 2}),
            exited(3, "compositor", 2),
            exited(4, "perception", 7),
        ]);
        // An event seen twice (polls overlap) counts once.
        ledger.observe(&[exited(4, "perception", 7)]);
        assert_eq!((ledger.since, ledger.events), (4, 4));
        assert_eq!(
            ledger.close(),
            vec![
                "perception: generation 7 exited with no fault struck: killed".to_string(),
                "store: panic struck generation 4, and no `exited` event for it".to_string(),
            ]
        );
        assert_eq!((ledger.accounted, ledger.since), (1, 0));
        // The next life starts clean; its ids start again.
        ledger.struck("fft", 9, "hang");
        ledger.observe(&[exited(1, "fft", 9)]);
        assert!(ledger.close().is_empty());
        assert_eq!(ledger.accounted, 2);
    }

    #[test]
    fn start_times_are_read_from_started_events() {
        assert_eq!(
            start_ms("process instance ready in 6.1 ms (from its standby)"),
            Some(6.1)
        );
        assert_eq!(start_ms("inprocess instance ready in 12 ms"), Some(12.0));
        assert_eq!(start_ms("process instance ready"), None);
        assert_eq!(start_ms("ready in soon ms"), None);
        let mut ledger = Ledger::default();
        ledger.observe(&[
            json!({"id": 1, "kind": "started", "actor": "fft", "generation": 1, "detail": "inprocess instance ready in 4.5 ms"}),
            json!({"id": 2, "kind": "starting", "actor": "fft", "generation": 2, "detail": "generation 2"}),
            json!({"id": 3, "kind": "started", "actor": "store", "generation": 2, "detail": "process instance ready in 80.25 ms (spawned)"}),
        ]);
        assert_eq!(
            ledger.starts,
            vec![("fft".to_string(), 4.5), ("store".to_string(), 80.25)]
        );
    }
}
