//! The latest value of every series, shared between pollers and the API.
//!
//! The set of series is fixed by the configuration (a glob pattern is summed
//! into one series), so the store is built once and never reshaped: each
//! series keeps its value and read time in atomics. Pollers write them
//! lock-free; the API reads them lock-free through an index by
//! (namespace, metric), so answering the HPA never waits on Redis or a lock.
//!
//! A series whose source failed keeps its last good value and read time; the
//! error is remembered beside it. Whether that value may still be served is
//! decided by its age at request time ([`Store::max_staleness`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Config;

/// The metrics this adapter serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Items waiting (list length, zset count, stream entries not yet delivered).
    QueueDepth,
    /// Stream entries delivered to a consumer group but not acknowledged.
    QueuePending,
    /// Age of the oldest waiting or pending item.
    QueueOldestAge,
}

impl Metric {
    /// Every metric, in discovery order.
    pub const ALL: [Metric; 3] = [
        Metric::QueueDepth,
        Metric::QueuePending,
        Metric::QueueOldestAge,
    ];

    /// The name in the API path and in `metricName`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::QueueDepth => "queue_depth",
            Metric::QueuePending => "queue_pending",
            Metric::QueueOldestAge => "queue_oldest_age_seconds",
        }
    }

    /// Looks a metric up by its API name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One served time series: a metric of one queue.
#[derive(Debug)]
pub struct Series {
    /// Which metric.
    pub metric: Metric,
    /// Index of the queue in the config (and in [`Store::queue_status`]).
    pub queue: usize,
    /// `queue` plus the static labels, sorted by key.
    pub labels: Vec<(String, String)>,
    /// f64 bits of the latest value.
    value: AtomicU64,
    /// Unix milliseconds of the latest successful read; 0 = never read.
    read_at_ms: AtomicU64,
}

impl Series {
    /// The value of a label, for selector matching.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The latest value and when it was read, or `None` if never read.
    pub fn sample(&self) -> Option<(f64, u64)> {
        let at = self.read_at_ms.load(Ordering::Acquire);
        (at != 0).then(|| (f64::from_bits(self.value.load(Ordering::Relaxed)), at))
    }

    /// Records a fresh value read at `at_ms`.
    pub fn set(&self, value: f64, at_ms: u64) {
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.read_at_ms.store(at_ms.max(1), Ordering::Release);
    }
}

/// Health of one queue's last read.
#[derive(Debug, Default)]
pub struct QueueStatus {
    /// The last read's error, if it failed.
    error: Mutex<Option<Arc<str>>>,
}

impl QueueStatus {
    /// Remembers an error, or clears it with `None`.
    pub fn set_error(&self, e: Option<Arc<str>>) {
        if let Ok(mut g) = self.error.lock() {
            *g = e;
        }
    }

    /// The last error, if the last read failed.
    pub fn error(&self) -> Option<Arc<str>> {
        self.error.lock().ok().and_then(|g| g.clone())
    }
}

/// All series plus the indexes the API reads through.
#[derive(Debug)]
pub struct Store {
    /// Every series.
    pub series: Vec<Series>,
    /// Queue names by config index.
    pub queue_names: Vec<String>,
    /// Per-queue error state by config index.
    pub queue_status: Vec<QueueStatus>,
    /// Series indexes of each metric for each namespace that may read it.
    by_namespace: HashMap<String, HashMap<Metric, Vec<usize>>>,
    /// Series indexes of each queue by config index: depth, then pending, then age.
    by_queue: Vec<[Option<usize>; 3]>,
    /// Metrics that at least one queue serves.
    pub served_metrics: Vec<Metric>,
    /// Data older than this is refused.
    pub max_staleness: Duration,
    /// One flag per Redis endpoint: polled at least once.
    endpoints_ready: Vec<AtomicBool>,
}

