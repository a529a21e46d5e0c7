//! `rediss://` against a real redis-server listening with TLS (`--tls-port`):
//! a CA bundle, client certificates (mTLS), the server-name override, files
//! that change on disk, and the errors an operator sees (through the API's
//! 503 `Status`) when the CA is wrong, a client certificate is missing, or
//! the port speaks plain text.

mod support;

use std::path::{Path, PathBuf};

use support::RedisServer;
use support::adapter::Adapter;
use support::pki::{Ca, Pair};

/// A temp dir removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!(
            "qma-redis-tls-{name}-{}-{}",
            std::process::id(),
            support::free_port()
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A redis-server with its plain port (for the test's own commands) and a
/// TLS port serving `server`, trusting `client_ca` for client certificates
/// (`auth_clients`: `yes` or `no`).
fn tls_redis(dir: &Dir, client_ca: &Ca, server: &Pair, auth_clients: &str) -> (RedisServer, u16) {
    let cert = dir.write("server.crt", &server.cert);
    let key = dir.write("server.key", &server.key);
    let ca = dir.write("client-ca.crt", &client_ca.pem());
    let tls_port = support::free_port();
    let redis = RedisServer::start_with_args(&[
        "--tls-port".as_ref(),
        tls_port.to_string().as_ref(),
        "--tls-cert-file".as_ref(),
        cert.as_os_str(),
        "--tls-key-file".as_ref(),
        key.as_os_str(),
        "--tls-ca-cert-file".as_ref(),
        ca.as_os_str(),
        "--tls-auth-clients".as_ref(),
        auth_clients.as_ref(),
    ]);
    (redis, tls_port)
}

/// Adapter config for one list `jobs` read from `url` with `tls` settings.
fn config(url: &str, tls: &[(&str, &Path)], server_name: Option<&str>) -> String {
    let mut tls_yaml = String::new();
    for (k, v) in tls {
        tls_yaml.push_str(&format!("    {k}: {}\n", v.display()));
    }
    if let Some(n) = server_name {
        tls_yaml.push_str(&format!("    server_name: {n}\n"));
    }
    let tls_section = if tls_yaml.is_empty() {
        String::new()
    } else {
        format!("  tls:\n{tls_yaml}")
    };
    format!(
        "redis:\n  url: {url}\n  timeout: 2s\n{tls_section}poll_interval: 100ms\nmax_staleness: 2s\nqueues:\n  - {{name: jobs, namespaces: [ai], key: jobs, type: list}}\n"
    )
}

/// Waits until the metric answers 503 with a message containing `needle`.
async fn wait_error(a: &Adapter, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = a.metric("ai", "queue_depth", Some("queue=jobs")).await;
        let msg = r.json["message"].as_str().unwrap_or_default().to_string();
        if r.code == 503 && msg.contains(needle) {
            assert_eq!(r.json["kind"], "Status", "{r:?}");
            return msg;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no 503 mentioning {needle:?}; last answer: {r:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_over_tls_with_a_ca_file_and_a_client_certificate() {
    support::require_redis!();
    let dir = Dir::new("mtls");
    let ca = Ca::new("redis-ca");
    let (redis, tls_port) = tls_redis(&dir, &ca, &ca.server(&["localhost"]), "yes");
    for i in 0..3 {
        redis.cmd(&["RPUSH", "jobs", &format!("j{i}")]);
    }
    let ca_file = dir.write("ca.crt", &ca.pem());
    let client = ca.client("queue-metrics-adapter", &[]);
    let cert_file = dir.write("client.crt", &client.cert);
    let key_file = dir.write("client.key", &client.key);
    let url = format!("rediss://localhost:{tls_port}/0");

    let a = Adapter::start(&config(
        &url,
        &[
            ("ca_file", &ca_file),
            ("cert_file", &cert_file),
            ("key_file", &key_file),
        ],
        None,
    ))
    .await;
    a.wait_ready().await;
    assert_eq!(
        a.wait_value("ai", "queue_depth", "jobs", |v| v == "3")
            .await,
        "3"
    );
    redis.cmd(&["RPUSH", "jobs", "j3"]);
    assert_eq!(
        a.wait_value("ai", "queue_depth", "jobs", |v| v == "4")
            .await,
        "4"
    );
    a.running.stop().await;

    // The same server without a client certificate: refused, and the message says why.
    let a = Adapter::start(&config(&url, &[("ca_file", &ca_file)], None)).await;
    let msg = wait_error(&a, "client certificate").await;
    assert!(
        msg.contains("redis endpoint default (rediss://localhost:"),
        "{msg}"
    );
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_is_refused_clearly_and_a_corrected_file_is_picked_up() {
    support::require_redis!();
    let dir = Dir::new("ca");
    let ca = Ca::new("redis-ca");
    let (redis, tls_port) = tls_redis(&dir, &ca, &ca.server(&["localhost"]), "no");
    redis.cmd(&["RPUSH", "jobs", "a"]);
    let ca_file = dir.write("ca.crt", &Ca::new("someone-else").pem());

    let a = Adapter::start(&config(
        &format!("rediss://localhost:{tls_port}/"),
        &[("ca_file", &ca_file)],
        None,
    ))
    .await;
    let msg = wait_error(&a, "not signed by a CA in tls.ca_file").await;
    assert!(
        msg.contains("redis endpoint default (rediss://localhost:"),
        "{msg}"
    );
    assert!(msg.contains(&ca_file.display().to_string()), "{msg}");
    assert_eq!(a.admin("/readyz").await.code, 503);

    // The Secret volume is updated with the right CA: the next connect uses it.
    dir.write("ca.crt", &ca.pem());
    assert_eq!(
        a.wait_value("ai", "queue_depth", "jobs", |v| v == "1")
            .await,
        "1"
    );
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_name_override_checks_the_certificate_against_it() {
    support::require_redis!();
    let dir = Dir::new("sni");
    let ca = Ca::new("redis-ca");
    let (redis, tls_port) = tls_redis(&dir, &ca, &ca.server(&["redis.internal"]), "no");
    redis.cmd(&["RPUSH", "jobs", "a"]);
    redis.cmd(&["RPUSH", "jobs", "b"]);
    let ca_file = dir.write("ca.crt", &ca.pem());
    let url = format!("rediss://127.0.0.1:{tls_port}/");

    // By IP address, the certificate (for redis.internal) does not match.
    let a = Adapter::start(&config(&url, &[("ca_file", &ca_file)], None)).await;
    wait_error(&a, "set tls.server_name to a name it carries").await;
    a.running.stop().await;

    let a = Adapter::start(&config(
        &url,
        &[("ca_file", &ca_file)],
        Some("redis.internal"),
    ))
    .await;
    a.wait_ready().await;
    assert_eq!(
        a.wait_value("ai", "queue_depth", "jobs", |v| v == "2")
            .await,
        "2"
    );
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_text_port_is_named_as_such() {
    support::require_redis!();
    let dir = Dir::new("plain");
    let ca = Ca::new("redis-ca");
    let (redis, tls_port) = tls_redis(&dir, &ca, &ca.server(&["localhost"]), "no");
    let ca_file = dir.write("ca.crt", &ca.pem());

    // rediss:// to the plain-text port.
    let a = Adapter::start(&config(
        &format!("rediss://localhost:{}/", redis.port()),
        &[("ca_file", &ca_file)],
        None,
    ))
    .await;
    wait_error(&a, "this port speaks plain text, not TLS").await;
    a.running.stop().await;

    // redis:// to the TLS port.
    let a = Adapter::start(&config(
        &format!("redis://localhost:{tls_port}/"),
        &[],
        None,
    ))
    .await;
    wait_error(&a, "use rediss://").await;
    a.running.stop().await;
}
