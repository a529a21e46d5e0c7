//! The `external.metrics.k8s.io/v1beta1` API, answered from the store.
//!
//! Routing is done by hand over the decoded path so that every answer,
//! including a malformed path or query, is either a document or a
//! Kubernetes `Status` ([`crate::k8s::status::ApiError`]), and so that request metrics are
//! labelled by route template. Nothing here touches Redis: a metric request
//! is an index lookup, a few atomic loads and one JSON serialisation.
//!
//! The metric request follows what the HPA controller's external metrics
//! client sends (`k8s.io/metrics/pkg/client/external_metrics`):
//! `GET /apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}?labelSelector=...`
//! and the answer is an `ExternalMetricValueList`
//! (`k8s.io/metrics/pkg/apis/external_metrics/v1beta1/types.go`).

pub mod discovery;

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Auth;
use crate::auth::authn::PeerCerts;
use crate::k8s::names::{is_dns1123_label, valid_metric_name};
use crate::k8s::quantity;
use crate::k8s::selector::Selector;
use crate::k8s::status::ApiError;
use crate::store::{Metric, Store, now_ms};
use crate::telemetry::{ApiMetrics, MetricLabels, PathLabels, RequestLabels};
use discovery::{AGGREGATED_V2, AGGREGATED_V2BETA1, DiscoveryFormat, Documents};

/// The API group served.
pub const GROUP: &str = "external.metrics.k8s.io";
/// The version served.
pub const VERSION: &str = "v1beta1";
/// `group/version`.
pub const GROUP_VERSION: &str = "external.metrics.k8s.io/v1beta1";

/// Route templates, used as the `path` label of request metrics.
mod route {
    pub const APIS: &str = "/apis";
    pub const GROUP: &str = "/apis/external.metrics.k8s.io";
    pub const VERSION: &str = "/apis/external.metrics.k8s.io/v1beta1";
    pub const METRIC: &str =
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}";
    pub const OPENAPI_V2: &str = "/openapi/v2";
    pub const OPENAPI_V3: &str = "/openapi/v3";
    pub const OPENAPI_V3_GROUP: &str = "/openapi/v3/apis/external.metrics.k8s.io/v1beta1";
    pub const VERSION_INFO: &str = "/version";
    pub const HEALTH: &str = "/{livez,readyz,healthz}";
    pub const OTHER: &str = "other";
}

/// What the API handlers share.
pub struct ApiState {
    /// Latest values.
    pub store: Arc<Store>,
    /// Pre-rendered discovery and OpenAPI documents.
    pub docs: Documents,
    /// Request metrics.
    pub metrics: Arc<ApiMetrics>,
    /// Delegated authn/authz; `None` when disabled (development).
    pub auth: Option<Arc<Auth>>,
    /// `qma_api_series_served_total` per served metric, created up front.
    served: std::collections::HashMap<String, prometheus_client::metrics::counter::Counter>,
    /// Parsed label selectors by their text.
    selectors: std::sync::Mutex<std::collections::HashMap<String, Arc<Selector>>>,
    everything: Arc<Selector>,
}

impl ApiState {
    /// State for a store; documents list the metrics the store serves.
    pub fn new(store: Arc<Store>, metrics: Arc<ApiMetrics>, auth: Option<Arc<Auth>>) -> ApiState {
        let docs = Documents::new(&store.served_metrics);
        let served = store
            .served_metrics
            .iter()
            .map(|m| {
                let c = metrics
                    .series_served
                    .get_or_create(&MetricLabels { metric: m.clone() })
                    .clone();
                (m.clone(), c)
            })
            .collect();
        ApiState {
            store,
            docs,
            metrics,
            auth,
            served,
            selectors: Default::default(),
            everything: Arc::new(Selector::everything()),
        }
    }
}

/// The HTTPS API router.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, _body) = req.into_parts();
    let (route, result) = match state.check(&parts).await {
        Ok(()) => state.respond(&parts.method, &parts.uri, &parts.headers),
        Err(e) => (route_template(&segments(parts.uri.path())), Err(e)),
    };
    let resp = result.unwrap_or_else(IntoResponse::into_response);
    let m = &state.metrics;
    m.requests
        .get_or_create(&RequestLabels {
            path: route,
            code: resp.status().as_u16(),
        })
        .inc();
    m.duration
        .get_or_create(&PathLabels { path: route })
        .observe(started.elapsed().as_secs_f64());
    resp
}

fn json(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The path's segments after the leading `/`, ignoring a trailing `/`.
fn segments(path: &str) -> Vec<&str> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    path.split('/').skip(1).collect()
}

/// The route template a path falls under.
fn route_template(segments: &[&str]) -> &'static str {
    match segments {
        ["apis"] => route::APIS,
        ["apis", GROUP] => route::GROUP,
        ["apis", GROUP, VERSION] => route::VERSION,
        ["apis", GROUP, VERSION, "namespaces", _, _] => route::METRIC,
        ["openapi", "v2"] => route::OPENAPI_V2,
        ["openapi", "v3"] => route::OPENAPI_V3,
        ["openapi", "v3", "apis", GROUP, VERSION] => route::OPENAPI_V3_GROUP,
        ["version"] => route::VERSION_INFO,
        ["livez" | "readyz" | "healthz"] => route::HEALTH,
        _ => route::OTHER,
    }
}

