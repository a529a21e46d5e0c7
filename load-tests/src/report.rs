//! The report: one self-contained HTML file per run set ([`comparison`]) or
//! `tune` sweep ([`sweep`]), with its plots as inline SVG.
//!
//! The page needs nothing else: no JavaScript, no external assets (no CDN,
//! no web fonts; the system's sans-serif renders the text), so it can be
//! attached to an issue or opened from disk. Every name that comes from the
//! scenario file (services, policies, traces, candidates, scale reasons,
//! notes) is escaped.
//!
//! # A comparison
//!
//! Runs are grouped by service, then trace. The page opens with an overview
//! (one row per group: which policies held the SLO, the cheapest that did
//! and its cost against the oracle, whether the issue's expectations hold)
//! and then, per group:
//!
//! - a verdict computed from the data (see `verdict`): which policies held
//!   the SLO, the cheapest and its cost against the oracle, whether the
//!   CPU/memory rule missed (expected) and whether a queue policy held it
//!   within [`EXPECTED_RATIO`] × the oracle's replica-seconds (expected);
//!   when the simulation says otherwise, it says so with the figures that
//!   show why;
//! - a table per policy: p95/p99 wait, time over the SLO, replica-seconds
//!   and their ratio to the oracle's, peak replicas, scale ups/downs, flaps,
//!   and whether the SLO held (colour and text);
//! - four plots over one time axis (minutes up to 3 h, hours beyond):
//!   arrivals (actual and expected rate), queue depth, replicas (ready
//!   solid, desired dashed) and the wait at the SLO quantile over the
//!   trailing window with the SLO as a horizontal line. Each policy keeps
//!   its colour across the page (colour-blind-friendly palette; the oracle
//!   is black). Axes switch to a log scale when one series dwarfs the
//!   others, and say so.
//!
//! The oracle is the run whose policy is called "oracle" (else whose name
//! contains it); without one, cost ratios show "—" and the verdict says it
//! cannot judge cost.
//!
//! # A sweep
//!
//! A scatter of cost (× the oracle's replica-seconds when known) against the
//! worst wait at the SLO quantile, one point per candidate, with the
//! recommendation ringed and labelled and the SLO as a vertical line; the
//! recommendation and runners-up in a table; the recommendation against the
//! oracle per trace; its HPA spec as YAML; optionally the recommendation's
//! runs, rendered as in a comparison.
//!
//! Long timelines are reduced to at most ~800 points per line (min and max
//! per bucket, so peaks survive); NaN and infinite values break lines and
//! print as "—", never as "NaN".

use std::path::Path;

use crate::outcome::{Run, Sweep};

mod axis;
mod compare;
mod fmt;
mod reduce;
mod svg;
mod sweep;
mod verdict;

#[cfg(test)]
mod tests;

pub use verdict::EXPECTED_RATIO;

use fmt::{Palette, esc};

/// The HTML page comparing `runs` (typically several services × traces ×
/// policies), titled `title`, with `notes` (plain text, one paragraph each)
/// under the title.
pub fn comparison(title: &str, runs: &[Run], notes: &[String]) -> String {
    let mut body = header(title, notes);
    body.push_str(&runs_body(runs, "Overview"));
    page(title, &body)
}

/// The HTML page of a `tune` sweep, titled `title`; `runs` (may be empty),
/// e.g. the recommendation's runs per trace beside the oracle's, are
/// rendered below as in [`comparison`].
pub fn sweep(title: &str, sweep: &Sweep, runs: &[Run]) -> String {
    let mut body = header(title, &[]);
    body.push_str(&sweep::section(sweep));
    if !runs.is_empty() {
        body.push_str(&runs_body(runs, "Runs"));
    }
    page(title, &body)
}

/// Writes `html` to `path`, creating its parent directories.
pub fn write(path: &Path, html: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, html)
}

fn header(title: &str, notes: &[String]) -> String {
    let mut h = format!("<header><h1>{}</h1>", esc(title));
    for n in notes {
        h.push_str(&format!(r#"<p class="note">{}</p>"#, esc(n)));
    }
    h.push_str("</header>");
    h
}

/// The overview and one section per (service, trace) group.
fn runs_body(runs: &[Run], heading: &str) -> String {
    let groups = compare::groups(runs);
    if groups.is_empty() {
        return r#"<p class="meta">No runs.</p>"#.to_owned();
    }
    let mut pal = Palette::default();
    let rendered: Vec<(String, compare::Rendered)> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let id = format!("g{}", i + 1);
            let r = compare::section(g, &id, &mut pal);
            (id, r)
        })
        .collect();
    let rows: Vec<(String, &compare::Group, &verdict::Verdict)> = rendered
        .iter()
        .zip(&groups)
        .map(|((id, r), g)| (id.clone(), g, &r.verdict))
        .collect();
    let mut h = format!("<h2>{}</h2>", esc(heading));
    h.push_str(&compare::overview(&rows));
    h.push_str(&format!(
        r#"<p class="meta">Expected (issue 10): the CPU/memory rule misses the SLO; a tuned queue policy holds it at ≤ {} the oracle's replica-seconds. “× oracle” is a run's replica-seconds over the oracle's under the same service and trace.</p>"#,
        fmt::ratio(EXPECTED_RATIO)
    ));
    for (_, r) in &rendered {
        h.push_str(&r.html);
    }
    h
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>{CSS}</style>
</head>
<body>
{body}
<footer>Generated by qma-load. Self-contained: inline SVG, no scripts, no external resources.</footer>
</body>
</html>
"#,
        esc(title)
    )
}

const CSS: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #1a1a1a;
  background: #fff; margin: 0 auto; padding: 16px 24px 40px; max-width: 1320px; line-height: 1.45; font-size: 15px; }
h1 { font-size: 26px; margin: 8px 0 6px; }
h2 { font-size: 21px; margin: 34px 0 4px; padding-top: 12px; border-top: 2px solid #ddd; }
h3 { font-size: 17px; margin: 22px 0 6px; }
p.note { margin: 4px 0; color: #333; }
p.meta { color: #555; margin: 2px 0 10px; font-size: 14px; }
.verdict { background: #f6f7f9; border-left: 4px solid #0072B2; padding: 4px 14px; margin: 10px 0 14px; }
.verdict p { margin: 8px 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 14px; }
th, td { border: 1px solid #d6d6d6; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { white-space: nowrap; }
td.ok { background: #e3f4ea; color: #0b5d2a; font-weight: 600; white-space: nowrap; }
td.bad { background: #fbe4e4; color: #9b1c1c; font-weight: 600; white-space: nowrap; }
td.na { color: #666; white-space: nowrap; }
td.badtext { color: #9b1c1c; font-weight: 600; }
td.warn { color: #8a5a00; font-weight: 600; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.tag { font-size: 12px; background: #eee; border-radius: 3px; padding: 0 5px; margin-left: 6px; color: #333; }
.tag.good { background: #dcefe3; color: #0b5d2a; }
figure { margin: 8px 0 4px; }
svg.plot { width: 100%; height: auto; display: block; }
pre { background: #f6f7f9; border: 1px solid #ddd; padding: 10px 12px; overflow-x: auto; font-size: 13px; }
a { color: #0b5394; }
footer { margin-top: 40px; color: #777; font-size: 13px; }
"#;
