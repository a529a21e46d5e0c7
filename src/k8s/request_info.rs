//! What a request asks for, in authorization terms: a port of
//! `k8s.io/apiserver/pkg/endpoints/request/requestinfo.go`
//! (`RequestInfoFactory.NewRequestInfo`) with `APIPrefixes = {api, apis}` and
//! `GrouplessAPIPrefixes = {api}`, the factory every generic apiserver uses.
//!
//! The result becomes a SubjectAccessReview's `resourceAttributes` (resource
//! requests) or `nonResourceAttributes` (everything else, e.g. discovery).
//! Pure: path, method and query in, [`RequestInfo`] out.

/// Upstream `specialVerbs`.
const SPECIAL_VERBS: [&str; 2] = ["proxy", "watch"];
/// Upstream `namespaceSubresources`.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

/// The attributes of one request (upstream `RequestInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Whether this is a request for an API resource (else a non-resource path).
    pub is_resource_request: bool,
    /// The URL path.
    pub path: String,
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, ...); for non-resource
    /// requests the lowercased HTTP method.
    pub verb: String,
    /// `api` or `apis`.
    pub api_prefix: String,
    /// API group (`""` for the core group).
    pub api_group: String,
    /// API version.
    pub api_version: String,
    /// Namespace, or `""`.
    pub namespace: String,
    /// Resource (for us: the metric name).
    pub resource: String,
    /// Subresource, or `""`.
    pub subresource: String,
    /// Object name, or `""`.
    pub name: String,
    /// The path segments from the resource on.
    pub parts: Vec<String>,
    /// Raw `labelSelector` of list/watch requests (`AuthorizeWithSelectors`).
    pub label_selector: String,
}

/// Why a request's attributes cannot be determined (upstream returns an error too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `/apis/<g>/<v>/watch` or `/proxy` with nothing after it.
    #[error("unable to determine kind and namespace from url {0}")]
    SpecialVerbWithoutResource(String),
}

fn split_path(path: &str) -> Vec<&str> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

fn query_values<'q>(query: Option<&'q str>, key: &str) -> Vec<std::borrow::Cow<'q, str>> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v)
                .collect()
        })
        .unwrap_or_default()
}

impl RequestInfo {
    /// Upstream `NewRequestInfo`.
    pub fn new(method: &str, path: &str, query: Option<&str>) -> Result<RequestInfo, Error> {
        let mut info = RequestInfo {
            path: path.to_string(),
            verb: method.to_ascii_lowercase(),
            ..RequestInfo::default()
        };
        let mut parts = split_path(path);
        if parts.len() < 3 || !matches!(parts[0], "api" | "apis") {
            return Ok(info);
        }
        info.api_prefix = parts[0].to_string();
        parts.remove(0);
        if info.api_prefix != "api" {
            // One part (the prefix) is consumed: "do we have four parts?"
            if parts.len() < 3 {
                return Ok(info);
            }
            info.api_group = parts.remove(0).to_string();
        }
        info.is_resource_request = true;
        info.api_version = parts.remove(0).to_string();

        if SPECIAL_VERBS.contains(&parts[0]) {
            if parts.len() < 2 {
                return Err(Error::SpecialVerbWithoutResource(path.to_string()));
            }
            info.verb = parts.remove(0).to_string();
        } else {
            info.verb = match method {
                "POST" => "create",
                "GET" | "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            }
            .to_string();
        }

        if parts[0] == "namespaces" && parts.len() > 1 {
            info.namespace = parts[1].to_string();
            // Another step after the namespace name that is not a namespace
            // subresource is a resource in its own right.
            if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2]) {
                parts.drain(..2);
            }
        }
        info.parts = parts.iter().map(|s| s.to_string()).collect();

        let p = &info.parts;
        if p.len() >= 3 && info.verb != "proxy" {
            info.subresource = p[2].clone();
        }
        if p.len() >= 2 {
            info.name = p[1].clone();
        }
        if !p.is_empty() {
            info.resource = p[0].clone();
        }

