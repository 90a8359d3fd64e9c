//! The live loop: a thread of the compositor's own that renders a frame
//! every period against absolute deadlines (no drift; a deadline it is more
//! than a period late for is skipped, not bunched), from the inputs the
//! actor keeps — never waiting on the actor or any other one. Each frame's
//! figures go out on `compositor.stats`; the frame itself is kept as the
//! latest and, while someone watches (`Watch`), published as a shared frame
//! on `compositor.frame`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use warden_kernel::{Publisher, SharedFrame};
use warden_renderer::{Compositor as _, Frame};

use crate::composer::{Clock, Composer, Inputs};
use crate::telemetry::{FrameSample, Latencies, Telemetry};

/// Rendered frames.
pub const FRAME_TOPIC: &str = "compositor.frame";
/// Each frame's figures.
pub const STATS_TOPIC: &str = "compositor.stats";

/// A frame on `compositor.frame`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveFrame {
    /// Its number (from 0 for this instance).
    pub frame: u64,
    /// When it was rendered, ms since the Unix epoch.
    pub unix_ms: u64,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// RGBA8, row-major.
    pub rgba: SharedFrame,
    /// Time to render it (ms).
    pub render_ms: f64,
}

/// What the loop and the actor share.
pub struct Shared {
    /// What frames show, set by the actor.
    pub inputs: Mutex<Inputs>,
    /// The loop's figures.
    pub telemetry: Mutex<Telemetry>,
    /// The latest frame and its figures.
    pub latest: Mutex<Option<(Arc<Frame>, FrameSample)>>,
    /// The renderer's backend and level, in words, and its demotions.
    pub renderer: Mutex<RendererState>,
    /// Why the loop stopped, if it did.
    pub failure: Mutex<Option<String>>,
    /// How the loop's thread is scheduled, in words.
    pub scheduling: Mutex<String>,
    /// Frames rendered (the actor checks it moves).
    pub frames: AtomicU64,
    stop: AtomicBool,
    /// The start of the last transition a frame showed.
    last_transition: Mutex<Option<Duration>>,
    /// Who watches, until when, and how often they want a frame.
    watched: Mutex<Watchers>,
    /// The clock every part reads.
    pub clock: Arc<Clock>,
}

/// The renderer as the status shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RendererState {
    /// `cpu` or `wgpu`.
    pub backend: String,
    /// The backend choice and why, in words.
    pub choice: String,
    /// `full-shaders`, `compositing-only`, `software`.
    pub level: String,
    /// Every demotion, in words.
    pub demotions: Vec<String>,
}

/// Locks ignoring poisoning: every update is a whole assignment.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Shared state for a loop of `period` on `clock`.
    pub fn new(inputs: Inputs, period: Duration, clock: Arc<Clock>) -> Arc<Self> {
        Arc::new(Shared {
            inputs: Mutex::new(inputs),
            telemetry: Mutex::new(Telemetry::new(period)),
            latest: Mutex::new(None),
            renderer: Mutex::new(RendererState::default()),
            failure: Mutex::new(None),
            scheduling: Mutex::new(String::new()),
            frames: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            watched: Mutex::new(Watchers::default()),
            last_transition: Mutex::new(None),
            clock,
        })
    }

    /// `watcher` wants a frame at most every `interval` (zero: every frame)
    /// for `span` from now; a zero `span` ends its watch.
    pub fn watch(&self, watcher: &str, span: Duration, interval: Duration) {
        lock(&self.watched).watch(watcher, Instant::now(), span, interval);
    }

    /// Whether someone watches now.
    pub fn watched(&self) -> bool {
        let now = Instant::now();
        lock(&self.watched)
            .by_name
            .values()
            .any(|(until, _)| now < *until)
    }

    /// Every watch running now: the watcher, how long it has left, its
    /// interval (what a moved compositor hands to the next one).
    pub fn watches(&self) -> Vec<(String, Duration, Duration)> {
        let now = Instant::now();
        lock(&self.watched)
            .by_name
            .iter()
            .filter(|(_, (until, _))| now < *until)
            .map(|(name, (until, every))| (name.clone(), *until - now, *every))
            .collect()
    }

    /// Whether the frame rendered now is to be published.
    pub fn publish_due(&self) -> bool {
        lock(&self.watched).due(Instant::now())
    }
}

