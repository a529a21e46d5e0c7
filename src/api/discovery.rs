//! The documents the kube-apiserver's aggregator and clients read before they
//! ask for a metric: discovery (plain and aggregated), OpenAPI v2 and v3, and
//! `/version`.
//!
//! The set of served metrics is fixed by the configuration, so every document
//! is rendered once at start and served as bytes.
//!
//! Shapes follow upstream:
//! - plain discovery: `k8s.io/apimachinery/pkg/apis/meta/v1` `APIGroupList`,
//!   `APIGroup`, `APIResourceList` (k8s-openapi types);
//! - aggregated discovery: `k8s.io/api/apidiscovery/v2` (and `v2beta1`,
//!   identical in JSON) `APIGroupDiscoveryList`, served only when the `Accept`
//!   header asks for it, with the matching `Content-Type`, as
//!   `k8s.io/kube-aggregator/pkg/apiserver/handler_discovery.go` requires
//!   before it stops falling back to the plain documents;
//! - OpenAPI v3 root: `{"paths": {"apis/<group>/<version>": {"serverRelativeURL": ...}}}`
//!   as `k8s.io/kube-openapi/pkg/handler3` serves it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, GroupVersionForDiscovery,
};
use serde::Serialize;
use serde_json::json;

use super::{GROUP, GROUP_VERSION, VERSION};

/// Content type of aggregated discovery v2 responses.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
/// Content type of aggregated discovery v2beta1 responses (Kubernetes 1.26–1.29 aggregators).
pub const AGGREGATED_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Every static document, rendered once.
#[derive(Debug, Clone)]
pub struct Documents {
    /// `GET /apis` (plain).
    pub group_list: Vec<u8>,
    /// `GET /apis` with `Accept: ...;v=v2;as=APIGroupDiscoveryList`.
    pub aggregated_v2: Vec<u8>,
    /// `GET /apis` with `Accept: ...;v=v2beta1;as=APIGroupDiscoveryList`.
    pub aggregated_v2beta1: Vec<u8>,
    /// `GET /apis/external.metrics.k8s.io`.
    pub group: Vec<u8>,
    /// `GET /apis/external.metrics.k8s.io/v1beta1`.
    pub resource_list: Vec<u8>,
    /// `GET /openapi/v2`.
    pub openapi_v2: Vec<u8>,
    /// ETag of the OpenAPI v2 document.
    pub openapi_v2_etag: String,
    /// `GET /openapi/v3`.
    pub openapi_v3_root: Vec<u8>,
    /// `GET /openapi/v3/apis/external.metrics.k8s.io/v1beta1`.
    pub openapi_v3_group: Vec<u8>,
    /// ETag (and `hash` query value) of the OpenAPI v3 group document.
    pub openapi_v3_etag: String,
    /// `GET /version`.
    pub version: Vec<u8>,
}

/// Which discovery representation a request's `Accept` header prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryFormat {
    /// `APIGroupList`.
    Plain,
    /// `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`.
    AggregatedV2,
    /// `apidiscovery.k8s.io/v2beta1` `APIGroupDiscoveryList`.
    AggregatedV2Beta1,
}

