//! The values the API serves, on the admin `/metrics` too, so Prometheus
//! keeps their history and dashboards and alerts see what the HPA sees.
//!
//! A prometheus-client [`Collector`] reads the [`Store`] at scrape time: the
//! numbers are the ones the API would answer with at that moment, from the
//! same atomics, with no second copy to drift. One series per served series
//! and namespace allowed to read it (label `namespace`), with the series'
//! own labels (`queue`, or `service` and `quantile`, plus the static labels
//! of the config): the cardinality is the config's, never the traffic's.
//!
//! | family | value |
//! |---|---|
//! | `qma_queue_depth`, `qma_queue_pending`, `qma_queue_oldest_age_seconds` | as `queue_depth`, `queue_pending`, `queue_oldest_age_seconds` |
//! | `qma_service_latency_seconds{quantile}` | as `service_latency_seconds` |
//! | `qma_service_requests_per_second`, `qma_service_inflight_requests` | as `service_request_rate`, `service_inflight` |
//! | `qma_promql_value{promql}` | each item of a PromQL entry, its labels carried over |
//! | `qma_source_last_success_timestamp_seconds{kind,name}` | when the queue, service or PromQL entry was last read (0: never) |
//! | `qma_source_failing{kind,name}` | 1 when its last read failed |
//! | `qma_max_staleness_seconds` | older values are refused with 503 |
//!
//! A value that was never read, or that the source chose to omit (NaN: no
//! traffic with `when_empty: omit`), has no sample, as the API has no item.
//! A stale value is still exported: its age is in the source's timestamp
//! (the HPA-is-blind alert compares `timestamp(x) - x` for that series with
//! `qma_max_staleness_seconds`; `time() - x` would add the scrape interval
//! to the age, deploy/prometheus/rules.yaml).

use std::borrow::Cow;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::store::{Metric, SourceKind, Store};

/// Exports the store's values (see the module docs).
#[derive(Debug)]
pub struct ServedValues {
    store: Arc<Store>,
}

impl ServedValues {
    /// A collector over `store`.
    pub fn new(store: Arc<Store>) -> ServedValues {
        ServedValues { store }
    }
}

/// Family name (after the registry's `qma_` prefix) and help of a metric.
fn family(metric: Metric) -> (&'static str, &'static str) {
    match metric {
        Metric::QueueDepth => (
            "queue_depth",
            "Items waiting, as served to the HPA (queue_depth).",
        ),
        Metric::QueuePending => (
            "queue_pending",
            "Stream entries delivered but not acknowledged, as served (queue_pending).",
        ),
        Metric::QueueOldestAge => (
            "queue_oldest_age_seconds",
            "Age of the oldest waiting or pending item, as served (queue_oldest_age_seconds).",
        ),
        Metric::ServiceLatency => (
            "service_latency_seconds",
            "Latency quantile of a service over its window, as served (service_latency_seconds).",
        ),
        Metric::ServiceRequestRate => (
            "service_requests_per_second",
            "Requests per second of a service over its window, as served (service_request_rate).",
        ),
        Metric::ServiceInflight => (
            "service_inflight_requests",
            "Requests in flight over a service's pods, as served (service_inflight).",
        ),
    }
}

type Labels = Vec<(Cow<'static, str>, Cow<'static, str>)>;

fn owned(k: &str, v: &str) -> (Cow<'static, str>, Cow<'static, str>) {
    (Cow::Owned(k.to_string()), Cow::Owned(v.to_string()))
}

impl Collector for ServedValues {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let store = &*self.store;
        for metric in Metric::ALL {
            let (name, help) = family(metric);
            let mut samples = store
                .series
                .iter()
                .filter(|s| s.metric == metric)
                .filter_map(|s| s.sample().map(|(v, _)| (s, v)))
                .filter(|(.., v)| !v.is_nan())
                .peekable();
            if samples.peek().is_none() {
                continue;
            }
            let mut fam = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (s, v) in samples {
                for ns in s.source.namespaces.iter() {
                    let mut labels: Labels = vec![owned("namespace", ns)];
                    labels.extend(s.labels.iter().map(|(k, v)| owned(k, v)));
                    ConstGauge::new(v).encode(fam.encode_family(&labels)?)?;
                }
            }
        }

        let entries: Vec<_> = store
            .promql
            .iter()
            .map(|p| (p, p.snapshot.load()))
            .collect();
        if entries
            .iter()
            .any(|(_, s)| s.items.iter().any(|i| !i.value.is_nan()))
        {
            let mut fam = encoder.encode_descriptor(
                "promql_value",
                "Items of a PromQL entry, as served (label promql: the entry's name).",
                None,
                MetricType::Gauge,
            )?;
            for (p, snap) in &entries {
                for item in snap.items.iter().filter(|i| !i.value.is_nan()) {
                    for ns in p.source.namespaces.iter() {
                        let mut labels: Labels =
                            vec![owned("namespace", ns), owned("promql", &p.source.name)];
                        // A label of the query's result that clashes with ours is
                        // renamed as Prometheus renames clashing target labels.
                        labels.extend(item.labels.iter().map(|(k, v)| {
                            if k == "namespace" || k == "promql" {
                                owned(&format!("exported_{k}"), v)
                            } else {
                                owned(k, v)
                            }
                        }));
                        ConstGauge::new(item.value).encode(fam.encode_family(&labels)?)?;
                    }
                }
            }
        }

