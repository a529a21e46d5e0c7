//! Latency and traffic read from the services themselves: every scrape
//! interval, each target's `/metrics` is fetched (concurrently, with a
//! timeout and a body-size limit), parsed ([`exposition`]), and its counter
//! samples kept for the service's window; then per service
//!
//! - `service_latency_seconds{quantile}` = `histogram_quantile(q, sum by (le) (rate(<histogram>_bucket[window])))`,
//! - `service_request_rate` = `sum(rate(<counter>[window]))`,
//! - `service_inflight` = `sum(<gauge>)` over the pods scraped this round,
//!
//! computed as PromQL computes them ([`window`]).
//!
//! ```text
//!  targets (EndpointSlices or static URLs) ─► scrape all ─► parse ─► per-target counter windows
//!                                                                        │ rate, sum by le, quantile
//!                                                                        ▼
//!                                                                      store
//! ```
//!
//! A target that fails keeps its samples until they leave the window (as a
//! Prometheus series would), so a few failing pods degrade the value rather
//! than drop it; failures are counted in `qma_scrape_errors_total`. If every
//! target fails, the values are not refreshed and turn stale (503) after
//! `max_staleness`. A target that disappears likewise ages out.

pub mod discovery;
pub mod exposition;
pub mod window;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use tracing::debug;

use crate::config::{Service, WhenEmpty};
use crate::store::{Store, now_ms};
use crate::telemetry::{ScrapeMetrics, ServiceLabels, TargetStateLabels};
use window::CounterSeries;

/// Why one target could not be scraped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Connecting or reading failed.
    #[error("{url}: {detail}")]
    Fetch {
        /// Target URL.
        url: String,
        /// Client error.
        detail: String,
    },
    /// No answer within the scrape timeout.
    #[error("{url}: timed out")]
    Timeout {
        /// Target URL.
        url: String,
    },
    /// The target answered with a non-2xx status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// Target URL.
        url: String,
        /// HTTP status.
        status: u16,
    },
    /// The body exceeded the size limit.
    #[error("{url}: body larger than {limit} bytes")]
    TooLarge {
        /// Target URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The body is not valid exposition text.
    #[error("{url}: {source}")]
    Parse {
        /// Target URL.
        url: String,
        /// Parser error (with line).
        source: exposition::ExpositionError,
    },
}

impl Error {
    /// Low-cardinality reason for `qma_scrape_errors_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Fetch { .. } => "fetch",
            Error::Timeout { .. } => "timeout",
            Error::Status { .. } => "http_status",
            Error::TooLarge { .. } => "too_large",
            Error::Parse { .. } => "parse",
        }
    }
}

/// The samples kept for one target.
#[derive(Debug, Default)]
struct TargetState {
    /// Histogram bucket series by label-set hash: (le, samples).
    buckets: HashMap<u64, (f64, CounterSeries)>,
    /// Request counter series by label-set hash.
    requests: HashMap<u64, CounterSeries>,
    /// Sum of the in-flight gauge if the last scrape succeeded.
    inflight: Option<f64>,
}

impl TargetState {
    fn prune(&mut self, keep_after_ms: i64) {
        self.buckets.retain(|_, (_, s)| {
            s.prune(keep_after_ms);
            !s.is_empty()
        });
        self.requests.retain(|_, s| {
            s.prune(keep_after_ms);
            !s.is_empty()
        });
    }

    fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.requests.is_empty()
    }
}

/// One service being scraped.
pub struct ServiceScraper {
    /// Index of the service in the config (and in `Store::by_service`).
    index: usize,
    cfg: Service,
    /// Current target URLs (from discovery or static).
    targets: Arc<ArcSwap<Vec<String>>>,
    state: HashMap<String, TargetState>,
    bucket_name: String,
}

/// Outcome of one scrape round of a service, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    /// Targets scraped successfully.
    pub up: usize,
    /// Targets that failed.
    pub down: usize,
    /// Bytes read.
    pub bytes: usize,
}

