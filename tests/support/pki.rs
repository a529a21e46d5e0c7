//! Certificates made in the test with rcgen: CAs, client certificates (with
//! CN and O, for the front proxy and for users; optionally a UID subject
//! attribute and a short life) and serving certificates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A PEM certificate and its PEM private key.
#[derive(Clone)]
pub struct Pair {
    /// Certificate, PEM.
    pub cert: String,
    /// Private key, PEM.
    pub key: String,
}

impl Pair {
    /// Certificate and key concatenated (what reqwest's `Identity::from_pem` takes).
    pub fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes()).unwrap()
    }
}

impl Ca {
    /// A self-signed CA named `cn`.
    pub fn new(cn: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        Ca {
            issuer: CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A client certificate with CN `cn` and O `orgs` (clientAuth usage).
    pub fn client(&self, cn: &str, orgs: &[&str]) -> Pair {
        self.client_with(cn, orgs, None, None)
    }

    /// A client certificate with CN `cn`, O `orgs`, the UID subject attribute
    /// `1.3.6.1.4.1.57683.2` if `uid` is given, and valid for `valid_for` from
    /// now if given (rcgen's far-off default otherwise).
    pub fn client_with(
        &self,
        cn: &str,
        orgs: &[&str],
        uid: Option<&str>,
        valid_for: Option<Duration>,
    ) -> Pair {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        for o in orgs {
            p.distinguished_name.push(DnType::OrganizationName, *o);
        }
        if let Some(uid) = uid {
            p.distinguished_name
                .push(DnType::CustomDnType(vec![1, 3, 6, 1, 4, 1, 57683, 2]), uid);
        }
        if let Some(d) = valid_for {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            p.not_after = rcgen::date_time_ymd(1970, 1, 1) + now + d;
        }
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        self.sign(p)
    }

    /// A serving certificate for `names` (serverAuth usage).
    pub fn server(&self, names: &[&str]) -> Pair {
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.distinguished_name.push(DnType::CommonName, names[0]);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        self.sign(p)
    }

    fn sign(&self, p: CertificateParams) -> Pair {
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &*self.issuer).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}
