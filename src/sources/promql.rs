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

use crate::config::{Promql, WhenEmpty};
use crate::store::{Items, PromqlSnapshot, Store, now_ms};
use crate::telemetry::{PromqlErrorLabels, PromqlLabels, PromqlMetrics};

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

/// Queries one entry every `interval` until dropped.
pub async fn run(index: usize, cfg: Promql, store: Arc<Store>, metrics: Arc<PromqlMetrics>) {
    let http = reqwest::Client::builder()
        .timeout(cfg.timeout + Duration::from_secs(1))
        .build()
        .unwrap_or_default();
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let started = Instant::now();
        let result = query(&http, &cfg).await;
        metrics
            .duration
            .get_or_create(&PromqlLabels {
                name: cfg.name.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        let entry = &store.promql[index];
        let old = entry.snapshot.load_full();
        let next = match result {
            Ok(items) => PromqlSnapshot {
                items,
                read_at_ms: now_ms(),
                query_error: None,
                fetch_error: None,
            },
            Err(e) => {
                debug!(name = %cfg.name, error = %e, "promql query failed");
                let query = matches!(e, Error::Query { .. } | Error::ResultType(_));
                metrics
                    .errors
                    .get_or_create(&PromqlErrorLabels {
                        name: cfg.name.clone(),
                        reason: if query { "query" } else { "fetch" }.to_string(),
                    })
                    .inc();
                PromqlSnapshot {
                    items: old.items.clone(),
                    read_at_ms: old.read_at_ms,
                    query_error: query.then(|| e.to_string()),
                    fetch_error: (!query).then(|| e.to_string()),
                }
            }
        };
        entry.snapshot.store(Arc::new(next));
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
