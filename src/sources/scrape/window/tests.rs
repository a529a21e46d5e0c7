//! Cases ported from upstream's PromQL test files (`promql/testdata/*.test`
//! up to 2.x, `promql/promqltest/testdata/*.test` since), with the
//! answers of Prometheus 2.42 where they differ from the current files;
//! every expected value was also checked against `promtool test rules`
//! of Debian bookworm's `prometheus 2.42.0+ds-5+deb12u1`.

use super::*;

const SEC: i64 = 1000;
const MIN: i64 = 60 * SEC;

/// Bucket series of one histogram: `(le label, series notation)`.
type Buckets<'a> = &'a [(&'a str, &'a str)];
/// (case, samples, at ms, range ms, want).
type EdgeCase<'a> = (&'a str, &'a [(i64, f64)], i64, i64, Option<f64>);
/// (case, buckets, interval ms, at ms, range ms or raw values, q, want).
type QuantileCase<'a> = (&'a str, Buckets<'a>, i64, i64, Option<i64>, f64, f64);
/// (grouping, bucket series of the group, q, want).
type AggregatedCase<'a> = (&'a str, Vec<(&'a str, &'a str)>, f64, f64);
/// (case, q, buckets, want).
type SpecialCase<'a> = (&'a str, f64, &'a [(f64, f64)], f64);

/// Expands upstream's series notation (the `load` lines of `.test` files
/// and promtool's `values`), one value per step: `a`, `a+bxn` / `a-bxn`
/// (n + 1 values from a, step b), `axn` (a, n + 1 times), `_` (no
/// sample), `_xn` (n steps without sample), `stale` (a staleness
/// marker, NaN).
fn expand(notation: &str) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for item in notation.split_whitespace() {
        if item == "_" {
            out.push(None);
        } else if item == "stale" {
            out.push(Some(f64::NAN));
        } else if let Some(n) = item.strip_prefix("_x") {
            out.extend(std::iter::repeat_n(None, n.parse().unwrap()));
        } else if let Some((head, n)) = item.split_once('x') {
            let n: usize = n.parse().unwrap();
            // The step's sign is the first '+'/'-' after the start value
            // that does not belong to an exponent.
            let hb = head.as_bytes();
            let split = (1..hb.len())
                .find(|&i| (hb[i] == b'+' || hb[i] == b'-') && !matches!(hb[i - 1], b'e' | b'E'));
            let (start, step) = match split {
                Some(i) => (
                    head[..i].parse::<f64>().unwrap(),
                    head[i..].parse::<f64>().unwrap(),
                ),
                None => (head.parse::<f64>().unwrap(), 0.0),
            };
            let mut v = start;
            for _ in 0..=n {
                out.push(Some(v));
                v += step;
            }
        } else {
            out.push(Some(item.parse().unwrap()));
        }
    }
    out
}

/// A series loaded like `load <interval>`: step i at `i × interval_ms`.
fn load(notation: &str, interval_ms: i64) -> CounterSeries {
    let mut s = CounterSeries::new();
    for (i, v) in expand(notation).into_iter().enumerate() {
        if let Some(v) = v {
            s.push(i as i64 * interval_ms, v);
        }
    }
    s
}

fn series(samples: &[(i64, f64)]) -> CounterSeries {
    let mut s = CounterSeries::new();
    for &(t, v) in samples {
        assert!(s.push(t, v));
    }
    s
}

/// 1e-9 absolute or relative; NaN equals NaN; infinities exactly.
fn close(got: f64, want: f64) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if want.is_infinite() || got.is_infinite() {
        return want == got;
    }
    let diff = (got - want).abs();
    diff <= 1e-9 || diff <= 1e-9 * want.abs()
}

fn check(case: &str, got: Option<f64>, want: Option<f64>) {
    let ok = match (got, want) {
        (Some(g), Some(w)) => close(g, w),
        (None, None) => true,
        _ => false,
    };
    assert!(ok, "{case}: got {got:?}, want {want:?}");
}

// ---------------------------------------------------------------- rate

enum Want {
    /// `rate(x[range])`.
    Rate(f64),
    /// `increase(x[range])`, checked as rate × range in seconds.
    Increase(f64),
    /// No sample.
    Absent,
}

struct RateCase {
    upstream: &'static str,
    notation: &'static str,
    interval_ms: i64,
    at_ms: i64,
    range_ms: i64,
    want: Want,
}

