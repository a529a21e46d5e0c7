//! PromQL's `rate()` and classic-histogram `histogram_quantile()`, computed
//! over samples the adapter scraped itself.
//!
//! The goal is to return, for the same samples, exactly what Prometheus
//! returns for
//!
//! ```text
//! sum(rate(counter[window]))
//! histogram_quantile(q, sum by (le) (rate(x_bucket[window])))
//! ```
//!
//! This module is pure: no I/O, no clock. Times are `i64` Unix
//! milliseconds passed in by the caller, values are `f64`.
//!
//! # What is ported, from which version
//!
//! The reference is **Prometheus 2.42.0**, the version Debian bookworm
//! ships as the `prometheus` package (`2.42.0+ds-5+deb12u1`), because the
//! adapter is compared against that binary. Upstream code, in
//! `github.com/prometheus/prometheus` at tag `v2.42.0`:
//!
//! - `promql/functions.go`: `funcRate` → `extrapolatedRate(…, isCounter =
//!   true, isRate = true)` → [`CounterSeries::rate`]. Counter resets add the
//!   value before the drop; the start of the extrapolation is cut at the
//!   counter's estimated zero point (`durationToZero`) *before* the
//!   1.1 × average-interval threshold is applied; the result is divided by
//!   the range in seconds (`time.Duration.Seconds()`).
//! - `promql/engine.go`: `matrixIterSlice`, which picks the samples of a
//!   range selector: the **closed** interval `[at − range, at]`, staleness
//!   markers skipped.
//! - `promql/engine.go`: `aggregation()` for `sum`: the first value of a
//!   group is taken as is, the others are added in order → [`sum_rate`],
//!   [`sum_by_le`].
//! - `promql/quantile.go`: `bucketQuantile`, `coalesceBuckets`,
//!   `ensureMonotonic` → [`histogram_quantile`]; `funcHistogramQuantile`
//!   (`promql/functions.go`) parses `le` with `strconv.ParseFloat(…, 64)` and
//!   skips series whose `le` does not parse → [`parse_le`].
//!
//! # Differences from later Prometheus versions
//!
//! These are the places where a newer Prometheus gives another answer for
//! the same samples; this module keeps the 2.42 behaviour.
//!
//! - **Zero-point cutoff order** (prometheus/prometheus PR #13725, merged
//!   March 2024, so in 2.5x releases and 3.x, not in 2.42). 2.42 first shortens
//!   `durationToStart` to `durationToZero` and *then* compares it with the
//!   threshold; newer versions first replace a too-long `durationToStart`
//!   by half an average interval and then cut at the zero point. They
//!   differ when the zero point lies between half an interval and 1.1
//!   intervals before the first sample: upstream's `functions.test`
//!   `testcounter_zero_cutoff{start="3m"}` / `{start="4m"}` give 0.65 / 0.7
//!   with 2.42 and 0.6 / 0.6 with newer versions (see the tests).
//! - **Range boundaries** (Prometheus 3.0): 2.x range selectors are closed,
//!   `[at − range, at]`; 3.x ones are left-open, `(at − range, at]`. With
//!   samples every 5m, `rate(x[5m])` has two samples in 2.42 and one (so no
//!   result) in 3.x.
//! - **Small deltas between buckets** (PR #13153, late 2023, and the
//!   3.x `correctPrecisionErrors`): newer versions first level out relative
//!   differences ≤ 1e-12 between adjacent cumulative buckets in either
//!   direction, then force monotonicity. 2.42 only forces monotonicity
//!   (the running maximum). Results differ by at most such tiny relative
//!   amounts.
//! - Newer versions also return annotations (warnings/infos) for forced
//!   monotonicity and out-of-range `q`; 2.42 has none and neither has this
//!   module.
//!
//! # Deliberate deviations
//!
//! - [`CounterSeries::push`] drops every NaN value. Prometheus skips only
//!   staleness markers (one NaN bit pattern) in a range; a target that
//!   exposes a literal `NaN` counter would make Prometheus' rate NaN (or
//!   odd), here those samples are simply absent.
//! - [`parse_le`] rejects `NaN`, which Go's `ParseFloat` accepts: with a NaN
//!   bound Prometheus' result depends on Go's sort internals and the input
//!   order, so it cannot be reproduced. [`histogram_quantile`] returns NaN
//!   when given a NaN bound.
//! - `sum by (le)` groups by the `le` label *string*, and
//!   `histogram_quantile` then merges groups whose strings parse to the same
//!   number (`"0.2"`, `"2e-1"`). [`sum_by_le`] merges by the parsed number
//!   at once. The sum is the same up to the order of floating-point
//!   additions.
//! - Where PromQL returns *no sample* this module returns `None` (rate) or
//!   NaN ([`histogram_quantile`] over no buckets at all).
//!
//! # Layout
//!
//! This file holds the counter series and `rate()`; `quantile` holds
//! `histogram_quantile()` with the `sum by (le)` before it, and `go_float`
//! Go's `strconv.ParseFloat`, which PromQL applies to `le` values.

mod go_float;
mod quantile;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use quantile::{histogram_quantile, parse_le, sum_by_le};

/// Samples of one counter series (one target's one bucket, or one
/// counter), oldest first, with strictly increasing timestamps.
///
/// Values are kept as scraped (cumulative); counter resets are dealt with
/// when the rate is computed, as PromQL does.
#[derive(Debug, Clone, Default)]
pub struct CounterSeries {
    /// `(t ms, value)`, timestamps strictly increasing, no NaN values.
    samples: VecDeque<(i64, f64)>,
}

