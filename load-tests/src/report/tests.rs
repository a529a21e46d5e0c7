//! Tests of the report: page structure, escaping, number formatting, odd
//! data (empty, single tick, all-NaN), the verdict's expectations, the
//! sweep page, axes and downsampling.

use super::axis::{Axis, Scale};
use super::fmt::{Palette, dur, esc, int, num, quantile_name, ratio, secs};
use super::reduce::downsample;
use super::*;
use crate::outcome::{CandidateResult, RunMeta, ScaleEvent, Summary, Tick};

const EVIL: &str = "<script>alert(1)</script> & co";

/// A run whose desired replicas follow `reps(t)`, waits `wait(t)` (NaN
/// allowed), queue `4 × wait`, with the given summary figures.
fn run(
    service: &str,
    trace: &str,
    policy: &str,
    horizon: f64,
    reps: impl Fn(f64) -> u32,
    wait: impl Fn(f64) -> f64,
    summary: Summary,
) -> Run {
    let tick = 5.0;
    let n = (horizon / tick) as usize;
    let timeline = (1..=n)
        .map(|i| {
            let t = i as f64 * tick;
            let w = wait(t);
            Tick {
                t,
                arrival_rate: 10.0 + (i % 7) as f64,
                expected_rate: 12.0,
                queue_depth: if w.is_finite() { 4.0 * w } else { 0.0 },
                oldest_age: 0.0,
                inflight: 8.0,
                desired_replicas: reps(t),
                replicas: reps(t),
                ready_replicas: reps(t - 30.0),
                wait_quantile: w,
                wait_quantile_window: w,
                cpu_utilization: 0.12,
                memory_utilization: 0.9,
            }
        })
        .collect();
    Run {
        meta: RunMeta {
            mode: "simulate".into(),
            scenario: "scenarios/default.yaml".into(),
            service: service.into(),
            policy: policy.into(),
            trace: trace.into(),
            seed: 7,
            horizon,
            tick,
            slo_quantile: 0.95,
            slo_queue_wait: 15.0,
        },
        timeline,
        summary,
        events: vec![ScaleEvent {
            t: 300.0,
            from: 2,
            to: 10,
            reason: format!("TooManyReplicas {EVIL}"),
        }],
    }
}

fn summary(p95: f64, held: bool, replica_seconds: f64) -> Summary {
    Summary {
        requests: 1000,
        completed: 990,
        wait_p50: p95 / 3.0,
        wait_p95: p95,
        wait_p99: p95 * 1.5,
        wait_slo_quantile: p95,
        seconds_over_slo: if held { 0.0 } else { 1940.0 },
        slo_held: held,
        replica_seconds,
        peak_replicas: 10,
        scale_ups: 7,
        scale_downs: 3,
        flaps: 1,
        ..Summary::default()
    }
}

/// Four policies (one named EVIL) under a 45-min spike and a 24-h diurnal
/// trace; waits NaN where "no request arrived".
fn runs(with_oracle: bool) -> Vec<Run> {
    let mut out = Vec::new();
    for (trace, horizon) in [("spike", 2700.0), ("diurnal", 86400.0)] {
        let gap = |t: f64| {
            if (600.0..900.0).contains(&t) {
                f64::NAN
            } else {
                (t / 300.0).sin().abs() * 20.0
            }
        };
        out.push(run(
            "gateway",
            trace,
            "cpu-memory",
            horizon,
            |_| 10,
            |t| gap(t) * 40.0,
            summary(886.0, false, 25_525.0),
        ));
        out.push(run(
            "gateway",
            trace,
            "queue-depth",
            horizon,
            |t| 2 + (t / 600.0) as u32 % 20,
            gap,
            summary(6.2, true, 30_600.0),
        ));
        out.push(run(
            "gateway",
            trace,
            EVIL,
            horizon,
            |_| 3,
            gap,
            summary(9.0, true, 40_000.0),
        ));
        if with_oracle {
            out.push(run(
                "gateway",
                trace,
                "oracle",
                horizon,
                |_| 5,
                |_| 0.0,
                summary(0.0, true, 26_520.0),
            ));
        }
    }
    out
}