impl Store {
    /// Builds the (empty) store for a configuration.
    pub fn new(config: &Config) -> Store {
        let mut series = Vec::new();
        let mut by_namespace: HashMap<String, HashMap<Metric, Vec<usize>>> = HashMap::new();
        let mut by_queue = Vec::new();
        for (qi, q) in config.queues.iter().enumerate() {
            let mut labels: Vec<(String, String)> = q
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.push(("queue".into(), q.name.clone()));
            labels.sort();
            let mut slots = [None; 3];
            for (mi, metric) in Metric::ALL.into_iter().enumerate() {
                let present = match metric {
                    Metric::QueueDepth => true,
                    Metric::QueuePending => q.kind.has_pending(),
                    Metric::QueueOldestAge => q.kind.has_oldest_age(),
                };
                if !present {
                    continue;
                }
                let idx = series.len();
                series.push(Series {
                    metric,
                    queue: qi,
                    labels: labels.clone(),
                    value: AtomicU64::new(0),
                    read_at_ms: AtomicU64::new(0),
                });
                slots[mi] = Some(idx);
                for ns in &q.namespaces {
                    by_namespace
                        .entry(ns.clone())
                        .or_default()
                        .entry(metric)
                        .or_default()
                        .push(idx);
                }
            }
            by_queue.push(slots);
        }
        let served_metrics = Metric::ALL
            .into_iter()
            .filter(|m| series.iter().any(|s| s.metric == *m))
            .collect();
        Store {
            series,
            queue_names: config.queues.iter().map(|q| q.name.clone()).collect(),
            queue_status: config
                .queues
                .iter()
                .map(|_| QueueStatus::default())
                .collect(),
            by_namespace,
            by_queue,
            served_metrics,
            max_staleness: config.max_staleness,
            endpoints_ready: config
                .endpoints
                .iter()
                .map(|_| AtomicBool::new(false))
                .collect(),
        }
    }

    /// Series of `metric` visible to `namespace` (empty when none are).
    pub fn visible(&self, namespace: &str, metric: Metric) -> &[usize] {
        self.by_namespace
            .get(namespace)
            .and_then(|m| m.get(&metric))
            .map_or(&[], Vec::as_slice)
    }

    /// The series of `metric` for queue `queue`, if the queue serves it.
    pub fn queue_series(&self, queue: usize, metric: Metric) -> Option<&Series> {
        let slot = Metric::ALL.iter().position(|m| *m == metric)?;
        self.by_queue.get(queue)?[slot].map(|i| &self.series[i])
    }

    /// Marks endpoint `i` as polled at least once.
    pub fn mark_ready(&self, endpoint: usize) {
        if let Some(f) = self.endpoints_ready.get(endpoint) {
            f.store(true, Ordering::Release);
        }
    }

    /// Whether every endpoint has been polled at least once.
    pub fn ready(&self) -> bool {
        self.endpoints_ready
            .iter()
            .all(|f| f.load(Ordering::Acquire))
    }
}

/// Milliseconds since the unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_follow_queue_types_and_namespaces() {
        let cfg = crate::config::parse(
            "queues:\n  - {name: l, namespaces: [a], key: k, type: list, labels: {service: gw}}\n  - {name: s, namespaces: [a, b], key: s, type: stream, group: g}\n",
            &|_| None,
        )
        .unwrap();
        let store = Store::new(&cfg);
        assert_eq!(store.series.len(), 1 + 3);
        assert_eq!(store.visible("a", Metric::QueueDepth).len(), 2);
        assert_eq!(store.visible("b", Metric::QueueDepth).len(), 1);
        assert_eq!(store.visible("b", Metric::QueuePending).len(), 1);
        assert!(store.visible("c", Metric::QueueDepth).is_empty());
        let l = store.queue_series(0, Metric::QueueDepth).unwrap();
        assert_eq!(l.label("service"), Some("gw"));
        assert_eq!(l.label("queue"), Some("l"));
        assert!(l.sample().is_none());
        l.set(3.0, 1000);
        assert_eq!(l.sample(), Some((3.0, 1000)));
        assert!(store.queue_series(0, Metric::QueuePending).is_none());
        assert!(!store.ready());
        store.mark_ready(0);
        assert!(store.ready());
    }
}
