//! The serving certificate: PEM files, or a self-signed pair for development.
//!
//! rustls with the ring provider, which `main` installs as the process-wide
//! default before anything else runs. ALPN offers h2 and http/1.1, like the
//! Go apiserver.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tracing::warn;

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
    /// rustls rejected the pair (e.g. key does not match certificate).
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

/// Loads a certificate chain and private key from PEM files.
pub fn load_pem(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| Error::Read {
            path: p.display().to_string(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .filter_map(|c| c.ok())
        .collect();
    if certs.is_empty() {
        return Err(Error::NoCertificate {
            path: cert.display().to_string(),
        });
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| Error::NoKey {
            path: key.display().to_string(),
        })?;
    Ok((certs, key))
}

/// A self-signed pair for `localhost`, `127.0.0.1` and the given extra names.
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

/// The server config for the API port.
pub fn server_config(cert: Option<&Path>, key: Option<&Path>) -> Result<Arc<ServerConfig>> {
    let (chain, key) = match (cert, key) {
        (Some(c), Some(k)) => load_pem(c, k)?,
        (None, None) => {
            warn!(
                "no --tls-cert-file/--tls-private-key-file: serving a self-signed certificate (development only)"
            );
            self_signed(&[])?
        }
        _ => return Err(Error::Incomplete),
    };
    let mut cfg = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
