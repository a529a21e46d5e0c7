use super::list::List;
use super::reply::{id_ms, next_id};
use super::stream::Stream;
use super::zset::{ScoreBound, ScoreUnit, Zset};
use super::*;

/// The reading of a finished step.
fn done(s: Step) -> Reading {
    match s {
        Step::Done(r) => r,
        Step::More(f) => panic!("expected a reading, got {f:?}"),
    }
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

fn server_error(s: &str) -> Value {
    // The crate builds ServerErrors by parsing RESP; do the same.
    let wire = format!("-{s}\r\n");
    redis::parse_redis_value(wire.as_bytes()).unwrap()
}

fn group(name: &str, last: &str, lag: Value) -> Value {
    Value::Array(vec![
        bulk("name"),
        bulk(name),
        bulk("consumers"),
        Value::Int(1),
        bulk("pending"),
        Value::Int(0),
        bulk("last-delivered-id"),
        bulk(last),
        bulk("entries-read"),
        Value::Int(3),
        bulk("lag"),
        lag,
    ])
}

fn entry(id: &str) -> Value {
    Value::Array(vec![bulk(id), Value::Array(vec![bulk("f"), bulk("v")])])
}

const STREAM_G: Stream = Stream {
    group: None,
    lag_count_limit: 100,
};

fn stream_group() -> Stream {
    Stream {
        group: Some("g".into()),
        lag_count_limit: 100,
    }
}

#[test]
fn list_depth_and_wrong_type() {
    let r = done(List.read("k", &[Value::Int(7)]).unwrap());
    assert_eq!(
        r,
        (Reading {
            depth: 7.0,
            ..Default::default()
        })
    );
    let e = List
        .read(
            "k",
            &[server_error(
                "WRONGTYPE Operation against a key holding the wrong kind of value",
            )],
        )
        .unwrap_err();
    assert_eq!(e.reason(), "wrong_type");
    assert!(e.to_string().contains("type list"), "{e}");
}

#[test]
fn commands_counts_what_plan_adds() {
    let kinds: [&dyn Kind; 6] = [
        &List,
        &Zset {
            range: None,
            unit: None,
        },
        &Zset {
            range: Some((ScoreBound::NegInf, ScoreBound::Now(0.0))),
            unit: None,
        },
        &Zset {
            range: Some((ScoreBound::Value(1.0), ScoreBound::Now(0.0))),
            unit: Some(ScoreUnit::Milliseconds),
        },
        &Stream {
            group: None,
            lag_count_limit: 10,
        },
        &stream_group(),
    ];
    for kind in kinds {
        let mut pipe = redis::pipe();
        kind.plan(&mut pipe, "k", 1_700_000_000_000);
        assert_eq!(pipe.len(), kind.commands(), "{kind:?}");
    }
}

#[test]
fn zset_now_is_in_the_scores_unit() {
    let kind = Zset {
        range: Some((ScoreBound::Now(-60.0), ScoreBound::Now(0.0))),
        unit: Some(ScoreUnit::Seconds),
    };
    let mut pipe = redis::pipe();
    kind.plan(&mut pipe, "z", 1_700_000_000_500);
    let packed = String::from_utf8(pipe.get_packed_pipeline()).unwrap();
    assert!(packed.contains("\r\n1699999940\r\n"), "{packed:?}");
    assert!(packed.contains("\r\n1700000000\r\n"), "{packed:?}");
    let ms = Zset {
        unit: Some(ScoreUnit::Milliseconds),
        ..kind
    };
    let mut pipe = redis::pipe();
    ms.plan(&mut pipe, "z", 1_700_000_000_500);
    let packed = String::from_utf8(pipe.get_packed_pipeline()).unwrap();
    assert!(packed.contains("\r\n1700000000500\r\n"), "{packed:?}");
}

#[test]
fn zset_oldest_from_score() {
    let kind = Zset {
        range: None,
        unit: Some(ScoreUnit::Seconds),
    };
    let r = kind
        .read(
            "z",
            &[
                Value::Int(2),
                Value::Array(vec![bulk("job"), bulk("1700000000.5")]),
            ],
        )
        .unwrap();
    assert_eq!(
        done(r),
        (Reading {
            depth: 2.0,
            oldest_ms: Some(1_700_000_000_500),
            ..Default::default()
        })
    );
    let r = kind
        .read("z", &[Value::Int(0), Value::Array(vec![])])
        .unwrap();
    assert_eq!(done(r), Reading::default());
}

#[test]
fn stream_without_group() {
    let r = STREAM_G
        .read("s", &[Value::Int(3), Value::Array(vec![entry("1000-0")])])
        .unwrap();
    assert_eq!(
        done(r),
        (Reading {
            depth: 3.0,
            oldest_ms: Some(1000),
            ..Default::default()
        })
    );
}

#[test]
fn stream_group_missing_key_is_zero() {
    let r = stream_group()
        .read(
            "s",
            &[
                Value::Int(0),
                server_error("ERR no such key"),
                server_error("NOGROUP No such key 's' or consumer group 'g'"),
            ],
        )
        .unwrap();
    assert_eq!(done(r), Reading::default());
}

#[test]
fn stream_group_with_lag() {
    let replies = [
        Value::Int(10),
        Value::Array(vec![
            group("other", "0-0", Value::Int(10)),
            group("g", "2000-1", Value::Int(4)),
        ]),
        Value::Array(vec![
            Value::Int(2),
            bulk("1500-0"),
            bulk("2000-1"),
            Value::Array(vec![]),
        ]),
    ];
    let Step::More(c) = stream_group().read("s", &replies).unwrap() else {
        panic!("expected phase 2")
    };
    let packed = String::from_utf8(c.command().get_packed_command()).unwrap();
    assert!(packed.contains("\r\n2000-2\r\n"), "{packed:?}");
    let r = c.finish(&Value::Array(vec![entry("3000-0")])).unwrap();
    assert_eq!(
        r,
        Reading {
            depth: 4.0,
            pending: 2.0,
            oldest_ms: Some(1500),
            truncated: false
        }
    );
}

#[test]
fn stream_group_nil_or_bogus_lag_counts_bounded() {
    for lag in [Value::Nil, Value::Int(50)] {
        let replies = [
            Value::Int(5),
            Value::Array(vec![group("g", "100-0", lag)]),
            Value::Array(vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil]),
        ];
        let Step::More(c) = stream_group().read("s", &replies).unwrap() else {
            panic!("expected phase 2")
        };
        let r = c
            .finish(&Value::Array(vec![entry("200-0"), entry("300-0")]))
            .unwrap();
        assert_eq!(
            r,
            Reading {
                depth: 2.0,
                pending: 0.0,
                oldest_ms: Some(200),
                truncated: false
            }
        );
    }
}

