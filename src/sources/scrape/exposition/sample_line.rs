//! One sample line in either format: the metric name (bare or quoted in
//! the braces), the label pairs with their escapes, the value, and then the
//! format's own suffix (see [`super::prometheus`] and [`super::openmetrics`]).

use std::borrow::Cow;
use std::collections::HashSet;

use super::lexer::{
    Cursor, excerpt, is_label_continue, is_label_start, is_name_continue, is_name_start,
    parse_float,
};
use super::openmetrics::om_suffix;
use super::prometheus::prom_timestamp;
use super::{ExpositionError, Format, Labels, Res, Sample};

/// A sample line: name, labels, value, timestamp and (OpenMetrics) exemplar.
pub(super) fn parse_sample<'a>(
    c: &mut Cursor<'a>,
    format: Format,
    line: usize,
    sample: &mut Sample<'a>,
) -> Res<()> {
    let prom = format == Format::Prometheus;
    sample.labels.clear();
    let mut name = None;
    match c.peek() {
        Some(b'{') => {}
        Some(b) if is_name_start(b) => name = Some(c.take_while(is_name_continue)),
        _ => return Err(ExpositionError::InvalidMetricName { line }),
    }
    // Where a bare name ends: if a non-separator follows it directly, a value
    // that then fails to parse is reported as a bad name ("my.metric 1").
    let glued = name.is_some() && !matches!(c.peek(), None | Some(b' ' | b'\t' | b'{'));
    if prom {
        c.skip_blank();
    }
    if c.eat(b'{') {
        parse_labels(c, format, line, Some(&mut name), Some(&mut sample.labels))?;
    }
    let name = name.ok_or(ExpositionError::MissingMetricName { line })?;
    check_duplicates(&sample.labels, line)?;

    let value = if prom {
        c.skip_blank();
        c.take_while(|b| !matches!(b, b' ' | b'\t' | b'{'))
    } else if c.eat(b' ') {
        c.take_while(|b| b != b' ')
    } else if glued {
        return Err(ExpositionError::InvalidMetricName { line });
    } else {
        ""
    };
    if value.is_empty() {
        return Err(ExpositionError::MissingValue { line });
    }
    let Some(value) = parse_float(value) else {
        return Err(if glued {
            ExpositionError::InvalidMetricName { line }
        } else {
            ExpositionError::InvalidValue {
                line,
                value: excerpt(value),
            }
        });
    };

    let timestamp_ms = if prom {
        prom_timestamp(c, line)?
    } else {
        om_suffix(c, line)?
    };
    sample.name = name;
    sample.value = value;
    sample.timestamp_ms = timestamp_ms;
    Ok(())
}

/// Parses the label list after `{` up to and including `}`. `name` receives a
/// quoted metric name (`{"my.metric",…}`); `None` means names are not allowed
/// here (exemplars). `out` receives the pairs; `None` means only validate.
pub(super) fn parse_labels<'a>(
    c: &mut Cursor<'a>,
    format: Format,
    line: usize,
    mut name: Option<&mut Option<&'a str>>,
    mut out: Option<&mut Labels<'a>>,
) -> Res<()> {
    let prom = format == Format::Prometheus;
    loop {
        if prom {
            c.skip_blank();
        }
        let (token, quoted) = match c.peek() {
            Some(b'}') => {
                c.bump();
                return Ok(());
            }
            Some(b'"') => {
                let (raw, escaped) = c
                    .take_quoted()
                    .ok_or(ExpositionError::UnterminatedLabelValue { line })?;
                if escaped {
                    return Err(ExpositionError::EscapedQuotedName { line });
                }
                (raw, true)
            }
            Some(b) if is_label_start(b) => (c.take_while(is_label_continue), false),
            None => return Err(ExpositionError::UnterminatedLabelSet { line }),
            Some(_) => return Err(ExpositionError::InvalidLabelName { line }),
        };
        if prom {
            c.skip_blank();
        }
        if quoted && matches!(c.peek(), Some(b',' | b'}')) {
            // A quoted string on its own is the metric name.
            let Some(slot) = name.as_deref_mut() else {
                return Err(ExpositionError::InvalidLabelName { line });
            };
            if slot.is_some() {
                return Err(ExpositionError::DuplicateMetricName { line });
            }
            if token.is_empty() {
                return Err(ExpositionError::InvalidMetricName { line });
            }
            *slot = Some(token);
            if !c.eat(b',') {
                c.bump(); // '}'
                return Ok(());
            }
            continue;
        }
        if token.is_empty() {
            return Err(ExpositionError::InvalidLabelName { line });
        }
        if !c.eat(b'=') {
            return Err(if c.at_end() {
                ExpositionError::UnterminatedLabelSet { line }
            } else {
                ExpositionError::ExpectedEquals { line }
            });
        }
        if prom {
            c.skip_blank();
        }
        if c.peek() != Some(b'"') {
            return Err(ExpositionError::ExpectedLabelValue { line });
        }
        let (raw, escaped) = c
            .take_quoted()
            .ok_or(ExpositionError::UnterminatedLabelValue { line })?;
        if let Some(out) = out.as_deref_mut() {
            let value = if escaped {
                unescape(raw)
            } else {
                Cow::Borrowed(raw)
            };
            out.push((token, value));
        }
        if prom {
            // promparse.go: "Free trailing commas are allowed", and the comma
            // between pairs is optional (its test: `{ quantile = "2.0" a = "b" }`).
            c.skip_blank();
            c.eat(b',');
        } else {
            match c.peek() {
                Some(b',') => c.bump(),
                Some(b'}') => {
                    c.bump();
                    return Ok(());
                }
                None => return Err(ExpositionError::UnterminatedLabelSet { line }),
                Some(_) => return Err(ExpositionError::ExpectedCommaOrBrace { line }),
            }
        }
    }
}

/// Rejects repeated label names and `__name__`.
fn check_duplicates(labels: &Labels<'_>, line: usize) -> Res<()> {
    let dup = |name: &str| ExpositionError::DuplicateLabelName {
        line,
        name: name.to_owned(),
    };
    // Quadratic is fastest for the usual handful of labels; the set bounds
    // the cost of hostile inputs with thousands of labels on one line.
    const SMALL: usize = 16;
    if labels.len() <= SMALL {
        for (i, (name, _)) in labels.iter().enumerate() {
            if *name == "__name__" || labels.iter().take(i).any(|(n, _)| n == name) {
                return Err(dup(name));
            }
        }
    } else {
        let mut seen = HashSet::with_capacity(labels.len());
        for (name, _) in labels {
            if *name == "__name__" || !seen.insert(*name) {
                return Err(dup(name));
            }
        }
    }
    Ok(())
}

/// Unescapes a label value as promparse.go's `lvalReplacer` does: `\"`, `\\`
/// and `\n`; any other backslash is kept.
fn unescape(raw: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        let replacement = match chars.clone().next() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('n') => '\n',
            _ => {
                out.push('\\');
                continue;
            }
        };
        chars.next();
        out.push(replacement);
    }
    Cow::Owned(out)
}
