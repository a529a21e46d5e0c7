//! The constants of the system being modelled, in one place, so that the
//! simulator and the live run use the same: the pods' latency histogram,
//! the adapter's poll and scrape cadence and its query window, the
//! metrics-server resolution and the HPA's sync period; plus Prometheus'
//! `histogram_quantile`, which the adapter serves and both modes compute.

/// Name of the pods' histogram of end-to-end request seconds (arrival in
/// the queue to done); the adapter's `service_latency_seconds` is a
/// quantile of it.
pub const LATENCY_METRIC: &str = "llm_request_duration_seconds";

/// Upper bounds of [`LATENCY_METRIC`]'s finite buckets, seconds (plus
/// `+Inf`).
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// Name of the pods' counter of finished requests
/// (`service_request_rate` is its `rate`).
pub const REQUEST_COUNTER: &str = "llm_requests_total";

/// Name of the pods' gauge of requests in flight (`service_inflight` is
/// its sum).
pub const INFLIGHT_GAUGE: &str = "llm_requests_inflight";

/// Seconds between two Redis polls of the adapter (its `poll_interval`).
pub const POLL_INTERVAL: f64 = 1.0;

/// Seconds between two scrapes of the pods' `/metrics` by the adapter.
pub const SCRAPE_INTERVAL: f64 = 5.0;

/// The adapter's `rate(...[window])` window for service metrics, seconds.
pub const SERVICE_WINDOW: f64 = 60.0;

/// metrics-server's `--metric-resolution` (default 15 s): how often it
/// scrapes the kubelets, and the window a CPU rate is taken over.
pub const METRICS_RESOLUTION: f64 = 15.0;

/// `--horizontal-pod-autoscaler-sync-period` (default 15 s).
pub const HPA_SYNC_PERIOD: f64 = 15.0;

/// Prometheus' `histogram_quantile(q, ...)` over classic buckets given as
/// `(upper bound, cumulative count)`, in any order: a port of
/// `bucketQuantile` in prometheus/prometheus `promql/quantile.go`
/// (coalescing equal bounds, the 1e-12 precision fix, the monotonicity
/// fix, linear interpolation inside the bucket, a lower bound of 0 for the
/// first bucket, and the second-highest bound when the rank falls into
/// `+Inf`). `None` where Prometheus returns NaN: no observations, fewer
/// than two buckets, no `+Inf` bucket, or `q` NaN. `q < 0` gives -inf and
/// `q > 1` +inf, as upstream.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if q.is_nan() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let mut b: Vec<(f64, f64)> = buckets.to_vec();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    if !b.last().is_some_and(|l| l.0 == f64::INFINITY) {
        return None;
    }
    // coalesceBuckets
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(b.len());
    for (ub, c) in b {
        match merged.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => merged.push((ub, c)),
        }
    }
    let mut b = merged;
    // correctPrecisionErrors(buckets, 1e-12)
    let mut prev = b[0].1;
    for item in b.iter_mut().skip(1) {
        let delta = (item.1 - prev).abs();
        if delta == 0.0 {
            continue;
        }
        if delta / item.1 <= 1e-12 {
            item.1 = prev;
        } else {
            prev = item.1;
        }
    }
    // ensureMonotonic
    let mut max = b[0].1;
    for item in b.iter_mut().skip(1) {
        if item.1 > max {
            max = item.1;
        } else if item.1 < max {
            item.1 = max;
        }
    }
    if b.len() < 2 {
        return None;
    }
    let observations = b[b.len() - 1].1;
    if observations == 0.0 {
        return None;
    }
    let mut rank = q * observations;
    let i = b[..b.len() - 1].partition_point(|x| x.1 < rank);
    if i == b.len() - 1 {
        return Some(b[b.len() - 2].0);
    }
    if i == 0 && b[0].0 <= 0.0 {
        return Some(b[0].0);
    }
    let (mut start, end, mut count) = (0.0, b[i].0, b[i].1);
    if i > 0 {
        start = b[i - 1].0;
        count -= b[i - 1].1;
        rank -= b[i - 1].1;
    }
    Some(start + (end - start) * (rank / count))
}

/// The adapter's `service_latency_seconds` from per-bucket counts of
/// [`LATENCY_BUCKETS`] (non-cumulative; the last entry is the `+Inf`
/// bucket) over its window: [`histogram_quantile`], and 0 when the window
/// saw no request (`when_empty: zero`).
pub fn latency_quantile(q: f64, counts: &[f64; LATENCY_BUCKETS.len() + 1]) -> f64 {
    let mut cum = 0.0;
    let mut buckets = [(0.0, 0.0); LATENCY_BUCKETS.len() + 1];
    for (i, c) in counts.iter().enumerate() {
        cum += c;
        let ub = LATENCY_BUCKETS.get(i).copied().unwrap_or(f64::INFINITY);
        buckets[i] = (ub, cum);
    }
    histogram_quantile(q, &buckets)
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// The bucket of [`LATENCY_BUCKETS`] (`le`, inclusive) an observation of
/// `seconds` falls into; `LATENCY_BUCKETS.len()` for `+Inf`.
#[inline]
pub fn latency_bucket(seconds: f64) -> usize {
    // Branch-free: the bounds below the value (NaN lands in +Inf).
    LATENCY_BUCKETS
        .iter()
        .map(|&ub| usize::from(ub < seconds || seconds.is_nan()))
        .sum()
}
