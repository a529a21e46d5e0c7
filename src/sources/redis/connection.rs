//! One endpoint's connection to Redis: plain (`redis://`) or TLS
//! (`rediss://` with a CA bundle, an optional client certificate and an
//! optional server-name override), opened lazily, reopened on the next poll
//! after it broke. The TLS files are read again before each connect, so
//! rotated certificates (a Secret volume updated by cert-manager or the
//! kubelet) are used by the next connection; an open one is not touched.
//!
//! The connection is a multiplexed one from the `redis` crate; pipelines of
//! one poll share it. `ConnectionManager` is not used because it cannot take
//! a DNS resolver, which is how the server-name override works here: the
//! client is told to connect to the *server name* (so rustls sends it as SNI
//! and checks the certificate against it) and a DNS resolver of its own maps that
//! name to the URL's real host.
//!
//! TLS errors are explained in words an operator can act on ("the server's
//! certificate is not signed by the CA in tls.ca_file", "the server answered
//! in plain text"), always naming the endpoint and its URL.

use std::net::SocketAddr;

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ClientTlsConfig, ConnectionAddr, IntoConnectionInfo, RedisError,
    TlsCertificates,
};
use tracing::{info, warn};

use super::{Error, Result};
use crate::config::Endpoint;
use crate::tls::client::{ClientTls, ClientTlsFiles};

/// The connection of one endpoint, and what it takes to open it again.
pub struct Connection {
    endpoint: Endpoint,
    client: Client,
    config: AsyncConnectionConfig,
    /// The open connection; `None` before the first poll and after a failure
    /// that broke it.
    current: Option<MultiplexedConnection>,
    /// For `rediss://`: the files and what was loaded from them.
    tls: Option<TlsState>,
}

struct TlsState {
    files: ClientTlsFiles,
    loaded: ClientTls,
}

impl Connection {
    /// Builds the client of `endpoint` (no network access yet).
    pub fn new(endpoint: Endpoint) -> Result<Connection> {
        let tls = match &endpoint.tls {
            Some(files) => Some(TlsState {
                loaded: ClientTls::load(files).map_err(|e| Error::Tls {
                    endpoint: endpoint.name.clone(),
                    source: Box::new(e),
                })?,
                files: files.clone(),
            }),
            None => None,
        };
        let (client, config) = build(&endpoint, tls.as_ref())?;
        Ok(Connection {
            endpoint,
            client,
            config,
            current: None,
            tls,
        })
    }

    /// The open connection, opening one if there is none.
    pub async fn get(&mut self) -> Result<MultiplexedConnection> {
        if let Some(c) = &self.current {
            return Ok(c.clone());
        }
        self.reload_tls();
        let opened = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await;
        match opened {
            Ok(c) => {
                self.current = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                // A TLS connect that failed without a TLS error of its own:
                // find out whether the port speaks plain text.
                let plain = match (
                    self.tls.is_some(),
                    rustls_error(&e),
                    self.client.get_connection_info().addr(),
                ) {
                    (true, None, ConnectionAddr::TcpTls { .. }) => {
                        let (host, port) = url_host_port(&self.endpoint.url);
                        speaks_plain_resp(&host, port, self.endpoint.timeout).await
                    }
                    _ => false,
                };
                Err(self.error(e, plain))
            }
        }
    }

    /// The error of a failed round trip, explained; forgets the connection
    /// when the failure broke it (the next [`Connection::get`] reconnects).
    pub fn unreachable(&mut self, source: RedisError) -> Error {
        self.error(source, false)
    }

    fn error(&mut self, source: RedisError, plain_answered: bool) -> Error {
        if source.is_io_error()
            || source.is_connection_dropped()
            || source.is_connection_refusal()
            || source.is_timeout()
            || source.is_unrecoverable_error()
        {
            self.current = None;
        }
        Error::Unreachable {
            endpoint: self.endpoint.name.clone(),
            url: self.endpoint.url.clone(),
            hint: hint(&source, self.tls.as_ref().map(|t| &t.files), plain_answered),
            source,
        }
    }

    /// Rebuilds the client when the TLS files changed since it was built.
    fn reload_tls(&mut self) {
        let Some(t) = &mut self.tls else { return };
        match t.loaded.changed(&t.files) {
            Ok(None) => {}
            Ok(Some(now)) => {
                t.loaded = now;
                match build(&self.endpoint, Some(t)) {
                    Ok((client, config)) => {
                        info!(endpoint = %self.endpoint.name, "redis TLS files changed; new connections use them");
                        self.client = client;
                        self.config = config;
                    }
                    Err(e) => {
                        warn!(endpoint = %self.endpoint.name, error = %e, "redis TLS files changed but cannot be used; keeping the previous ones")
                    }
                }
            }
            Err(e) => {
                warn!(endpoint = %self.endpoint.name, error = %e, "redis TLS files changed but cannot be used; keeping the previous ones")
            }
        }
    }
}