impl ApiState {
    /// Authenticates and authorizes a request, unless auth is disabled or the
    /// path is always open (`/livez`, `/readyz`, `/healthz`, as the apiserver's
    /// `AlwaysAllowPaths`).
    async fn check(&self, req: &axum::http::request::Parts) -> Result<(), ApiError> {
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        if matches!(req.uri.path(), "/livez" | "/readyz" | "/healthz") {
            return Ok(());
        }
        let peer = req.extensions.get::<Arc<PeerCerts>>().map(Arc::as_ref);
        auth.check(peer, &req.method, &req.uri, &req.headers).await
    }

    /// Routes one request; returns the route template and the answer.
    pub fn respond(
        &self,
        method: &Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
    ) -> (&'static str, Result<Response, ApiError>) {
        let segments = segments(uri.path());
        let route = route_template(&segments);
        if route == route::OTHER {
            return (route, Err(ApiError::PathNotFound));
        }
        if method != Method::GET && method != Method::HEAD {
            return (route, Err(ApiError::MethodNotAllowed));
        }
        let d = &self.docs;
        let result = match route {
            route::APIS => Ok(
                match discovery::negotiate(header_str(headers, header::ACCEPT)) {
                    DiscoveryFormat::AggregatedV2 => json(d.aggregated_v2.clone(), AGGREGATED_V2),
                    DiscoveryFormat::AggregatedV2Beta1 => {
                        json(d.aggregated_v2beta1.clone(), AGGREGATED_V2BETA1)
                    }
                    DiscoveryFormat::Plain => json(d.group_list.clone(), "application/json"),
                },
            ),
            route::GROUP => Ok(json(d.group.clone(), "application/json")),
            route::VERSION => Ok(json(d.resource_list.clone(), "application/json")),
            route::OPENAPI_V2 => Ok(cached(headers, &d.openapi_v2, &d.openapi_v2_etag)),
            route::OPENAPI_V3 => Ok(json(d.openapi_v3_root.clone(), "application/json")),
            route::OPENAPI_V3_GROUP => Ok(cached(headers, &d.openapi_v3_group, &d.openapi_v3_etag)),
            route::VERSION_INFO => Ok(json(d.version.clone(), "application/json")),
            route::HEALTH => Ok((StatusCode::OK, "ok").into_response()),
            _ => {
                // route::METRIC; the slice pattern above guarantees 6 segments.
                let (ns, metric) = (segments[4], segments[5]);
                self.metric(ns, metric, uri.query())
                    .map(|body| json(body, "application/json"))
            }
        };
        (route, result)
    }

    /// `GET .../namespaces/{ns}/{metric}?labelSelector=...`: the serialised list.
    pub fn metric(
        &self,
        namespace: &str,
        metric: &str,
        query: Option<&str>,
    ) -> Result<Vec<u8>, ApiError> {
        if !is_dns1123_label(namespace) {
            return Err(ApiError::BadRequest(format!(
                "invalid namespace {namespace:?}: must be a DNS-1123 label"
            )));
        }
        if !valid_metric_name(metric) {
            return Err(ApiError::BadRequest(format!(
                "invalid metric name {metric:?}"
            )));
        }
        let not_found = || ApiError::MetricNotFound {
            group: GROUP,
            metric: metric.to_string(),
            namespace: namespace.to_string(),
        };
        // client-go lowercases metric names in the path; accept any case.
        let name = metric.to_ascii_lowercase();
        let selector = || self.selector(query.and_then(label_selector));
        let now = now_ms();
        let mut items = ListWriter::new();
        let metric_name: &str;
        if let Some(m) = Metric::from_name(&name) {
            metric_name = m.name();
            let visible = self.store.visible(namespace, m);
            if visible.is_empty() {
                return Err(not_found());
            }
            let selector = selector()?;
            for &i in visible {
                let s = &self.store.series[i];
                if !selector.matches(|k| s.label(k)) {
                    continue;
                }
                let source = &self.store.source_names[s.source];
                let last_error = || self.store.source_status[s.source].error();
                let Some((value, at)) = s.sample() else {
                    let why =
                        last_error().map_or_else(|| "not read yet".to_string(), |e| e.to_string());
                    return Err(ApiError::Unavailable(format!(
                        "no data for {source} yet: {why}"
                    )));
                };
                self.check_fresh(source, now, at, last_error().as_deref())?;
                // NaN: the source chose to serve no item (no traffic in its window).
                if let Some(value) = quantity::format(value) {
                    self.observe_age(now, at);
                    items.item(metric_name, &s.labels_json, at, &value);
                }
            }
        } else {
            let entry = self
                .store
                .promql_entry(&name)
                .filter(|p| p.namespaces.iter().any(|n| n == namespace))
                .ok_or_else(not_found)?;
            metric_name = &entry.name;
            let selector = selector()?;
            let snap = entry.snapshot.load();
            let source = format!("promql {:?}", entry.name);
            if let Some(e) = &snap.query_error {
                return Err(ApiError::Unavailable(format!("{source}: {e}")));
            }
            if snap.read_at_ms == 0 {
                let why = snap.fetch_error.as_deref().unwrap_or("not queried yet");
                return Err(ApiError::Unavailable(format!(
                    "no data for {source} yet: {why}"
                )));
            }
            self.check_fresh(&source, now, snap.read_at_ms, snap.fetch_error.as_deref())?;
            for (labels, value) in &snap.items {
                if selector
                    .matches(|k| labels.iter().find(|(l, _)| l == k).map(|(_, v)| v.as_str()))
                    && let Some(value) = quantity::format(*value)
                {
                    self.observe_age(now, snap.read_at_ms);
                    let labels_json = serde_json::to_string(&Labels(labels)).unwrap_or_default();
                    items.item(metric_name, &labels_json, snap.read_at_ms, &value);
                }
            }
            return self.list(metric_name, items);
        }
        self.list(metric_name, items)
    }

