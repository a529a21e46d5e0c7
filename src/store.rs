//! The latest value of every series, shared between pollers and the API.
//!
//! The set of queue and service series is fixed by the configuration (a glob
//! pattern is summed into one series), so that part of the store is built
//! once and never reshaped: each series keeps its value and read time in
//! atomics. Pollers and scrapers write them lock-free; the API reads them
//! lock-free through an index by (namespace, metric), so answering the HPA
//! never waits on Redis, a scrape or a lock. A value of NaN means "no item"
//! (a service configured to omit its quantiles when there was no traffic).
//!
//! PromQL results have no fixed shape (the query's vector decides the
//! items), so each PromQL entry holds an immutable snapshot swapped whole.
//!
//! A series whose source failed keeps its last good value and read time; the
//! error is remembered beside it. Whether that value may still be served is
//! decided by its age at request time ([`Store::max_staleness`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Config;

pub use crate::config::Metric;

/// One served time series: a metric of one queue or service.
#[derive(Debug)]
pub struct Series {
    /// Which metric.
    pub metric: Metric,
    /// Index of the source (queue, then service) in [`Store::source_names`] and [`Store::source_status`].
    pub source: usize,
    /// `queue` (or `service`, `quantile`) plus the static labels, sorted by key;
    /// shared by the series of one source.
    pub labels: Arc<[(String, String)]>,
    /// The same labels rendered as a JSON object, for the API's answers.
    pub labels_json: Arc<str>,
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

/// Health of one source's last read.
#[derive(Debug, Default)]
pub struct SourceStatus {
    /// The last read's error, if it failed.
    error: Mutex<Option<Arc<str>>>,
}

impl SourceStatus {
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

/// The series of one service.
#[derive(Debug, Clone, Default)]
pub struct ServiceSeries {
    /// Source index of the service.
    pub source: usize,
    /// One series per configured quantile, in config order.
    pub latency: Vec<usize>,
    /// `service_request_rate`, if a request counter is configured.
    pub rate: Option<usize>,
    /// `service_inflight`, if an in-flight gauge is configured.
    pub inflight: Option<usize>,
}

/// Items of a PromQL result: sorted labels and value.
pub type Items = Vec<(Vec<(String, String)>, f64)>;

/// The latest result of one PromQL query.
#[derive(Debug, Clone, Default)]
pub struct PromqlSnapshot {
    /// Items: sorted labels and value.
    pub items: Items,
    /// Unix ms of the last successful query; 0 = never.
    pub read_at_ms: u64,
    /// Prometheus answered with an error (served as 503 at once).
    pub query_error: Option<String>,
    /// Prometheus could not be reached (served while the last result is fresh).
    pub fetch_error: Option<String>,
}

/// A PromQL entry: who may read it, and its latest result.
#[derive(Debug)]
pub struct PromqlEntry {
    /// Metric name.
    pub name: String,
    /// Namespaces that may read it.
    pub namespaces: crate::config::Namespaces,
    /// Latest result, swapped whole.
    pub snapshot: arc_swap::ArcSwap<PromqlSnapshot>,
}

/// All series plus the indexes the API reads through.
#[derive(Debug)]
pub struct Store {
    /// Every series.
    pub series: Vec<Series>,
    /// Names of the sources: queues by config index, then services (`queue "x"`, `service "y"`).
    pub source_names: Vec<String>,
    /// Error state per source.
    pub source_status: Vec<SourceStatus>,
    /// Series indexes of each metric for each namespace that may read it.
    by_namespace: HashMap<String, HashMap<Metric, Vec<usize>>>,
    /// Series indexes of each queue by config index: depth, then pending, then age.
    by_queue: Vec<[Option<usize>; 3]>,
    /// Series indexes of each service by config index.
    pub by_service: Vec<ServiceSeries>,
    /// PromQL entries by config index.
    pub promql: Vec<PromqlEntry>,
    /// Metric names served, in discovery order (built-in ones, then PromQL names).
    pub served_metrics: Vec<String>,
    /// Data older than this is refused.
    pub max_staleness: Duration,
    /// One flag per Redis endpoint: polled at least once.
    endpoints_ready: Vec<AtomicBool>,
}

impl Store {
    /// Builds the (empty) store for a configuration.
    pub fn new(config: &Config) -> Store {
        let mut b = Builder::default();
        let mut by_queue = Vec::new();
        for q in &config.queues {
            let source = b.source(format!("queue {:?}", q.name));
            let base = labels(&q.labels, &[("queue", &q.name)]);
            let mut slots = [None; 3];
            for (mi, metric) in Metric::ALL.into_iter().take(3).enumerate() {
                let present = match metric {
                    Metric::QueuePending => q.kind.has_pending(),
                    Metric::QueueOldestAge => q.kind.has_oldest_age(),
                    _ => true,
                };
                if present {
                    slots[mi] = Some(b.series(metric, source, base.clone(), &q.namespaces));
                }
            }
            by_queue.push(slots);
        }
        let mut by_service = Vec::new();
        for svc in &config.services {
            let source = b.source(format!("service {:?}", svc.name));
            let base = [("service", svc.name.as_str())];
            let latency = svc
                .quantiles
                .iter()
                .map(|q| {
                    let q = q.to_string();
                    let l = labels(&svc.labels, &[base[0], ("quantile", &q)]);
                    b.series(Metric::ServiceLatency, source, l, &svc.namespaces)
                })
                .collect();
            let rate = svc.request_counter.as_ref().map(|_| {
                b.series(
                    Metric::ServiceRequestRate,
                    source,
                    labels(&svc.labels, &base),
                    &svc.namespaces,
                )
            });
            let inflight = svc.inflight_gauge.as_ref().map(|_| {
                b.series(
                    Metric::ServiceInflight,
                    source,
                    labels(&svc.labels, &base),
                    &svc.namespaces,
                )
            });
            by_service.push(ServiceSeries {
                source,
                latency,
                rate,
                inflight,
            });
        }
        let mut served_metrics: Vec<String> = Metric::ALL
            .into_iter()
            .filter(|m| b.series.iter().any(|s| s.metric == *m))
            .map(|m| m.name().to_string())
            .collect();
        served_metrics.extend(config.promql.iter().map(|p| p.name.clone()));
        Store {
            series: b.series,
            source_names: b.names,
            source_status: b.status,
            by_namespace: b.by_namespace,
            by_queue,
            by_service,
            promql: config
                .promql
                .iter()
                .map(|p| PromqlEntry {
                    name: p.name.clone(),
                    namespaces: p.namespaces.clone(),
                    snapshot: arc_swap::ArcSwap::from_pointee(PromqlSnapshot::default()),
                })
                .collect(),
            served_metrics,
            max_staleness: config.max_staleness,
            // An endpoint no queue uses is never polled, so it cannot hold readiness back.
            endpoints_ready: (0..config.endpoints.len())
                .map(|i| AtomicBool::new(!config.queues.iter().any(|q| q.endpoint == i)))
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

    /// The namespaces that may read each series (by series index), sorted:
    /// the index turned around, for exporting and the status page.
    pub fn namespaces_by_series(&self) -> Vec<Vec<&str>> {
        let mut out = vec![Vec::new(); self.series.len()];
        for (ns, metrics) in &self.by_namespace {
            for idx in metrics.values().flatten() {
                out[*idx].push(ns.as_str());
            }
        }
        for v in &mut out {
            v.sort_unstable();
        }
        out
    }

    /// The series of `metric` for queue `queue`, if the queue serves it.
    pub fn queue_series(&self, queue: usize, metric: Metric) -> Option<&Series> {
        let slot = Metric::ALL.iter().take(3).position(|m| *m == metric)?;
        self.by_queue.get(queue)?[slot].map(|i| &self.series[i])
    }

    /// The PromQL entry serving metric `name`, if any.
    pub fn promql_entry(&self, name: &str) -> Option<&PromqlEntry> {
        self.promql.iter().find(|p| p.name == name)
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

/// Accumulates series and sources while the store is built.
#[derive(Default)]
struct Builder {
    series: Vec<Series>,
    names: Vec<String>,
    status: Vec<SourceStatus>,
    by_namespace: HashMap<String, HashMap<Metric, Vec<usize>>>,
}

impl Builder {
    fn source(&mut self, name: String) -> usize {
        self.names.push(name);
        self.status.push(SourceStatus::default());
        self.names.len() - 1
    }

    fn series(
        &mut self,
        metric: Metric,
        source: usize,
        labels: Arc<[(String, String)]>,
        namespaces: &[String],
    ) -> usize {
        let idx = self.series.len();
        // Series of one source share their label set; render its JSON once.
        let labels_json = match self.series.last() {
            Some(prev) if Arc::ptr_eq(&prev.labels, &labels) => prev.labels_json.clone(),
            _ => Arc::from(serde_json::to_string(&crate::api::Labels(&labels)).unwrap_or_default()),
        };
        self.series.push(Series {
            metric,
            source,
            labels,
            labels_json,
            value: AtomicU64::new(0),
            read_at_ms: AtomicU64::new(0),
        });
        for ns in namespaces {
            // Most namespaces are already known: no key to allocate for them.
            let metrics = match self.by_namespace.get_mut(ns.as_str()) {
                Some(m) => m,
                None => self.by_namespace.entry(ns.clone()).or_default(),
            };
            metrics.entry(metric).or_default().push(idx);
        }
        idx
    }
}

/// Static labels plus the adapter's own, sorted by key.
fn labels(statics: &[(String, String)], own: &[(&str, &str)]) -> Arc<[(String, String)]> {
    let mut l: Vec<(String, String)> = statics
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    l.extend(own.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    l.sort();
    l.into()
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