impl ServiceScraper {
    /// A scraper for service `index` reading its targets from `targets`.
    pub fn new(index: usize, cfg: Service, targets: Arc<ArcSwap<Vec<String>>>) -> ServiceScraper {
        let bucket_name = format!("{}_bucket", cfg.histogram);
        ServiceScraper {
            index,
            cfg,
            targets,
            state: HashMap::new(),
            bucket_name,
        }
    }

    /// Scrapes every target once, then recomputes and stores the service's values.
    pub async fn round(
        &mut self,
        http: &Http,
        store: &Store,
        metrics: &ScrapeMetrics,
    ) -> RoundReport {
        let started = Instant::now();
        let targets = self.targets.load_full();
        let now = now_ms() as i64;
        let bodies: Vec<(String, Fetched)> = futures_util::stream::iter(targets.iter().cloned())
            .map(|url| async move {
                let r = http.fetch(&url).await;
                (url, r)
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let mut report = RoundReport {
            up: 0,
            down: 0,
            bytes: 0,
        };
        let mut first_error = None;
        for (url, body) in bodies {
            let result = body.and_then(|(text, format)| {
                report.bytes += text.len();
                self.ingest(&url, &text, format, now)
            });
            match result {
                Ok(()) => report.up += 1,
                Err(e) => {
                    report.down += 1;
                    if let Some(st) = self.state.get_mut(&url) {
                        st.inflight = None;
                    }
                    metrics.error(&self.cfg.name, e.reason());
                    debug!(service = %self.cfg.name, error = %e, "scrape failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        let keep_after = now - self.cfg.window.as_millis() as i64;
        self.state.retain(|url, st| {
            st.prune(keep_after);
            !st.is_empty() || targets.contains(url)
        });
        let svc = ServiceLabels {
            service: self.cfg.name.clone(),
        };
        metrics
            .duration
            .get_or_create(&svc)
            .observe(started.elapsed().as_secs_f64());
        metrics
            .bytes
            .get_or_create(&svc)
            .inc_by(report.bytes as u64);
        for (state, n) in [("up", report.up), ("down", report.down)] {
            metrics
                .targets
                .get_or_create(&TargetStateLabels {
                    service: self.cfg.name.clone(),
                    state: state.to_string(),
                })
                .set(n as i64);
        }

        let slots = &store.by_service[self.index];
        let status = &store.source_status[slots.source];
        if report.up == 0 && report.down > 0 {
            // Nothing fresh: keep the old values; they turn stale after max_staleness.
            let e = first_error.map_or_else(String::new, |e| e.to_string());
            status.set_error(Some(Arc::from(format!(
                "all {} targets of service {:?} failed: {e}",
                report.down, self.cfg.name
            ))));
            return report;
        }
        status.set_error(None);
        self.store_values(store, targets.as_slice(), now);
        report
    }

    /// Parses one target's body and appends its samples at `now`.
    fn ingest(
        &mut self,
        url: &str,
        text: &str,
        format: exposition::Format,
        now: i64,
    ) -> Result<(), Error> {
        let cfg = &self.cfg;
        let bucket_name = self.bucket_name.as_str();
        let counter = cfg.request_counter.as_deref();
        let gauge = cfg.inflight_gauge.as_deref();
        // Parse fully before touching state: a body that fails halfway adds nothing.
        let mut buckets = Vec::new();
        let mut requests = Vec::new();
        let mut inflight = 0.0;
        exposition::parse(text, format, |s| {
            if !cfg.matchers.iter().all(|m| m.matches(|k| s.label(k))) {
                return;
            }
            if s.name == bucket_name {
                if let Some(le) = s.label("le").and_then(window::parse_le) {
                    buckets.push((series_key(&s), le, s.value));
                }
            } else if counter
                .is_some_and(|c| s.name == c || s.name.strip_suffix("_total") == Some(c))
            {
                requests.push((series_key(&s), s.value));
            } else if gauge == Some(s.name) && s.value.is_finite() {
                inflight += s.value;
            }
        })
        .map_err(|source| Error::Parse {
            url: url.to_string(),
            source,
        })?;
        let st = self.state.entry(url.to_string()).or_default();
        for (key, le, v) in buckets {
            st.buckets
                .entry(key)
                .or_insert_with(|| (le, CounterSeries::default()))
                .1
                .push(now, v);
        }
        for (key, v) in requests {
            st.requests.entry(key).or_default().push(now, v);
        }
        st.inflight = Some(inflight);
        Ok(())
    }

    /// Recomputes quantiles, rate and in-flight from the kept samples.
    fn store_values(&self, store: &Store, live: &[String], now: i64) {
        let range = self.cfg.window.as_millis() as i64;
        let empty = match self.cfg.when_empty {
            WhenEmpty::Zero => 0.0,
            WhenEmpty::Omit => f64::NAN,
        };
        let buckets = window::sum_by_le(
            self.state
                .values()
                .flat_map(|t| t.buckets.values())
                .filter_map(|(le, s)| s.rate(now, range).map(|r| (*le, r))),
        );
        let slots = &store.by_service[self.index];
        let at = now.max(1) as u64;
        for (q, &i) in self.cfg.quantiles.iter().zip(&slots.latency) {
            let v = window::histogram_quantile(*q, &buckets);
            // No traffic in the window: PromQL says NaN; we serve 0 or no item, never NaN.
            store.series[i].set(if v.is_finite() { v } else { empty }, at);
        }
        if let Some(i) = slots.rate {
            let rates: Vec<f64> = self
                .state
                .values()
                .flat_map(|t| t.requests.values())
                .filter_map(|s| s.rate(now, range))
                .collect();
            let v = if rates.is_empty() {
                empty
            } else {
                rates.iter().sum()
            };
            store.series[i].set(v, at);
        }
        if let Some(i) = slots.inflight {
            let v: f64 = live
                .iter()
                .filter_map(|u| self.state.get(u)?.inflight)
                .sum();
            store.series[i].set(v, at);
        }
    }
}

/// A stable key for a sample's label set (all labels, in written order).
fn series_key(s: &exposition::Sample<'_>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.name.hash(&mut h);
    for (k, v) in &s.labels {
        if *k != "le" {
            k.hash(&mut h);
            v.hash(&mut h);
        }
    }
    // The bucket's `le` is part of the series identity too.
    s.label("le").hash(&mut h);
    h.finish()
}

/// A fetched body and its format, or why there is none.
pub type Fetched = Result<(String, exposition::Format), Error>;

/// The HTTP client of the scrapers: timeout and body limit.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    timeout: Duration,
    limit: usize,
}

impl Http {
    /// A client with the given per-scrape timeout and body limit.
    pub fn new(timeout: Duration, limit: usize) -> Http {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(2)
            .user_agent(concat!("queue-metrics-adapter/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Http {
            client,
            timeout,
            limit,
        }
    }

    /// GETs a target, asking for OpenMetrics or the text format like Prometheus does.
    pub async fn fetch(&self, url: &str) -> Fetched {
        let fetch = |detail: String| Error::Fetch {
            url: url.to_string(),
            detail,
        };
        let work = async {
            let mut resp = self
                .client
                .get(url)
                .header(
                    "accept",
                    "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                )
                .send()
                .await
                .map_err(|e| fetch(e.to_string()))?;
            if !resp.status().is_success() {
                return Err(Error::Status {
                    url: url.to_string(),
                    status: resp.status().as_u16(),
                });
            }
            let format = exposition::format_for(
                resp.headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
            );
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| fetch(e.to_string()))? {
                if body.len() + chunk.len() > self.limit {
                    return Err(Error::TooLarge {
                        url: url.to_string(),
                        limit: self.limit,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(body).map_err(|_| fetch("body is not UTF-8".into()))?;
            Ok((text, format))
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    url: url.to_string(),
                })
            })
    }
}

/// Runs every service's scrape round each `interval` until dropped.
pub async fn run(
    mut services: Vec<ServiceScraper>,
    http: Http,
    store: Arc<Store>,
    metrics: Arc<ScrapeMetrics>,
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        futures_util::future::join_all(
            services
                .iter_mut()
                .map(|s| s.round(&http, &store, &metrics)),
        )
        .await;
    }
}
