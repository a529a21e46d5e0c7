//! For users who already run Prometheus: instant queries whose result
//! vector becomes the items of an external metric.
//!
//! Each `promql:` entry is queried every `interval` through the HTTP API
//! (`GET /api/v1/query`, response shape from
//! `prometheus/web/api/v1/api.go`: `{"status": "success", "data":
//! {"resultType": "vector", "result": [{"metric": {...}, "value": [t, "v"]}]}}`
//! or `{"status": "error", "errorType": ..., "error": ...}`), and the result
//! is swapped into the store whole. An error answered by Prometheus is served
//! as 503 with Prometheus's message at once; an unreachable Prometheus leaves
//! the last result in place until it is older than `max_staleness`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tracing::debug;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::Instrument;

use super::Task;
use crate::config::{Config, Promql, WhenEmpty};
use crate::store::{Builder, Items, PromqlWriter};
use crate::tick::{self, Round};

/// Why a query gave no result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Prometheus answered with an error (bad query, execution error, timeout).
    #[error("prometheus: {kind}: {message}")]
    Query {
        /// Prometheus's `errorType`.
        kind: String,
        /// Prometheus's `error`.
        message: String,
    },
    /// Prometheus could not be reached or answered something that is not its API.
    #[error("prometheus unreachable: {0}")]
    Fetch(String),
    /// The result type cannot be served (matrix, string).
    #[error("prometheus: result type {0:?} cannot be served; use an instant vector or scalar")]
    ResultType(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    status: String,
    data: Option<Data>,
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    result_type: String,
    result: serde_json::Value,
}

#[derive(Debug, Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    value: (f64, String),
}

/// Parses a Prometheus value string (`"1.5"`, `"NaN"`, `"+Inf"`).
fn value(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().unwrap_or(f64::NAN),
    }
}

/// Turns an API response body into items, applying the empty/NaN policy.
pub fn items(body: &[u8], when_empty: WhenEmpty) -> Result<Items, Error> {
    let r: Response = serde_json::from_slice(body)
        .map_err(|e| Error::Fetch(format!("not a Prometheus API response: {e}")))?;
    if r.status != "success" {
        return Err(Error::Query {
            kind: r.error_type.unwrap_or_else(|| "error".into()),
            message: r.error.unwrap_or_default(),
        });
    }
    let data = r
        .data
        .ok_or_else(|| Error::Fetch("response without data".into()))?;
    let raw: Vec<(Vec<(String, String)>, f64)> = match data.result_type.as_str() {
        "vector" => serde_json::from_value::<Vec<VectorSample>>(data.result)
            .map_err(|e| Error::Fetch(e.to_string()))?
            .into_iter()
            .map(|s| {
                // `__name__` is not a valid Kubernetes label key; every other label is carried over.
                let labels = s
                    .metric
                    .into_iter()
                    .filter(|(k, _)| k != "__name__")
                    .collect();
                (labels, value(&s.value.1))
            })
            .collect(),
        "scalar" => {
            let (_, v): (f64, String) =
                serde_json::from_value(data.result).map_err(|e| Error::Fetch(e.to_string()))?;
            vec![(Vec::new(), value(&v))]
        }
        other => return Err(Error::ResultType(other.to_string())),
    };
    let mut out = Vec::with_capacity(raw.len());
    for (labels, v) in raw {
        match (v.is_finite(), when_empty) {
            (true, _) => out.push((labels, v)),
            (false, WhenEmpty::Zero) => out.push((labels, 0.0)),
            (false, WhenEmpty::Omit) => {}
        }
    }
    if out.is_empty() && when_empty == WhenEmpty::Zero {
        out.push((Vec::new(), 0.0));
    }
    Ok(out)
}

/// One PromQL entry: its query, HTTP client and store writer.
pub struct Entry {
    cfg: Promql,
    http: reqwest::Client,
    writer: PromqlWriter,
    metrics: Arc<PromqlMetrics>,
}

