//! The heartbeat answers of one actor's current instance, as one value
//! behind one lock: which instance counts, the latest answer, and when it
//! came. Answers are written by the host (the in-process actor's thread or
//! a child's reader thread) and read by the proxy's heartbeat check.
//!
//! It is one lock, not three atomics, because "is this answer from the
//! current instance?" and "record it" must be one step: done as two, an
//! answer from a dying instance could pass the check, lose the CPU while
//! the proxy switches to the new instance, and then store its (large)
//! number — which every answer of the new instance, numbered from 1, would
//! fail to beat, so a healthy instance would be killed as hung. The test
//! below drives exactly that interleaving.

use std::sync::{Mutex, PoisonError};

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Beats {
    inner: Mutex<Latest>,
}

/// The latest heartbeat answer of the instance that counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Latest {
    /// The instance whose answers count.
    pub(crate) generation: u64,
    /// The highest heartbeat number it answered (0: none yet).
    pub(crate) n: u64,
    /// When (µs on the kernel clock; 0: never).
    pub(crate) at_us: u64,
}

impl Beats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Latest> {
        // Every update is a whole-value assignment: a poisoned lock still
        // holds a consistent value.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// From now on only `generation`'s answers count, numbered from 1.
    pub(crate) fn reset(&self, generation: u64) {
        *self.lock() = Latest {
            generation,
            n: 0,
            at_us: 0,
        };
    }

    /// Instance `generation` answered heartbeat `n` at `at_us`.
    pub(crate) fn ack(&self, generation: u64, n: u64, at_us: u64) {
        let mut latest = self.lock();
        if latest.generation == generation && n > latest.n {
            *latest = Latest {
                generation,
                n,
                at_us,
            };
        }
    }

    /// The latest answer.
    pub(crate) fn latest(&self) -> Latest {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::*;

    /// The bookkeeping as it was: a generation check, then `fetch_max`, as
    /// two steps on separate atomics.
    #[derive(Default)]
    struct TwoSteps {
        generation: AtomicU64,
        n: AtomicU64,
    }

    impl TwoSteps {
        fn reset(&self, generation: u64) {
            self.generation.store(generation, Ordering::Relaxed);
            self.n.store(0, Ordering::Relaxed);
        }
        fn ack(&self, generation: u64, n: u64, between: impl FnOnce()) {
            if generation != self.generation.load(Ordering::Relaxed) {
                return;
            }
            between();
            self.n.fetch_max(n, Ordering::Relaxed);
        }
    }

    /// The interleaving: an old instance's answer passes the check, the
    /// proxy switches to a new instance, then the old answer lands. With
    /// two steps the new instance's first answers are lost under it.
    #[test]
    fn a_late_answer_from_a_replaced_instance_never_hides_the_new_ones() {
        let old = TwoSteps::default();
        old.reset(1);
        old.ack(1, 57, || old.reset(2));
        old.ack(2, 1, || {});
        assert_eq!(
            old.n.load(Ordering::Relaxed),
            57,
            "the two-step version keeps the dead instance's number"
        );

        let beats = Beats::default();
        beats.reset(1);
        beats.ack(1, 57, 10);
        beats.reset(2);
        beats.ack(1, 58, 11); // late, from the replaced instance
        beats.ack(2, 1, 12);
        assert_eq!(
            beats.latest(),
            Latest {
                generation: 2,
                n: 1,
                at_us: 12
            }
        );
    }

    /// The same race, on real threads: an instance answers as fast as it
    /// can while the proxy keeps replacing it; every answer recorded for an
    /// instance must be its own (answers carry their instance in the number).
    #[test]
    fn under_contention_only_the_current_instance_is_recorded() {
        const PER: u64 = 1_000_000;
        let beats = Arc::new(Beats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let current = Arc::new(AtomicU64::new(1));
        beats.reset(1);
        let answering = {
            let (beats, stop, current) = (beats.clone(), stop.clone(), current.clone());
            std::thread::spawn(move || {
                let mut k = 1;
                while !stop.load(Ordering::Relaxed) {
                    // The instance that is current as far as this thread knows.
                    let generation = current.load(Ordering::Relaxed);
                    beats.ack(generation, generation * PER + k, k);
                    k += 1;
                }
            })
        };
        for generation in 2..20_000u64 {
            beats.reset(generation);
            current.store(generation, Ordering::Relaxed);
            beats.ack(generation, 1, 1);
            let latest = beats.latest();
            assert_eq!(latest.generation, generation);
            assert!(
                latest.n == 1 || latest.n / PER == generation,
                "generation {generation} shows answer {} of generation {}",
                latest.n,
                latest.n / PER
            );
        }
        stop.store(true, Ordering::Relaxed);
        answering.join().expect("answering thread");
    }
}
