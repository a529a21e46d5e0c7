//! The serving certificate: PEM files reloaded when they change on disk, or a
//! self-signed pair for development.
//!
//! rustls with the ring provider, which `main` installs as the process-wide
//! default before anything else runs. ALPN offers h2 and http/1.1, like the
//! Go apiserver. The certificate is served through [`ReloadingCert`], a
//! `ResolvesServerCert` whose key pair is swapped atomically: cert-manager
//! (through the kubelet's Secret volume) replaces the files, the next
//! handshake gets the new pair, and open connections are not touched.

pub mod client;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tracing::{info, warn};

use crate::tick::{self, Round};

/// Result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the serving certificate could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// File path.
        path: String,
        /// I/O error.
        source: std::io::Error,
    },
    /// The certificate file held no certificate.
    #[error("{path}: no PEM certificate found")]
    NoCertificate {
        /// File path.
        path: String,
    },
    /// The key file held no private key.
    #[error("{path}: no PEM private key found")]
    NoKey {
        /// File path.
        path: String,
    },
    /// Only one of certificate and key was given.
    #[error("--tls-cert-file and --tls-private-key-file must be given together")]
    Incomplete,
    /// rustls rejected the pair (e.g. unsupported key type, key does not match certificate).
    #[error("invalid certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
    /// Generating the self-signed pair failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// Installs ring as the process-wide rustls crypto provider (idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|source| Error::Read {
        path: p.display().to_string(),
        source,
    })
}

fn parse_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut &cert_pem[..])
        .filter_map(|c| c.ok())
        .collect();
    if certs.is_empty() {
        return Err(Error::NoCertificate {
            path: cert.display().to_string(),
        });
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .ok()
        .flatten()
        .ok_or_else(|| Error::NoKey {
            path: key.display().to_string(),
        })?;
    Ok((certs, key))
}

/// A self-signed pair for `localhost`, `127.0.0.1`, `::1` and the given extra names.
pub fn self_signed(
    extra_names: &[String],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    names.extend(extra_names.iter().cloned());
    let ck = rcgen::generate_simple_self_signed(names)?;
    let key = PrivateKeyDer::try_from(ck.signing_key.serialize_der())
        .map_err(|e| Error::Rustls(rustls::Error::General(e.to_string())))?;
    Ok((vec![ck.cert.der().clone()], key))
}

fn certified(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>> {
    let provider = rustls::crypto::ring::default_provider();
    Ok(Arc::new(CertifiedKey::from_der(chain, key, &provider)?))
}

/// The serving key pair, swappable while the server runs.
#[derive(Debug)]
pub struct ReloadingCert {
    current: ArcSwap<CertifiedKey>,
    /// Certificate and key files; `None` for the self-signed pair.
    files: Option<(PathBuf, PathBuf)>,
    /// The file contents last loaded, to notice changes.
    loaded: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl ReloadingCert {
    /// From PEM files when both are given, else a self-signed pair (with a warning).
    pub fn new(cert: Option<&Path>, key: Option<&Path>) -> Result<Arc<ReloadingCert>> {
        match (cert, key) {
            (Some(c), Some(k)) => {
                let (cert_pem, key_pem) = (read(c)?, read(k)?);
                let (chain, pk) = parse_pem(&cert_pem, &key_pem, c, k)?;
                Ok(Arc::new(ReloadingCert {
                    current: ArcSwap::new(certified(chain, pk)?),
                    files: Some((c.to_path_buf(), k.to_path_buf())),
                    loaded: Mutex::new((cert_pem, key_pem)),
                }))
            }
            (None, None) => {
                warn!(
                    "no --tls-cert-file/--tls-private-key-file: serving a self-signed certificate (development only)"
                );
                let (chain, pk) = self_signed(&[])?;
                Ok(Arc::new(ReloadingCert {
                    current: ArcSwap::new(certified(chain, pk)?),
                    files: None,
                    loaded: Mutex::new(Default::default()),
                }))
            }
            _ => Err(Error::Incomplete),
        }
    }

    /// Reloads the files if their contents changed; `Ok(true)` when swapped.
    /// A half-written or invalid pair is an error and the old pair stays.
    pub fn reload_if_changed(&self) -> Result<bool> {
        let Some((c, k)) = &self.files else {
            return Ok(false);
        };
        let (cert_pem, key_pem) = (read(c)?, read(k)?);
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if loaded.0 == cert_pem && loaded.1 == key_pem {
            return Ok(false);
        }
        let (chain, pk) = parse_pem(&cert_pem, &key_pem, c, k)?;
        self.current.store(certified(chain, pk)?);
        *loaded = (cert_pem, key_pem);
        Ok(true)
    }

    /// Checks the files every `every` until dropped; errors are logged and retried.
    pub async fn watch(self: Arc<Self>, every: Duration) {
        if self.files.is_none() {
            return;
        }
        tick::every(every, Reload(self)).await;
    }
}

/// One check of the certificate files.
struct Reload(Arc<ReloadingCert>);

impl Round for Reload {
    async fn round(&mut self) {
        match self.0.reload_if_changed() {
            Ok(true) => info!("serving certificate reloaded"),
            Ok(false) => {}
            Err(e) => {
                warn!(error = %e, "serving certificate changed but could not be loaded; keeping the old one")
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The server config for the API port; `client` asks for (but does not require)
/// a client certificate.
pub fn server_config_with(
    cert: Arc<ReloadingCert>,
    client: Option<Arc<dyn ClientCertVerifier>>,
) -> Arc<ServerConfig> {
    let builder = ServerConfig::builder();
    let mut cfg = match client {
        Some(v) => builder
            .with_client_cert_verifier(v)
            .with_cert_resolver(cert),
        None => builder.with_no_client_auth().with_cert_resolver(cert),
    };
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// A server config without client certificates, from files or self-signed.
pub fn server_config(cert: Option<&Path>, key: Option<&Path>) -> Result<Arc<ServerConfig>> {
    Ok(server_config_with(ReloadingCert::new(cert, key)?, None))
}
