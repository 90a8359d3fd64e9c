//! Topics with latest-state semantics: each subscriber has a bounded queue;
//! when it is full the *oldest* value is dropped, never the newest, and every
//! drop is counted. A publisher never waits for a subscriber.
//!
//! The same [`Queue`] serves every kind of subscriber: a caller of
//! [`Bus::subscribe`], an in-process actor (whose host is woken when a value
//! lands), the kernel's forwarder to a child, and the child's own queue of
//! forwarded values.

use std::collections::{HashMap, VecDeque};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};

use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use warden_transport::{CodecError, Payload, decode_value};

use crate::metrics::{Metrics, TopicMetrics};

/// Called after a value landed in a queue (from the publisher's thread).
pub(crate) type Waker = Box<dyn Fn() + Send + Sync>;

/// One subscriber's bounded, drop-oldest queue of encoded values.
pub(crate) struct Queue {
    capacity: usize,
    values: Mutex<VecDeque<Payload>>,
    notify: Notify,
    dropped: AtomicU64,
    metrics: Option<TopicMetrics>,
    waker: Option<Waker>,
}

impl Queue {
    /// A queue outside any bus (a child's end of a forwarded topic).
    pub(crate) fn detached(capacity: usize, waker: Option<Waker>) -> Arc<Self> {
        Arc::new(Queue {
            capacity: capacity.max(1),
            values: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
            dropped: AtomicU64::new(0),
            metrics: None,
            waker,
        })
    }

    fn values(&self) -> std::sync::MutexGuard<'_, VecDeque<Payload>> {
        self.values.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Add a value, dropping the oldest if full; wakes the subscriber.
    pub(crate) fn push(&self, payload: Payload) {
        {
            let mut values = self.values();
            if values.len() >= self.capacity {
                values.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
                if let Some(metrics) = &self.metrics {
                    metrics.dropped.inc();
                }
            }
            values.push_back(payload);
        }
        self.notify.notify_one();
        if let Some(waker) = &self.waker {
            waker();
        }
    }

    /// Take the oldest value.
    pub(crate) fn pop(&self) -> Option<Payload> {
        let payload = self.values().pop_front()?;
        if let Some(metrics) = &self.metrics {
            metrics.delivered.inc();
        }
        Some(payload)
    }

    /// Take the oldest value if `fits` accepts it (checked under the lock,
    /// so a newer value cannot push it out in between).
    pub(crate) fn pop_if(&self, fits: impl FnOnce(&Payload) -> bool) -> Option<Payload> {
        let payload = {
            let mut values = self.values();
            if !fits(values.front()?) {
                return None;
            }
            values.pop_front()?
        };
        if let Some(metrics) = &self.metrics {
            metrics.delivered.inc();
        }
        Some(payload)
    }

    /// The newest value, discarding older ones (they count as delivered).
    fn take_latest(&self) -> Option<Payload> {
        let (payload, taken) = {
            let mut values = self.values();
            let taken = values.len() as u64;
            let payload = values.pop_back();
            values.clear();
            (payload, taken)
        };
        if let Some(metrics) = &self.metrics {
            metrics.delivered.inc_by(taken);
        }
        payload
    }

    fn len(&self) -> usize {
        self.values().len()
    }
}

struct Topic {
    subscribers: Mutex<Vec<Weak<Queue>>>,
    metrics: TopicMetrics,
}

/// Counters of one topic, for the admin API and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TopicCounters {
    /// Values published.
    pub published: u64,
    /// Values taken by subscribers.
    pub delivered: u64,
    /// Values dropped from full subscriber queues.
    pub dropped: u64,
}

/// The kernel's topics.
pub struct Bus {
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").finish_non_exhaustive()
    }
}

