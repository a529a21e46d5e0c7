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
mod tests;
