//! Redis polling metrics (`qma_poll_*`), registered beside the poller.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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
    pub fn register(r: &mut Registry) -> PollMetrics {
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