impl Bus {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        Bus {
            topics: RwLock::new(HashMap::new()),
            metrics,
        }
    }

    fn topic(&self, name: &str) -> Arc<Topic> {
        if let Some(topic) = self
            .topics
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Arc::clone(topic);
        }
        let mut topics = self.topics.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(topics.entry(name.to_string()).or_insert_with(|| {
            Arc::new(Topic {
                subscribers: Mutex::new(Vec::new()),
                metrics: self.metrics.topic(name),
            })
        }))
    }

    /// Publish an encoded value to every subscriber of `topic`.
    pub(crate) fn publish(&self, topic: &str, payload: Payload) {
        let topic = self.topic(topic);
        topic.metrics.published.inc();
        // Wakers run outside the subscriber list's lock: one may send on a
        // link, or subscribe.
        let queues: Vec<Arc<Queue>> = {
            let mut subscribers = topic
                .subscribers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            subscribers.retain(|weak| weak.strong_count() > 0);
            subscribers.iter().filter_map(Weak::upgrade).collect()
        };
        for queue in queues {
            queue.push(payload.clone());
        }
    }

    /// A raw queue on `topic`, woken through `waker` after each value.
    pub(crate) fn subscribe_queue(
        &self,
        topic: &str,
        capacity: usize,
        waker: Option<Waker>,
    ) -> Arc<Queue> {
        let topic_ref = self.topic(topic);
        let queue = Arc::new(Queue {
            capacity: capacity.max(1),
            values: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
            dropped: AtomicU64::new(0),
            metrics: Some(topic_ref.metrics.clone()),
            waker,
        });
        topic_ref
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::downgrade(&queue));
        queue
    }

    /// Subscribe to `topic` with a queue of `capacity` values (at least 1).
    pub fn subscribe<T: DeserializeOwned>(&self, topic: &str, capacity: usize) -> Subscription<T> {
        Subscription::new(topic, self.subscribe_queue(topic, capacity, None))
    }

    /// The topics published or subscribed to so far, sorted.
    pub fn topics(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .topics
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Counters of `topic`.
    pub fn counters(&self, topic: &str) -> TopicCounters {
        let topic = self.topic(topic);
        TopicCounters {
            published: topic.metrics.published.get(),
            delivered: topic.metrics.delivered.get(),
            dropped: topic.metrics.dropped.get(),
        }
    }
}

/// One subscriber's queue of a topic's values of type `T`.
pub struct Subscription<T> {
    topic: String,
    queue: Arc<Queue>,
    _value: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .finish()
    }
}

impl<T> Subscription<T> {
    pub(crate) fn new(topic: &str, queue: Arc<Queue>) -> Self {
        Subscription {
            topic: topic.to_string(),
            queue,
            _value: PhantomData,
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

impl<T: DeserializeOwned> Subscription<T> {
    /// The oldest queued value, if any.
    pub fn try_recv(&self) -> Option<Result<T, CodecError>> {
        Some(decode_value(self.queue.pop()?))
    }

    /// The newest queued value, discarding older ones (they count as
    /// delivered). Never waits.
    pub fn latest(&self) -> Option<Result<T, CodecError>> {
        Some(decode_value(self.queue.take_latest()?))
    }

    /// Wait for the next value.
    pub async fn recv(&self) -> Result<T, CodecError> {
        loop {
            let notified = self.queue.notify.notified();
            if let Some(value) = self.try_recv() {
                return value;
            }
            notified.await;
        }
    }

    /// Values waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no value waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values this subscriber lost to drop-oldest.
    pub fn dropped(&self) -> u64 {
        self.queue.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_transport::encode_value;

    fn bus() -> Bus {
        Bus::new(Arc::new(Metrics::new()))
    }

    #[test]
    fn a_slow_subscriber_loses_the_oldest_and_keeps_the_newest() {
        let bus = bus();
        let slow = bus.subscribe::<u32>("t", 4);
        let fast = bus.subscribe::<u32>("t", 1000);
        for n in 0..100u32 {
            bus.publish("t", encode_value(&n).unwrap());
        }
        let seen: Vec<u32> = std::iter::from_fn(|| slow.try_recv().map(Result::unwrap)).collect();
        assert_eq!(seen, vec![96, 97, 98, 99]);
        assert_eq!(slow.dropped(), 96);
        assert_eq!(fast.len(), 100);
        assert_eq!(fast.latest().unwrap().unwrap(), 99);
        let counters = bus.counters("t");
        assert_eq!(counters.published, 100);
        assert_eq!(counters.dropped, 96);
        assert_eq!(counters.delivered, 104);
    }

    #[test]
    fn a_dropped_subscription_stops_receiving() {
        let bus = bus();
        let sub = bus.subscribe::<u32>("t", 1);
        drop(sub);
        bus.publish("t", encode_value(&1u32).unwrap());
        assert_eq!(bus.counters("t").dropped, 0);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_an_error_not_a_panic() {
        let bus = bus();
        let sub = bus.subscribe::<u64>("t", 1);
        bus.publish("t", encode_value(&"text").unwrap());
        assert!(sub.try_recv().unwrap().is_err());
    }
}