/// Builds one [`Entry`] per `promql:` entry, each with its store writer, and
/// registers `qma_promql_*` on `registry`.
pub fn build(config: &Config, store: &mut Builder, registry: &mut Registry) -> Vec<Entry> {
    let metrics = Arc::new(PromqlMetrics::register(
        registry.sub_registry_with_prefix("promql"),
    ));
    config
        .promql
        .iter()
        .map(|p| Entry {
            http: reqwest::Client::builder()
                .timeout(p.timeout + Duration::from_secs(1))
                .build()
                .unwrap_or_default(),
            writer: store.promql(&p.name, &p.namespaces),
            cfg: p.clone(),
            metrics: metrics.clone(),
        })
        .collect()
}

/// One task per entry, querying every `interval` inside a span naming it.
pub fn tasks(entries: Vec<Entry>) -> Vec<Task> {
    entries
        .into_iter()
        .map(|e| {
            let span = tracing::info_span!("promql", name = %e.cfg.name);
            Box::pin(tick::every(e.cfg.interval, e).instrument(span)) as Task
        })
        .collect()
}

impl Round for Entry {
    async fn round(&mut self) {
        let started = Instant::now();
        let result = query(&self.http, &self.cfg).await;
        self.metrics
            .duration
            .get_or_create(&PromqlLabels {
                name: self.cfg.name.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(items) => self.writer.publish(items),
            Err(e) => {
                debug!(name = %self.cfg.name, error = %e, "promql query failed");
                let query = matches!(e, Error::Query { .. } | Error::ResultType(_));
                self.metrics
                    .errors
                    .get_or_create(&PromqlErrorLabels {
                        name: self.cfg.name.clone(),
                        reason: if query { "query" } else { "fetch" }.to_string(),
                    })
                    .inc();
                self.writer.fail(e.to_string(), query);
            }
        }
    }
}

async fn query(http: &reqwest::Client, cfg: &Promql) -> Result<Items, Error> {
    let timeout = format!("{}ms", cfg.timeout.as_millis());
    let url = url::Url::parse_with_params(
        &format!("{}/api/v1/query", cfg.url),
        &[("query", cfg.query.as_str()), ("timeout", timeout.as_str())],
    )
    .map_err(|e| Error::Fetch(e.to_string()))?;
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| Error::Fetch(e.to_string()))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::Fetch(e.to_string()))?;
    match items(&body, cfg.when_empty) {
        // A non-JSON 5xx (a proxy in front of Prometheus) is unreachability, not a query error.
        Err(Error::Fetch(e)) if !status.is_success() => {
            Err(Error::Fetch(format!("HTTP {status}: {e}")))
        }
        other => other,
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
    pub fn register(r: &mut Registry) -> PromqlMetrics {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_scalar_errors_and_policies() {
        let v = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"gw","instance":"a"},"value":[1700000000.1,"1"]},
            {"metric":{"job":"gw","instance":"b"},"value":[1700000000.1,"NaN"]}]}}"#;
        let got = items(v, WhenEmpty::Omit).unwrap();
        assert_eq!(
            got,
            vec![(
                vec![("instance".into(), "a".into()), ("job".into(), "gw".into())],
                1.0
            )]
        );
        assert_eq!(items(v, WhenEmpty::Zero).unwrap()[1].1, 0.0);
        let s =
            br#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"2.5"]}}"#;
        assert_eq!(items(s, WhenEmpty::Omit).unwrap(), vec![(vec![], 2.5)]);
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(items(empty, WhenEmpty::Omit).unwrap().is_empty());
        assert_eq!(items(empty, WhenEmpty::Zero).unwrap(), vec![(vec![], 0.0)]);
        let e = br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error"}"#;
        assert_eq!(
            items(e, WhenEmpty::Omit).unwrap_err().to_string(),
            "prometheus: bad_data: invalid parameter \"query\": 1:5: parse error"
        );
        let m = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert!(matches!(
            items(m, WhenEmpty::Omit),
            Err(Error::ResultType(_))
        ));
        assert!(matches!(
            items(b"<html>", WhenEmpty::Omit),
            Err(Error::Fetch(_))
        ));
    }
}
