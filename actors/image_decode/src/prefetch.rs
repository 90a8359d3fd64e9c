//! Prefetch: decode the next images before they are asked for, either in
//! the caller's thread (`ImageCache::prefetch`) or on a background thread
//! (`Prefetcher`) whose queue the newest request replaces. A batch never
//! stores more than the cache budget, so it cannot evict its own images.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cache::{Caller, ImageCache, Lookup};
use crate::cache_key::{CacheKey, FileStamp};
use crate::error::LoadError;
use crate::fit::ScaleSpec;
use crate::load::load_file;

/// One image to prefetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefetchRequest {
    /// The file.
    pub path: PathBuf,
    /// The prescale wanted, or `None` for the full-size image.
    pub scale: Option<ScaleSpec>,
}

impl PrefetchRequest {
    /// A request for `path` under `scale`.
    pub fn new(path: impl Into<PathBuf>, scale: Option<ScaleSpec>) -> Self {
        Self {
            path: path.into(),
            scale,
        }
    }
}

/// What a synchronous prefetch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefetchReport {
    /// Images decoded and stored.
    pub decoded: usize,
    /// Images already in the cache (moved to the front of the LRU).
    pub already_cached: usize,
    /// Images left out because the batch had filled the budget.
    pub over_budget: usize,
    /// Images that failed to load, with why.
    pub failed: Vec<(PathBuf, LoadError)>,
}

/// The outcome of prefetching one image.
enum Outcome {
    Cached,
    Stored(u64),
    OverBudget,
    Failed(LoadError),
}

impl ImageCache {
    /// Decodes, in order, those of `requests` that are not cached, in the
    /// calling thread. Stops storing once the batch would exceed the budget.
    pub fn prefetch(&self, requests: &[PrefetchRequest]) -> PrefetchReport {
        let mut report = PrefetchReport::default();
        let mut used = 0;
        for (i, request) in requests.iter().enumerate() {
            match self.prefetch_one(&request.path, request.scale.as_ref(), used) {
                Outcome::Cached => report.already_cached += 1,
                Outcome::Stored(cost) => {
                    report.decoded += 1;
                    used += cost;
                }
                Outcome::OverBudget => {
                    report.over_budget += requests.len() - i;
                    break;
                }
                Outcome::Failed(err) => report.failed.push((request.path.clone(), err)),
            }
        }
        report
    }

    /// Prefetches one image, given the bytes this batch has stored already.
    fn prefetch_one(&self, path: &Path, scale: Option<&ScaleSpec>, used: u64) -> Outcome {
        let key = CacheKey::new(path, scale);
        let stamp = match FileStamp::of(path) {
            Ok(stamp) => stamp,
            Err(err) => return Outcome::Failed(err.into()),
        };
        match self.lookup(&key, stamp, Caller::Prefetch) {
            Lookup::Hit(_) => Outcome::Cached,
            // A `get` is decoding it right now: it will be cached.
            Lookup::Wait(flight) => match flight.wait() {
                Ok(_) => Outcome::Cached,
                Err(err) => Outcome::Failed(err),
            },
            Lookup::Miss(flight) => {
                let result = load_file(path, self.limits(), scale).map(|l| Arc::new(l.image));
                let room = self.budget().saturating_sub(used);
                let stored = self.finish(&key, stamp, &result, Some(room));
                flight.complete(result.clone());
                match result {
                    Err(err) => Outcome::Failed(err),
                    Ok(_) if stored == 0 => Outcome::OverBudget,
                    Ok(_) => Outcome::Stored(stored),
                }
            }
        }
    }
}

struct Queue {
    pending: VecDeque<PrefetchRequest>,
    /// Bytes stored by the current batch.
    used: u64,
    busy: bool,
    stop: bool,
    failures: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
}

/// A background thread that prefetches into an [`ImageCache`]. Each
/// [`Prefetcher::request`] replaces what is still pending (the newest list of
/// upcoming images is the one that matters). Dropping it stops the thread
/// after the image in progress.
pub struct Prefetcher {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl Prefetcher {
    /// Starts the thread.
    pub fn spawn(cache: Arc<ImageCache>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                pending: VecDeque::new(),
                used: 0,
                busy: false,
                stop: false,
                failures: 0,
            }),
            changed: Condvar::new(),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("image-prefetch".to_owned())
            .spawn(move || run(&cache, &worker_shared))?;
        Ok(Self {
            shared,
            worker: Some(worker),
        })
    }

    /// Replaces the pending requests with `requests`, in priority order.
    pub fn request(&self, requests: Vec<PrefetchRequest>) {
        let mut queue = self.queue();
        queue.pending = requests.into();
        queue.used = 0;
        drop(queue);
        self.shared.changed.notify_all();
    }

    /// Requests not started yet.
    pub fn pending(&self) -> usize {
        self.queue().pending.len()
    }

    /// Prefetches that failed since the start (the errors are logged).
    pub fn failures(&self) -> u64 {
        self.queue().failures
    }

    /// Waits until nothing is pending or running, at most `timeout`.
    /// Returns whether it became idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut queue = self.queue();
        while queue.busy || !queue.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            queue = self
                .shared
                .changed
                .wait_timeout(queue, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.queue().stop = true;
        self.shared.changed.notify_all();
        if let Some(worker) = self.worker.take()
            && worker.join().is_err()
        {
            tracing::error!("the prefetch thread panicked");
        }
    }
}

fn run(cache: &ImageCache, shared: &Shared) {
    let lock = || shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
    let mut queue = lock();
    loop {
        if queue.stop {
            return;
        }
        let Some(request) = queue.pending.pop_front() else {
            queue = shared
                .changed
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
            continue;
        };
        queue.busy = true;
        let used = queue.used;
        drop(queue);

        let outcome = cache.prefetch_one(&request.path, request.scale.as_ref(), used);

        queue = lock();
        queue.busy = false;
        match outcome {
            Outcome::Stored(cost) => queue.used += cost,
            Outcome::OverBudget => queue.pending.clear(),
            Outcome::Failed(err) => {
                queue.failures += 1;
                tracing::warn!(path = %request.path.display(), %err, "prefetch failed");
            }
            Outcome::Cached => {}
        }
        shared.changed.notify_all();
    }
}
