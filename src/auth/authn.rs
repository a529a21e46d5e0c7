//! Who is asking: the delegated authentication chain of `k8s.io/apiserver`
//! (`pkg/authentication/authenticatorfactory/delegating.go`), in its order:
//!
//! 1. **request headers** (`pkg/authentication/request/headerrequest`): the
//!    connection's client certificate chains to the requestheader CA and its
//!    CN is in `requestheader-allowed-names` (any CN when empty); then the
//!    user is the first non-empty username header, groups are every value of
//!    the group headers, extras come from `<prefix><key>` headers (key
//!    lowercased and percent-unescaped, as `unescapeExtraKey` does);
//! 2. **x509** (`pkg/authentication/request/x509`): the certificate chains to
//!    the client CA: user = CN, groups = O;
//! 3. **bearer token**: a TokenReview (see [`super::Auth`]).
//!
//! Requestheader headers sent without a verified front-proxy certificate are
//! never trusted and the request is refused (stricter than upstream, which
//! ignores them and goes on).
//!
//! The settings come from the `kube-system/extension-apiserver-authentication`
//! ConfigMap, overridden field by field by flags, and can change at runtime
//! (see [`super::extension`]); they are swapped atomically.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::http::HeaderMap;
use rustls::DistinguishedName;
use rustls::RootCertStore;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use serde::Serialize;

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
        })
    }
}

/// What a connection's client certificate proves, worked out once per connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerIdentity {
    /// No certificate, or one that chains to neither CA.
    None,
    /// A front proxy allowed to assert identities with headers.
    FrontProxy,
    /// Chains to the requestheader CA but the CN is not allowed.
    FrontProxyNotAllowed(String),
    /// A user certificate from the client CA.
    User(UserInfo),
}

/// The peer certificates of one TLS connection plus their lazily computed identity.
#[derive(Debug, Default)]
pub struct PeerCerts {
    /// End entity first, then intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    identity: OnceLock<PeerIdentity>,
}

impl PeerCerts {
    /// Wraps the certificates the TLS layer reported.
    pub fn new(chain: Vec<CertificateDer<'static>>) -> PeerCerts {
        PeerCerts {
            chain,
            identity: OnceLock::new(),
        }
    }

    /// The identity under `settings`, computed on first use and kept for the connection.
    pub fn identity(&self, settings: &Settings) -> &PeerIdentity {
        self.identity
            .get_or_init(|| classify(&self.chain, settings))
    }
}

