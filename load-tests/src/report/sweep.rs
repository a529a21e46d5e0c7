//! A `tune` sweep: cost against worst wait per candidate (holding the SLO
//! or not told apart by shape and colour, the recommendation ringed and
//! labelled, the SLO a vertical line, the oracle's cost and the expected
//! limit horizontal ones), the recommendation and its runners-up in a
//! table, the recommendation against the oracle per trace, its HPA spec,
//! and a verdict.

use std::fmt::Write as _;

use crate::outcome::{CandidateResult, Sweep};

use super::axis::{Axis, Scale};
use super::compare::{SLO_COLOR, held_cell};
use super::fmt::{dur, esc, int, quantile_name, ratio, secs};
use super::svg::{Chart, LegendItem, Mark, Point, RefLine};
use super::verdict::EXPECTED_RATIO;

/// Rows of the candidate table (the rest are in the plot).
const TABLE_ROWS: usize = 12;
const HOLDS: &str = "#0072B2";
const MISSES: &str = "#D55E00";

/// The oracle's replica-seconds summed over the traces, when it ran every
/// trace.
fn oracle_cost(s: &Sweep) -> Option<f64> {
    (s.oracle.len() == s.traces.len() && !s.oracle.is_empty())
        .then(|| s.oracle.iter().map(|o| o.replica_seconds).sum::<f64>())
        .filter(|c| c.is_finite() && *c > 0.0)
}

/// The sweep's `<section>`.
pub(crate) fn section(s: &Sweep) -> String {
    let q = quantile_name(s.slo_quantile);
    let oc = oracle_cost(s);
    let rec = s.recommended.filter(|i| *i < s.candidates.len());
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<section id="sweep"><h2>Sweep: {}</h2><p class="meta">Scenario {} · traces {} · SLO: {q} queue wait ≤ {} on every trace · {} candidates</p>"#,
        esc(&s.service),
        esc(&s.scenario),
        if s.traces.is_empty() {
            "none".to_owned()
        } else {
            s.traces
                .iter()
                .map(|t| esc(t))
                .collect::<Vec<_>>()
                .join(", ")
        },
        secs(s.slo_queue_wait),
        s.candidates.len()
    );
    let _ = write!(h, r#"<div class="verdict">{}</div>"#, verdict(s, rec, oc));
    h.push_str("<figure>");
    h.push_str(&scatter(s, rec, oc).render());
    h.push_str("</figure>");
    table(&mut h, s, rec, oc);
    if let Some(i) = rec {
        per_trace(&mut h, s, &s.candidates[i]);
        spec(&mut h, &s.candidates[i]);
    }
    h.push_str("</section>");
    h
}

fn cost_ratio(c: &CandidateResult, oc: Option<f64>) -> Option<f64> {
    oc.map(|o| c.cost / o).filter(|r| r.is_finite())
}

fn verdict(s: &Sweep, rec: Option<usize>, oc: Option<f64>) -> String {
    let q = quantile_name(s.slo_quantile);
    let holding = s.candidates.iter().filter(|c| c.holds_slo).count();
    let mut h = format!(
        "<p>{holding} of {} candidates held the SLO on every trace. ",
        s.candidates.len()
    );
    match rec.map(|i| &s.candidates[i]) {
        Some(c) => {
            let _ = write!(
                h,
                "Recommended: <b>{}</b>, worst {q} wait {} (SLO {}), {} replica-seconds over the traces",
                esc(&c.name),
                secs(c.worst_wait),
                secs(s.slo_queue_wait),
                int(c.cost)
            );
            match cost_ratio(c, oc) {
                Some(r) if r <= EXPECTED_RATIO => {
                    let _ = write!(
                        h,
                        ", {} the oracle's: within the expected ≤ {}.</p>",
                        ratio(r),
                        ratio(EXPECTED_RATIO)
                    );
                }
                Some(r) => {
                    let per: Vec<String> = s
                        .traces
                        .iter()
                        .zip(c.per_trace.iter().zip(&s.oracle))
                        .map(|(t, (a, o))| {
                            format!(
                                "{} on {}",
                                ratio(a.replica_seconds / o.replica_seconds),
                                esc(t)
                            )
                        })
                        .collect();
                    let _ = write!(
                        h,
                        ", {} the oracle's.</p><p><strong>The simulation says otherwise:</strong> the expectation was ≤ {}; \
                         the recommendation costs {} the oracle's replica-seconds",
                        ratio(r),
                        ratio(EXPECTED_RATIO),
                        per.join(", ")
                    );
                    h.push_str(" (table below: per trace against the oracle).</p>");
                }
                None => {
                    h.push_str(". No oracle figures: the cost is not compared with the limit.</p>")
                }
            }
        }
        None => {
            h.push_str("<strong>No candidate held the SLO on every trace</strong>, so none is recommended.");
            let closest = s
                .candidates
                .iter()
                .filter(|c| c.worst_wait.is_finite())
                .min_by(|a, b| a.worst_wait.total_cmp(&b.worst_wait));
            if let Some(c) = closest {
                let misses: Vec<String> = s
                    .traces
                    .iter()
                    .zip(&c.per_trace)
                    .filter(|(_, p)| !p.slo_held)
                    .map(|(t, p)| format!("{} ({q} wait {})", esc(t), secs(p.wait_slo_quantile)))
                    .collect();
                let _ = write!(
                    h,
                    " Closest: <b>{}</b>, worst {q} wait {} against {}, missing on {}.",
                    esc(&c.name),
                    secs(c.worst_wait),
                    secs(s.slo_queue_wait),
                    if misses.is_empty() {
                        "—".to_owned()
                    } else {
                        misses.join(", ")
                    }
                );
            }
            h.push_str("</p>");
        }
    }
    h
}

