//! Who is asking: the delegated authentication chain of `k8s.io/apiserver`
//! (`pkg/authentication/authenticatorfactory/delegating.go`, `New`), in its order:
//!
//! 1. **request headers** (`pkg/authentication/request/headerrequest`): the
//!    connection's client certificate chains to the requestheader CA and its
//!    CN is in `requestheader-allowed-names` (any CN when empty); then the
//!    user is the first non-empty first value of the username headers, the
//!    UID likewise, groups are every non-empty value of the group headers,
//!    extras come from `<prefix><key>` headers (key lowercased and
//!    percent-unescaped, as `unescapeExtraKey` does). Without a username the
//!    step has no opinion and the chain goes on;
//! 2. **x509** (`pkg/authentication/request/x509`, `CommonNameUserConversion`):
//!    the certificate chains to the client CA: user = the (last) CN, groups =
//!    O, UID = the subject attribute `1.3.6.1.4.1.57683.2`, extra
//!    `authentication.kubernetes.io/credential-id: X509SHA256=<hex>`
//!    (`authn/x509.rs`, which also decides once per connection what its
//!    certificate proves, and verifies certificates in the TLS handshake);
//! 3. **bearer token**: a TokenReview (see [`super::Auth`]);
//!
//! and then `system:authenticated` is added ([`add_authenticated_group`]).
//!
//! Requestheader headers sent without a verified front-proxy certificate are
//! never trusted and the request is refused (stricter than upstream, which
//! ignores them and goes on). docs/AUTH.md compares every step with upstream.
//!
//! The settings come from the `kube-system/extension-apiserver-authentication`
//! ConfigMap, overridden field by field by flags, and can change at runtime
//! (see [`super::extension`]); they are swapped atomically, and each new set
//! carries a new [`Settings::generation`]. What a connection's certificate
//! proves is kept per connection only while the generation is unchanged and
//! the certificates have not expired (upstream verifies on every request).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, HeaderValue};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use serde::Serialize;

mod x509;
pub use x509::{
    CREDENTIAL_ID_KEY, CertUserError, DynamicVerifier, Identified, PeerCerts, PeerIdentity,
    UID_OID, cert_user,
};

/// `user.Anonymous`.
pub const ANONYMOUS: &str = "system:anonymous";
/// `user.AllAuthenticated`.
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
/// `user.AllUnauthenticated`.
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
/// Source of [`Settings::generation`]; 0 is left to `Settings::default()`.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// An authenticated user, as the SubjectAccessReview spec carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// User name.
    pub username: String,
    /// UID, if the authenticator knows one.
    pub uid: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Extra attributes.
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Why the authentication settings could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A CA bundle held no usable certificate.
    #[error("{what}: no usable CA certificate in the bundle: {detail}")]
    BadCa {
        /// Which bundle.
        what: &'static str,
        /// Parser or rustls message.
        detail: String,
    },
}

/// The requestheader and client-CA settings in force.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Verifies certificates of the front proxy (the aggregator).
    pub requestheader_ca: Option<Arc<dyn ClientCertVerifier>>,
    /// CNs allowed to assert identities; empty = any CN signed by the requestheader CA.
    pub allowed_names: Vec<String>,
    /// Headers holding the user name (first non-empty wins).
    pub username_headers: Vec<String>,
    /// Headers holding the UID.
    pub uid_headers: Vec<String>,
    /// Headers holding groups (every value counts).
    pub group_headers: Vec<String>,
    /// Header name prefixes of extra attributes.
    pub extra_prefixes: Vec<String>,
    /// Verifies client certificates of users.
    pub client_ca: Option<Arc<dyn ClientCertVerifier>>,
    /// Verifies either (for the TLS handshake).
    pub any_ca: Option<Arc<dyn ClientCertVerifier>>,
    /// Different for every set of settings built (0 only for `Settings::default()`):
    /// what a connection's certificate proves is worked out again when it changes.
    pub generation: u64,
}

/// PEM bundles and header settings from which [`Settings`] are built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// PEM of the client CA.
    pub client_ca_pem: Option<Vec<u8>>,
    /// PEM of the requestheader CA.
    pub requestheader_ca_pem: Option<Vec<u8>>,
    /// Allowed front-proxy CNs.
    pub allowed_names: Vec<String>,
    /// Username headers.
    pub username_headers: Vec<String>,
    /// UID headers.
    pub uid_headers: Vec<String>,
    /// Group headers.
    pub group_headers: Vec<String>,
    /// Extra header prefixes.
    pub extra_prefixes: Vec<String>,
}

fn roots(pem: &[u8], what: &'static str) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut &pem[..]) {
        let c = c.map_err(|e| Error::BadCa {
            what,
            detail: e.to_string(),
        })?;
        store.add(c).map_err(|e| Error::BadCa {
            what,
            detail: e.to_string(),
        })?;
    }
    if store.is_empty() {
        return Err(Error::BadCa {
            what,
            detail: "no PEM certificate".into(),
        });
    }
    Ok(store)
}

fn verifier(
    store: RootCertStore,
    what: &'static str,
) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider)
        .allow_unauthenticated()
        .build()
        .map_err(|e| Error::BadCa {
            what,
            detail: e.to_string(),
        })
}

