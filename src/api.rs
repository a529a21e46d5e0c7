//! The `external.metrics.k8s.io/v1beta1` API, answered from the store.
//!
//! Routing is done by hand over the decoded path so that every answer,
//! including a malformed path or query, is either a document or a
//! Kubernetes `Status` ([`crate::k8s::status::ApiError`]), and so that request metrics are
//! labelled by route template: [`Route`] is the one table of routes, for
//! dispatch and for templates. Each request is parsed once (its route, and
//! its label selector on first use, from a cache) and that parse is shared
//! with [`crate::auth`], which puts the selector into the SubjectAccessReview.
//! Nothing here touches Redis: a metric request is an index lookup, a few
//! atomic loads and one JSON serialisation.
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
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::auth::authn::PeerCerts;
use crate::auth::{self, Auth};
use crate::k8s::names::{is_dns1123_label, valid_metric_name};
use crate::k8s::selector::{self, Selector};
use crate::k8s::status::ApiError;
use crate::k8s::{labels, quantity};
use crate::store::{Store, now_ms};
use crate::telemetry::{ApiMetrics, MetricLabels, PathLabels, RequestLabels};
use discovery::{AGGREGATED_V2, AGGREGATED_V2BETA1, DiscoveryFormat, Documents};

/// The API group served.
pub const GROUP: &str = "external.metrics.k8s.io";
/// The version served.
pub const VERSION: &str = "v1beta1";
/// `group/version`.
pub const GROUP_VERSION: &str = "external.metrics.k8s.io/v1beta1";

/// The routes served: one table from which both dispatch
/// ([`ApiState::respond`]) and the `path` label of request metrics
/// ([`Route::template`]) come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/apis`: discovery of every group served.
    Apis,
    /// `/apis/external.metrics.k8s.io`.
    Group,
    /// `/apis/external.metrics.k8s.io/v1beta1`: the resource list.
    Version,
    /// `/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}`.
    Metric {
        /// The namespace segment, as sent.
        namespace: &'a str,
        /// The metric segment, as sent.
        metric: &'a str,
    },
    /// `/openapi/v2`.
    OpenapiV2,
    /// `/openapi/v3`: the index of v3 documents.
    OpenapiV3,
    /// `/openapi/v3/apis/external.metrics.k8s.io/v1beta1`.
    OpenapiV3Group,
    /// `/version`.
    VersionInfo,
    /// `/livez`, `/readyz`, `/healthz`.
    Health,
    /// Anything else: 404.
    Other,
}

impl<'a> Route<'a> {
    /// The route of a URL path (a trailing `/` is ignored).
    pub fn parse(path: &'a str) -> Route<'a> {
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        // The segments after the leading `/`; no route has more than six.
        let mut segments = [""; 6];
        let mut n = 0;
        for segment in path.split('/').skip(1) {
            let Some(slot) = segments.get_mut(n) else {
                return Route::Other;
            };
            *slot = segment;
            n += 1;
        }
        match segments[..n] {
            ["apis"] => Route::Apis,
            ["apis", GROUP] => Route::Group,
            ["apis", GROUP, VERSION] => Route::Version,
            ["apis", GROUP, VERSION, "namespaces", namespace, metric] => {
                Route::Metric { namespace, metric }
            }
            ["openapi", "v2"] => Route::OpenapiV2,
            ["openapi", "v3"] => Route::OpenapiV3,
            ["openapi", "v3", "apis", GROUP, VERSION] => Route::OpenapiV3Group,
            ["version"] => Route::VersionInfo,
            ["livez" | "readyz" | "healthz"] => Route::Health,
            _ => Route::Other,
        }
    }

    /// The route template, the `path` label of request metrics.
    pub fn template(&self) -> &'static str {
        match self {
            Route::Apis => "/apis",
            Route::Group => "/apis/external.metrics.k8s.io",
            Route::Version => "/apis/external.metrics.k8s.io/v1beta1",
            Route::Metric { .. } => {
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}"
            }
            Route::OpenapiV2 => "/openapi/v2",
            Route::OpenapiV3 => "/openapi/v3",
            Route::OpenapiV3Group => "/openapi/v3/apis/external.metrics.k8s.io/v1beta1",
            Route::VersionInfo => "/version",
            Route::Health => "/{livez,readyz,healthz}",
            Route::Other => "other",
        }
    }
}

/// One request as parsed once, before anyone looks at it: the route it takes
/// and its `labelSelector`, which authorization (for the SubjectAccessReview)
/// and the metric handler share, parsed by whichever needs it first.
struct Parsed<'a> {
    route: Route<'a>,
    selector: selector::Lazy<'a>,
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
    /// Parsed label selectors by their text (the HPA asks the same ones over and over).
    selectors: selector::Cache,
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
            selectors: selector::Cache::new(),
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
    let request = state.parse(&parts.uri);
    let result = match state.check(&parts, &request).await {
        Ok(()) => state.answer(&parts.method, &parts.headers, &request),
        Err(e) => Err(e),
    };
    let route = request.route.template();
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

impl ApiState {
    /// Parses a request's path and query, once for auth and the handler.
    fn parse<'a>(&'a self, uri: &'a Uri) -> Parsed<'a> {
        Parsed {
            route: Route::parse(uri.path()),
            selector: self.selectors.lazy(uri.query()),
        }
    }

