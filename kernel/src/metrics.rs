//! Prometheus metrics (`prometheus-client`): calls, call latency, restarts,
//! heartbeat misses and re-sends per actor; published, delivered and dropped
//! values per topic. Hot paths hold pre-resolved handles, never look up labels.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

fn histogram() -> Histogram {
    // 10 µs … ~10 s
    Histogram::new(exponential_buckets(10e-6, 2.5, 16))
}

/// Every metric of the kernel.
pub struct Metrics {
    registry: Mutex<Registry>,
    calls: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    restarts: Family<Labels, Counter>,
    start: Family<Labels, Histogram, fn() -> Histogram>,
    heartbeat_misses: Family<Labels, Counter>,
    resent: Family<Labels, Counter>,
    copies: Family<Labels, Counter>,
    mailbox: Family<Labels, Gauge>,
    published: Family<Labels, Counter>,
    delivered: Family<Labels, Counter>,
    dropped: Family<Labels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// One actor's handles.
#[derive(Clone, Debug)]
pub(crate) struct ActorMetrics {
    pub(crate) calls_ok: Counter,
    calls: Family<Labels, Counter>,
    actor: String,
    pub(crate) latency: Histogram,
    pub(crate) restarts: Counter,
    start: Histogram,
    pub(crate) heartbeat_misses: Counter,
    pub(crate) resent: Counter,
    pub(crate) copies: Counter,
    pub(crate) mailbox: Gauge,
}

impl ActorMetrics {
    /// Record how long a start took (its beginning to the instance's `Ready`).
    pub(crate) fn start_time(&self, took: std::time::Duration) {
        self.start.observe(took.as_secs_f64());
    }

    /// Count a failed call by its outcome label.
    pub(crate) fn call_failed(&self, outcome: &str) {
        self.calls
            .get_or_create(&vec![
                ("actor".to_string(), self.actor.clone()),
                ("outcome".to_string(), outcome.to_string()),
            ])
            .inc();
    }
}

/// One topic's handles.
#[derive(Clone, Debug)]
pub(crate) struct TopicMetrics {
    pub(crate) published: Counter,
    pub(crate) delivered: Counter,
    pub(crate) dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every family registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("warden");
        let calls = Family::<Labels, Counter>::default();
        let latency =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        let restarts = Family::<Labels, Counter>::default();
        let start = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        let heartbeat_misses = Family::<Labels, Counter>::default();
        let resent = Family::<Labels, Counter>::default();
        let copies = Family::<Labels, Counter>::default();
        let mailbox = Family::<Labels, Gauge>::default();
        let published = Family::<Labels, Counter>::default();
        let delivered = Family::<Labels, Counter>::default();
        let dropped = Family::<Labels, Counter>::default();
        registry.register(
            "calls",
            "Calls answered, by actor and outcome",
            calls.clone(),
        );
        registry.register(
            "call_latency_seconds",
            "Call latency from the caller's side, by actor",
            latency.clone(),
        );
        registry.register("restarts", "Instance restarts, by actor", restarts.clone());
        registry.register(
            "start_seconds",
            "Time from an instance's start to its readiness (spawn or standby, handshake, the actor's start), by actor",
            start.clone(),
        );
        registry.register(
            "heartbeat_misses",
            "Heartbeat periods without an answer, by actor",
            heartbeat_misses.clone(),
        );
        registry.register(
            "calls_resent",
            "Idempotent calls re-sent to a new instance, by actor",
            resent.clone(),
        );
        registry.register(
            "frame_copies",
            "Frames the kernel copied into a child's pool (they lived on the heap), by actor",
            copies.clone(),
        );
        registry.register(
            "mailbox_depth",
            "Messages accepted and not yet answered",
            mailbox.clone(),
        );
        registry.register(
            "topic_published",
            "Values published, by topic",
            published.clone(),
        );
        registry.register(
            "topic_delivered",
            "Values taken by subscribers, by topic",
            delivered.clone(),
        );
        registry.register(
            "topic_dropped",
            "Values dropped (oldest first) from full subscriber queues, by topic",
            dropped.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            calls,
            latency,
            restarts,
            start,
            heartbeat_misses,
            resent,
            copies,
            mailbox,
            published,
            delivered,
            dropped,
        }
    }