impl Source {
    /// Builds verifiers from the PEM bundles.
    pub fn build(&self) -> Result<Settings, Error> {
        let rh = self
            .requestheader_ca_pem
            .as_deref()
            .map(|p| roots(p, "requestheader-client-ca-file"))
            .transpose()?;
        let client = self
            .client_ca_pem
            .as_deref()
            .map(|p| roots(p, "client-ca-file"))
            .transpose()?;
        let mut both = RootCertStore::empty();
        for s in [&rh, &client].into_iter().flatten() {
            both.roots.extend(s.roots.iter().cloned());
        }
        let any_ca = if both.is_empty() {
            None
        } else {
            Some(verifier(both, "client CAs")?)
        };
        Ok(Settings {
            requestheader_ca: rh
                .map(|s| verifier(s, "requestheader-client-ca-file"))
                .transpose()?,
            client_ca: client.map(|s| verifier(s, "client-ca-file")).transpose()?,
            any_ca,
            allowed_names: self.allowed_names.clone(),
            username_headers: self.username_headers.clone(),
            uid_headers: self.uid_headers.clone(),
            group_headers: self.group_headers.clone(),
            extra_prefixes: self.extra_prefixes.clone(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        })
    }
}

/// `group.AuthenticatedGroupAdder`
/// (k8s.io/apiserver/pkg/authentication/group/authenticated_group_adder.go),
/// which `authenticatorfactory.DelegatingAuthenticatorConfig.New` wraps
/// around the whole chain: unless the user is `system:anonymous` or already
/// in `system:authenticated` or `system:unauthenticated`,
/// `system:authenticated` is appended to the groups.
pub fn add_authenticated_group(user: &mut UserInfo) {
    if user.username == ANONYMOUS
        || user
            .groups
            .iter()
            .any(|g| g == ALL_AUTHENTICATED || g == ALL_UNAUTHENTICATED)
    {
        return;
    }
    user.groups.push(ALL_AUTHENTICATED.to_string());
}

/// `hasPrefixIgnoreCase` (headerrequest/requestheader.go): note `>=`, so a
/// header named exactly like the prefix is the extra with key `""`.
fn has_prefix_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// `headerValue`: the first configured header whose *first* value (`h.Get`)
/// is non-empty.
fn header_value<'h>(headers: &'h HeaderMap, names: &[String]) -> Option<&'h HeaderValue> {
    names
        .iter()
        .filter_map(|h| headers.get(h.as_str()))
        .find(|v| !v.is_empty())
}

/// A header value as Go hands it on: raw bytes (JSON then replaces invalid UTF-8).
fn text(v: &HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

/// Whether the request carries any requestheader header (username, UID, group or extra).
pub fn has_requestheaders(headers: &HeaderMap, s: &Settings) -> bool {
    s.username_headers
        .iter()
        .chain(&s.uid_headers)
        .chain(&s.group_headers)
        .any(|h| headers.contains_key(h.as_str()))
        || headers.keys().any(|k| {
            s.extra_prefixes
                .iter()
                .any(|p| has_prefix_ignore_case(k.as_str(), p))
        })
}

/// Whether a front proxy asserts a user: the rule [`user_from_headers`] reads
/// the username with (upstream `AuthenticateRequest`: `len(name) == 0` is no opinion).
pub fn has_username(headers: &HeaderMap, s: &Settings) -> bool {
    header_value(headers, &s.username_headers).is_some()
}

/// Appends every requestheader header (name and value, length-prefixed, in
/// request order) to `key`, and says whether they assert a user
/// ([`has_username`]): the part of a request that decides who a front proxy asserts.
pub fn requestheader_key(headers: &HeaderMap, s: &Settings, key: &mut Vec<u8>) -> bool {
    for (name, value) in headers {
        let n = name.as_str();
        let relevant = s
            .username_headers
            .iter()
            .chain(&s.uid_headers)
            .chain(&s.group_headers)
            .any(|h| h == n)
            || s.extra_prefixes
                .iter()
                .any(|p| has_prefix_ignore_case(n, p));
        if relevant {
            for part in [n.as_bytes(), value.as_bytes()] {
                key.extend_from_slice(&(part.len() as u32).to_le_bytes());
                key.extend_from_slice(part);
            }
        }
    }
    has_username(headers, s)
}

/// The user asserted by a verified front proxy's headers, if a username header
/// is set (`requestHeaderAuthRequestHandler.AuthenticateRequest`).
pub fn user_from_headers(headers: &HeaderMap, s: &Settings) -> Option<UserInfo> {
    let username = text(header_value(headers, &s.username_headers)?);
    let uid = header_value(headers, &s.uid_headers)
        .map(text)
        .unwrap_or_default();
    // allHeaderValues: every value of every group header, empty ones skipped.
    let groups = s
        .group_headers
        .iter()
        .flat_map(|h| headers.get_all(h.as_str()).iter())
        .filter(|v| !v.is_empty())
        .map(text)
        .collect();
    // newExtra: prefixes first, then headers, so that the values of one key
    // come in the prefixes' order; every value, empty ones too.
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &s.extra_prefixes {
        for (name, value) in headers {
            let n = name.as_str();
            if has_prefix_ignore_case(n, p) {
                let key = unescape_extra_key(&n[p.len()..].to_ascii_lowercase());
                extra.entry(key).or_default().push(text(value));
            }
        }
    }
    Some(UserInfo {
        username,
        uid,
        groups,
        extra,
    })
}

/// `unescapeExtraKey`: `url.PathUnescape`, and the key unchanged if any
/// escape is malformed (`%` not followed by two hex digits).
fn unescape_extra_key(key: &str) -> String {
    let b = key.as_bytes();
    let malformed = b.iter().enumerate().any(|(i, &c)| {
        c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if malformed {
        return key.to_string();
    }
    percent_encoding::percent_decode_str(key)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests;
