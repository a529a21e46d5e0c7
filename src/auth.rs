//! Delegated authentication and authorization, to the rules of
//! `k8s.io/apiserver` that every Go aggregated apiserver gets for free.
//!
//! ```text
//!  TLS handshake ── client cert? ──► PeerCerts (per connection; what it proves is
//!        │                            kept while the settings and the certificate hold)
//!  request ─► authn: front-proxy headers │ x509 user │ bearer token ─► TokenReview (cached)
//!        │                        none of them ─► 401
//!        │          + system:authenticated (group.AuthenticatedGroupAdder)
//!        └► RequestInfo (path → verb, group, version, resource, namespace)
//!           + the label selector the API parsed ([`Request`], shared with the handler)
//!           └► authz: SubjectAccessReview (allowed and denied cached) ─► 403
//!                     Kubernetes API unreachable or erroring ─► 503, never allow
//! ```
//!
//! `/livez`, `/readyz` and `/healthz` are always open (the apiserver's
//! always-allowed paths); members of `system:masters` are always allowed
//! (the apiserver's default `AlwaysAllowGroups`). docs/AUTH.md compares each
//! step with `k8s.io/apiserver` and argues every deliberate difference.
//!
//! [`authn`] says who is asking (the x509 step in `authn/x509.rs`), `authz`
//! builds the SubjectAccessReview and the 403, [`cache`] keeps answers for
//! their TTL and [`extension`] reads the settings. Auth sits below the API
//! and above [`crate::k8s`]: it knows nothing of routes or the store, and the
//! API hands it each request as a [`Request`].

pub mod authn;
mod authz;
pub mod cache;
pub mod extension;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::{HeaderMap, Method, Uri, header};
use futures_util::StreamExt;
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use rustls::server::danger::ClientCertVerifier;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::k8s::request_info::RequestInfo;
use crate::k8s::selector::{self, Selector};
use crate::k8s::status::ApiError;
use authn::{DynamicVerifier, PeerCerts, PeerIdentity, Settings, UserInfo};
use authz::forbidden;
pub use authz::sar_spec;
use cache::TtlCache;

/// Why delegated auth could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ConfigMap could not be read at start.
    #[error(
        "cannot read {}/{}: {source} (grant the RoleBinding to extension-apiserver-authentication-reader, or pass --authentication-skip-lookup with --client-ca-file/--requestheader-client-ca-file)",
        extension::NAMESPACE,
        extension::CONFIGMAP
    )]
    Lookup {
        /// Kubernetes client error.
        source: kube::Error,
    },
    /// The ConfigMap or flags hold invalid settings.
    #[error(transparent)]
    Settings(#[from] extension::Error),
    /// A CA bundle is unusable.
    #[error(transparent)]
    Ca(#[from] authn::Error),
}

/// Operational settings of delegated auth (flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Field-by-field overrides of the ConfigMap.
    pub overrides: extension::Overrides,
    /// Do not read the ConfigMap (out of cluster: flags only).
    pub skip_lookup: bool,
    /// How long TokenReview answers are cached.
    pub token_cache_ttl: Duration,
    /// How long "allowed" SubjectAccessReview answers are cached.
    pub allow_cache_ttl: Duration,
    /// How long "denied" SubjectAccessReview answers are cached.
    pub deny_cache_ttl: Duration,
    /// Groups allowed without asking.
    pub always_allow_groups: Vec<String>,
    /// Timeout of each TokenReview / SubjectAccessReview call.
    pub timeout: Duration,
}

impl Default for Options {
    /// The defaults of `k8s.io/apiserver/pkg/server/options` (`DelegatingAuthenticationOptions`,
    /// `DelegatingAuthorizationOptions`): 10 s caches, 10 s client timeout, `system:masters`.
    fn default() -> Options {
        Options {
            overrides: extension::Overrides::default(),
            skip_lookup: false,
            token_cache_ttl: Duration::from_secs(10),
            allow_cache_ttl: Duration::from_secs(10),
            deny_cache_ttl: Duration::from_secs(10),
            always_allow_groups: vec!["system:masters".to_string()],
            timeout: Duration::from_secs(10),
        }
    }
}

