//! Building the store: each source asks the [`Builder`] for its typed
//! writer, which owns the source's series, its error state and its
//! readiness; [`Builder::finish`] indexes everything by (namespace, metric)
//! for the API.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::answer::{Answer, Cell};
use super::series::{Item, Items, PromqlEntry, PromqlSnapshot, Series, Source, SourceKind};
use super::{Metric, Store, now_ms};
use crate::k8s::labels::Labels as LabelsJson;

/// Accumulates sources and series while the store is built.
#[derive(Debug, Default)]
pub struct Builder {
    series: Vec<Arc<Series>>,
    promql: Vec<Arc<PromqlEntry>>,
    sources: Vec<Arc<Source>>,
    cells: Vec<(Arc<Source>, String, Cell)>,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Builder {
        Builder::default()
    }

    fn source(&mut self, kind: SourceKind, name: &str, namespaces: &[String]) -> Arc<Source> {
        let s = Arc::new(Source::new(kind, name, namespaces));
        self.sources.push(s.clone());
        s
    }

    fn series(
        &mut self,
        metric: Metric,
        source: &Arc<Source>,
        labels: Arc<[(String, String)]>,
    ) -> Arc<Series> {
        // Series of one source share their label set; render its JSON once.
        let labels_json = match self.series.last() {
            Some(prev) if Arc::ptr_eq(&prev.labels, &labels) => prev.labels_json.clone(),
            _ => Arc::from(serde_json::to_string(&LabelsJson(&labels)).unwrap_or_default()),
        };
        let s = Arc::new(Series::new(metric, source.clone(), labels, labels_json));
        self.series.push(s.clone());
        self.cells.push((
            source.clone(),
            metric.name().to_string(),
            Cell::Series(s.clone()),
        ));
        s
    }

    /// A queue's writer: `queue_depth` always, `queue_pending` and
    /// `queue_oldest_age_seconds` when its kind can measure them.
    pub fn queue(
        &mut self,
        name: &str,
        namespaces: &[String],
        static_labels: &[(String, String)],
        pending: bool,
        oldest_age: bool,
    ) -> QueueWriter {
        let source = self.source(SourceKind::Queue, name, namespaces);
        let l = labels(static_labels, &[("queue", name)]);
        QueueWriter {
            depth: self.series(Metric::QueueDepth, &source, l.clone()),
            pending: pending.then(|| self.series(Metric::QueuePending, &source, l.clone())),
            oldest_age: oldest_age.then(|| self.series(Metric::QueueOldestAge, &source, l)),
            source,
        }
    }

    /// A service's writer: one latency series per quantile, and the request
    /// rate and in-flight series when asked for.
    pub fn service(
        &mut self,
        name: &str,
        namespaces: &[String],
        static_labels: &[(String, String)],
        quantiles: &[f64],
        rate: bool,
        inflight: bool,
    ) -> ServiceWriter {
        let source = self.source(SourceKind::Service, name, namespaces);
        let base = [("service", name)];
        let latency = quantiles
            .iter()
            .map(|q| {
                let q = q.to_string();
                let l = labels(static_labels, &[base[0], ("quantile", &q)]);
                self.series(Metric::ServiceLatency, &source, l)
            })
            .collect();
        let plain = || labels(static_labels, &base);
        let rate = rate.then(|| {
            let l = plain();
            self.series(Metric::ServiceRequestRate, &source, l)
        });
        let inflight = inflight.then(|| {
            let l = plain();
            self.series(Metric::ServiceInflight, &source, l)
        });
        ServiceWriter {
            source,
            latency,
            rate,
            inflight,
        }
    }

    /// A PromQL entry's writer; the entry serves metric `name`.
    pub fn promql(&mut self, name: &str, namespaces: &[String]) -> PromqlWriter {
        let source = self.source(SourceKind::Promql, name, namespaces);
        let entry = Arc::new(PromqlEntry {
            source: source.clone(),
            snapshot: arc_swap::ArcSwap::from_pointee(PromqlSnapshot::default()),
        });
        self.promql.push(entry.clone());
        self.cells
            .push((source, name.to_string(), Cell::Promql(entry.clone())));
        PromqlWriter { entry }
    }

