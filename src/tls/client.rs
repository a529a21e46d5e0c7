//! Client-side TLS material for connections the adapter makes (Redis with
//! `rediss://`): a CA bundle, an optional client certificate and key (mTLS)
//! and an optional server-name override, read from PEM files.
//!
//! [`ClientTls::load`] reads and checks the files the way the connection
//! will use them, so that `check-config` and start-up refuse what a
//! handshake could never use (no certificate in the CA file, a key that
//! does not match its certificate, a server name that is not a DNS name or
//! an IP address). [`ClientTls::changed`] tells the Redis connection when the
//! files on disk differ from what it loaded (cert-manager or the kubelet
//! replacing a Secret volume), so it can build new connections with them.

use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// Result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the client TLS files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// The file holds no PEM certificate (or a malformed one).
    #[error("{path}: no PEM certificate found{detail}")]
    NoCertificate {
        /// File path.
        path: String,
        /// The parser's complaint, if any (starts with ": ").
        detail: String,
    },
    /// The key file holds no PEM private key (PKCS#1, PKCS#8 or SEC1; encrypted keys are not supported).
    #[error("{path}: no unencrypted PEM private key (PKCS#1, PKCS#8 or SEC1) found")]
    NoKey {
        /// File path.
        path: String,
    },
    /// A certificate of the CA bundle was rejected as a trust anchor.
    #[error("{path}: certificate {index} is not a usable CA certificate: {source}")]
    BadCa {
        /// File path.
        path: String,
        /// Position of the certificate in the file (from 1).
        index: usize,
        /// rustls' reason.
        source: rustls::Error,
    },
    /// rustls refused the client certificate and key (unsupported key type, key not matching the certificate).
    #[error("client certificate {cert} with key {key}: {source}")]
    BadPair {
        /// Certificate file.
        cert: String,
        /// Key file.
        key: String,
        /// rustls' reason.
        source: rustls::Error,
    },
    /// Only one of the client certificate and key was given.
    #[error("cert_file and key_file must be given together")]
    Incomplete,
    /// The server-name override is neither a DNS name nor an IP address.
    #[error("{name:?} is not a DNS name or an IP address")]
    BadServerName {
        /// The configured name.
        name: String,
    },
}

/// Where the TLS material of one client connection comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTlsFiles {
    /// CA bundle that must have signed the server's certificate; `None` trusts
    /// the system's CA certificates (what managed offerings need).
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (mTLS), with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// Private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Name the server's certificate must carry, when it is not the URL's
    /// host (connecting by IP address or through a tunnel).
    pub server_name: Option<String>,
}

/// The contents of [`ClientTlsFiles`], checked.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// The CA bundle's PEM text.
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate PEM and key PEM.
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("ClientTls")
            .field("ca", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("client", &self.client_pem.as_ref().map(|_| "<pem>"))
            .finish()
    }
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|source| Error::Read {
        path: p.display().to_string(),
        source,
    })
}

/// Every certificate of a PEM file (at least one).
fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let no_cert = |detail: String| Error::NoCertificate {
        path: path.display().to_string(),
        detail,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_cert(format!(": {e}")))?;
    if certs.is_empty() {
        return Err(no_cert(String::new()));
    }
    Ok(certs)
}

impl ClientTlsFiles {
    /// Checks the server-name override alone (no file access).
    pub fn check_server_name(&self) -> Result<()> {
        match &self.server_name {
            Some(name) if ServerName::try_from(name.as_str()).is_err() => {
                Err(Error::BadServerName { name: name.clone() })
            }
            _ => Ok(()),
        }
    }
}

