//! The x509 step of authentication and what a connection's client
//! certificate proves: `x509.CommonNameUserConversion`
//! (`k8s.io/apiserver/pkg/authentication/request/x509/x509.go`) for users of
//! the client CA, `x509.Verifier` for the front proxy of the requestheader CA,
//! and [`DynamicVerifier`], the TLS handshake's verifier whose CAs follow the
//! settings.
//!
//! Upstream verifies the certificate on every request; here the verdict is
//! kept per connection ([`PeerCerts`]) while the settings and the
//! certificates hold.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use rustls::DistinguishedName;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tracing::debug;
use x509_parser::asn1_rs::Tag;
use x509_parser::oid_registry::{OID_X509_COMMON_NAME, OID_X509_ORGANIZATION_NAME};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use super::{Settings, UserInfo};

/// `user.CredentialIDKey`: the extra naming the credential a user presented.
pub const CREDENTIAL_ID_KEY: &str = "authentication.kubernetes.io/credential-id";
/// The subject attribute holding a certificate user's UID (upstream
/// `asn1util.X509UID`, read under the `AllowParsingUserUIDFromCertAuth`
/// feature gate, beta and on by default since Kubernetes 1.34).
pub const UID_OID: &str = "1.3.6.1.4.1.57683.2";

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
    use super::super::Source;
    use super::*;
    use x509_parser::prelude::FromDer;

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
        assert_eq!(**p.identity(&Settings::default()), PeerIdentity::None);
    }
}
