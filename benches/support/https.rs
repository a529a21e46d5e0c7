//! A minimal HTTP/1.1-over-TLS keep-alive client for the benchmarks.
//!
//! Shared by `benches/api_throughput.rs` and `benches/startup_memory.rs`
//! (`#[path = "support/https.rs"] mod https;`).
//!
//! Why not reqwest: on a 2-core machine the load generator shares the CPU
//! with the server under test, and every microsecond the client spends per
//! request is the same for the adapter and the baseline, which pulls their
//! throughput ratio towards 1. This client does the least a client can do —
//! one pre-encoded request, read the head, read `Content-Length` bytes — so
//! the ratio says more about the servers. It speaks HTTP/1.1 only (ALPN
//! `http/1.1`), one request in flight per connection, no chunked bodies (the
//! servers measured always send `Content-Length`).
//!
//! The server certificate is not verified (the servers use throwaway
//! self-signed certificates); handshake signatures are still checked.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Accepts any server certificate; checks handshake signatures with the provider.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client config offering only `http/1.1`, accepting any certificate.
/// Call `tls::install_crypto_provider()` first.
pub fn client_config() -> Arc<ClientConfig> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .expect("install the rustls crypto provider first");
    let mut cfg = ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// One response: status, body length, and the body if asked for.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Length of the body (its `Content-Length`).
    pub body_len: usize,
    /// `Content-Type`, if present.
    pub content_type: Option<String>,
    /// The body, when requested with [`Conn::get_body`].
    pub body: Option<Vec<u8>>,
}

/// One keep-alive TLS connection.
pub struct Conn {
    stream: TlsStream<TcpStream>,
    host: String,
    buf: Vec<u8>,
}

impl Conn {
    /// TCP connect (nodelay) and TLS handshake.
    pub async fn connect(addr: SocketAddr, cfg: Arc<ClientConfig>) -> io::Result<Conn> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::IpAddress(addr.ip().into());
        let stream = TlsConnector::from(cfg).connect(name, tcp).await?;
        Ok(Conn {
            stream,
            host: addr.to_string(),
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// The encoded request for `path_and_query` (reuse it with [`Conn::send`]).
    pub fn request(&self, path_and_query: &str) -> Vec<u8> {
        format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nUser-Agent: qma-bench\r\n\r\n",
            self.host
        )
        .into_bytes()
    }

    /// GET, keeping the body.
    pub async fn get_body(&mut self, path_and_query: &str) -> io::Result<Response> {
        let req = self.request(path_and_query);
        self.send(&req, true).await
    }

    /// Sends a pre-encoded request and reads the whole response.
    pub async fn send(&mut self, request: &[u8], keep_body: bool) -> io::Result<Response> {
        self.stream.write_all(request).await?;
        self.stream.flush().await?;
        // Read until the end of the head.
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| bad("response head is not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        let mut content_length = None;
        let mut content_type = None;
        for line in lines {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse::<usize>().ok();
            } else if k.eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_string());
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                return Err(bad("chunked responses are not supported by this client"));
            }
        }
        let body_len = content_length.ok_or_else(|| bad("no Content-Length"))?;
        while self.buf.len() < head_end + body_len {
            self.fill().await?;
        }
        let body = keep_body.then(|| self.buf[head_end..head_end + body_len].to_vec());
        self.buf.drain(..head_end + body_len);
        Ok(Response {
            status,
            body_len,
            content_type,
            body,
        })
    }

    async fn fill(&mut self) -> io::Result<()> {
        let old = self.buf.len();
        self.buf.resize(old + 16 * 1024, 0);
        let n = self.stream.read(&mut self.buf[old..]).await;
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(old);
                return Err(e);
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            ));
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Percentile (nearest rank) of an ascending slice; 0 when empty.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median of a few values (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// `GET path` over plain HTTP/1.0 on a fresh std `TcpStream` (cheap enough to
/// poll every few ms); the status code, or `None` if nothing answered.
pub fn plain_get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_millis(500);
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .ok()?;
    let mut head = [0u8; 64];
    let mut n = 0;
    while n < 12 {
        match s.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    // "HTTP/1.x 200 ..."
    std::str::from_utf8(&head[..n])
        .ok()?
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}
