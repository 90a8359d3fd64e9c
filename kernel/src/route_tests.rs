//! The route with a fake host: delivery order, flow control, deadlines,
//! re-sends and `Restarting` on an instance's death, stop and reopen — no
//! actix, no child process.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use warden_transport::{Payload, encode_value};

use super::*;
use crate::host::Sent;
use crate::metrics::Metrics;

/// What the fake host was handed, and how it answers.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<(u64, u64, Payload)>>,
    tells: Mutex<Vec<Payload>>,
    /// Refuse for lack of room while set.
    full: std::sync::atomic::AtomicBool,
    gone: std::sync::atomic::AtomicBool,
}

impl Host for Fake {
    fn pid(&self) -> u32 {
        1
    }
    fn reports_exit(&self) -> bool {
        false
    }
    fn call(&self, generation: u64, id: u64, _span: u64, payload: Payload) -> Sent {
        if self.gone.load(Ordering::Relaxed) {
            return Sent::Gone(payload);
        }
        if self.full.load(Ordering::Relaxed) {
            return Sent::NotNow(payload);
        }
        self.calls.lock().unwrap().push((generation, id, payload));
        Sent::Yes
    }
    fn tell(&self, payload: Payload) -> Sent {
        if self.full.load(Ordering::Relaxed) {
            return Sent::NotNow(payload);
        }
        self.tells.lock().unwrap().push(payload);
        Sent::Yes
    }
    fn heartbeat(&self, _n: u64) {}
    fn inject(&self, _fault: warden_transport::InjectedFault) {}
    fn kill(&self, _abandon: bool) -> crate::host::Killed {
        crate::host::Killed::Now(None)
    }
    fn stop(&self, _handover: bool) -> Option<oneshot::Receiver<()>> {
        None
    }
    fn retire(&self) -> Option<Box<dyn FnOnce() + Send>> {
        None
    }
}

fn route(mailbox: usize) -> Arc<Route> {
    let metrics = Metrics::new();
    Route::new(Arc::from("t"), mailbox, Arc::new(metrics.actor("t")))
}

fn payload(n: u32) -> Payload {
    encode_value(&n).unwrap()
}

fn call(route: &Route, n: u32, idempotent: bool, ms: u64) -> oneshot::Receiver<CallResult> {
    let (tx, rx) = oneshot::channel();
    route.call(
        payload(n),
        idempotent,
        Duration::from_millis(ms),
        Reply::Waiter(tx),
    );
    rx
}

fn value(result: CallResult) -> u32 {
    warden_transport::decode_value(result.unwrap()).unwrap()
}

#[test]
fn calls_wait_for_an_instance_then_go_in_order() {
    let route = route(16);
    let first = call(&route, 1, false, 10_000);
    let second = call(&route, 2, false, 10_000);
    route.tell(payload(3)).unwrap();
    let host = Arc::new(Fake::default());
    route.attach(1, host.clone());
    let sent: Vec<(u64, u64)> = host
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|(g, id, _)| (*g, *id))
        .collect();
    assert_eq!(sent, vec![(1, 1), (1, 2)]);
    assert_eq!(host.tells.lock().unwrap().len(), 1);
    assert!(route.complete(1, 2, Ok(payload(20))));
    assert!(route.complete(1, 1, Ok(payload(10))));
    assert_eq!(value(first.blocking_recv().unwrap()), 10);
    assert_eq!(value(second.blocking_recv().unwrap()), 20);
    assert!(!route.complete(1, 1, Ok(payload(0))), "answered once");
}

#[test]
fn a_dead_instance_resends_idempotent_calls_and_fails_the_others() {
    let route = route(16);
    let host = Arc::new(Fake::default());
    route.attach(1, host.clone());
    let safe = call(&route, 1, true, 10_000);
    let unsafe_ = call(&route, 2, false, 10_000);
    route.detach(1);
    assert!(matches!(
        unsafe_.blocking_recv().unwrap(),
        Err(CallError::Restarting(_))
    ));
    assert!(
        !route.complete(1, 1, Ok(payload(0))),
        "late answer from the dead"
    );
    let next = Arc::new(Fake::default());
    route.attach(2, next.clone());
    assert_eq!(
        next.calls.lock().unwrap()[0].0,
        2,
        "re-sent to generation 2"
    );
    assert!(route.complete(2, 1, Ok(payload(7))));
    assert_eq!(value(safe.blocking_recv().unwrap()), 7);
    assert_eq!(route.metrics.resent.get(), 1);
}