/// Picks the first media range of `accept` that we can serve, in the client's order.
pub fn negotiate(accept: Option<&str>) -> DiscoveryFormat {
    let Some(accept) = accept else {
        return DiscoveryFormat::Plain;
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        let (mut g, mut v, mut as_) = (None, None, None);
        for p in parts {
            if let Some((k, val)) = p.split_once('=') {
                match k.trim() {
                    "g" => g = Some(val.trim()),
                    "v" => v = Some(val.trim()),
                    "as" => as_ = Some(val.trim()),
                    _ => {}
                }
            }
        }
        let json = matches!(media, "application/json" | "application/*" | "*/*");
        match (g, v, as_) {
            (Some("apidiscovery.k8s.io"), Some("v2"), Some("APIGroupDiscoveryList")) if json => {
                return DiscoveryFormat::AggregatedV2;
            }
            (Some("apidiscovery.k8s.io"), Some("v2beta1"), Some("APIGroupDiscoveryList"))
                if json =>
            {
                return DiscoveryFormat::AggregatedV2Beta1;
            }
            (None, None, None) if json => return DiscoveryFormat::Plain,
            _ => {}
        }
    }
    DiscoveryFormat::Plain
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedList {
    kind: &'static str,
    api_version: &'static str,
    metadata: serde_json::Value,
    items: Vec<serde_json::Value>,
}

impl Documents {
    /// Renders every document for the metrics being served.
    pub fn new(metrics: &[String]) -> Documents {
        let gv = GroupVersionForDiscovery {
            group_version: GROUP_VERSION.to_string(),
            version: VERSION.to_string(),
        };
        let group = APIGroup {
            name: GROUP.to_string(),
            preferred_version: Some(gv.clone()),
            server_address_by_client_cidrs: None,
            versions: vec![gv],
        };
        let group_list = APIGroupList {
            groups: vec![group.clone()],
        };
        let resource_list = APIResourceList {
            group_version: GROUP_VERSION.to_string(),
            resources: metrics
                .iter()
                .map(|m| APIResource {
                    name: m.clone(),
                    singular_name: String::new(),
                    namespaced: true,
                    kind: "ExternalMetricValueList".to_string(),
                    verbs: vec!["get".to_string()],
                    ..APIResource::default()
                })
                .collect(),
        };
        let resources: Vec<_> = metrics
            .iter()
            .map(|m| {
                json!({
                    "resource": m,
                    "responseKind": {"group": "", "version": "", "kind": "ExternalMetricValueList"},
                    "scope": "Namespaced",
                    "singularResource": "",
                    "verbs": ["get"],
                })
            })
            .collect();
        let aggregated = |api_version| AggregatedList {
            kind: "APIGroupDiscoveryList",
            api_version,
            metadata: json!({}),
            items: vec![json!({
                "metadata": {"name": GROUP, "creationTimestamp": null},
                "versions": [{"version": VERSION, "resources": resources, "freshness": "Current"}],
            })],
        };

        let openapi_v2 = to_vec(&openapi(metrics, false));
        let openapi_v2_etag = etag(&openapi_v2);
        let openapi_v3_group = to_vec(&openapi(metrics, true));
        let openapi_v3_etag = etag(&openapi_v3_group);
        let openapi_v3_root = to_vec(&json!({
            "paths": {
                format!("apis/{GROUP_VERSION}"): {
                    "serverRelativeURL": format!("/openapi/v3/apis/{GROUP_VERSION}?hash={openapi_v3_etag}")
                }
            }
        }));
        let version = to_vec(&json!({
            "major": "1",
            "minor": "0",
            "gitVersion": concat!("v", env!("CARGO_PKG_VERSION")),
            "gitCommit": "",
            "gitTreeState": "",
            "buildDate": "",
            "goVersion": "",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        }));
        Documents {
            group_list: to_vec(&group_list),
            aggregated_v2: to_vec(&aggregated("apidiscovery.k8s.io/v2")),
            aggregated_v2beta1: to_vec(&aggregated("apidiscovery.k8s.io/v2beta1")),
            group: to_vec(&group),
            resource_list: to_vec(&resource_list),
            openapi_v2,
            openapi_v2_etag,
            openapi_v3_root,
            openapi_v3_group,
            openapi_v3_etag,
            version,
        }
    }
}

fn to_vec<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing these in-memory documents cannot fail: no maps with non-string keys.
    serde_json::to_vec(v).unwrap_or_default()
}

/// Upper-case hex SHA-512 of a document, as kube-openapi's handler3 computes its hashes.
fn etag(doc: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA512, doc);
    d.as_ref().iter().map(|b| format!("{b:02X}")).collect()
}

const VALUE_DEF: &str = "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValue";
const LIST_DEF: &str = "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList";