/// At most this many distinct watchers are remembered.
const MAX_WATCHERS: usize = 64;

/// The watchers of the frames.
#[derive(Default)]
pub struct Watchers {
    by_name: std::collections::HashMap<String, (Instant, Duration)>,
    last_published: Option<Instant>,
}

impl Watchers {
    fn watch(&mut self, watcher: &str, now: Instant, span: Duration, interval: Duration) {
        if span.is_zero() {
            self.by_name.remove(watcher);
        } else if self.by_name.len() < MAX_WATCHERS || self.by_name.contains_key(watcher) {
            self.by_name
                .insert(watcher.to_string(), (now + span, interval));
        }
    }

    /// Someone watches and the most eager of them is due: a frame at a
    /// time, not more often than the fastest watcher asks, so that an 8-fps
    /// preview does not copy out 30 frames a second.
    fn due(&mut self, now: Instant) -> bool {
        self.by_name.retain(|_, (until, _)| now < *until);
        let Some(interval) = self.by_name.values().map(|(_, every)| *every).min() else {
            return false;
        };
        // Frames land on a period grid: 2 % slack keeps a 10-fps watcher at
        // 10 fps, not at every fourth 30-fps frame.
        let due = self
            .last_published
            .is_none_or(|at| now.duration_since(at) >= interval.mul_f64(0.98));
        if due {
            self.last_published = Some(now);
        }
        due
    }
}

/// Render one frame at `now` from the shared inputs; publish and keep it.
/// `pace`: how late after its deadline it started, and how long the
/// previous frame's step took (both go in its figures).
pub fn step(
    shared: &Shared,
    composer: &mut Composer,
    publisher: Option<&Publisher>,
    now: Duration,
    pace: (Duration, Duration),
    publish_frames: bool,
) -> Option<(Arc<Frame>, FrameSample)> {
    let inputs = {
        let mut inputs = lock(&shared.inputs);
        let taken = inputs.clone();
        inputs.scene_changed = None;
        taken
    };
    let (frame, render) = match composer.render(&inputs, now) {
        Ok(Some(done)) => done,
        Ok(None) => return None,
        Err(err) => {
            tracing::error!(%err, "a frame could not be rendered");
            *lock(&shared.failure) = Some(err.to_string());
            return None;
        }
    };
    let latencies = Latencies {
        start_late: pace.0,
        previous_step: pace.1,
        ..latencies(shared, &inputs, now)
    };
    drop(inputs);
    let sample = lock(&shared.telemetry).record(now, render, latencies);
    shared.frames.fetch_add(1, Ordering::Release);
    note_renderer(shared, composer, publisher);
    if let Some(publisher) = publisher {
        if publish_frames && shared.publish_due() {
            let mut buf = publisher.buffer(frame.data().len());
            buf.copy_from_slice(frame.data());
            let live = LiveFrame {
                frame: sample.frame,
                unix_ms: SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
                width: frame.width(),
                height: frame.height(),
                rgba: buf.freeze(),
                render_ms: sample.render_ms,
            };
            if let Err(err) = publisher.publish(FRAME_TOPIC, &live) {
                tracing::debug!(%err, "frame not published");
            }
        }
        if let Err(err) = publisher.publish(STATS_TOPIC, &sample) {
            tracing::debug!(%err, "frame figures not published");
        }
    }
    let old = lock(&shared.latest).replace((Arc::clone(&frame), sample));
    if let Some((old, _)) = old {
        composer.recycle(old);
    }
    Some((frame, sample))
}

/// How long this frame's inputs took to reach it.
fn latencies(shared: &Shared, inputs: &Inputs, now: Duration) -> Latencies {
    let first_of_transition = inputs.transition.as_ref().and_then(|running| {
        let mut last = lock(&shared.last_transition);
        (*last != Some(running.started)).then(|| {
            *last = Some(running.started);
            now.saturating_sub(running.ready)
        })
    });
    Latencies {
        bars_age: (!inputs.bars.bars.is_empty()).then(|| now.saturating_sub(inputs.bars.at)),
        scene: inputs.scene_changed.map(|at| now.saturating_sub(at)),
        image: first_of_transition,
        ..Latencies::default()
    }
}