#[test]
fn rate_upstream_functions_test() {
    use Want::*;
    // promql/promqltest/testdata/functions.test unless noted. Where 2.42
    // answers differently from the current file, the comment says so.
    let cases = [
        // "Tests for increase()": load 5m http_requests_total{path=...}.
        RateCase {
            upstream: "increase(http_requests_total[50m]) @50m {path=\"/foo\"} 0+10x10",
            notation: "0+10x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Increase(100.0),
        },
        RateCase {
            // 3.x: 160 (left-open range drops the sample at 0m).
            upstream: "increase(http_requests_total[50m]) @50m {path=\"/bar\"} 0+18x5 0+18x5",
            notation: "0+18x5 0+18x5",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Increase(162.0),
        },
        RateCase {
            upstream: "increase(http_requests_total[50m]) @50m {path=\"/dings\"} 10+10x10",
            notation: "10+10x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Increase(100.0),
        },
        RateCase {
            upstream: "increase(http_requests_total[50m]) @50m {path=\"/bumms\"} 1+10x10",
            notation: "1+10x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Increase(100.0),
        },
        RateCase {
            upstream: "increase(http_requests_total[100m]) @50m {path=\"/foo\"}: zero at t=0, no extrapolation",
            notation: "0+10x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 100 * MIN,
            want: Increase(100.0),
        },
        RateCase {
            // 3.x: 162 as well.
            upstream: "increase(http_requests_total[100m]) @50m {path=\"/bar\"}",
            notation: "0+18x5 0+18x5",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 100 * MIN,
            want: Increase(162.0),
        },
        RateCase {
            // 2.42: the zero point (5m before) is > 1.1 intervals away,
            // so half an interval: 110. 3.x (PR #13725 order): 105.
            upstream: "increase(http_requests_total[100m]) @50m {path=\"/dings\"} 10+10x10",
            notation: "10+10x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 100 * MIN,
            want: Increase(110.0),
        },
        RateCase {
            upstream: "increase(http_requests_total[100m]) @50m {path=\"/bumms\"}: cut at the zero point 30s before",
            notation: "1+10x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 100 * MIN,
            want: Increase(101.0),
        },
        RateCase {
            upstream: "rate(http_requests_total[50m]) @50m {path=\"/bar\"} (2.42)",
            notation: "0+18x5 0+18x5",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Rate(0.054),
        },
        RateCase {
            upstream: "rate(http_requests_total[100m]) @50m {path=\"/bumms\"} (2.42)",
            notation: "1+10x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 100 * MIN,
            want: Rate(0.016833333333333332),
        },
        // promql/testdata/functions.test (2.x): http_requests{path="/bar"} 0+10x5 0+10x5.
        RateCase {
            upstream: "2.x functions.test increase(http_requests[50m]) @50m {path=\"/bar\"}",
            notation: "0+10x5 0+10x5",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Increase(90.0),
        },
        RateCase {
            upstream: "2.x functions.test increase(http_requests[50m]) @51m {path=\"/bar\"}",
            notation: "0+10x5 0+10x5",
            interval_ms: 5 * MIN,
            at_ms: 51 * MIN,
            range_ms: 50 * MIN,
            want: Increase(88.88888888888889),
        },
        RateCase {
            upstream: "2.x functions.test increase(http_requests[50m]) @51m {path=\"/foo\"}",
            notation: "0+10x10",
            interval_ms: 5 * MIN,
            at_ms: 51 * MIN,
            range_ms: 50 * MIN,
            want: Increase(100.0),
        },
        // "Test for increase() with counter reset": 3 2 counts as 3 0 1 2.
        RateCase {
            upstream: "increase(http_requests_total[30m]) @30m 0 1 2 3 2 3 4",
            notation: "0 1 2 3 2 3 4",
            interval_ms: 5 * MIN,
            at_ms: 30 * MIN,
            range_ms: 30 * MIN,
            want: Increase(7.0),
        },
        // "Tests for rate()".
        RateCase {
            // 3.x: 0.08.
            upstream: "rate(testcounter_reset_middle_total[50m]) @50m 0+27x4 0+27x5",
            notation: "0+27x4 0+27x5",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Rate(0.081),
        },
        RateCase {
            upstream: "2.x functions.test rate(testcounter_reset_middle[50m]) @50m 0+10x4 0+10x5",
            notation: "0+10x4 0+10x5",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Rate(0.03),
        },
        RateCase {
            // 3.x: no sample (one sample in the left-open range).
            upstream: "rate(testcounter_reset_end_total[5m]) @50m 0+10x9 0 10: reset at the end",
            notation: "0+10x9 0 10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 5 * MIN,
            want: Rate(0.0),
        },
        RateCase {
            upstream: "rate(testcounter_reset_end_total[6m]) @50m",
            notation: "0+10x9 0 10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 6 * MIN,
            want: Rate(0.0),
        },
        RateCase {
            upstream: "rate(testcounter_reset_end_total[4m]) @50m: one sample, no result",
            notation: "0+10x9 0 10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 4 * MIN,
            want: Absent,
        },
        RateCase {
            upstream: "rate(calculate_rate_window_total[50m]) @50m 0+80x10",
            notation: "0+80x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Rate(0.26666666666666666),
        },
        RateCase {
            upstream: "rate(http_requests_total{group=\"canary\"}[50m]) @50m 0+80x10 (deriv section)",
            notation: "0+80x10",
            interval_ms: 5 * MIN,
            at_ms: 50 * MIN,
            range_ms: 50 * MIN,
            want: Rate(0.26666666666666666),
        },
        RateCase {
            upstream: "rate(calculate_rate_offset_total[10m] offset 5m) @50m {x=\"a\"} 0+10x10",
            notation: "0+10x10",
            interval_ms: 5 * MIN,
            at_ms: 45 * MIN,
            range_ms: 10 * MIN,
            want: Rate(0.03333333333333333),
        },
        RateCase {
            upstream: "rate(calculate_rate_offset_total[10m] offset 5m) @50m {x=\"b\"} 0+20x10",
            notation: "0+20x10",
            interval_ms: 5 * MIN,
            at_ms: 45 * MIN,
            range_ms: 10 * MIN,
            want: Rate(0.06666666666666667),
        },
    ];
    for c in &cases {
        let s = load(c.notation, c.interval_ms);
        let got = s.rate(c.at_ms, c.range_ms);
        let range_s = c.range_ms as f64 / 1000.0;
        match c.want {
            Want::Rate(w) => check(c.upstream, got, Some(w)),
            Want::Increase(w) => check(c.upstream, got.map(|r| r * range_s), Some(w)),
            Want::Absent => check(c.upstream, got, None),
        }
    }
}

#[test]
fn rate_zero_cutoff_upstream() {
    // functions.test, load 4m testcounter_zero_cutoff_total{start=...}:
    // rate(testcounter_zero_cutoff_total[20m]) at 10m and at 50m.
    // At 10m, 2.42 gives 0.65 and 0.7 for start="3m"/"4m" (zero point
    // cut before the threshold test); since PR #13725 both are 0.6.
    let cases = [
        ("0m", "0+240x10", 0.5, 0.6),
        ("1m", "60+240x10", 0.55, 0.6),
        ("2m", "120+240x10", 0.6, 0.6),
        ("3m", "180+240x10", 0.65, 0.6),
        ("4m", "240+240x10", 0.7000000000000001, 0.6),
        ("5m", "300+240x10", 0.6, 0.6),
    ];
    for (start, notation, at_10m, at_50m) in cases {
        let s = load(notation, 4 * MIN);
        check(
            &format!("zero_cutoff start={start} @10m"),
            s.rate(10 * MIN, 20 * MIN),
            Some(at_10m),
        );
        check(
            &format!("zero_cutoff start={start} @50m"),
            s.rate(50 * MIN, 20 * MIN),
            Some(at_50m),
        );
    }
}

#[test]
fn sum_rate_upstream() {
    // functions.test "Tests for increase()" series, summed:
    // sum(rate(http_requests_total[50m])) @50m = 0.154 with 2.42.
    let all: Vec<CounterSeries> = ["0+10x10", "0+18x5 0+18x5", "10+10x10", "1+10x10"]
        .iter()
        .map(|n| load(n, 5 * MIN))
        .collect();
    check(
        "sum(rate(http_requests_total[50m]))",
        sum_rate(&all, 50 * MIN, 50 * MIN),
        Some(0.154),
    );
    // A series with no rate contributes nothing; none at all → no sample.
    let mut with_empty = all.clone();
    with_empty.push(CounterSeries::new());
    check(
        "sum with an empty series",
        sum_rate(&with_empty, 50 * MIN, 50 * MIN),
        Some(0.154),
    );
    check(
        "sum over nothing",
        sum_rate(&[] as &[CounterSeries], 50 * MIN, 50 * MIN),
        None,
    );
    check(
        "sum, no series has 2 samples",
        sum_rate(&all, 50 * MIN, MIN),
        None,
    );
}

