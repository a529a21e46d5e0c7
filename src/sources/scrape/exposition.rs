//! Parser for the Prometheus text exposition format (version 0.0.4) and
//! OpenMetrics 1.0 text, as served on services' `/metrics` endpoints.
//!
//! Pure and I/O-free: the caller fetches the body and picks the [`Format`]
//! from the response's `Content-Type` with [`format_for`]; [`parse`] then
//! calls a closure for every sample, in order. Names and label values borrow
//! from the input (a label value is copied only when it contains escapes), and
//! [`parse_with`] lends each sample by reference so that a whole scrape costs
//! one allocation for the label list. No input can make it panic: it never
//! indexes or slices in a way that can fail, and the tests throw random and
//! mutated inputs at it (see also `fuzz/` and `scripts/fuzz.sh`).
//!
//! # What it follows
//!
//! - The format documents: Prometheus' "Exposition formats" page (text format
//!   0.0.4) and the OpenMetrics 1.0 specification.
//! - What the Prometheus server accepts when it scrapes, which is where the
//!   documents are silent or loose: `prometheus/prometheus`
//!   `model/textparse/promparse.go` with its lexer `promlex.l`, and
//!   `model/textparse/openmetricsparse.go` with `openmetricslex.l`; their
//!   `_test.go` files are the source of most of the tests below.
//! - `prometheus/common` `expfmt/text_parse.go` (the client-side parser) only
//!   where the server's parser is silent: duplicate label names are an error,
//!   and a raw line feed cannot appear inside a quoted string.
//!
//! # Grammar, per format
//!
//! | | Prometheus 0.0.4 | OpenMetrics 1.0 |
//! |---|---|---|
//! | metric name | `[a-zA-Z_:][a-zA-Z0-9_:]*`, or quoted first in the braces: `{"my.metric",a="b"}` | same |
//! | label name | `[a-zA-Z_][a-zA-Z0-9_]*`, or quoted: `{"my.label"="v"}` | same |
//! | label value | `"…"`; `\\`, `\"`, `\n` are unescaped, any other `\x` is kept as is | same |
//! | label list | `{}` allowed; a trailing comma allowed; the comma between pairs may be left out | `{}` and a trailing comma allowed; the comma is required |
//! | whitespace | any run of spaces and tabs between tokens, before and after the line | exactly one space before the value, the timestamp and the exemplar; nothing else |
//! | value | Go's `strconv.ParseFloat` without `p`, `P`, `_` (so no hex floats): `1`, `-1.5e-3`, `.5`, `NaN`, `+Inf`, `-Inf`, `Inf`, `infinity` (case-insensitive); out of range (`1e400`) is an error | same |
//! | timestamp | optional, integer milliseconds, digits only | optional, float seconds (→ `ts * 1000` truncated to ms); NaN and ±Inf are errors |
//! | exemplar | not supported: text after the timestamp is an error | `value [ts] # {labels} value [ts]`: checked, then dropped |
//! | comments | `# HELP name text`, `# TYPE name type` checked (type: `counter`, `gauge`, `histogram`, `summary`, `untyped`); any other `#` line ignored | only `# HELP`, `# TYPE`, `# UNIT` (checked: the unit must be a `_unit` suffix of the name) and `# EOF` |
//! | blank lines | ignored | an error |
//! | end | anywhere; the last line needs no line feed | `# EOF` must be the last line (one optional line feed after it) |
//! | line feed | `\n`; `\r\n` is an error, as upstream ([`ExpositionError::CarriageReturn`]) | same |
//!
//! HELP, TYPE and UNIT lines are validated but not reported, and neither the
//! order of lines nor the families' shapes are checked (a histogram without
//! `+Inf`, a `TYPE` after its samples): the Prometheus server does not check
//! them either.
//!
//! # Deviations from upstream
//!
//! - A quoted metric or label name that contains a backslash escape is an
//!   error ([`ExpositionError::EscapedQuotedName`]), as [`Sample`] borrows
//!   names from the input; an empty quoted name is an error too (upstream
//!   rejects it later, when validating the series).
//! - A raw line feed inside a quoted string is an error; `promparse.go` allows
//!   it, `text_parse.go` and the OpenMetrics lexer do not.
//! - A NUL byte at the start of a line is an error; `promlex.l` silently ends
//!   the input there.
//! - Duplicate label names, and a label named `__name__`, are reported here;
//!   upstream reports them after parsing, when the scrape builds the series.
//! - In the Prometheus format the `# HELP`/`# TYPE` metric name must be
//!   followed by whitespace or the end of the line (`promlex.l` would split
//!   `# TYPE foo-counter` into `foo` and `counter`).
//! - OpenMetrics timestamps whose milliseconds do not fit in an `i64` are an
//!   error (Go's conversion gives an undefined value). NaN values are not
//!   canonicalised to Prometheus' "normal NaN" bit pattern, and `le` and
//!   `quantile` label values are returned as written, not re-formatted.
//! - The OpenMetrics exemplar limit of 128 characters of labels is not
//!   enforced (the Prometheus server checks it when storing the exemplar), and
//!   NUL bytes are allowed in exemplar label values.
//!
//! - An unquoted name alone in braces (`{abc} 1`) is an error;
//!   `openmetricsparse.go` takes it for a metric name, less its first and
//!   last characters.
//!
//! # Performance
//!
//! One pass over the bytes, line by line, with a lookup table for name
//! characters and the standard library's float parsing (the same syntax as
//! Go's for decimal input). On 1.35 MB of histogram lines (200 targets, five
//! labels per line; the `throughput` test, `--release`, on a 2-core
//! development VM): about 840 MB/s (7 M samples/s) with [`parse_with`] and
//! 700 MB/s with [`parse`] for the Prometheus format, a little more for
//! OpenMetrics, which allows no optional whitespace: under 2 ms for a whole
//! scrape interval.
//!
//! # Errors and partial results
//!
//! Parsing stops at the first error, which carries the 1-based line number;
//! the Prometheus server fails the whole scrape on any error, and so should
//! the caller: the closure has already seen the samples before the bad line
//! (and, in OpenMetrics, before a missing `# EOF`).
//!
//! # Example
//!
//! ```
//! use queue_metrics_adapter::sources::scrape::exposition::{self, Format};
//!
//! let body = "# TYPE rpc_seconds histogram\n\
//!             rpc_seconds_bucket{le=\"0.1\"} 3\n\
//!             rpc_seconds_bucket{le=\"+Inf\"} 4\n\
//!             rpc_seconds_count 4 1700000000000\n";
//! let format = exposition::format_for(Some("text/plain; version=0.0.4; charset=utf-8"));
//! assert_eq!(format, Format::Prometheus);
//!
//! let mut buckets = Vec::new();
//! exposition::parse(body, format, |sample| {
//!     if sample.name == "rpc_seconds_bucket" {
//!         buckets.push((sample.label("le").unwrap_or("").to_owned(), sample.value));
//!     }
//! })?;
//! assert_eq!(buckets, [("0.1".to_owned(), 3.0), ("+Inf".to_owned(), 4.0)]);
//! # Ok::<(), exposition::ExpositionError>(())
//! ```

use std::borrow::Cow;
use std::collections::HashSet;

/// Which text format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4 (`text/plain; version=0.0.4`).
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

/// Picks the format from a Content-Type header (application/openmetrics-text → OpenMetrics, else Prometheus).
///
/// The media type is compared case-insensitively and its parameters
/// (`version`, `charset`) are ignored; a missing header, or any other media
/// type (`text/plain` included), means Prometheus.
pub fn format_for(content_type: Option<&str>) -> Format {
    let media_type = content_type
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim();
    if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::Prometheus
    }
}

/// One sample line: a series and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The metric name, such as `http_request_duration_seconds_bucket`
    /// (without quotes when it was written quoted).
    pub name: &'a str,
    /// Label pairs in written order; values unescaped (Cow::Borrowed when no escapes).
    pub labels: Vec<(&'a str, Cow<'a, str>)>,
    /// The sample value; may be NaN or ±infinity.
    pub value: f64,
    /// The sample's own timestamp in milliseconds since the Unix epoch, if it
    /// has one.
    pub timestamp_ms: Option<i64>,
}

impl Sample<'_> {
    /// The value of the label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// Why a body could not be parsed. Every variant carries the 1-based number
