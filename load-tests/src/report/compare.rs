//! A set of runs compared: grouped by service, then trace; per group a
//! summary table, a verdict and four plots over one time axis (arrivals,
//! queue depth, replicas desired and ready, wait at the SLO quantile against
//! the SLO); and an overview table of every group at the top.

use std::fmt::Write as _;

use crate::outcome::Run;

use super::axis::Axis;
use super::fmt::{Palette, dur, esc, int, quantile_name, ratio, secs, swatch};
use super::reduce::{BUCKETS, downsample};
use super::svg::{Chart, LegendItem, Mark, Panel, RefLine, Series};
use super::verdict::{EXPECTED_RATIO, Expect, Facts, Verdict, verdict};

/// Colour of the SLO line.
pub(crate) const SLO_COLOR: &str = "#B00020";

/// The runs of one service under one trace.
#[derive(Debug)]
pub(crate) struct Group<'a> {
    /// Service name.
    pub service: &'a str,
    /// Trace name.
    pub trace: &'a str,
    /// Its runs, in the order given.
    pub runs: Vec<&'a Run>,
}

/// Groups `runs` by service, then trace, each in order of first appearance.
pub(crate) fn groups(runs: &[Run]) -> Vec<Group<'_>> {
    let mut out: Vec<Group> = Vec::new();
    for r in runs {
        match out
            .iter_mut()
            .find(|g| g.service == r.meta.service && g.trace == r.meta.trace)
        {
            Some(g) => g.runs.push(r),
            None => out.push(Group {
                service: &r.meta.service,
                trace: &r.meta.trace,
                runs: vec![r],
            }),
        }
    }
    let order: Vec<&str> = out.iter().fold(Vec::new(), |mut v, g| {
        if !v.contains(&g.service) {
            v.push(g.service);
        }
        v
    });
    out.sort_by_key(|g| order.iter().position(|s| *s == g.service));
    out
}

/// Names of a group's runs on the page: the policy, told apart by mode and
/// seed when a policy ran more than once.
fn labels(g: &Group) -> Vec<String> {
    let mut out: Vec<String> = g
        .runs
        .iter()
        .map(|r| {
            let dup = g
                .runs
                .iter()
                .filter(|o| o.meta.policy == r.meta.policy)
                .count()
                > 1;
            if dup {
                format!("{} ({}, seed {})", r.meta.policy, r.meta.mode, r.meta.seed)
            } else {
                r.meta.policy.clone()
            }
        })
        .collect();
    for i in 0..out.len() {
        if out[..i].contains(&out[i]) {
            out[i] = format!("{} #{}", out[i], i + 1);
        }
    }
    out
}

/// Index of the oracle's run: the policy called "oracle" (any case), else
/// one whose name contains it.
fn oracle_index(g: &Group) -> Option<usize> {
    g.runs
        .iter()
        .position(|r| r.meta.policy.eq_ignore_ascii_case("oracle"))
        .or_else(|| {
            g.runs
                .iter()
                .position(|r| super::fmt::is_oracle(&r.meta.policy))
        })
}

/// A group rendered: its `<section>` and its verdict.
pub(crate) struct Rendered {
    /// The HTML.
    pub html: String,
    /// The verdict, for the overview.
    pub verdict: Verdict,
}