#[test]
fn rate_extrapolation_edge_cases() {
    // Explicit timestamps; each answer is what promtool 2.42 returns for
    // rate(c[range]) at `at` over the same samples.
    let unaligned: Vec<(i64, f64)> = (0..7)
        .map(|i| (7 * SEC + 15 * SEC * i, 15.0 * i as f64))
        .collect();
    let near_zero: Vec<(i64, f64)> = (0..11)
        .map(|i| (100 * SEC + 30 * SEC * i, 3.0 + 60.0 * i as f64))
        .collect();
    let starts_inside: Vec<(i64, f64)> = (0..11)
        .map(|i| (200 * SEC + 10 * SEC * i, 1000.0 + 10.0 * i as f64))
        .collect();
    let ends_inside: Vec<(i64, f64)> = (0..16)
        .map(|i| (10 * SEC * i, 1000.0 + 10.0 * i as f64))
        .collect();
    let zero_between: Vec<(i64, f64)> = vec![(MIN, 45.0), (2 * MIN, 105.0), (3 * MIN, 165.0)];
    let negative_first: Vec<(i64, f64)> = vec![(0, -50.0), (MIN, 10.0), (2 * MIN, 70.0)];
    let resets: Vec<(i64, f64)> = vec![
        (0, 5.0),
        (15 * SEC, 20.0),
        (30 * SEC, 7.0),
        (45 * SEC, 12.0),
        (60 * SEC, 1.0),
        (75 * SEC, 0.0),
        (90 * SEC, 30.0),
    ];
    let constant: Vec<(i64, f64)> = (0..10).map(|i| (15 * SEC * i, 42.0)).collect();
    let ms: Vec<(i64, f64)> = (0..12)
        .map(|i| (1500 * i + 250, 2.5 * (i * i) as f64))
        .collect();
    let boundary: Vec<(i64, f64)> = vec![(0, 0.0), (5 * MIN, 30.0), (10 * MIN, 60.0)];
    let later: Vec<(i64, f64)> = (0..20).map(|i| (15 * SEC * i, 10.0 * i as f64)).collect();
    let per_second: Vec<(i64, f64)> = (0..20).map(|i| (SEC * i, i as f64)).collect();

    #[rustfmt::skip]
    let cases: &[EdgeCase] = &[
        ("15s samples from 7s, [60s] @100s", &unaligned, 100 * SEC, 60 * SEC, Some(0.9999999999999999)),
        ("15s samples from 7s, [30s] @100s", &unaligned, 100 * SEC, 30 * SEC, Some(1.0)),
        ("15s samples from 7s, [45s] @89s", &unaligned, 89 * SEC, 45 * SEC, Some(1.0)),
        ("15s samples from 7s, [90s] @97s", &unaligned, 97 * SEC, 90 * SEC, Some(1.0)),
        ("starting at 3, +60/30s, [5m] @400s", &near_zero, 400 * SEC, 5 * MIN, Some(2.0)),
        ("starting at 3, [5m] @160s: cut at the zero point", &near_zero, 160 * SEC, 5 * MIN, Some(0.41)),
        ("starting at 3, [60s] @130s", &near_zero, 130 * SEC, MIN, Some(1.05)),
        ("starting at 3, [2m] @220s", &near_zero, 220 * SEC, 2 * MIN, Some(2.0)),
        ("series starts 200s into [5m]: half an interval", &starts_inside, 300 * SEC, 5 * MIN, Some(0.35000000000000003)),
        ("series starts inside [2m] @260s", &starts_inside, 260 * SEC, 2 * MIN, Some(0.5416666666666666)),
        ("series ends at 150s, [5m] @300s: half an interval", &ends_inside, 300 * SEC, 5 * MIN, Some(0.5166666666666667)),
        ("series ends at 150s, [60s] @170s", &ends_inside, 170 * SEC, MIN, Some(0.75)),
        ("series ends at 150s, [60s] @162s", &ends_inside, 162 * SEC, MIN, Some(0.8833333333333333)),
        // 2.42 extrapolates to the zero point 45s before (threshold 66s);
        // newer versions only half an interval (30s) → 0.5.
        ("zero point between 0.5 and 1.1 intervals", &zero_between, 3 * MIN, 5 * MIN, Some(0.55)),
        ("negative first value: no zero-point cut", &negative_first, 150 * SEC, 5 * MIN, Some(0.6)),
        ("negative first value, [2m] @2m", &negative_first, 2 * MIN, 2 * MIN, Some(1.0)),
        ("three resets, [90s] @90s", &resets, 90 * SEC, 90 * SEC, Some(0.6444444444444445)),
        ("resets, [60s] @100s", &resets, 100 * SEC, MIN, Some(0.6888888888888888)),
        ("resets, [60s] @80s", &resets, 80 * SEC, MIN, Some(0.1333333333333333)),
        ("constant counter", &constant, 135 * SEC, MIN, Some(0.0)),
        ("ms timestamps, [4500ms] @10250ms", &ms, 10_250, 4_500, Some(16.666666666666664)),
        ("ms timestamps, [4499ms] @10250ms", &ms, 10_250, 4_499, Some(16.66666666666667)),
        ("ms timestamps, [4500ms] @10251ms", &ms, 10_251, 4_500, Some(16.666666666666664)),
        ("ms timestamps, [7777ms] @16999ms", &ms, 16_999, 7_777, Some(28.333333333333332)),
        // 2.x ranges are closed: the sample at exactly at − range counts.
        ("sample on the range start is in (2.x)", &boundary, 10 * MIN, 5 * MIN, Some(0.1)),
        ("one ms shorter: one sample, no result", &boundary, 10 * MIN, 5 * MIN - 1, None),
        ("samples after `at` are ignored", &later, 150 * SEC, MIN, Some(0.6666666666666666)),
        ("range of 1.1s (Go Duration.Seconds)", &per_second, 15 * SEC, 1_100, Some(1.0)),
        ("range of 2.3s", &per_second, 15 * SEC, 2_300, Some(1.0)),
        ("range of 4.7s @15.3s", &per_second, 15_300, 4_700, Some(1.0)),
    ];
    for &(name, samples, at, range, want) in cases {
        check(name, series(samples).rate(at, range), want);
    }
}

