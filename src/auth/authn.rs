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
//!    `authentication.kubernetes.io/credential-id: X509SHA256=<hex>`;
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
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use axum::http::{HeaderMap, HeaderValue};
use rustls::DistinguishedName;
use rustls::RootCertStore;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use serde::Serialize;
use tracing::debug;
use x509_parser::asn1_rs::Tag;
use x509_parser::oid_registry::{OID_X509_COMMON_NAME, OID_X509_ORGANIZATION_NAME};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// `user.Anonymous`.
pub const ANONYMOUS: &str = "system:anonymous";
/// `user.AllAuthenticated`.
pub const ALL_AUTHENTICATED: &str = "system:authenticated";
/// `user.AllUnauthenticated`.
pub const ALL_UNAUTHENTICATED: &str = "system:unauthenticated";
/// `user.CredentialIDKey`: the extra naming the credential a user presented.
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";
/// The subject attribute holding a certificate user's UID (upstream
/// `asn1util.X509UID`, read under the `AllowParsingUserUIDFromCertAuth`
/// feature gate, beta and on by default since Kubernetes 1.34).
pub const UID_OID: &str = "1.3.6.1.4.1.57683.2";

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

/// Why a client certificate chaining to the client CA names no user: the
/// errors of upstream `x509.CommonNameUserConversion` (`parseUIDFromCert`)
/// and of Go's certificate parser. Upstream the x509 step then fails and the
/// chain goes on to the bearer token; so does ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertUserError {
    /// The certificate is not parsable DER.
    #[error("x509: cannot parse the certificate: {0}")]
    Parse(String),
    /// A subject attribute value is not one of the string types Go's
    /// `crypto/x509` accepts (Go refuses the whole certificate).
    #[error("x509: invalid RDNSequence: invalid attribute value")]
    AttributeNotString,
    /// More than one UID attribute.
    #[error("expected 1 UID, but found multiple: {0:?}")]
    MultipleUids(Vec<String>),
    /// An empty UID attribute.
    #[error("UID cannot be an empty string")]
    EmptyUid,
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

/// What a connection's client certificate proves under one [`Settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerIdentity {
    /// No certificate, or one that chains to neither CA.
    None,
    /// A front proxy allowed to assert identities with headers; with the user
    /// its certificate names if it also chains to the client CA (upstream:
    /// without a username header the requestheader step has no opinion and
    /// the x509 step authenticates the certificate itself).
    FrontProxy(Option<UserInfo>),
    /// Chains to the requestheader CA but the CN is not allowed (and it names
    /// no client-CA user).
    FrontProxyNotAllowed(String),
    /// A user certificate from the client CA.
    User(UserInfo),
}

/// A [`PeerIdentity`] and the conditions under which it holds.
#[derive(Debug)]
pub struct Identified {
    /// [`Settings::generation`] it was worked out under.
    generation: u64,
    /// Unix second after which it must be worked out again: the earliest
    /// `notAfter` of the presented certificates (`u64::MAX`: never).
    until: u64,
    identity: PeerIdentity,
}

impl Deref for Identified {
    type Target = PeerIdentity;

    fn deref(&self) -> &PeerIdentity {
        &self.identity
    }
}

/// The peer certificates of one TLS connection plus what they prove.
#[derive(Debug, Default)]
pub struct PeerCerts {
    /// End entity first, then intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    identified: ArcSwapOption<Identified>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl PeerCerts {
    /// Wraps the certificates the TLS layer reported.
    pub fn new(chain: Vec<CertificateDer<'static>>) -> PeerCerts {
        PeerCerts {
            chain,
            identified: ArcSwapOption::empty(),
        }
    }