    /// 503 when data read at `at` is older than the staleness limit.
    fn check_fresh(
        &self,
        source: &str,
        now: u64,
        at: u64,
        last_error: Option<&str>,
    ) -> Result<(), ApiError> {
        let age = Duration::from_millis(now.saturating_sub(at));
        let limit = self.store.max_staleness;
        if age <= limit {
            return Ok(());
        }
        let why = last_error.map_or_else(String::new, |e| format!("; last error: {e}"));
        Err(ApiError::Unavailable(format!(
            "data for {source} is {:.1}s old, older than the {}s staleness limit{why}",
            age.as_secs_f64(),
            limit.as_secs_f64()
        )))
    }

    fn observe_age(&self, now: u64, at: u64) {
        self.metrics
            .data_age
            .observe(now.saturating_sub(at) as f64 / 1000.0);
    }

    /// A parsed label selector, from a small cache (the HPA asks the same
    /// selectors over and over).
    fn selector(&self, raw: Option<String>) -> Result<Arc<Selector>, ApiError> {
        let Some(raw) = raw else {
            return Ok(self.everything.clone());
        };
        let mut cache = self.selectors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = cache.get(&raw) {
            return Ok(s.clone());
        }
        let parsed =
            Arc::new(Selector::parse(&raw).map_err(|e| {
                ApiError::BadRequest(format!("invalid labelSelector {raw:?}: {e}"))
            })?);
        if cache.len() >= SELECTOR_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(raw, parsed.clone());
        Ok(parsed)
    }

    /// Finishes the list and counts the items served.
    fn list(&self, metric_name: &str, items: ListWriter) -> Result<Vec<u8>, ApiError> {
        if let Some(c) = self.served.get(metric_name) {
            c.inc_by(items.n as u64);
        }
        Ok(items.finish())
    }
}

/// Most distinct label selectors kept parsed.
const SELECTOR_CACHE_SIZE: usize = 1024;

/// Writes an `ExternalMetricValueList`
/// (`k8s.io/metrics/pkg/apis/external_metrics/v1beta1/types.go`) straight into
/// the response body; label sets arrive pre-rendered as JSON.
struct ListWriter {
    out: Vec<u8>,
    n: usize,
}

impl ListWriter {
    fn new() -> ListWriter {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(
            br#"{"kind":"ExternalMetricValueList","apiVersion":"external.metrics.k8s.io/v1beta1","metadata":{},"items":["#,
        );
        ListWriter { out, n: 0 }
    }

    fn item(&mut self, metric_name: &str, labels_json: &str, at_ms: u64, value: &str) {
        use std::io::Write;
        if self.n > 0 {
            self.out.push(b',');
        }
        self.n += 1;
        self.out.extend_from_slice(br#"{"metricName":"#);
        let _ = serde_json::to_writer(&mut self.out, metric_name);
        self.out.extend_from_slice(br#","metricLabels":"#);
        self.out.extend_from_slice(labels_json.as_bytes());
        let ts = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(at_ms));
        let _ = write!(self.out, r#","timestamp":"{ts}","value":"{value}"}}"#);
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(b"]}");
        self.out
    }
}

/// The first `labelSelector` query parameter, decoded.
fn label_selector(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "labelSelector")
        .map(|(_, v)| v.into_owned())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A document with an ETag, answering `If-None-Match` with 304.
fn cached(headers: &HeaderMap, body: &[u8], etag: &str) -> Response {
    let quoted = format!("\"{etag}\"");
    if header_str(headers, header::IF_NONE_MATCH)
        .is_some_and(|v| v.split(',').any(|t| t.trim() == quoted))
    {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&quoted) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return resp;
    }
    let mut resp = json(body.to_vec(), "application/json");
    if let Ok(v) = HeaderValue::from_str(&quoted) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp
}

/// Moved to [`crate::k8s::labels`]; kept here until the store imports it from there.
pub use crate::k8s::labels::Labels;