#[test]
fn rate_without_enough_samples() {
    let empty = CounterSeries::new();
    assert_eq!(empty.rate(0, MIN), None);
    let one = series(&[(0, 5.0)]);
    assert_eq!(one.rate(0, MIN), None);
    let two = series(&[(0, 5.0), (SEC, 6.0)]);
    assert!(two.rate(SEC, MIN).is_some());
    assert_eq!(two.rate(SEC, 0), None, "zero range");
    assert_eq!(two.rate(SEC, -5), None, "negative range");
    assert_eq!(two.rate(-SEC, MIN), None, "before all samples");
    assert_eq!(two.rate(10 * MIN, MIN), None, "after all samples");
}

#[test]
fn push_prune_last() {
    let mut s = CounterSeries::new();
    assert!(s.is_empty());
    assert_eq!(s.last(), None);
    assert!(s.push(10, 1.0));
    assert!(!s.push(10, 2.0), "duplicate timestamp: the first stays");
    assert!(!s.push(5, 3.0), "out of order");
    assert!(!s.push(20, f64::NAN), "staleness marker");
    assert!(s.push(20, 4.0));
    assert!(s.push(30, f64::INFINITY));
    assert_eq!(s.len(), 3);
    assert_eq!(s.last(), Some((30, f64::INFINITY)));
    s.prune(20);
    assert_eq!(s.len(), 2, "prune keeps t == keep_from_ms");
    s.prune(31);
    assert!(s.is_empty());
    assert_eq!(s.last(), None);

    // The `stale` marker of the series notation is skipped like Prometheus
    // skips it in a range: 0 10 stale 30 has the rate of 0 10 _ 30.
    let a = load("0 10 stale 30", MIN);
    let b = load("0 10 _ 30", MIN);
    assert_eq!(a.len(), 3);
    assert_eq!(a.rate(3 * MIN, 3 * MIN), b.rate(3 * MIN, 3 * MIN));

    // Pruning at at − range never changes that rate, nor later ones.
    let mut p = load("0+10x20", 15 * SEC);
    let before = p.rate(200 * SEC, MIN);
    let later = p.rate(300 * SEC, MIN);
    p.prune(200 * SEC - MIN);
    assert_eq!(p.rate(200 * SEC, MIN), before);
    assert_eq!(p.rate(300 * SEC, MIN), later);
    assert!(before.is_some());
}

#[test]
fn series_notation_helper() {
    assert_eq!(expand("0+10x2"), vec![Some(0.0), Some(10.0), Some(20.0)]);
    assert_eq!(
        expand("5-1x1 _ 7"),
        vec![Some(5.0), Some(4.0), None, Some(7.0)]
    );
    assert_eq!(expand("_x2 1x1"), vec![None, None, Some(1.0), Some(1.0)]);
    assert_eq!(expand("1e1+1e0x1"), vec![Some(10.0), Some(11.0)]);
    assert_eq!(expand("-1+2x1"), vec![Some(-1.0), Some(1.0)]);
    assert!(expand("stale")[0].unwrap().is_nan());
}

// ----------------------------------------------------- histogram_quantile

/// `histogram_quantile(q, sum by (le) (rate(buckets[range])))` (or over
/// the raw values at `at_ms` when `range_ms` is `None`), with the buckets
/// given as upstream `load` lines.
fn quantile_of(
    q: f64,
    buckets: &[(&str, &str)],
    interval_ms: i64,
    at_ms: i64,
    range_ms: Option<i64>,
) -> Option<f64> {
    let mut pairs = Vec::new();
    for &(le, notation) in buckets {
        let Some(le) = parse_le(le) else {
            continue;
        };
        let s = load(notation, interval_ms);
        let value = match range_ms {
            Some(range) => s.rate(at_ms, range),
            None => s
                .samples
                .iter()
                .rev()
                .find(|&&(t, _)| t <= at_ms)
                .map(|&(_, v)| v),
        };
        if let Some(v) = value {
            pairs.push((le, v));
        }
    }
    let summed = sum_by_le(pairs);
    // PromQL returns no sample when no bucket is left.
    (!summed.is_empty()).then(|| histogram_quantile(q, &summed))
}

// histograms.test, "Test histogram": two histograms, one starting
// below zero.
const TESTHISTOGRAM_POSITIVE: &[(&str, &str)] = &[
    ("0.1", "0+5x10"),
    (".2", "0+7x10"),
    ("1e0", "0+11x10"),
    ("+Inf", "0+12x10"),
];
const TESTHISTOGRAM_NEGATIVE: &[(&str, &str)] = &[
    ("-.2", "0+1x10"),
    ("-0.1", "0+2x10"),
    ("0.3", "0+2x10"),
    ("+Inf", "0+3x10"),
];

#[test]
fn histogram_quantile_upstream_testhistogram() {
    // histograms.test: "Quantile too low/too high", "Quantile value in
    // lowest/highest bucket", "Finally some useful quantiles", "More
    // realistic with rates" (2.x: rate(...[5m]), 3.x: [10m]); q = 1.2
    // added (same branch as upstream's 1.01).
    let cases: &[(f64, f64, f64)] = &[
        // (q, {start="positive"}, {start="negative"})
        (-0.1, f64::NEG_INFINITY, f64::NEG_INFINITY),
        (1.01, f64::INFINITY, f64::INFINITY),
        (1.2, f64::INFINITY, f64::INFINITY),
        (0.0, 0.0, -0.2),
        (0.2, 0.048, -0.2),
        (0.5, 0.15, -0.15),
        (0.8, 0.72, 0.3),
        (1.0, 1.0, 0.3),
    ];
    for &(q, want_pos, want_neg) in cases {
        for range in [None, Some(5 * MIN), Some(10 * MIN)] {
            for (name, buckets, want) in [
                ("positive", TESTHISTOGRAM_POSITIVE, want_pos),
                ("negative", TESTHISTOGRAM_NEGATIVE, want_neg),
            ] {
                let got = quantile_of(q, buckets, 5 * MIN, 50 * MIN, range);
                check(
                    &format!(
                        "histogram_quantile({q}, testhistogram_bucket{{start=\"{name}\"}}) range {range:?}"
                    ),
                    got,
                    Some(want),
                );
            }
        }
    }
}

