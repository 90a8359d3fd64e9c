//! A child's ways out: publishes, releases, requests and tells to other
//! actors, and subscriptions, all as envelopes to the kernel, which routes
//! them exactly as it routes an in-process actor's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use std::sync::atomic::{AtomicBool, Ordering};

use ipc_channel::ipc::IpcBytesSender;
use warden_transport::{Body, Link, Payload, ReleaseSink};

use crate::bus::Queue;
use crate::call_error::CallError;
use crate::ctx::{Outlet, PeerRequest, Peers, PublishError, Waker};
use crate::wire::export;
use crate::worker::frames::ChildFrames;

/// The one-byte message on the child's own queue that means "wake the
/// actor" (an empty one is a tick; envelopes are never this short).
pub(crate) const WAKE: u8 = 1;

/// Publishes go over the link.
pub(crate) struct LinkOutlet {
    pub(crate) link: Arc<Link>,
    pub(crate) frames: Arc<ChildFrames>,
}

impl Outlet for LinkOutlet {
    fn publish(&self, topic: &str, payload: Payload) -> Result<(), PublishError> {
        let wire =
            export(self.frames.as_ref(), &payload).map_err(|reason| PublishError::Invalid {
                topic: topic.to_string(),
                reason,
            })?;
        self.link
            .send(
                Body::Publish {
                    topic: topic.to_string(),
                    payload: wire,
                },
                0,
                payload.frames,
            )
            .map_err(|err| PublishError::Backpressure {
                topic: topic.to_string(),
                reason: err.to_string(),
            })
    }

    fn event(&self, kind: &str, detail: &str) {
        let _ = self.link.send_control(Body::Event {
            kind: kind.chars().take(64).collect(),
            detail: detail.chars().take(1024).collect(),
        });
    }
}

/// Releases of frames the kernel sent (in this child's pool or lent from
/// another's) go over the link.
pub(crate) struct LinkReleases(pub(crate) Arc<Link>);

impl ReleaseSink for LinkReleases {
    fn release(&self, pool: u32, slot: u32, seq: u64) {
        let _ = self.0.send_control(Body::Release { pool, slot, seq });
    }
}

/// Requests, tells and subscriptions of a child's actor.
pub(crate) struct LinkPeers {
    link: Arc<Link>,
    /// The child's own queue, for wake-ups from the actor's threads.
    wake: Mutex<IpcBytesSender>,
    /// Set while a wake-up waits in the queue (at most one does).
    pub(crate) woken: Arc<AtomicBool>,
    frames: Arc<ChildFrames>,
    /// Requests in flight: id → the actor asked (for the errors' names).
    targets: Mutex<HashMap<u64, String>>,
    /// The child's end of each subscription.
    topics: Mutex<HashMap<String, Vec<Weak<Queue>>>>,
}

impl LinkPeers {
    pub(crate) fn new(link: Arc<Link>, frames: Arc<ChildFrames>, wake: IpcBytesSender) -> Self {
        LinkPeers {
            link,
            wake: Mutex::new(wake),
            woken: Arc::new(AtomicBool::new(false)),
            frames,
            targets: Mutex::new(HashMap::new()),
            topics: Mutex::new(HashMap::new()),
        }
    }

    /// The actor request `id` went to (forgotten once answered).
    pub(crate) fn target_of(&self, id: u64) -> String {
        self.targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
            .unwrap_or_else(|| "an actor".to_string())
    }

    /// A value of `topic` arrived from the kernel.
    pub(crate) fn deliver(&self, topic: &str, payload: Payload) {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(queues) = topics.get_mut(topic) {
            queues.retain(|queue| queue.strong_count() > 0);
            for queue in queues.iter().filter_map(Weak::upgrade) {
                queue.push(payload.clone());
            }
        }
    }
}

impl Peers for LinkPeers {
    fn request(&self, request: PeerRequest) -> Result<(), CallError> {
        let rejected = |reason: String| CallError::Rejected {
            actor: request.target.clone(),
            reason,
        };
        let wire = export(self.frames.as_ref(), &request.payload).map_err(&rejected)?;
        self.targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request.id, request.target.clone());
        let body = Body::Request {
            id: request.id,
            target: request.target.clone(),
            kind: request.kind.to_string(),
            payload: wire,
            timeout_ms: request
                .timeout
                .map_or(0, |timeout| (timeout.as_millis() as u64).max(1)),
            idempotent: request.idempotent,
        };
        self.link
            .send(body, request.span, request.payload.frames)
            .map_err(|err| {
                self.targets
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&request.id);
                rejected(err.to_string())
            })
    }

    fn tell(&self, target: &str, kind: &'static str, payload: Payload) {
        let sent = export(self.frames.as_ref(), &payload).and_then(|wire| {
            self.link
                .send(
                    Body::PeerTell {
                        target: target.to_string(),
                        kind: kind.to_string(),
                        payload: wire,
                    },
                    0,
                    payload.frames,
                )
                .map_err(|err| err.to_string())
        });
        if let Err(reason) = sent {
            tracing::debug!(target, %reason, "tell to another actor dropped");
        }
    }

    fn subscribe(&self, topic: &str, capacity: usize) -> Arc<Queue> {
        let queue = Queue::detached(capacity, None);
        let first = {
            let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
            let queues = topics.entry(topic.to_string()).or_default();
            queues.retain(|queue| queue.strong_count() > 0);
            queues.push(Arc::downgrade(&queue));
            queues.len() == 1
        };
        // The kernel forwards each topic once; every local queue gets a copy.
        if !first {
            return queue;
        }
        let sent = self.link.send_control(Body::Subscribe {
            topic: topic.to_string(),
            capacity: u32::try_from(capacity).unwrap_or(u32::MAX),
        });
        if let Err(err) = sent {
            tracing::debug!(topic, %err, "subscription not sent (the kernel is gone)");
        }
        queue
    }

    fn waker(&self) -> Waker {
        let woken = Arc::clone(&self.woken);
        let wake = self
            .wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Waker::new(move || {
            if !woken.swap(true, Ordering::AcqRel) {
                let _ = wake.send(&[WAKE]);
            }
        })
    }
}