    /// The identity under `settings`.
    ///
    /// Upstream (`x509.Authenticator`, `x509.Verifier`) verifies the
    /// certificate on every request, with the CAs and allowed names in force
    /// and the current time. Here the verdict is kept for the connection
    /// while `settings.generation` is the one it was made under and no
    /// presented certificate has expired, so the usual request costs a
    /// generation compare and a clock read.
    pub fn identity(&self, settings: &Settings) -> Arc<Identified> {
        let now = unix_now();
        if let Some(i) = self.identified.load_full()
            && i.generation == settings.generation
            && now <= i.until
        {
            return i;
        }
        let (identity, until) = classify(&self.chain, settings, now);
        let i = Arc::new(Identified {
            generation: settings.generation,
            until,
            identity,
        });
        self.identified.store(Some(i.clone()));
        i
    }
}

fn chains_to(v: &Option<Arc<dyn ClientCertVerifier>>, chain: &[CertificateDer<'static>]) -> bool {
    let (Some(v), Some((end, rest))) = (v, chain.split_first()) else {
        return false;
    };
    v.verify_client_cert(end, rest, UnixTime::now()).is_ok()
}

/// A subject attribute value as Go's `crypto/x509` reads it
/// (`parseASN1String`); None for a type Go refuses.
fn attribute_string(a: &AttributeTypeAndValue<'_>) -> Option<String> {
    let v = a.attr_value();
    let data = v.data;
    match v.header.tag() {
        Tag::Utf8String => std::str::from_utf8(data).ok().map(str::to_string),
        // Go keeps these bytes as they are; JSON then replaces invalid UTF-8.
        Tag::PrintableString | Tag::Ia5String | Tag::NumericString | Tag::T61String => {
            Some(String::from_utf8_lossy(data).into_owned())
        }
        Tag::BmpString => {
            // parseBMPString: even length, a trailing NUL pair dropped, UTF-16BE.
            if data.len() % 2 != 0 {
                return None;
            }
            let data = match data {
                [rest @ .., 0, 0] => rest,
                d => d,
            };
            let units = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            Some(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// `x509.CommonNameUserConversion` (k8s.io/apiserver/pkg/authentication/request/x509/x509.go)
/// for a certificate with subject `name` and DER `der`: no CN is no opinion
/// (`Ok(None)`); otherwise user = CN, groups = O, UID from [`UID_OID`]
/// (`parseUIDFromCert`), and the credential-id extra.
pub fn cert_user(name: &X509Name<'_>, der: &[u8]) -> Result<Option<UserInfo>, CertUserError> {
    let (cn, orgs, uids) = subject(name)?;
    if cn.is_empty() {
        return Ok(None);
    }
    let uid = match uids.as_slice() {
        [] => String::new(),
        [uid] if uid.is_empty() => return Err(CertUserError::EmptyUid),
        [uid] => uid.clone(),
        _ => return Err(CertUserError::MultipleUids(uids)),
    };
    let fingerprint = ring::digest::digest(&ring::digest::SHA256, der);
    let mut id = String::with_capacity(11 + 64);
    id.push_str("X509SHA256=");
    for b in fingerprint.as_ref() {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    Ok(Some(UserInfo {
        username: cn,
        uid,
        groups: orgs,
        extra: BTreeMap::from([(CREDENTIAL_ID_KEY.to_string(), vec![id])]),
    }))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The subject's CN, O values and UID values, as Go's `pkix.Name` holds
/// them: `CommonName` is the *last* CN attribute (`FillFromRDNSequence`
/// overwrites), `Organization` every O.
fn subject(name: &X509Name<'_>) -> Result<(String, Vec<String>, Vec<String>), CertUserError> {
    let (mut cn, mut orgs, mut uids) = (String::new(), Vec::new(), Vec::new());
    for a in name.iter_attributes() {
        let value = attribute_string(a).ok_or(CertUserError::AttributeNotString)?;
        let oid = a.attr_type();
        if *oid == OID_X509_COMMON_NAME {
            cn = value;
        } else if *oid == OID_X509_ORGANIZATION_NAME {
            orgs.push(value);
        } else if oid.to_id_string() == UID_OID {
            uids.push(value);
        }
    }
    Ok((cn, orgs, uids))
}

/// What `chain` proves under `s` at `now`, and until when (see [`Identified`]).
fn classify(chain: &[CertificateDer<'static>], s: &Settings, now: u64) -> (PeerIdentity, u64) {
    let Some(end) = chain.first() else {
        return (PeerIdentity::None, u64::MAX);
    };
    let not_after = chain
        .iter()
        .filter_map(|c| x509_parser::parse_x509_certificate(c).ok())
        .map(|(_, c)| u64::try_from(c.validity().not_after.timestamp()).unwrap_or(0))
        .min()
        .unwrap_or(0);
    // Expired: nothing will change that but new settings (the verifiers refuse it).
    let until = if now > not_after { u64::MAX } else { not_after };
    let parsed = x509_parser::parse_x509_certificate(end)
        .map_err(|e| CertUserError::Parse(e.to_string()))
        .and_then(|(_, cert)| Ok((subject(cert.subject())?.0, cert_user(cert.subject(), end))));
    let (cn, user) = match parsed {
        Ok(p) => p,
        Err(e) => {
            debug!(error = %e, "client certificate not usable");
            return (PeerIdentity::None, until);
        }
    };
    let user = if chains_to(&s.client_ca, chain) {
        user.unwrap_or_else(|e| {
            debug!(error = %e, "client certificate names no user");
            None
        })
    } else {
        None
    };
    if chains_to(&s.requestheader_ca, chain) {
        // x509.Verifier.verifySubject: empty allowed names = any CN.
        if s.allowed_names.is_empty() || s.allowed_names.contains(&cn) {
            return (PeerIdentity::FrontProxy(user), until);
        }
        if user.is_none() {
            return (PeerIdentity::FrontProxyNotAllowed(cn), until);
        }
    }
    let identity = user.map_or(PeerIdentity::None, PeerIdentity::User);
    (identity, until)
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
    use x509_parser::prelude::FromDer;

    fn settings() -> Settings {
        Settings {
            username_headers: vec!["x-remote-user".into()],
            uid_headers: vec!["x-remote-uid".into()],
            group_headers: vec!["x-remote-group".into()],
            extra_prefixes: vec!["x-remote-extra-".into()],
            ..Settings::default()
        }
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn headers_to_user_like_headerrequest() {
        let h = headers(&[
            ("x-remote-user", b"alice"),
            ("x-remote-group", b"devs"),
            ("x-remote-group", b"system:authenticated"),
            ("x-remote-extra-scopes", b"a"),
            ("x-remote-extra-scopes", b"b"),
            ("x-remote-extra-example.com%2fteam", b"ml"),
        ]);
        let u = user_from_headers(&h, &settings()).unwrap();
        assert_eq!(u.username, "alice");
        assert_eq!(u.groups, ["devs", "system:authenticated"]);
        assert_eq!(u.extra["scopes"], ["a", "b"]);
        assert_eq!(u.extra["example.com/team"], ["ml"]);
        assert!(has_requestheaders(&h, &settings()));

        let only_group = headers(&[("x-remote-group", b"g")]);
        assert!(user_from_headers(&only_group, &settings()).is_none());
        assert!(has_requestheaders(&only_group, &settings()));
        assert!(!has_requestheaders(&HeaderMap::new(), &settings()));
    }

    /// Cases of upstream `requestheader_test.go` `TestRequestHeader`.
    #[test]
    fn upstream_request_header_cases() {
        let s = |names: &[&str], groups: &[&str], prefixes: &[&str]| Settings {
            username_headers: names.iter().map(|h| h.to_ascii_lowercase()).collect(),
            group_headers: groups.iter().map(|h| h.to_ascii_lowercase()).collect(),
            extra_prefixes: prefixes.iter().map(|h| h.to_ascii_lowercase()).collect(),
            ..Settings::default()
        };
        // "user exact match": no header is exactly the username header.
        let exact = s(&["X-Remote-User"], &[], &[]);
        let h = headers(&[
            ("Prefixed-X-Remote-User-With-Suffix", b"Bob"),
            ("X-Remote-User-With-Suffix", b"Bob"),
        ]);
        assert!(user_from_headers(&h, &exact).is_none());
        assert!(!has_username(&h, &exact));
        // "user first match": a header whose first value is empty is skipped.
        let first = s(
            &[
                "X-Remote-User",
                "A-Second-X-Remote-User",
                "Another-X-Remote-User",
            ],
            &[],
            &[],
        );
        let h = headers(&[
            ("X-Remote-User", b""),
            ("X-Remote-User", b"First header, second value"),
            ("A-Second-X-Remote-User", b"Second header, first value"),
            ("A-Second-X-Remote-User", b"Second header, second value"),
            ("Another-X-Remote-User", b"Third header, first value"),
        ]);
        let u = user_from_headers(&h, &first).unwrap();
        assert_eq!(u.username, "Second header, first value");
        assert!(u.groups.is_empty() && u.extra.is_empty());
        // "groups all matches".
        let groups = s(
            &["X-Remote-User"],
            &["X-Remote-Group-1", "X-Remote-Group-2"],
            &[],
        );
        let h = headers(&[
            ("X-Remote-User", b"Bob"),
            ("X-Remote-Group-2", b"two-a"),
            ("X-Remote-Group-1", b"one-a"),
            ("X-Remote-Group-1", b"one-b"),
            ("X-Remote-Group-2", b"two-b"),
        ]);
        let u = user_from_headers(&h, &groups).unwrap();
        assert_eq!(u.groups, ["one-a", "one-b", "two-a", "two-b"]);
        // "extra prefix matches case-insensitive": prefixes first, a header
        // equal to a prefix is the key "".
        let extra = s(
            &["X-Remote-User"],
            &["X-Remote-Group-1", "X-Remote-Group-2"],
            &["X-Remote-Extra-1-", "X-Remote-Extra-2-"],
        );
        let h = headers(&[
            ("X-Remote-User", b"Bob"),
            ("X-Remote-extra-2-", b"kilo"),
            ("X-Remote-extra-2-", b"lima"),
            ("X-Remote-extra-2-Key1", b"echo"),
            ("X-Remote-extra-2-Key1", b"foxtrot"),
            ("X-Remote-Extra-2-key2", b"golf"),
            ("X-Remote-Extra-2-key2", b"hotel"),
            ("X-Remote-extra-1-key1", b"alfa"),
            ("X-Remote-extra-1-key1", b"bravo"),
            ("X-Remote-Extra-1-Key2", b"charlie"),
            ("X-Remote-Extra-1-Key2", b"delta"),
            ("X-Remote-Extra-1-", b"india"),
            ("X-Remote-Extra-1-", b"juliet"),
        ]);
        let u = user_from_headers(&h, &extra).unwrap();
        let want: BTreeMap<String, Vec<String>> = [
            ("key1", ["alfa", "bravo", "echo", "foxtrot"]),
            ("key2", ["charlie", "delta", "golf", "hotel"]),
            ("", ["india", "juliet", "kilo", "lima"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
        assert_eq!(u.extra, want);
        assert!(has_requestheaders(
            &headers(&[("X-Remote-Extra-1-", b"x")]),
            &extra
        ));
        // "escaped extra keys" (the backslash of upstream's last header name
        // is not a token character, so the http crate refuses it).
        let escaped = s(
            &["X-Remote-User"],
            &["X-Remote-Group"],
            &["X-Remote-Extra-"],
        );
        let h = headers(&[
            ("X-Remote-User", b"Bob"),
            ("X-Remote-Group", b"one-a"),
            ("X-Remote-Group", b"one-b"),
            ("X-Remote-Extra-Alpha", b"alphabetical"),
            ("X-Remote-Extra-Alph4num3r1c", b"alphanumeric"),
            ("X-Remote-Extra-Percent%20encoded", b"percent encoded"),
            (
                "X-Remote-Extra-Almost%zzpercent%xxencoded",
                b"not quite percent encoded",
            ),
            (
                "X-Remote-Extra-Example.com%2fpercent%2520encoded",
                b"url with double percent encoding",
            ),
            (
                "X-Remote-Extra-Example.com%2F%E4%BB%8A%E6%97%A5%E3%81%AF",
                b"url with unicode",
            ),
            (
                "X-Remote-Extra-Abc123!#$+.-_*^`~|'",
                b"header key legal characters",
            ),
        ]);
        let u = user_from_headers(&h, &escaped).unwrap();
        assert_eq!(u.groups, ["one-a", "one-b"]);
        let want: BTreeMap<String, Vec<String>> = [
            ("alpha", "alphabetical"),
            ("alph4num3r1c", "alphanumeric"),
            ("percent encoded", "percent encoded"),
            ("almost%zzpercent%xxencoded", "not quite percent encoded"),
            (
                "example.com/percent%20encoded",
                "url with double percent encoding",
            ),
            ("example.com/今日は", "url with unicode"),
            ("abc123!#$+.-_*^`~|'", "header key legal characters"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect();
        assert_eq!(u.extra, want);
    }

    #[test]
    fn extra_keys_unescape_only_when_every_escape_is_valid() {
        // url.PathUnescape fails on any bad escape; unescapeExtraKey then keeps the key.
        assert_eq!(unescape_extra_key("a%2fb%zz"), "a%2fb%zz");
        assert_eq!(unescape_extra_key("a%2fb"), "a/b");
        assert_eq!(unescape_extra_key("a%2"), "a%2");
        assert_eq!(unescape_extra_key("100%"), "100%");
        assert_eq!(unescape_extra_key("a+b"), "a+b");
        // Decoded bytes that are not UTF-8 become U+FFFD, as in Go's JSON.
        assert_eq!(unescape_extra_key("%ff"), "\u{fffd}");
    }

    #[test]
    fn non_ascii_header_bytes_are_read_as_utf8() {
        let h = headers(&[
            ("x-remote-user", "José".as_bytes()),
            ("x-remote-uid", "ü-1".as_bytes()),
            ("x-remote-group", "équipe".as_bytes()),
            ("x-remote-extra-team", "données".as_bytes()),
            ("x-remote-extra-raw", b"a\xffb"),
        ]);
        assert!(has_username(&h, &settings()));
        let u = user_from_headers(&h, &settings()).unwrap();
        assert_eq!(u.username, "José");
        assert_eq!(u.uid, "ü-1");
        assert_eq!(u.groups, ["équipe"]);
        assert_eq!(u.extra["team"], ["données"]);
        assert_eq!(u.extra["raw"], ["a\u{fffd}b"]);
    }

    #[test]
    fn username_rule_is_the_same_for_the_key_and_the_user() {
        // An empty first value is no username, whatever follows (h.Get reads the first).
        let h = headers(&[("x-remote-user", b""), ("x-remote-user", b"bob")]);
        let mut key = Vec::new();
        assert!(!requestheader_key(&h, &settings(), &mut key));
        assert!(!has_username(&h, &settings()));
        assert!(user_from_headers(&h, &settings()).is_none());
        assert!(!key.is_empty(), "the headers are still part of the key");
        let h = headers(&[("x-remote-user", b"bob"), ("x-remote-user", b"")]);
        assert!(requestheader_key(&h, &settings(), &mut Vec::new()));
        assert_eq!(user_from_headers(&h, &settings()).unwrap().username, "bob");
    }

    #[test]
    fn empty_group_values_are_skipped() {
        let h = headers(&[
            ("x-remote-user", b"bob"),
            ("x-remote-group", b""),
            ("x-remote-group", b"g"),
            ("x-remote-extra-e", b""),
        ]);
        let u = user_from_headers(&h, &settings()).unwrap();
        assert_eq!(u.groups, ["g"]);
        // allHeaderValues skips empties, newExtra keeps them.
        assert_eq!(u.extra["e"], [""]);
        let h = headers(&[("x-remote-user", b"bob"), ("x-remote-group", b"")]);
        assert!(
            user_from_headers(&h, &settings())
                .unwrap()
                .groups
                .is_empty()
        );
    }

    #[test]
    fn authenticated_group_added_like_upstream() {
        let user = |name: &str, groups: &[&str]| UserInfo {
            username: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..UserInfo::default()
        };
        for (before, after) in [
            (user("bob", &[]), &["system:authenticated"][..]),
            (user("bob", &["devs"]), &["devs", "system:authenticated"]),
            (
                user("bob", &["system:authenticated", "devs"]),
                &["system:authenticated", "devs"],
            ),
            (
                user("bob", &["system:unauthenticated"]),
                &["system:unauthenticated"],
            ),
            (user("system:anonymous", &[]), &[]),
        ] {
            let mut u = before.clone();
            add_authenticated_group(&mut u);
            assert_eq!(u.groups, after, "{before:?}");
        }
    }

    /// DER of a Name with one attribute per RDN: (OID content bytes, value tag, value).
    fn name_der(attrs: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
        fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
            assert!(content.len() < 128);
            let mut v = vec![tag, content.len() as u8];
            v.extend_from_slice(content);
            v
        }
        let rdns: Vec<u8> = attrs
            .iter()
            .flat_map(|(oid, tag, value)| {
                let atv = [tlv(0x06, oid), tlv(*tag, value)].concat();
                tlv(0x31, &tlv(0x30, &atv))
            })
            .collect();
        tlv(0x30, &rdns)
    }

    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const UID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xc2, 0x53, 0x02];
    const UTF8: u8 = 0x0c;
    const PRINTABLE: u8 = 0x13;

    fn user_of(attrs: &[(&[u8], u8, &[u8])]) -> Result<Option<UserInfo>, CertUserError> {
        let der = name_der(attrs);
        let (_, name) = X509Name::from_der(&der).unwrap();
        cert_user(&name, b"abc")
    }

    #[test]
    fn certificate_user_like_common_name_user_conversion() {
        assert_eq!(
            x509_parser::oid_registry::Oid::new(std::borrow::Cow::Borrowed(UID)).to_id_string(),
            UID_OID
        );
        let u = user_of(&[
            (CN, UTF8, b"first"),
            (O, PRINTABLE, b"ml"),
            (O, UTF8, b"ops"),
            (UID, UTF8, b"u-1"),
            (CN, PRINTABLE, b"carol"),
        ])
        .unwrap()
        .unwrap();
        // Go's Subject.CommonName is the last CN.
        assert_eq!(u.username, "carol");
        assert_eq!(u.groups, ["ml", "ops"]);
        assert_eq!(u.uid, "u-1");
        // sha256("abc").
        assert_eq!(
            u.extra,
            BTreeMap::from([(
                CREDENTIAL_ID_KEY.to_string(),
                vec![
                    "X509SHA256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                        .to_string()
                ]
            )])
        );
        // No CN (or an empty one): no opinion.
        assert_eq!(user_of(&[(O, UTF8, b"ml")]), Ok(None));
        assert_eq!(user_of(&[(CN, UTF8, b"")]), Ok(None));
        // parseUIDFromCert's errors.
        assert_eq!(
            user_of(&[(CN, UTF8, b"c"), (UID, UTF8, b"a"), (UID, UTF8, b"b")]),
            Err(CertUserError::MultipleUids(vec!["a".into(), "b".into()]))
        );
        assert_eq!(
            user_of(&[(CN, UTF8, b"c"), (UID, UTF8, b"")]),
            Err(CertUserError::EmptyUid)
        );
        // BMPString (UTF-16BE) is a string to Go; an INTEGER is not.
        let u = user_of(&[(CN, 0x1e, &[0, b'b', 0, b'o', 0, b'b'])])
            .unwrap()
            .unwrap();
        assert_eq!(u.username, "bob");
        assert_eq!(
            user_of(&[(CN, UTF8, b"c"), (O, 0x02, &[1])]),
            Err(CertUserError::AttributeNotString)
        );
    }

    fn pem(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    struct Pki {
        ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    }

    impl Pki {
        fn new(cn: &str) -> Pki {
            let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            p.key_usages = vec![
                rcgen::KeyUsagePurpose::KeyCertSign,
                rcgen::KeyUsagePurpose::DigitalSignature,
            ];
            let key = rcgen::KeyPair::generate().unwrap();
            Pki {
                ca: rcgen::CertifiedIssuer::self_signed(p, key).unwrap(),
            }
        }

        fn client(&self, cn: &str, valid_for: std::time::Duration) -> CertificateDer<'static> {
            let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            p.not_after = rcgen::date_time_ymd(1970, 1, 1)
                + std::time::Duration::from_secs(unix_now())
                + valid_for;
            let key = rcgen::KeyPair::generate().unwrap();
            p.signed_by(&key, &*self.ca).unwrap().der().clone()
        }
    }

    #[test]
    fn identity_is_worked_out_again_when_the_settings_change() {
        let front = Pki::new("front-proxy-ca");
        let source = |allowed: &[&str]| Source {
            requestheader_ca_pem: Some(pem(&front.ca.pem())),
            client_ca_pem: Some(pem(&front.ca.pem())),
            allowed_names: allowed.iter().map(|s| s.to_string()).collect(),
            ..Source::default()
        };
        let valid_for = std::time::Duration::from_secs(3600);
        let cert = front.client("front-proxy-client", valid_for);
        let not_after = x509_parser::parse_x509_certificate(&cert)
            .unwrap()
            .1
            .validity()
            .not_after
            .timestamp() as u64;
        let peer = PeerCerts::new(vec![cert]);
        let first = source(&["front-proxy-client"]).build().unwrap();
        let a = peer.identity(&first);
        // Same CA for both: the front proxy is also a client-CA user (used
        // when it asserts no user in headers).
        let PeerIdentity::FrontProxy(Some(u)) = &**a else {
            panic!("{a:?}")
        };
        assert_eq!(u.username, "front-proxy-client");
        assert_eq!(a.until, not_after);
        // Same settings: the kept verdict, not a new one.
        assert!(Arc::ptr_eq(&a, &peer.identity(&first)));
        // New settings narrowing the allowed names: worked out again.
        let second = source(&["aggregator-v2"]).build().unwrap();
        assert_ne!(first.generation, second.generation);
        let b = peer.identity(&second);
        assert!(matches!(&**b, PeerIdentity::User(u) if u.username == "front-proxy-client"));
        // Without the client CA it proves nothing but a refused proxy name.
        let third = Source {
            client_ca_pem: None,
            ..source(&["aggregator-v2"])
        }
        .build()
        .unwrap();
        assert_eq!(
            **peer.identity(&third),
            PeerIdentity::FrontProxyNotAllowed("front-proxy-client".into())
        );
    }

    #[test]
    fn expired_certificate_proves_nothing() {
        let ca = Pki::new("kubernetes-ca");
        let s = Source {
            client_ca_pem: Some(pem(&ca.ca.pem())),
            ..Source::default()
        }
        .build()
        .unwrap();
        // notAfter one hour ago: refused, and kept so until the settings change.
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "carol");
        p.not_after =
            rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(unix_now() - 3600);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &*ca.ca).unwrap().der().clone();
        let peer = PeerCerts::new(vec![cert]);
        let i = peer.identity(&s);
        assert_eq!(**i, PeerIdentity::None);
        assert_eq!(i.until, u64::MAX);
        // A valid one is a user until its notAfter.
        let peer = PeerCerts::new(vec![ca.client("carol", std::time::Duration::from_secs(60))]);
        let i = peer.identity(&s);
        assert!(matches!(&**i, PeerIdentity::User(u) if u.username == "carol"));
        assert!(i.until >= unix_now() + 50 && i.until <= unix_now() + 61);
    }

    #[test]
    fn no_certificate_is_no_identity() {
        let p = PeerCerts::new(Vec::new());
        assert_eq!(**p.identity(&settings()), PeerIdentity::None);
    }
}
