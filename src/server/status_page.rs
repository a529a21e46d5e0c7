//! The admin port's `/`: every series the adapter serves, with its value,
//! age, source and last error — what an operator opens first when an HPA
//! misbehaves. Server-rendered HTML from the [`Store`], refreshing itself
//! every few seconds; no script, no external assets, every text escaped
//! (PromQL results and error messages carry whatever their sources said).

use std::fmt::Write;
use std::time::Duration;

use crate::k8s::quantity;
use crate::store::{Store, now_ms};

/// Seconds between the page's own refreshes.
const REFRESH_SECONDS: u32 = 5;

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How a value stands, as the API would treat it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Served.
    Fresh,
    /// Older than `max_staleness`: refused with 503.
    Stale,
    /// Never read: refused with 503.
    Never,
    /// Read, but the source chose to serve no item (no traffic, `when_empty: omit`).
    NoItem,
}

impl State {
    fn of(read_at_ms: u64, value: f64, now_ms: u64, max_staleness: Duration) -> State {
        if read_at_ms == 0 {
            State::Never
        } else if now_ms.saturating_sub(read_at_ms) as u128 > max_staleness.as_millis() {
            State::Stale
        } else if value.is_nan() {
            State::NoItem
        } else {
            State::Fresh
        }
    }

    fn label(self) -> &'static str {
        match self {
            State::Fresh => "fresh",
            State::Stale => "stale",
            State::Never => "never read",
            State::NoItem => "no item",
        }
    }
}

fn age(read_at_ms: u64, now_ms: u64) -> String {
    if read_at_ms == 0 {
        "–".to_string()
    } else {
        format!("{:.1} s", now_ms.saturating_sub(read_at_ms) as f64 / 1000.0)
    }
}

fn value(v: f64, state: State) -> String {
    match state {
        State::Never | State::NoItem => "–".to_string(),
        _ => quantity::format(v).unwrap_or_else(|| "–".to_string()),
    }
}