#[test]
fn stream_group_lag_zero_needs_no_phase2() {
    let replies = [
        Value::Int(5),
        Value::Array(vec![group("g", "100-0", Value::Int(0))]),
        Value::Array(vec![Value::Int(1), bulk("90-0"), bulk("90-0"), Value::Nil]),
    ];
    let r = stream_group().read("s", &replies).unwrap();
    assert_eq!(
        done(r),
        (Reading {
            depth: 0.0,
            pending: 1.0,
            oldest_ms: Some(90),
            truncated: false
        })
    );
}

#[test]
fn stream_missing_group_counts_whole_stream() {
    let replies = [
        Value::Int(3),
        Value::Array(vec![]),
        server_error("NOGROUP no group"),
    ];
    let Step::More(c) = stream_group().read("s", &replies).unwrap() else {
        panic!("expected phase 2")
    };
    let r = c.finish(&Value::Array(vec![entry("7-0")])).unwrap();
    assert_eq!(r.depth, 3.0);
    assert_eq!(r.oldest_ms, Some(7));
}

#[test]
fn malformed_replies_are_errors_not_panics() {
    for kind in [&List as &dyn Kind, &STREAM_G, &stream_group()] {
        for junk in [
            vec![],
            vec![Value::Okay],
            vec![bulk("x"), Value::Int(-1), Value::Boolean(true)],
        ] {
            let _ = kind.read("k", &junk);
        }
    }
    let e = List.read("k", &[bulk("seven")]).unwrap_err();
    assert_eq!(e.reason(), "protocol");
}

#[test]
fn ids() {
    assert_eq!(id_ms("1700000000000-5"), Some(1_700_000_000_000));
    assert_eq!(id_ms("garbage"), None);
    assert_eq!(next_id("5-1").as_deref(), Some("5-2"));
    assert_eq!(next_id("0-0").as_deref(), Some("0-1"));
    assert_eq!(next_id("5-18446744073709551615").as_deref(), Some("6-0"));
    assert_eq!(next_id("x"), None);
}

