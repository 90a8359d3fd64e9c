//! HTTP load during the drill: clients reading frames, decoded images at
//! several sizes, seed 003's perception endpoints and the status endpoints, one client on the MJPEG
//! stream and one on the SSE stream (whose `compositor.stats` samples give
//! the frame intervals the drill checks against their bound). Every request
//! ends answered, refused with a documented status, or lost; a request cut
//! by the drill's own kill of the kernel is excused and counted as such.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::http::{Http, Stream, count_across};

/// Whether the kernel is up, and how many times it went down: a client
/// whose request failed while the kernel was down, or across a change of
/// `epoch`, was cut by the drill, not failed by the system.
#[derive(Default)]
pub struct Liveness {
    /// The kernel is down (killed, restarting, or stopped) on purpose.
    pub down: AtomicBool,
    /// Bumped each time the kernel goes down or comes back.
    pub epoch: AtomicU64,
    /// The clients stop.
    pub stop: AtomicBool,
}

impl Liveness {
    /// The kernel goes down on purpose.
    pub fn going_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// The kernel is back.
    pub fn up(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.down.store(false, Ordering::SeqCst);
    }

    /// A ticket taken before a request: `excused(ticket)` after it.
    pub fn ticket(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Whether a failure of a request that took `ticket` is the drill's doing.
    pub fn excused(&self, ticket: u64) -> bool {
        self.down.load(Ordering::SeqCst) || self.epoch.load(Ordering::SeqCst) != ticket
    }

    /// Whether clients should stop.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// The reading clients' counts.
#[derive(Debug, Default, Serialize)]
pub struct HttpCounts {
    /// Requests sent.
    pub sent: u64,
    /// Answered with 2xx.
    pub answered: u64,
    /// Refused with 503 (the actor behind the endpoint restarting).
    pub refused: u64,
    /// Cut by the drill's kill of the kernel.
    pub cut: u64,
    /// Lost: no answer within the deadline, a broken connection while the
    /// kernel ran, or an undocumented status.
    pub lost: u64,
    /// The first loss, in words.
    pub first_loss: Option<String>,
    /// Frames seen on the MJPEG stream.
    pub mjpeg_frames: u64,
    /// Events seen on the SSE stream.
    pub sse_events: u64,
    /// A stream that sent nothing for the stall limit while the kernel ran.
    pub stream_stalls: u64,
    /// Streams reopened (after the kernel came back, or after a stall).
    pub stream_reopens: u64,
}

/// A `compositor.stats` sample as the drill keeps it.
#[derive(Clone, Copy, Debug)]
pub struct FrameSample {
    /// When it arrived.
    pub at: Instant,
    /// The frame's number within its compositor instance.
    pub frame: u64,
    /// Its interval (ms), as the compositor measured it.
    pub interval_ms: f64,
    /// How long after its deadline it started (ms).
    pub start_late_ms: f64,
    /// How long the previous frame's step took (ms).
    pub previous_step_ms: f64,
}

/// What the readers share with the drill.
#[derive(Default)]
pub struct Shared {
    /// The counts.
    pub counts: Mutex<HttpCounts>,
    /// Every `compositor.stats` sample.
    pub frames: Mutex<Vec<FrameSample>>,
}

impl Shared {
    fn count(&self, f: impl FnOnce(&mut HttpCounts)) {
        f(&mut self.counts.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn lose(&self, what: String) {
        self.count(|c| {
            c.lost += 1;
            c.first_loss.get_or_insert(what);
        });
    }
}

/// The endpoints the readers go round, those the config serves.
pub fn endpoints(kinds: &[String]) -> Vec<&'static str> {
    let mut paths = vec!["/api/actors", "/api/supervisor", "/healthz", "/metrics"];
    if kinds.iter().any(|k| k == "compositor") {
        paths.extend(["/api/frame.jpg", "/api/compositor"]);
    }
    if kinds.iter().any(|k| k == "perception") {
        paths.extend([
            "/api/perception/tracks",
            "/api/perception/detections",
            "/api/perception/stats",
            "/api/timeline/predictions",
            "/api/health",
        ]);
    }
    if kinds.iter().any(|k| k == "store") {
        paths.push("/api/ws");
    }
    if kinds.iter().any(|k| k == "image_decode") {
        // Many images at several sizes, so that the decoder both decodes
        // (a new size is a miss) and serves its cache.
        paths.extend([
            "/api/images",
            "/api/images/0?size=320x180",
            "/api/images/1?size=200x200&fit=cover",
            "/api/images/2?size=160x90&format=png",
            "/api/images/3?size=320x180&fit=stretch",
            "/api/images/5?size=64x64",
            "/api/images/7?size=640x360",
            "/api/images/11?size=96x54&fit=cover",
            "/api/images/13",
        ]);
    }
    paths
}

/// The deadline of every reading request.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// One reading client: round the endpoints until told to stop.
pub fn reader(
    http: Http,
    paths: Vec<&'static str>,
    first: usize,
    live: Arc<Liveness>,
    shared: Arc<Shared>,
) {
    let mut i = first;
    while !live.stopping() {
        if live.down.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let path = paths[i % paths.len()];
        i += 1;
        let ticket = live.ticket();
        let started = Instant::now();
        shared.count(|c| c.sent += 1);
        match http.get(path) {
            Ok(resp) if (200..300).contains(&resp.status) => shared.count(|c| c.answered += 1),
            Ok(resp) if resp.status == 503 => shared.count(|c| c.refused += 1),
            // An image of the user's source that cannot be decoded, named:
            // a typed answer, not a loss.
            Ok(resp) if resp.status == 422 && path.starts_with("/api/images/") => {
                shared.count(|c| c.answered += 1)
            }
            Ok(_) if live.excused(ticket) => shared.count(|c| c.cut += 1),
            Ok(resp) => shared.lose(format!(
                "GET {path}: {} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)])
            )),
            Err(_) if live.excused(ticket) => shared.count(|c| c.cut += 1),
            Err(err) => shared.lose(format!("GET {path}: {err} after {:?}", started.elapsed())),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How long a stream may stay silent while the kernel runs.
pub const STREAM_STALL: Duration = Duration::from_secs(5);

/// A client on `path` (a stream), counting what arrives with `on_chunk`,
/// reopening it when it ends or stalls.
pub fn streamer(
    addr: String,
    path: String,
    live: Arc<Liveness>,
    shared: Arc<Shared>,
    mut on_chunk: impl FnMut(&[u8], &Shared),
) {
    let mut opened_once = false;
    while !live.stopping() {
        if live.down.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let ticket = live.ticket();
        let (mut stream, first) = match Stream::open(&addr, &path, Duration::from_millis(250)) {
            Ok(opened) => opened,
            Err(err) => {
                if !live.excused(ticket) {
                    shared.lose(format!("GET {path}: {err}"));
                }
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if opened_once {
            shared.count(|c| c.stream_reopens += 1);
        }
        opened_once = true;
        on_chunk(&first, &shared);
        let mut last = Instant::now();
        let mut buf = vec![0u8; 64 << 10];
        while !live.stopping() {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    last = Instant::now();
                    on_chunk(&buf[..n], &shared);
                }
                Err(err)
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if last.elapsed() > STREAM_STALL {
                        if !live.excused(ticket) {
                            shared.count(|c| c.stream_stalls += 1);
                            shared.lose(format!(
                                "GET {path}: nothing for {STREAM_STALL:?} while the kernel ran"
                            ));
                        }
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    }
}

/// The MJPEG client's chunk counter.
pub fn mjpeg_counter() -> impl FnMut(&[u8], &Shared) {
    let mut carry = Vec::new();
    move |chunk, shared| {
        let frames = count_across(&mut carry, chunk, b"image/jpeg") as u64;
        if frames > 0 {
            shared.count(|c| c.mjpeg_frames += frames);
        }
    }
}

/// The SSE client's parser: counts events and keeps `compositor.stats` samples.
pub fn sse_parser() -> impl FnMut(&[u8], &Shared) {
    let mut pending = Vec::new();
    move |chunk, shared| {
        pending.extend_from_slice(chunk);
        while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = pending.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&event);
            let mut topic = "";
            let mut data = String::new();
            for line in text.lines() {
                if let Some(t) = line.strip_prefix("event: ") {
                    topic = t;
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            if topic.is_empty() {
                continue;
            }
            shared.count(|c| c.sse_events += 1);
            if topic == "compositor.stats"
                && let Ok(value) = serde_json::from_str::<Value>(&data)
                && let (Some(frame), Some(interval_ms)) =
                    (value["frame"].as_u64(), value["interval_ms"].as_f64())
            {
                shared
                    .frames
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(FrameSample {
                        at: Instant::now(),
                        frame,
                        interval_ms,
                        start_late_ms: value["start_late_ms"].as_f64().unwrap_or(0.0),
                        previous_step_ms: value["previous_step_ms"].as_f64().unwrap_or(0.0),
                    });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sse_parser_keeps_frame_intervals_across_chunk_boundaries() {
        let shared = Shared::default();
        let mut parse = sse_parser();
        parse(
            b"event: fft.bars\ndata: {\"t\":1}\n\nevent: compositor.stats\nda",
            &shared,
        );
        parse(
            b"ta: {\"frame\":7,\"interval_ms\":33.5}\n\n: keepalive\n\n",
            &shared,
        );
        let frames = shared.frames.lock().expect("not poisoned");
        assert_eq!(frames.len(), 1);
        assert_eq!((frames[0].frame, frames[0].interval_ms), (7, 33.5));
        assert_eq!(shared.counts.lock().expect("not poisoned").sse_events, 2);
    }

    #[test]
    fn a_failure_across_a_kernel_kill_is_excused_and_one_before_is_not() {
        let live = Liveness::default();
        let ticket = live.ticket();
        assert!(!live.excused(ticket));
        live.going_down();
        assert!(live.excused(ticket));
        live.up();
        assert!(
            live.excused(ticket),
            "the epoch moved while the request ran"
        );
        assert!(!live.excused(live.ticket()));
    }

    #[test]
    fn endpoints_follow_the_configured_kinds() {
        let only_store = endpoints(&["store".into()]);
        assert!(only_store.contains(&"/api/ws"));
        assert!(!only_store.contains(&"/api/frame.jpg"));
        let all = endpoints(&["compositor".into(), "perception".into()]);
        assert!(all.contains(&"/api/frame.jpg") && all.contains(&"/api/perception/tracks"));
        assert!(!all.iter().any(|p| p.starts_with("/api/images")));
        let decoder = endpoints(&["image_decode".into()]);
        assert!(
            decoder
                .iter()
                .filter(|p| p.starts_with("/api/images/"))
                .count()
                >= 8
        );
    }
}