/// Schemas of the wire types (`k8s.io/metrics/pkg/apis/external_metrics/v1beta1/types.go`).
fn schemas(ref_prefix: &str) -> serde_json::Value {
    json!({
        VALUE_DEF: {
            "description": "ExternalMetricValue is a metric value for external metric. A single metric value is identified by metric name and a set of string labels. For one metric there can be multiple values with different sets of labels.",
            "type": "object",
            "required": ["metricName", "metricLabels", "timestamp", "value"],
            "properties": {
                "metricName": {"description": "the name of the metric", "type": "string"},
                "metricLabels": {"description": "a set of labels that identify a single time series for the metric", "type": "object", "additionalProperties": {"type": "string"}},
                "timestamp": {"description": "indicates the time at which the metrics were produced", "type": "string", "format": "date-time"},
                "window": {"description": "indicates the window ([Timestamp-Window, Timestamp]) from which these metrics were calculated, when returning rate metrics calculated from cumulative metrics (or zero for non-calculated instantaneous metrics).", "type": "integer", "format": "int64"},
                "value": {"description": "the value of the metric", "type": "string"}
            }
        },
        LIST_DEF: {
            "description": "ExternalMetricValueList is a list of values for a given metric for some set labels",
            "type": "object",
            "required": ["items"],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "items": {"description": "value of the metric matching a given set of labels", "type": "array", "items": {"$ref": format!("{ref_prefix}{VALUE_DEF}")}}
            },
            "x-kubernetes-group-version-kind": [{"group": GROUP, "version": VERSION, "kind": "ExternalMetricValueList"}]
        }
    })
}

fn path_item(metric: &str, ref_prefix: &str, v3: bool) -> serde_json::Value {
    let schema = json!({"$ref": format!("{ref_prefix}{LIST_DEF}")});
    let ok = if v3 {
        json!({"description": "OK", "content": {"application/json": {"schema": schema}}})
    } else {
        json!({"description": "OK", "schema": schema})
    };
    let param = |name: &str, where_: &str, desc: &str| {
        if v3 {
            json!({"name": name, "in": where_, "description": desc, "required": where_ == "path", "schema": {"type": "string", "uniqueItems": true}})
        } else {
            json!({"name": name, "in": where_, "description": desc, "required": where_ == "path", "type": "string", "uniqueItems": true})
        }
    };
    let mut get = json!({
        "description": format!("read the {metric} external metric"),
        "operationId": format!("readNamespaced{metric}"),
        "tags": [format!("externalMetrics_{VERSION}")],
        "responses": {"200": ok, "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": "get",
        "x-kubernetes-group-version-kind": {"group": GROUP, "version": VERSION, "kind": "ExternalMetricValueList"}
    });
    if !v3 {
        get["produces"] = json!(["application/json"]);
        get["schemes"] = json!(["https"]);
    }
    json!({
        "get": get,
        "parameters": [
            param("namespace", "path", "object name and auth scope, such as for teams and projects"),
            param("labelSelector", "query", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
        ]
    })
}

/// The OpenAPI document: Swagger 2.0 (`/openapi/v2`) or OpenAPI 3.0 (`/openapi/v3/...`).
fn openapi(metrics: &[String], v3: bool) -> serde_json::Value {
    let prefix = if v3 {
        "#/components/schemas/"
    } else {
        "#/definitions/"
    };
    let paths: serde_json::Map<_, _> = metrics
        .iter()
        .map(|m| {
            (
                format!("/apis/{GROUP_VERSION}/namespaces/{{namespace}}/{m}"),
                path_item(m, prefix, v3),
            )
        })
        .collect();
    let info = json!({"title": "queue-metrics-adapter", "version": env!("CARGO_PKG_VERSION")});
    if v3 {
        json!({"openapi": "3.0.0", "info": info, "paths": paths, "components": {"schemas": schemas(prefix)}})
    } else {
        json!({"swagger": "2.0", "info": info, "paths": paths, "definitions": schemas(prefix)})
    }
}

#[cfg(test)]
mod tests;
