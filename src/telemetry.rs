//! The adapter's own logs and Prometheus metrics.
//!
//! Logs go through `tracing` as plain text or JSON. Metrics use
//! prometheus-client; each subsystem owns a struct that registers itself on a
//! prefixed sub-registry (`qma_api_*` here; each source registers its own, as
//! `qma_poll_*` beside the Redis poller) and is shared by `Arc`.

pub mod served;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// Installs the global tracing subscriber (`RUST_LOG` filters, default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The registry encoded at `/metrics` and the API's metrics; each source
/// registers its own metrics on it (`register(&mut Registry)` beside the
/// source, e.g. `qma_poll_*` in `sources::redis::metrics`).
pub struct Metrics {
    /// The registry encoded at `/metrics` (prefix `qma`).
    pub registry: Registry,
    /// The external metrics API.
    pub api: Arc<ApiMetrics>,
}

impl Metrics {
    /// Creates the registry and the API's metrics.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("qma");
        let api = Arc::new(ApiMetrics::register(
            registry.sub_registry_with_prefix("api"),
        ));
        Metrics { registry, api }
    }

    /// Adds the served values of `store` (see [`served`]).
    pub fn register_served(&mut self, store: Arc<crate::store::Store>) {
        self.registry
            .register_collector(Box::new(served::ServedValues::new(store)));
    }

    /// The registry in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Encoding into a String only fails if a metric's encoder does; ours do not.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Labels of API request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Route template, e.g. `/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}`.
    pub path: &'static str,
    /// HTTP status code.
    pub code: u16,
}

/// Labels of per-route latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PathLabels {
    /// Route template.
    pub path: &'static str,
}

/// Labels of served series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MetricLabels {
    /// External metric name.
    pub metric: String,
}

/// External metrics API metrics (`qma_api_*`).
pub struct ApiMetrics {
    /// Requests by route template and status code.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latency by route template.
    pub duration: Family<PathLabels, Histogram>,
    /// Items returned in ExternalMetricValueLists, by metric.
    pub series_served: Family<MetricLabels, Counter>,
    /// Age of the data in each served item.
    pub data_age: Histogram,
}

impl ApiMetrics {
    fn register(r: &mut Registry) -> ApiMetrics {
        let m = ApiMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.000_02, 2.0, 16))
            }),
            series_served: Family::default(),
            data_age: Histogram::new(exponential_buckets(0.125, 2.0, 10)),
        };
        r.register(
            "requests",
            "API requests by route and status code",
            m.requests.clone(),
        );
        r.register(
            "request_duration_seconds",
            "API request latency by route",
            m.duration.clone(),
        );
        r.register(
            "series_served",
            "Items served in external metric value lists",
            m.series_served.clone(),
        );
        r.register(
            "data_age_seconds",
            "Age of the values served, at the time they were served",
            m.data_age.clone(),
        );
        m
    }
}
