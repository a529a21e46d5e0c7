//! The Prometheus text format's own rules (0.0.4, `promlex.l`): `# HELP` and
//! `# TYPE` lines among free comments, and an optional integer timestamp in
//! milliseconds after the value, with any run of spaces and tabs between
//! tokens.

use super::lexer::{Cursor, excerpt, metadata_name};
use super::{ExpositionError, Res};

/// `# …` in the Prometheus format: HELP and TYPE are checked, anything else
/// is a comment (promlex.l: `#[ \t]+` then `HELP[\t ]+`/`TYPE[\t ]+`, else
/// the rest of the line is consumed as a comment).
pub(super) fn prom_comment(c: &mut Cursor<'_>, line: usize) -> Res<()> {
    c.bump(); // '#'
    if !matches!(c.peek(), Some(b' ' | b'\t')) {
        return Ok(());
    }
    c.skip_blank();
    let rest = c.rest();
    let is_type = if rest.starts_with("TYPE") {
        true
    } else if rest.starts_with("HELP") {
        false
    } else {
        return Ok(());
    };
    c.advance(4);
    if !matches!(c.peek(), Some(b' ' | b'\t')) {
        return Ok(()); // "# HELPER …" is a comment.
    }
    c.skip_blank();
    if metadata_name(c).is_none() {
        return Err(ExpositionError::InvalidMetadata {
            line,
            reason: "expected a metric name after HELP or TYPE",
        });
    }
    let rest = c.rest();
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return Err(ExpositionError::InvalidMetadata {
            line,
            reason: "expected whitespace after the metric name",
        });
    }
    if !is_type {
        return Ok(());
    }
    // promparse.go takes the rest of the line minus one separator as the text
    // and compares it exactly, so "# TYPE m  counter" is an error upstream too.
    let text = if rest.bytes().all(|b| b == b' ' || b == b'\t') {
        ""
    } else {
        rest.get(1..).unwrap_or(rest)
    };
    match text {
        "counter" | "gauge" | "histogram" | "summary" | "untyped" => Ok(()),
        _ => Err(ExpositionError::InvalidMetricType {
            line,
            found: excerpt(text),
        }),
    }
}

/// Prometheus format, after the value: `[ \t]*` then optionally an integer
/// timestamp in ms (promlex.l `{D}+`), then only whitespace.
pub(super) fn prom_timestamp(c: &mut Cursor<'_>, line: usize) -> Res<Option<i64>> {
    c.skip_blank();
    if c.at_end() {
        return Ok(None);
    }
    let token = c.take_while(|b| b != b' ' && b != b'\t');
    let ts = if token.bytes().all(|b| b.is_ascii_digit()) {
        token.parse::<i64>().ok()
    } else {
        None
    };
    let Some(ts) = ts else {
        return Err(
            if token.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-' || ch == '+') {
                ExpositionError::InvalidTimestamp {
                    line,
                    timestamp: excerpt(token),
                }
            } else {
                ExpositionError::TrailingGarbage {
                    line,
                    found: excerpt(token),
                }
            },
        );
    };
    c.skip_blank();
    if !c.at_end() {
        return Err(ExpositionError::TrailingGarbage {
            line,
            found: excerpt(c.rest()),
        });
    }
    Ok(Some(ts))
}