fn chains_to(v: &Option<Arc<dyn ClientCertVerifier>>, chain: &[CertificateDer<'static>]) -> bool {
    let (Some(v), Some((end, rest))) = (v, chain.split_first()) else {
        return false;
    };
    v.verify_client_cert(end, rest, UnixTime::now()).is_ok()
}

/// Subject CN and O values of a DER certificate.
fn subject(der: &[u8]) -> Option<(String, Vec<String>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let cn = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let orgs = subject
        .iter_organization()
        .filter_map(|a| a.as_str().ok().map(str::to_string))
        .collect();
    Some((cn, orgs))
}

fn classify(chain: &[CertificateDer<'static>], s: &Settings) -> PeerIdentity {
    let Some(end) = chain.first() else {
        return PeerIdentity::None;
    };
    if chains_to(&s.requestheader_ca, chain) {
        let cn = subject(end).map(|(cn, _)| cn).unwrap_or_default();
        // headerrequest.NewDynamicVerifyOptionsSecure: empty allowed names = any CN.
        if s.allowed_names.is_empty() || s.allowed_names.contains(&cn) {
            return PeerIdentity::FrontProxy;
        }
        // Not a front proxy; it may still be a user from the client CA below.
        if !chains_to(&s.client_ca, chain) {
            return PeerIdentity::FrontProxyNotAllowed(cn);
        }
    }
    if chains_to(&s.client_ca, chain)
        && let Some((cn, orgs)) = subject(end)
        && !cn.is_empty()
    {
        return PeerIdentity::User(UserInfo {
            username: cn,
            groups: orgs,
            ..UserInfo::default()
        });
    }
    PeerIdentity::None
}

/// Whether the request carries any requestheader header (username, UID, group or extra).
pub fn has_requestheaders(headers: &HeaderMap, s: &Settings) -> bool {
    s.username_headers
        .iter()
        .chain(&s.uid_headers)
        .chain(&s.group_headers)
        .any(|h| headers.contains_key(h.as_str()))
        || headers.keys().any(|k| {
            s.extra_prefixes.iter().any(|p| {
                k.as_str().len() > p.len() && k.as_str()[..p.len()].eq_ignore_ascii_case(p)
            })
        })
}

/// Appends every requestheader header (name and value, length-prefixed, in
/// request order) to `key`, and says whether a non-empty username header is
/// among them: the part of a request that decides who a front proxy asserts.
pub fn requestheader_key(headers: &HeaderMap, s: &Settings, key: &mut Vec<u8>) -> bool {
    let mut has_user = false;
    for (name, value) in headers {
        let n = name.as_str();
        let is_user = s.username_headers.iter().any(|h| h == n);
        let relevant = is_user
            || s.uid_headers.iter().chain(&s.group_headers).any(|h| h == n)
            || s.extra_prefixes
                .iter()
                .any(|p| n.len() > p.len() && n[..p.len()].eq_ignore_ascii_case(p));
        if relevant {
            has_user |= is_user && !value.is_empty();
            for part in [n.as_bytes(), value.as_bytes()] {
                key.extend_from_slice(&(part.len() as u32).to_le_bytes());
                key.extend_from_slice(part);
            }
        }
    }
    has_user
}

/// The user asserted by a verified front proxy's headers, if a username header is set.
pub fn user_from_headers(headers: &HeaderMap, s: &Settings) -> Option<UserInfo> {
    let first = |names: &[String]| {
        names
            .iter()
            .filter_map(|h| headers.get(h.as_str()))
            .filter_map(|v| v.to_str().ok())
            .find(|v| !v.is_empty())
            .map(str::to_string)
    };
    let username = first(&s.username_headers)?;
    let uid = first(&s.uid_headers).unwrap_or_default();
    let groups = s
        .group_headers
        .iter()
        .flat_map(|h| headers.get_all(h.as_str()).iter())
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        for p in &s.extra_prefixes {
            if n.len() > p.len() && n[..p.len()].eq_ignore_ascii_case(p) {
                let key = percent_unescape(&n[p.len()..].to_ascii_lowercase());
                if let Ok(v) = value.to_str() {
                    extra.entry(key).or_default().push(v.to_string());
                }
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

/// `url.PathUnescape`, leaving malformed escapes as they are.
fn percent_unescape(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A client-certificate verifier whose CAs can be swapped while the server runs.
#[derive(Debug)]
pub struct DynamicVerifier {
    current: arc_swap::ArcSwapOption<Arc<dyn ClientCertVerifier>>,
}

impl DynamicVerifier {
    /// Starts with `v` (None: client certificates are not asked for).
    pub fn new(v: Option<Arc<dyn ClientCertVerifier>>) -> DynamicVerifier {
        DynamicVerifier {
            current: arc_swap::ArcSwapOption::new(v.map(Arc::new)),
        }
    }

    /// Replaces the CAs for new handshakes.
    pub fn set(&self, v: Option<Arc<dyn ClientCertVerifier>>) {
        self.current.store(v.map(Arc::new));
    }
}

impl ClientCertVerifier for DynamicVerifier {
    fn offer_client_auth(&self) -> bool {
        self.current.load().is_some()
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Hints are optional; the aggregator picks its proxy certificate regardless.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match &*self.current.load() {
            Some(v) => v.verify_client_cert(end_entity, intermediates, now),
            None => Err(rustls::Error::General(
                "client certificates are not accepted".into(),
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn settings() -> Settings {
        Settings {
            username_headers: vec!["x-remote-user".into()],
            uid_headers: vec!["x-remote-uid".into()],
            group_headers: vec!["x-remote-group".into()],
            extra_prefixes: vec!["x-remote-extra-".into()],
            ..Settings::default()
        }
    }

    #[test]
    fn headers_to_user_like_headerrequest() {
        let mut h = HeaderMap::new();
        h.append("x-remote-user", HeaderValue::from_static("alice"));
        h.append("x-remote-group", HeaderValue::from_static("devs"));
        h.append(
            "x-remote-group",
            HeaderValue::from_static("system:authenticated"),
        );
        h.append("x-remote-extra-scopes", HeaderValue::from_static("a"));
        h.append("x-remote-extra-scopes", HeaderValue::from_static("b"));
        h.append(
            "x-remote-extra-example.com%2fteam",
            HeaderValue::from_static("ml"),
        );
        let u = user_from_headers(&h, &settings()).unwrap();
        assert_eq!(u.username, "alice");
        assert_eq!(u.groups, ["devs", "system:authenticated"]);
        assert_eq!(u.extra["scopes"], ["a", "b"]);
        assert_eq!(u.extra["example.com/team"], ["ml"]);
        assert!(has_requestheaders(&h, &settings()));

        let mut only_group = HeaderMap::new();
        only_group.append("x-remote-group", HeaderValue::from_static("g"));
        assert!(user_from_headers(&only_group, &settings()).is_none());
        assert!(has_requestheaders(&only_group, &settings()));
        assert!(!has_requestheaders(&HeaderMap::new(), &settings()));
    }

    #[test]
    fn no_certificate_is_no_identity() {
        let p = PeerCerts::new(Vec::new());
        assert_eq!(p.identity(&settings()), &PeerIdentity::None);
    }
}
