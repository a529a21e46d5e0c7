//! Every error a client can cause, as a Kubernetes `Status` object.
//!
//! The aggregator and client-go decode non-2xx bodies as `meta/v1 Status`
//! (`k8s.io/apimachinery/pkg/api/errors`), so no handler ever answers with a
//! bare code: each [`ApiError`] variant maps to the reason and code that
//! apimachinery's `errors.New*` constructors use.

use std::fmt;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusDetails};

/// An API request that cannot be answered with data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Unknown metric, or a metric not visible to the namespace (the two are
    /// deliberately indistinguishable). 404 NotFound.
    #[error("external metric {metric:?} not found for namespace {namespace:?}")]
    MetricNotFound {
        /// API group of the resource, for the Status details (the caller's group).
        group: &'static str,
        /// Requested metric name.
        metric: String,
        /// Requested namespace.
        namespace: String,
    },
    /// No route for this path. 404 NotFound.
    #[error("the server could not find the requested resource")]
    PathNotFound,
    /// Malformed label selector, namespace or metric name. 400 BadRequest.
    #[error("{0}")]
    BadRequest(String),
    /// Only GET (and HEAD) are served. 405 MethodNotAllowed.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// Data not yet read or older than the staleness limit, or a source is failing. 503 ServiceUnavailable.
    #[error("{0}")]
    Unavailable(String),
    /// Credentials missing or not verified. 401 Unauthorized.
    #[error("Unauthorized")]
    Unauthorized,
    /// Authenticated but not allowed. 403 Forbidden (shared: cached denials
    /// are answered without copying it).
    #[error("{0}")]
    Forbidden(Arc<Forbidden>),
    /// The request's headers are larger than Go API servers accept
    /// (`MaxHeaderBytes` 1 MiB). 431, with no `metav1.StatusReason` (none
    /// exists for it; apimachinery's `StatusReasonUnknown` is the empty string).
    #[error(
        "request headers are {size} bytes, more than the {limit} this server accepts (as Go API servers: 1 MiB)"
    )]
    HeadersTooLarge {
        /// Bytes counted (HTTP/1: request line and header lines; HTTP/2: the
        /// header list size of RFC 9113 section 6.5.2, 32 bytes per field).
        size: usize,
        /// The limit for this protocol.
        limit: usize,
    },
    /// The request URI is longer than the Rust `http` crate holds (65,534
    /// bytes; Go API servers take up to their 1 MiB header limit). 414, no
    /// `metav1.StatusReason`.
    #[error(
        "the request URI is {size} bytes; this server reads URIs of up to {limit} bytes (Go API servers: up to 1 MiB): shorten the label selector, e.g. select on a label the series share"
    )]
    UriTooLong {
        /// The URI's length.
        size: usize,
        /// The longest URI read.
        limit: usize,
    },
    /// A bug; answered as a Status rather than a bare 500.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A 403 as `k8s.io/apimachinery/pkg/api/errors.NewForbidden(qualifiedResource, name, err)`
/// builds it: the message names the group-resource and the object, and the
/// details carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forbidden {
    /// API group of the resource (`""` for the core group and non-resource requests).
    pub group: String,
    /// Resource (`""` for non-resource requests).
    pub resource: String,
    /// Object name, if the request names one.
    pub name: String,
    /// Why (`err`).
    pub err: String,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // schema.GroupResource.Empty / String.
        if self.group.is_empty() && self.resource.is_empty() {
            return write!(f, "forbidden: {}", self.err);
        }
        if self.group.is_empty() {
            write!(f, "{}", self.resource)?;
        } else {
            write!(f, "{}.{}", self.resource, self.group)?;
        }
        if !self.name.is_empty() {
            write!(f, " {}", go_quote(&self.name))?;
        }
        write!(f, " is forbidden: {}", self.err)
    }
}