fn scatter(s: &Sweep, rec: Option<usize>, oc: Option<f64>) -> Chart {
    let q = quantile_name(s.slo_quantile);
    let y_of = |c: &CandidateResult| cost_ratio(c, oc).unwrap_or(c.cost);
    let mut waits: Vec<f64> = s.candidates.iter().map(|c| c.worst_wait).collect();
    if s.slo_queue_wait.is_finite() {
        waits.push(s.slo_queue_wait * 1.25);
    }
    let mut x = Axis::auto(&format!("worst {q} queue wait over the traces (s)"), &waits);
    if x.scale == Scale::Linear {
        x.min = -0.02 * x.max; // points at 0 s clear of the axis line
    }
    let mut hi = s
        .candidates
        .iter()
        .map(y_of)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if oc.is_some() {
        hi = hi.max(EXPECTED_RATIO * 1.1);
    }
    let y_label = if oc.is_some() {
        "cost (× the oracle's replica-seconds)"
    } else {
        "cost (replica-seconds)"
    };
    let title = match rec {
        Some(i) => format!(
            "Candidates: cost against worst wait (recommended: {})",
            s.candidates[i].name
        ),
        None => {
            "Candidates: cost against worst wait (none holds the SLO on every trace)".to_owned()
        }
    };
    let mut ch = Chart::new(
        "sweep-scatter",
        &title,
        x,
        Axis::linear(y_label, 0.0, hi),
        420.0,
    );
    for (i, c) in s.candidates.iter().enumerate() {
        let (color, mark, verb) = if c.holds_slo {
            (HOLDS, Mark::Circle, "holds")
        } else {
            (MISSES, Mark::Triangle, "misses")
        };
        let title = format!(
            "{}: {verb} the SLO, worst wait {}, cost {} replica-s",
            c.name,
            secs(c.worst_wait),
            int(c.cost)
        );
        ch.main().points.push(Point {
            x: c.worst_wait,
            y: y_of(c),
            color,
            mark,
            title,
            label: None,
        });
        if Some(i) == rec {
            let title = format!("recommended: {}", c.name);
            let label = Some("recommended".to_owned());
            ch.main().points.push(Point {
                x: c.worst_wait,
                y: y_of(c),
                color: "#000000",
                mark: Mark::Ring,
                title,
                label,
            });
        }
    }
    if s.slo_queue_wait.is_finite() {
        let label = format!("SLO {}", secs(s.slo_queue_wait));
        ch.vlines.push(RefLine {
            value: s.slo_queue_wait,
            label: label.clone(),
            color: SLO_COLOR,
            dash: Some("9 4"),
        });
    }
    if oc.is_some() {
        ch.main().hlines.push(RefLine {
            value: 1.0,
            label: "oracle = 1×".into(),
            color: "#000000",
            dash: Some("2 3"),
        });
        ch.main().hlines.push(RefLine {
            value: EXPECTED_RATIO,
            label: format!("expected limit {}", ratio(EXPECTED_RATIO)),
            color: "#666666",
            dash: Some("6 4"),
        });
    }
    let dots = |label: &str, color, mark| LegendItem {
        label: label.to_owned(),
        color,
        mark,
    };
    ch.legend = vec![
        dots("holds the SLO on every trace", HOLDS, Mark::Circle),
        dots("misses it on some trace", MISSES, Mark::Triangle),
        dots("recommended", "#000000", Mark::Ring),
        dots(
            &format!("SLO: {q} ≤ {}", secs(s.slo_queue_wait)),
            SLO_COLOR,
            Mark::Line {
                dash: Some("9 4"),
                width: 1.5,
            },
        ),
    ];
    if oc.is_some() {
        ch.legend.push(dots(
            "oracle's cost (1×)",
            "#000000",
            Mark::Line {
                dash: Some("2 3"),
                width: 1.5,
            },
        ));
        ch.legend.push(dots(
            &format!("expected limit ({})", ratio(EXPECTED_RATIO)),
            "#666666",
            Mark::Line {
                dash: Some("6 4"),
                width: 1.5,
            },
        ));
    }
    if s.candidates.is_empty() {
        ch.empty = Some("no candidates".into());
    }
    ch
}

