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
mod http;
pub mod metrics;
pub mod window;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use tracing::debug;

use prometheus_client::registry::Registry;
use tracing::Instrument;

use super::Task;
use crate::config::{Config, Service, Targets, WhenEmpty};
use crate::store::{Builder, ServiceWriter, now_ms};
use crate::tick::{self, Round};
pub use http::{Fetched, Http};
use metrics::{ScrapeMetrics, ServiceLabels, TargetStateLabels};
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
    /// Where its values go.
    writer: ServiceWriter,
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
    /// A scraper for service `cfg` with its store writer, reading its targets from `targets`.
    pub fn build(
        cfg: &Service,
        store: &mut Builder,
        targets: Arc<ArcSwap<Vec<String>>>,
    ) -> ServiceScraper {
        let writer = store.service(
            &cfg.name,
            &cfg.namespaces,
            &cfg.labels,
            &cfg.quantiles,
            cfg.request_counter.is_some(),
            cfg.inflight_gauge.is_some(),
        );
        let cfg = cfg.clone();
        let bucket_name = format!("{}_bucket", cfg.histogram);
        ServiceScraper {
            writer,
            cfg,
            targets,
            state: HashMap::new(),
            bucket_name,
        }
    }

    /// Scrapes every target once, then recomputes and stores the service's values.
    pub async fn round(&mut self, http: &Http, metrics: &ScrapeMetrics) -> RoundReport {
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

        // A finished round, whatever its targets answered, is a read: the
        // service's own pods are the targets, and an adapter kept unready
        // would not bring them back.
        self.writer.mark_ready();
        if report.up == 0 && report.down > 0 {
            // Nothing fresh: keep the old values; they turn stale after max_staleness.
            let e = first_error.map_or_else(String::new, |e| e.to_string());
            self.writer.fail(Arc::from(format!(
                "all {} targets of service {:?} failed: {e}",
                report.down, self.cfg.name
            )));
            return report;
        }
        self.store_values(targets.as_slice(), now);
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
    fn store_values(&self, live: &[String], now: i64) {
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
        let latency = self.cfg.quantiles.iter().map(|q| {
            let v = window::histogram_quantile(*q, &buckets);
            // No traffic in the window: PromQL says NaN; we serve 0 or no item, never NaN.
            if v.is_finite() { v } else { empty }
        });
        let rate = || {
            let rates: Vec<f64> = self
                .state
                .values()
                .flat_map(|t| t.requests.values())
                .filter_map(|s| s.rate(now, range))
                .collect();
            if rates.is_empty() {
                empty
            } else {
                rates.iter().sum()
            }
        };
        let inflight = || {
            live.iter()
                .filter_map(|u| self.state.get(u)?.inflight)
                .sum()
        };
        self.writer
            .write(now.max(1) as u64, latency, rate, inflight);
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

/// The scrape source: one scraper per service, the targets' discovery, and
/// the round that scrapes them all every `scrape_interval`.
pub struct Scrape {
    /// One per configured service.
    pub services: Vec<ServiceScraper>,
    http: Http,
    metrics: Arc<ScrapeMetrics>,
    interval: Duration,
    discovery: Vec<Task>,
}

/// Why the scrape source cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A service follows EndpointSlices but no Kubernetes API is configured.
    #[error(
        "service {service:?} follows Kubernetes endpoints but there is no Kubernetes API (--kubeconfig)"
    )]
    NoKubernetes {
        /// The service.
        service: String,
    },
}

impl Scrape {
    /// Builds a scraper and a store writer per service, and registers
    /// `qma_scrape_*` on `registry`; services with Kubernetes targets need `kube`.
    pub fn build(
        config: &Config,
        store: &mut Builder,
        registry: &mut Registry,
        kube: Option<&kube::Client>,
    ) -> Result<Scrape, BuildError> {
        let metrics = Arc::new(ScrapeMetrics::register(
            registry.sub_registry_with_prefix("scrape"),
        ));
        let mut services = Vec::new();
        let mut discovery = Vec::new();
        for svc in &config.services {
            let targets = Arc::new(ArcSwap::from_pointee(Vec::new()));
            match &svc.targets {
                Targets::Static(urls) => targets.store(Arc::new(urls.clone())),
                Targets::Kubernetes {
                    namespace,
                    service,
                    port,
                } => {
                    let client = kube.cloned().ok_or_else(|| BuildError::NoKubernetes {
                        service: svc.name.clone(),
                    })?;
                    let span = tracing::info_span!("discovery", service = %svc.name);
                    discovery.push(Box::pin(
                        discovery::follow(
                            client,
                            namespace.clone(),
                            service.clone(),
                            port.clone(),
                            svc.scheme.clone(),
                            svc.path.clone(),
                            targets.clone(),
                        )
                        .instrument(span),
                    ) as Task);
                }
            }
            services.push(ServiceScraper::build(svc, store, targets));
        }
        Ok(Scrape {
            services,
            http: Http::new(config.scrape_timeout, config.scrape_body_limit),
            metrics,
            interval: config.scrape_interval,
            discovery,
        })
    }

    /// The discovery tasks and, if there are services, the scrape loop.
    pub fn tasks(self) -> Vec<Task> {
        let mut tasks = self.discovery;
        if !self.services.is_empty() {
            let span = tracing::info_span!("scrape", services = self.services.len());
            let round = Rounds {
                services: self.services,
                http: self.http,
                metrics: self.metrics,
            };
            tasks.push(Box::pin(tick::every(self.interval, round).instrument(span)));
        }
        tasks
    }
}

/// Every service's scrape round, concurrently.
struct Rounds {
    services: Vec<ServiceScraper>,
    http: Http,
    metrics: Arc<ScrapeMetrics>,
}

impl Round for Rounds {
    async fn round(&mut self) {
        let (http, metrics) = (&self.http, &*self.metrics);
        futures_util::future::join_all(self.services.iter_mut().map(|s| s.round(http, metrics)))
            .await;
    }
}