/// Renders group `g` as section `id`.
pub(crate) fn section(g: &Group, id: &str, pal: &mut Palette) -> Rendered {
    let labels = labels(g);
    let oracle = oracle_index(g);
    let oracle_cost = oracle.map(|i| g.runs[i].summary.replica_seconds);
    let facts: Vec<Facts> = g
        .runs
        .iter()
        .zip(&labels)
        .map(|(r, l)| Facts::new(r, l.clone(), oracle_cost))
        .collect();
    let colors: Vec<&'static str> = g.runs.iter().map(|r| pal.color(&r.meta.policy)).collect();
    let verdict = verdict(&facts, oracle);
    let m = &g.runs[0].meta;
    let horizon = g
        .runs
        .iter()
        .flat_map(|r| [r.meta.horizon, r.timeline.last().map_or(0.0, |k| k.t)])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<section id="{id}"><h2>{} · {}</h2><p class="meta">SLO: {} queue wait ≤ {} · {}, seed {} · {} at {} ticks · {} runs</p>"#,
        esc(g.service),
        esc(g.trace),
        quantile_name(m.slo_quantile),
        secs(m.slo_queue_wait),
        esc(&m.mode),
        m.seed,
        super::fmt::clock(horizon, horizon),
        secs(m.tick),
        g.runs.len()
    );
    let _ = write!(h, r#"<div class="verdict">{}</div>"#, verdict.html);
    table(&mut h, g, &labels, &colors, &facts, oracle, &verdict);
    let x = Axis::time(horizon);
    for chart in charts(g, id, &labels, &colors, x) {
        h.push_str(r#"<figure>"#);
        h.push_str(&chart.render());
        h.push_str("</figure>");
    }
    h.push_str("</section>");
    Rendered { html: h, verdict }
}

#[allow(clippy::too_many_arguments)]
fn table(
    h: &mut String,
    g: &Group,
    labels: &[String],
    colors: &[&str],
    facts: &[Facts],
    oracle: Option<usize>,
    v: &Verdict,
) {
    let q = g.runs[0].meta.slo_quantile;
    let extra_q = (q - 0.95).abs() > 1e-9 && (q - 0.99).abs() > 1e-9;
    h.push_str(r#"<div class="scroll"><table><thead><tr><th>Policy</th><th>p95 wait</th><th>p99 wait</th>"#);
    if extra_q {
        let _ = write!(h, "<th>{} wait (SLO)</th>", quantile_name(q));
    }
    h.push_str(
        "<th>Time over SLO</th><th>Replica-seconds</th><th>× oracle</th><th>Peak replicas</th>\
         <th>Scale ups / downs</th><th>Flaps</th><th>SLO</th></tr></thead><tbody>",
    );
    for (i, r) in g.runs.iter().enumerate() {
        let s = &r.summary;
        let tag = match (&v.cheapest, Some(i) == oracle) {
            (_, true) => r#" <span class="tag">limit</span>"#.to_owned(),
            (Some((name, _)), _) if *name == labels[i] => {
                r#" <span class="tag good">cheapest that held</span>"#.to_owned()
            }
            _ => String::new(),
        };
        let r_cell = match facts[i].ratio {
            Some(x) if x > EXPECTED_RATIO && s.slo_held && Some(i) != oracle => {
                format!(r#"<td class="num warn">{}</td>"#, ratio(x))
            }
            Some(x) => format!(r#"<td class="num">{}</td>"#, ratio(x)),
            None => r#"<td class="num">—</td>"#.to_owned(),
        };
        let wait_class = |w: f64| {
            if w > r.meta.slo_queue_wait {
                "num badtext"
            } else {
                "num"
            }
        };
        let _ = write!(
            h,
            r#"<tr><td class="name">{}{}{tag}</td><td class="{}">{}</td><td class="{}">{}</td>"#,
            swatch(colors[i]),
            esc(&labels[i]),
            if (q - 0.95).abs() < 1e-9 {
                wait_class(s.wait_p95)
            } else {
                "num"
            },
            dur(s.wait_p95),
            if (q - 0.99).abs() < 1e-9 {
                wait_class(s.wait_p99)
            } else {
                "num"
            },
            dur(s.wait_p99),
        );
        if extra_q {
            let _ = write!(
                h,
                r#"<td class="{}">{}</td>"#,
                wait_class(s.wait_slo_quantile),
                dur(s.wait_slo_quantile)
            );
        }
        let _ = write!(
            h,
            r#"<td class="num">{}</td><td class="num">{}</td>{r_cell}<td class="num">{}</td><td class="num">{} / {}</td><td class="num">{}</td>{}</tr>"#,
            dur(s.seconds_over_slo),
            int(s.replica_seconds),
            s.peak_replicas,
            s.scale_ups,
            s.scale_downs,
            s.flaps,
            held_cell(s.slo_held),
        );
    }
    h.push_str("</tbody></table></div>");
}

/// "✓ held" on green or "✗ missed" on red: colour and text.
pub(crate) fn held_cell(held: bool) -> &'static str {
    if held {
        r#"<td class="ok">✓ held</td>"#
    } else {
        r#"<td class="bad">✗ missed</td>"#
    }
}

fn series(
    r: &Run,
    name: &str,
    color: &'static str,
    dash: Option<&'static str>,
    width: f64,
    f: impl Fn(&crate::outcome::Tick) -> f64,
) -> Series {
    let pts: Vec<(f64, f64)> = r.timeline.iter().map(|k| (k.t, f(k))).collect();
    Series {
        name: name.to_owned(),
        color,
        dash,
        width,
        points: downsample(&pts, BUCKETS),
    }
}

fn peak(r: &Run, f: impl Fn(&crate::outcome::Tick) -> f64) -> f64 {
    r.timeline
        .iter()
        .map(f)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
}

fn policy_legend(labels: &[String], colors: &[&'static str]) -> Vec<LegendItem> {
    labels
        .iter()
        .zip(colors)
        .map(|(l, c)| LegendItem {
            label: l.clone(),
            color: c,
            mark: Mark::Line {
                dash: None,
                width: 2.0,
            },
        })
        .collect()
}

fn charts(g: &Group, id: &str, labels: &[String], colors: &[&'static str], x: Axis) -> Vec<Chart> {
    let runs = &g.runs;
    let no_data = runs
        .iter()
        .all(|r| r.timeline.is_empty())
        .then(|| "no ticks recorded".to_owned());
    let m = &runs[0].meta;
    let q = quantile_name(m.slo_quantile);
    // The oracle's lines go first, behind the others: it is the reference.
    let oracle = oracle_index(g);
    let order: Vec<usize> = oracle
        .into_iter()
        .chain((0..runs.len()).filter(|i| Some(*i) != oracle))
        .collect();

    // Arrivals: the same trace for every run; its actual arrivals from the
    // first run (all of them when the seeds differ), the expected rate.
    let same_seed = runs.iter().all(|r| r.meta.seed == m.seed);
    let shown: Vec<usize> = if same_seed {
        vec![0]
    } else {
        (0..runs.len()).collect()
    };
    let hi = runs
        .iter()
        .map(|r| peak(r, |k| k.arrival_rate).max(peak(r, |k| k.expected_rate)))
        .fold(0.0, f64::max);
    let mut arrivals = Chart::new(
        &format!("{id}-arrivals"),
        "Arrivals",
        x.clone(),
        Axis::linear("requests per second", 0.0, hi),
        210.0,
    );
    for &i in &shown {
        let (name, color) = if same_seed {
            ("arrivals per tick".to_owned(), "#8a8a8a")
        } else {
            (format!("arrivals, {}", labels[i]), colors[i])
        };
        arrivals
            .main()
            .series
            .push(series(runs[i], &name, color, None, 1.0, |k| k.arrival_rate));
        arrivals.legend.push(LegendItem {
            label: name,
            color,
            mark: Mark::Line {
                dash: None,
                width: 1.0,
            },
        });
    }
    arrivals.main().series.push(series(
        runs[0],
        "expected rate",
        "#000000",
        Some("7 4"),
        2.0,
        |k| k.expected_rate,
    ));
    arrivals.legend.push(LegendItem {
        label: "expected rate".into(),
        color: "#000000",
        mark: Mark::Line {
            dash: Some("7 4"),
            width: 2.0,
        },
    });
    arrivals.empty = no_data.clone();

    // Queue depth per policy.
    let peaks: Vec<f64> = runs.iter().map(|r| peak(r, |k| k.queue_depth)).collect();
    let mut queue = Chart::new(
        &format!("{id}-queue"),
        "Queue depth",
        x.clone(),
        Axis::auto("waiting requests", &peaks),
        230.0,
    );
    for &i in &order {
        let r = runs[i];
        queue
            .main()
            .series
            .push(series(r, &labels[i], colors[i], None, 1.6, |k| {
                k.queue_depth
            }));
    }
    queue.legend = policy_legend(labels, colors);
    queue.empty = no_data.clone();

    // Replicas: one panel per policy (twelve lines in one plot would be a
    // tangle), ready solid, desired dashed, the oracle's ready pods in grey
    // behind for reference; one scale for all panels.
    let hi = runs
        .iter()
        .map(|r| peak(r, |k| f64::from(k.desired_replicas.max(k.ready_replicas))))
        .fold(0.0, f64::max);
    let mut reps = Chart::new(
        &format!("{id}-replicas"),
        "Replicas per policy: ready (solid) and desired (dashed)",
        x.clone(),
        Axis::linear_n("pods", 0.0, hi.max(1.0), 2.0),
        260.0,
    );
    reps.panels.clear();
    for (i, r) in runs.iter().enumerate() {
        let mut panel = Panel {
            label: Some((labels[i].clone(), colors[i])),
            ..Panel::default()
        };
        if let Some(o) = oracle.filter(|o| *o != i) {
            panel.series.push(series(
                runs[o],
                &format!("{}: ready", labels[o]),
                "#b8b8b8",
                None,
                2.2,
                |k| f64::from(k.ready_replicas),
            ));
        }
        panel.series.push(series(
            r,
            &format!("{}: ready", labels[i]),
            colors[i],
            None,
            1.9,
            |k| f64::from(k.ready_replicas),
        ));
        panel.series.push(series(
            r,
            &format!("{}: desired", labels[i]),
            colors[i],
            Some("5 3"),
            1.3,
            |k| f64::from(k.desired_replicas),
        ));
        reps.panels.push(panel);
    }
    reps.legend.push(LegendItem {
        label: "ready".into(),
        color: "#444444",
        mark: Mark::Line {
            dash: None,
            width: 1.9,
        },
    });
    reps.legend.push(LegendItem {
        label: "desired".into(),
        color: "#444444",
        mark: Mark::Line {
            dash: Some("5 3"),
            width: 1.3,
        },
    });
    if let Some(o) = oracle {
        reps.legend.push(LegendItem {
            label: format!("{}: ready, for reference", labels[o]),
            color: "#b8b8b8",
            mark: Mark::Line {
                dash: None,
                width: 2.2,
            },
        });
    }
    reps.empty = no_data.clone();

    // Wait at the SLO quantile over the trailing window, against the SLO.
    let slo = m.slo_queue_wait;
    let mut peaks: Vec<f64> = runs
        .iter()
        .map(|r| peak(r, |k| k.wait_quantile_window))
        .collect();
    let top = peaks.iter().copied().fold(0.0, f64::max);
    if slo.is_finite() && slo > 0.0 {
        peaks.push(slo * 1.25);
    }
    // Waits far past the SLO would squash it against the axis: a log scale
    // keeps both the SLO line and the runaway policy readable.
    let label = format!("{q} queue wait (s)");
    let y = if slo.is_finite() && slo > 0.0 && top > 5.0 * slo {
        Axis::log1p(&label, top)
    } else {
        Axis::auto(&label, &peaks)
    };
    let mut wait = Chart::new(
        &format!("{id}-wait"),
        &format!("{q} queue wait of requests arriving in the trailing window"),
        x,
        y,
        240.0,
    );
    for &i in &order {
        let r = runs[i];
        wait.main()
            .series
            .push(series(r, &labels[i], colors[i], None, 1.6, |k| {
                k.wait_quantile_window
            }));
    }
    wait.legend = policy_legend(labels, colors);
    if slo.is_finite() {
        let label = format!("SLO: {q} ≤ {}", secs(slo));
        wait.main().hlines.push(RefLine {
            value: slo,
            label: label.clone(),
            color: SLO_COLOR,
            dash: Some("9 4"),
        });
        wait.legend.push(LegendItem {
            label,
            color: SLO_COLOR,
            mark: Mark::Line {
                dash: Some("9 4"),
                width: 1.5,
            },
        });
    }
    wait.empty = no_data.or_else(|| {
        (top == 0.0
            && runs.iter().all(|r| {
                r.timeline
                    .iter()
                    .all(|k| !k.wait_quantile_window.is_finite())
            }))
        .then(|| "no waits recorded".to_owned())
    });
    vec![arrivals, queue, reps, wait]
}

/// The overview table: one row per group with its verdict, linking to it.
pub(crate) fn overview(rows: &[(String, &Group, &Verdict)]) -> String {
    let mut h = String::from(
        r#"<div class="scroll"><table class="overview"><thead><tr><th>Service</th><th>Trace</th><th>SLO</th><th>Held the SLO</th><th>Cheapest that held (× oracle)</th><th>CPU/memory rule missed?</th>"#,
    );
    let _ = write!(
        h,
        "<th>Queue policy ≤ {} oracle?</th></tr></thead><tbody>",
        ratio(EXPECTED_RATIO)
    );
    for (id, g, v) in rows {
        let m = &g.runs[0].meta;
        let cheapest = match &v.cheapest {
            Some((n, Some(r))) => format!("{} ({})", esc(n), ratio(*r)),
            Some((n, None)) => esc(n),
            None => "none".to_owned(),
        };
        let _ = write!(
            h,
            r##"<tr><td><a href="#{id}">{}</a></td><td><a href="#{id}">{}</a></td><td class="num">{} ≤ {}</td><td>{}</td><td>{cheapest}</td>{}{}</tr>"##,
            esc(g.service),
            esc(g.trace),
            quantile_name(m.slo_quantile),
            secs(m.slo_queue_wait),
            if v.held.is_empty() {
                "none".to_owned()
            } else {
                v.held.iter().map(|s| esc(s)).collect::<Vec<_>>().join(", ")
            },
            expect_cell(
                v.resource,
                "✓ missed, as expected",
                "✗ held: says otherwise"
            ),
            expect_cell(v.queue, "✓ yes, as expected", "✗ no: says otherwise"),
        );
    }
    h.push_str("</tbody></table></div>");
    h
}

fn expect_cell(e: Expect, met: &str, not: &str) -> String {
    match e {
        Expect::Met => format!(r#"<td class="ok">{met}</td>"#),
        Expect::NotMet => format!(r#"<td class="bad">{not}</td>"#),
        Expect::Unknown => r#"<td class="na">— not judged</td>"#.to_owned(),
    }
}