        // Per source: when it was last read (its oldest series, or the
        // PromQL entry's snapshot), and whether that failed.
        let sources: Vec<(&str, &str, u64, bool)> = store
            .sources
            .iter()
            .filter(|s| s.kind != SourceKind::Promql)
            .map(|s| {
                let at = s
                    .series
                    .iter()
                    .map(|x| x.sample().map_or(0, |(_, at)| at))
                    .min();
                (
                    s.kind.as_str(),
                    s.name.as_str(),
                    at.unwrap_or(0),
                    s.error().is_some(),
                )
            })
            .chain(entries.iter().map(|(p, snap)| {
                let failing = p.source.error().is_some();
                ("promql", p.source.name.as_str(), snap.read_at_ms, failing)
            }))
            .collect();
        if !sources.is_empty() {
            let mut fam = encoder.encode_descriptor(
                "source_last_success_timestamp_seconds",
                "Unix time of the last successful read of a queue, service or PromQL entry (0: never).",
                None,
                MetricType::Gauge,
            )?;
            for (kind, name, at, _) in &sources {
                let labels: Labels = vec![owned("kind", kind), owned("name", name)];
                ConstGauge::new(*at as f64 / 1000.0).encode(fam.encode_family(&labels)?)?;
            }
            let mut fam = encoder.encode_descriptor(
                "source_failing",
                "1 when the last read of a queue, service or PromQL entry failed.",
                None,
                MetricType::Gauge,
            )?;
            for (kind, name, _, failing) in &sources {
                let labels: Labels = vec![owned("kind", kind), owned("name", name)];
                ConstGauge::new(i64::from(*failing)).encode(fam.encode_family(&labels)?)?;
            }
        }
        let fam = encoder.encode_descriptor(
            "max_staleness_seconds",
            "Values older than this are refused with 503 (the HPA then keeps its replica count).",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(store.max_staleness.as_secs_f64()).encode(fam)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_what_the_api_serves_per_namespace() {
        let ns = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut b = crate::store::Builder::new();
        let gw = b.queue(
            "gw",
            &ns(&["a", "b"]),
            &[("service".into(), "gateway".into())],
            true,
            true,
        );
        let never = b.queue("never", &ns(&["a"]), &[], false, false);
        let llm = b.service("llm", &ns(&["a"]), &[], &[0.5, 0.95], false, false);
        let store = Arc::new(b.finish(std::time::Duration::from_secs(30)));
        gw.write(7.0, 2.0, Some(1_700_000_000_000 - 1_500), 1_700_000_000_000);
        llm.write(1_700_000_001_000, [f64::NAN, 3.25], || 0.0, || 0.0);
        never.fail(Arc::from("boom"));

        let mut registry = prometheus_client::registry::Registry::with_prefix("qma");
        registry.register_collector(Box::new(ServedValues::new(store)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();

        for line in [
            "qma_queue_depth{namespace=\"a\",queue=\"gw\",service=\"gateway\"} 7.0",
            "qma_queue_depth{namespace=\"b\",queue=\"gw\",service=\"gateway\"} 7.0",
            "qma_queue_pending{namespace=\"a\",queue=\"gw\",service=\"gateway\"} 2.0",
            "qma_queue_oldest_age_seconds{namespace=\"b\",queue=\"gw\",service=\"gateway\"} 1.5",
            "qma_service_latency_seconds{namespace=\"a\",quantile=\"0.95\",service=\"llm\"} 3.25",
            "qma_source_last_success_timestamp_seconds{kind=\"queue\",name=\"gw\"} 1700000000.0",
            "qma_source_last_success_timestamp_seconds{kind=\"queue\",name=\"never\"} 0.0",
            "qma_source_last_success_timestamp_seconds{kind=\"service\",name=\"llm\"} 1700000001.0",
            "qma_source_failing{kind=\"queue\",name=\"never\"} 1",
            "qma_source_failing{kind=\"queue\",name=\"gw\"} 0",
            "qma_max_staleness_seconds 30.0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        // Never read, or omitted (NaN): no sample, as the API has no item.
        assert!(!text.contains("queue=\"never\""), "{text}");
        assert!(!text.contains("quantile=\"0.5\""), "{text}");
        assert!(!text.contains("NaN"), "{text}");
        assert!(text.contains("# TYPE qma_queue_depth gauge"), "{text}");
    }
}
