//! The drill's own real-time probe: one thread per CPU, pinned, at the
//! compositor's `SCHED_FIFO` priority, waking every 2 ms and noting each
//! wake-up later than [`STALL`]. A frame the compositor started late while
//! a probe outside the system under test was held off its CPU just as long
//! was delayed by the machine — a non-preemptible kernel path, the host
//! stealing the vCPU — not by Warden; the drill reports those stalls and
//! excuses the frames they overlap, and holds every other frame to the
//! bound. Without real-time scheduling (no `CAP_SYS_NICE`) the probe does
//! not run and nothing is excused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::check::Window;

/// The probe's period.
const PERIOD: Duration = Duration::from_millis(2);
/// A wake-up this late is a stall.
pub const STALL: Duration = Duration::from_millis(4);
/// The compositor's default `frame_realtime`.
const PRIORITY: i32 = 10;

/// The running probe.
pub struct Probe {
    stop: Arc<AtomicBool>,
    stalls: Arc<Mutex<Vec<Window>>>,
    threads: Vec<JoinHandle<()>>,
    /// Whether it runs (real time was granted on every CPU).
    pub running: bool,
}

#[allow(unsafe_code)]
fn pin_and_realtime(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes
    // within it; the calls take pointers to locals that outlive them.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return false;
        }
        let param = libc::sched_param {
            sched_priority: PRIORITY,
        };
        libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0
    }
}

impl Probe {
    /// Start one probe thread per CPU.
    pub fn start() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let stop = Arc::new(AtomicBool::new(false));
        let stalls = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let threads = (0..cpus)
            .filter_map(|cpu| {
                let (stop, stalls, ready) =
                    (Arc::clone(&stop), Arc::clone(&stalls), ready_tx.clone());
                std::thread::Builder::new()
                    .name(format!("drill-probe-{cpu}"))
                    .spawn(move || {
                        let granted = pin_and_realtime(cpu);
                        let _ = ready.send(granted);
                        if !granted {
                            return;
                        }
                        let mut next = Instant::now();
                        while !stop.load(Ordering::Relaxed) {
                            next += PERIOD;
                            let now = Instant::now();
                            if next > now {
                                std::thread::sleep(next - now);
                            } else {
                                next = now;
                            }
                            let woke = Instant::now();
                            let late = woke.saturating_duration_since(next);
                            if late >= STALL {
                                stalls
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .push(Window {
                                        from: next,
                                        to: woke,
                                    });
                            }
                        }
                    })
                    .ok()
            })
            .collect::<Vec<_>>();
        drop(ready_tx);
        let granted: Vec<bool> = ready_rx.iter().take(threads.len()).collect();
        let running =
            !threads.is_empty() && granted.len() == threads.len() && granted.iter().all(|g| *g);
        if !running {
            stop.store(true, Ordering::Relaxed);
            eprintln!(
                "drill: the machine probe does not run (no real-time scheduling on every CPU): no frame is excused as a machine stall"
            );
        }
        Probe {
            stop,
            stalls,
            threads,
            running,
        }
    }

    /// Stop; the stalls seen.
    pub fn stop(mut self) -> Vec<Window> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.stalls.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
