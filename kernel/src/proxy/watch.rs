//! The proxy's heartbeat tick: send the next heartbeat, judge the answers
//! (late, or hung: killed), and kill an instance whose messages have waited
//! on flow control longer than the hang limit (it stopped reading).

use std::time::Instant;

use actix::Context;
use warden_transport::Liveness;

use super::Proxy;

impl Proxy {
    pub(super) fn check(&mut self, ctx: &mut Context<Self>) {
        if self.starting || self.ending.killed_for.is_some() {
            return;
        }
        let Some(host) = self.instance.clone() else {
            return;
        };
        host.heartbeat(self.heartbeat.next_beat());
        let now = Instant::now();
        let latest = self.route.beats.latest();
        if latest.generation == self.generation {
            self.heartbeat
                .ack(latest.n, crate::clock::at_us(latest.at_us));
        }
        self.route.metrics.mailbox.set(self.route.depth() as i64);
        match self.heartbeat.check(now) {
            Liveness::Alive => self.missed = 0,
            Liveness::Late { missed } => {
                if missed > self.missed {
                    self.route
                        .metrics
                        .heartbeat_misses
                        .inc_by(u64::from(missed - self.missed));
                    self.missed = missed;
                }
            }
            Liveness::Dead { silent_for } => {
                self.route.metrics.heartbeat_misses.inc();
                self.event(
                    "hung",
                    format!(
                        "no heartbeat answered for {} ms (limit {} ms)",
                        silent_for.as_millis(),
                        self.heartbeat.limit().as_millis()
                    ),
                );
                self.kill_for(
                    format!(
                        "hung: no heartbeat answered for {} ms",
                        silent_for.as_millis()
                    ),
                    true,
                    ctx,
                );
                return;
            }
        }
        if let Some(since) = self.route.blocked_since() {
            let waited = now.saturating_duration_since(since);
            if waited > self.heartbeat.limit() {
                self.event(
                    "stalled",
                    format!(
                        "messages waited {} ms for the child to read",
                        waited.as_millis()
                    ),
                );
                self.kill_for(
                    format!(
                        "stalled: the child did not read its messages for {} ms",
                        waited.as_millis()
                    ),
                    true,
                    ctx,
                );
            }
        }
    }
}