/// of the offending line (see [`ExpositionError::line`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpositionError {
    /// A sample line does not start with a metric name
    /// (`[a-zA-Z_:][a-zA-Z0-9_:]*`) or `{`, the name runs into characters a
    /// name cannot have (`my.metric 1`), or a quoted name is empty.
    #[error("line {line}: invalid metric name")]
    InvalidMetricName {
        /// 1-based line number.
        line: usize,
    },
    /// The braces hold no quoted metric name and none precedes them
    /// (`{a="b"} 1`).
    #[error("line {line}: metric name not set")]
    MissingMetricName {
        /// 1-based line number.
        line: usize,
    },
    /// The metric name is given twice (`foo{"bar"} 1`, `{"a","b"} 1`).
    #[error("line {line}: metric name set twice")]
    DuplicateMetricName {
        /// 1-based line number.
        line: usize,
    },
    /// Where a label name (`[a-zA-Z_][a-zA-Z0-9_]*` or a non-empty quoted
    /// string) or `}` is expected, there is something else (`{=""}`,
    /// `{a="b",,c="d"}`).
    #[error("line {line}: invalid label name")]
    InvalidLabelName {
        /// 1-based line number.
        line: usize,
    },
    /// A label name is not followed by `=`.
    #[error("line {line}: expected '=' after label name")]
    ExpectedEquals {
        /// 1-based line number.
        line: usize,
    },
    /// A `=` is not followed by a double-quoted value (`{b='c'}`).
    #[error("line {line}: expected a double-quoted label value")]
    ExpectedLabelValue {
        /// 1-based line number.
        line: usize,
    },
    /// A quoted label value or quoted name has no closing `"` on its line.
    #[error("line {line}: unterminated quoted string")]
    UnterminatedLabelValue {
        /// 1-based line number.
        line: usize,
    },
    /// The line ends inside `{…}`.
    #[error("line {line}: label set not closed with '}}'")]
    UnterminatedLabelSet {
        /// 1-based line number.
        line: usize,
    },
    /// OpenMetrics only: a label pair is followed by something other than
    /// `,` or `}` (`{b="c"d="e"}`, or a space).
    #[error("line {line}: expected ',' or '}}' after label value")]
    ExpectedCommaOrBrace {
        /// 1-based line number.
        line: usize,
    },
    /// Two labels of a sample have the same name, or a label is named
    /// `__name__` (which would duplicate the metric name).
    #[error("line {line}: duplicate label name {name:?}")]
    DuplicateLabelName {
        /// 1-based line number.
        line: usize,
        /// The repeated label name.
        name: String,
    },
    /// A quoted metric or label name contains a backslash escape, which this
    /// parser does not support (names are borrowed from the input).
    #[error("line {line}: escape sequences in quoted names are not supported")]
    EscapedQuotedName {
        /// 1-based line number.
        line: usize,
    },
    /// The metric name and labels are not followed by a value.
    #[error("line {line}: expected a value after the metric")]
    MissingValue {
        /// 1-based line number.
        line: usize,
    },
    /// The value is not a float as Go's `strconv.ParseFloat` reads it (without
    /// hex floats or `_`), or is out of range.
    #[error("line {line}: invalid value {value:?}")]
    InvalidValue {
        /// 1-based line number.
        line: usize,
        /// The offending text (at most 64 characters of it).
        value: String,
    },
    /// The timestamp is not an `i64` of milliseconds (Prometheus format:
    /// digits only, so no sign) or not a finite float of seconds whose
    /// milliseconds fit in an `i64` (OpenMetrics).
    #[error("line {line}: invalid timestamp {timestamp:?}")]
    InvalidTimestamp {
        /// 1-based line number.
        line: usize,
        /// The offending text (at most 64 characters of it).
        timestamp: String,
    },
    /// Something follows the value and timestamp that is neither whitespace
    /// (Prometheus format) nor an exemplar (OpenMetrics).
    #[error("line {line}: unexpected text after the value: {found:?}")]
    TrailingGarbage {
        /// 1-based line number.
        line: usize,
        /// The unexpected text (at most 64 characters of it).
        found: String,
    },
    /// OpenMetrics only: an exemplar (`# {labels} value [timestamp]`) has no
    /// value, an invalid value, or a timestamp that is not a finite float.
    #[error("line {line}: invalid exemplar: {reason}")]
    InvalidExemplar {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `# HELP`, `# TYPE` or `# UNIT` line lacks its metric name or text, or
    /// (OpenMetrics) its unit is not a `_unit` suffix of the metric name.
    #[error("line {line}: invalid metadata line: {reason}")]
    InvalidMetadata {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `# TYPE` line names a type the format does not have (`untyped` is
    /// Prometheus-only; `gaugehistogram`, `info`, `stateset` and `unknown` are
    /// OpenMetrics-only).
    #[error("line {line}: invalid metric type {found:?}")]
    InvalidMetricType {
        /// 1-based line number.
        line: usize,
        /// The type as written (at most 64 characters of it).
        found: String,
    },
    /// OpenMetrics only: a blank line, a line starting with whitespace, or a
    /// comment other than `# HELP`, `# TYPE`, `# UNIT` and `# EOF`.
    #[error("line {line}: {reason}")]
    InvalidLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The line ends with a carriage return and would parse without it: the
    /// body uses CRLF line endings, which neither format allows (the
    /// Prometheus server rejects them too).
    #[error("line {line}: line ends with a carriage return (CRLF line endings are not allowed)")]
    CarriageReturn {
        /// 1-based line number.
        line: usize,
    },
    /// OpenMetrics only: the input ends without a `# EOF` line (or its last
    /// line has no line feed and is not `# EOF`).
    #[error("line {line}: OpenMetrics data does not end with '# EOF'")]
    MissingEof {
        /// 1-based line number where `# EOF` was expected.
        line: usize,
    },
    /// OpenMetrics only: something follows the `# EOF` line (even a blank
    /// line), or the `# EOF` line itself has trailing text.
    #[error("line {line}: unexpected data after '# EOF'")]
    DataAfterEof {
        /// 1-based line number.
        line: usize,
    },
}

impl ExpositionError {
    /// The 1-based number of the line the error is about.
    pub fn line(&self) -> usize {
        match *self {
            Self::InvalidMetricName { line }
            | Self::MissingMetricName { line }
            | Self::DuplicateMetricName { line }
            | Self::InvalidLabelName { line }
            | Self::ExpectedEquals { line }
            | Self::ExpectedLabelValue { line }
            | Self::UnterminatedLabelValue { line }
            | Self::UnterminatedLabelSet { line }
            | Self::ExpectedCommaOrBrace { line }
            | Self::DuplicateLabelName { line, .. }
            | Self::EscapedQuotedName { line }
            | Self::MissingValue { line }
            | Self::InvalidValue { line, .. }
            | Self::InvalidTimestamp { line, .. }
            | Self::TrailingGarbage { line, .. }
            | Self::InvalidExemplar { line, .. }
            | Self::InvalidMetadata { line, .. }
            | Self::InvalidMetricType { line, .. }
            | Self::InvalidLine { line, .. }
            | Self::CarriageReturn { line }
            | Self::MissingEof { line }
            | Self::DataAfterEof { line } => line,
        }
    }
}

/// Calls `f` for every sample in order; stops at the first syntax error (like Prometheus, which fails the whole scrape).
///
/// Each [`Sample`] is handed over by value, so its label list is one
/// allocation (none for a sample without labels); [`parse_with`] avoids even
/// that.
pub fn parse<'a>(
    text: &'a str,
    format: Format,
    mut f: impl FnMut(Sample<'a>),
) -> Result<(), ExpositionError> {
    let mut scratch = Sample::empty();
    run(text, format, &mut scratch, &mut |s: &mut Sample<'a>| {
        f(Sample {
            name: s.name,
            labels: s.labels.drain(..).collect(),
            value: s.value,
            timestamp_ms: s.timestamp_ms,
        })
    })
}

/// Like [`parse`], but lends each sample to `f` by reference, reusing one
/// label list for the whole body: the only allocations are that list and the
/// label values that contain escapes. `f` can still keep the `&'a str` names
/// and clone what it needs.
pub fn parse_with<'a>(
    text: &'a str,
    format: Format,
    mut f: impl FnMut(&Sample<'a>),
) -> Result<(), ExpositionError> {
    let mut scratch = Sample::empty();
    run(text, format, &mut scratch, &mut |s: &mut Sample<'a>| f(s))
}

impl Sample<'_> {
    fn empty() -> Self {
        Sample {
            name: "",
            labels: Vec::new(),
            value: 0.0,
            timestamp_ms: None,
        }
    }
}

type Labels<'a> = Vec<(&'a str, Cow<'a, str>)>;
type Res<T> = Result<T, ExpositionError>;

fn run<'a>(
    text: &'a str,
    format: Format,
    sample: &mut Sample<'a>,
    emit: &mut impl FnMut(&mut Sample<'a>),
) -> Res<()> {
    let mut rest = text;
    let mut line = 0usize;
    match format {
        Format::Prometheus => {
            while !rest.is_empty() {
                line += 1;
                let (text, next) = rest.split_once('\n').unwrap_or((rest, ""));
                rest = next;
                let is_sample = parse_line(text, Format::Prometheus, line, sample)
                    .map_err(|e| crlf_hint(e, text, Format::Prometheus, line))?;
                if is_sample {
                    emit(sample);
                }
            }
            Ok(())
        }
        Format::OpenMetrics => loop {
            if rest.is_empty() {
                return Err(ExpositionError::MissingEof { line: line + 1 });
            }
            line += 1;
            let (text, next, terminated) = match rest.split_once('\n') {
                Some((text, next)) => (text, next, true),
                None => (rest, "", false),
            };
            rest = next;
            if text == "# EOF" {
                return if rest.is_empty() {
                    Ok(())
                } else {
                    Err(ExpositionError::DataAfterEof { line: line + 1 })
                };
            }
            if text == "# EOF\r" {
                return Err(ExpositionError::CarriageReturn { line });
            }
            if text.starts_with("# EOF") {
                return Err(ExpositionError::DataAfterEof { line });
            }
            // Syntax errors on an unterminated last line win over the missing
            // `# EOF`, as in openmetricsparse.go.
            let is_sample = parse_line(text, Format::OpenMetrics, line, sample)
                .map_err(|e| crlf_hint(e, text, Format::OpenMetrics, line))?;
            if !terminated {
                return Err(ExpositionError::MissingEof { line });
            }
            if is_sample {
                emit(sample);
            }
        },
    }
}

/// Turns `err` into [`ExpositionError::CarriageReturn`] when the line would
/// have parsed without its trailing `\r`.
fn crlf_hint(err: ExpositionError, text: &str, format: Format, line: usize) -> ExpositionError {
    match text.strip_suffix('\r') {
        Some(stripped) if parse_line(stripped, format, line, &mut Sample::empty()).is_ok() => {
            ExpositionError::CarriageReturn { line }
        }
        _ => err,
    }
}

/// Parses one line (without its `\n`); returns whether it was a sample, which
/// is then in `sample`.
fn parse_line<'a>(
    text: &'a str,
    format: Format,
    line: usize,
    sample: &mut Sample<'a>,
) -> Res<bool> {
    let mut c = Cursor::new(text);
    match format {
        Format::Prometheus => {
            c.skip_blank();
            match c.peek() {
                None => Ok(false),
                Some(b'#') => {
                    prom_comment(&mut c, line)?;
                    Ok(false)
                }
                Some(_) => {
                    parse_sample(&mut c, format, line, sample)?;
                    Ok(true)
                }
            }
        }
        Format::OpenMetrics => match c.peek() {
            None => Err(ExpositionError::InvalidLine {
                line,
                reason: "blank lines are not allowed in OpenMetrics",
            }),
            Some(b'#') => {
                om_comment(text, line)?;
                Ok(false)
            }
            Some(b' ' | b'\t') => Err(ExpositionError::InvalidLine {
                line,
                reason: "lines must not start with whitespace in OpenMetrics",
            }),
            Some(_) => {
                parse_sample(&mut c, format, line, sample)?;
                Ok(true)
            }
        },
    }
}

/// `# …` in the Prometheus format: HELP and TYPE are checked, anything else
/// is a comment (promlex.l: `#[ \t]+` then `HELP[\t ]+`/`TYPE[\t ]+`, else
/// the rest of the line is consumed as a comment).
fn prom_comment(c: &mut Cursor<'_>, line: usize) -> Res<()> {
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

/// `# …` in OpenMetrics (openmetricslex.l: `# ` then `HELP `, `TYPE `,
/// `UNIT ` or `EOF`; the caller has handled `# EOF`).
fn om_comment(text: &str, line: usize) -> Res<()> {
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

/// The metric name of a HELP/TYPE/UNIT line: plain or quoted (escapes are
/// fine here, the name is not returned unescaped). `None` if there is none.
fn metadata_name<'a>(c: &mut Cursor<'a>) -> Option<&'a str> {
    match c.peek()? {
        b'"' => c.take_quoted().map(|(raw, _)| raw),
        b if is_name_start(b) => Some(c.take_while(is_name_continue)),
        _ => None,
    }
}

/// A sample line: name, labels, value, timestamp and (OpenMetrics) exemplar.
fn parse_sample<'a>(
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

/// Prometheus format, after the value: `[ \t]*` then optionally an integer
/// timestamp in ms (promlex.l `{D}+`), then only whitespace.
fn prom_timestamp(c: &mut Cursor<'_>, line: usize) -> Res<Option<i64>> {
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

/// OpenMetrics, after the value: nothing, or ` timestamp`, and then nothing
/// or ` # {labels} value [timestamp]` (an exemplar, validated and dropped).
fn om_suffix(c: &mut Cursor<'_>, line: usize) -> Res<Option<i64>> {
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

/// Parses the label list after `{` up to and including `}`. `name` receives a
/// quoted metric name (`{"my.metric",…}`); `None` means names are not allowed
/// here (exemplars). `out` receives the pairs; `None` means only validate.
fn parse_labels<'a>(
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

/// Parses a float as upstream's `parseFloat` does: Go's
/// `strconv.ParseFloat(s, 64)`, after rejecting `p`, `P` and `_` (so no hex
/// floats and no digit separators). Go's decimal syntax is Rust's; the
/// differences handled here are that Go does not accept a signed NaN and
/// reports out-of-range values as errors instead of infinities.
fn parse_float(s: &str) -> Option<f64> {
    let bytes = s.as_bytes();
    let unsigned = match bytes.first() {
        Some(b'+' | b'-') => bytes.get(1..).unwrap_or_default(),
        _ => bytes,
    };
    match unsigned.first() {
        Some(b'n' | b'N') => {
            return bytes.eq_ignore_ascii_case(b"nan").then_some(f64::NAN);
        }
        Some(b'i' | b'I') => {
            if unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"infinity") {
                let negative = bytes.first() == Some(&b'-');
                return Some(if negative {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                });
            }
            return None;
        }
        _ => {}
    }
    if bytes.iter().any(|b| matches!(b, b'p' | b'P' | b'_')) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    // Only the literals above may be infinite; "1e400" is ErrRange in Go.
    v.is_finite().then_some(v)
}

/// At most 64 characters of `s`, for error messages.
fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}