/// Keep the renderer's state current; a new demotion is an event in the
/// supervisor's log.
fn note_renderer(shared: &Shared, composer: &Composer, publisher: Option<&Publisher>) {
    let renderer = composer.renderer();
    let mut state = lock(&shared.renderer);
    let demotions = renderer.demotions();
    if state.backend.is_empty() || state.demotions.len() != demotions.len() {
        for demotion in &demotions[state.demotions.len().min(demotions.len())..] {
            tracing::warn!(%demotion, "the compositor's renderer demoted itself");
            if let Some(publisher) = publisher {
                publisher.report("demoted", &demotion.to_string());
            }
        }
        *state = RendererState {
            backend: renderer.backend().to_string(),
            choice: renderer.choice().to_string(),
            level: renderer.level().to_string(),
            demotions: demotions.iter().map(ToString::to_string).collect(),
        };
    }
}

/// How the frame loop's thread asks to be scheduled (the compositor's
/// `frame_realtime` and `frame_nice`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// `SCHED_FIFO` priority (1..=99); 0: the ordinary scheduler.
    pub realtime: u8,
    /// The nice value under the ordinary scheduler.
    pub nice: i32,
}

/// A real-time loop that has not slept for this long leaves real time.
const BEHIND_LIMIT: Duration = Duration::from_millis(250);
/// A loop that left real time and then kept up (slept before every frame)
/// for this long goes back to it.
const CALM_AGAIN: Duration = Duration::from_secs(10);

/// When the frame loop leaves real time and when it goes back: a real-time
/// thread that never sleeps (frames longer than their period) starves
/// everything else on its core, so one that has not slept for
/// [`BEHIND_LIMIT`] leaves; a burst (a big transition, a slow machine for a
/// moment) is not held against it for ever, so one that kept up again for
/// [`CALM_AGAIN`] goes back.
#[derive(Debug, Default)]
struct RealtimeGuard {
    /// Granted real time at start (otherwise the guard does nothing).
    granted: bool,
    /// Runs real-time now.
    realtime: bool,
    /// Since when the loop has not slept.
    behind_since: Option<Duration>,
    /// Since when the loop, out of real time, has slept before every frame.
    calm_since: Option<Duration>,
}

/// What the guard decided.
#[derive(Debug, PartialEq, Eq)]
enum Switch {
    Leave,
    Rejoin,
}

impl RealtimeGuard {
    fn new(granted: bool) -> Self {
        RealtimeGuard {
            granted,
            realtime: granted,
            ..RealtimeGuard::default()
        }
    }

    /// A frame is due at `now`; `slept`: the loop was ahead of it.
    fn frame(&mut self, now: Duration, slept: bool) -> Option<Switch> {
        if !self.granted {
            return None;
        }
        if slept {
            self.behind_since = None;
            let calm = *self.calm_since.get_or_insert(now);
            if !self.realtime && now.saturating_sub(calm) >= CALM_AGAIN {
                self.realtime = true;
                return Some(Switch::Rejoin);
            }
            return None;
        }
        self.calm_since = None;
        let behind = *self.behind_since.get_or_insert(now);
        if self.realtime && now.saturating_sub(behind) >= BEHIND_LIMIT {
            self.realtime = false;
            return Some(Switch::Leave);
        }
        None
    }
}

