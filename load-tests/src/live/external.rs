//! The external metrics API, read as the HPA controller reads it.
//!
//! For each `External` metric of a policy the controller's metrics client
//! (`k8s.io/kubernetes/pkg/controller/podautoscaler/metrics`, via
//! `k8s.io/metrics/pkg/client/external_metrics`) sends
//!
//! ```text
//! GET /apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>?labelSelector=<selector>
//! ```
//!
//! with the selector rendered as `labels.Selector.String()` does (`k=v`
//! for `matchLabels`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k` for
//! expressions; sorted by key, comma-separated), and turns each item's
//! `value` (a Kubernetes quantity: `7`, `1500m`, `15k`) into a number. Any
//! failure (connection, timeout, a non-200 answer whose `Status` message it
//! reports, a body that is not an `ExternalMetricValueList`) becomes an
//! error for that metric: `unable to fetch metrics from external metrics
//! API: <cause>`, as upstream's `GetExternalMetric` words it. An empty list
//! is not an error here; the HPA port turns it into upstream's "no metrics
//! returned from external metrics API".
//!
//! Transport: HTTPS to the adapter, the certificate not verified (the
//! adapter's is self-signed when the run starts it), no credentials (the
//! adapter runs with `--auth-mode disabled`), no proxy, a timeout per
//! request.
//!
//! Values with a time dimension are converted to scenario time (see
//! [`to_scenario`]).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Deserialize;

/// The API group path.
const GROUP_PATH: &str = "/apis/external.metrics.k8s.io/v1beta1";

/// Why the adapter's API cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// The URL is not usable.
    #[error("adapter URL {url:?}: {detail}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTPS client for the adapter: {0}")]
    Client(String),
    /// The adapter did not answer the discovery request.
    #[error("cannot reach the adapter at {url}: {detail}")]
    Unreachable {
        /// The adapter's URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The adapter answered, but not with the API.
    #[error("the adapter at {url} does not serve {GROUP_PATH}: {detail}")]
    NotServing {
        /// The adapter's URL.
        url: String,
        /// What it answered.
        detail: String,
    },
}

/// A client of the adapter's external metrics API.
#[derive(Debug, Clone)]
pub(crate) struct AdapterClient {
    /// HTTPS client.
    http: reqwest::Client,
    /// Base URL, without a trailing slash.
    base: String,
    /// The namespace asked for.
    namespace: String,
}

/// One item of an `ExternalMetricValueList`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    /// The value.
    pub(crate) value: f64,
    /// Its RFC 3339 timestamp.
    pub(crate) timestamp: String,
}

#[derive(Deserialize)]
struct List {
    kind: String,
    #[serde(default)]
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
struct RawItem {
    value: String,
    #[serde(default)]
    timestamp: String,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    message: String,
}

impl AdapterClient {
    /// A client of the adapter at `base` (`https://host:port`), reading
    /// `namespace`, each request bounded by `timeout`.
    pub(crate) fn new(
        base: &str,
        namespace: &str,
        timeout: Duration,
    ) -> Result<AdapterClient, ExternalError> {
        let url = reqwest::Url::parse(base).map_err(|e| ExternalError::Url {
            url: base.into(),
            detail: e.to_string(),
        })?;
        if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
            return Err(ExternalError::Url {
                url: base.into(),
                detail: "must be an https:// (or http://) URL with a host".into(),
            });
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_danger_accept_invalid_certs(true)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .build()
            .map_err(|e| ExternalError::Client(e.to_string()))?;
        Ok(AdapterClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            namespace: namespace.to_string(),
        })
    }

