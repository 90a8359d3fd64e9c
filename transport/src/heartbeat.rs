//! Heartbeat bookkeeping: the kernel sends a numbered heartbeat every period;
//! the instance answers in mailbox order, so an answer proves its loop turns.
//! After `misses` periods of silence the instance is declared dead (hung).

use std::time::{Duration, Instant};

/// What the heartbeat says about an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// Answered within the last period.
    Alive,
    /// Silent for `missed` periods, fewer than allowed.
    Late {
        /// Periods missed so far.
        missed: u32,
    },
    /// Silent for longer than `period × misses`: hung.
    Dead {
        /// How long it has been silent.
        silent_for: Duration,
    },
}

/// Per-instance heartbeat state.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    period: Duration,
    misses: u32,
    sent: u64,
    last_ack: Instant,
    acked: u64,
}

impl Heartbeat {
    /// Start counting from `now` (the instance just became ready).
    pub fn new(period: Duration, misses: u32, now: Instant) -> Self {
        Heartbeat {
            period: period.max(Duration::from_millis(1)),
            misses: misses.max(1),
            sent: 0,
            last_ack: now,
            acked: 0,
        }
    }

    /// The number to put in the next heartbeat.
    pub fn next_beat(&mut self) -> u64 {
        self.sent += 1;
        self.sent
    }

    /// Record an answer. Answers to heartbeats never sent are ignored.
    pub fn ack(&mut self, n: u64, now: Instant) {
        if n <= self.sent && n > self.acked {
            self.acked = n;
            self.last_ack = now;
        }
    }

    /// Any sign of life (a reply, say) counts as an answer too.
    pub fn alive(&mut self, now: Instant) {
        self.last_ack = self.last_ack.max(now);
    }

    /// Time since the last answer.
    pub fn silent_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_ack)
    }

    /// Judge the instance.
    pub fn check(&self, now: Instant) -> Liveness {
        let silent = self.silent_for(now);
        if silent > self.period * self.misses {
            Liveness::Dead { silent_for: silent }
        } else {
            // Half a period of slack: the check and the answers run on
            // timers, and an answer a little late is not a miss.
            let late = silent.saturating_sub(self.period / 2);
            let missed = (late.as_nanos() / self.period.as_nanos()) as u32;
            if missed == 0 {
                Liveness::Alive
            } else {
                Liveness::Late { missed }
            }
        }
    }

    /// The silence after which an instance is dead.
    pub fn limit(&self) -> Duration {
        self.period * self.misses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_turns_late_then_dead() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut hb = Heartbeat::new(ms(100), 3, t0);
        assert_eq!(hb.check(t0 + ms(50)), Liveness::Alive);
        assert_eq!(
            hb.check(t0 + ms(120)),
            Liveness::Alive,
            "timer jitter is not a miss"
        );
        assert_eq!(hb.check(t0 + ms(160)), Liveness::Late { missed: 1 });
        assert_eq!(hb.check(t0 + ms(300)), Liveness::Late { missed: 2 });
        assert!(matches!(hb.check(t0 + ms(301)), Liveness::Dead { .. }));
        let n = hb.next_beat();
        hb.ack(n, t0 + ms(290));
        assert_eq!(hb.check(t0 + ms(300)), Liveness::Alive);
    }

    #[test]
    fn unknown_or_stale_acks_are_ignored() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut hb = Heartbeat::new(ms(100), 2, t0);
        hb.ack(5, t0 + ms(150));
        assert_eq!(hb.check(t0 + ms(160)), Liveness::Late { missed: 1 });
        let a = hb.next_beat();
        let b = hb.next_beat();
        hb.ack(b, t0 + ms(160));
        hb.ack(a, t0 + ms(170));
        assert_eq!(hb.silent_for(t0 + ms(200)), ms(40));
    }
}
