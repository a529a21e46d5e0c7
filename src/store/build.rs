//! Building the store: each source asks the [`Builder`] for its typed
//! writer, which owns the source's series, its error state and its
//! readiness; [`Builder::finish`] indexes everything by (namespace, metric)
//! for the API.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::answer::{Answer, Cell};
use super::series::{
    Item, Items, LabelSet, PromqlEntry, PromqlSnapshot, Series, SeriesRef, Source, SourceKind,
};
use super::{Metric, Store, now_ms};
use crate::k8s::labels::Labels as LabelsJson;

/// Accumulates sources and series while the store is built.
#[derive(Debug, Default)]
pub struct Builder {
    series: Vec<SeriesRef>,
    promql: Vec<Arc<PromqlEntry>>,
    sources: Vec<Arc<Source>>,
    cells: Vec<(Arc<Source>, Cow<'static, str>, Cell)>,
    /// Namespace lists already seen, sorted: sources share them.
    namespaces: HashMap<Vec<String>, Arc<[String]>>,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// `namespaces` sorted and deduplicated, shared with every source that has the same list.
    fn namespaces(&mut self, namespaces: &[String]) -> Arc<[String]> {
        // The config sorts them already: look up without copying.
        if namespaces.windows(2).all(|w| w[0] < w[1])
            && let Some(shared) = self.namespaces.get(namespaces)
        {
            return shared.clone();
        }
        let mut ns = namespaces.to_vec();
        ns.sort_unstable();
        ns.dedup();
        if let Some(shared) = self.namespaces.get(&ns) {
            return shared.clone();
        }
        let shared: Arc<[String]> = ns.clone().into();
        self.namespaces.insert(ns, shared.clone());
        shared
    }

    /// A source with `series` (metric and labels each), indexed for the API.
    fn source(
        &mut self,
        kind: SourceKind,
        name: &str,
        namespaces: &[String],
        series: Vec<(Metric, LabelSet)>,
    ) -> Arc<Source> {
        let namespaces = self.namespaces(namespaces);
        let mut built: Vec<Series> = Vec::with_capacity(series.len());
        for (metric, labels) in series {
            // Series of one source share their label set; render its JSON once.
            let labels_json = match built.last() {
                Some(prev) if Arc::ptr_eq(&prev.labels, &labels) => prev.labels_json.clone(),
                _ => Arc::from(serde_json::to_string(&LabelsJson(&labels)).unwrap_or_default()),
            };
            built.push(Series::new(metric, labels, labels_json));
        }
        let source = Arc::new(Source::new(kind, name, namespaces, built));
        for (i, s) in source.series.iter().enumerate() {
            let r = SeriesRef::new(source.clone(), i);
            self.series.push(r.clone());
            self.cells.push((
                source.clone(),
                Cow::Borrowed(s.metric.name()),
                Cell::Series(s.labels.clone(), r),
            ));
        }
        self.sources.push(source.clone());
        source
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
        let l = labels(static_labels, &[("queue", name)]);
        let mut series = vec![(Metric::QueueDepth, l.clone())];
        let pending = pending.then(|| {
            series.push((Metric::QueuePending, l.clone()));
            series.len() - 1
        });
        let oldest_age = oldest_age.then(|| {
            series.push((Metric::QueueOldestAge, l.clone()));
            series.len() - 1
        });
        QueueWriter {
            source: self.source(SourceKind::Queue, name, namespaces, series),
            pending,
            oldest_age,
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
        let base = [("service", name)];
        let mut series: Vec<_> = quantiles
            .iter()
            .map(|q| {
                let q = q.to_string();
                let l = labels(static_labels, &[base[0], ("quantile", &q)]);
                (Metric::ServiceLatency, l)
            })
            .collect();
        let latency = series.len();
        let rate = rate.then(|| {
            series.push((Metric::ServiceRequestRate, labels(static_labels, &base)));
            series.len() - 1
        });
        let inflight = inflight.then(|| {
            series.push((Metric::ServiceInflight, labels(static_labels, &base)));
            series.len() - 1
        });
        ServiceWriter {
            source: self.source(SourceKind::Service, name, namespaces, series),
            latency,
            rate,
            inflight,
        }
    }

    /// A PromQL entry's writer; the entry serves metric `name`.
    pub fn promql(&mut self, name: &str, namespaces: &[String]) -> PromqlWriter {
        let source = self.source(SourceKind::Promql, name, namespaces, Vec::new());
        let entry = Arc::new(PromqlEntry {
            source: source.clone(),
            snapshot: arc_swap::ArcSwap::from_pointee(PromqlSnapshot::default()),
        });
        self.promql.push(entry.clone());
        self.cells.push((
            source,
            Cow::Owned(name.to_string()),
            Cell::Promql(entry.clone()),
        ));
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
                let answer = match metrics.get_mut(&*metric) {
                    Some(a) => a,
                    None => metrics.entry(metric.to_string()).or_insert_with(|| Answer {
                        metric: metric.to_string(),
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
            all_ready: AtomicBool::new(false),
        }
    }
}

/// Static labels plus the adapter's own, sorted by key.
fn labels(statics: &[(String, String)], own: &[(&str, &str)]) -> LabelSet {
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
    /// The queue; its series are depth (first), then pending and age when present.
    source: Arc<Source>,
    pending: Option<usize>,
    oldest_age: Option<usize>,
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
        let series = &self.source.series;
        series[0].set(depth, at_ms);
        if let Some(i) = self.pending {
            series[i].set(pending, at_ms);
        }
        if let Some(i) = self.oldest_age {
            let age = oldest_ms.map_or(0.0, |t| at_ms.saturating_sub(t) as f64 / 1000.0);
            series[i].set(age, at_ms);
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
    /// The service; its series are the latencies (first), then rate and in-flight when present.
    source: Arc<Source>,
    latency: usize,
    rate: Option<usize>,
    inflight: Option<usize>,
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
        let series = &self.source.series;
        for (s, v) in series[..self.latency].iter().zip(latency) {
            s.set(v, at_ms);
        }
        if let Some(i) = self.rate {
            series[i].set(rate(), at_ms);
        }
        if let Some(i) = self.inflight {
            series[i].set(inflight(), at_ms);
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