#[test]
fn readings_add() {
    let mut a = Reading {
        depth: 1.0,
        oldest_ms: Some(50),
        ..Default::default()
    };
    a.add(&Reading {
        depth: 2.0,
        pending: 1.0,
        oldest_ms: Some(20),
        truncated: true,
    });
    assert_eq!(
        a,
        Reading {
            depth: 3.0,
            pending: 1.0,
            oldest_ms: Some(20),
            truncated: true
        }
    );
}

// Tests below were added to kill mutants (`cargo mutants`) that the tests
// above let survive.

/// A kind parsed from `fields` by [`parse`], or the problems' messages.
fn kind(type_name: &str, fields: &[(&str, &str)]) -> Result<Arc<dyn Kind>, Vec<String>> {
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let opt = Opt {
                value: v.to_string(),
                line: i as u64 + 10,
            };
            (k.to_string(), opt)
        })
        .collect();
    let mut options = Options::new(fields, 5);
    let kind = parse(ALL, type_name, &mut options);
    let problems: Vec<String> = options
        .into_problems()
        .into_iter()
        .map(|p| format!("{} (line {}): {}", p.field, p.line, p.message))
        .collect();
    match kind {
        Some(k) if problems.is_empty() => Ok(k),
        _ => Err(problems),
    }
}

fn debug(k: Result<Arc<dyn Kind>, Vec<String>>) -> String {
    match k {
        Ok(k) => format!("{k:?}"),
        Err(p) => panic!("expected a kind, got {p:?}"),
    }
}

fn problems(k: Result<Arc<dyn Kind>, Vec<String>>) -> String {
    match k {
        Ok(k) => panic!("expected problems, got {k:?}"),
        Err(p) => p.join("; "),
    }
}

#[test]
fn names_scan_types_serves_and_details() {
    let zset_plain = Zset {
        range: None,
        unit: None,
    };
    let zset_timed = Zset {
        range: Some((ScoreBound::NegInf, ScoreBound::Now(0.0))),
        unit: Some(ScoreUnit::Seconds),
    };
    let cases: [(&dyn Kind, &str, Serves, &str); 5] = [
        (&List, "list", Serves::default(), ""),
        (&zset_plain, "zset", Serves::default(), ""),
        (
            &zset_timed,
            "zset",
            Serves {
                pending: false,
                oldest_age: true,
            },
            " range=[NegInf,Now(0.0)]",
        ),
        (
            &STREAM_G,
            "stream",
            Serves {
                pending: false,
                oldest_age: true,
            },
            "",
        ),
        (
            &stream_group(),
            "stream",
            Serves {
                pending: true,
                oldest_age: true,
            },
            " group=g",
        ),
    ];
    for (kind, name, serves, detail) in cases {
        assert_eq!(kind.type_name(), name, "{kind:?}");
        // `SCAN ... TYPE` filters on it: a wrong one finds no keys.
        assert_eq!(kind.scan_type(), name, "{kind:?}");
        assert_eq!(kind.serves(), serves, "{kind:?}");
        assert_eq!(kind.detail(), detail, "{kind:?}");
    }
}

#[test]
fn parse_finds_the_kind_and_names_stray_fields() {
    assert_eq!(debug(kind("list", &[])), "List");
    assert_eq!(
        problems(kind("hash", &[])),
        "type (line 5): unknown queue type \"hash\" (known: list, zset, stream)"
    );
    assert_eq!(
        problems(kind("list", &[("group", "g")])),
        "group (line 10): only applies to type stream, not list"
    );
    assert_eq!(
        problems(kind("stream", &[("colour", "red")])),
        "colour (line 10): unknown field `colour`; a queue of type stream takes \
         name, namespaces, endpoint, key, pattern, type, labels, group, lag_count_limit"
    );
}

