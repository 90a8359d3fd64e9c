//! The frame hub: one JPEG encode per frame, shared by every viewer, and
//! none while nobody watches.
//!
//! While at least one viewer is attached, a thread of the hub's own keeps
//! the compositor publishing (`Watch`, renewed twice a second), takes the
//! newest frame from `compositor.frame` (a queue of one: a frame it had no
//! time for is dropped, never queued), encodes it and hands it to the
//! viewers through a `watch` channel — a slow viewer gets the latest frame
//! when it is ready for one, never a backlog. The last viewer leaving stops
//! the publishing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::watch;
use warden_compositor::{Compositor, CompositorMsg, FRAME_TOPIC, LiveFrame};
use warden_kernel::{ActorRef, Kernel};

use crate::encode;

/// Renew the compositor's `Watch` this often…
const RENEW: Duration = Duration::from_millis(500);
/// …for this long (a hub that died stops costing frames soon).
const WATCH_SECS: f64 = 2.0;
/// Encode times kept for the figures.
const KEPT: usize = 300;

/// One encoded frame.
#[derive(Debug)]
pub struct Jpeg {
    /// The compositor's frame number (per instance).
    pub frame: u64,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// The JPEG.
    pub bytes: Bytes,
    /// Time to encode it (ms).
    pub encode_ms: f64,
    /// When the compositor rendered it (ms since the Unix epoch).
    pub unix_ms: u64,
}

/// The stream's figures (in `GET /api/compositor`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct StreamStats {
    /// Viewers attached now.
    pub viewers: usize,
    /// Frames encoded since the server started.
    pub encoded: u64,
    /// Frames published while watched that were newer-replaced before the
    /// hub could encode them.
    pub dropped: u64,
    /// Encode time, median over the last 300 (ms).
    pub encode_p50_ms: f64,
    /// Encode time, longest over the last 300 (ms).
    pub encode_max_ms: f64,
    /// Why the last frame could not be taken or encoded, if it could not.
    pub last_error: Option<String>,
}

/// What a hub makes of each frame: its size and rate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Shape {
    /// Scale frames wider than this down to it (the aspect kept).
    pub max_width: Option<u32>,
    /// Encode at most this many frames a second (the others are skipped).
    pub max_fps: Option<f64>,
}

struct Inner {
    /// This hub's name in the compositor's `Watch`.
    watcher: String,
    kernel: Kernel,
    compositor: ActorRef<Compositor>,
    quality: u8,
    shape: Shape,
    viewers: AtomicUsize,
    attach: Mutex<()>,
    attached: Condvar,
    latest: watch::Sender<Option<Arc<Jpeg>>>,
    encoded: AtomicU64,
    times: Mutex<VecDeque<f64>>,
    last_error: Mutex<Option<String>>,
    stop: AtomicBool,
}

/// See the module documentation. Stops its thread when dropped.
pub struct FrameHub {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FrameHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameHub")
            .field("compositor", &self.inner.compositor.name())
            .finish()
    }
}