impl ClientTls {
    /// Reads the files and checks them as a handshake would use them.
    pub fn load(files: &ClientTlsFiles) -> Result<ClientTls> {
        files.check_server_name()?;
        let ca_pem = match &files.ca_file {
            Some(p) => {
                let pem = read(p)?;
                let mut roots = rustls::RootCertStore::empty();
                for (i, c) in certificates(p, &pem)?.into_iter().enumerate() {
                    roots.add(c).map_err(|source| Error::BadCa {
                        path: p.display().to_string(),
                        index: i + 1,
                        source,
                    })?;
                }
                Some(pem)
            }
            None => None,
        };
        let client_pem = match (&files.cert_file, &files.key_file) {
            (Some(c), Some(k)) => {
                let (cert_pem, key_pem) = (read(c)?, read(k)?);
                let chain = certificates(c, &cert_pem)?;
                let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| Error::NoKey {
                    path: k.display().to_string(),
                })?;
                // What the connection will do with them: rustls checks the
                // key type and that the key belongs to the certificate.
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_client_auth_cert(chain, key)
                    .map_err(|source| Error::BadPair {
                        cert: c.display().to_string(),
                        key: k.display().to_string(),
                        source,
                    })?;
                Some((cert_pem, key_pem))
            }
            (None, None) => None,
            _ => return Err(Error::Incomplete),
        };
        Ok(ClientTls { ca_pem, client_pem })
    }

    /// The files' current contents when they differ from `self` and are
    /// usable; `Ok(None)` when nothing changed.
    pub fn changed(&self, files: &ClientTlsFiles) -> Result<Option<ClientTls>> {
        let now = ClientTls::load(files)?;
        Ok((now != *self).then_some(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki() -> (String, String, String, String) {
        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
        let leaf = rcgen::generate_simple_self_signed(vec!["client".into()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
        (
            ca.cert.pem(),
            leaf.cert.pem(),
            leaf.signing_key.serialize_pem(),
            other.signing_key.serialize_pem(),
        )
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("qma-tls-client-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn loads_ca_and_pair_and_notices_changes() {
        crate::tls::install_crypto_provider();
        let d = tempdir("ok");
        let (ca, cert, key, _) = pki();
        let files = ClientTlsFiles {
            ca_file: Some(write(&d, "ca.crt", &ca)),
            cert_file: Some(write(&d, "tls.crt", &cert)),
            key_file: Some(write(&d, "tls.key", &key)),
            server_name: Some("redis.example".into()),
        };
        let t = ClientTls::load(&files).unwrap();
        assert_eq!(t.ca_pem.as_deref(), Some(ca.as_bytes()));
        assert!(!format!("{t:?}").contains("PRIVATE"), "{t:?}");
        assert_eq!(t.changed(&files).unwrap(), None);
        let (ca2, ..) = pki();
        write(&d, "ca.crt", &ca2);
        let t2 = t.changed(&files).unwrap().expect("new CA noticed");
        assert_eq!(t2.ca_pem.as_deref(), Some(ca2.as_bytes()));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn refuses_what_a_handshake_cannot_use() {
        crate::tls::install_crypto_provider();
        let d = tempdir("bad");
        let (ca, cert, key, other_key) = pki();
        let ca_file = write(&d, "ca.crt", &ca);
        let empty = write(&d, "empty.pem", "no pem here\n");
        let err = |f: ClientTlsFiles| ClientTls::load(&f).unwrap_err().to_string();

        let e = err(ClientTlsFiles {
            ca_file: Some(empty.clone()),
            ..Default::default()
        });
        assert!(e.contains("empty.pem: no PEM certificate found"), "{e}");

        let e = err(ClientTlsFiles {
            ca_file: Some(d.join("missing.crt")),
            ..Default::default()
        });
        assert!(
            e.starts_with("cannot read ") && e.contains("missing.crt"),
            "{e}"
        );

        let e = err(ClientTlsFiles {
            cert_file: Some(write(&d, "tls.crt", &cert)),
            ..Default::default()
        });
        assert_eq!(e, "cert_file and key_file must be given together");

        let e = err(ClientTlsFiles {
            cert_file: Some(d.join("tls.crt")),
            key_file: Some(ca_file.clone()),
            ..Default::default()
        });
        assert!(e.contains("ca.crt: no unencrypted PEM private key"), "{e}");

        let e = err(ClientTlsFiles {
            cert_file: Some(d.join("tls.crt")),
            key_file: Some(write(&d, "other.key", &other_key)),
            ..Default::default()
        });
        assert!(e.starts_with("client certificate "), "{e}");

        let e = err(ClientTlsFiles {
            server_name: Some("not a name".into()),
            ..Default::default()
        });
        assert_eq!(e, "\"not a name\" is not a DNS name or an IP address");

        // The right key loads.
        ClientTls::load(&ClientTlsFiles {
            cert_file: Some(d.join("tls.crt")),
            key_file: Some(write(&d, "tls.key", &key)),
            ..Default::default()
        })
        .unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }
}
