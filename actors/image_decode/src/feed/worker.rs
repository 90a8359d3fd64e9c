//! [`FeedMirror`]: the background thread that refreshes a feed mirror every
//! interval and on demand, and [`FeedState`], the snapshot a caller reads
//! without ever waiting for the network.
//!
//! Lock order: `control` and `state` are never held together.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::feed::config::FeedConfig;
use crate::feed::error::FeedError;
use crate::feed::refresh::{RefreshReport, Refresher};

/// What the mirror holds now, and how its refreshes went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedState {
    /// The mirrored images, in feed order. A refresh whose feed could not be
    /// fetched or parsed leaves the previous list (and files) in place.
    pub images: Vec<PathBuf>,
    /// When the feed was last fetched and parsed (milliseconds since the
    /// Unix epoch), even if some of its images then failed.
    pub last_ok_unix_ms: Option<u64>,
    /// The outcome of the last refresh: `None` if everything was mirrored;
    /// the feed's error (fetch, HTTP status, malformed) if it failed;
    /// [`FeedError::Images`] summarising the images not mirrored otherwise.
    pub last_error: Option<FeedError>,
    /// Refreshes completed (successful or not).
    pub fetches: u64,
    /// Refreshes whose feed could not be fetched or parsed.
    pub failures: u64,
    /// Images downloaded into the mirror.
    pub downloaded: u64,
    /// Images refused: too large, not an image, not an http(s) URL. A
    /// refused URL is not downloaded (nor counted) again.
    pub refused: u64,
    /// Image downloads that failed otherwise (network, HTTP status, disk);
    /// retried at the next refresh.
    pub image_failures: u64,
    /// Whether a refresh is running now.
    pub refreshing: bool,
}

/// Requests to the worker.
#[derive(Debug, Default)]
struct Control {
    stop: bool,
    wake: bool,
}

struct Shared {
    state: Mutex<FeedState>,
    /// Notified whenever `state` changes.
    published: Condvar,
    control: Mutex<Control>,
    /// Notified when `control` changes.
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stopping(&self) -> bool {
        self.control().stop
    }
}

/// A feed mirrored into a directory by a background thread. Reading its
/// state never blocks on the network; dropping it stops the thread (after
/// the request in flight, which is bounded by the timeout).
pub struct FeedMirror {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl FeedMirror {
    /// Validates `config` (the URL must be http or https, the limits above
    /// zero), creates the mirror directory, and starts the thread, whose
    /// first refresh begins at once.
    pub fn start(config: FeedConfig) -> Result<Self, FeedError> {
        let refresher = Refresher::new(config.clone())?;
        let shared = Arc::new(Shared {
            state: Mutex::new(FeedState::default()),
            published: Condvar::new(),
            control: Mutex::new(Control::default()),
            wake: Condvar::new(),
        });
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("feed-mirror".to_owned())
            .spawn(move || run(refresher, config.refresh, &worker_shared))
            .map_err(|err| FeedError::Thread {
                message: err.to_string(),
            })?;
        Ok(Self {
            shared,
            worker: Some(worker),
        })
    }

    /// The current state, at once.
    pub fn snapshot(&self) -> FeedState {
        self.shared.state().clone()
    }

    /// Asks for a refresh now, without waiting for it: the worker starts one
    /// when it is idle, or right after the refresh in progress.
    pub fn refresh_now(&self) {
        self.shared.control().wake = true;
        self.shared.wake.notify_all();
    }

    /// Waits until more than `after_fetches` refreshes have completed, at
    /// most `timeout`, and returns the state then (check `fetches` to tell a
    /// timeout).
    pub fn wait_refreshed(&self, after_fetches: u64, timeout: Duration) -> FeedState {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state();
        while state.fetches <= after_fetches {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .shared
                .published
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.clone()
    }
}

impl Drop for FeedMirror {
    fn drop(&mut self) {
        self.shared.control().stop = true;
        self.shared.wake.notify_all();
        if let Some(worker) = self.worker.take()
            && worker.join().is_err()
        {
            tracing::error!("the feed mirror thread panicked");
        }
    }
}

/// The worker: refresh, publish, sleep until the interval ends or a wake.
fn run(mut refresher: Refresher, interval: Duration, shared: &Shared) {
    let span = tracing::info_span!("feed_mirror", url = refresher.feed_url());
    let _entered = span.enter();
    loop {
        {
            let mut control = shared.control();
            if control.stop {
                return;
            }
            // This refresh answers every request made before it starts.
            control.wake = false;
        }
        shared.state().refreshing = true;
        shared.published.notify_all();

        let result = refresher.refresh(&|| shared.stopping());
        if result.as_ref().is_ok_and(|report| report.interrupted) {
            return;
        }
        publish(shared, result);

        let control = shared.control();
        let (control, _) = shared
            .wake
            .wait_timeout_while(control, interval, |c| !c.stop && !c.wake)
            .unwrap_or_else(PoisonError::into_inner);
        if control.stop {
            return;
        }
    }
}

/// Folds one refresh's outcome into the state and wakes the waiters.
fn publish(shared: &Shared, result: Result<RefreshReport, FeedError>) {
    let mut state = shared.state();
    state.refreshing = false;
    state.fetches += 1;
    match result {
        Ok(report) => {
            tracing::info!(
                images = report.images.len(),
                downloaded = report.downloaded,
                removed = report.removed,
                not_mirrored = report.errors.len(),
                "feed refreshed"
            );
            state.last_error = report.summary();
            state.images = report.images;
            state.last_ok_unix_ms = Some(unix_ms_now());
            state.downloaded += report.downloaded;
            state.refused += report.refused;
            state.image_failures += report.failed;
        }
        Err(err) => {
            tracing::warn!(%err, "feed refresh failed; keeping the last good list");
            state.failures += 1;
            state.last_error = Some(err);
        }
    }
    drop(state);
    shared.published.notify_all();
}

/// Now, in milliseconds since the Unix epoch (0 for a clock before it).
fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
