//! The adapter's own logs and Prometheus metrics.
//!
//! Logs go through `tracing` as plain text or JSON. Metrics use
//! prometheus-client; each subsystem owns a struct that registers itself on a
//! prefixed sub-registry (`qma_poll_*`, `qma_api_*`) and is shared by `Arc`.

pub mod served;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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

/// Every metric the adapter exports, plus the registry they live in.
pub struct Metrics {
    /// The registry encoded at `/metrics`.
    pub registry: Registry,
    /// Redis polling.
    pub poll: Arc<PollMetrics>,
    /// The external metrics API.
    pub api: Arc<ApiMetrics>,
    /// Service scrapes.
    pub scrape: Arc<ScrapeMetrics>,
    /// PromQL queries.
    pub promql: Arc<PromqlMetrics>,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("qma");
        let poll = Arc::new(PollMetrics::register(
            registry.sub_registry_with_prefix("poll"),
        ));
        let api = Arc::new(ApiMetrics::register(
            registry.sub_registry_with_prefix("api"),
        ));
        let scrape = Arc::new(ScrapeMetrics::register(
            registry.sub_registry_with_prefix("scrape"),
        ));
        let promql = Arc::new(PromqlMetrics::register(
            registry.sub_registry_with_prefix("promql"),
        ));
        Metrics {
            registry,
            poll,
            api,
            scrape,
            promql,
        }
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

/// Labels of per-endpoint poll metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    /// Endpoint name from the config.
    pub endpoint: String,
}

/// Labels of poll errors.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollErrorLabels {
    /// Queue name (`*` when the whole endpoint failed).
    pub queue: String,
    /// Low-cardinality reason: `unreachable`, `wrong_type`, `server_error`, `protocol`, `scan`.
    pub reason: String,
}

/// Labels of per-queue gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// Queue name.
    pub queue: String,
}

/// Redis polling metrics (`qma_poll_*`).
pub struct PollMetrics {
    /// Wall time of one poll of an endpoint (all queues, all round trips).
    pub duration: Family<EndpointLabels, Histogram>,
    /// Round trips used by the last poll of an endpoint.
    pub round_trips: Family<EndpointLabels, Gauge>,
    /// Failed reads, by queue and reason.
    pub errors: Family<PollErrorLabels, Counter>,
    /// Keys a glob pattern matched at the last SCAN.
    pub pattern_keys: Family<QueueLabels, Gauge>,
    /// Streams whose lag had to be counted and hit `lag_count_limit`.
    pub lag_truncated: Family<QueueLabels, Counter>,
}

impl PollMetrics {
    fn register(r: &mut Registry) -> PollMetrics {
        let m = PollMetrics {
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0005, 2.0, 14))
            }),
            round_trips: Family::default(),
            errors: Family::default(),
            pattern_keys: Family::default(),
            lag_truncated: Family::default(),
        };
        r.register(
            "duration_seconds",
            "Time to poll every queue of a Redis endpoint",
            m.duration.clone(),
        );
        r.register(
            "round_trips",
            "Redis round trips used by the last poll",
            m.round_trips.clone(),
        );
        r.register(
            "errors",
            "Queue reads that failed, by queue and reason",
            m.errors.clone(),
        );
        r.register(
            "pattern_keys",
            "Keys matched by a queue's glob pattern at the last SCAN",
            m.pattern_keys.clone(),
        );
        r.register(
            "lag_truncated",
            "Polls where a stream's undelivered entries were counted up to lag_count_limit",
            m.lag_truncated.clone(),
        );
        m
    }

    /// Counts one failed read.
    pub fn error(&self, queue: &str, reason: &str) {
        self.errors
            .get_or_create(&PollErrorLabels {
                queue: queue.to_string(),
                reason: reason.to_string(),
            })
            .inc();
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

/// Labels of per-service scrape metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    /// Service name from the config.
    pub service: String,
}

/// Labels of target counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetStateLabels {
    /// Service name.
    pub service: String,
    /// `up` or `down` in the last round.
    pub state: String,
}

/// Labels of scrape errors.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScrapeErrorLabels {
    /// Service name.
    pub service: String,
    /// `fetch`, `timeout`, `http_status`, `too_large`, `parse`.
    pub reason: String,
}

/// Service scrape metrics (`qma_scrape_*`).
pub struct ScrapeMetrics {
    /// Time of one round over all targets of a service.
    pub duration: Family<ServiceLabels, Histogram>,
    /// Body bytes read.
    pub bytes: Family<ServiceLabels, Counter>,
    /// Targets up and down in the last round.
    pub targets: Family<TargetStateLabels, Gauge>,
    /// Failed target scrapes by reason.
    pub errors: Family<ScrapeErrorLabels, Counter>,
}

impl ScrapeMetrics {
    fn register(r: &mut Registry) -> ScrapeMetrics {
        let m = ScrapeMetrics {
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 14))
            }),
            bytes: Family::default(),
            targets: Family::default(),
            errors: Family::default(),
        };
        r.register(
            "duration_seconds",
            "Time to scrape every target of a service",
            m.duration.clone(),
        );
        r.register("bytes", "Bytes of /metrics read", m.bytes.clone());
        r.register(
            "targets",
            "Targets up and down in the last round",
            m.targets.clone(),
        );
        r.register(
            "errors",
            "Target scrapes that failed, by service and reason",
            m.errors.clone(),
        );
        m
    }

    /// Counts one failed scrape.
    pub fn error(&self, service: &str, reason: &str) {
        self.errors
            .get_or_create(&ScrapeErrorLabels {
                service: service.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }
}

/// Labels of PromQL metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PromqlLabels {
    /// PromQL entry name.
    pub name: String,
}

/// Labels of PromQL errors.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PromqlErrorLabels {
    /// PromQL entry name.
    pub name: String,
    /// `query` (Prometheus answered with an error) or `fetch`.
    pub reason: String,
}

/// PromQL source metrics (`qma_promql_*`).
pub struct PromqlMetrics {
    /// Query latency.
    pub duration: Family<PromqlLabels, Histogram>,
    /// Failed queries.
    pub errors: Family<PromqlErrorLabels, Counter>,
}

impl PromqlMetrics {
    fn register(r: &mut Registry) -> PromqlMetrics {
        let m = PromqlMetrics {
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 14))
            }),
            errors: Family::default(),
        };
        r.register(
            "duration_seconds",
            "PromQL query latency",
            m.duration.clone(),
        );
        r.register("errors", "PromQL queries that failed", m.errors.clone());
        m
    }
}