/// One request, as the API hands it over: the HTTP parts auth reads and the
/// label selector the API parsed (or will parse) for its own use, so that the
/// SubjectAccessReview and the handler share one parse.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The connection's client certificates and what they prove (`None`: no TLS client auth).
    pub peer: Option<&'a PeerCerts>,
    /// HTTP method.
    pub method: &'a Method,
    /// Path and query.
    pub uri: &'a Uri,
    /// Credentials: bearer token or front-proxy headers.
    pub headers: &'a HeaderMap,
    /// The query's `labelSelector`, parsed on first use; authorization passes
    /// its requirements on (`AuthorizeWithSelectors`).
    pub label_selector: &'a selector::Lazy<'a>,
}

/// A cached authorization decision.
#[derive(Debug, Clone)]
struct Decision {
    allowed: bool,
    reason: String,
}

/// Delegated authentication and authorization against a Kubernetes API.
pub struct Auth {
    client: kube::Client,
    options: Options,
    settings: ArcSwap<Settings>,
    handshake: Arc<DynamicVerifier>,
    /// SHA-256 of a bearer token → the user it authenticates (None: rejected).
    tokens: TtlCache<[u8; 32], Option<UserInfo>>,
    /// JSON of a SubjectAccessReview spec → decision.
    decisions: TtlCache<String, Decision>,
    /// (principal, method, path, query) → the whole answer.
    requests: TtlCache<Vec<u8>, Result<(), ApiError>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Reads the authentication ConfigMap (unless skipped) and builds the settings.
    pub async fn new(client: kube::Client, options: Options) -> Result<Arc<Auth>, Error> {
        let data = if options.skip_lookup {
            None
        } else {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), extension::NAMESPACE);
            let cm = api
                .get(extension::CONFIGMAP)
                .await
                .map_err(|source| Error::Lookup { source })?;
            Some(cm.data.unwrap_or_default())
        };
        let settings = options.overrides.resolve(data.as_ref())?.build()?;
        let handshake = Arc::new(DynamicVerifier::new(settings.any_ca.clone()));
        Ok(Arc::new(Auth {
            client,
            options,
            settings: ArcSwap::from_pointee(settings),
            handshake,
            tokens: TtlCache::new(),
            decisions: TtlCache::new(),
            requests: TtlCache::new(),
        }))
    }

    /// The client-certificate verifier for the TLS server (follows settings changes).
    pub fn tls_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        self.handshake.clone()
    }

    fn apply(&self, data: Option<&BTreeMap<String, String>>) {
        match self
            .options
            .overrides
            .resolve(data)
            .map_err(Error::from)
            .and_then(|s| Ok(s.build()?))
        {
            Ok(s) => {
                self.handshake.set(s.any_ca.clone());
                self.settings.store(Arc::new(s));
                info!(
                    "authentication settings updated from {}/{}",
                    extension::NAMESPACE,
                    extension::CONFIGMAP
                );
            }
            Err(e) => {
                warn!(error = %e, "ignoring invalid authentication settings; keeping the previous ones")
            }
        }
    }

    /// Keeps the settings current with the ConfigMap until dropped.
    pub async fn watch_configmap(self: Arc<Self>) {
        if self.options.skip_lookup {
            return;
        }
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), extension::NAMESPACE);
        let cfg =
            watcher::Config::default().fields(&format!("metadata.name={}", extension::CONFIGMAP));
        let mut stream = watcher(api, cfg)
            .default_backoff()
            .applied_objects()
            .boxed();
        let mut last = None;
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(cm) => {
                    let data = cm.data.unwrap_or_default();
                    if last.as_ref() != Some(&data) {
                        if last.is_some() {
                            self.apply(Some(&data));
                        }
                        last = Some(data);
                    }
                }
                Err(e) => debug!(error = %e, "authentication ConfigMap watch error; retrying"),
            }
        }
    }

    /// Authenticates and authorizes one request.
    ///
    /// Whole answers are cached per (who, method, path, query) until the
    /// earliest expiry of the TokenReview and SubjectAccessReview answers they
    /// were made of, so a request the caches can answer costs one hash lookup.
    pub async fn check(&self, req: Request<'_>) -> Result<(), ApiError> {
        let Request {
            peer,
            method,
            uri,
            headers,
            ..
        } = req;
        let settings = self.settings.load();
        let identified = peer.map(|p| p.identity(&settings));
        let identity = identified.as_deref().map_or(&PeerIdentity::None, |i| i);
        let mut key = Vec::with_capacity(512);
        let principal = principal(identity, headers, &settings, &mut key)?;
        for part in [method.as_str(), uri.path(), uri.query().unwrap_or("")] {
            key.extend_from_slice(&(part.len() as u32).to_le_bytes());
            key.extend_from_slice(part.as_bytes());
        }
        if let Some(answer) = self.requests.get(&key) {
            return answer;
        }
        // Boxed: the slow path's future (Kubernetes API calls) is large, and the
        // cached path should not pay for building it.
        Box::pin(self.resolve(principal, key, &settings, req)).await
    }

    /// Authenticates and authorizes with the Kubernetes API (through the
    /// review caches) and caches the whole answer under `key`.
    async fn resolve(
        &self,
        principal: Principal<'_>,
        key: Vec<u8>,
        settings: &Settings,
        req: Request<'_>,
    ) -> Result<(), ApiError> {
        let (mut user, user_until) = match principal {
            Principal::Proxy => (
                authn::user_from_headers(req.headers, settings).ok_or(ApiError::Unauthorized)?,
                None,
            ),
            Principal::Cert(u) => (u.clone(), None),
            Principal::Token(t) => {
                let (u, until) = self.token_review(t).await?;
                (u, Some(until))
            }
        };
        // authenticatorfactory.DelegatingAuthenticatorConfig.New wraps the
        // whole chain in group.NewAuthenticatedGroupAdder.
        authn::add_authenticated_group(&mut user);
        let info = RequestInfo::new(req.method.as_str(), req.uri.path(), req.uri.query())
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        // RequestInfo keeps the raw selector of list and watch requests only;
        // one that does not parse is left out, as upstream's webhook does.
        let selector = if info.label_selector.is_empty() {
            None
        } else {
            req.label_selector.get().ok()
        };
        let (answer, decision_until) = self.authorize(&user, &info, selector).await?;
        let until = user_until.map_or(decision_until, |u| u.min(decision_until));
        self.requests.insert_until(key, answer.clone(), until);
        answer
    }

    async fn token_review(&self, token: &str) -> Result<(UserInfo, Instant), ApiError> {
        let key: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .unwrap_or([0; 32]);
        if let Some((cached, until)) = self.tokens.get_entry(&key) {
            return cached.map(|u| (u, until)).ok_or(ApiError::Unauthorized);
        }
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_string(),
                audiences: None,
            },
            ..TokenReview::default()
        };
        let status = self
            .create("TokenReview", &review)
            .await?
            .status
            .unwrap_or_default();
        let user = match (status.authenticated, status.user) {
            (Some(true), Some(u)) => Some(UserInfo {
                username: u.username.unwrap_or_default(),
                uid: u.uid.unwrap_or_default(),
                groups: u.groups.unwrap_or_default(),
                extra: u.extra.unwrap_or_default(),
            }),
            _ => None,
        };
        let until = self
            .tokens
            .insert(key, user.clone(), self.options.token_cache_ttl);
        user.map(|u| (u, until)).ok_or(ApiError::Unauthorized)
    }

    /// A SubjectAccessReview for the request's attributes, cached: the answer
    /// (allowed, or 403) and until when it may be reused; an error is a 503.
    async fn authorize(
        &self,
        user: &UserInfo,
        info: &RequestInfo,
        selector: Option<&Arc<Selector>>,
    ) -> Result<(Result<(), ApiError>, Instant), ApiError> {
        if user
            .groups
            .iter()
            .any(|g| self.options.always_allow_groups.contains(g))
        {
            return Ok((Ok(()), Instant::now() + self.options.allow_cache_ttl));
        }
        let spec = sar_spec(user, info, selector.map(Arc::as_ref));
        let key = serde_json::to_string(&spec).unwrap_or_default();
        let (decision, until) = match self.decisions.get_entry(&key) {
            Some(d) => d,
            None => {
                let review = SubjectAccessReview {
                    spec,
                    ..SubjectAccessReview::default()
                };
                let status = self
                    .create("SubjectAccessReview", &review)
                    .await?
                    .status
                    .unwrap_or_default();
                let d = Decision {
                    allowed: status.allowed && !status.denied.unwrap_or(false),
                    reason: status.reason.unwrap_or_default(),
                };
                let ttl = if d.allowed {
                    self.options.allow_cache_ttl
                } else {
                    self.options.deny_cache_ttl
                };
                let until = self.decisions.insert(key, d.clone(), ttl);
                (d, until)
            }
        };
        let answer = if decision.allowed {
            Ok(())
        } else {
            Err(forbidden(user, info, &decision.reason))
        };
        Ok((answer, until))
    }

    /// POSTs a review object (TokenReview, SubjectAccessReview) with the timeout;
    /// any failure is a 503 (fail closed).
    async fn create<K>(&self, what: &str, review: &K) -> Result<K, ApiError>
    where
        K: kube::Resource<DynamicType = ()>
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::all(self.client.clone());
        match tokio::time::timeout(
            self.options.timeout,
            api.create(&PostParams::default(), review),
        )
        .await
        {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(unavailable(what, &e.to_string())),
            Err(_) => Err(unavailable(what, "timed out")),
        }
    }
}