#[test]
fn zset_bounds_parse() {
    let range = |min: &str, max: &str| {
        debug(kind(
            "zset",
            &[
                ("score_unit", "milliseconds"),
                ("min_score", min),
                ("max_score", max),
            ],
        ))
    };
    let want = |min: &str, max: &str| {
        format!("Zset {{ range: Some(({min}, {max})), unit: Some(Milliseconds) }}")
    };
    assert_eq!(range("-inf", "inf"), want("NegInf", "PosInf"));
    assert_eq!(range(" -inf ", "+inf"), want("NegInf", "PosInf"));
    assert_eq!(range("2.5", "now"), want("Value(2.5)", "Now(0.0)"));
    assert_eq!(range("now - 5", "now+7"), want("Now(-5.0)", "Now(7.0)"));
    assert_eq!(
        debug(kind("zset", &[("min_score", "3")])),
        "Zset { range: Some((Value(3.0), PosInf)), unit: None }"
    );
    assert_eq!(
        debug(kind("zset", &[("max_score", "3")])),
        "Zset { range: Some((NegInf, Value(3.0))), unit: None }"
    );
    assert_eq!(
        debug(kind("zset", &[("score_unit", "seconds")])),
        "Zset { range: None, unit: Some(Seconds) }"
    );
    for bad in ["now5", "now+inf", "now-nan", "nowx", "1e999", "nan", "soon"] {
        assert_eq!(
            problems(kind(
                "zset",
                &[("score_unit", "seconds"), ("min_score", bad)]
            )),
            format!(
                "min_score (line 11): {bad:?} is not a score: use a number, -inf, +inf, now, now-N or now+N"
            ),
            "{bad}"
        );
    }
    assert_eq!(
        problems(kind("zset", &[("max_score", "now")])),
        "max_score (line 10): `now` needs `score_unit` (seconds or milliseconds)"
    );
}

#[test]
fn stream_fields_parse() {
    assert_eq!(
        debug(kind("stream", &[])),
        "Stream { group: None, lag_count_limit: 10000 }"
    );
    assert_eq!(
        debug(kind(
            "stream",
            &[("group", "g"), ("lag_count_limit", " 7 ")]
        )),
        "Stream { group: Some(\"g\"), lag_count_limit: 7 }"
    );
    assert_eq!(
        problems(kind("stream", &[("lag_count_limit", "0")])),
        "lag_count_limit (line 10): must be at least 1"
    );
    assert_eq!(
        problems(kind("stream", &[("group", "")])),
        "group (line 10): must not be empty"
    );
}

#[test]
fn zset_fixed_bounds_and_unitless_plan() {
    let kind = Zset {
        range: Some((ScoreBound::Value(1.5), ScoreBound::PosInf)),
        unit: None,
    };
    let mut pipe = redis::pipe();
    kind.plan(&mut pipe, "z", 1_700_000_000_500);
    let packed = String::from_utf8(pipe.get_packed_pipeline()).unwrap();
    assert_eq!(
        packed,
        "*4\r\n$6\r\nZCOUNT\r\n$1\r\nz\r\n$3\r\n1.5\r\n$4\r\n+inf\r\n"
    );
    assert_eq!(ScoreBound::NegInf.to_arg(5.0), "-inf");
    assert_eq!(ScoreBound::Now(2.0).to_arg(5.5), "7");
    assert_eq!(ScoreUnit::Seconds.seconds(), 1.0);
    assert_eq!(ScoreUnit::Milliseconds.seconds(), 0.001);
}

#[test]
fn zset_oldest_in_milliseconds_and_errors_name_the_command() {
    let kind = Zset {
        range: Some((ScoreBound::NegInf, ScoreBound::Now(0.0))),
        unit: Some(ScoreUnit::Milliseconds),
    };
    let r = kind
        .read(
            "z",
            &[
                Value::Int(4),
                Value::Array(vec![bulk("job"), Value::Double(1_700_000_000_250.0)]),
            ],
        )
        .unwrap();
    assert_eq!(
        done(r),
        Reading {
            depth: 4.0,
            oldest_ms: Some(1_700_000_000_250),
            ..Default::default()
        }
    );
    // A nil range reply: no item, no age.
    let r = kind.read("z", &[Value::Int(0), Value::Nil]).unwrap();
    assert_eq!(done(r), Reading::default());
    let e = kind.read("z", &[Value::Okay]).unwrap_err();
    assert!(e.to_string().contains("ZCOUNT"), "{e}");
    let plain = Zset {
        range: None,
        unit: None,
    };
    let e = plain.read("z", &[Value::Okay]).unwrap_err();
    assert!(e.to_string().contains("ZCARD"), "{e}");
    let e = kind
        .read(
            "z",
            &[Value::Int(1), Value::Array(vec![bulk("job"), bulk("inf")])],
        )
        .unwrap_err();
    assert_eq!(e.reason(), "protocol");
}