/// Put the calling thread (the frame loop) under `priority`: a frame is due
/// every period whatever the workers, the HTTP clients and a restarting
/// child are doing on the same cores. A nice value only weighs the
/// thread's share of the CPU, and a woken loop can still wait several ms
/// behind them (the drill measured frames starting 7–12 ms after their
/// deadline on 2 busy cores at nice -10, with the step before taking 1 ms);
/// `SCHED_FIFO` runs it the moment it wakes, the way compositors (KWin,
/// Mutter) and audio servers (PipeWire) run their frame and data threads.
/// Returns whether the thread runs real-time, and how it runs, in words.
#[allow(unsafe_code)]
fn schedule(priority: Priority) -> (bool, String) {
    if priority.realtime > 0 {
        let param = libc::sched_param {
            sched_priority: i32::from(priority.realtime),
        };
        // SAFETY: `param` is a valid sched_param that outlives the call;
        // pid 0 is the calling thread. Reset on fork: nothing forked from
        // this thread inherits real time.
        let result = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
        };
        if result == 0 {
            let how = format!("real-time (SCHED_FIFO {})", priority.realtime);
            tracing::debug!("the frame loop runs {how}");
            return (true, how);
        }
        let err = std::io::Error::last_os_error();
        tracing::info!(
            realtime = priority.realtime,
            %err,
            "the frame loop does not run real-time (sched_setscheduler refused: grant CAP_SYS_NICE, or an RLIMIT_RTPRIO of {} or more); it asks for nice {} instead",
            priority.realtime,
            priority.nice
        );
        return (
            false,
            format!("{} (real time refused: {err})", nice(priority.nice)),
        );
    }
    (false, nice(priority.nice))
}

/// Leave real time for the ordinary scheduler at `nice`.
#[allow(unsafe_code)]
fn leave_realtime(nice_value: i32) -> String {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: as in `schedule`.
    let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
    if result != 0 {
        let err = std::io::Error::last_os_error();
        tracing::error!(%err, "the frame loop could not leave real time");
    }
    nice(nice_value)
}

/// Ask for `value` as the calling thread's nice value. Refused without
/// `CAP_SYS_NICE` (or an `RLIMIT_NICE` that allows it): then the thread
/// keeps the default priority, and says so.
#[allow(unsafe_code)]
fn nice(value: i32) -> String {
    if value == 0 {
        return "the ordinary scheduler at nice 0".into();
    }
    // SAFETY: gettid and setpriority take plain integers and touch no memory.
    let (tid, result) = unsafe {
        let tid = libc::gettid();
        (
            tid,
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, value),
        )
    };
    if result == 0 {
        tracing::debug!(tid, value, "the frame loop runs at nice {value}");
        format!("the ordinary scheduler at nice {value}")
    } else {
        let err = std::io::Error::last_os_error();
        tracing::info!(
            value,
            %err,
            "the frame loop keeps the default priority (setpriority refused: grant CAP_SYS_NICE, or an RLIMIT_NICE of {} or more, to let frames preempt the workers)",
            20 - value
        );
        format!("the ordinary scheduler at nice 0 (nice {value} refused: {err})")
    }
}