#[test]
fn histogram_quantile_upstream_other_histograms() {
    // promqltest/testdata/histograms.test.
    let testhistogram2: &[(&str, &str)] = &[
        ("0", "0+0x10"),
        ("2", "0+1x10"),
        ("4", "0+2x10"),
        ("6", "0+3x10"),
        ("+Inf", "0+3x10"),
    ];
    let testhistogram3_pos: &[(&str, &str)] = &[
        ("0", "0+0x10"),
        ("0.1", "0+5x10"),
        (".2", "0+7x10"),
        ("1e0", "0+11x10"),
        ("+Inf", "0+11x10"),
    ];
    let testhistogram3_neg: &[(&str, &str)] = &[
        ("-.25", "0+0x10"),
        ("-.2", "0+1x10"),
        ("-0.1", "0+2x10"),
        ("0.3", "0+2x10"),
        ("+Inf", "0+2x10"),
    ];
    // "A histogram with nonmonotonic bucket counts".
    let nonmonotonic: &[(&str, &str)] = &[
        ("0.1", "0+2x10"),
        ("1", "0+1x10"),
        ("10", "0+5x10"),
        ("100", "0+4x10"),
        ("1000", "0+9x10"),
        ("+Inf", "0+8x10"),
    ];
    // "Different le representations in one histogram".
    let mixed_ins1: &[(&str, &str)] = &[
        ("0.1", "0+1x10"),
        ("0.2", "0+1x10"),
        ("2e-1", "0+1x10"),
        ("2.0e-1", "0+1x10"),
        ("+Inf", "0+4x10"),
    ];
    let mixed_ins2: &[(&str, &str)] = &[("+inf", "0+0x10"), ("+Inf", "0+0x10")];
    let empty: &[(&str, &str)] = &[("0.1", "0x10"), ("0.2", "0x10"), ("+Inf", "0x10")];
    let const_histogram: &[(&str, &str)] = &[
        ("0.0", "1 1 1 1 1"),
        ("1.0", "1 1 1 1 1"),
        ("2.0", "1 1 1 1 1"),
        ("+Inf", "1 1 1 1 1"),
    ];

    #[rustfmt::skip]
    let cases: &[QuantileCase] = &[
        // (case, buckets, interval, at, range, q, want)
        ("histogram_quantile(1./6., testhistogram2_bucket) @7m", testhistogram2, 5 * MIN, 7 * MIN, None, 1. / 6., 1.0),
        ("histogram_quantile(0.5, testhistogram2_bucket) @7m", testhistogram2, 5 * MIN, 7 * MIN, None, 0.5, 3.0),
        ("histogram_quantile(5./6., testhistogram2_bucket) @7m", testhistogram2, 5 * MIN, 7 * MIN, None, 5. / 6., 5.0),
        ("histogram_quantile(1./6., rate(testhistogram2_bucket[15m])) @47m", testhistogram2, 5 * MIN, 47 * MIN, Some(15 * MIN), 1. / 6., 1.0),
        ("histogram_quantile(0.5, rate(testhistogram2_bucket[15m])) @47m", testhistogram2, 5 * MIN, 47 * MIN, Some(15 * MIN), 0.5, 3.0),
        ("histogram_quantile(5./6., rate(testhistogram2_bucket[15m])) @47m", testhistogram2, 5 * MIN, 47 * MIN, Some(15 * MIN), 5. / 6., 5.0),
        ("histogram_quantile(0, testhistogram3_bucket) positive", testhistogram3_pos, 5 * MIN, 50 * MIN, None, 0.0, 0.0),
        ("histogram_quantile(0, testhistogram3_bucket) negative", testhistogram3_neg, 5 * MIN, 50 * MIN, None, 0.0, -0.25),
        ("histogram_quantile(0.25, testhistogram3_bucket) positive", testhistogram3_pos, 5 * MIN, 50 * MIN, None, 0.25, 0.055),
        ("histogram_quantile(0.25, testhistogram3_bucket) negative", testhistogram3_neg, 5 * MIN, 50 * MIN, None, 0.25, -0.225),
        ("histogram_quantile(0.5, testhistogram3_bucket) positive", testhistogram3_pos, 5 * MIN, 50 * MIN, None, 0.5, 0.125),
        ("histogram_quantile(0.5, testhistogram3_bucket) negative", testhistogram3_neg, 5 * MIN, 50 * MIN, None, 0.5, -0.2),
        ("histogram_quantile(0.75, testhistogram3_bucket) positive", testhistogram3_pos, 5 * MIN, 50 * MIN, None, 0.75, 0.45),
        ("histogram_quantile(0.75, testhistogram3_bucket) negative", testhistogram3_neg, 5 * MIN, 50 * MIN, None, 0.75, -0.15),
        ("histogram_quantile(1, testhistogram3_bucket) positive", testhistogram3_pos, 5 * MIN, 50 * MIN, None, 1.0, 1.0),
        ("histogram_quantile(1, testhistogram3_bucket) negative", testhistogram3_neg, 5 * MIN, 50 * MIN, None, 1.0, -0.1),
        ("histogram_quantile(0.01, nonmonotonic_bucket)", nonmonotonic, 5 * MIN, 50 * MIN, None, 0.01, 0.0045),
        ("histogram_quantile(0.5, nonmonotonic_bucket)", nonmonotonic, 5 * MIN, 50 * MIN, None, 0.5, 8.5),
        ("histogram_quantile(0.99, nonmonotonic_bucket)", nonmonotonic, 5 * MIN, 50 * MIN, None, 0.99, 979.75),
        ("histogram_quantile(0.01, rate(nonmonotonic_bucket[5m]))", nonmonotonic, 5 * MIN, 50 * MIN, Some(5 * MIN), 0.01, 0.0045),
        ("histogram_quantile(0.5, rate(nonmonotonic_bucket[5m]))", nonmonotonic, 5 * MIN, 50 * MIN, Some(5 * MIN), 0.5, 8.5),
        ("histogram_quantile(0.99, rate(nonmonotonic_bucket[5m]))", nonmonotonic, 5 * MIN, 50 * MIN, Some(5 * MIN), 0.99, 979.75),
        ("histogram_quantile(0.5, rate(mixed_bucket[10m])) ins1", mixed_ins1, 5 * MIN, 50 * MIN, Some(10 * MIN), 0.5, 0.15),
        ("histogram_quantile(0.75, rate(mixed_bucket[10m])) ins1", mixed_ins1, 5 * MIN, 50 * MIN, Some(10 * MIN), 0.75, 0.2),
        ("histogram_quantile(1, rate(mixed_bucket[10m])) ins1", mixed_ins1, 5 * MIN, 50 * MIN, Some(10 * MIN), 1.0, 0.2),
        ("histogram_quantile(0.5, rate(mixed_bucket[5m])) ins1 (2.x range)", mixed_ins1, 5 * MIN, 50 * MIN, Some(5 * MIN), 0.5, 0.15),
        ("histogram_quantile(0.5, rate(mixed_bucket[10m])) ins2", mixed_ins2, 5 * MIN, 50 * MIN, Some(10 * MIN), 0.5, f64::NAN),
        ("histogram_quantile(1, rate(mixed_bucket[10m])) ins2", mixed_ins2, 5 * MIN, 50 * MIN, Some(10 * MIN), 1.0, f64::NAN),
        ("histogram_quantile(0.2, rate(empty_bucket[10m]))", empty, 5 * MIN, 50 * MIN, Some(10 * MIN), 0.2, f64::NAN),
        ("histogram_quantile(1.0, sum by (le) (rate(const_histogram_bucket[5m]))) @5m", const_histogram, MIN, 5 * MIN, Some(5 * MIN), 1.0, f64::NAN),
    ];
    for &(name, buckets, interval, at, range, q, want) in cases {
        check(
            name,
            quantile_of(q, buckets, interval, at, range),
            Some(want),
        );
    }
}

