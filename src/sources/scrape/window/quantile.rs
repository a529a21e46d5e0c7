//! PromQL's classic-histogram `histogram_quantile()` (Prometheus 2.42's
//! `promql/quantile.go`), the `sum by (le)` that feeds it, and the parsing of
//! `le` label values (see the parent module for where it deviates).

use super::go_float::go_parse_float;

/// PromQL `histogram_quantile(q, …)` over classic-histogram buckets:
/// `(upper bound le, cumulative count or rate)` pairs, already summed by
/// `le` across series (see [`sum_by_le`]); the input may be in any order and
/// may repeat a bound (repeats are added up, like upstream's
/// `coalesceBuckets`).
///
/// Port of Prometheus 2.42's `bucketQuantile`: sorted by bound; NaN unless
/// the highest bound is +Inf; counts forced monotonic (running maximum);
/// NaN with fewer than two buckets or zero observations; linear
/// interpolation inside the bucket holding rank `q × observations` (the
/// first bucket whose count is `>= rank`, found with Go's `sort.Search`),
/// from 0 for the lowest bucket when its bound is positive; the lowest
/// bound itself when that is `<= 0` and the rank falls in it; the highest
/// finite bound when the rank falls in the +Inf bucket. So `q = 0` gives 0,
/// or the lowest bound if that is `<= 0`, or NaN (0/0) if the lowest bucket
/// has a positive bound and a count of 0; `q = 1` gives the upper bound of
/// the lowest bucket whose count reaches the total; a rank equal to a
/// bucket's count gives that bucket's upper bound.
///
/// Special values as in PromQL: `q` NaN → NaN, `q < 0` → −Inf, `q > 1` →
/// +Inf (checked before the buckets). Not in PromQL: no buckets at all, or
/// a NaN bound → NaN.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if buckets.is_empty() || buckets.iter().any(|&(le, _)| le.is_nan()) {
        return f64::NAN;
    }
    let mut b: Vec<(f64, f64)> = buckets.to_vec();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    match b.last() {
        Some(&(le, _)) if le == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    coalesce_buckets(&mut b);
    ensure_monotonic(&mut b);

    let n = b.len();
    if n < 2 {
        return f64::NAN;
    }
    let observations = b[n - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let i = go_sort_search(n - 1, |i| b[i].1 >= rank);

    if i == n - 1 {
        return b[n - 2].0;
    }
    if i == 0 && b[0].0 <= 0.0 {
        return b[0].0;
    }
    let mut bucket_start = 0.0;
    let bucket_end = b[i].0;
    let mut count = b[i].1;
    if i > 0 {
        bucket_start = b[i - 1].0;
        count -= b[i - 1].1;
        rank -= b[i - 1].1;
    }
    bucket_start + (bucket_end - bucket_start) * (rank / count)
}

/// Parses an `le` label value the way PromQL does, with Go's
/// `strconv.ParseFloat(s, 64)`: decimal (`"0.5"`, `".2"`, `"1e-3"`, `"5."`,
/// `"1_000"` with Go's digit-separator rules), hexadecimal with a binary
/// exponent (`"0x1p-2"`), `"Inf"`/`"Infinity"` in any case with an optional
/// sign (`"+Inf"`); no surrounding spaces.
///
/// `None` when Prometheus would skip the series: not a number, or out of
/// range (`"1e400"`, which Go rejects with `ErrRange`). Also `None` for
/// `"NaN"` (see the `window` module docs).
pub fn parse_le(s: &str) -> Option<f64> {
    go_parse_float(s).filter(|v| !v.is_nan())
}

/// `sum by (le)`: adds up `(le, value)` pairs from many series that have
/// the same bound and returns one pair per bound, sorted by bound.
///
/// A bound present in only some series is summed over those only. Values
/// of one bound are added in input order (the first taken as is); `-0.0`
/// and `0.0` are the same bound (the `-0.0` values are added first); NaN
/// bounds are kept, one pair each, at the end (or the start, for a negative
/// NaN).
pub fn sum_by_le(pairs: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = pairs.into_iter().collect();
    // Stable: equal bounds stay in input order.
    v.sort_by(|x, y| x.0.total_cmp(&y.0));
    coalesce_buckets(&mut v);
    v
}

/// Merges adjacent buckets with equal bounds (`==`) into the first one,
/// adding the counts in order (upstream `coalesceBuckets`; input sorted).
fn coalesce_buckets(b: &mut Vec<(f64, f64)>) {
    b.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
}

/// Prometheus 2.42 `ensureMonotonic`: raises every count that is lower than
/// the running maximum to it (the maximum starts at the first count).
fn ensure_monotonic(b: &mut [(f64, f64)]) {
    let Some(&(_, first)) = b.first() else {
        return;
    };
    let mut max = first;
    for bucket in b.iter_mut().skip(1) {
        if bucket.1 > max {
            max = bucket.1;
        } else if bucket.1 < max {
            bucket.1 = max;
        }
    }
}

/// Go's `sort.Search(n, f)`: the smallest `i` in `[0, n)` with `f(i)`, or
/// `n`, found by the same binary search (so the same answer even where `f`
/// is not monotonic).
fn go_sort_search(n: usize, f: impl Fn(usize) -> bool) -> usize {
    let (mut i, mut j) = (0usize, n);
    while i < j {
        let h = i + (j - i) / 2;
        if !f(h) {
            i = h + 1;
        } else {
            j = h;
        }
    }
    i
}
