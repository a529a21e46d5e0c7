//! The metrics the adapter serves itself, by their API names.
//!
//! They live here, at the bottom, because the configuration refuses a PromQL
//! entry that would shadow one of them; the store and the API use them too.

/// The metrics this adapter serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Items waiting (list length, zset count, stream entries not yet delivered).
    QueueDepth,
    /// Stream entries delivered to a consumer group but not acknowledged.
    QueuePending,
    /// Age of the oldest waiting or pending item.
    QueueOldestAge,
    /// A latency quantile of a service (label `quantile`).
    ServiceLatency,
    /// Requests per second of a service.
    ServiceRequestRate,
    /// In-flight requests of a service, summed over its ready pods.
    ServiceInflight,
}

impl Metric {
    /// Every metric, in discovery order.
    pub const ALL: [Metric; 6] = [
        Metric::QueueDepth,
        Metric::QueuePending,
        Metric::QueueOldestAge,
        Metric::ServiceLatency,
        Metric::ServiceRequestRate,
        Metric::ServiceInflight,
    ];

    /// The name in the API path and in `metricName`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::QueueDepth => "queue_depth",
            Metric::QueuePending => "queue_pending",
            Metric::QueueOldestAge => "queue_oldest_age_seconds",
            Metric::ServiceLatency => "service_latency_seconds",
            Metric::ServiceRequestRate => "service_request_rate",
            Metric::ServiceInflight => "service_inflight",
        }
    }

    /// Looks a metric up by its API name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}
