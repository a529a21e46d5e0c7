//! The adapter under test, started in-process exactly as `serve` starts it
//! (`cli::Running`), on 127.0.0.1 ephemeral ports, with an HTTPS client that
//! talks to it the way the aggregator does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use queue_metrics_adapter::auth::Auth;
use queue_metrics_adapter::cli::{Running, Serving};
use queue_metrics_adapter::{config, tls};

/// A running adapter plus a client for it.
pub struct Adapter {
    /// The started adapter.
    pub running: Running,
    /// HTTPS client (accepts the self-signed certificate).
    pub client: reqwest::Client,
}

/// A response, decoded.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub code: u16,
    /// Content-Type header.
    pub content_type: String,
    /// Body as JSON (Null if it was not JSON).
    pub json: serde_json::Value,
    /// Raw body.
    pub text: String,
}

impl Adapter {
    /// Parses `yaml` (env lookups fail) and starts the adapter with a self-signed
    /// certificate and authentication disabled.
    pub async fn start(yaml: &str) -> Adapter {
        tls::install_crypto_provider();
        let cert = tls::ReloadingCert::new(None, None).expect("self-signed certificate");
        Adapter::start_with(yaml, cert, None, None).await
    }

    /// Starts the adapter with `cert`, delegated `auth` (None: disabled) and a
    /// Kubernetes client for endpoint discovery, as `serve` does.
    pub async fn start_with(
        yaml: &str,
        cert: Arc<tls::ReloadingCert>,
        auth: Option<Arc<Auth>>,
        kube: Option<kube::Client>,
    ) -> Adapter {
        let cfg = config::parse(yaml, &|_| None).expect("test config is valid");
        Adapter::start_config(&cfg, cert, auth, kube).await
    }

    /// [`Adapter::start_with`] for an already parsed configuration.
    pub async fn start_config(
        cfg: &config::Config,
        cert: Arc<tls::ReloadingCert>,
        auth: Option<Arc<Auth>>,
        kube: Option<kube::Client>,
    ) -> Adapter {
        tls::install_crypto_provider();
        let tls = tls::server_config_with(cert, auth.as_ref().map(|a| a.tls_verifier()));
        let serving = Serving {
            tls,
            secure_listen: "127.0.0.1:0".parse().unwrap(),
            admin_listen: "127.0.0.1:0".parse().unwrap(),
            auth,
            kube,
        };
        let running = Running::start_with(cfg, serving)
            .await
            .expect("adapter starts");
        Adapter {
            running,
            client: client(None),
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("https://{}", self.running.api_addr)
    }

    /// GET on the API port with optional Accept header.
    pub async fn get_accept(&self, path: &str, accept: Option<&str>) -> Answer {
        let mut req = self.client.get(format!("{}{}", self.base(), path));
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        answer(req.send().await.expect("request")).await
    }

    /// GET on the API port.
    pub async fn get(&self, path: &str) -> Answer {
        self.get_accept(path, None).await
    }

    /// GET an external metric in `ns` with an optional label selector.
    pub async fn metric(&self, ns: &str, metric: &str, selector: Option<&str>) -> Answer {
        let mut url = reqwest::Url::parse(&format!(
            "{}/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}",
            self.base()
        ))
        .unwrap();
        if let Some(s) = selector {
            url.query_pairs_mut().append_pair("labelSelector", s);
        }
        answer(self.client.get(url).send().await.expect("request")).await
    }

    /// GET on the admin port.
    pub async fn admin(&self, path: &str) -> Answer {
        let url = format!("http://{}{}", self.running.admin_addr, path);
        answer(self.client.get(url).send().await.expect("request")).await
    }

    /// Waits until /readyz says ready (every endpoint polled once).
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.admin("/readyz").await.code != 200 {
            assert!(Instant::now() < deadline, "adapter not ready within 10s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `metric` for the series with `queue=<queue>` until `pred` holds on its value
    /// (a Kubernetes quantity string), or panics after 10 s with the last answer.
    pub async fn wait_value(
        &self,
        ns: &str,
        metric: &str,
        queue: &str,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let a = self
                .metric(ns, metric, Some(&format!("queue={queue}")))
                .await;
            if a.code == 200
                && let Some(v) = a.json["items"][0]["value"].as_str()
                && pred(v)
            {
                return v.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "{metric} for {queue} never matched; last answer: {a:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// An HTTPS client that accepts any server certificate, optionally presenting `identity`.
pub fn client(identity: Option<reqwest::Identity>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(10));
    if let Some(id) = identity {
        b = b.identity(id);
    }
    b.build().expect("client")
}

/// Decodes a response.
pub async fn answer(resp: reqwest::Response) -> Answer {
    let code = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = resp.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Answer {
        code,
        content_type,
        json,
        text,
    }
}

/// Asserts that `a` is a Kubernetes Status with `code` and `reason`.
pub fn assert_status(a: &Answer, code: u16, reason: &str) {
    assert_eq!(a.code, code, "{a:?}");
    assert_eq!(a.json["kind"], "Status", "{a:?}");
    assert_eq!(a.json["apiVersion"], "v1", "{a:?}");
    assert_eq!(a.json["status"], "Failure", "{a:?}");
    assert_eq!(a.json["reason"], reason, "{a:?}");
    assert_eq!(a.json["code"], code, "{a:?}");
    assert!(a.content_type.starts_with("application/json"), "{a:?}");
}
