//! Tests of the exposition parser: upstream's parser tests ported, then
//! escapes, values, random and mutated inputs, and throughput.

use super::lexer::parse_float;
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
