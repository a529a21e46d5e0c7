//! Fake pods: in-test HTTP servers on 127.0.0.1 exposing an LLM latency
//! histogram, a request counter and an in-flight gauge in the Prometheus text
//! format (or OpenMetrics), driven by known traffic.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;

/// Bucket upper bounds of `llm_request_duration_seconds`.
pub const BOUNDS: [f64; 8] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, f64::INFINITY];

/// Counters of one pod.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Cumulative count per bucket (same order as [`BOUNDS`]).
    pub buckets: [f64; 8],
    /// Sum of observed latencies.
    pub sum: f64,
    /// Requests served (all models).
    pub requests: f64,
    /// In-flight requests.
    pub inflight: f64,
}

impl Counters {
    /// Records one request of `latency` seconds.
    pub fn observe(&mut self, latency: f64) {
        for (b, le) in self.buckets.iter_mut().zip(BOUNDS) {
            if latency <= le {
                *b += 1.0;
            }
        }
        self.sum += latency;
        self.requests += 1.0;
    }
}

/// One fake pod.
pub struct Pod {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its counters, shared with the server.
    pub counters: Arc<Mutex<Counters>>,
    openmetrics: bool,
    task: Option<tokio::task::JoinHandle<()>>,
    traffic: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Pod {
    fn drop(&mut self) {
        self.stop();
    }
}

fn render(c: &Counters, openmetrics: bool) -> String {
    let mut out = String::from(
        "# HELP llm_request_duration_seconds Latency of LLM calls.\n# TYPE llm_request_duration_seconds histogram\n",
    );
    for (le, count) in BOUNDS.iter().zip(c.buckets) {
        let le = if le.is_infinite() {
            "+Inf".to_string()
        } else {
            le.to_string()
        };
        out.push_str(&format!(
            "llm_request_duration_seconds_bucket{{model=\"gpt\",le=\"{le}\"}} {count}\n"
        ));
        // A second model the service's matcher filters out.
        out.push_str(&format!(
            "llm_request_duration_seconds_bucket{{model=\"other\",le=\"{le}\"}} 1000\n"
        ));
    }
    out.push_str(&format!(
        "llm_request_duration_seconds_sum{{model=\"gpt\"}} {}\n",
        c.sum
    ));
    out.push_str(&format!(
        "llm_request_duration_seconds_count{{model=\"gpt\"}} {}\n",
        c.buckets[7]
    ));
    if openmetrics {
        out.push_str(&format!(
            "# TYPE llm_requests counter\nllm_requests_total{{model=\"gpt\"}} {}\n# TYPE llm_inflight_requests gauge\nllm_inflight_requests{{model=\"gpt\"}} {}\n# EOF\n",
            c.requests, c.inflight
        ));
    } else {
        out.push_str(&format!(
            "# TYPE llm_requests_total counter\nllm_requests_total{{model=\"gpt\"}} {}\n# TYPE llm_inflight_requests gauge\nllm_inflight_requests{{model=\"gpt\"}} {}\n",
            c.requests, c.inflight
        ));
    }
    out
}

impl Pod {
    /// Starts a pod on 127.0.0.1:0; `openmetrics` picks the exposition format.
    pub async fn start(openmetrics: bool) -> Pod {
        let counters = Arc::new(Mutex::new(Counters::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut pod = Pod {
            addr,
            counters,
            openmetrics,
            task: None,
            traffic: None,
        };
        pod.serve(listener);
        pod
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let state = (self.counters.clone(), self.openmetrics);
        let app = Router::new()
            .route(
                "/metrics",
                get(
                    |State((c, om)): State<(Arc<Mutex<Counters>>, bool)>| async move {
                        let body = render(&c.lock().unwrap(), om);
                        let ct = if om {
                            "application/openmetrics-text; version=1.0.0; charset=utf-8"
                        } else {
                            "text/plain; version=0.0.4; charset=utf-8"
                        };
                        ([("content-type", ct)], body).into_response()
                    },
                ),
            )
            .with_state(state);
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    /// The scrape URL.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// Sends steady traffic: every 20 ms, one request per latency in `pattern`.
    pub fn drive(&mut self, pattern: Vec<f64>, inflight: f64) {
        let c = self.counters.clone();
        c.lock().unwrap().inflight = inflight;
        if let Some(t) = self.traffic.take() {
            t.abort();
        }
        self.traffic = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                let mut c = c.lock().unwrap();
                for l in &pattern {
                    c.observe(*l);
                }
            }
        }));
    }

    /// A restart: every counter back to zero (traffic continues).
    pub fn reset(&self) {
        let mut c = self.counters.lock().unwrap();
        let inflight = c.inflight;
        *c = Counters::default();
        c.inflight = inflight;
    }

    /// The pod goes away: the server and its traffic stop.
    pub fn stop(&mut self) {
        for t in [self.task.take(), self.traffic.take()]
            .into_iter()
            .flatten()
        {
            t.abort();
        }
    }
}