#[test]
fn stream_lag_equal_to_length_is_believed() {
    let replies = [
        Value::Int(5),
        Value::Array(vec![group("g", "100-0", Value::Int(5))]),
        Value::Array(vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil]),
    ];
    let Step::More(c) = stream_group().read("s", &replies).unwrap() else {
        panic!("expected phase 2")
    };
    let packed = String::from_utf8(c.command().get_packed_command()).unwrap();
    assert_eq!(
        packed,
        "*6\r\n$6\r\nXRANGE\r\n$1\r\ns\r\n$5\r\n100-1\r\n$1\r\n+\r\n$5\r\nCOUNT\r\n$1\r\n1\r\n"
    );
    let r = c.finish(&Value::Array(vec![entry("200-0")])).unwrap();
    assert_eq!(
        r,
        Reading {
            depth: 5.0,
            pending: 0.0,
            oldest_ms: Some(200),
            truncated: false
        }
    );
}

#[test]
fn stream_negative_lag_counts_up_to_the_limit() {
    let replies = [
        Value::Int(5),
        Value::Array(vec![group("g", "100-0", Value::Int(-1))]),
        Value::Array(vec![Value::Int(1), bulk("50-0"), bulk("50-0"), Value::Nil]),
    ];
    let kind = Stream {
        group: Some("g".into()),
        lag_count_limit: 2,
    };
    let Step::More(c) = kind.read("s", &replies).unwrap() else {
        panic!("expected phase 2")
    };
    let packed = String::from_utf8(c.command().get_packed_command()).unwrap();
    assert_eq!(
        packed,
        "*6\r\n$6\r\nXRANGE\r\n$1\r\ns\r\n$5\r\n100-1\r\n$1\r\n+\r\n$5\r\nCOUNT\r\n$1\r\n2\r\n"
    );
    // As many entries as the limit: the depth is a lower bound.
    let r = c
        .finish(&Value::Array(vec![entry("200-0"), entry("300-0")]))
        .unwrap();
    assert_eq!(
        r,
        Reading {
            depth: 2.0,
            pending: 1.0,
            oldest_ms: Some(50),
            truncated: true
        }
    );
}

#[test]
fn stream_missing_group_asks_from_the_start() {
    let replies = [
        Value::Int(3),
        Value::Array(vec![group("other", "0-0", Value::Int(3))]),
        server_error("NOGROUP no group"),
    ];
    let Step::More(c) = stream_group().read("s", &replies).unwrap() else {
        panic!("expected phase 2")
    };
    let packed = String::from_utf8(c.command().get_packed_command()).unwrap();
    assert_eq!(
        packed,
        "*6\r\n$6\r\nXRANGE\r\n$1\r\ns\r\n$1\r\n-\r\n$1\r\n+\r\n$5\r\nCOUNT\r\n$1\r\n1\r\n"
    );
    // An empty stream without the group: nothing waits, no second round trip.
    let replies = [
        Value::Int(0),
        Value::Array(vec![]),
        server_error("NOGROUP no group"),
    ];
    let r = stream_group().read("s", &replies).unwrap();
    assert_eq!(done(r), Reading::default());
}

#[test]
fn stream_xinfo_errors_other_than_a_missing_empty_key_are_errors() {
    // "no such key" while XLEN says 3: not a missing key.
    let replies = [
        Value::Int(3),
        server_error("ERR no such key"),
        Value::Array(vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil]),
    ];
    let e = stream_group().read("s", &replies).unwrap_err();
    assert_eq!(e.reason(), "server_error");
    let replies = [
        Value::Int(0),
        server_error("ERR something else"),
        Value::Array(vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil]),
    ];
    let e = stream_group().read("s", &replies).unwrap_err();
    assert_eq!(e.reason(), "server_error");
    assert!(e.to_string().contains("ERR something else"), "{e}");
}