    /// Authenticates and authorizes a request, unless auth is disabled or the
    /// path is always open (`/livez`, `/readyz`, `/healthz`, as the apiserver's
    /// `AlwaysAllowPaths`).
    async fn check(
        &self,
        req: &axum::http::request::Parts,
        parsed: &Parsed<'_>,
    ) -> Result<(), ApiError> {
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        if matches!(req.uri.path(), "/livez" | "/readyz" | "/healthz") {
            return Ok(());
        }
        auth.check(auth::Request {
            peer: req.extensions.get::<Arc<PeerCerts>>().map(Arc::as_ref),
            method: &req.method,
            uri: &req.uri,
            headers: &req.headers,
            label_selector: &parsed.selector,
        })
        .await
    }

    /// Routes one request without authentication; returns the route template
    /// and the answer.
    pub fn respond(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> (&'static str, Result<Response, ApiError>) {
        let request = self.parse(uri);
        (
            request.route.template(),
            self.answer(method, headers, &request),
        )
    }

    /// The answer to a parsed (and allowed) request.
    fn answer(
        &self,
        method: &Method,
        headers: &HeaderMap,
        request: &Parsed<'_>,
    ) -> Result<Response, ApiError> {
        if request.route != Route::Other && method != Method::GET && method != Method::HEAD {
            return Err(ApiError::MethodNotAllowed);
        }
        let d = &self.docs;
        Ok(match request.route {
            Route::Apis => match discovery::negotiate(header_str(headers, header::ACCEPT)) {
                DiscoveryFormat::AggregatedV2 => json(d.aggregated_v2.clone(), AGGREGATED_V2),
                DiscoveryFormat::AggregatedV2Beta1 => {
                    json(d.aggregated_v2beta1.clone(), AGGREGATED_V2BETA1)
                }
                DiscoveryFormat::Plain => json(d.group_list.clone(), "application/json"),
            },
            Route::Group => json(d.group.clone(), "application/json"),
            Route::Version => json(d.resource_list.clone(), "application/json"),
            Route::OpenapiV2 => cached(headers, &d.openapi_v2, &d.openapi_v2_etag),
            Route::OpenapiV3 => json(d.openapi_v3_root.clone(), "application/json"),
            Route::OpenapiV3Group => cached(headers, &d.openapi_v3_group, &d.openapi_v3_etag),
            Route::VersionInfo => json(d.version.clone(), "application/json"),
            Route::Health => (StatusCode::OK, "ok").into_response(),
            Route::Metric { namespace, metric } => json(
                self.metric(namespace, metric, || parsed_selector(&request.selector))?,
                "application/json",
            ),
            Route::Other => return Err(ApiError::PathNotFound),
        })
    }

    /// `GET .../namespaces/{ns}/{metric}?labelSelector=...`: the serialised list.
    /// `selector` gives the request's label selector (or its 400); it is called
    /// only once the metric is known, so an unknown metric is a 404 whatever
    /// the selector.
    pub fn metric(
        &self,
        namespace: &str,
        metric: &str,
        selector: impl Fn() -> Result<Arc<Selector>, ApiError>,
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
        // client-go lowercases metric names in the path; accept any case
        // (copying only a name that has capitals).
        let name = if metric.bytes().any(|c| c.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(metric.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(metric)
        };
        let answer = self.store.answer(namespace, &name).ok_or_else(not_found)?;
        let selector = selector()?;
        let now = now_ms();
        let mut items = ListWriter::new();
        answer
            .read(
                now,
                self.store.max_staleness,
                |labels| selector.matches(|k| labels::value(labels, k)),
                |labels_json, at, value| {
                    // NaN: the source chose to serve no item (no traffic in its window).
                    if let Some(value) = quantity::format(value) {
                        self.observe_age(now, at);
                        items.item(&answer.metric, labels_json, at, &value);
                    }
                },
            )
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        self.list(&answer.metric, items)
    }

    fn observe_age(&self, now: u64, at: u64) {
        self.metrics
            .data_age
            .observe(now.saturating_sub(at) as f64 / 1000.0);
    }

    /// Finishes the list and counts the items served.
    fn list(&self, metric_name: &str, items: ListWriter) -> Result<Vec<u8>, ApiError> {
        if let Some(c) = self.served.get(metric_name) {
            c.inc_by(items.n as u64);
        }
        Ok(items.finish())
    }
}

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

/// The request's label selector, parsed once; a 400 when it does not parse.
fn parsed_selector(selector: &selector::Lazy<'_>) -> Result<Arc<Selector>, ApiError> {
    selector
        .get()
        .cloned()
        .map_err(|(raw, e)| ApiError::BadRequest(format!("invalid labelSelector {raw:?}: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_their_templates() {
        let metric = "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}";
        for (path, template) in [
            ("/apis", "/apis"),
            ("/apis/", "/apis"),
            (
                "/apis/external.metrics.k8s.io",
                "/apis/external.metrics.k8s.io",
            ),
            (
                "/apis/external.metrics.k8s.io/v1beta1/",
                "/apis/external.metrics.k8s.io/v1beta1",
            ),
            (
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/q",
                metric,
            ),
            ("/openapi/v2", "/openapi/v2"),
            ("/openapi/v3", "/openapi/v3"),
            (
                "/openapi/v3/apis/external.metrics.k8s.io/v1beta1",
                "/openapi/v3/apis/external.metrics.k8s.io/v1beta1",
            ),
            ("/version", "/version"),
            ("/readyz", "/{livez,readyz,healthz}"),
            ("/", "other"),
            ("", "other"),
            ("/apis//", "/apis"),
            ("//apis", "other"),
            (
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/q/x",
                "other",
            ),
            (
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/q/x/y/z",
                "other",
            ),
        ] {
            assert_eq!(Route::parse(path).template(), template, "{path:?}");
        }
        assert_eq!(
            Route::parse("/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/Queue_Depth/"),
            Route::Metric {
                namespace: "ai",
                metric: "Queue_Depth"
            }
        );
    }
}