fn svg_count(html: &str) -> usize {
    html.matches("<svg").count()
}

/// Every path's `d` holds only digits, commands and separators, and at most
/// 1,500 points.
fn assert_clean_paths(html: &str) {
    for d in html.split(r#"<path d=""#).skip(1) {
        let d = &d[..d.find('"').unwrap()];
        assert!(
            d.chars()
                .all(|c| c.is_ascii_digit() || "MLHVZ .-".contains(c)),
            "bad path data: {d:.80}"
        );
        let points = d.matches(['M', 'L']).count();
        assert!(points <= 1500, "{points} points in one path");
    }
    for bad in ["NaN", "inf\"", "\"inf", ">inf<", "-inf"] {
        assert!(!html.contains(bad), "page contains {bad}");
    }
}

fn assert_self_contained(html: &str) {
    for bad in [
        "http://", "https://", "<script", "<link", "<img", "url(", "@import", "src=",
    ] {
        assert!(!html.contains(bad), "page contains {bad}");
    }
}

#[test]
fn comparison_structure() {
    let runs = runs(true);
    let html = comparison("Policies & <b>costs</b>", &runs, &[format!("note {EVIL}")]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    // Two groups (spike, diurnal) × four plots.
    assert_eq!(svg_count(&html), 8);
    assert_eq!(html.matches("</svg>").count(), 8);
    assert_self_contained(&html);
    assert_clean_paths(&html);
    // Escaping: title, notes, policy names, scale reasons.
    assert!(html.contains("Policies &amp; &lt;b&gt;costs&lt;/b&gt;"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    assert!(!html.contains("<b>costs"));
    // Legend entries: each policy in the queue and wait plots' legends and
    // beside its replica panel, per group.
    for name in ["cpu-memory", "queue-depth", "oracle"] {
        let n = html.matches(&format!(">{name}</text>")).count();
        assert!(n >= 6, "{name}: {n} legend entries");
    }
    assert!(html.contains(">expected rate</text>"));
    assert!(html.contains(">SLO: p95 ≤ 15 s</text>"));
    // Time axes: minutes for 45 min, hours for 24 h.
    assert!(html.contains("time since start (min)"));
    assert!(html.contains("time since start (h)"));
    // Table values.
    assert!(html.contains(">25,525<"));
    assert!(
        html.contains(">0.96×<"),
        "cpu-memory 25,525 / oracle 26,520"
    );
    assert!(html.contains(">1.00×<"));
    assert!(html.contains(">14.8 min<"), "886 s p95 wait");
    assert!(html.contains("✓ held") && html.contains("✗ missed"));
    assert!(html.contains(r#"<td class="bad">✗ missed</td>"#));
    assert!(html.contains("cheapest that held"));
    // Verdict: CPU missed as expected; queue-depth at 30,600 / 26,520 = 1.15×.
    assert!(html.contains("As expected, the CPU/memory rule missed the SLO"));
    assert!(html.contains("<b>queue-depth</b> at 1.15×"));
    assert!(html.contains("the HPA reported its maxReplicas limit"));
}

#[test]
fn colours_are_per_policy_across_the_page() {
    let mut pal = Palette::default();
    let a = pal.color("queue-depth");
    let b = pal.color("cpu-memory");
    assert_ne!(a, b);
    assert_eq!(pal.color("queue-depth"), a);
    assert_eq!(pal.color("oracle"), super::fmt::ORACLE_COLOR);
    let html = comparison("t", &runs(true), &[]);
    // queue-depth's swatch has the same colour in both tables.
    let sw = format!(
        r#"<span class="sw" style="background:{}"></span>queue-depth"#,
        super::fmt::PALETTE[1]
    );
    assert_eq!(html.matches(&sw).count(), 2, "{sw}");
}

#[test]
fn absent_oracle() {
    let html = comparison("no oracle", &runs(false), &[]);
    assert_eq!(svg_count(&html), 8);
    assert!(html.contains("There is no oracle run here"));
    assert!(html.contains("cannot be checked"));
    assert!(html.contains(r#"<td class="num">—</td>"#));
    assert!(!html.contains("oracle: ready, for reference"));
    assert_clean_paths(&html);
}

#[test]
fn odd_data_never_panics_nor_prints_nan() {
    // No runs at all.
    let html = comparison("empty", &[], &[]);
    assert!(html.contains("No runs."));
    assert_eq!(svg_count(&html), 0);

    let nan = Summary {
        wait_p95: f64::NAN,
        wait_p99: f64::INFINITY,
        replica_seconds: f64::NAN,
        ..Summary::default()
    };
    let mut empty = run("s", "t", "oracle", 0.0, |_| 0, |_| f64::NAN, nan);
    empty.meta.horizon = f64::NAN;
    empty.meta.tick = 0.0;
    empty.meta.slo_queue_wait = f64::NAN;
    empty.events.clear();
    let single = run(
        "s",
        "t",
        "queue-depth",
        5.0,
        |_| 1,
        |_| 3.0,
        summary(3.0, true, 5.0),
    );
    let all_nan = run("s", "t", "cpu-memory", 600.0, |_| 2, |_| f64::NAN, nan);
    let mut inf = run(
        "s",
        "t",
        "weird",
        600.0,
        |_| u32::MAX,
        |_| f64::INFINITY,
        nan,
    );
    inf.timeline[3].t = f64::NAN;
    inf.timeline[4].queue_depth = f64::NEG_INFINITY;
    let html = comparison("odd", &[empty, single, all_nan, inf], &[]);
    assert_eq!(svg_count(&html), 4);
    assert_clean_paths(&html);
    assert_self_contained(&html);

    // Only an empty run.
    let lone = run("s", "t", "p", 0.0, |_| 0, |_| 0.0, Summary::default());
    let html = comparison("lone", &[lone], &[]);
    assert!(html.contains("no ticks recorded"));
    assert_clean_paths(&html);
}

#[test]
fn verdict_says_otherwise_with_figures() {
    // The CPU rule holds the SLO and the cheapest queue policy costs 1.5×.
    let spike = |p: &str, s| run("gateway", "spike", p, 2700.0, |_| 4, |_| 1.0, s);
    let runs = vec![
        spike("cpu-memory-max40", summary(2.0, true, 60_000.0)),
        spike("queue-depth", summary(5.0, true, 45_000.0)),
        spike("oracle", summary(0.5, true, 30_000.0)),
    ];
    let html = comparison("t", &runs, &[]);
    assert!(html.contains(
        "<strong>The simulation says otherwise:</strong> the CPU/memory rule was expected to miss"
    ));
    assert!(html.contains("CPU utilization peaked at 12 % and memory at 90 %"));
    assert!(html.contains(
        "cost 1.50× the oracle's replica-seconds (expected ≤ 1.30×) because it averaged"
    ));
    assert!(html.contains("✗ held: says otherwise"));
    assert!(html.contains("✗ no: says otherwise"));

    // No queue policy holds it.
    let runs = vec![
        spike("queue-depth", summary(40.0, false, 45_000.0)),
        spike("oracle", summary(0.5, true, 30_000.0)),
    ];
    let html = comparison("t", &runs, &[]);
    assert!(html.contains("no queue policy held the SLO. Closest: <b>queue-depth</b>"));
    assert!(html.contains("No policy other than the oracle held the SLO."));
}

fn sweep_data(recommended: Option<usize>) -> Sweep {
    let cand = |name: &str, holds: bool, cost: f64, worst: f64| CandidateResult {
        name: name.into(),
        spec: serde_json::json!({"minReplicas": 2, "maxReplicas": 40, "metrics": [{"type": "External"}]}),
        per_trace: vec![
            summary(worst, holds, cost / 2.0),
            summary(worst / 2.0, true, cost / 2.0),
        ],
        holds_slo: holds,
        cost,
        worst_wait: worst,
    };
    Sweep {
        scenario: "scenarios/default.yaml".into(),
        service: "gateway".into(),
        traces: vec!["spike".into(), "diurnal".into()],
        slo_quantile: 0.95,
        slo_queue_wait: 15.0,
        candidates: vec![
            cand("queue-depth/target=5", true, 120_000.0, 4.0),
            cand(
                &format!("queue-depth/target=10 {EVIL}"),
                true,
                110_000.0,
                9.0,
            ),
            cand("queue-depth/target=40", false, 90_000.0, 85.0),
            cand("nan", false, f64::NAN, f64::NAN),
        ],
        recommended,
        oracle: vec![summary(0.5, true, 50_000.0), summary(0.2, true, 45_000.0)],
    }
}

#[test]
fn sweep_page() {
    let html = sweep("tune <gateway>", &sweep_data(Some(1)), &[]);
    assert_eq!(svg_count(&html), 1);
    assert_self_contained(&html);
    assert_clean_paths(&html);
    assert!(html.contains("tune &lt;gateway&gt;"));
    assert!(html.contains("queue-depth/target=10 &lt;script&gt;"));
    assert!(!html.contains("<script"));
    // The recommendation: labelled in the plot, first in the table, spec.
    assert!(html.contains(">recommended</text>"));
    assert!(html.contains(r#"<span class="tag good">recommended</span>"#));
    assert!(html.contains(">SLO 15 s</text>"));
    assert!(html.contains(">holds the SLO on every"));
    assert!(
        html.contains(">110,000<") && html.contains(">1.16×<"),
        "110,000 / 95,000"
    );
    assert!(html.contains("maxReplicas: 40"));
    assert!(html.contains("within the expected ≤ 1.30×"));
    // The cheaper candidate that misses comes after those that hold.
    let (a, b) = (
        html.find("queue-depth/target=5<").unwrap(),
        html.find("queue-depth/target=40<").unwrap(),
    );
    assert!(a < b);

    // With runs: the sweep's plot and four per group.
    let runs: Vec<Run> = runs(true)
        .into_iter()
        .filter(|r| r.meta.trace == "spike")
        .collect();
    let html = sweep("t", &sweep_data(Some(1)), &runs);
    assert_eq!(svg_count(&html), 5);

    // Nothing recommended; an index out of range; no candidates at all.
    let html = sweep("t", &sweep_data(None), &[]);
    assert!(html.contains("No candidate held the SLO on every trace"));
    assert!(html.contains("Closest: <b>queue-depth/target=5</b>"));
    let html = sweep("t", &sweep_data(Some(99)), &[]);
    assert!(html.contains("No candidate held"));
    let mut empty = sweep_data(None);
    empty.candidates.clear();
    empty.oracle.clear();
    let html = sweep("t", &empty, &[]);
    assert!(html.contains("no candidates"));
    assert_clean_paths(&html);
}

#[test]
fn sweep_over_the_expected_ratio_says_so() {
    let mut s = sweep_data(Some(1));
    s.oracle = vec![summary(0.5, true, 30_000.0), summary(0.2, true, 30_000.0)];
    let html = sweep("t", &s, &[]);
    assert!(
        html.contains(
            "<strong>The simulation says otherwise:</strong> the expectation was ≤ 1.30×"
        )
    );
    assert!(html.contains("1.83× on spike"));
}

#[test]
fn downsample_keeps_peaks_and_gaps() {
    let mut pts: Vec<(f64, f64)> = (0..17_280)
        .map(|i| (i as f64 * 5.0, (i % 13) as f64))
        .collect();
    pts[9_001].1 = 500.0;
    pts[12_000].1 = -3.0;
    for p in &mut pts[3_000..4_000] {
        p.1 = f64::NAN;
    }
    let out = downsample(&pts, 400);
    assert!(out.len() <= 802, "{}", out.len());
    let ys: Vec<f64> = out.iter().flatten().map(|p| p.1).collect();
    assert!(ys.contains(&500.0) && ys.contains(&-3.0));
    assert!(out.iter().any(Option::is_none), "the NaN stretch is a gap");
    assert!(out.iter().flatten().all(|p| p.1.is_finite()));
    // x stays in order.
    let xs: Vec<f64> = out.iter().flatten().map(|p| p.0).collect();
    assert!(xs.windows(2).all(|w| w[0] < w[1]));
    // Short series pass through; empty and all-NaN are fine.
    assert_eq!(downsample(&pts[..10], 400).len(), 10);
    assert!(downsample(&[], 400).is_empty());
    assert!(downsample(&[(0.0, f64::NAN); 5000], 400).is_empty());
}

#[test]
fn axes() {
    let labels = |a: &Axis| {
        a.ticks
            .iter()
            .map(|t| t.1.clone())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let t = Axis::time(2700.0);
    assert_eq!(labels(&t), "0 5 10 15 20 25 30 35 40 45");
    assert!(t.label.ends_with("(min)"));
    let t = Axis::time(86400.0);
    assert_eq!(labels(&t), "0 2 4 6 8 10 12 14 16 18 20 22 24");
    assert!(t.label.ends_with("(h)"));
    assert_eq!(Axis::time(f64::NAN).ticks.len(), 2);
    let l = Axis::linear("x", 0.0, 43.0);
    assert_eq!(labels(&l), "0 10 20 30 40 50");
    assert_eq!(Axis::linear("x", 0.0, 0.0).max, 1.0);
    assert_eq!(Axis::linear("x", 0.0, f64::NAN).max, 1.0);
    let g = Axis::log1p("w", 1250.0);
    assert_eq!((g.scale, g.max), (Scale::Log1p, 2000.0));
    assert_eq!(labels(&g), "0 1 10 100 1,000");
    assert!(g.label.ends_with("log scale"));
    assert_eq!(Axis::log1p("w", 40_000.0).ticks.last().unwrap().1, "50,000");
    // Auto: log only when one peak dwarfs most.
    assert_eq!(
        Axis::auto("q", &[19_000.0, 300.0, 200.0, 4_000.0]).scale,
        Scale::Log1p
    );
    assert_eq!(Axis::auto("q", &[60.0, 40.0, 30.0]).scale, Scale::Linear);
    assert_eq!(Axis::auto("q", &[]).scale, Scale::Linear);
    assert_eq!(g.frac(f64::NAN), 0.0);
    assert_eq!(g.frac(1e9), 1.0);
}

#[test]
fn legend_labels_wrap() {
    use super::svg::wrap;
    assert_eq!(wrap("queue-depth", 26), vec!["queue-depth"]);
    assert_eq!(
        wrap("queue-depth/target=10/up=fast/window=5m", 26),
        vec!["queue-depth/target=10/", "up=fast/window=5m"]
    );
    let w = wrap(&"x".repeat(80), 26);
    assert_eq!((w[0].chars().count(), w[1].chars().count()), (26, 26));
    assert!(w[1].ends_with('…'));
    let html = comparison(
        "t",
        &[run(
            "s",
            "t",
            "queue-depth/target=10/up=fast/window=5m",
            60.0,
            |_| 2,
            |_| 1.0,
            summary(1.0, true, 9.0),
        )],
        &[],
    );
    assert!(html.contains(r#">queue-depth/target=10/<tspan x="#));
    assert!(html.contains(r#"">up=fast/window=5m</tspan></text>"#));
}

#[test]
fn formatting() {
    assert_eq!(int(41_200.4), "41,200");
    assert_eq!(int(-1_234_567.0), "-1,234,567");
    assert_eq!(int(f64::NAN), "—");
    assert_eq!(num(3.214), "3.21");
    assert_eq!(num(15.34), "15.3");
    assert_eq!(num(0.0001), "≈ 0");
    assert_eq!(num(f64::INFINITY), "—");
    assert_eq!(secs(886.0), "886 s (14.8 min)");
    assert_eq!(secs(12_115.0), "12,115 s (3.37 h)");
    assert_eq!(dur(886.0), "14.8 min");
    assert_eq!(dur(51_630.0), "14.3 h");
    assert_eq!(dur(6.24), "6.24 s");
    assert_eq!(ratio(1.184), "1.18×");
    assert_eq!(quantile_name(0.95), "p95");
    assert_eq!(quantile_name(0.995), "p99.5");
    assert_eq!(
        esc(r#"<a href="x">&'"#),
        "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
    );
}

#[test]
fn write_creates_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/report.html");
    write(&path, "<p>x</p>").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "<p>x</p>");
}
