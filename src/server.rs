//! Listeners: the HTTPS API port and the plain-HTTP admin port.
//!
//! The API port runs hyper over tokio-rustls directly (HTTP/1.1 and h2 by
//! ALPN) so the TLS layer stays ours to extend; the admin port serves
//! `/livez`, `/readyz` and `/metrics` for kubelet probes and Prometheus, and
//! `/`, the status page ([`status_page`]).
//!
//! # Header limits
//!
//! Go API servers accept request headers up to `MaxHeaderBytes` = 1 MiB
//! (k8s.io/apiserver `pkg/server/secure_serving.go`, `Serve`): net/http reads
//! at most that plus 4096 bytes of request line and headers, and the HTTP/2
//! server advertises `SETTINGS_MAX_HEADER_LIST_SIZE` = 1 MiB + 320
//! (golang.org/x/net/http2 `adjustHTTP1MaxHeaderSize`: 10 fields × 32).
//! The aggregator checks that setting before it proxies, so with hyper's
//! default of 16 KiB a large label selector came back as the apiserver's own
//! 503 ("request header list larger than peer's advertised limit").
//!
//! Here the transports (hyper's HTTP/1 buffer and h2's header list) take up
//! to [`TRANSPORT_HEADER_LIMIT`] = 2 MiB, and [`oversized`] applies Go's
//! limits to every request before anything else, answering with a
//! Kubernetes `Status` 431. Only beyond 2 MiB does the transport refuse by
//! itself (HTTP/1: hyper's 431 without a body; HTTP/2: the stream is
//! refused) — a size no Go client sends to a server advertising 2 MiB.

pub mod long_uri;
pub mod status_page;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::Request;
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::{Instrument, debug};

use crate::auth::authn::PeerCerts;
use crate::k8s::status::ApiError;
use crate::store::Store;
use crate::telemetry::Metrics;
use long_uri::LongUri;

/// A TLS handshake that takes longer than this is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Go's `http.DefaultMaxHeaderBytes`, which k8s.io/apiserver sets explicitly.
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// HTTP/1: net/http reads request line and headers up to `MaxHeaderBytes`
/// plus this much (`initialReadLimitSize`).
const HTTP1_SLACK: usize = 4096;
/// HTTP/2: what Go advertises beyond `MaxHeaderBytes` (10 fields × 32 bytes).
const HTTP2_SLACK: usize = 320;
/// What the transports take before [`oversized`] sees the request.
pub const TRANSPORT_HEADER_LIMIT: usize = 2 << 20;

/// Serves `app` over TLS on `listener` until the task is dropped.
pub async fn serve_tls(listener: TcpListener, tls: Arc<ServerConfig>, app: Router) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        // Each connection's task runs in the listener's span (`api`, its address).
        tokio::spawn(
            async move {
                let stream =
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                // What a client certificate proves is worked out by auth, once per
                // connection; connections without one carry nothing.
                let peer_certs = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .filter(|c| !c.is_empty())
                    .map(|c| {
                        Arc::new(PeerCerts::new(
                            c.iter().map(|c| c.clone().into_owned()).collect(),
                        ))
                    });
                let svc = TowerToHyperService::new(tower::service_fn(
                    move |mut req: Request<Incoming>| {
                        let app = app.clone();
                        let too_large = oversized(&req).or_else(|| uri_too_long(&req));
                        if let Some(p) = &peer_certs {
                            req.extensions_mut().insert(p.clone());
                        }
                        async move {
                            match too_large {
                                Some(e) => Ok(e.into_response()),
                                None => app.oneshot(req.map(Body::new)).await,
                            }
                        }
                    },
                ));
                if let Err(e) = http_builder()
                    .serve_connection(TokioIo::new(LongUri::new(stream)), svc)
                    .await
                {
                    debug!(%peer, error = %e, "connection ended with an error");
                }
            }
            .in_current_span(),
        );
    }
}

/// HTTP/1.1 and h2 with the header limits of the module docs.
fn http_builder() -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    // hyper's buffer must hold the request line and headers whole.
    b.http1().max_buf_size(TRANSPORT_HEADER_LIMIT);
    b.http2()
        .max_header_list_size(TRANSPORT_HEADER_LIMIT as u32)
        // As k8s.io/apiserver: 100 concurrent streams per connection.
        .max_concurrent_streams(100);
    b
}

/// The 431 for a request whose headers Go API servers would not read: HTTP/1
/// counts the request line and header lines as sent; HTTP/2 the header list
/// size of RFC 9113 section 6.5.2 (name + value + 32 per field, pseudo-headers
/// included). A sum over the headers, on every request.
pub fn oversized<B>(req: &Request<B>) -> Option<ApiError> {
    let fields = req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len());
    let (size, limit) = if req.version() == Version::HTTP_2 {
        let uri = req.uri();
        let pseudo = [
            ":method".len() + req.method().as_str().len(),
            ":path".len() + uri.path_and_query().map_or(1, |p| p.as_str().len()),
            ":scheme".len() + uri.scheme_str().map_or(5, str::len),
            ":authority".len() + uri.authority().map_or(0, |a| a.as_str().len()),
        ];
        let n = req.headers().len() + pseudo.len();
        (
            fields.sum::<usize>() + pseudo.iter().sum::<usize>() + 32 * n,
            MAX_HEADER_BYTES + HTTP2_SLACK,
        )
    } else {
        // "GET /path HTTP/1.1\r\n", "name: value\r\n" each, "\r\n".
        let target = req.uri().path_and_query().map_or(1, |p| p.as_str().len());
        let line = req.method().as_str().len() + target + 12;
        (
            line + fields.sum::<usize>() + 4 * req.headers().len() + 2,
            MAX_HEADER_BYTES + HTTP1_SLACK,
        )
    };
    (size > limit).then_some(ApiError::HeadersTooLarge { size, limit })
}

/// The 414 for a request whose target [`LongUri`] replaced with its marker.
fn uri_too_long<B>(req: &Request<B>) -> Option<ApiError> {
    let size = req
        .uri()
        .path()
        .strip_prefix(long_uri::MARKER)?
        .parse()
        .ok()?;
    Some(ApiError::UriTooLong {
        size,
        limit: long_uri::MAX_URI,
    })
}

/// State of the admin port.
pub struct AdminState {
    /// For `/readyz`.
    pub store: Arc<Store>,
    /// For `/metrics`.
    pub metrics: Arc<Metrics>,
}

/// The admin router: `/` (the status page), `/livez`, `/readyz`, `/healthz`, `/metrics`.
pub fn admin_router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/", get(status))
        .route("/livez", get(|| async { "ok" }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(s): State<Arc<AdminState>>) -> Response {
    if s.store.ready() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "waiting for the first read of {}",
                status_page::not_ready(&s.store)
            ),
        )
            .into_response()
    }
}

async fn status(State(s): State<Arc<AdminState>>) -> Response {
    let mut resp = status_page::render(&s.store, s.store.ready()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

async fn metrics(State(s): State<Arc<AdminState>>) -> Response {
    let mut resp = s.metrics.encode().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

/// Binds a TCP listener, naming the address on failure.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}