/// Who a request claims to be, before anything is asked of the Kubernetes API.
enum Principal<'a> {
    /// A verified front proxy asserting a user in headers.
    Proxy,
    /// A client certificate from the client CA.
    Cert(&'a UserInfo),
    /// A bearer token.
    Token(&'a str),
}

/// The authentication chain's first step (see [`authn`]): which authenticator
/// applies, appending what identifies the principal to `key`.
fn principal<'a>(
    identity: &'a PeerIdentity,
    headers: &'a HeaderMap,
    settings: &Settings,
    key: &mut Vec<u8>,
) -> Result<Principal<'a>, ApiError> {
    let cert_user = match identity {
        PeerIdentity::FrontProxy(fallback) => {
            key.push(b'P');
            if authn::requestheader_key(headers, settings, key) {
                return Ok(Principal::Proxy);
            }
            key.clear();
            // No username header: the requestheader step has no opinion and
            // the x509 step may still authenticate the same certificate.
            fallback.as_ref()
        }
        _ if authn::has_requestheaders(headers, settings) => {
            debug!("requestheader headers without a verified front-proxy certificate: refused");
            return Err(ApiError::Unauthorized);
        }
        PeerIdentity::User(u) => Some(u),
        PeerIdentity::None | PeerIdentity::FrontProxyNotAllowed(_) => None,
    };
    if let Some(u) = cert_user {
        key.push(b'U');
        push_user(key, u);
        return Ok(Principal::Cert(u));
    }
    if let Some(token) = bearer(headers) {
        key.push(b'T');
        key.extend_from_slice(
            ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref(),
        );
        return Ok(Principal::Token(token));
    }
    Err(ApiError::Unauthorized)
}