#[test]
fn histogram_quantile_upstream_aggregated() {
    // histograms.test "Now a more realistic histogram per job and
    // instance to test aggregation" and "Aggregated histogram: ...":
    // histogram_quantile(q, sum(rate(request_duration_seconds_bucket[5m]))
    // by (le, ...)) @50m; 3.x uses [10m], same answers.
    const J1I1: &[(&str, &str)] = &[("0.1", "0+1x10"), ("0.2", "0+3x10"), ("+Inf", "0+4x10")];
    const J1I2: &[(&str, &str)] = &[("0.1", "0+2x10"), ("0.2", "0+5x10"), ("+Inf", "0+6x10")];
    const J2I1: &[(&str, &str)] = &[("0.1", "0+3x10"), ("0.2", "0+4x10"), ("+Inf", "0+6x10")];
    const J2I2: &[(&str, &str)] = &[("0.1", "0+4x10"), ("0.2", "0+7x10"), ("+Inf", "0+9x10")];
    #[rustfmt::skip]
    let cases: &[AggregatedCase] = &[
        ("by (le)", [J1I1, J1I2, J2I1, J2I2].concat(), 0.3, 0.075),
        ("by (le)", [J1I1, J1I2, J2I1, J2I2].concat(), 0.5, 0.1277777777777778),
        ("by (le, instance) ins1", [J1I1, J2I1].concat(), 0.3, 0.075),
        ("by (le, instance) ins2", [J1I2, J2I2].concat(), 0.3, 0.075),
        ("by (le, instance) ins1", [J1I1, J2I1].concat(), 0.5, 0.1333333333),
        ("by (le, instance) ins2", [J1I2, J2I2].concat(), 0.5, 0.125),
        ("by (le, job) job1", [J1I1, J1I2].concat(), 0.3, 0.1),
        ("by (le, job) job2", [J2I1, J2I2].concat(), 0.3, 0.0642857142857143),
        ("by (le, job) job1", [J1I1, J1I2].concat(), 0.5, 0.14),
        ("by (le, job) job2", [J2I1, J2I2].concat(), 0.5, 0.1125),
        ("by (le, job, instance) job1 ins1", J1I1.to_vec(), 0.3, 0.11),
        ("by (le, job, instance) job1 ins2", J1I2.to_vec(), 0.3, 0.09),
        ("by (le, job, instance) job2 ins1", J2I1.to_vec(), 0.3, 0.06),
        ("by (le, job, instance) job2 ins2", J2I2.to_vec(), 0.3, 0.0675),
        ("by (le, job, instance) job1 ins1", J1I1.to_vec(), 0.5, 0.15),
        ("by (le, job, instance) job1 ins2", J1I2.to_vec(), 0.5, 0.1333333333333333),
        ("by (le, job, instance) job2 ins1", J2I1.to_vec(), 0.5, 0.1),
        ("by (le, job, instance) job2 ins2", J2I2.to_vec(), 0.5, 0.1166666666666667),
    ];
    for (group, buckets, q, want) in cases {
        for range in [5 * MIN, 10 * MIN] {
            // Upstream gives 0.1333333333 (10 digits) for one case.
            let got = quantile_of(*q, buckets, 5 * MIN, 50 * MIN, Some(range)).unwrap();
            let ok = close(got, *want) || (got - want).abs() < 1e-10;
            assert!(
                ok,
                "histogram_quantile({q}, sum(rate(...[{range}ms])) {group}): got {got}, want {want}"
            );
        }
    }
}

#[test]
fn histogram_quantile_special_cases() {
    let inf = f64::INFINITY;
    let nan = f64::NAN;
    // Each answer checked against promtool 2.42 (bucketQuantile).
    #[rustfmt::skip]
    let cases: &[SpecialCase] = &[
        ("q NaN", nan, &[(1.0, 5.0), (inf, 10.0)], nan),
        ("q < 0 before looking at buckets", -0.5, &[], f64::NEG_INFINITY),
        ("q > 1 before looking at buckets", 1.5, &[(1.0, 5.0)], inf),
        ("no buckets at all (PromQL: no sample)", 0.5, &[], nan),
        ("highest bucket not +Inf", 0.5, &[(1.0, 5.0), (2.0, 6.0)], nan),
        ("only +Inf", 0.5, &[(inf, 5.0)], nan),
        ("zero observations", 0.5, &[(1.0, 0.0), (inf, 0.0)], nan),
        ("rank exactly at a bucket's count: its upper bound", 0.5, &[(1.0, 5.0), (2.0, 10.0), (inf, 10.0)], 1.0),
        ("q = 1: upper bound of the first bucket holding everything", 1.0, &[(1.0, 5.0), (2.0, 10.0), (inf, 10.0)], 2.0),
        ("q = 0 with an empty positive lowest bucket: 0/0", 0.0, &[(1.0, 0.0), (2.0, 5.0), (inf, 5.0)], nan),
        ("negative lowest bucket: its bound", 0.25, &[(-1.0, 2.0), (1.0, 4.0), (inf, 4.0)], -1.0),
        ("negative lowest bucket, q = 0", 0.0, &[(-1.0, 0.0), (1.0, 4.0), (inf, 4.0)], -1.0),
        ("lowest bound 0", 0.5, &[(0.0, 3.0), (1.0, 4.0), (inf, 4.0)], 0.0),
        ("rank in the +Inf bucket: highest finite bound", 0.9, &[(1.0, 5.0), (2.0, 6.0), (inf, 10.0)], 2.0),
        ("everything in +Inf", 0.5, &[(1.0, 0.0), (2.0, 0.0), (inf, 7.0)], 2.0),
        ("only negative finite bounds, q = 1", 1.0, &[(-2.0, 1.0), (-1.0, 3.0), (inf, 3.0)], -1.0),
        ("non-monotonic: running maximum", 0.9, &[(1.0, 5.0), (2.0, 3.0), (inf, 4.0)], 0.9),
        ("unsorted input", 0.5, &[(inf, 10.0), (2.0, 10.0), (1.0, 5.0)], 1.0),
        ("repeated bounds are added up", 0.5, &[(1.0, 2.0), (1.0, 3.0), (2.0, 10.0), (inf, 10.0)], 1.0),
        ("-0 and 0 are one bound", 0.5, &[(-0.0, 1.0), (0.0, 2.0), (1.0, 4.0), (inf, 6.0)], 0.0),
        ("NaN bound (not reproducible upstream)", 0.5, &[(nan, 1.0), (1.0, 5.0), (inf, 10.0)], nan),
    ];
    for &(name, q, buckets, want) in cases {
        check(name, Some(histogram_quantile(q, buckets)), Some(want));
    }
    // The caller's vector is left as it was.
    let v = vec![(inf, 10.0), (1.0, 5.0)];
    check("Vec", Some(histogram_quantile(0.5, &v)), Some(1.0));
    assert_eq!(v, vec![(inf, 10.0), (1.0, 5.0)]);
}

