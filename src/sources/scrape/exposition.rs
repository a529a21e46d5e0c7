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
//!   `_test.go` files are the source of most of the tests (`exposition/tests.rs`).
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
//! # Layout
//!
//! This file holds the public types and the loop over lines. Below it,
//! `lexer` reads the tokens of one line (a cursor, the characters of names,
//! Go-compatible floats), `sample_line` assembles a sample from its name,
//! labels and value, and `prometheus` and `openmetrics` hold what differs
//! between the formats: the comment lines and what may follow the value.
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

mod lexer;
mod openmetrics;
mod prometheus;
mod sample_line;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use lexer::Cursor;
use openmetrics::om_comment;
use prometheus::prom_comment;
use sample_line::parse_sample;

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