        if info.name.is_empty() && info.verb == "get" {
            let watch = query_values(query, "watch")
                .first()
                .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "0"));
            info.verb = if watch { "watch" } else { "list" }.to_string();
            // A fieldSelector `metadata.name=x` names the object.
            if let Some(fs) = query_values(query, "fieldSelector").first() {
                let name = fs
                    .strip_prefix("metadata.name==")
                    .or_else(|| fs.strip_prefix("metadata.name="));
                if let Some(n) = name
                    && !n.is_empty()
                    && !n.contains([',', '/', '%'])
                    && n != "."
                    && n != ".."
                {
                    info.name = n.to_string();
                }
            }
            if let Some(ls) = query_values(query, "labelSelector").first() {
                info.label_selector = ls.to_string();
            }
        }
        if info.name.is_empty() && info.verb == "delete" {
            info.verb = "deletecollection".to_string();
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cases from upstream `requestinfo_test.go` `TestGetAPIRequestInfo`
    /// (method, url, verb, prefix, group, version, namespace, resource, subresource, name, parts).
    #[test]
    #[allow(clippy::type_complexity)]
    fn upstream_get_api_request_info() {
        let cases: &[(
            &str,
            &str,
            &str,
            &str,
            &str,
            &str,
            &str,
            &str,
            &str,
            &str,
            &[&str],
        )] = &[
            (
                "GET",
                "/api/v1/namespaces",
                "list",
                "api",
                "",
                "v1",
                "",
                "namespaces",
                "",
                "",
                &["namespaces"],
            ),
            (
                "GET",
                "/api/v1/namespaces/other",
                "get",
                "api",
                "",
                "v1",
                "other",
                "namespaces",
                "",
                "other",
                &["namespaces", "other"],
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods",
                "list",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods/foo",
                "get",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "foo",
                &["pods", "foo"],
            ),
            (
                "HEAD",
                "/api/v1/namespaces/other/pods/foo",
                "get",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "foo",
                &["pods", "foo"],
            ),
            (
                "GET",
                "/api/v1/pods",
                "list",
                "api",
                "",
                "v1",
                "",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "HEAD",
                "/api/v1/pods",
                "list",
                "api",
                "",
                "v1",
                "",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods/foo",
                "get",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "foo",
                &["pods", "foo"],
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods",
                "list",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            // special verbs
            (
                "GET",
                "/api/v1/proxy/namespaces/other/pods/foo",
                "proxy",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "foo",
                &["pods", "foo"],
            ),
            (
                "GET",
                "/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource",
                "proxy",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "foo",
                &["pods", "foo", "subpath", "not", "a", "subresource"],
            ),
            (
                "GET",
                "/api/v1/watch/pods",
                "watch",
                "api",
                "",
                "v1",
                "",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "GET",
                "/api/v1/pods?watch=true",
                "watch",
                "api",
                "",
                "v1",
                "",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "GET",
                "/api/v1/pods?watch=false",
                "list",
                "api",
                "",
                "v1",
                "",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "GET",
                "/api/v1/watch/namespaces/other/pods",
                "watch",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods?watch=1",
                "watch",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods?watch=0",
                "list",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            // subresource identification
            (
                "GET",
                "/api/v1/namespaces/other/pods/foo/status",
                "get",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "status",
                "foo",
                &["pods", "foo", "status"],
            ),
            (
                "GET",
                "/api/v1/namespaces/other/pods/foo/proxy/subpath",
                "get",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "proxy",
                "foo",
                &["pods", "foo", "proxy", "subpath"],
            ),
            (
                "PUT",
                "/api/v1/namespaces/other/finalize",
                "update",
                "api",
                "",
                "v1",
                "other",
                "namespaces",
                "finalize",
                "other",
                &["namespaces", "other", "finalize"],
            ),
            (
                "PUT",
                "/api/v1/namespaces/other/status",
                "update",
                "api",
                "",
                "v1",
                "other",
                "namespaces",
                "status",
                "other",
                &["namespaces", "other", "status"],
            ),
            // verb identification
            (
                "PATCH",
                "/api/v1/namespaces/other/pods/foo",
                "patch",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "foo",
                &["pods", "foo"],
            ),
            (
                "DELETE",
                "/api/v1/namespaces/other/pods/foo",
                "delete",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "foo",
                &["pods", "foo"],
            ),
            (
                "POST",
                "/api/v1/namespaces/other/pods",
                "create",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            // deletecollection verb identification
            (
                "DELETE",
                "/api/v1/nodes",
                "deletecollection",
                "api",
                "",
                "v1",
                "",
                "nodes",
                "",
                "",
                &["nodes"],
            ),
            (
                "DELETE",
                "/api/v1/namespaces",
                "deletecollection",
                "api",
                "",
                "v1",
                "",
                "namespaces",
                "",
                "",
                &["namespaces"],
            ),
            (
                "DELETE",
                "/api/v1/namespaces/other/pods",
                "deletecollection",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            (
                "DELETE",
                "/apis/extensions/v1/namespaces/other/pods",
                "deletecollection",
                "apis",
                "extensions",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            // api group identification
            (
                "POST",
                "/apis/extensions/v1/namespaces/other/pods",
                "create",
                "apis",
                "extensions",
                "v1",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            // api version identification
            (
                "POST",
                "/apis/extensions/v1beta3/namespaces/other/pods",
                "create",
                "apis",
                "extensions",
                "v1beta3",
                "other",
                "pods",
                "",
                "",
                &["pods"],
            ),
            // fieldSelector metadata.name names the object
            (
                "GET",
                "/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo",
                "list",
                "api",
                "",
                "v1",
                "other",
                "pods",
                "",
                "foo",
                &["pods"],
            ),
            // ours: the HPA's external metric request
            (
                "GET",
                "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/queue_depth?labelSelector=queue%3Dgw",
                "list",
                "apis",
                "external.metrics.k8s.io",
                "v1beta1",
                "ai",
                "queue_depth",
                "",
                "",
                &["queue_depth"],
            ),
        ];
        for (method, url, verb, prefix, group, version, ns, resource, sub, name, parts) in cases {
            let (path, query) = url
                .split_once('?')
                .map_or((*url, None), |(p, q)| (p, Some(q)));
            let i = RequestInfo::new(method, path, query).unwrap();
            assert!(i.is_resource_request, "{url}");
            assert_eq!(
                (
                    i.verb.as_str(),
                    i.api_prefix.as_str(),
                    i.api_group.as_str(),
                    i.api_version.as_str(),
                    i.namespace.as_str(),
                    i.resource.as_str(),
                    i.subresource.as_str(),
                    i.name.as_str()
                ),
                (
                    *verb, *prefix, *group, *version, *ns, *resource, *sub, *name
                ),
                "{method} {url}"
            );
            assert_eq!(i.parts, *parts, "{method} {url}");
        }
        let i = RequestInfo::new(
            "GET",
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/queue_depth",
            Some("labelSelector=queue%3Dgw"),
        )
        .unwrap();
        assert_eq!(i.label_selector, "queue=gw");
    }

    /// Upstream `TestGetNonAPIRequestInfo` plus discovery paths.
    #[test]
    fn upstream_non_api_request_info() {
        for (url, resource) in [
            ("/api", false),
            ("/api/", false),
            ("/api/v1/", false),
            ("/apis", false),
            ("/apis/", false),
            ("/apis/external.metrics.k8s.io", false),
            ("/apis/external.metrics.k8s.io/v1beta1", false),
            ("/apis/extensions/v1beta1/", false),
            ("/other", false),
            ("/openapi/v2", false),
            ("/version", false),
            ("/api/v1/pods", true),
            ("/apis/external.metrics.k8s.io/v1beta1/queue_depth", true),
        ] {
            let i = RequestInfo::new("GET", url, None).unwrap();
            assert_eq!(i.is_resource_request, resource, "{url}");
            if !resource {
                assert_eq!(i.verb, "get");
                assert_eq!(i.path, url);
            }
        }
    }

    /// Upstream `TestErrorsToAPIStatus`-era case: a special verb with nothing after it.
    #[test]
    fn special_verb_without_resource_is_an_error() {
        assert!(RequestInfo::new("GET", "/api/v1/watch", None).is_err());
        assert!(RequestInfo::new("GET", "/apis/g/v1/proxy", None).is_err());
    }
}