#[test]
fn sum_by_le_merges_and_sorts() {
    let inf = f64::INFINITY;
    let got = sum_by_le([
        (inf, 3.0),
        (0.1, 1.0),
        (0.2, 2.0),
        (0.1, 0.5),
        (inf, 4.0),
        (0.5, 7.0),
    ]);
    assert_eq!(got, vec![(0.1, 1.5), (0.2, 2.0), (0.5, 7.0), (inf, 7.0)]);
    assert!(sum_by_le(std::iter::empty()).is_empty());
    // Bounds parsed from different strings merge.
    let a = parse_le("0.2").unwrap();
    let b = parse_le("2e-1").unwrap();
    assert_eq!(sum_by_le([(a, 1.0), (b, 2.0)]), vec![(0.2, 3.0)]);
    let z = sum_by_le([(0.0, 1.0), (-0.0, 2.0)]);
    assert_eq!(z.len(), 1);
    assert_eq!(z[0].1, 3.0);
}

// ------------------------------------------------------------- parse_le

#[test]
fn parse_le_like_go_parse_float() {
    // Answers of strconv.ParseFloat (Go), as Prometheus 2.42 applies
    // them to `le` (checked through histogram_quantile in promtool).
    #[rustfmt::skip]
    let cases: &[(&str, Option<f64>)] = &[
        ("+Inf", Some(f64::INFINITY)), ("+inf", Some(f64::INFINITY)), ("Inf", Some(f64::INFINITY)),
        ("inf", Some(f64::INFINITY)), ("infinity", Some(f64::INFINITY)), ("+Infinity", Some(f64::INFINITY)),
        ("-Inf", Some(f64::NEG_INFINITY)), ("-iNfInItY", Some(f64::NEG_INFINITY)),
        ("infin", None), ("infx", None), ("Inf ", None),
        ("0.1", Some(0.1)), (".2", Some(0.2)), ("1e0", Some(1.0)), ("-.2", Some(-0.2)),
        ("2e-1", Some(0.2)), ("2.0e-1", Some(0.2)), ("1e-3", Some(0.001)), ("1E-3", Some(0.001)),
        ("5.", Some(5.0)), ("+.5", Some(0.5)), ("00012", Some(12.0)), ("1.5E+3", Some(1500.0)),
        ("0.005", Some(0.005)), ("2.5", Some(2.5)), ("10", Some(10.0)),
        ("123456789012345678901234567890", Some(1.2345678901234568e29)),
        ("0.000000000000000000000000000001e30", Some(1.0)),
        ("4.9e-324", Some(5e-324)), ("2.4703282292062328e-324", Some(5e-324)),
        ("2.4703282292062327e-324", Some(0.0)), ("1e-400", Some(0.0)),
        // Go's digit separators: only between digits.
        ("1_000", Some(1000.0)), ("1__0", None), ("_1", None), ("1_", None),
        ("1_.5", None), ("1._5", None), ("1e1_0", Some(1e10)),
        // Hexadecimal needs a binary exponent.
        ("0x1p-2", Some(0.25)), ("0X1P-2", Some(0.25)), ("0x1P+3", Some(8.0)), ("0x.8p1", Some(1.0)),
        ("0x_1p0", Some(1.0)), ("0x1_0p0", Some(16.0)), ("0x1", None),
        ("-0x1p-1074", Some(-5e-324)), ("0x1p-1075", Some(0.0)), ("0x1.8p-1075", Some(5e-324)),
        ("0x1.0000000000000000001p0", Some(1.0)), ("0x1fffffffffffffp0", Some(9007199254740991.0)),
        ("0x1fffffffffffff8p0", Some(144115188075855870.0)), ("0x1.fffffffffffff7p1023", Some(f64::MAX)),
        ("0x1.fffffffffffff8p1023", None), ("0x1p1024", None),
        // Out of range: ErrRange, skipped by Prometheus.
        ("1e400", None), ("-1e400", None), ("1.8e308", None),
("179769313486231580793728971405301e276", Some(f64::MAX)),
        ("1e", None), ("1e+", None), (".", None), ("+", None), ("-", None), ("", None),
        ("0.5s", None), ("1,5", None), ("0b101", None), ("0o7", None), (" 1", None),
        ("NaN", None), ("+nan", None), ("nan", None),
    ];
    for &(s, want) in cases {
        let got = parse_le(s);
        let ok = match (got, want) {
            (Some(g), Some(w)) => g == w && g.is_sign_negative() == w.is_sign_negative(),
            (None, None) => true,
            _ => false,
        };
        assert!(ok, "parse_le({s:?}) = {got:?}, want {want:?}");
    }
    assert!(parse_le("-0").unwrap().is_sign_negative());
}

// ------------------------------------------------------ property tests

/// SplitMix64: a small deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

