//! What the store holds: series (one value, in atomics), PromQL entries (a
//! snapshot swapped whole) and the state of the source behind them.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Metric;

/// What a source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A Redis queue.
    Queue,
    /// A scraped service.
    Service,
    /// A PromQL entry.
    Promql,
}

impl SourceKind {
    /// `queue`, `service` or `promql` (the `kind` label of source metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Queue => "queue",
            SourceKind::Service => "service",
            SourceKind::Promql => "promql",
        }
    }
}

/// One configured source (a queue, a service, a PromQL entry): who may read
/// it, its series, its last error, and whether its first read is done
/// (readiness). A source and its series are one allocation plus one slice,
/// so a writer's stores stay close together.
#[derive(Debug)]
pub struct Source {
    /// What it reads.
    pub kind: SourceKind,
    /// Its name in the config.
    pub name: String,
    /// Namespaces that may read its series, sorted (shared between sources
    /// with the same list).
    pub namespaces: Arc<[String]>,
    /// Its series (none for a PromQL entry, whose items are a snapshot).
    pub series: Box<[Series]>,
    error: Mutex<Option<Arc<str>>>,
    /// Whether `error` holds one: a successful read of a healthy source
    /// (every poll of every queue) then takes no lock.
    failing: AtomicBool,
    ready: AtomicBool,
}

impl Source {
    pub(super) fn new(
        kind: SourceKind,
        name: &str,
        namespaces: Arc<[String]>,
        series: Vec<Series>,
    ) -> Source {
        Source {
            kind,
            name: name.to_string(),
            namespaces,
            series: series.into_boxed_slice(),
            error: Mutex::new(None),
            failing: AtomicBool::new(false),
            ready: AtomicBool::new(false),
        }
    }

    /// Remembers an error, or clears it with `None`.
    pub fn set_error(&self, e: Option<Arc<str>>) {
        if e.is_none() && !self.failing.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut g) = self.error.lock() {
            self.failing.store(e.is_some(), Ordering::Release);
            *g = e;
        }
    }

    /// The last error, if the last read failed.
    pub fn error(&self) -> Option<Arc<str>> {
        if !self.failing.load(Ordering::Acquire) {
            return None;
        }
        self.error.lock().ok().and_then(|g| g.clone())
    }

    /// Marks the first read as done.
    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Whether the first read is done.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

impl fmt::Display for Source {
    /// `queue "name"`, as error messages name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind.as_str(), self.name)
    }
}

/// Labels of a series: sorted, shared by the series of one source.
pub type LabelSet = Arc<[(String, String)]>;

/// One series of a source, as the API and the exporters see it: derefs to
/// the [`Series`], and names its [`Source`].
#[derive(Debug, Clone)]
pub struct SeriesRef {
    /// The queue or service it belongs to.
    pub source: Arc<Source>,
    index: usize,
}

impl SeriesRef {
    pub(super) fn new(source: Arc<Source>, index: usize) -> SeriesRef {
        SeriesRef { source, index }
    }
}

impl std::ops::Deref for SeriesRef {
    type Target = Series;

    fn deref(&self) -> &Series {
        &self.source.series[self.index]
    }
}

/// One served time series: a metric of one queue or service.
#[derive(Debug)]
pub struct Series {
    /// Which metric.
    pub metric: Metric,
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
    pub(super) fn new(
        metric: Metric,
        labels: Arc<[(String, String)]>,
        labels_json: Arc<str>,
    ) -> Series {
        Series {
            metric,
            labels,
            labels_json,
            value: AtomicU64::new(0),
            read_at_ms: AtomicU64::new(0),
        }
    }

    /// The value of a label, for selector matching.
    pub fn label(&self, key: &str) -> Option<&str> {
        crate::k8s::labels::value(&self.labels, key)
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

/// Items of a PromQL result as the query returns them: sorted labels and value.
pub type Items = Vec<(Vec<(String, String)>, f64)>;

/// One item of a PromQL result, with its labels rendered once for the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Sorted labels.
    pub labels: Vec<(String, String)>,
    /// The labels as a JSON object.
    pub labels_json: String,
    /// The value.
    pub value: f64,
}

/// The latest result of one PromQL query.
#[derive(Debug, Clone, Default)]
pub struct PromqlSnapshot {
    /// Items.
    pub items: Vec<Item>,
    /// Unix ms of the last successful query; 0 = never.
    pub read_at_ms: u64,
    /// Prometheus answered with an error (served as 503 at once).
    pub query_error: Option<String>,
    /// Prometheus could not be reached (served while the last result is fresh).
    pub fetch_error: Option<String>,
}

/// A PromQL entry: its source (name, namespaces) and latest result.
#[derive(Debug)]
pub struct PromqlEntry {
    /// Name (the metric name served) and namespaces.
    pub source: Arc<Source>,
    /// Latest result, swapped whole.
    pub snapshot: arc_swap::ArcSwap<PromqlSnapshot>,
}