/// Go's `%q` (`strconv.Quote`) of a string: double quotes, `\"` and `\\`,
/// the C escapes, `\xNN` below space and for DEL, `\uNNNN` for the other
/// control characters; everything else as it is (the few other characters
/// Go's `IsPrint` rejects are left as they are).
pub fn go_quote(s: &str) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl ApiError {
    /// `errors.NewForbidden({group, resource}, name, err)`.
    pub fn forbidden(group: &str, resource: &str, name: &str, err: String) -> ApiError {
        ApiError::Forbidden(Arc::new(Forbidden {
            group: group.to_string(),
            resource: resource.to_string(),
            name: name.to_string(),
            err,
        }))
    }

    /// HTTP status code.
    pub fn code(&self) -> StatusCode {
        match self {
            ApiError::MetricNotFound { .. } | ApiError::PathNotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// `metav1.StatusReason`.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::MetricNotFound { .. } | ApiError::PathNotFound => "NotFound",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::Unavailable(_) => "ServiceUnavailable",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::HeadersTooLarge { .. } | ApiError::UriTooLong { .. } => "",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// The Status object.
    pub fn status(&self) -> Status {
        let details = match self {
            ApiError::MetricNotFound { group, metric, .. } => Some(StatusDetails {
                name: Some(metric.clone()),
                group: Some(group.to_string()),
                kind: Some(metric.clone()),
                ..StatusDetails::default()
            }),
            // Always present, `{}` for a non-resource request, as upstream.
            ApiError::Forbidden(f) => {
                let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
                Some(StatusDetails {
                    group: some(&f.group),
                    kind: some(&f.resource),
                    name: some(&f.name),
                    ..StatusDetails::default()
                })
            }
            _ => None,
        };
        Status {
            code: Some(i32::from(self.code().as_u16())),
            details,
            message: Some(self.to_string()),
            metadata: Default::default(),
            reason: Some(self.reason())
                .filter(|r| !r.is_empty())
                .map(str::to_string),
            status: Some("Failure".to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.status()).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = (self.code(), body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_shape() {
        let e = ApiError::MetricNotFound {
            group: "external.metrics.k8s.io",
            metric: "queue_depth".into(),
            namespace: "ns".into(),
        };
        let v = serde_json::to_value(e.status()).unwrap();
        assert_eq!(v["kind"], "Status");
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["status"], "Failure");
        assert_eq!(v["reason"], "NotFound");
        assert_eq!(v["code"], 404);
        assert_eq!(v["details"]["group"], "external.metrics.k8s.io");
        assert_eq!(
            v["message"],
            "external metric \"queue_depth\" not found for namespace \"ns\""
        );
    }

    #[test]
    fn forbidden_like_new_forbidden() {
        let v = |e: ApiError| serde_json::to_value(e.status()).unwrap();
        let e = v(ApiError::forbidden(
            "",
            "",
            "",
            "User \"x\" cannot get path \"/\"".into(),
        ));
        assert_eq!(e["message"], "forbidden: User \"x\" cannot get path \"/\"");
        assert_eq!(e["details"], serde_json::json!({}));
        let e = v(ApiError::forbidden("", "pods", "", "why".into()));
        assert_eq!(e["message"], "pods is forbidden: why");
        assert_eq!(e["details"], serde_json::json!({"kind": "pods"}));
        let e = v(ApiError::forbidden("g.io", "r", "n\"1", "why".into()));
        assert_eq!(e["message"], "r.g.io \"n\\\"1\" is forbidden: why");
        assert_eq!(
            e["details"],
            serde_json::json!({"group": "g.io", "kind": "r", "name": "n\"1"})
        );
    }

    #[test]
    fn go_quote_like_strconv_quote() {
        assert_eq!(go_quote("bob"), "\"bob\"");
        assert_eq!(go_quote("José"), "\"José\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            go_quote("\n\t\u{1}\u{7f}\u{85}"),
            "\"\\n\\t\\x01\\x7f\\u0085\""
        );
    }

    #[test]
    fn codes_and_reasons() {
        for (e, code, reason) in [
            (ApiError::BadRequest("x".into()), 400, "BadRequest"),
            (ApiError::Unavailable("x".into()), 503, "ServiceUnavailable"),
            (ApiError::Unauthorized, 401, "Unauthorized"),
            (
                ApiError::forbidden("", "", "", "x".into()),
                403,
                "Forbidden",
            ),
            (ApiError::MethodNotAllowed, 405, "MethodNotAllowed"),
            (ApiError::PathNotFound, 404, "NotFound"),
        ] {
            let s = e.status();
            assert_eq!(s.code, Some(code));
            assert_eq!(s.reason.as_deref(), Some(reason));
        }
        let s = ApiError::HeadersTooLarge {
            size: 2_000_000,
            limit: 1_052_672,
        }
        .status();
        assert_eq!(s.code, Some(431));
        assert_eq!(s.reason, None);
    }
}