    /// The store, indexed by (namespace, metric) for the API.
    pub fn finish(self, max_staleness: Duration) -> Store {
        let mut answers: HashMap<String, HashMap<String, Answer>> = HashMap::new();
        for (source, metric, cell) in self.cells {
            for ns in source.namespaces.iter() {
                // Most namespaces are already known: no key to allocate for them.
                let metrics = match answers.get_mut(ns.as_str()) {
                    Some(m) => m,
                    None => answers.entry(ns.clone()).or_default(),
                };
                let answer = match metrics.get_mut(metric.as_str()) {
                    Some(a) => a,
                    None => metrics.entry(metric.clone()).or_insert_with(|| Answer {
                        metric: metric.clone(),
                        cells: Vec::new(),
                    }),
                };
                answer.cells.push(cell.clone());
            }
        }
        let mut served_metrics: Vec<String> = Metric::ALL
            .into_iter()
            .filter(|m| self.series.iter().any(|s| s.metric == *m))
            .map(|m| m.name().to_string())
            .collect();
        served_metrics.extend(self.promql.iter().map(|p| p.source.name.clone()));
        Store {
            series: self.series,
            promql: self.promql,
            sources: self.sources,
            answers,
            served_metrics,
            max_staleness,
        }
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

/// Writes one queue's numbers.
#[derive(Debug, Clone)]
pub struct QueueWriter {
    source: Arc<Source>,
    depth: Arc<Series>,
    pending: Option<Arc<Series>>,
    oldest_age: Option<Arc<Series>>,
}

impl QueueWriter {
    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// Records a successful read at `at_ms`: items waiting, items pending,
    /// and when the oldest of them was added (unix ms; `None`: no item, age 0).
    /// Clears the queue's error.
    pub fn write(&self, depth: f64, pending: f64, oldest_ms: Option<u64>, at_ms: u64) {
        self.depth.set(depth, at_ms);
        if let Some(s) = &self.pending {
            s.set(pending, at_ms);
        }
        if let Some(s) = &self.oldest_age {
            let age = oldest_ms.map_or(0.0, |t| at_ms.saturating_sub(t) as f64 / 1000.0);
            s.set(age, at_ms);
        }
        self.source.set_error(None);
    }

    /// Records a failed read; the last values stay until they are stale.
    pub fn fail(&self, error: Arc<str>) {
        self.source.set_error(Some(error));
    }

    /// Marks the queue's first read as done (readiness).
    pub fn mark_ready(&self) {
        self.source.mark_ready();
    }
}

/// Writes one service's numbers.
#[derive(Debug, Clone)]
pub struct ServiceWriter {
    source: Arc<Source>,
    latency: Vec<Arc<Series>>,
    rate: Option<Arc<Series>>,
    inflight: Option<Arc<Series>>,
}

impl ServiceWriter {
    /// Records a round's values at `at_ms`: one latency per configured
    /// quantile (in config order), and the rate and in-flight numbers,
    /// computed only if the service serves them. Clears the error.
    pub fn write(
        &self,
        at_ms: u64,
        latency: impl IntoIterator<Item = f64>,
        rate: impl FnOnce() -> f64,
        inflight: impl FnOnce() -> f64,
    ) {
        for (s, v) in self.latency.iter().zip(latency) {
            s.set(v, at_ms);
        }
        if let Some(s) = &self.rate {
            s.set(rate(), at_ms);
        }
        if let Some(s) = &self.inflight {
            s.set(inflight(), at_ms);
        }
        self.source.set_error(None);
    }

    /// Records a failed round; the last values stay until they are stale.
    pub fn fail(&self, error: Arc<str>) {
        self.source.set_error(Some(error));
    }

    /// Marks the service's first round as done (readiness).
    pub fn mark_ready(&self) {
        self.source.mark_ready();
    }
}

/// Publishes one PromQL entry's results.
#[derive(Debug, Clone)]
pub struct PromqlWriter {
    entry: Arc<PromqlEntry>,
}

impl PromqlWriter {
    /// The entry's name.
    pub fn name(&self) -> &str {
        &self.entry.source.name
    }

    /// Publishes a result read now.
    pub fn publish(&self, items: Items) {
        let items = items
            .into_iter()
            .map(|(labels, value)| Item {
                labels_json: serde_json::to_string(&LabelsJson(&labels)).unwrap_or_default(),
                labels,
                value,
            })
            .collect();
        self.entry.snapshot.store(Arc::new(PromqlSnapshot {
            items,
            read_at_ms: now_ms(),
            query_error: None,
            fetch_error: None,
        }));
        self.entry.source.set_error(None);
        self.entry.source.mark_ready();
    }

    /// Prometheus answered with an error (`query`: served as 503 at once) or
    /// could not be reached (the last result is served while it is fresh).
    pub fn fail(&self, error: String, query: bool) {
        let old = self.entry.snapshot.load_full();
        self.entry.source.set_error(Some(Arc::from(error.as_str())));
        if query {
            // Prometheus answered: the source has been read.
            self.entry.source.mark_ready();
        }
        self.entry.snapshot.store(Arc::new(PromqlSnapshot {
            items: old.items.clone(),
            read_at_ms: old.read_at_ms,
            query_error: query.then(|| error.clone()),
            fetch_error: (!query).then_some(error),
        }));
    }
}
