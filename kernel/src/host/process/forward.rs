//! Topics a child subscribed to, forwarded over its link. Each subscription
//! is a bounded, drop-oldest queue on the kernel's bus; values leave it only
//! while the link's credit window has room, so a child that reads slowly
//! loses its oldest values (counted as drops on the topic), never stalls a
//! publisher and never grows the kernel's memory.
//!
//! The queues are pumped when a value lands (on the publisher's thread) and
//! whenever the child's credit returns (on the reader thread).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use warden_transport::Body;

use crate::bus::{Bus, Queue};
use crate::host::process::ProcessConn;

/// See the module documentation.
pub(crate) struct Forwarder {
    conn: Weak<ProcessConn>,
    queues: Mutex<Vec<(String, Arc<Queue>)>>,
    /// Held by the thread pumping; another that finds it taken leaves a
    /// note in `again` instead of waiting.
    pumping: Mutex<()>,
    again: AtomicBool,
}

impl Forwarder {
    pub(crate) fn new(conn: Weak<ProcessConn>) -> Arc<Self> {
        Arc::new(Forwarder {
            conn,
            queues: Mutex::new(Vec::new()),
            pumping: Mutex::new(()),
            again: AtomicBool::new(false),
        })
    }

    /// Forward `topic` from now on, at most `capacity` values waiting (a
    /// topic already forwarded is not forwarded twice).
    pub(crate) fn subscribe(self: &Arc<Self>, bus: &Bus, topic: &str, capacity: usize) {
        if self
            .queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|(name, _)| name == topic)
        {
            return;
        }
        let me = Arc::downgrade(self);
        let queue = bus.subscribe_queue(
            topic,
            capacity.clamp(1, 1024),
            Some(Box::new(move || {
                if let Some(me) = me.upgrade() {
                    me.pump();
                }
            })),
        );
        self.queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((topic.to_string(), queue));
    }

    /// Whether anything is subscribed.
    pub(crate) fn is_empty(&self) -> bool {
        self.queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// Send what the window allows.
    pub(crate) fn pump(&self) {
        let Some(conn) = self.conn.upgrade() else {
            return;
        };
        loop {
            self.again.store(true, Ordering::Release);
            let Ok(_pumping) = self.pumping.try_lock() else {
                // The thread pumping sees `again` and goes round once more.
                return;
            };
            self.again.store(false, Ordering::Release);
            let queues: Vec<(String, Arc<Queue>)> = self
                .queues
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for (topic, queue) in &queues {
                while let Some(payload) = queue.pop_if(|p| {
                    conn.link
                        .has_room(p.data.len() + topic.len(), p.frames.len())
                }) {
                    let wire = match crate::wire::export(&conn.frames, &payload) {
                        Ok(wire) => wire,
                        Err(reason) => {
                            tracing::debug!(%topic, %reason, "a value could not be forwarded to a child");
                            continue;
                        }
                    };
                    let sent = conn.link.send_now(
                        Body::Deliver {
                            topic: topic.clone(),
                            payload: wire,
                        },
                        0,
                    );
                    if sent.is_err() {
                        return; // the child is gone
                    }
                }
            }
            drop(_pumping);
            if !self.again.load(Ordering::Acquire) {
                return;
            }
        }
    }
}