/// Appends every field of `u`, length-prefixed, to `key`.
fn push_user(key: &mut Vec<u8>, u: &UserInfo) {
    let mut push = |part: &str| {
        key.extend_from_slice(&(part.len() as u32).to_le_bytes());
        key.extend_from_slice(part.as_bytes());
    };
    push(&u.username);
    push(&u.uid);
    for g in &u.groups {
        push(g);
    }
    for (k, values) in &u.extra {
        push(k);
        for v in values {
            push(v);
        }
    }
}

fn unavailable(what: &str, detail: &str) -> ApiError {
    warn!(
        call = what,
        error = detail,
        "Kubernetes API call failed; refusing the request"
    );
    ApiError::Unavailable(format!(
        "cannot reach the Kubernetes API for {what}: {detail}; refusing rather than allowing"
    ))
}

/// The bearer token of `Authorization: Bearer <token>`, read as
/// `bearertoken.Authenticator.AuthenticateRequest`
/// (k8s.io/apiserver/pkg/authentication/request/bearertoken/bearertoken.go)
/// reads it: `TrimSpace`, `SplitN(auth, " ", 3)`, the scheme compared
/// lowercased, the token is the second part and an empty one is no token
/// (so `Bearer  x`, two spaces, has none and `Bearer a b` is `a`).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    // A token that is not UTF-8 could never pass a TokenReview either.
    let v = std::str::from_utf8(headers.get(header::AUTHORIZATION)?.as_bytes()).ok()?;
    let mut parts = v.trim().splitn(3, ' ');
    let scheme = parts.next()?;
    let token = parts.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests;