#[test]
fn property_counter_rates_are_never_negative_or_nan() {
    let mut rng = Rng(0x5EED_0001);
    for iter in 0..5000 {
        let mut s = CounterSeries::new();
        let mut t = rng.below(100_000) as i64 - 50_000;
        let mut v = if rng.chance(0.3) {
            0.0
        } else {
            rng.unit() * 1e6
        };
        let n = rng.below(40);
        let mut samples = Vec::new();
        for _ in 0..n {
            assert!(s.push(t, v));
            samples.push((t, v));
            t += 1 + {
                let bound = if rng.chance(0.1) { 600_000 } else { 30_000 };
                rng.below(bound)
            } as i64;
            if rng.chance(0.1) {
                // Counter reset, to zero or a small value.
                v = if rng.chance(0.5) {
                    0.0
                } else {
                    rng.unit() * 10.0
                };
            } else if !rng.chance(0.2) {
                v += if rng.chance(0.5) {
                    rng.below(100) as f64
                } else {
                    rng.unit() * 1e3
                };
            }
        }
        let span = (t + 60_000) as u64 + 50_000;
        for _ in 0..5 {
            let at = rng.below(span) as i64 - 50_000;
            let range = 1 + {
                let bound = if rng.chance(0.5) { 120_000 } else { 3_600_000 };
                rng.below(bound)
            } as i64;
            let in_range = samples
                .iter()
                .filter(|&&(st, _)| at - range <= st && st <= at)
                .count();
            let got = s.rate(at, range);
            if in_range >= 2 {
                let r = got
                    .unwrap_or_else(|| panic!("iteration {iter}: no rate with {in_range} samples"));
                assert!(
                    r.is_finite() && r >= 0.0,
                    "iteration {iter}: rate {r} at {at} over {range}: {samples:?}"
                );
            } else {
                assert_eq!(got, None, "iteration {iter}: {in_range} samples");
            }
        }
    }
}

#[test]
fn property_quantile_within_finite_bounds() {
    let mut rng = Rng(0x5EED_0002);
    let candidates = [
        -10.0, -1.0, -0.5, -0.1, 0.0, 0.001, 0.005, 0.01, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 1e3,
    ];
    let mut finite_results = 0;
    for iter in 0..20_000 {
        let k = 1 + rng.below(6) as usize;
        let mut buckets: Vec<(f64, f64)> = (0..k)
            .map(|_| {
                let le = candidates[rng.below(candidates.len() as u64) as usize];
                let count = if rng.chance(0.2) {
                    0.0
                } else {
                    rng.unit() * 100.0
                };
                (le, count)
            })
            .collect();
        if rng.chance(0.5) {
            // Mostly monotonic input: cumulative counts.
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut acc = 0.0;
            for b in &mut buckets {
                acc += b.1;
                b.1 = acc;
            }
        }
        buckets.push((f64::INFINITY, rng.unit() * 200.0));
        let q = match rng.below(4) {
            0 => 0.0,
            1 => 1.0,
            _ => rng.unit(),
        };
        let got = histogram_quantile(q, &buckets);
        if !got.is_finite() {
            continue;
        }
        finite_results += 1;
        let lowest = buckets.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
        let highest = buckets
            .iter()
            .map(|b| b.0)
            .filter(|le| le.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let lo = if lowest > 0.0 { 0.0 } else { lowest };
        let tol = 1e-12 * highest.abs().max(lo.abs()).max(1.0);
        assert!(
            lo - tol <= got && got <= highest + tol,
            "iteration {iter}: {got} outside [{lo}, {highest}] for q={q} {buckets:?}"
        );
    }
    assert!(
        finite_results > 10_000,
        "too few finite results: {finite_results}"
    );
}

#[test]
fn property_sum_by_le_sorted_unique_and_total_preserved() {
    let mut rng = Rng(0x5EED_0003);
    for _ in 0..2000 {
        let n = rng.below(30);
        let pairs: Vec<(f64, f64)> = (0..n)
            .map(|_| (rng.below(8) as f64 / 4.0, rng.below(1000) as f64))
            .collect();
        let total: f64 = pairs.iter().map(|p| p.1).sum();
        let merged = sum_by_le(pairs.iter().copied());
        assert!(merged.windows(2).all(|w| w[0].0 < w[1].0), "{merged:?}");
        assert_eq!(
            merged.iter().map(|p| p.1).sum::<f64>(),
            total,
            "integers add exactly"
        );
    }
}

/// `x` in Go/C hexadecimal float notation (`%a`-like), exact.
fn hex_float(x: f64) -> String {
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let exp = ((bits >> 52) & 0x7FF) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        format!("{sign}0x0.{frac:013x}p-1022")
    } else {
        format!("{sign}0x1.{frac:013x}p{}", exp - 1023)
    }
}

#[test]
fn property_parse_le_round_trips() {
    let mut rng = Rng(0x5EED_0004);
    for _ in 0..20_000 {
        let x = f64::from_bits(rng.next_u64());
        if !x.is_finite() {
            continue;
        }
        for s in [
            format!("{x:e}"),
            format!("{x}"),
            format!("{x:?}"),
            hex_float(x),
        ] {
            let got = parse_le(&s);
            assert_eq!(got.map(f64::to_bits), Some(x.to_bits()), "parse_le({s:?})");
        }
    }
}

#[test]
fn property_no_panics_on_arbitrary_input() {
    let mut rng = Rng(0x5EED_0005);
    let specials = [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        5e-324,
        f64::MAX,
        f64::MIN,
    ];
    let times = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
    let pick_f = |rng: &mut Rng| {
        if rng.chance(0.3) {
            specials[rng.below(specials.len() as u64) as usize]
        } else {
            f64::from_bits(rng.next_u64())
        }
    };
    for _ in 0..3000 {
        let mut s = CounterSeries::new();
        for _ in 0..rng.below(10) {
            let t = if rng.chance(0.3) {
                times[rng.below(times.len() as u64) as usize]
            } else {
                rng.next_u64() as i64
            };
            s.push(t, pick_f(&mut rng));
        }
        for _ in 0..5 {
            let at = if rng.chance(0.5) {
                times[rng.below(times.len() as u64) as usize]
            } else {
                rng.next_u64() as i64
            };
            let range = if rng.chance(0.5) {
                times[rng.below(times.len() as u64) as usize]
            } else {
                rng.next_u64() as i64
            };
            let _ = s.rate(at, range);
        }
        let _ = sum_rate([&s, &s], 0, i64::MAX);
        s.prune(rng.next_u64() as i64);
        let buckets: Vec<(f64, f64)> = (0..rng.below(8))
            .map(|_| (pick_f(&mut rng), pick_f(&mut rng)))
            .collect();
        let q = pick_f(&mut rng);
        let _ = histogram_quantile(q, &buckets);
        let _ = histogram_quantile(rng.unit(), &buckets);
        let _ = sum_by_le(buckets.iter().copied());
        let bytes: Vec<u8> = (0..rng.below(24))
            .map(|_| b"0123456789xXpPeE._+-infINFaAbBfF "[rng.below(33) as usize])
            .collect();
        let _ = parse_le(&String::from_utf8_lossy(&bytes));
    }
}