#[test]
fn deadlines_answer_timeout_and_free_the_mailbox() {
    let route = route(1);
    let late = call(&route, 1, false, 1);
    let refused = call(&route, 2, false, 1);
    assert!(matches!(
        refused.blocking_recv().unwrap(),
        Err(CallError::Rejected { reason, .. }) if reason.contains("mailbox full")
    ));
    std::thread::sleep(Duration::from_millis(5));
    route.expire(Instant::now());
    assert!(matches!(
        late.blocking_recv().unwrap(),
        Err(CallError::Timeout { ms: 1, .. })
    ));
    assert_eq!(route.depth(), 0);
    // The expired call is skipped when an instance arrives.
    let host = Arc::new(Fake::default());
    route.attach(1, host.clone());
    assert!(host.calls.lock().unwrap().is_empty());
}

#[test]
fn flow_control_holds_messages_until_room_returns() {
    let route = route(16);
    let host = Arc::new(Fake::default());
    host.full.store(true, Ordering::Relaxed);
    route.attach(1, host.clone());
    let _pending = call(&route, 1, false, 10_000);
    route.tell(payload(2)).unwrap();
    assert!(route.blocked_since().is_some());
    host.full.store(false, Ordering::Relaxed);
    route.flush_if_blocked();
    assert!(route.blocked_since().is_none());
    assert_eq!(host.calls.lock().unwrap().len(), 1);
    assert_eq!(host.tells.lock().unwrap().len(), 1);
    assert_eq!(route.depth(), 2);
    route.tells_done(1, 1);
    assert_eq!(route.depth(), 1);
}

#[test]
fn a_gone_instance_keeps_the_call_for_the_next() {
    let route = route(16);
    let host = Arc::new(Fake::default());
    host.gone.store(true, Ordering::Relaxed);
    route.attach(1, host);
    let pending = call(&route, 5, false, 10_000);
    route.detach(1);
    let next = Arc::new(Fake::default());
    route.attach(2, next.clone());
    assert_eq!(
        next.calls.lock().unwrap().len(),
        1,
        "never delivered: not Restarting"
    );
    route.complete(2, 1, Ok(payload(5)));
    assert_eq!(value(pending.blocking_recv().unwrap()), 5);
}

#[test]
fn stop_answers_everything_and_reopen_accepts_again() {
    let route = route(16);
    let pending = call(&route, 1, true, 10_000);
    route.stop("shut down");
    assert!(matches!(
        pending.blocking_recv().unwrap(),
        Err(CallError::Stopped(_))
    ));
    assert!(matches!(
        call(&route, 2, true, 10_000).blocking_recv().unwrap(),
        Err(CallError::Stopped(_))
    ));
    assert!(matches!(route.tell(payload(3)), Err(TellError::Stopped(_))));
    route.reopen();
    route.tell(payload(4)).unwrap();
}

#[test]
fn a_callback_gets_exactly_one_answer() {
    let route = route(16);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    route.call(
        payload(1),
        false,
        Duration::from_millis(1),
        Reply::Callback(Box::new(move |result| {
            log.lock().unwrap().push(result.is_ok())
        })),
    );
    std::thread::sleep(Duration::from_millis(5));
    route.expire(Instant::now());
    route.expire(Instant::now());
    assert_eq!(*seen.lock().unwrap(), vec![false]);
}

#[test]
fn heartbeat_answers_count_only_for_the_attached_instance() {
    let route = route(16);
    route.attach(1, Arc::new(Fake::default()));
    route.beat(1, 5);
    route.attach(2, Arc::new(Fake::default()));
    route.beat(1, 6);
    assert_eq!(route.beats.latest().n, 0);
    route.beat(2, 1);
    assert_eq!(route.beats.latest().n, 1);
}