/// A viewer: the latest encoded frame as it changes. Counted while alive.
pub struct Viewer {
    rx: watch::Receiver<Option<Arc<Jpeg>>>,
    inner: Arc<Inner>,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.inner.viewers.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Viewer {
    /// The next frame newer than the last one this viewer took (waits).
    /// `None` when the hub stopped.
    pub async fn next(&mut self) -> Option<Arc<Jpeg>> {
        loop {
            self.rx.changed().await.ok()?;
            if let Some(jpeg) = self.rx.borrow_and_update().clone() {
                return Some(jpeg);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FrameHub {
    /// A hub on compositor actor `compositor`, encoding every frame at its
    /// size at JPEG `quality`.
    pub fn start(
        kernel: Kernel,
        compositor: ActorRef<Compositor>,
        quality: u8,
    ) -> std::io::Result<Self> {
        Self::start_shaped(kernel, compositor, quality, Shape::default())
    }

    /// [`FrameHub::start`], with frames scaled and thinned to `shape` (the
    /// dashboard's preview: a fraction of the encode cost).
    pub fn start_shaped(
        kernel: Kernel,
        compositor: ActorRef<Compositor>,
        quality: u8,
        shape: Shape,
    ) -> std::io::Result<Self> {
        let (latest, _) = watch::channel(None);
        static HUBS: AtomicU64 = AtomicU64::new(0);
        let inner = Arc::new(Inner {
            watcher: format!("frame-hub-{}", HUBS.fetch_add(1, Ordering::Relaxed) + 1),
            kernel,
            compositor,
            quality: quality.clamp(1, 100),
            shape,
            viewers: AtomicUsize::new(0),
            attach: Mutex::new(()),
            attached: Condvar::new(),
            latest,
            encoded: AtomicU64::new(0),
            times: Mutex::new(VecDeque::new()),
            last_error: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let thread_inner = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("warden-frames".into())
            .spawn(move || {
                // A panic (a bug) is reported and the hub starts over: the
                // viewers wait for the next frame, never for ever.
                while !thread_inner.stop.load(Ordering::Acquire) {
                    let run = std::panic::AssertUnwindSafe(|| encoder(&thread_inner));
                    if let Err(panic) = std::panic::catch_unwind(run) {
                        let reason = warden_kernel::panics::message(panic.as_ref());
                        tracing::error!(%reason, "the frame hub failed; starting it over");
                        *lock(&thread_inner.last_error) =
                            Some(format!("the hub panicked: {reason}"));
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })?;
        Ok(FrameHub {
            inner,
            thread: Some(thread),
        })
    }

    /// Attach a viewer (the compositor starts publishing if it was not).
    pub fn viewer(&self) -> Viewer {
        let rx = self.inner.latest.subscribe();
        if self.inner.viewers.fetch_add(1, Ordering::AcqRel) == 0 {
            let _held = lock(&self.inner.attach);
            self.inner.attached.notify_all();
        }
        Viewer {
            rx,
            inner: Arc::clone(&self.inner),
        }
    }

    /// The compositor actor this hub shows.
    pub fn compositor(&self) -> &ActorRef<Compositor> {
        &self.inner.compositor
    }

    /// The JPEG quality.
    pub fn quality(&self) -> u8 {
        self.inner.quality
    }

    /// The figures now.
    pub fn stats(&self) -> StreamStats {
        let times = lock(&self.inner.times);
        let mut sorted: Vec<f64> = times.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let frames = self.inner.kernel.bus().counters(FRAME_TOPIC);
        StreamStats {
            viewers: self.inner.viewers.load(Ordering::Acquire),
            encoded: self.inner.encoded.load(Ordering::Acquire),
            dropped: frames.dropped,
            encode_p50_ms: sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
            encode_max_ms: sorted.last().copied().unwrap_or(0.0),
            last_error: lock(&self.inner.last_error).clone(),
        }
    }
}

impl Drop for FrameHub {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Release);
        {
            let _held = lock(&self.inner.attach);
            self.inner.attached.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watched(inner: &Inner) -> bool {
    inner.viewers.load(Ordering::Acquire) > 0 && !inner.stop.load(Ordering::Acquire)
}

/// The hub's thread (see the module documentation).
fn encoder(inner: &Inner) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            *lock(&inner.last_error) = Some(format!("cannot start the frame hub: {err}"));
            return;
        }
    };
    while !inner.stop.load(Ordering::Acquire) {
        {
            let held = lock(&inner.attach);
            if !watched(inner) {
                let _ = inner
                    .attached
                    .wait_timeout(held, Duration::from_secs(1))
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
        }
        // Someone watches: subscribe, keep the compositor publishing.
        let frames = inner.kernel.subscribe::<LiveFrame>(FRAME_TOPIC, 1);
        let mut renewed: Option<Instant> = None;
        let mut last: Option<Instant> = None;
        while watched(inner) {
            if renewed.is_none_or(|at| at.elapsed() >= RENEW) {
                // A full mailbox or a restarting compositor: renew next time.
                let _ = inner.compositor.try_tell(CompositorMsg::Watch {
                    watcher: inner.watcher.clone(),
                    secs: WATCH_SECS,
                    max_fps: inner.shape.max_fps.unwrap_or(0.0),
                });
                renewed = Some(Instant::now());
            }
            let next =
                runtime.block_on(async { tokio::time::timeout(RENEW / 2, frames.recv()).await });
            let frame = match next {
                Err(_elapsed) => continue,
                Ok(Err(err)) => {
                    *lock(&inner.last_error) = Some(format!("a malformed frame: {err}"));
                    continue;
                }
                Ok(Ok(frame)) => frame,
            };
            if let Some(fps) = inner.shape.max_fps
                && last.is_some_and(|at: Instant| at.elapsed().as_secs_f64() < 0.98 / fps)
            {
                continue;
            }
            last = Some(Instant::now());
            let started = Instant::now();
            let scaled = match inner.shape.max_width {
                Some(max) if frame.width > max => {
                    encode::downscale(frame.rgba.as_ref(), frame.width, frame.height, max)
                }
                _ => Ok(None),
            };
            let result = match &scaled {
                Ok(Some((rgba, width, height))) => {
                    encode::jpeg(rgba, *width, *height, inner.quality).map(|b| (b, *width, *height))
                }
                Ok(None) => encode::jpeg(
                    frame.rgba.as_ref(),
                    frame.width,
                    frame.height,
                    inner.quality,
                )
                .map(|b| (b, frame.width, frame.height)),
                Err(err) => Err(err.clone()),
            };
            match result {
                Ok((bytes, width, height)) => {
                    let encode_ms = started.elapsed().as_secs_f64() * 1000.0;
                    {
                        let mut times = lock(&inner.times);
                        if times.len() == KEPT {
                            times.pop_front();
                        }
                        times.push_back(encode_ms);
                    }
                    inner.encoded.fetch_add(1, Ordering::AcqRel);
                    inner.latest.send_replace(Some(Arc::new(Jpeg {
                        frame: frame.frame,
                        width,
                        height,
                        bytes: Bytes::from(bytes),
                        encode_ms,
                        unix_ms: frame.unix_ms,
                    })));
                }
                Err(err) => *lock(&inner.last_error) = Some(err.to_string()),
            }
        }
        drop(frames);
        let _ = inner.compositor.try_tell(CompositorMsg::Watch {
            watcher: inner.watcher.clone(),
            secs: 0.0,
            max_fps: 0.0,
        });
    }
}
