//! Text for the report: HTML/SVG escaping, numbers with units, the
//! colour palette.
//!
//! Every string that reaches the page from a run (service, policy, trace,
//! candidate names, scale-event reasons, notes) goes through [`esc`] first:
//! the names come from user files. Numbers go through the formatters here,
//! which print "—" for NaN and infinities, so neither "NaN" nor "inf" ever
//! appears on a page.

use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values (quoted with
/// either quote) and for SVG text.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls other than tab and newline are not allowed in HTML.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Shortens `s` to at most `max` characters, ending in "…" when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// What the formatters print for a missing or non-finite number.
pub(crate) const NONE: &str = "—";

/// A number with about three significant digits, no unit ("—" if not
/// finite): 0.042, 3.21, 15.3, 812, 41,200.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return NONE.to_owned();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if a < 0.01 {
        "≈ 0".to_owned()
    } else if a < 10.0 {
        trim_zeros(format!("{v:.2}"))
    } else if a < 100.0 {
        trim_zeros(format!("{v:.1}"))
    } else {
        int(v)
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// A rounded integer with thousands separators: 41,200 ("—" if not finite).
pub(crate) fn int(v: f64) -> String {
    if !v.is_finite() {
        return NONE.to_owned();
    }
    let r = v.round();
    let digits = format!("{:.0}", r.abs());
    let mut out = String::new();
    if r < 0.0 {
        out.push('-');
    }
    let n = digits.len();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (n - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Seconds: "3.21 s", "812 s", and for long spans the minutes or hours too:
/// "5,400 s (1.5 h)".
pub(crate) fn secs(v: f64) -> String {
    if !v.is_finite() {
        return NONE.to_owned();
    }
    let base = format!("{} s", num(v));
    if v.abs() >= 5400.0 {
        format!("{base} ({} h)", num(v / 3600.0))
    } else if v.abs() >= 120.0 {
        format!("{base} ({} min)", num(v / 60.0))
    } else {
        base
    }
}

/// Seconds, compact for table cells: "12.3 s", "14.8 min", "3.37 h".
pub(crate) fn dur(v: f64) -> String {
    if !v.is_finite() {
        NONE.to_owned()
    } else if v.abs() >= 7200.0 {
        format!("{} h", num(v / 3600.0))
    } else if v.abs() >= 120.0 {
        format!("{} min", num(v / 60.0))
    } else {
        format!("{} s", num(v))
    }
}

/// A cost ratio: "1.18×" ("—" if not finite).
pub(crate) fn ratio(v: f64) -> String {
    if !v.is_finite() {
        return NONE.to_owned();
    }
    format!("{v:.2}×")
}

/// A fraction as a percentage: 0.7 → "70 %".
pub(crate) fn pct(v: f64) -> String {
    if !v.is_finite() {
        return NONE.to_owned();
    }
    format!("{:.0} %", v * 100.0)
}

/// The quantile's usual name: 0.95 → "p95", 0.995 → "p99.5".
pub(crate) fn quantile_name(q: f64) -> String {
    if !q.is_finite() {
        return "p?".to_owned();
    }
    format!("p{}", trim_zeros(format!("{:.2}", q * 100.0)))
}

/// A time on a run's clock in the unit of its axis: "12.5 min" or "14.2 h".
pub(crate) fn clock(t: f64, horizon: f64) -> String {
    if !t.is_finite() {
        return NONE.to_owned();
    }
    if horizon > 3.0 * 3600.0 {
        format!("{} h", trim_zeros(format!("{:.1}", t / 3600.0)))
    } else {
        format!("{} min", trim_zeros(format!("{:.1}", t / 60.0)))
    }
}

/// A number for an SVG coordinate or length: one decimal, never "NaN"
/// (non-finite values print as 0; callers drop such points before).
pub(crate) fn coord(v: f64) -> String {
    let mut s = String::new();
    push_coord(&mut s, v);
    s
}

/// Appends [`coord`] to `out`.
pub(crate) fn push_coord(out: &mut String, v: f64) {
    let v = if v.is_finite() { v } else { 0.0 };
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        let _ = write!(out, "{}", r as i64);
    } else {
        let _ = write!(out, "{r:.1}");
    }
}

/// Colour-blind-friendly line colours (Okabe & Ito, then Paul Tol's muted
/// scheme for more than six policies); the oracle gets [`ORACLE_COLOR`].
pub(crate) const PALETTE: [&str; 10] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255", "#999933",
    "#44AA99", "#AA4499",
];

/// The oracle's colour: black, the reference every other line is read
/// against.
pub(crate) const ORACLE_COLOR: &str = "#000000";

/// Colour per policy, the same on every plot and table of a page: assigned
/// in the order the policies first appear.
#[derive(Debug, Default)]
pub(crate) struct Palette {
    names: Vec<String>,
}

impl Palette {
    /// The colour of `policy`, assigning the next free one if new.
    pub(crate) fn color(&mut self, policy: &str) -> &'static str {
        if is_oracle(policy) {
            return ORACLE_COLOR;
        }
        let i = match self.names.iter().position(|n| n == policy) {
            Some(i) => i,
            None => {
                self.names.push(policy.to_owned());
                self.names.len() - 1
            }
        };
        PALETTE[i % PALETTE.len()]
    }
}

/// Whether a policy name denotes the oracle (clairvoyant limit): "oracle",
/// any case, or a name containing it.
pub(crate) fn is_oracle(policy: &str) -> bool {
    policy.to_ascii_lowercase().contains("oracle")
}

/// A small colour square before a name in tables and text.
pub(crate) fn swatch(color: &str) -> String {
    format!(
        r#"<span class="sw" style="background:{}"></span>"#,
        esc(color)
    )
}