fn labels(l: &[(String, String)]) -> String {
    l.iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sources still waiting for their first read: the first few named,
/// the rest counted (formatting 10,000 names per `/readyz` probe would slow
/// the very start-up it reports on).
pub fn not_ready(store: &Store) -> String {
    const SHOWN: usize = 5;
    let mut waiting = store.not_ready();
    let named: Vec<String> = waiting
        .by_ref()
        .take(SHOWN)
        .map(|s| s.to_string())
        .collect();
    let mut text = named.join(", ");
    let more = waiting.count();
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// The page.
pub fn render(store: &Store, ready: bool) -> String {
    let now = now_ms();
    let mut h = String::with_capacity(4096 + store.series.len() * 256);
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>queue-metrics-adapter: served series</title>
<style>
body{{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1b1b1b}}
table{{border-collapse:collapse;width:100%;margin-bottom:2em}}
th,td{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}
th{{background:#f3f3f3}} td.num{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}}
tr.stale td,tr.neverread td{{background:#fde8e8}} tr.noitem td{{color:#666}}
.state{{font-weight:600}} tr.stale .state,tr.neverread .state{{color:#a40000}}
.err{{color:#a40000;font-family:monospace;white-space:pre-wrap}}
</style></head><body>
<h1>queue-metrics-adapter</h1>
<p>{} · values older than {} s are refused (503) · this page refreshes every {REFRESH_SECONDS} s · <a href="/metrics">/metrics</a> · <a href="/readyz">/readyz</a></p>
"#,
        if ready {
            "ready".to_string()
        } else {
            format!(
                "<strong>not ready</strong>: waiting for the first read of {}",
                escape(&not_ready(store))
            )
        },
        store.max_staleness.as_secs_f64(),
    );
    let _ = write!(
        h,
        "<h2>Series ({})</h2>\n<table id=\"series\"><thead><tr><th>metric</th><th>labels</th><th>namespaces</th><th>value</th><th>age</th><th>state</th><th>source</th><th>last error</th></tr></thead><tbody>\n",
        store.series.len()
    );
    for s in &store.series {
        let (v, at) = s.sample().unwrap_or((f64::NAN, 0));
        let state = State::of(at, v, now, store.max_staleness);
        let error = s.source.error();
        let _ = writeln!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"state\">{}</td><td>{}</td><td class=\"err\">{}</td></tr>",
            state.label().replace(' ', ""),
            s.metric.name(),
            labels(&s.labels),
            escape(&s.source.namespaces.join(", ")),
            value(v, state),
            age(at, now),
            state.label(),
            escape(&s.source.to_string()),
            error.as_deref().map(escape).unwrap_or_default(),
        );
    }
    h.push_str("</tbody></table>\n");
    if !store.promql.is_empty() {
        h.push_str("<h2>PromQL entries</h2>\n<table id=\"promql\"><thead><tr><th>metric</th><th>labels</th><th>namespaces</th><th>value</th><th>age</th><th>state</th><th>last error</th></tr></thead><tbody>\n");
        for p in &store.promql {
            let snap = p.snapshot.load();
            let error = snap.query_error.as_deref().or(snap.fetch_error.as_deref());
            let ns = escape(&p.source.namespaces.join(", "));
            let row = |h: &mut String, l: &str, v: f64| {
                let state = State::of(snap.read_at_ms, v, now, store.max_staleness);
                let _ = writeln!(
                    h,
                    "<tr class=\"{}\"><td>{}</td><td>{l}</td><td>{ns}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"state\">{}</td><td class=\"err\">{}</td></tr>",
                    state.label().replace(' ', ""),
                    escape(&p.source.name),
                    value(v, state),
                    age(snap.read_at_ms, now),
                    state.label(),
                    error.map(escape).unwrap_or_default(),
                );
            };
            if snap.items.is_empty() {
                row(&mut h, "(no items)", f64::NAN);
            }
            for item in &snap.items {
                row(&mut h, &labels(&item.labels), item.value);
            }
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_series_with_its_state_and_hostile_text_escaped() {
        let ns = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut b = crate::store::Builder::new();
        let fresh = b.queue("fresh", &ns(&["a"]), &[], false, false);
        let old = b.queue("old", &ns(&["a", "b"]), &[], false, false);
        b.queue("never", &ns(&["a"]), &[], false, false);
        let evil = b.promql("evil", &ns(&["a"]));
        let store = b.finish(Duration::from_secs(10));
        let now = now_ms();
        fresh.write(7.0, 0.0, None, now);
        old.write(3.0, 0.0, None, now - 60_000);
        old.fail(Arc::from("redis <down> & \"out\""));
        evil.publish(vec![(
            vec![("x".into(), "<script>alert(1)</script>".into())],
            1.5,
        )]);
        let page = render(&store, true);
        assert!(
            page.contains(
                "<td>queue_depth</td><td>queue=fresh</td><td>a</td><td class=\"num\">7</td>"
            ),
            "{page}"
        );
        assert!(page.contains("<tr class=\"stale\"><td>queue_depth</td><td>queue=old</td><td>a, b</td><td class=\"num\">3</td>"), "{page}");
        assert!(
            page.contains("<tr class=\"neverread\"><td>queue_depth</td><td>queue=never</td>"),
            "{page}"
        );
        assert!(
            page.contains("redis &lt;down&gt; &amp; &quot;out&quot;"),
            "{page}"
        );
        assert!(
            page.contains("x=&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        assert!(page.contains("1500m"), "{page}");
        assert!(!page.contains("<script"), "{page}");
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no external assets"
        );
    }

    #[test]
    fn not_ready_names_five_and_counts_the_rest() {
        let mut b = crate::store::Builder::new();
        let writers: Vec<_> = (0..7)
            .map(|i| b.queue(&format!("q{i}"), &["a".to_string()], &[], false, false))
            .collect();
        let store = b.finish(Duration::from_secs(10));
        assert_eq!(
            not_ready(&store),
            "queue \"q0\", queue \"q1\", queue \"q2\", queue \"q3\", queue \"q4\" and 2 more"
        );
        for w in &writers[..6] {
            w.mark_ready();
        }
        assert_eq!(not_ready(&store), "queue \"q6\"");
        assert!(!store.ready());
        writers[6].mark_ready();
        assert!(store.ready());
        assert_eq!(not_ready(&store), "");
    }
}