fn table(h: &mut String, s: &Sweep, rec: Option<usize>, oc: Option<f64>) {
    let q = quantile_name(s.slo_quantile);
    let mut order: Vec<usize> = (0..s.candidates.len())
        .filter(|i| Some(*i) != rec)
        .collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&s.candidates[a], &s.candidates[b]);
        b.holds_slo
            .cmp(&a.holds_slo)
            .then(a.cost.total_cmp(&b.cost))
    });
    let rows: Vec<usize> = rec.into_iter().chain(order).take(TABLE_ROWS).collect();
    let _ = write!(
        h,
        r#"<h3>Recommendation and runners-up</h3><div class="scroll"><table><thead><tr><th>#</th><th>Candidate</th><th>Cost (replica-s)</th><th>× oracle</th><th>Worst {q} wait</th>"#
    );
    for t in &s.traces {
        let _ = write!(h, "<th>{q} wait, {}</th>", esc(t));
    }
    h.push_str("<th>Holds SLO</th></tr></thead><tbody>");
    for (rank, &i) in rows.iter().enumerate() {
        let c = &s.candidates[i];
        let tag = if Some(i) == rec {
            r#" <span class="tag good">recommended</span>"#
        } else {
            ""
        };
        let _ = write!(
            h,
            r#"<tr><td class="num">{}</td><td class="name">{}{tag}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>"#,
            rank + 1,
            esc(&c.name),
            int(c.cost),
            cost_ratio(c, oc).map_or("—".to_owned(), ratio),
            dur(c.worst_wait)
        );
        for t in 0..s.traces.len() {
            let w = c.per_trace.get(t).map_or(f64::NAN, |p| p.wait_slo_quantile);
            let cls = if w > s.slo_queue_wait {
                "num badtext"
            } else {
                "num"
            };
            let _ = write!(h, r#"<td class="{cls}">{}</td>"#, dur(w));
        }
        h.push_str(held_cell(c.holds_slo));
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");
    if s.candidates.len() > rows.len() {
        let _ = write!(
            h,
            r#"<p class="meta">{} more candidates are in the plot above (hover a point for its name).</p>"#,
            s.candidates.len() - rows.len()
        );
    }
}

fn per_trace(h: &mut String, s: &Sweep, c: &CandidateResult) {
    let q = quantile_name(s.slo_quantile);
    let _ = write!(
        h,
        r#"<h3>The recommendation against the oracle, per trace</h3><div class="scroll"><table><thead><tr><th>Trace</th><th>{q} wait</th><th>Oracle's {q} wait</th><th>Time over SLO</th><th>Replica-seconds</th><th>Oracle's</th><th>× oracle</th><th>Peak replicas</th><th>SLO</th></tr></thead><tbody>"#
    );
    for (t, name) in s.traces.iter().enumerate() {
        let Some(p) = c.per_trace.get(t) else {
            continue;
        };
        let o = s.oracle.get(t);
        let ow = o.map_or(f64::NAN, |o| o.wait_slo_quantile);
        let orc = o.map_or(f64::NAN, |o| o.replica_seconds);
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td>{}</tr>"#,
            esc(name),
            dur(p.wait_slo_quantile),
            dur(ow),
            dur(p.seconds_over_slo),
            int(p.replica_seconds),
            int(orc),
            ratio(p.replica_seconds / orc),
            p.peak_replicas,
            held_cell(p.slo_held)
        );
    }
    h.push_str("</tbody></table></div>");
}

fn spec(h: &mut String, c: &CandidateResult) {
    let (lang, text) = match serde_saphyr::to_string(&c.spec) {
        Ok(y) => ("YAML", y),
        Err(_) => (
            "JSON",
            serde_json::to_string_pretty(&c.spec).unwrap_or_default(),
        ),
    };
    let _ = write!(
        h,
        r#"<h3>Recommended HPA spec</h3><p class="meta">The <code>spec</code> of an autoscaling/v2 HorizontalPodAutoscaler ({lang}), candidate <b>{}</b>:</p><pre><code>{}</code></pre>"#,
        esc(&c.name),
        esc(&text)
    );
}