    pub(crate) fn actor(&self, actor: &str) -> ActorMetrics {
        let labels = vec![("actor".to_string(), actor.to_string())];
        let ok = vec![
            ("actor".to_string(), actor.to_string()),
            ("outcome".to_string(), "ok".to_string()),
        ];
        ActorMetrics {
            calls_ok: self.calls.get_or_create_owned(&ok),
            calls: self.calls.clone(),
            actor: actor.to_string(),
            latency: self.latency.get_or_create_owned(&labels),
            restarts: self.restarts.get_or_create_owned(&labels),
            start: self.start.get_or_create_owned(&labels),
            heartbeat_misses: self.heartbeat_misses.get_or_create_owned(&labels),
            resent: self.resent.get_or_create_owned(&labels),
            copies: self.copies.get_or_create_owned(&labels),
            mailbox: self.mailbox.get_or_create_owned(&labels),
        }
    }

    pub(crate) fn topic(&self, topic: &str) -> TopicMetrics {
        let labels = vec![("topic".to_string(), topic.to_string())];
        TopicMetrics {
            published: self.published.get_or_create_owned(&labels),
            delivered: self.delivered.get_or_create_owned(&labels),
            dropped: self.dropped.get_or_create_owned(&labels),
        }
    }

    /// A histogram of the binary's own, registered as `warden_NAME`
    /// (`buckets`: upper bounds, ascending).
    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Histogram {
        let histogram = Histogram::new(buckets.iter().copied());
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .register(name, help, histogram.clone());
        histogram
    }

    /// A gauge of the binary's own, registered as `warden_NAME`.
    pub fn gauge(&self, name: &str, help: &str) -> Gauge {
        let gauge = Gauge::default();
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .register(name, help, gauge.clone());
        gauge
    }

    /// A counter of the binary's own, registered as `warden_NAME`.
    pub fn counter(&self, name: &str, help: &str) -> Counter {
        let counter = Counter::default();
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .register(name, help, counter.clone());
        counter
    }

    /// The classic Prometheus text exposition (format 0.0.4), for scrapers
    /// and tools that do not ask for OpenMetrics: [`classic`] of
    /// [`render`](Self::render).
    pub fn render_classic(&self) -> String {
        classic(&self.render())
    }

    /// The OpenMetrics 1.0 text exposition (what prometheus-client writes:
    /// counters' families named without `_total`, `# UNIT`, `# EOF`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if encode(&mut out, &registry).is_err() {
            out.push_str("# error encoding metrics\n");
        }
        out
    }
}

/// OpenMetrics text → the classic Prometheus text format (0.0.4), which
/// names a counter's HELP and TYPE after its sample (`x_total`), has no
/// `# UNIT` and no `# EOF`. Everything else (gauges, histograms, labels,
/// escaping) is the same in both.
pub(crate) fn classic(openmetrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.insert(name.to_string());
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(line) => out.push_str(line.trim_end()),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod classic_tests {
    use super::*;

    #[test]
    fn counters_are_named_after_their_samples_and_the_openmetrics_only_lines_go() {
        let open = "# HELP warden_calls Calls, by actor and outcome.\n# TYPE warden_calls counter\n\
                    warden_calls_total{actor=\"a\",outcome=\"ok\"} 3\n\
                    # HELP warden_up Seconds up.\n# TYPE warden_up gauge\n# UNIT warden_up seconds\nwarden_up 5\n# EOF\n";
        let text = classic(open);
        assert_eq!(
            text,
            "# HELP warden_calls_total Calls, by actor and outcome.\n# TYPE warden_calls_total counter\n\
             warden_calls_total{actor=\"a\",outcome=\"ok\"} 3\n\
             # HELP warden_up Seconds up.\n# TYPE warden_up gauge\nwarden_up 5\n"
        );
    }

    #[test]
    fn every_family_of_the_registry_comes_out_classic() {
        let metrics = Metrics::new();
        let open = metrics.render();
        assert!(open.ends_with("# EOF\n"), "{open}");
        let text = metrics.render_classic();
        assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let mut parts = line[7..].split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{line}");
            }
        }
    }
}
