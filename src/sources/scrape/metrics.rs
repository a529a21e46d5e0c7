//! Service scrape metrics (`qma_scrape_*`), registered beside the scraper.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of per-service scrape metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServiceLabels {
    /// Service name from the config.
    pub service: String,
}

/// Labels of target counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetStateLabels {
    /// Service name.
    pub service: String,
    /// `up` or `down` in the last round.
    pub state: String,
}

/// Labels of scrape errors.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScrapeErrorLabels {
    /// Service name.
    pub service: String,
    /// `fetch`, `timeout`, `http_status`, `too_large`, `parse`.
    pub reason: String,
}

/// Service scrape metrics (`qma_scrape_*`).
pub struct ScrapeMetrics {
    /// Time of one round over all targets of a service.
    pub duration: Family<ServiceLabels, Histogram>,
    /// Body bytes read.
    pub bytes: Family<ServiceLabels, Counter>,
    /// Targets up and down in the last round.
    pub targets: Family<TargetStateLabels, Gauge>,
    /// Failed target scrapes by reason.
    pub errors: Family<ScrapeErrorLabels, Counter>,
}

impl ScrapeMetrics {
    pub fn register(r: &mut Registry) -> ScrapeMetrics {
        let m = ScrapeMetrics {
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 14))
            }),
            bytes: Family::default(),
            targets: Family::default(),
            errors: Family::default(),
        };
        r.register(
            "duration_seconds",
            "Time to scrape every target of a service",
            m.duration.clone(),
        );
        r.register("bytes", "Bytes of /metrics read", m.bytes.clone());
        r.register(
            "targets",
            "Targets up and down in the last round",
            m.targets.clone(),
        );
        r.register(
            "errors",
            "Target scrapes that failed, by service and reason",
            m.errors.clone(),
        );
        m
    }

    /// Counts one failed scrape.
    pub fn error(&self, service: &str, reason: &str) {
        self.errors
            .get_or_create(&ScrapeErrorLabels {
                service: service.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }
}
