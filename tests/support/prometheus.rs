//! A real Prometheus (Debian's package), started on a free 127.0.0.1 port
//! with its own data directory, scraping the given targets every second.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Prometheus; killed and its directory removed on drop.
pub struct Prometheus {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    dir: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a prometheus binary is on PATH.
pub fn available() -> bool {
    Command::new("prometheus").arg("--version").output().is_ok()
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (host:port, path /metrics) as job `pods` every second.
    pub async fn start(targets: &[String]) -> Prometheus {
        let list = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let jobs = format!("  - job_name: pods\n    static_configs:\n      - targets: [{list}]\n");
        Prometheus::start_with(super::free_port(), &jobs, &[]).await
    }

    /// Starts Prometheus on 127.0.0.1:`port` with `scrape_configs` (the YAML list
    /// items under `scrape_configs:`, indented by two spaces) and `rule_files`,
    /// scraping and evaluating every second. The port is the caller's so that
    /// configs written before the start (an adapter's PromQL entries) can name it.
    pub async fn start_with(
        port: u16,
        scrape_configs: &str,
        rule_files: &[std::path::PathBuf],
    ) -> Prometheus {
        queue_metrics_adapter::tls::install_crypto_provider();
        let dir = std::env::temp_dir().join(format!(
            "qma-prom-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let rules: String = rule_files
            .iter()
            .map(|f| format!("  - '{}'\n", f.display()))
            .collect();
        let rules = if rules.is_empty() {
            String::new()
        } else {
            format!("rule_files:\n{rules}")
        };
        std::fs::write(
            dir.join("prometheus.yml"),
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n{rules}scrape_configs:\n{scrape_configs}"
            ),
        )
        .unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus starts");
        let p = Prometheus {
            url: format!("http://127.0.0.1:{port}"),
            child,
            dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(format!("{}/-/ready", p.url)).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready: {}",
                std::fs::read_to_string(p.dir.join("prometheus.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        p
    }

    /// Evaluates an instant query now; returns the raw JSON.
    pub async fn query(&self, q: &str) -> serde_json::Value {
        let url =
            reqwest::Url::parse_with_params(&format!("{}/api/v1/query", self.url), &[("query", q)])
                .unwrap();
        reqwest::Client::new()
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The value of a single-element vector result, if any.
    pub async fn scalar(&self, q: &str) -> Option<f64> {
        let v = self.query(q).await;
        v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|s| s.parse().ok())
    }
}
