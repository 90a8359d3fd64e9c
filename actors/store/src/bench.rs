//! The durable-ack benchmark behind `warden store bench`: N writer threads
//! apply M updates in total to `layers`, `dims` and `camera` through one
//! `Store`; the group committer batches them. Reports acks/s and the ack
//! latency distribution, and can log every ack the moment it is released.

mod acks_log;
mod workload;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::StoreError;
use crate::record::Author;
use crate::store::{Outcome, Store};

pub use acks_log::AcksLog;

/// What to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenchConfig {
    /// Concurrent writer threads (at least 1).
    pub writers: usize,
    /// Updates in total, shared among the writers.
    pub updates: u64,
}

/// What it measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BenchReport {
    /// Writer threads.
    pub writers: usize,
    /// Acknowledged updates.
    pub acks: u64,
    /// Rejected updates (each retried; none are expected, since every writer
    /// owns its targets).
    pub rejects: u64,
    /// Wall time of the writing phase, seconds.
    pub elapsed_s: f64,
    /// Durable acks per second.
    pub acks_per_sec: f64,
    /// Median ack latency, ms.
    pub p50_ms: f64,
    /// 99th percentile ack latency, ms.
    pub p99_ms: f64,
    /// Worst ack latency, ms.
    pub max_ms: f64,
    /// Durable transactions committed during the run.
    pub commits: u64,
    /// Mean updates per transaction.
    pub mean_batch: f64,
    /// The store's version at the end.
    pub version: u64,
}

/// Why the bench stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The acks log could not be written.
    #[error("cannot write the acks log: {0}")]
    AcksLog(#[source] std::io::Error),
    /// The seed that sets up the writers' targets was rejected.
    #[error("the bench's seed for {topic} was rejected: {reason}")]
    Seed {
        /// The topic.
        topic: crate::topic::Topic,
        /// Why.
        reason: crate::reduce::Rejection,
    },
    /// Zero writers.
    #[error("--writers must be at least 1")]
    NoWriters,
}

/// Seed the writers' targets, run the writers, and report. `progress(acks)`
/// is called about once a second from a helper thread.
pub fn run(
    store: &Store,
    config: BenchConfig,
    acks_log: Option<&AcksLog>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BenchReport, BenchError> {
    if config.writers == 0 {
        return Err(BenchError::NoWriters);
    }
    for (topic, seed) in workload::seeds(config.writers) {
        if let Outcome::Reject { reason, .. } =
            store.seed_snapshot(topic, seed, store.version() + 1)?
        {
            return Err(BenchError::Seed { topic, reason });
        }
    }
    let start_stats = store.commit_stats();
    let claimed = AtomicU64::new(0);
    let acked = AtomicU64::new(0);
    let rejects = AtomicU64::new(0);
    let finished = AtomicBool::new(false);
    // Reserve for up to a million acks; a longer run grows the buffer.
    let latencies = Mutex::new(Vec::with_capacity(
        usize::try_from(config.updates.min(1 << 20)).unwrap_or(0),
    ));
    let started = Instant::now();
    let outcome: Result<(), BenchError> = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(&finished, &acked, progress));
        let handles: Vec<_> = (0..config.writers)
            .map(|i| {
                let (claimed, acked, rejects, latencies) = (&claimed, &acked, &rejects, &latencies);
                scope.spawn(move || -> Result<(), BenchError> {
                    let author = Author::new(&format!("bench-{i}"), "bench");
                    let mut writer = workload::Writer::new(i);
                    let mut mine = Vec::new();
                    let mut expected = store.version();
                    while claimed.fetch_add(1, Ordering::Relaxed) < config.updates {
                        let update = writer.next_update();
                        loop {
                            let t0 = Instant::now();
                            let outcome = store.apply_delta(
                                update.topic,
                                std::sync::Arc::clone(&update.payload),
                                expected,
                                &author,
                            )?;
                            let took = t0.elapsed();
                            match outcome {
                                Outcome::Ack { version } => {
                                    mine.push(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                                    expected = version;
                                    acked.fetch_add(1, Ordering::Relaxed);
                                    if let Some(log) = acks_log {
                                        log.append(version, &update)
                                            .map_err(BenchError::AcksLog)?;
                                    }
                                    break;
                                }
                                Outcome::Reject {
                                    current_version, ..
                                } => {
                                    rejects.fetch_add(1, Ordering::Relaxed);
                                    expected = current_version;
                                }
                            }
                        }
                    }
                    latencies
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(mine);
                    Ok(())
                })
            })
            .collect();
        let mut result = Ok(());
        for handle in handles {
            let joined = handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if result.is_ok() {
                result = joined;
            }
        }
        finished.store(true, Ordering::Release);
        watcher.thread().unpark();
        let _ = watcher.join();
        result
    });
    outcome?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies = latencies
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    latencies.sort_unstable();
    let end_stats = store.commit_stats();
    let commits = end_stats.commits - start_stats.commits;
    let committed = end_stats.entries - start_stats.entries;
    let acks = acked.into_inner();
    Ok(BenchReport {
        writers: config.writers,
        acks,
        rejects: rejects.into_inner(),
        elapsed_s: elapsed,
        acks_per_sec: if elapsed > 0.0 {
            acks as f64 / elapsed
        } else {
            0.0
        },
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().map_or(0.0, |ns| *ns as f64 / 1e6),
        commits,
        mean_batch: if commits > 0 {
            committed as f64 / commits as f64
        } else {
            0.0
        },
        version: store.version(),
    })
}

/// Report progress about once a second until the writers finish.
fn watch(finished: &AtomicBool, acked: &AtomicU64, progress: &(dyn Fn(u64) + Sync)) {
    let mut next = Instant::now() + Duration::from_secs(1);
    while !finished.load(Ordering::Acquire) {
        let now = Instant::now();
        if now >= next {
            progress(acked.load(Ordering::Relaxed));
            next = now + Duration::from_secs(1);
        }
        std::thread::park_timeout(next.saturating_duration_since(Instant::now()));
    }
}

/// The `q` quantile of sorted nanosecond latencies, in ms (nearest rank).
fn percentile(sorted_ns: &[u64], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len());
    sorted_ns[rank - 1] as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreConfig;

    #[test]
    fn percentiles_use_nearest_rank() {
        let ns: Vec<u64> = (1..=100).map(|i| i * 1_000_000).collect();
        assert_eq!(percentile(&ns, 0.5), 50.0);
        assert_eq!(percentile(&ns, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn an_in_memory_run_acks_every_update_without_rejects() -> Result<(), BenchError> {
        let store = Store::in_memory(StoreConfig::default());
        let report = run(
            &store,
            BenchConfig {
                writers: 4,
                updates: 400,
            },
            None,
            &|_| {},
        )?;
        assert_eq!(report.acks, 400);
        assert_eq!(report.rejects, 0);
        assert_eq!(
            report.version,
            3 + 400,
            "three seeds, then one version per update"
        );
        Ok(())
    }
}