impl CounterSeries {
    /// An empty series.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a sample. Returns whether it was stored.
    ///
    /// A sample whose timestamp is not after the last stored one is ignored
    /// (Prometheus' TSDB rejects out-of-order and duplicate samples the same
    /// way, keeping the first). A NaN value is ignored: it is treated as a
    /// staleness marker, which range selectors skip.
    pub fn push(&mut self, t_ms: i64, value: f64) -> bool {
        if value.is_nan() {
            return false;
        }
        if let Some(&(last_t, _)) = self.samples.back()
            && t_ms <= last_t
        {
            return false;
        }
        self.samples.push_back((t_ms, value));
        true
    }

    /// Drops the samples with `t < keep_from_ms`.
    ///
    /// A range of `range_ms` evaluated at `at_ms` reads `[at_ms − range_ms,
    /// at_ms]` (closed, as in Prometheus 2.x), so `prune(at_ms − range_ms)`
    /// keeps everything that evaluation and any later one can see.
    pub fn prune(&mut self, keep_from_ms: i64) {
        let drop = self.samples.partition_point(|&(t, _)| t < keep_from_ms);
        self.samples.drain(..drop);
    }

    /// Number of stored samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether no sample is stored.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The newest sample, `(t ms, value)`.
    pub fn last(&self) -> Option<(i64, f64)> {
        self.samples.back().copied()
    }

    /// PromQL `rate(series[range])` evaluated at `at_ms`: per-second
    /// increase, counter resets corrected, extrapolated towards the range
    /// boundaries as Prometheus 2.42's `extrapolatedRate` does (`isCounter`
    /// and `isRate` true).
    ///
    /// Only samples with `at_ms − range_ms <= t <= at_ms` are used (later
    /// ones are ignored, so a rate can be evaluated in the past). `None`
    /// where PromQL returns no sample: fewer than two samples in the range,
    /// or `range_ms <= 0` (which PromQL does not accept).
    pub fn rate(&self, at_ms: i64, range_ms: i64) -> Option<f64> {
        if range_ms <= 0 {
            return None;
        }
        let range_start = at_ms.saturating_sub(range_ms);
        let range_end = at_ms;
        let lo = self.samples.partition_point(|&(t, _)| t < range_start);
        let hi = self.samples.partition_point(|&(t, _)| t <= range_end);
        if hi < lo.saturating_add(2) {
            return None;
        }
        let (first_t, first_v) = *self.samples.get(lo)?;
        let (last_t, last_v) = *self.samples.get(hi - 1)?;
        let num_samples_minus_one = (hi - lo - 1) as f64;

        // Increase, with counter-reset correction: whenever a value is
        // lower than its predecessor, the predecessor is added.
        let mut result = last_v - first_v;
        let mut prev = first_v;
        for &(_, v) in self.samples.range(lo + 1..hi) {
            if v < prev {
                result += prev;
            }
            prev = v;
        }

        // Duration between first/last samples and boundary of range.
        let mut duration_to_start = ms_between_as_secs(range_start, first_t);
        let duration_to_end = ms_between_as_secs(last_t, range_end);
        let sampled_interval = ms_between_as_secs(first_t, last_t);
        let average_duration_between_samples = sampled_interval / num_samples_minus_one;

        // 2.42 order: the zero-point cut comes before the threshold test.
        if result > 0.0 && first_v >= 0.0 {
            let duration_to_zero = sampled_interval * (first_v / result);
            if duration_to_zero < duration_to_start {
                duration_to_start = duration_to_zero;
            }
        }

        let extrapolation_threshold = average_duration_between_samples * 1.1;
        let mut extrapolate_to_interval = sampled_interval;
        if duration_to_start < extrapolation_threshold {
            extrapolate_to_interval += duration_to_start;
        } else {
            extrapolate_to_interval += average_duration_between_samples / 2.0;
        }
        if duration_to_end < extrapolation_threshold {
            extrapolate_to_interval += duration_to_end;
        } else {
            extrapolate_to_interval += average_duration_between_samples / 2.0;
        }
        let mut factor = extrapolate_to_interval / sampled_interval;
        factor /= go_duration_seconds(range_ms);
        Some(result * factor)
    }
}

/// PromQL `sum(rate(counter[range]))` at `at_ms` over the given series.
///
/// Series without a rate (fewer than two samples in the range) contribute
/// nothing; `None` when no series has a rate (PromQL then returns no
/// sample). Rates are added in iteration order, the first taken as is,
/// like PromQL's `sum`.
pub fn sum_rate<'a>(
    series: impl IntoIterator<Item = &'a CounterSeries>,
    at_ms: i64,
    range_ms: i64,
) -> Option<f64> {
    let mut sum: Option<f64> = None;
    for rate in series.into_iter().filter_map(|s| s.rate(at_ms, range_ms)) {
        sum = Some(match sum {
            None => rate,
            Some(acc) => acc + rate,
        });
    }
    sum
}

/// `float64(to − from) / 1000` as upstream computes durations in seconds
/// from millisecond timestamps (without overflowing on extreme inputs).
fn ms_between_as_secs(from_ms: i64, to_ms: i64) -> f64 {
    (i128::from(to_ms) - i128::from(from_ms)) as f64 / 1000.0
}

/// Go's `time.Duration.Seconds()` for a duration of `ms` milliseconds:
/// whole seconds plus the nanosecond remainder divided by 1e9, rounded the
/// same way.
fn go_duration_seconds(ms: i64) -> f64 {
    let secs = ms / 1000;
    let nanos = (ms % 1000) * 1_000_000;
    secs as f64 + nanos as f64 / 1e9
}
