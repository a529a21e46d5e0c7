//! OpenMetrics 1.0's own rules (`openmetricslex.l`): only `# HELP`,
//! `# TYPE` and `# UNIT` comments, float-second timestamps, and exemplars
//! after the value, checked and dropped. Exactly one space separates the
//! tokens; `# EOF` is handled by the caller, which sees whole lines.

use super::lexer::{Cursor, excerpt, metadata_name, parse_float};
use super::sample_line::parse_labels;
use super::{ExpositionError, Format, Res};

/// `# …` in OpenMetrics (openmetricslex.l: `# ` then `HELP `, `TYPE `,
/// `UNIT ` or `EOF`; the caller has handled `# EOF`).
pub(super) fn om_comment(text: &str, line: usize) -> Res<()> {
    #[derive(PartialEq)]
    enum Kind {
        Help,
        Type,
        Unit,
    }
    let invalid = |reason| ExpositionError::InvalidLine { line, reason };
    let rest = text
        .strip_prefix("# ")
        .ok_or(invalid("comments must start with \"# \" in OpenMetrics"))?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix("HELP ") {
        (Kind::Help, r)
    } else if let Some(r) = rest.strip_prefix("TYPE ") {
        (Kind::Type, r)
    } else if let Some(r) = rest.strip_prefix("UNIT ") {
        (Kind::Unit, r)
    } else {
        return Err(invalid(
            "only # HELP, # TYPE, # UNIT and # EOF comments are allowed in OpenMetrics",
        ));
    };
    let mut c = Cursor::new(rest);
    let Some(name) = metadata_name(&mut c) else {
        return Err(ExpositionError::InvalidMetadata {
            line,
            reason: "expected a metric name after HELP, TYPE or UNIT",
        });
    };
    if !c.eat(b' ') {
        return Err(ExpositionError::InvalidMetadata {
            line,
            reason: "expected a space and text after the metric name",
        });
    }
    let text = c.rest();
    match kind {
        Kind::Help => Ok(()),
        Kind::Type => match text {
            "counter" | "gauge" | "histogram" | "gaugehistogram" | "summary" | "info"
            | "stateset" | "unknown" => Ok(()),
            _ => Err(ExpositionError::InvalidMetricType {
                line,
                found: excerpt(text),
            }),
        },
        Kind::Unit => {
            if text.is_empty() || name.strip_suffix(text).is_some_and(|p| p.ends_with('_')) {
                Ok(())
            } else {
                Err(ExpositionError::InvalidMetadata {
                    line,
                    reason: "the unit is not a suffix of the metric name",
                })
            }
        }
    }
}

/// OpenMetrics, after the value: nothing, or ` timestamp`, and then nothing
/// or ` # {labels} value [timestamp]` (an exemplar, validated and dropped).
pub(super) fn om_suffix(c: &mut Cursor<'_>, line: usize) -> Res<Option<i64>> {
    const EXEMPLAR: &str = "# {";
    if c.at_end() {
        return Ok(None);
    }
    let garbage = |c: &Cursor<'_>| ExpositionError::TrailingGarbage {
        line,
        found: excerpt(c.rest().trim_start_matches(' ')),
    };
    // The value token ran up to a space, so this eats it.
    c.eat(b' ');
    let mut timestamp = None;
    if !c.rest().starts_with(EXEMPLAR) {
        let token = c.take_while(|b| b != b' ');
        if token.is_empty() {
            return Err(garbage(c));
        }
        let ts = om_timestamp(token).ok_or_else(|| ExpositionError::InvalidTimestamp {
            line,
            timestamp: excerpt(token),
        })?;
        timestamp = Some(ts);
        if c.at_end() {
            return Ok(timestamp);
        }
        if !(c.eat(b' ') && c.rest().starts_with(EXEMPLAR)) {
            return Err(garbage(c));
        }
    }
    c.advance(EXEMPLAR.len());
    parse_labels(c, Format::OpenMetrics, line, None, None)?;
    let invalid = |reason| ExpositionError::InvalidExemplar { line, reason };
    if !c.eat(b' ') {
        return Err(invalid("expected a value after the exemplar labels"));
    }
    let value = c.take_while(|b| b != b' ');
    if value.is_empty() {
        return Err(invalid("expected a value after the exemplar labels"));
    }
    if parse_float(value).is_none() {
        return Err(invalid("invalid exemplar value"));
    }
    if c.at_end() {
        return Ok(timestamp);
    }
    c.eat(b' ');
    let ts = c.take_while(|b| b != b' ');
    if ts.is_empty() {
        return Err(garbage(c));
    }
    if om_timestamp(ts).is_none() {
        return Err(invalid("invalid exemplar timestamp"));
    }
    if !c.at_end() {
        return Err(garbage(c));
    }
    Ok(timestamp)
}

/// An OpenMetrics timestamp: float seconds, finite, converted to whole ms by
/// truncation (openmetricsparse.go: `int64(ts * 1000)`).
fn om_timestamp(token: &str) -> Option<i64> {
    let ms = parse_float(token)? * 1000.0;
    // i64::MIN as f64 is exact (-2^63); 2^63 itself is out of range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if ms.is_finite() && (-LIMIT..LIMIT).contains(&ms) {
        Some(ms as i64)
    } else {
        None
    }
}