const NAME_START: u8 = 1;
const NAME_CONTINUE: u8 = 2;
const LABEL_START: u8 = 4;
const LABEL_CONTINUE: u8 = 8;

/// Character classes: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
/// `[a-zA-Z_][a-zA-Z0-9_]*`.
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let letter = b.is_ascii_alphabetic() || b == b'_';
        let mut class = 0;
        if letter || b == b':' {
            class |= NAME_START | NAME_CONTINUE;
        }
        if letter {
            class |= LABEL_START | LABEL_CONTINUE;
        }
        if b.is_ascii_digit() {
            class |= NAME_CONTINUE | LABEL_CONTINUE;
        }
        table[i] = class;
        i += 1;
    }
    table
};

fn class(b: u8) -> u8 {
    // A u8 index into a 256-entry table cannot be out of bounds.
    CLASSES[usize::from(b)]
}

fn is_name_start(b: u8) -> bool {
    class(b) & NAME_START != 0
}

fn is_name_continue(b: u8) -> bool {
    class(b) & NAME_CONTINUE != 0
}

fn is_label_start(b: u8) -> bool {
    class(b) & LABEL_START != 0
}

fn is_label_continue(b: u8) -> bool {
    class(b) & LABEL_CONTINUE != 0
}

/// A position in one line. Positions only ever stop at ASCII bytes or the
/// end of the line (every predicate treats all bytes >= 0x80 alike), so the
/// `get` calls below always succeed; they fall back to empty rather than
/// panic.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Steps over one byte (an ASCII byte just seen with `peek`).
    fn bump(&mut self) {
        self.advance(1);
    }

    fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.s.len());
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.bump();
        }
        hit
    }

    fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let rest = self.s.as_bytes().get(self.pos..).unwrap_or_default();
        let n = rest.iter().position(|&b| !keep(b)).unwrap_or(rest.len());
        let start = self.pos;
        self.pos += n;
        self.s.get(start..self.pos).unwrap_or_default()
    }

    /// At a `"`: the text up to the closing quote (not unescaped) and whether
    /// it contains a backslash; `None` if the line ends first. A backslash
    /// escapes whatever byte follows it (promlex.l: `\"(\\.|[^\\"])*\"`).
    fn take_quoted(&mut self) -> Option<(&'a str, bool)> {
        let bytes = self.s.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            let rest = bytes.get(i..)?;
            i += rest.iter().position(|&b| b == b'"' || b == b'\\')?;
            if bytes.get(i) == Some(&b'"') {
                let inner = self.s.get(start..i)?;
                self.pos = i + 1;
                return Some((inner, escaped));
            }
            escaped = true;
            i += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned copy of a sample, for comparisons.
    #[derive(Debug, Clone, PartialEq)]
    struct S {
        name: String,
        labels: Vec<(String, String)>,
        value: f64,
        ts: Option<i64>,
    }

    fn s(name: &str, labels: &[(&str, &str)], value: f64, ts: Option<i64>) -> S {
        S {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            value,
            ts,
        }
    }

    fn owned(sample: &Sample<'_>) -> S {
        S {
            name: sample.name.to_owned(),
            labels: sample
                .labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.to_string()))
                .collect(),
            value: sample.value,
            ts: sample.timestamp_ms,
        }
    }

    /// Parses with both entry points, checks they agree, returns the samples.
    fn collect(text: &str, format: Format) -> Result<Vec<S>, ExpositionError> {
        let mut by_value = Vec::new();
        let r1 = parse(text, format, |sample| by_value.push(owned(&sample)));
        let mut by_ref = Vec::new();
        let r2 = parse_with(text, format, |sample| by_ref.push(owned(sample)));
        assert_eq!(r1, r2, "parse and parse_with disagree on {text:?}");
        assert_eq!(
            format!("{by_value:?}"),
            format!("{by_ref:?}"),
            "parse and parse_with disagree on {text:?}"
        );
        r1.map(|()| by_value)
    }

    fn prom(text: &str) -> Vec<S> {
        collect(text, Format::Prometheus).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn om(text: &str) -> Vec<S> {
        collect(text, Format::OpenMetrics).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn prom_err(text: &str) -> ExpositionError {
        match collect(text, Format::Prometheus) {
            Ok(samples) => panic!("{text:?} parsed: {samples:?}"),
            Err(e) => e,
        }
    }

    fn om_err(text: &str) -> ExpositionError {
        match collect(text, Format::OpenMetrics) {
            Ok(samples) => panic!("{text:?} parsed: {samples:?}"),
            Err(e) => e,
        }
    }

    fn value_of(text: &str, format: Format) -> Option<f64> {
        let mut v = None;
        parse(text, format, |s| v = Some(s.value)).ok()?;
        v
    }

    #[test]
    fn format_from_content_type() {
        assert_eq!(format_for(None), Format::Prometheus);
        assert_eq!(
            format_for(Some("text/plain; version=0.0.4; charset=utf-8")),
            Format::Prometheus
        );
        assert_eq!(
            format_for(Some(
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            )),
            Format::OpenMetrics
        );
        assert_eq!(
            format_for(Some(" Application/OpenMetrics-Text ;version=0.0.1")),
            Format::OpenMetrics
        );
        assert_eq!(format_for(Some("")), Format::Prometheus);
        assert_eq!(format_for(Some("application/json")), Format::Prometheus);
    }

    /// Ported from prometheus/prometheus model/textparse/promparse_test.go
    /// `TestPromParse`: the same input, and its samples (HELP, TYPE and
    /// comments are checked but not reported here).
    #[test]
    fn prom_upstream_parse() {
        let input = "# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# \tTYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05
go_gc_duration_seconds{quantile=\"0.25\",} 7.424100000000001e-05
go_gc_duration_seconds{quantile=\"0.5\",a=\"b\"} 8.3835e-05
go_gc_duration_seconds{quantile=\"0.8\", a=\"b\"} 8.3835e-05
go_gc_duration_seconds{ quantile=\"0.9\", a=\"b\"} 8.3835e-05
# Hrandom comment starting with prefix of HELP
#
wind_speed{A=\"2\",c=\"3\"} 12345
# comment with escaped \\n newline
# comment with escaped \\ escape character
# HELP nohelp1
# HELP nohelp2 
go_gc_duration_seconds{ quantile=\"1.0\", a=\"b\" } 8.3835e-05
go_gc_duration_seconds { quantile=\"1.0\", a=\"b\" } 8.3835e-05
go_gc_duration_seconds { quantile= \"1.0\", a= \"b\", } 8.3835e-05
go_gc_duration_seconds { quantile = \"1.0\", a = \"b\" } 8.3835e-05
go_gc_duration_seconds { quantile = \"2.0\" a = \"b\" } 8.3835e-05
go_gc_duration_seconds_count 99
some:aggregate:rate5m{a_b=\"c\"}\t1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33  \t123123
_metric_starting_with_underscore 1
testmetric{_label_starting_with_underscore=\"foo\"} 1
testmetric{label=\"\\\"bar\\\"\"} 1
# HELP metric foo\x00bar
null_byte_metric{a=\"abc\x00\"} 1";
        let g = "go_gc_duration_seconds";
        assert_eq!(
            prom(input),
            vec![
                s(g, &[("quantile", "0")], 4.9351e-05, None),
                s(g, &[("quantile", "0.25")], 7.424100000000001e-05, None),
                s(g, &[("quantile", "0.5"), ("a", "b")], 8.3835e-05, None),
                s(g, &[("quantile", "0.8"), ("a", "b")], 8.3835e-05, None),
                s(g, &[("quantile", "0.9"), ("a", "b")], 8.3835e-05, None),
                s("wind_speed", &[("A", "2"), ("c", "3")], 12345.0, None),
                s(g, &[("quantile", "1.0"), ("a", "b")], 8.3835e-05, None),
                s(g, &[("quantile", "1.0"), ("a", "b")], 8.3835e-05, None),
                s(g, &[("quantile", "1.0"), ("a", "b")], 8.3835e-05, None),
                s(g, &[("quantile", "1.0"), ("a", "b")], 8.3835e-05, None),
                // "Unlike OpenMetrics, Promparse allows spaces between label terms."
                s(g, &[("quantile", "2.0"), ("a", "b")], 8.3835e-05, None),
                s("go_gc_duration_seconds_count", &[], 99.0, None),
                s("some:aggregate:rate5m", &[("a_b", "c")], 1.0, None),
                s("go_goroutines", &[], 33.0, Some(123123)),
                s("_metric_starting_with_underscore", &[], 1.0, None),
                s(
                    "testmetric",
                    &[("_label_starting_with_underscore", "foo")],
                    1.0,
                    None
                ),
                s("testmetric", &[("label", "\"bar\"")], 1.0, None),
                s("null_byte_metric", &[("a", "abc\0")], 1.0, None),
            ]
        );
    }

    /// Ported from promparse_test.go `TestUTF8PromParse`; its last line, whose
    /// quoted names contain escapes, is rejected here (module docs,
    /// "Deviations").
    #[test]
    fn prom_upstream_utf8_names() {
        let input = r#"# HELP "go.gc_duration_seconds" A summary of the GC invocation durations.
# 	TYPE "go.gc_duration_seconds" summary
{"go.gc_duration_seconds",quantile="0"} 4.9351e-05
{"go.gc_duration_seconds",quantile="0.25",} 7.424100000000001e-05
{"go.gc_duration_seconds",quantile="0.5",a="b"} 8.3835e-05
{"go.gc_duration_seconds",quantile="0.8", a="b"} 8.3835e-05
{"go.gc_duration_seconds", quantile="0.9", a="b"} 8.3835e-05
{"go.gc_duration_seconds", quantile="1.0", a="b" } 8.3835e-05
{ "go.gc_duration_seconds", quantile="1.0", a="b" } 8.3835e-05
{ "go.gc_duration_seconds", quantile= "1.0", a= "b", } 8.3835e-05
{ "go.gc_duration_seconds", quantile = "1.0", a = "b" } 8.3835e-05
{"go.gc_duration_seconds_count"} 99
{"Heizölrückstoßabdämpfung 10€ metric","strange©™ 'quoted' name"="6"} 10.0"#;
        let got = prom(input);
        assert_eq!(got.len(), 11);
        assert_eq!(
            got.first(),
            Some(&s(
                "go.gc_duration_seconds",
                &[("quantile", "0")],
                4.9351e-05,
                None
            ))
        );
        assert_eq!(
            got.get(8),
            Some(&s(
                "go.gc_duration_seconds",
                &[("quantile", "1.0"), ("a", "b")],
                8.3835e-05,
                None
            ))
        );
        assert_eq!(
            got.get(9),
            Some(&s("go.gc_duration_seconds_count", &[], 99.0, None))
        );
        assert_eq!(
            got.get(10),
            Some(&s(
                "Heizölrückstoßabdämpfung 10€ metric",
                &[("strange©™ 'quoted' name", "6")],
                10.0,
                None
            ))
        );
        // The upstream line with escapes inside quoted names.
        assert_eq!(
            prom_err(
                r#"{"metric with \"interesting\" {character\nchoices}","strange©™\n'quoted' \"name\""="6"} 10.0"#
            ),
            ExpositionError::EscapedQuotedName { line: 1 }
        );
        // The name may come after labels (openmetricsparse_test.go
        // `TestUTF8OpenMetricsParse`: `{q="0.9","http.status",a="b"}`).
        assert_eq!(
            prom(r#"{q="0.9","http.status",a="b"} 8"#),
            vec![s("http.status", &[("q", "0.9"), ("a", "b")], 8.0, None)]
        );
    }

    /// Ported from promparse_test.go `TestPromParseErrors`.
    #[test]
    fn prom_upstream_errors() {
        use ExpositionError as E;
        let cases: &[(&str, E)] = &[
            ("a", E::MissingValue { line: 1 }),
            ("a{b='c'} 1\n", E::ExpectedLabelValue { line: 1 }),
            ("a{b=\n", E::ExpectedLabelValue { line: 1 }),
            ("a{\u{ff}=\"foo\"} 1\n", E::InvalidLabelName { line: 1 }),
            (r#"{"a", "b = "c"}"#, E::ExpectedEquals { line: 1 }),
            (r#"{"a",b\nc="d"} 1"#, E::ExpectedEquals { line: 1 }),
            (
                "a true\n",
                E::InvalidValue {
                    line: 1,
                    value: "true".into(),
                },
            ),
            (
                "something_weird{problem=\"",
                E::UnterminatedLabelValue { line: 1 },
            ),
            ("empty_label_name{=\"\"} 0", E::InvalidLabelName { line: 1 }),
            (
                "foo 1_2\n",
                E::InvalidValue {
                    line: 1,
                    value: "1_2".into(),
                },
            ),
            (
                "foo 0x1p-3\n",
                E::InvalidValue {
                    line: 1,
                    value: "0x1p-3".into(),
                },
            ),
            (
                "foo 0x1P-3\n",
                E::InvalidValue {
                    line: 1,
                    value: "0x1P-3".into(),
                },
            ),
            (
                "foo 0 1_2\n",
                E::InvalidTimestamp {
                    line: 1,
                    timestamp: "1_2".into(),
                },
            ),
            (r#"{a="ok"} 1"#, E::MissingMetricName { line: 1 }),
            (
                "# TYPE #\n#EOF\n",
                E::InvalidMetadata {
                    line: 1,
                    reason: "expected a metric name after HELP or TYPE",
                },
            ),
            (
                "# HELP #\n#EOF\n",
                E::InvalidMetadata {
                    line: 1,
                    reason: "expected a metric name after HELP or TYPE",
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&prom_err(input), want, "input {input:?}");
        }
    }

    /// Ported from promparse_test.go `TestPromNullByteHandling`.
    #[test]
    fn prom_upstream_null_bytes() {
        use ExpositionError as E;
        assert_eq!(
            prom("null_byte_metric{a=\"abc\x00\"} 1"),
            vec![s("null_byte_metric", &[("a", "abc\0")], 1.0, None)]
        );
        prom("a{b=\"\x00ss\"} 1\n");
        prom("a{b=\"\x00\"} 1\n");
        assert_eq!(
            prom_err("a{b=\x00\"ssss\"} 1\n"),
            E::ExpectedLabelValue { line: 1 }
        );
        assert_eq!(
            prom_err("a{b=\"\x00"),
            E::UnterminatedLabelValue { line: 1 }
        );
        assert_eq!(
            prom_err("a{b\x00=\"hiih\"}\t1"),
            E::ExpectedEquals { line: 1 }
        );
        assert_eq!(
            prom_err("a\x00{b=\"ddd\"} 1"),
            E::InvalidMetricName { line: 1 }
        );
        assert_eq!(
            prom_err("a 0 1\x00"),
            E::InvalidTimestamp {
                line: 1,
                timestamp: "1\0".into()
            }
        );
        // promlex.l ends the input silently at a NUL that starts a line; an
        // error here.
        assert_eq!(prom_err("a 1\n\x00b 2\n"), E::InvalidMetricName { line: 2 });
    }

    /// Ported from openmetricsparse_test.go `TestOpenMetricsParse` (samples
    /// only; `_created` lines are ordinary samples here).
    #[test]
    fn om_upstream_parse() {
        let input = "# HELP go_gc_duration_seconds A summary of the GC invocation durations.
# TYPE go_gc_duration_seconds summary
# UNIT go_gc_duration_seconds seconds
go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05
go_gc_duration_seconds{quantile=\"0.25\"} 7.424100000000001e-05
go_gc_duration_seconds{quantile=\"0.5\",a=\"b\"} 8.3835e-05
# HELP nohelp1 
# HELP help2 escape \\ \\n \\\\ \\\" \\x chars
# UNIT nounit 
go_gc_duration_seconds{quantile=\"1.0\",a=\"b\"} 8.3835e-05
go_gc_duration_seconds_count 99
some:aggregate:rate5m{a_b=\"c\"} 1
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 33 123.123
# TYPE hh histogram
hh_bucket{le=\"+Inf\"} 1
# TYPE gh gaugehistogram
gh_bucket{le=\"+Inf\"} 1
# TYPE hhh histogram
hhh_bucket{le=\"+Inf\"} 1 # {id=\"histogram-bucket-test\"} 4
hhh_count 1 # {id=\"histogram-count-test\"} 4
# TYPE ggh gaugehistogram
ggh_bucket{le=\"+Inf\"} 1 # {id=\"gaugehistogram-bucket-test\",xx=\"yy\"} 4 123.123
ggh_count 1 # {id=\"gaugehistogram-count-test\",xx=\"yy\"} 4 123.123
# TYPE smr_seconds summary
smr_seconds_count 2.0 # {id=\"summary-count-test\"} 1 123.321
smr_seconds_sum 42.0 # {id=\"summary-sum-test\"} 1 123.321
# TYPE ii info
ii{foo=\"bar\"} 1
# TYPE ss stateset
ss{ss=\"foo\"} 1
ss{ss=\"bar\"} 0
ss{A=\"a\"} 0
# TYPE un unknown
_metric_starting_with_underscore 1
testmetric{_label_starting_with_underscore=\"foo\"} 1
testmetric{label=\"\\\"bar\\\"\"} 1
# HELP foo Counter with and without labels to certify CT is parsed for both cases
# TYPE foo counter
foo_total 17.0 1520879607.789 # {id=\"counter-test\"} 5
foo_created 1520872607.123
foo_total{a=\"b\"} 17.0 1520879607.789 # {id=\"counter-test\"} 5
foo_created{a=\"b\"} 1520872607.123
# HELP metric foo\x00bar
null_byte_metric{a=\"abc\x00\"} 1
# EOF
";
        assert_eq!(
            om(input),
            vec![
                s(
                    "go_gc_duration_seconds",
                    &[("quantile", "0")],
                    4.9351e-05,
                    None
                ),
                s(
                    "go_gc_duration_seconds",
                    &[("quantile", "0.25")],
                    7.424100000000001e-05,
                    None
                ),
                s(
                    "go_gc_duration_seconds",
                    &[("quantile", "0.5"), ("a", "b")],
                    8.3835e-05,
                    None
                ),
                s(
                    "go_gc_duration_seconds",
                    &[("quantile", "1.0"), ("a", "b")],
                    8.3835e-05,
                    None
                ),
                s("go_gc_duration_seconds_count", &[], 99.0, None),
                s("some:aggregate:rate5m", &[("a_b", "c")], 1.0, None),
                s("go_goroutines", &[], 33.0, Some(123123)),
                s("hh_bucket", &[("le", "+Inf")], 1.0, None),
                s("gh_bucket", &[("le", "+Inf")], 1.0, None),
                s("hhh_bucket", &[("le", "+Inf")], 1.0, None),
                s("hhh_count", &[], 1.0, None),
                s("ggh_bucket", &[("le", "+Inf")], 1.0, None),
                s("ggh_count", &[], 1.0, None),
                s("smr_seconds_count", &[], 2.0, None),
                s("smr_seconds_sum", &[], 42.0, None),
                s("ii", &[("foo", "bar")], 1.0, None),
                s("ss", &[("ss", "foo")], 1.0, None),
                s("ss", &[("ss", "bar")], 0.0, None),
                s("ss", &[("A", "a")], 0.0, None),
                s("_metric_starting_with_underscore", &[], 1.0, None),
                s(
                    "testmetric",
                    &[("_label_starting_with_underscore", "foo")],
                    1.0,
                    None
                ),
                s("testmetric", &[("label", "\"bar\"")], 1.0, None),
                s("foo_total", &[], 17.0, Some(1520879607789)),
                s("foo_created", &[], 1520872607.123, None),
                s("foo_total", &[("a", "b")], 17.0, Some(1520879607789)),
                s("foo_created", &[("a", "b")], 1520872607.123, None),
                s("null_byte_metric", &[("a", "abc\0")], 1.0, None),
            ]
        );
    }

    /// Ported from openmetricsparse_test.go `TestUTF8OpenMetricsParse` (less
    /// the line with escapes in quoted names).
    #[test]
    fn om_upstream_utf8_names() {
        let input = r#"# HELP "go.gc_duration_seconds" A summary of the GC invocation durations.
# TYPE "go.gc_duration_seconds" summary
# UNIT "go.gc_duration_seconds" seconds
{"go.gc_duration_seconds",quantile="0"} 4.9351e-05
{"go.gc_duration_seconds_created"} 1520872607.123
{"http.status",q="0.9",a="b"} 8.3835e-05
{q="0.9","http.status",a="b"} 8.3835e-05
quotedexemplar_count 1 # {"id.thing"="histogram-count-test"} 4
quotedexemplar2_count 1 # {"id.thing"="histogram-count-test",other="hello"} 4
# EOF
"#;
        assert_eq!(
            om(input),
            vec![
                s(
                    "go.gc_duration_seconds",
                    &[("quantile", "0")],
                    4.9351e-05,
                    None
                ),
                s("go.gc_duration_seconds_created", &[], 1520872607.123, None),
                s("http.status", &[("q", "0.9"), ("a", "b")], 8.3835e-05, None),
                s("http.status", &[("q", "0.9"), ("a", "b")], 8.3835e-05, None),
                s("quotedexemplar_count", &[], 1.0, None),
                s("quotedexemplar2_count", &[], 1.0, None),
            ]
        );
    }

    /// Ported from openmetricsparse_test.go `TestOpenMetricsParseErrors`.
    #[test]
    fn om_upstream_errors() {
        use ExpositionError as E;
        assert_eq!(om("# EOF"), vec![]);
        assert_eq!(om("# EOF\n"), vec![]);
        let type_err = |found: &str| E::InvalidMetricType {
            line: 1,
            found: found.into(),
        };
        let meta = |reason| E::InvalidMetadata { line: 1, reason };
        let no_name = meta("expected a metric name after HELP, TYPE or UNIT");
        let no_text = meta("expected a space and text after the metric name");
        let bad_unit = meta("the unit is not a suffix of the metric name");
        let blank = E::InvalidLine {
            line: 1,
            reason: "blank lines are not allowed in OpenMetrics",
        };
        let leading_ws = E::InvalidLine {
            line: 1,
            reason: "lines must not start with whitespace in OpenMetrics",
        };
        let bad_comment = E::InvalidLine {
            line: 1,
            reason: "only # HELP, # TYPE, # UNIT and # EOF comments are allowed in OpenMetrics",
        };
        let no_space_comment = E::InvalidLine {
            line: 1,
            reason: "comments must start with \"# \" in OpenMetrics",
        };
        let value = |v: &str| E::InvalidValue {
            line: 1,
            value: v.into(),
        };
        let ts = |t: &str| E::InvalidTimestamp {
            line: 1,
            timestamp: t.into(),
        };
        let garbage = |g: &str| E::TrailingGarbage {
            line: 1,
            found: g.into(),
        };
        let exemplar = |reason| E::InvalidExemplar { line: 1, reason };
        let cases: Vec<(&str, E)> = vec![
            ("", E::MissingEof { line: 1 }),
            ("\n", blank.clone()),
            ("metric", E::MissingValue { line: 1 }),
            ("metric 1", E::MissingEof { line: 1 }),
            ("metric 1\n", E::MissingEof { line: 2 }),
            ("metric_total 1 # {aa=\"bb\"} 4", E::MissingEof { line: 1 }),
            ("a\n#EOF\n", E::MissingValue { line: 1 }),
            ("\n\n#EOF\n", blank),
            (" a 1\n#EOF\n", leading_ws.clone()),
            ("9\n#EOF\n", E::InvalidMetricName { line: 1 }),
            ("# TYPE u untyped\n#EOF\n", type_err("untyped")),
            ("# TYPE c counter \n#EOF\n", type_err("counter ")),
            ("#  TYPE c counter\n#EOF\n", bad_comment.clone()),
            ("# TYPE \n#EOF\n", no_name.clone()),
            ("# TYPE m\n#EOF\n", no_text.clone()),
            ("# UNIT metric suffix\n#EOF\n", bad_unit.clone()),
            ("# UNIT metricsuffix suffix\n#EOF\n", bad_unit.clone()),
            ("# UNIT m suffix\n#EOF\n", bad_unit),
            ("# UNIT \n#EOF\n", no_name.clone()),
            ("# UNIT m\n#EOF\n", no_text.clone()),
            ("# HELP \n#EOF\n", no_name),
            ("# HELP m\n#EOF\n", no_text),
            ("a\t1\n#EOF\n", E::MissingValue { line: 1 }),
            ("a 1\t2\n#EOF\n", value("1\t2")),
            ("a 1 2 \n#EOF\n", garbage("")),
            ("a 1 2 #\n#EOF\n", garbage("#")),
            ("a 1 1z\n#EOF\n", ts("1z")),
            (" # EOF\n", leading_ws),
            ("# EOF\na 1", E::DataAfterEof { line: 2 }),
            ("# EOF\n\n", E::DataAfterEof { line: 2 }),
            ("# EOFa 1", E::DataAfterEof { line: 1 }),
            ("#\tTYPE c counter\n", no_space_comment),
            ("# TYPE c  counter\n", type_err(" counter")),
            ("a 1 1 1\n# EOF\n", garbage("1")),
            ("a{b='c'} 1\n# EOF\n", E::ExpectedLabelValue { line: 1 }),
            ("a{,b=\"c\"} 1\n# EOF\n", E::InvalidLabelName { line: 1 }),
            (
                "a{b=\"c\"d=\"e\"} 1\n# EOF\n",
                E::ExpectedCommaOrBrace { line: 1 },
            ),
            (
                "a{b=\"c\",,d=\"e\"} 1\n# EOF\n",
                E::InvalidLabelName { line: 1 },
            ),
            ("a{b=\n# EOF\n", E::ExpectedLabelValue { line: 1 }),
            (
                "a{\u{ff}=\"foo\"} 1\n# EOF\n",
                E::InvalidLabelName { line: 1 },
            ),
            (
                "{\"a\",\"b = \"c\"}\n# EOF\n",
                E::ExpectedEquals { line: 1 },
            ),
            (
                "{\"a\",b\\nc=\"d\"} 1\n# EOF\n",
                E::ExpectedEquals { line: 1 },
            ),
            ("a true\n", value("true")),
            (
                "something_weird{problem=\"\n# EOF\n",
                E::UnterminatedLabelValue { line: 1 },
            ),
            (
                "empty_label_name{=\"\"} 0\n# EOF\n",
                E::InvalidLabelName { line: 1 },
            ),
            ("foo 1_2\n\n# EOF\n", value("1_2")),
            ("foo 0x1p-3\n\n# EOF\n", value("0x1p-3")),
            ("foo 0x1P-3\n\n# EOF\n", value("0x1P-3")),
            ("foo 0 1_2\n\n# EOF\n", ts("1_2")),
            (
                "custom_metric_total 1 # {aa=bb}\n# EOF\n",
                E::ExpectedLabelValue { line: 1 },
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"}\n# EOF\n",
                exemplar("expected a value after the exemplar labels"),
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"}",
                exemplar("expected a value after the exemplar labels"),
            ),
            (
                "custom_metric_total 1 # {bb}",
                E::ExpectedEquals { line: 1 },
            ),
            (
                "custom_metric_total 1 # {bb, a=\"dd\"}",
                E::ExpectedEquals { line: 1 },
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\",,cc=\"dd\"} 1",
                E::InvalidLabelName { line: 1 },
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"} 1_2",
                exemplar("invalid exemplar value"),
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"} 0x1p-3",
                exemplar("invalid exemplar value"),
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\"} true",
                exemplar("invalid exemplar value"),
            ),
            (
                "custom_metric_total 1 # {aa=\"bb\",cc=}",
                E::ExpectedLabelValue { line: 1 },
            ),
            (
                "custom_metric_total 1 # {aa=\\\"\u{ff}\\\"} 9.0",
                E::ExpectedLabelValue { line: 1 },
            ),
            ("{b=\"c\",} 1", E::MissingMetricName { line: 1 }),
            ("a 1 NaN", ts("NaN")),
            ("a 1 -Inf", ts("-Inf")),
            ("a 1 Inf", ts("Inf")),
            (
                "# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 NaN",
                E::InvalidExemplar {
                    line: 2,
                    reason: "invalid exemplar timestamp",
                },
            ),
            (
                "# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 -Inf",
                E::InvalidExemplar {
                    line: 2,
                    reason: "invalid exemplar timestamp",
                },
            ),
        ];
        for (input, want) in &cases {
            assert_eq!(&om_err(input), want, "input {input:?}");
        }
    }

    /// Ported from openmetricsparse_test.go `TestOMNullByteHandling`.
    #[test]
    fn om_upstream_null_bytes() {
        use ExpositionError as E;
        om("null_byte_metric{a=\"abc\x00\"} 1\n# EOF\n");
        om("a{b=\"\x00ss\"} 1\n# EOF\n");
        om("a{b=\"\x00\"} 1\n# EOF\n");
        assert_eq!(
            om("a{b=\"\x00\"} 1\n# EOF"),
            vec![s("a", &[("b", "\0")], 1.0, None)]
        );
        assert_eq!(
            om_err("a{b=\x00\"ssss\"} 1\n# EOF\n"),
            E::ExpectedLabelValue { line: 1 }
        );
        assert_eq!(om_err("a{b=\"\x00"), E::UnterminatedLabelValue { line: 1 });
        assert_eq!(
            om_err("a{b\x00=\"hiih\"}\t1"),
            E::ExpectedEquals { line: 1 }
        );
        assert_eq!(
            om_err("a\x00{b=\"ddd\"} 1"),
            E::InvalidMetricName { line: 1 }
        );
        assert_eq!(
            om_err("#"),
            E::InvalidLine {
                line: 1,
                reason: "comments must start with \"# \" in OpenMetrics"
            }
        );
        assert_eq!(
            om_err("# H"),
            E::InvalidLine {
                line: 1,
                reason: "only # HELP, # TYPE, # UNIT and # EOF comments are allowed in OpenMetrics"
            }
        );
        assert_eq!(
            om_err("custom_metric_total 1 # {b=\x00\"ssss\"} 1\n"),
            E::ExpectedLabelValue { line: 1 }
        );
        // Upstream rejects a NUL inside an exemplar label value; accepted here
        // (the exemplar is dropped anyway), so only the missing # EOF remains.
        assert_eq!(
            om_err("custom_metric_total 1 # {b=\"\x00ss\"} 1\n"),
            E::MissingEof { line: 2 }
        );
    }

    #[test]
    fn label_value_escapes() {
        let text =
            r#"m{a="back\\slash",b="quote\"d",c="new\nline",d="tab\t kept",e="\\n",f="plain"} 1"#;
        let mut seen = None;
        parse(text, Format::Prometheus, |s| seen = Some(s)).unwrap();
        let sample = seen.unwrap();
        assert_eq!(sample.label("a"), Some("back\\slash"));
        assert_eq!(sample.label("b"), Some("quote\"d"));
        assert_eq!(sample.label("c"), Some("new\nline"));
        // Unknown escapes are kept, backslash and all, as by promparse.go's
        // lvalReplacer (expfmt would reject them).
        assert_eq!(sample.label("d"), Some("tab\\t kept"));
        assert_eq!(sample.label("e"), Some("\\n"));
        assert_eq!(sample.label("missing"), None);
        // Zero-copy unless there is something to unescape.
        for (name, value) in &sample.labels {
            let borrowed = matches!(value, Cow::Borrowed(_));
            assert_eq!(borrowed, *name == "f", "label {name}: {value:?}");
        }
        // A backslash escapes the quote, so this value never ends.
        assert_eq!(
            prom_err("m{a=\"oops\\\"} 1\nm 2\n"),
            ExpositionError::UnterminatedLabelValue { line: 1 }
        );
        assert_eq!(
            prom_err("ok 1\nm{a=\"x\\"),
            ExpositionError::UnterminatedLabelValue { line: 2 }
        );
        // Escapes, unicode and braces inside values are data.
        assert_eq!(
            om("m{a=\"{}=,#  € \\\\\"} 1\n# EOF\n"),
            vec![s("m", &[("a", "{}=,#  € \\")], 1.0, None)]
        );
    }

    #[test]
    fn values_follow_go_parse_float() {
        for format in [Format::Prometheus, Format::OpenMetrics] {
            let eof = if format == Format::OpenMetrics {
                "\n# EOF\n"
            } else {
                "\n"
            };
            let v = |text: &str| value_of(&format!("m {text}{eof}"), format);
            assert!(v("NaN").is_some_and(f64::is_nan));
            assert!(v("nan").is_some_and(f64::is_nan));
            assert!(v("NAN").is_some_and(f64::is_nan));
            for inf in ["+Inf", "Inf", "inf", "+inf", "INF", "Infinity", "+infinity"] {
                assert_eq!(v(inf), Some(f64::INFINITY), "{inf}");
            }
            assert_eq!(v("-Inf"), Some(f64::NEG_INFINITY));
            assert_eq!(v("-infinity"), Some(f64::NEG_INFINITY));
            assert_eq!(v("1"), Some(1.0));
            assert_eq!(v("-1.5e-3"), Some(-1.5e-3));
            assert_eq!(v("+2E+2"), Some(200.0));
            assert_eq!(v(".5"), Some(0.5));
            assert_eq!(v("5."), Some(5.0));
            assert_eq!(v("007"), Some(7.0));
            assert_eq!(v("1e-400"), Some(0.0)); // underflow is not an error in Go
            assert_eq!(v("-0"), Some(-0.0));
            assert_eq!(v("1.7976931348623157e308"), Some(f64::MAX));
            // Go's ParseFloat rejects these (or upstream's parseFloat does).
            for bad in [
                "1e400",
                "-1e400",
                "+NaN",
                "-nan",
                "infin",
                "infinit",
                "Infinityy",
                "1_000",
                "0x10",
                "0x1p3",
                "0x1P3",
                "1e",
                "e1",
                ".",
                "+",
                "-",
                "1.2.3",
                "1,5",
                "½",
                "true",
                "1e+",
                "--1",
                "0b1",
                "1f",
            ] {
                assert_eq!(v(bad), None, "{bad:?} in {format:?}");
            }
        }
    }

    #[test]
    fn timestamps() {
        use ExpositionError as E;
        // Prometheus: integer milliseconds.
        assert_eq!(
            prom("a 1 1700000000123\nb 2 0\n"),
            vec![
                s("a", &[], 1.0, Some(1_700_000_000_123)),
                s("b", &[], 2.0, Some(0)),
            ]
        );
        assert_eq!(
            prom("a 1 9223372036854775807"),
            vec![s("a", &[], 1.0, Some(i64::MAX))]
        );
        let ts = |line, t: &str| E::InvalidTimestamp {
            line,
            timestamp: t.into(),
        };
        assert_eq!(
            prom_err("a 1 9223372036854775808"),
            ts(1, "9223372036854775808")
        );
        assert_eq!(prom_err("a 1\nb 1 -5"), ts(2, "-5")); // promlex.l: {D}+
        assert_eq!(prom_err("a 1 +5"), ts(1, "+5"));
        assert_eq!(prom_err("a 1 1.5"), ts(1, "1.5"));
        assert_eq!(prom_err("a 1 1e3"), ts(1, "1e3"));
        // OpenMetrics: float seconds, truncated to ms.
        assert_eq!(
            om("a 1 1520879607.789\nb 1 -1.5\nc 1 1e3\nd 1 0.0009\n# EOF\n"),
            vec![
                s("a", &[], 1.0, Some(1_520_879_607_789)),
                s("b", &[], 1.0, Some(-1500)),
                s("c", &[], 1.0, Some(1_000_000)),
                s("d", &[], 1.0, Some(0)),
            ]
        );
        assert_eq!(om_err("a 1 1e300\n# EOF\n"), ts(1, "1e300"));
        assert_eq!(om_err("a 1 NaN\n# EOF\n"), ts(1, "NaN"));
        assert_eq!(om_err("a 1 +Inf\n# EOF\n"), ts(1, "+Inf"));
    }

    #[test]
    fn exemplars_are_checked_and_dropped() {
        use ExpositionError as E;
        let text = "# TYPE rpc_seconds histogram
rpc_seconds_bucket{le=\"0.1\"} 3 # {trace_id=\"abc\"} 0.05
rpc_seconds_bucket{le=\"1\"} 4 # {trace_id=\"def\",span=\"x\"} 0.5 1700000000.5
rpc_seconds_bucket{le=\"+Inf\"} 4 1700000001 # {} 2
rpc_seconds_count 4 1700000001.25 # {trace_id=\"\\\"q\\\"\"} NaN 1700000000
# EOF
";
        assert_eq!(
            om(text),
            vec![
                s("rpc_seconds_bucket", &[("le", "0.1")], 3.0, None),
                s("rpc_seconds_bucket", &[("le", "1")], 4.0, None),
                s(
                    "rpc_seconds_bucket",
                    &[("le", "+Inf")],
                    4.0,
                    Some(1_700_000_001_000)
                ),
                s("rpc_seconds_count", &[], 4.0, Some(1_700_000_001_250)),
            ]
        );
        let exemplar = |line, reason| E::InvalidExemplar { line, reason };
        assert_eq!(
            om_err("a 1\nb 1 # {x=\"y\"} 1 2 3\n# EOF\n"),
            E::TrailingGarbage {
                line: 2,
                found: "3".into()
            }
        );
        assert_eq!(
            om_err("a 1 # {x=\"y\"}  1\n# EOF\n"),
            exemplar(1, "expected a value after the exemplar labels")
        );
        assert_eq!(
            om_err("a 1 # {x=\"y\"} 1 Inf\n# EOF\n"),
            exemplar(1, "invalid exemplar timestamp")
        );
        assert_eq!(
            om_err("a 1 # {\"name\"} 1\n# EOF\n"),
            E::InvalidLabelName { line: 1 }
        );
        assert_eq!(
            om_err("a 1 # {x=\"y\" 1\n# EOF\n"),
            E::ExpectedCommaOrBrace { line: 1 }
        );
        assert_eq!(
            om_err("a 1 # {x=\"y\"\n# EOF\n"),
            E::UnterminatedLabelSet { line: 1 }
        );
        assert_eq!(
            om_err("a 1 #{x=\"y\"} 1\n# EOF\n"),
            E::InvalidTimestamp {
                line: 1,
                timestamp: "#{x=\"y\"}".into()
            }
        );
        // The Prometheus format has no exemplars.
        assert_eq!(
            prom_err("a 1 # {x=\"y\"} 1\n"),
            E::TrailingGarbage {
                line: 1,
                found: "#".into()
            }
        );
    }

    #[test]
    fn eof_rules() {
        use ExpositionError as E;
        assert_eq!(om("# EOF"), vec![]);
        assert_eq!(om("a 1\n# EOF"), vec![s("a", &[], 1.0, None)]);
        assert_eq!(om_err(""), E::MissingEof { line: 1 });
        assert_eq!(om_err("a 1\nb 2\n"), E::MissingEof { line: 3 });
        assert_eq!(om_err("a 1\nb 2"), E::MissingEof { line: 2 });
        assert_eq!(
            om_err("a 1\n#EOF\n"),
            E::InvalidLine {
                line: 2,
                reason: "comments must start with \"# \" in OpenMetrics"
            }
        );
        assert_eq!(om_err("a 1\n# EOF\n# EOF\n"), E::DataAfterEof { line: 3 });
        assert_eq!(om_err("a 1\n# EOF \n"), E::DataAfterEof { line: 2 });
        assert_eq!(om_err("a 1\n# EOF\n\n"), E::DataAfterEof { line: 3 });
        assert_eq!(om_err("a 1\n# EOF\nb 2\n"), E::DataAfterEof { line: 3 });
        // The samples before a missing # EOF have been seen by then.
        let mut seen = 0;
        let err = parse("a 1\nb 2\n", Format::OpenMetrics, |_| seen += 1);
        assert_eq!(err, Err(E::MissingEof { line: 3 }));
        assert_eq!(seen, 2);
        // The Prometheus format has no # EOF: it is a comment.
        assert_eq!(prom("a 1\n# EOF\nb 2\n").len(), 2);
        assert_eq!(prom(""), vec![]);
    }

    #[test]
    fn metadata_lines() {
        use ExpositionError as E;
        // A missing HELP (or TYPE) is fine, so is a HELP without text.
        assert_eq!(prom("a 1\n"), vec![s("a", &[], 1.0, None)]);
        assert_eq!(om("a 1\n# EOF\n"), vec![s("a", &[], 1.0, None)]);
        prom("# HELP a\n# HELP a \n# TYPE a counter\na 1\n# HELP a twice is fine\n");
        om("# HELP a \n# UNIT a_seconds seconds\n# UNIT a \n# TYPE a stateset\n# EOF\n");
        // HELP/TYPE-like comments are comments in the Prometheus format.
        prom("#HELP x\n# HELPER x y\n# TYPE\n# HELP\n#\n# just words\n");
        // Types per format.
        for t in ["counter", "gauge", "histogram", "summary", "untyped"] {
            prom(&format!("# TYPE m {t}\n"));
        }
        for t in ["gaugehistogram", "info", "stateset", "unknown", "Counter"] {
            assert_eq!(
                prom_err(&format!("# TYPE m {t}\n")),
                E::InvalidMetricType {
                    line: 1,
                    found: t.into()
                }
            );
        }
        for t in [
            "counter",
            "gauge",
            "histogram",
            "gaugehistogram",
            "summary",
            "info",
            "stateset",
            "unknown",
        ] {
            om(&format!("# TYPE m {t}\n# EOF\n"));
        }
        assert_eq!(
            prom_err("a 1\n# TYPE m\n"),
            E::InvalidMetricType {
                line: 2,
                found: String::new()
            }
        );
        assert_eq!(
            prom_err("# TYPE m counter extra\n"),
            E::InvalidMetricType {
                line: 1,
                found: "counter extra".into()
            }
        );
        // Whitespace rules of promlex.l: any run of blanks before the name,
        // exactly one separator before the text.
        prom("#\t TYPE \t m\tcounter\n# TYPE \"quoted.name\" gauge\n");
        assert_eq!(
            prom_err("# TYPE m-x counter\n"),
            E::InvalidMetadata {
                line: 1,
                reason: "expected whitespace after the metric name"
            }
        );
        assert_eq!(
            prom_err("# HELP 9m text\n"),
            E::InvalidMetadata {
                line: 1,
                reason: "expected a metric name after HELP or TYPE"
            }
        );
    }

    #[test]
    fn histograms_and_summaries() {
        let prom_text = "# HELP http_request_duration_seconds Request latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{method=\"GET\",le=\"0.05\"} 24054
http_request_duration_seconds_bucket{method=\"GET\",le=\"0.1\"} 33444
http_request_duration_seconds_bucket{method=\"GET\",le=\"+Inf\"} 144320
http_request_duration_seconds_sum{method=\"GET\"} 53423
http_request_duration_seconds_count{method=\"GET\"} 144320

# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile=\"0.01\"} 3102
rpc_duration_seconds{quantile=\"0.99\"} NaN
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
";
        let h = "http_request_duration_seconds";
        let got = prom(prom_text);
        assert_eq!(got.len(), 9);
        assert_eq!(
            got.get(2),
            Some(&s(
                &format!("{h}_bucket"),
                &[("method", "GET"), ("le", "+Inf")],
                144320.0,
                None
            ))
        );
        assert!(got.get(6).is_some_and(|q| q.value.is_nan()));
        assert_eq!(
            got.get(7),
            Some(&s("rpc_duration_seconds_sum", &[], 1.7560473e+07, None))
        );
        // The same families in OpenMetrics: no blank line, # EOF at the end.
        let om_text = format!("{}# EOF\n", prom_text.replace("\n\n", "\n"));
        assert_eq!(format!("{:?}", om(&om_text)), format!("{got:?}"));
        // Bucket bounds as written, for the caller to parse.
        let mut les = Vec::new();
        parse_with(prom_text, Format::Prometheus, |s| {
            if let Some(le) = s.label("le") {
                les.push(parse_float(le));
            }
        })
        .unwrap();
        assert_eq!(les, [Some(0.05), Some(0.1), Some(f64::INFINITY)]);
    }

    #[test]
    fn empty_label_sets_and_commas() {
        use ExpositionError as E;
        let one = |labels: &[(&str, &str)]| vec![s("m", labels, 1.0, None)];
        assert_eq!(prom("m{} 1"), one(&[]));
        assert_eq!(prom("m { } 1"), one(&[]));
        assert_eq!(om("m{} 1\n# EOF\n"), one(&[]));
        assert_eq!(prom("m{a=\"1\",} 1"), one(&[("a", "1")]));
        assert_eq!(om("m{a=\"1\",} 1\n# EOF\n"), one(&[("a", "1")]));
        assert_eq!(om("{\"m\",} 1\n# EOF\n"), one(&[]));
        assert_eq!(prom("{\"m\"} 1"), one(&[]));
        assert_eq!(prom_err("m{,} 1"), E::InvalidLabelName { line: 1 });
        assert_eq!(om_err("m{,} 1\n# EOF\n"), E::InvalidLabelName { line: 1 });
        assert_eq!(prom_err("m{a=\"1\",,} 1"), E::InvalidLabelName { line: 1 });
        assert_eq!(prom_err("m{a=\"1\"\n"), E::UnterminatedLabelSet { line: 1 });
        assert_eq!(prom_err("m{a\n"), E::UnterminatedLabelSet { line: 1 });
        assert_eq!(prom_err("m{} {} 1"), E::MissingValue { line: 1 });
        assert_eq!(prom_err("{} 1"), E::MissingMetricName { line: 1 });
        assert_eq!(prom_err("{\"\"} 1"), E::InvalidMetricName { line: 1 });
        assert_eq!(prom_err("m{\"\"=\"v\"} 1"), E::InvalidLabelName { line: 1 });
        assert_eq!(prom_err("m{\"n\"} 1"), E::DuplicateMetricName { line: 1 });
        assert_eq!(
            prom_err("{\"a\",\"b\"} 1"),
            E::DuplicateMetricName { line: 1 }
        );
        // Label names: [a-zA-Z_][a-zA-Z0-9_]*; ':' is for metric names only.
        assert_eq!(prom_err("m{a:b=\"1\"} 1"), E::ExpectedEquals { line: 1 });
        assert_eq!(prom_err("m{1a=\"1\"} 1"), E::InvalidLabelName { line: 1 });
        assert_eq!(prom("m{a_1=\"1\"} 1"), one(&[("a_1", "1")]));
    }

    #[test]
    fn duplicate_label_names() {
        use ExpositionError as E;
        let dup = |line, name: &str| E::DuplicateLabelName {
            line,
            name: name.into(),
        };
        assert_eq!(prom_err("m 1\nm{a=\"1\",a=\"2\"} 1"), dup(2, "a"));
        assert_eq!(om_err("m{a=\"1\",b=\"\",a=\"2\"} 1\n# EOF\n"), dup(1, "a"));
        assert_eq!(prom_err("m{__name__=\"x\"} 1"), dup(1, "__name__"));
        assert_eq!(prom_err("m{\"a\"=\"1\",a=\"2\"} 1"), dup(1, "a"));
        // Many labels go through the hash set.
        let mut many: Vec<String> = (0..40).map(|i| format!("l{i}=\"v\"")).collect();
        assert_eq!(prom(&format!("m{{{}}} 1", many.join(","))).len(), 1);
        many.push("l7=\"again\"".into());
        assert_eq!(
            prom_err(&format!("m{{{}}} 1", many.join(","))),
            dup(1, "l7")
        );
    }

    #[test]
    fn whitespace_rules() {
        use ExpositionError as E;
        let one = |labels: &[(&str, &str)], ts| vec![s("m", labels, 1.0, ts)];
        // Prometheus: blanks anywhere between tokens, blank lines ignored.
        assert_eq!(prom("\n \n\t\n  m  1  \n\n"), one(&[], None));
        assert_eq!(
            prom(" \tm \t{ \ta \t= \t\"x\" \t, \t} \t1 \t2 \t"),
            one(&[("a", "x")], Some(2))
        );
        assert_eq!(prom("m{a=\"x\"}1"), one(&[("a", "x")], None));
        // promlex.l ends a name at the first non-name byte, so this is "m" = -1.
        assert_eq!(prom("m-1"), vec![s("m", &[], -1.0, None)]);
        assert_eq!(prom_err("my.metric 1"), E::InvalidMetricName { line: 1 });
        assert_eq!(prom_err("9m 1"), E::InvalidMetricName { line: 1 });
        assert_eq!(prom_err("a 1\n b\n"), E::MissingValue { line: 2 });
        // OpenMetrics: exactly one space, nothing else.
        assert_eq!(
            om("m{a=\"x\"} 1 2\n# EOF\n"),
            one(&[("a", "x")], Some(2000))
        );
        assert_eq!(om_err("m  1\n# EOF\n"), E::MissingValue { line: 1 });
        assert_eq!(
            om_err("m {a=\"x\"} 1\n# EOF\n"),
            E::InvalidValue {
                line: 1,
                value: "{a=\"x\"}".into()
            }
        );
        assert_eq!(
            om_err("m{ a=\"x\"} 1\n# EOF\n"),
            E::InvalidLabelName { line: 1 }
        );
        assert_eq!(
            om_err("m{a =\"x\"} 1\n# EOF\n"),
            E::ExpectedEquals { line: 1 }
        );
        assert_eq!(
            om_err("m{a= \"x\"} 1\n# EOF\n"),
            E::ExpectedLabelValue { line: 1 }
        );
        assert_eq!(
            om_err("m{a=\"x\", b=\"y\"} 1\n# EOF\n"),
            E::InvalidLabelName { line: 1 }
        );
        assert_eq!(om_err("m{a=\"x\"}1\n# EOF\n"), E::MissingValue { line: 1 });
        assert_eq!(
            om_err("m 1 \n# EOF\n"),
            E::TrailingGarbage {
                line: 1,
                found: String::new()
            }
        );
        assert_eq!(
            om_err("my.metric 1\n# EOF\n"),
            E::InvalidMetricName { line: 1 }
        );
        assert_eq!(
            om_err("a 1\n\n# EOF\n"),
            E::InvalidLine {
                line: 2,
                reason: "blank lines are not allowed in OpenMetrics"
            }
        );
        assert_eq!(
            om_err("a 1\n# random comment\n# EOF\n"),
            E::InvalidLine {
                line: 2,
                reason: "only # HELP, # TYPE, # UNIT and # EOF comments are allowed in OpenMetrics"
            }
        );
    }

    #[test]
    fn crlf_is_rejected_with_a_clear_error() {
        use ExpositionError as E;
        assert_eq!(prom_err("a 1\r\nb 2\r\n"), E::CarriageReturn { line: 1 });
        assert_eq!(
            prom_err("# HELP a x\r\na 1\r\n"),
            E::CarriageReturn { line: 2 }
        );
        assert_eq!(
            prom_err("a{b=\"c\"} 1 2\r\n"),
            E::CarriageReturn { line: 1 }
        );
        assert_eq!(om_err("a 1\r\n# EOF\r\n"), E::CarriageReturn { line: 1 });
        assert_eq!(om_err("a 1\n# EOF\r\n"), E::CarriageReturn { line: 2 });
        // Not blamed on the \r when the line is wrong anyway.
        assert_eq!(prom_err("a{ 1\r\n"), E::InvalidLabelName { line: 1 });
        // Inside a label value a \r is data.
        assert_eq!(
            prom("a{b=\"x\ry\"} 1\n"),
            vec![s("a", &[("b", "x\ry")], 1.0, None)]
        );
    }

    #[test]
    fn errors_carry_the_right_line() {
        use ExpositionError as E;
        let p = "# HELP a ok\n# TYPE a counter\na_total 1\n\nb 2\n";
        let cases: &[(&str, &str, usize)] = &[
            ("invalid name", "3b 1", 6),
            ("invalid label name", "b{-=\"x\"} 1", 6),
            ("unterminated value", "b{x=\"y} 1", 6),
            ("missing value", "b{x=\"y\"}", 6),
            ("garbage after value", "b 1 2 x", 6),
            ("bad value", "b one", 6),
        ];
        for (what, bad, line) in cases {
            let err = prom_err(&format!("{p}{bad}\nc 3\n"));
            assert_eq!(err.line(), *line, "{what}: {err}");
            assert!(
                err.to_string().starts_with(&format!("line {line}: ")),
                "{err}"
            );
            let err = om_err(&format!("{}{bad}\nc 3\n# EOF\n", p.replace("\n\n", "\n")));
            assert_eq!(err.line(), line - 1, "{what}: {err}");
        }
        assert_eq!(
            prom_err(&format!("{p}b 1 2 x\n")),
            E::TrailingGarbage {
                line: 6,
                found: "x".into()
            }
        );
        assert_eq!(
            prom_err(&format!("{p}b{{x=\"y\"}}\n")),
            E::MissingValue { line: 6 }
        );
        // Samples before the error have been delivered, in order.
        let mut names = Vec::new();
        let err = parse("a 1\nb 2\nc{\n", Format::Prometheus, |s| names.push(s.name));
        assert_eq!(err, Err(E::UnterminatedLabelSet { line: 3 }));
        assert_eq!(names, ["a", "b"]);
        // Long offending text is cut in messages.
        let long = "x".repeat(1000);
        match prom_err(&format!("m {long}")) {
            E::InvalidValue { value, .. } => assert_eq!(value.len(), 64),
            other => panic!("{other}"),
        }
    }

    // ---- properties ------------------------------------------------------

    /// xorshift64*: enough randomness for tests, no dependency.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Rng(seed.max(1))
        }

        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }

        fn pick<'t, T>(&mut self, items: &'t [T]) -> Option<&'t T> {
            items.get(self.below(items.len()))
        }

        fn chance(&mut self, one_in: usize) -> bool {
            self.below(one_in) == 0
        }
    }

    fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    const SEEDS: &[&str] = &[
        "# HELP rpc_seconds RPC latency.\n# TYPE rpc_seconds histogram\nrpc_seconds_bucket{svc=\"a\",le=\"0.1\"} 3 1700000000000\nrpc_seconds_bucket{svc=\"a\",le=\"+Inf\"} 4\nrpc_seconds_sum{svc=\"a\"} 0.3\nrpc_seconds_count{svc=\"a\"} 4\n",
        "# TYPE q summary\nq{quantile=\"0.5\"} NaN\nq_sum -Inf\nq_count 1e3\n# EOF\n",
        "# HELP a x\n# TYPE a counter\n# UNIT a_seconds seconds\na_total{b=\"c\\\\d\\\"e\\nf\"} 1 1.5 # {trace_id=\"x\"} 1 2\n# EOF\n",
        "{\"my.metric\",\"my.label\"=\"v\", x = \"y\" ,} +Inf 123\n#\tcomment\n\nm 1\n",
        "h_bucket{le=\"1\"} 1 # {a=\"b\"} 0.5\nh_created 1.7e9\n# EOF",
        "m{a=\"€\"} .5\n",
    ];

    const TOKENS: &[&str] = &[
        "{",
        "}",
        "\"",
        "\\",
        "=",
        ",",
        " ",
        "\t",
        "\n",
        "\r",
        "#",
        "# EOF\n",
        "# EOF",
        "# HELP ",
        "# TYPE ",
        "# UNIT ",
        " # {",
        "NaN",
        "+Inf",
        "-Inf",
        "1e400",
        "0x1p3",
        "_",
        "\0",
        "€",
        "le=\"",
        "9223372036854775808",
        "-",
        ".",
        "e",
        "a",
        "Z",
        ":",
        "0",
        "7",
        "\"\"",
        "{}",
        "__name__",
        "counter",
        "histogram",
        "\u{ff}",
        "\\\"",
        "\\n",
    ];

    /// A random input: a mutated seed, a splice of two, random tokens, or
    /// random bytes (made valid UTF-8, lossily).
    fn random_input(rng: &mut Rng) -> String {
        let mut bytes: Vec<u8> = match rng.below(8) {
            0 => (0..rng.below(64))
                .map(|_| rng.next().to_le_bytes().first().copied().unwrap_or(0))
                .collect(),
            1 => {
                let mut v = Vec::new();
                for _ in 0..rng.below(40) {
                    v.extend_from_slice(rng.pick(TOKENS).unwrap_or(&"").as_bytes());
                }
                v
            }
            _ => rng.pick(SEEDS).unwrap_or(&"").as_bytes().to_vec(),
        };
        for _ in 0..=rng.below(6) {
            let len = bytes.len();
            let at = rng.below(len + 1);
            match rng.below(6) {
                0 => {
                    let token = rng.pick(TOKENS).unwrap_or(&"").as_bytes();
                    bytes.splice(at..at, token.iter().copied());
                }
                1 if len > 0 => {
                    let end = (at + 1 + rng.below(8)).min(len);
                    bytes.drain(at.min(end)..end);
                }
                2 if at < len => {
                    if let Some(b) = bytes.get_mut(at) {
                        *b = rng.next().to_le_bytes().first().copied().unwrap_or(0);
                    }
                }
                3 => {
                    let other = rng.pick(SEEDS).unwrap_or(&"").as_bytes();
                    let from = rng.below(other.len() + 1);
                    bytes.truncate(at);
                    bytes.extend_from_slice(other.get(from..).unwrap_or_default());
                }
                4 if len > 0 => {
                    let end = (at + rng.below(16)).min(len);
                    let chunk = bytes.get(at.min(end)..end).unwrap_or_default().to_vec();
                    bytes.splice(at..at, chunk);
                }
                _ => {
                    let digit = b'0' + (rng.below(10) as u8);
                    bytes.insert(at, digit);
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Checks what must hold for any input, whatever the outcome.
    fn check_invariants(text: &str, format: Format) -> bool {
        let result = collect(text, format);
        let lines = text.split('\n').count();
        match result {
            Ok(samples) => {
                for sample in &samples {
                    assert!(!sample.name.is_empty(), "{text:?}");
                    for (name, _) in &sample.labels {
                        assert!(!name.is_empty() && name != "__name__", "{text:?}");
                    }
                }
                if format == Format::OpenMetrics {
                    assert!(
                        text.ends_with("# EOF") || text.ends_with("# EOF\n"),
                        "{text:?}"
                    );
                }
                true
            }
            Err(e) => {
                assert!((1..=lines + 1).contains(&e.line()), "{e} for {text:?}");
                false
            }
        }
    }

    /// Throws random and mutated inputs at both formats: no panics, and the
    /// invariants above hold. `scripts/fuzz.sh` runs it longer with
    /// QMA_FUZZ_ITERATIONS / QMA_FUZZ_SECONDS / QMA_FUZZ_SEED.
    #[test]
    fn random_inputs_never_panic() {
        let iterations: u64 = env_or("QMA_FUZZ_ITERATIONS", 50_000);
        let seconds: u64 = env_or("QMA_FUZZ_SECONDS", 600);
        let seed: u64 = env_or("QMA_FUZZ_SEED", 0x5eed_cafe_f00d);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        let mut rng = Rng::new(seed);
        let (mut done, mut ok) = (0u64, [0u64; 2]);
        while done < iterations {
            if done % 1024 == 0 && std::time::Instant::now() > deadline {
                break;
            }
            let text = random_input(&mut rng);
            for (i, format) in [Format::Prometheus, Format::OpenMetrics]
                .into_iter()
                .enumerate()
            {
                // Name the input and seed if anything panics, to replay it.
                let parsed = std::panic::catch_unwind(|| check_invariants(&text, format))
                    .unwrap_or_else(|panic| {
                        eprintln!("panic on input {text:?} ({format:?}, seed {seed})");
                        std::panic::resume_unwind(panic)
                    });
                if parsed && let Some(n) = ok.get_mut(i) {
                    *n += 1;
                }
            }
            done += 1;
        }
        println!(
            "random_inputs_never_panic: seed {seed}, {done} inputs, parsed OK: prometheus {}, openmetrics {}",
            ok.first().unwrap_or(&0),
            ok.get(1).unwrap_or(&0)
        );
        // The generator must reach past the first line often enough to mean
        // something.
        assert!(
            done < 1000 || ok.iter().all(|&n| n > done / 100),
            "{ok:?} of {done}"
        );
    }

    /// Random well-formed families, written out in both formats, parse back
    /// to exactly what was written.
    #[test]
    fn round_trip_random_samples() {
        let mut rng = Rng::new(0xdecade);
        let name_chars: Vec<char> = ('a'..='z').chain('A'..='Z').chain(['_', ':']).collect();
        let value_chars: Vec<char> = "ab \\\"\n€{}=,#\t\0\r'".chars().collect();
        for case in 0..2_000 {
            let mut expected = Vec::new();
            let mut prom_text = String::new();
            let mut om_text = String::new();
            for i in 0..=rng.below(8) {
                let mut name: String = (0..=rng.below(12))
                    .filter_map(|_| rng.pick(&name_chars).copied())
                    .collect();
                name.push_str(&i.to_string());
                let mut labels = Vec::new();
                for j in 0..rng.below(5) {
                    let value: String = (0..rng.below(10))
                        .filter_map(|_| rng.pick(&value_chars).copied())
                        .collect();
                    labels.push((format!("l{j}_{}", rng.below(3)), value));
                }
                let value = match rng.below(6) {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    2 => f64::NEG_INFINITY,
                    3 => rng.below(1000) as f64,
                    _ => f64::from_bits(rng.next()),
                };
                let value = if value.is_nan() { f64::NAN } else { value };
                let seconds = rng.chance(2).then(|| rng.below(2_000_000_000) as i64);
                let rendered: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| {
                        let escaped = v
                            .replace('\\', "\\\\")
                            .replace('"', "\\\"")
                            .replace('\n', "\\n");
                        format!("{k}=\"{escaped}\"")
                    })
                    .collect();
                let set = if labels.is_empty() && rng.chance(2) {
                    String::new()
                } else {
                    format!("{{{}}}", rendered.join(","))
                };
                prom_text.push_str(&format!("{name}{set} {value:?}"));
                om_text.push_str(&format!("{name}{set} {value}"));
                if let Some(sec) = seconds {
                    prom_text.push_str(&format!(" {}", sec * 1000));
                    om_text.push_str(&format!(" {sec}"));
                }
                prom_text.push('\n');
                om_text.push('\n');
                let label_refs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                // Label names may repeat by chance: then both must fail.
                let mut names: Vec<&str> = label_refs.iter().map(|(k, _)| *k).collect();
                names.sort_unstable();
                names.dedup();
                if names.len() != label_refs.len() {
                    expected.clear();
                    prom_text = "dup{a=\"\",a=\"\"} 1\n".into();
                    om_text = prom_text.clone();
                    break;
                }
                expected.push(s(&name, &label_refs, value, seconds.map(|x| x * 1000)));
            }
            om_text.push_str("# EOF\n");
            let want = if expected.is_empty() && prom_text.starts_with("dup") {
                None
            } else {
                Some(format!("{expected:?}"))
            };
            let got_prom = collect(&prom_text, Format::Prometheus)
                .ok()
                .map(|v| format!("{v:?}"));
            let got_om = collect(&om_text, Format::OpenMetrics)
                .ok()
                .map(|v| format!("{v:?}"));
            assert_eq!(got_prom, want, "case {case}: {prom_text:?}");
            assert_eq!(got_om, want, "case {case}: {om_text:?}");
        }
    }

    /// Throughput on ~1 MB of histogram lines, the adapter's expected load
    /// per scrape interval: 200 targets, each with four 12-bucket histograms
    /// (56 sample lines with `_bucket`, `_sum`, `_count`, plus HELP and TYPE)
    /// and five labels per line. Run with
    /// `cargo test --release --lib scrape::exposition::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark; run with --release -- --ignored --nocapture"]
    fn throughput() {
        use std::hint::black_box;
        use std::time::{Duration, Instant};

        let bounds = [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
        ];
        let mut text = String::new();
        let targets = 200;
        for target in 0..targets {
            let labels = format!(
                "service=\"svc-{target}\",namespace=\"team-{}\",method=\"GET\",code=\"200\"",
                target % 7
            );
            let mut lines = 0;
            for h in 0.. {
                let name = format!("app_request_duration_seconds_{h}");
                text.push_str(&format!(
                    "# HELP {name} Request latency.\n# TYPE {name} histogram\n"
                ));
                for (i, le) in bounds.iter().enumerate() {
                    text.push_str(&format!(
                        "{name}_bucket{{{labels},le=\"{le}\"}} {}\n",
                        (i + 1) * 1000 + target
                    ));
                }
                text.push_str(&format!("{name}_sum{{{labels}}} 12345.678\n"));
                text.push_str(&format!("{name}_count{{{labels}}} {}\n", 12000 + target));
                lines += bounds.len() + 2;
                if lines >= 50 {
                    break;
                }
            }
        }
        let om_text = format!("{text}# EOF\n");
        let mb = text.len() as f64 / 1e6;
        let lines = text.lines().count();

        let measure = |label: &str, run: &dyn Fn() -> usize| {
            let mut best = Duration::MAX;
            let mut samples = 0;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(2) {
                let t = Instant::now();
                samples = black_box(run());
                best = best.min(t.elapsed());
            }
            println!(
                "{label:<28} {:>8.1} MB/s  {:>6.2} Msamples/s  ({samples} samples, {:.2} ms per {mb:.2} MB)",
                mb / best.as_secs_f64(),
                samples as f64 / best.as_secs_f64() / 1e6,
                best.as_secs_f64() * 1e3,
            );
        };
        println!("input: {mb:.2} MB, {lines} lines, {targets} targets");
        for (format, body) in [(Format::Prometheus, &text), (Format::OpenMetrics, &om_text)] {
            measure(&format!("parse {format:?}"), &|| {
                let mut n = 0;
                parse(body, format, |s| {
                    black_box(&s);
                    n += 1;
                })
                .unwrap();
                n
            });
            measure(&format!("parse_with {format:?}"), &|| {
                let mut n = 0;
                parse_with(body, format, |s| {
                    black_box(s);
                    n += 1;
                })
                .unwrap();
                n
            });
        }
    }
}