/// The running loop (see the module documentation). Stopped and joined
/// when dropped.
pub struct Live {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Live {
    /// Start rendering every `period`.
    pub fn start(
        shared: Arc<Shared>,
        mut composer: Composer,
        publisher: Publisher,
        period: Duration,
        publish_frames: bool,
        priority: Priority,
    ) -> std::io::Result<Self> {
        let loop_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("warden-compositor".into())
            .spawn(move || {
                let shared = loop_shared;
                let (granted, how) = schedule(priority);
                *lock(&shared.scheduling) = how;
                let mut guard = RealtimeGuard::new(granted);
                let clock = Arc::clone(&shared.clock);
                let mut next = clock.now();
                let mut previous_step = Duration::ZERO;
                while !shared.stop.load(Ordering::Acquire) {
                    next += period;
                    let now = clock.now();
                    let ahead = next > now;
                    if ahead {
                        std::thread::sleep(next - now);
                    }
                    match guard.frame(now, ahead) {
                        Some(Switch::Leave) => {
                            let how = format!(
                                "{} (left real time: frames took longer than their period of {period:?} for {BEHIND_LIMIT:?})",
                                leave_realtime(priority.nice)
                            );
                            tracing::warn!(
                                "the frame loop has not slept for {BEHIND_LIMIT:?}: it now runs under {how}"
                            );
                            publisher.report("realtime-left", &how);
                            *lock(&shared.scheduling) = how;
                        }
                        Some(Switch::Rejoin) => {
                            let (_, how) = schedule(priority);
                            tracing::info!(
                                "the frame loop kept up for {CALM_AGAIN:?}: it runs {how} again"
                            );
                            publisher.report("realtime-rejoined", &how);
                            *lock(&shared.scheduling) = how;
                        }
                        None => {}
                    }
                    if now > next && now - next > period {
                        // More than a period behind: skip the missed deadlines.
                        let missed = ((now - next).as_nanos() / period.as_nanos()) as u32;
                        lock(&shared.telemetry).skipped(u64::from(missed));
                        next += period * missed;
                    }
                    let at = clock.now();
                    let pace = (at.saturating_sub(next), previous_step);
                    let caught = warden_kernel::panics::guarded(|| {
                        step(
                            &shared,
                            &mut composer,
                            Some(&publisher),
                            at,
                            pace,
                            publish_frames,
                        )
                    });
                    previous_step = clock.now().saturating_sub(at);
                    if let Err(panic) = caught {
                        let reason = warden_kernel::panics::message(panic.as_ref());
                        *lock(&shared.failure) =
                            Some(format!("the render loop panicked: {reason}"));
                        return;
                    }
                }
            })?;
        Ok(Live {
            shared,
            thread: Some(thread),
        })
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod watch_tests {
    use super::*;

    #[test]
    fn the_loop_leaves_real_time_when_it_never_sleeps_and_goes_back_after_keeping_up() {
        let ms = Duration::from_millis;
        let mut guard = RealtimeGuard::new(true);
        // Ahead of every frame: stays.
        assert_eq!(guard.frame(ms(0), true), None);
        // Behind, but not for long: stays.
        assert_eq!(guard.frame(ms(33), false), None);
        assert_eq!(guard.frame(ms(200), false), None);
        assert_eq!(
            guard.frame(ms(240), true),
            None,
            "slept again: the count starts over"
        );
        assert_eq!(guard.frame(ms(300), false), None);
        assert_eq!(guard.frame(ms(549), false), None);
        // Behind for BEHIND_LIMIT: leaves, once.
        assert_eq!(guard.frame(ms(550), false), Some(Switch::Leave));
        assert_eq!(guard.frame(ms(900), false), None);
        // Keeps up for CALM_AGAIN, with a late frame in between: the calm
        // starts again after it.
        assert_eq!(guard.frame(ms(1000), true), None);
        assert_eq!(guard.frame(ms(5000), false), None);
        assert_eq!(guard.frame(ms(5033), true), None);
        assert_eq!(guard.frame(ms(15_000), true), None);
        assert_eq!(guard.frame(ms(15_033), true), Some(Switch::Rejoin));
        assert_eq!(guard.frame(ms(15_066), true), None);
        // Never granted: the guard never switches.
        let mut refused = RealtimeGuard::new(false);
        assert_eq!(refused.frame(ms(0), false), None);
        assert_eq!(refused.frame(ms(10_000), false), None);
        assert_eq!(refused.frame(ms(30_000), true), None);
    }

    #[test]
    fn frames_go_out_as_often_as_the_most_eager_watcher_asks_and_one_leaving_stops_only_itself() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut w = Watchers::default();
        assert!(!w.due(at(0)), "nobody watches");
        // A 10-fps preview alone, frames every 33 ms: every third goes out.
        w.watch(
            "preview",
            at(0),
            Duration::from_secs(2),
            Duration::from_millis(100),
        );
        let sent: Vec<u64> = (0..12)
            .map(|i| i * 100 / 3)
            .filter(|&ms| w.due(at(ms)))
            .collect();
        assert_eq!(sent, vec![0, 100, 200, 300]);
        // The full stream joins: every frame.
        w.watch("stream", at(400), Duration::from_secs(2), Duration::ZERO);
        assert!(w.due(at(433)) && w.due(at(466)));
        // The preview leaves: the stream still gets every frame.
        w.watch("preview", at(470), Duration::ZERO, Duration::ZERO);
        assert!(w.due(at(500)) && w.due(at(533)));
        // A watch that is not renewed ends by itself.
        assert!(!w.due(at(2500)), "the stream's watch ran out");
    }
}
