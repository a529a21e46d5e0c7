//! The simulated pods' Prometheus endpoints, served from one HTTP server.
//!
//! Pods come and go, but the adapter's `services:` source with static
//! `urls:` scrapes a fixed list. So every service gets a fixed number of
//! **slots** (its pod limit, the policy's `maxReplicas`), each with its own
//! URL `http://127.0.0.1:<port>/pods/<service>/<slot>/metrics`, and the
//! adapter's config lists all of them. A pod occupies the lowest free slot
//! from its creation until it is deleted (as a terminating pod leaves its
//! Service's ready endpoints); an empty slot answers a valid, empty
//! OpenMetrics exposition (`# EOF`), so the adapter scrapes it without error
//! and finds no series.
//!
//! Each pod has its own prometheus-client registry with the label
//! `pod="<name>"`, so a new pod in a reused slot is a new series (not a
//! counter reset), and series of a deleted pod age out of the adapter's
//! window as a gone pod's would in Prometheus. A pod exposes:
//!
//! - [`LATENCY_METRIC`](super::LATENCY_METRIC) (`_bucket`, `_sum`, `_count`): the
//!   end-to-end latency (from when the job could be taken, i.e. its arrival,
//!   or its due time for zsets, to when it was done), in **scenario
//!   seconds**, buckets [`LATENCY_BUCKETS`](super::LATENCY_BUCKETS);
//! - [`REQUEST_COUNTER`](super::REQUEST_COUNTER): requests completed;
//! - [`INFLIGHT_GAUGE`](super::INFLIGHT_GAUGE): requests in service.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The OpenMetrics content type the endpoints answer with.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why the endpoints cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// The listener could not be bound.
    #[error("cannot listen for the pods' /metrics on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// One pod's metrics.
#[derive(Debug)]
pub(crate) struct PodMetrics {
    /// The registry (label `pod`).
    registry: Registry,
    /// End-to-end latency, scenario seconds.
    latency: Histogram,
    /// Completed requests.
    requests: Counter,
    /// Requests in service.
    inflight: Gauge,
}

impl PodMetrics {
    /// Fresh metrics for pod `name`.
    pub(crate) fn new(name: &str) -> PodMetrics {
        let mut registry = Registry::with_labels(
            [(Cow::Borrowed("pod"), Cow::Owned(name.to_string()))].into_iter(),
        );
        let latency = Histogram::new(super::LATENCY_BUCKETS);
        let requests = Counter::default();
        let inflight = Gauge::default();
        registry.register(
            super::LATENCY_METRIC,
            "End-to-end request latency (scenario seconds)",
            latency.clone(),
        );
        registry.register(
            super::REQUEST_COUNTER
                .strip_suffix("_total")
                .unwrap_or(super::REQUEST_COUNTER),
            "Requests completed",
            requests.clone(),
        );
        registry.register(
            super::INFLIGHT_GAUGE,
            "Requests in service",
            inflight.clone(),
        );
        PodMetrics {
            registry,
            latency,
            requests,
            inflight,
        }
    }

    /// A job was taken.
    pub(crate) fn started(&self) {
        self.inflight.inc();
    }

    /// A job taken earlier was done after `latency` scenario seconds.
    pub(crate) fn finished(&self, latency: f64) {
        self.latency.observe(latency.max(0.0));
        self.requests.inc();
        self.inflight.dec();
    }

    /// The OpenMetrics exposition.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::with_capacity(2048);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out = "# EOF\n".into();
        }
        out
    }
}

/// One slot: the pod in it, if any.
pub(crate) type Slot = Mutex<Option<Arc<PodMetrics>>>;

/// Every service's slots.
#[derive(Debug, Default)]
pub(crate) struct SlotTable {
    /// Slots by service name.
    services: HashMap<String, Arc<[Slot]>>,
}

impl SlotTable {
    /// Adds `count` empty slots for `service`.
    pub(crate) fn add(&mut self, service: &str, count: usize) -> Arc<[Slot]> {
        let slots: Arc<[Slot]> = (0..count).map(|_| Mutex::new(None)).collect();
        self.services.insert(service.to_string(), slots.clone());
        slots
    }

    /// The exposition of `service`'s slot `slot` (`None`: no such slot).
    fn exposition(&self, service: &str, slot: usize) -> Option<String> {
        let s = self.services.get(service)?.get(slot)?;
        let pod = s.lock().map(|g| g.clone()).unwrap_or_default();
        Some(pod.map_or_else(|| "# EOF\n".to_string(), |p| p.encode()))
    }
}

/// The URL of `service`'s slot `slot` on the server at `base`
/// (`http://127.0.0.1:<port>`).
pub(crate) fn slot_url(base: &str, service: &str, slot: usize) -> String {
    format!("{base}/pods/{service}/{slot}/metrics")
}

/// Binds `addr` (a loopback address; port 0 for a free one). Returns the
/// listener and its base URL.
pub(crate) async fn bind(
    addr: std::net::SocketAddr,
) -> Result<(tokio::net::TcpListener, String), SlotError> {
    let fail = |source| SlotError::Bind {
        addr: addr.to_string(),
        source,
    };
    let l = tokio::net::TcpListener::bind(addr).await.map_err(fail)?;
    let local = l.local_addr().map_err(fail)?;
    Ok((l, format!("http://{local}")))
}

/// Serves `table` on `listener` until the task is aborted.
pub(crate) async fn serve(listener: tokio::net::TcpListener, table: Arc<SlotTable>) {
    let app = axum::Router::new()
        .route(
            "/pods/{service}/{slot}/metrics",
            axum::routing::get(metrics),
        )
        .with_state(table);
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("warning: the pods' /metrics server stopped: {e}");
    }
}

/// `GET /pods/<service>/<slot>/metrics`.
async fn metrics(
    State(table): State<Arc<SlotTable>>,
    Path((service, slot)): Path<(String, usize)>,
) -> axum::response::Response {
    match table.exposition(&service, slot) {
        Some(body) => ([(CONTENT_TYPE, OPENMETRICS)], body).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "no such slot\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_filled_slots_are_valid_openmetrics() {
        let mut t = SlotTable::default();
        let slots = t.add("web", 2);
        assert_eq!(t.exposition("web", 0).as_deref(), Some("# EOF\n"));
        assert_eq!(t.exposition("web", 2), None);
        assert_eq!(t.exposition("nope", 0), None);
        let pod = Arc::new(PodMetrics::new("web-1"));
        pod.started();
        pod.finished(0.7);
        *slots[1].lock().unwrap() = Some(pod);
        let text = t.exposition("web", 1).unwrap();
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            text.contains(r#"llm_request_duration_seconds_bucket{le="1.0",pod="web-1"} 1"#)
                || text.contains(r#"llm_request_duration_seconds_bucket{pod="web-1",le="1.0"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"llm_requests_total{pod="web-1"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"llm_requests_inflight{pod="web-1"} 0"#),
            "{text}"
        );
    }
}