/// The client and connection settings of `endpoint` with its TLS material.
fn build(endpoint: &Endpoint, tls: Option<&TlsState>) -> Result<(Client, AsyncConnectionConfig)> {
    let settings = |source| Error::Settings {
        endpoint: endpoint.name.clone(),
        source,
    };
    let mut info = endpoint
        .url
        .as_str()
        .into_connection_info()
        .map_err(settings)?;
    let mut redis_info = info.redis_settings().clone();
    if let Some(u) = &endpoint.username {
        redis_info = redis_info.set_username(u);
    }
    if let Some(p) = &endpoint.password {
        redis_info = redis_info.set_password(p.expose());
    }
    info = info.set_redis_settings(redis_info);
    let mut config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(endpoint.timeout))
        .set_response_timeout(Some(endpoint.timeout));
    let client = match tls {
        None => Client::open(info).map_err(settings)?,
        Some(t) => {
            if let Some(name) = &t.files.server_name {
                // Connect to the server name (SNI and certificate check use
                // it) and resolve that name to the URL's host.
                if let ConnectionAddr::TcpTls { host, port, .. } = info.addr().clone() {
                    config = config.set_dns_resolver(Redirect {
                        name: name.clone(),
                        host,
                    });
                    info = info.set_addr(ConnectionAddr::TcpTls {
                        host: name.clone(),
                        port,
                        insecure: false,
                        tls_params: None,
                    });
                }
            }
            let certificates = TlsCertificates {
                client_tls: t
                    .loaded
                    .client_pem
                    .as_ref()
                    .map(|(cert, key)| ClientTlsConfig {
                        client_cert: cert.clone(),
                        client_key: key.clone(),
                    }),
                root_cert: t.loaded.ca_pem.clone(),
            };
            Client::build_with_tls(info, certificates).map_err(settings)?
        }
    };
    Ok((client, config))
}

/// Resolves the server-name override to the URL's real host.
struct Redirect {
    /// The name the certificate carries (what the client connects "to").
    name: String,
    /// The URL's host, which is where the server really is.
    host: String,
}

impl redis::io::AsyncDNSResolver for Redirect {
    fn resolve<'a, 'b: 'a>(
        &'a self,
        host: &'b str,
        port: u16,
    ) -> redis::RedisFuture<'a, Box<dyn Iterator<Item = SocketAddr> + Send + 'a>> {
        let target = if host == self.name {
            self.host.clone()
        } else {
            host.to_string()
        };
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((target.as_str(), port)).await?;
            Ok(Box::new(addrs.collect::<Vec<_>>().into_iter())
                as Box<dyn Iterator<Item = SocketAddr> + Send>)
        })
    }
}

/// What the operator should check, for errors whose cause is clear (TLS
/// handshakes mostly); empty otherwise. `plain_answered`: a plain-text
/// `PING` on the same port was answered (see [`speaks_plain_resp`]).
fn hint(e: &RedisError, tls: Option<&ClientTlsFiles>, plain_answered: bool) -> String {
    use rustls::{AlertDescription as Alert, CertificateError as Cert};
    let ca = || {
        tls.and_then(|t| t.ca_file.as_ref())
            .map_or("the system's CA certificates".to_string(), |p| {
                format!("tls.ca_file ({})", p.display())
            })
    };
    let hint = match rustls_error(e) {
        _ if plain_answered => {
            "this port speaks plain text, not TLS: use the server's tls-port, or redis://"
                .to_string()
        }
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            Cert::UnknownIssuer | Cert::BadSignature | Cert::UnhandledCriticalExtension => {
                format!("the server's certificate is not signed by a CA in {}", ca())
            }
            Cert::NotValidForName | Cert::NotValidForNameContext { .. } => {
                "the server's certificate is not valid for the URL's host; set tls.server_name to a name it carries".to_string()
            }
            Cert::Expired | Cert::ExpiredContext { .. } | Cert::NotValidYet | Cert::NotValidYetContext { .. } => {
                "the server's certificate is expired or not yet valid".to_string()
            }
            _ => return String::new(),
        },
        Some(rustls::Error::AlertReceived(Alert::CertificateRequired)) => {
            "the server wants a client certificate: set tls.cert_file and tls.key_file".to_string()
        }
        Some(rustls::Error::AlertReceived(Alert::UnknownCA | Alert::BadCertificate)) => {
            "the server does not accept the client certificate (tls.cert_file): is it signed by the CA the server trusts?".to_string()
        }
        Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. })
            if tls.is_some() =>
        {
            "the server did not answer with TLS: is this its plain-text port? (use the tls-port, or redis://)".to_string()
        }
        _ if tls.is_none()
            && !e.is_connection_refusal()
            && (e.is_connection_dropped() || e.kind() == redis::ErrorKind::Parse) =>
        {
            "the connection was closed or answered with something that is not RESP: if this is a TLS port, use rediss://".to_string()
        }
        _ => return String::new(),
    };
    format!(" ({hint})")
}

/// The rustls error inside a client error, if the failure was TLS's.
fn rustls_error(e: &RedisError) -> Option<&rustls::Error> {
    find_rustls(e)
}

/// Walks the error chain: the redis crate keeps its cause as an
/// `Arc<dyn Error>` (whose `source()` skips the cause itself), and an I/O
/// error keeps rustls' error as its inner error.
fn find_rustls<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    type Shared = std::sync::Arc<dyn std::error::Error + Send + Sync>;
    if let Some(r) = err.downcast_ref::<rustls::Error>() {
        return Some(r);
    }
    if let Some(inner) = err.downcast_ref::<Shared>() {
        return find_rustls(&**inner);
    }
    if let Some(inner) = err
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        return find_rustls(inner);
    }
    err.source().and_then(find_rustls)
}

/// Whether `host:port` answers a plain-text `PING` in RESP (`+PONG`, or an
/// error such as `-NOAUTH`): asked only after a TLS connect failed without
/// a clear TLS error (a plain-text Redis just waits on a ClientHello, so
/// the handshake times out), to say so instead of "timed out".
async fn speaks_plain_resp(host: &str, port: u16, timeout: std::time::Duration) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let probe = async {
        let mut s = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        s.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 1];
        s.read_exact(&mut buf).await.ok()?;
        Some(matches!(buf[0], b'+' | b'-'))
    };
    tokio::time::timeout(timeout, probe)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// The URL's host and port (6379 when none is given).
fn url_host_port(url: &str) -> (String, u16) {
    let u = url::Url::parse(url).ok();
    let host = u
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("127.0.0.1")
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    (host, u.and_then(|u| u.port()).unwrap_or(6379))
}
