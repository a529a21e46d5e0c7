//! The replay trace's CSV format: `time_seconds,rate` lines.
//!
//! - One point per line: seconds since the start of the recording, requests
//!   per second; both non-negative decimal numbers.
//! - An optional header line `time_seconds,rate` (or `time,rate`) first.
//! - Blank lines and lines starting with `#` are skipped.
//! - Times never decrease; two lines with the same time make a jump (the
//!   second rate applies from that time), three do not.
//!
//! Errors name the 1-based line, so a recording with one bad line points
//! straight at it.

use super::TraceError;

/// Parses replay CSV text into `(seconds, rate)` points.
pub fn parse_csv(text: &str) -> Result<Vec<(f64, f64)>, TraceError> {
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut seen_content = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| TraceError::Csv { line, message };
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        let first = !seen_content;
        seen_content = true;
        if first && is_header(&fields) {
            continue;
        }
        if fields.len() != 2 {
            return Err(err(format!(
                "expected 2 fields (time_seconds,rate), got {}",
                fields.len()
            )));
        }
        let number = |what: &str, s: &str| match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            Ok(_) => Err(err(format!(
                "{what} {s:?} must be a finite number, not negative"
            ))),
            Err(_) => Err(err(format!("{what} {s:?} is not a number"))),
        };
        let t = number("time_seconds", fields[0])?;
        let rate = number("rate", fields[1])?;
        if let Some(&(prev, _)) = points.last() {
            if t < prev {
                return Err(err(format!(
                    "time_seconds {t} is before the previous line's {prev}"
                )));
            }
            let n = points.len();
            if n >= 2 && points[n - 2].0 == t {
                return Err(err(format!(
                    "a third point at time {t}; a jump takes two points"
                )));
            }
        }
        points.push((t, rate));
    }
    if points.is_empty() {
        return Err(TraceError::Csv {
            line: text.lines().count().max(1),
            message: "no data points (expected time_seconds,rate lines)".into(),
        });
    }
    Ok(points)
}

/// Whether the fields are the header.
fn is_header(fields: &[&str]) -> bool {
    matches!(
        fields,
        [t, r] if (t.eq_ignore_ascii_case("time_seconds") || t.eq_ignore_ascii_case("time"))
            && r.eq_ignore_ascii_case("rate")
    )
}