#[test]
fn stream_group_info_as_a_resp3_map() {
    let info = Value::Map(vec![
        (bulk("name"), bulk("g")),
        (bulk("last-delivered-id"), bulk("100-0")),
        (bulk("lag"), Value::Int(2)),
    ]);
    let replies = [
        Value::Int(5),
        Value::Array(vec![info]),
        Value::Array(vec![
            Value::Int(1),
            bulk("400-0"),
            bulk("400-0"),
            Value::Nil,
        ]),
    ];
    let Step::More(c) = stream_group().read("s", &replies).unwrap() else {
        panic!("expected phase 2")
    };
    // The first undelivered entry is older than the oldest pending one.
    let r = c.finish(&Value::Array(vec![entry("300-0")])).unwrap();
    assert_eq!(
        r,
        Reading {
            depth: 2.0,
            pending: 1.0,
            oldest_ms: Some(300),
            truncated: false
        }
    );
}

#[test]
fn reply_shapes() {
    let r = Replies {
        key: "k",
        type_name: "zset",
    };
    assert_eq!(r.float(&Value::Double(2.5), "C"), Ok(2.5));
    assert_eq!(r.float(&bulk("-3.5"), "C"), Ok(-3.5));
    for inf in ["inf", "+inf", "-inf"] {
        assert_eq!(r.float(&bulk(inf), "C").unwrap_err().reason(), "protocol");
    }
    assert_eq!(r.int(&bulk("12"), "C"), Ok(12));
    assert_eq!(r.array(&Value::Nil, "C"), Ok(&[][..]));
    let set = Value::Set(vec![Value::Int(1)]);
    assert_eq!(r.array(&set, "C"), Ok(&[Value::Int(1)][..]));
    assert_eq!(
        r.array(&Value::Int(1), "C").unwrap_err().reason(),
        "protocol"
    );
    assert_eq!(
        reply::string(&Value::SimpleString("s".into())),
        Some("s".into())
    );
    assert_eq!(
        reply::string(&Value::VerbatimString {
            format: redis::VerbatimFormat::Text,
            text: "v".into()
        }),
        Some("v".into())
    );
    assert_eq!(reply::string(&Value::Int(1)), None);
    assert_eq!(reply::integer(&Value::SimpleString("-4".into())), Some(-4));
    assert_eq!(r.first_entry_ms(&Value::Nil, "C"), Ok(None));
    assert_eq!(
        r.first_entry_ms(&Value::Array(vec![bulk("9-0")]), "C")
            .unwrap_err()
            .reason(),
        "protocol"
    );
    let e = r.check(&server_error("ERR boom")).unwrap_err();
    assert_eq!(
        e,
        ReadError::Server {
            key: "k".into(),
            detail: "ERR boom".into()
        }
    );
    assert_eq!(e.reason(), "server_error");
    assert!(r.check(&Value::Int(1)).is_ok());
}

#[test]
fn protocol_errors_shorten_long_replies_on_a_char_boundary() {
    let r = Replies {
        key: "k",
        type_name: "list",
    };
    let shown = |text: String| {
        let v = Value::SimpleString(text);
        let full = format!("{v:?}");
        match r.protocol("C", &v) {
            ReadError::Protocol { reply, .. } => (full, reply),
            e => panic!("{e:?}"),
        }
    };
    let frame = format!("{:?}", Value::SimpleString(String::new())).len();
    // Exactly 120 bytes: shown whole.
    let (full, reply) = shown("x".repeat(120 - frame));
    assert_eq!(full.len(), 120);
    assert_eq!(reply, full);
    // One more: cut to 120 bytes and marked.
    let (full, reply) = shown("x".repeat(121 - frame));
    assert_eq!(reply, format!("{}…", &full[..120]));
    // 'é' is two bytes; when byte 120 falls inside one, the cut moves back.
    let text = ["é".repeat(70), format!("x{}", "é".repeat(70))]
        .into_iter()
        .find(|t| !format!("{:?}", Value::SimpleString(t.clone())).is_char_boundary(120))
        .unwrap();
    let (full, reply) = shown(text);
    assert_eq!(reply, format!("{}…", &full[..119]));
}

#[test]
fn readings_add_keeps_truncation_and_either_age() {
    let mut a = Reading {
        depth: 1.0,
        truncated: true,
        ..Default::default()
    };
    a.add(&Reading {
        depth: 2.0,
        oldest_ms: Some(20),
        truncated: true,
        ..Default::default()
    });
    assert_eq!(
        a,
        Reading {
            depth: 3.0,
            pending: 0.0,
            oldest_ms: Some(20),
            truncated: true
        }
    );
    a.add(&Reading::default());
    assert_eq!(a.oldest_ms, Some(20));
    assert!(a.truncated);
}
