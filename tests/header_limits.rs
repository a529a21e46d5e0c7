//! Request header limits as Go API servers have them (1 MiB), through real
//! HTTP/1.1 and HTTP/2 clients (reqwest, and curl with nghttp2 for URIs
//! longer than Rust's `http` crate can even build): a large label selector
//! is answered, an over-limit request gets a Kubernetes `Status` (431, or
//! 414 for a URI over 65,534 bytes) — never a reset stream or a closed
//! connection.

mod support;

use std::time::Duration;

use support::RedisServer;
use support::adapter::{Adapter, Answer, answer};

/// HTTP/1.1-only or HTTP/2-only client (ALPN still negotiates over TLS;
/// prior knowledge makes h2 certain).
fn client(h2: bool) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(20));
    let b = if h2 {
        b.http2_prior_knowledge()
    } else {
        b.http1_only()
    };
    b.build().unwrap()
}

async fn get(
    a: &Adapter,
    h2: bool,
    selector: &str,
    extra: Option<&str>,
) -> (Answer, reqwest::Version) {
    let mut url = reqwest::Url::parse(&format!(
        "{}/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/queue_depth",
        a.base()
    ))
    .unwrap();
    url.query_pairs_mut().append_pair("labelSelector", selector);
    let mut req = client(h2).get(url);
    if let Some(v) = extra {
        req = req.header("x-padding", v);
    }
    let resp = req
        .send()
        .await
        .expect("an answer, not a reset or a closed connection");
    let version = resp.version();
    (answer(resp).await, version)
}

/// `queue in (gateway,q1,q2,...)` of about `bytes` bytes.
fn big_selector(bytes: usize) -> String {
    let mut s = String::from("queue in (gateway");
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(",queue-{i:06}"));
        i += 1;
    }
    s.push(')');
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_selectors_are_served_and_oversized_headers_get_a_status() {
    support::require_redis!();
    let redis = RedisServer::start();
    redis.cmd(&["RPUSH", "gw", "a", "b"]);
    let a = Adapter::start(&format!(
        "redis:\n  url: {}\npoll_interval: 100ms\nqueues:\n  - {{name: gateway, namespaces: [ai], key: gw, type: list}}\n",
        redis.url()
    ))
    .await;
    a.wait_ready().await;

    // 40 KiB (about 50 KiB encoded): far past hyper's default h2 header list (16 KiB), within what
    // the `http` crate holds in a URI.
    let selector = big_selector(40 * 1024);
    for h2 in [false, true] {
        // Served.
        let (r, version) = get(&a, h2, &selector, None).await;
        assert_eq!(
            version,
            if h2 {
                reqwest::Version::HTTP_2
            } else {
                reqwest::Version::HTTP_11
            }
        );
        assert_eq!(r.code, 200, "h2={h2}: {r:?}");
        assert_eq!(r.json["kind"], "ExternalMetricValueList");
        assert_eq!(r.json["items"][0]["value"], "2", "{r:?}");

        // Just under Go's limit: still served.
        let pad = "p".repeat(1_000_000);
        let (r, _) = get(&a, h2, "queue=gateway", Some(&pad)).await;
        assert_eq!(r.code, 200, "h2={h2}: {r:?}");

        // Over it (1.5 MiB): a Status 431 saying why.
        let pad = "p".repeat(1_500_000);
        let (r, _) = get(&a, h2, "queue=gateway", Some(&pad)).await;
        assert_eq!(r.code, 431, "h2={h2}: {}", &r.text[..r.text.len().min(300)]);
        assert_eq!(r.json["kind"], "Status");
        assert_eq!(r.json["apiVersion"], "v1");
        assert_eq!(r.json["status"], "Failure");
        assert_eq!(r.json["code"], 431);
        let msg = r.json["message"].as_str().unwrap();
        assert!(
            msg.contains("more than the 10") && msg.contains("1 MiB"),
            "{msg}"
        );
        assert!(r.content_type.starts_with("application/json"));

        // And the connection, or a new one, keeps working.
        let (r, _) = get(&a, h2, "queue=gateway", None).await;
        assert_eq!(r.code, 200, "h2={h2}: {r:?}");
    }

    // 100 KiB of selector: a 414 Status that says what to do, not a reset
    // stream (HTTP/2, python-hyper's h2: curl's nghttp2 will not send a
    // header block over 64 KiB) or a bare 414 (HTTP/1.1, curl).
    let path = format!(
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/queue_depth?labelSelector={}",
        big_selector(100 * 1024)
            .replace(' ', "+")
            .replace('(', "%28")
            .replace(')', "%29")
            .replace(',', "%2C")
    );
    let check = |via: &str, code: u16, body: &str| {
        assert_eq!(code, 414, "{via}: {body}");
        let status: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(status["kind"], "Status", "{via}");
        assert_eq!(status["code"], 414, "{via}");
        let msg = status["message"].as_str().unwrap();
        assert!(
            msg.contains(&format!("is {} bytes", path.len()))
                && msg.contains("shorten the label selector"),
            "{via}: {msg}"
        );
    };
    let (code, body) = h2_get(&a, &path).await;
    check("HTTP/2", code, &body);
    let (code, version, body) = curl("--http1.1", &format!("{}{path}", a.base())).await;
    assert_eq!(version, "1.1");
    check("HTTP/1.1", code, &body);
    // The connection-level state survived: ordinary requests still work.
    let (r, _) = get(&a, true, "queue=gateway", None).await;
    assert_eq!(r.code, 200, "{r:?}");
    a.running.stop().await;
}

/// GET `path` over HTTP/2 with python-hyper's `h2` (tests/support/h2_get.py),
/// run by `$QMA_H2_PYTHON` (scripts/test.sh makes a venv with it) or `python3`.
async fn h2_get(a: &Adapter, path: &str) -> (u16, String) {
    let python = std::env::var("QMA_H2_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = std::env::temp_dir().join(format!("qma-h2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("path");
    std::fs::write(&file, path).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/h2_get.py");
    let port = a.running.api_addr.port().to_string();
    let out = tokio::process::Command::new(&python)
        .args([script, "127.0.0.1", &port, file.to_str().unwrap()])
        .output()
        .await
        .unwrap_or_else(|e| panic!("{python}: {e} (scripts/test.sh sets QMA_H2_PYTHON)"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{python} h2_get.py failed (needs the `h2` package: scripts/test.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["reset"].is_null(), "the stream was reset: {v}");
    (
        v["status"].as_u64().unwrap() as u16,
        v["body"].as_str().unwrap().to_string(),
    )
}

/// `curl -k FLAG URL`: (HTTP code, HTTP version, body).
async fn curl(flag: &str, url: &str) -> (u16, String, String) {
    let out = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "-k",
            flag,
            "--max-time",
            "20",
            "-w",
            "\n%{http_code} %{http_version}",
            url,
        ])
        .output()
        .await
        .expect("curl runs (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "curl {flag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, tail) = text.rsplit_once('\n').unwrap();
    let (code, version) = tail.split_once(' ').unwrap();
    (code.parse().unwrap(), version.to_string(), body.to_string())
}
