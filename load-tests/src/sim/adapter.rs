//! queue-metrics-adapter as the HPA sees it through the external metrics
//! API (README "Metrics served").
//!
//! - Queue metrics come from a Redis poll every
//!   [`POLL_INTERVAL`](super::model::POLL_INTERVAL): `queue_depth` is what
//!   waits (a list's `LLEN`; a stream's undelivered entries, the consumer
//!   group's lag; a zset's due jobs, `ZCOUNT -inf now` with `max_score:
//!   now`), `queue_pending` a stream's delivered but unacknowledged entries
//!   (the requests in service: workers `XACK` when done), and
//!   `queue_oldest_age_seconds` the age of the oldest waiting *or pending*
//!   entry of a stream (a long request in service keeps it high with an
//!   empty queue, as the real metric does) or of the oldest due job of a
//!   zset (taken jobs leave the zset). A list has no oldest age, and only
//!   a stream has `queue_pending`.
//! - Service metrics come from scraping the pods every
//!   [`SCRAPE_INTERVAL`](super::model::SCRAPE_INTERVAL):
//!   `service_latency_seconds` is `histogram_quantile(q, sum by (le)
//!   (rate(bucket[60s])))` of the end-to-end histogram, 0 with no traffic
//!   in the window (`when_empty: zero`); `service_request_rate` the rate of
//!   finished requests; `service_inflight` the requests in service at the
//!   last scrape. The simulator keeps one service-wide series per bucket
//!   instead of one per pod: with every series sampled at the same
//!   instants, Prometheus' `rate` extrapolation scales all buckets alike
//!   and cancels in the quantile; only the observations of a pod between
//!   its last scrape and its disappearance, which Prometheus loses, are
//!   kept here.

use std::collections::VecDeque;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::model::{LATENCY_BUCKETS, latency_bucket, latency_quantile};
use crate::hpa::{Observe, PodState};
use crate::scenario::QueueKind;

/// Bucket counts of the latency histogram (the last is `+Inf`).
type Counts = [u64; LATENCY_BUCKETS.len() + 1];

/// One scrape: the cumulative series at an instant.
#[derive(Debug, Clone, Copy)]
struct Scrape {
    /// When.
    t: f64,
    /// Per-bucket observations so far (not cumulative over buckets).
    counts: Counts,
    /// Requests finished so far.
    finished: u64,
}

/// What the adapter last read, and the pods' series.
#[derive(Debug, Clone)]
pub(super) struct Adapter {
    /// The last poll: (depth, pending, oldest age); `None` before the first.
    queue: Option<(f64, f64, f64)>,
    /// The pods' histogram, live (per bucket, not cumulative).
    counts: Counts,
    /// The pods' finished-request counter, live.
    finished: u64,
    /// Scrapes within the window, oldest first.
    scrapes: VecDeque<Scrape>,
    /// In flight at the last scrape.
    inflight: f64,
    /// The `rate` window, seconds.
    window: f64,
}

impl Adapter {
    /// Nothing polled or scraped yet; `window` is the `rate` window.
    pub(super) fn new(window: f64) -> Adapter {
        Adapter {
            queue: None,
            counts: [0; LATENCY_BUCKETS.len() + 1],
            finished: 0,
            scrapes: VecDeque::new(),
            inflight: 0.0,
            window,
        }
    }

    /// A pod finished a request that took `latency` seconds end to end.
    #[inline]
    pub(super) fn observe(&mut self, latency: f64) {
        self.counts[latency_bucket(latency)] += 1;
        self.finished += 1;
    }

    /// The Redis poll's readings.
    pub(super) fn poll(&mut self, depth: f64, pending: f64, oldest_age: f64) {
        self.queue = Some((depth, pending, oldest_age));
    }

    /// A scrape of the pods at `t` with `inflight` requests in service.
    pub(super) fn scrape(&mut self, t: f64, inflight: f64) {
        self.scrapes.push_back(Scrape {
            t,
            counts: self.counts,
            finished: self.finished,
        });
        // Prometheus 2.x ranges are closed: a sample exactly `window` old
        // is in.
        while self
            .scrapes
            .front()
            .is_some_and(|s| s.t < t - self.window - 1e-9)
        {
            self.scrapes.pop_front();
        }
        self.inflight = inflight;
    }

    /// The first and last scrape of the window, if there are two.
    fn span(&self) -> Option<(&Scrape, &Scrape)> {
        match (self.scrapes.front(), self.scrapes.back()) {
            (Some(a), Some(b)) if b.t > a.t => Some((a, b)),
            _ => None,
        }
    }

    /// `service_latency_seconds` for quantile `q`.
    pub(super) fn latency(&self, q: f64) -> f64 {
        let Some((a, b)) = self.span() else {
            return 0.0;
        };
        let mut delta = [0.0; LATENCY_BUCKETS.len() + 1];
        for (d, (x, y)) in delta.iter_mut().zip(a.counts.iter().zip(&b.counts)) {
            *d = (y - x) as f64;
        }
        latency_quantile(q, &delta)
    }

    /// `service_request_rate`: finished requests per second.
    pub(super) fn request_rate(&self) -> f64 {
        self.span()
            .map_or(0.0, |(a, b)| (b.finished - a.finished) as f64 / (b.t - a.t))
    }
}

/// The world one HPA sync sees: the pods and the adapter.
pub(super) struct View<'a> {
    /// The pod lister's answer.
    pub(super) pods: &'a [PodState],
    /// The adapter's readings.
    pub(super) adapter: &'a Adapter,
    /// The service's queue type.
    pub(super) kind: &'a QueueKind,
}

/// The `quantile` label of a selector.
fn quantile_label(selector: Option<&LabelSelector>) -> Option<f64> {
    selector?
        .match_labels
        .as_ref()?
        .get("quantile")?
        .trim()
        .parse()
        .ok()
}

impl Observe for View<'_> {
    fn pods(&self) -> &[PodState] {
        self.pods
    }

    fn external(
        &self,
        metric_name: &str,
        selector: Option<&LabelSelector>,
    ) -> Result<Vec<f64>, String> {
        let a = self.adapter;
        let queue = || {
            a.queue
                .ok_or_else(|| "no poll of the queue yet".to_string())
        };
        let value = match metric_name {
            "queue_depth" => queue()?.0,
            "queue_pending" if self.kind.has_pending() => queue()?.1,
            "queue_oldest_age_seconds" if self.kind.has_oldest_age() => queue()?.2,
            "service_latency_seconds" => {
                let q = quantile_label(selector)
                    .ok_or_else(|| "selector has no numeric quantile label".to_string())?;
                a.latency(q)
            }
            "service_request_rate" => a.request_rate(),
            "service_inflight" => a.inflight,
            other => return Err(format!("the adapter serves no {other} for this queue")),
        };
        Ok(vec![value])
    }
}