    /// The base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Checks that the adapter answers its API group's discovery with 200.
    pub(crate) async fn check(&self) -> Result<(), ExternalError> {
        let url = format!("{}{GROUP_PATH}", self.base);
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| ExternalError::Unreachable {
                url: self.base.clone(),
                detail: error_chain(&e),
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = resp.text().await.unwrap_or_default();
        let hint = if status.as_u16() == 401 || status.as_u16() == 403 {
            " (run the adapter with --auth-mode disabled)"
        } else {
            ""
        };
        Err(ExternalError::NotServing {
            url: self.base.clone(),
            detail: format!("HTTP {status}{hint}: {}", status_message(&body)),
        })
    }

    /// The items for `metric` and `selector`, or the controller's error text.
    pub(crate) async fn get(
        &self,
        metric: &str,
        selector: Option<&LabelSelector>,
    ) -> Result<Vec<Item>, String> {
        let fail = |e: String| format!("unable to fetch metrics from external metrics API: {e}");
        let mut url = reqwest::Url::parse(&format!(
            "{}{GROUP_PATH}/namespaces/{}/{}",
            self.base, self.namespace, metric
        ))
        .map_err(|e| fail(e.to_string()))?;
        let sel = selector.map(selector_string).unwrap_or_default();
        if !sel.is_empty() {
            url.query_pairs_mut().append_pair("labelSelector", &sel);
        }
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| fail(error_chain(&e)))?;
        if !status.is_success() {
            return Err(fail(status_message(&body)));
        }
        let list: List = serde_json::from_str(&body)
            .map_err(|e| fail(format!("the answer is not an ExternalMetricValueList: {e}")))?;
        if list.kind != "ExternalMetricValueList" {
            return Err(fail(format!(
                "the answer is a {:?}, not an ExternalMetricValueList",
                list.kind
            )));
        }
        list.items
            .into_iter()
            .map(|i| {
                Ok(Item {
                    value: parse_value(&i.value).map_err(fail)?,
                    timestamp: i.timestamp,
                })
            })
            .collect()
    }
}

/// A `Status` body's message, or the body itself (shortened).
fn status_message(body: &str) -> String {
    match serde_json::from_str::<Status>(body) {
        Ok(s) if !s.message.is_empty() => s.message,
        _ => {
            let b = body.trim();
            if b.is_empty() {
                "(empty body)".into()
            } else {
                b.chars().take(300).collect()
            }
        }
    }
}

/// An error with its sources, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// A selector as `labels.Selector.String()` renders it.
pub(crate) fn selector_string(sel: &LabelSelector) -> String {
    let mut parts: Vec<(String, String)> = Vec::new();
    for (k, v) in sel.match_labels.iter().flatten() {
        parts.push((k.clone(), format!("{k}={v}")));
    }
    for e in sel.match_expressions.iter().flatten() {
        let mut values = e.values.clone().unwrap_or_default();
        values.sort();
        let values = values.join(",");
        let s = match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => format!("{} {other} ({values})", e.key),
        };
        parts.push((e.key.clone(), s));
    }
    parts.sort();
    parts
        .into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join(",")
}

/// A Kubernetes quantity as a number (`-` allowed).
pub(crate) fn parse_value(s: &str) -> Result<f64, String> {
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = crate::scenario::units::parse_quantity(rest).map_err(|e| e.to_string())?;
    Ok(if neg { -v } else { v })
}

/// An adapter value in scenario units: the adapter measures time on the
/// wall clock, so at `speed` × compression ages (`queue_oldest_age_seconds`)
/// are multiplied by `speed` and rates (`service_request_rate`) divided by
/// it. Latencies (`service_latency_seconds`) are not: the pods record them
/// in scenario seconds already. Counts are the same in both.
pub(crate) fn to_scenario(metric: &str, value: f64, speed: f64) -> f64 {
    match metric {
        "queue_oldest_age_seconds" => value * speed,
        "service_request_rate" => value / speed,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn quantities() {
        assert_eq!(parse_value("7"), Ok(7.0));
        assert_eq!(parse_value("1500m"), Ok(1.5));
        assert_eq!(parse_value("15k"), Ok(15_000.0));
        assert_eq!(parse_value("-2500m"), Ok(-2.5));
        assert!(parse_value("x").is_err());
        assert!(parse_value("").is_err());
    }

    #[test]
    fn selectors_render_like_client_go() {
        let sel = LabelSelector {
            match_labels: Some(
                [("service", "web"), ("quantile", "0.95")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["b".into(), "a".into()]),
            }]),
        };
        assert_eq!(
            selector_string(&sel),
            "quantile=0.95,service=web,tier in (a,b)"
        );
    }

    #[test]
    fn time_units() {
        assert_eq!(to_scenario("queue_oldest_age_seconds", 2.0, 10.0), 20.0);
        assert_eq!(to_scenario("service_request_rate", 20.0, 10.0), 2.0);
        assert_eq!(to_scenario("queue_depth", 3.0, 10.0), 3.0);
        assert_eq!(to_scenario("service_latency_seconds", 3.0, 10.0), 3.0);
    }

    #[test]
    fn bad_urls() {
        assert!(AdapterClient::new("nope", "ns", Duration::from_secs(1)).is_err());
        assert!(AdapterClient::new("ftp://x", "ns", Duration::from_secs(1)).is_err());
    }
}
