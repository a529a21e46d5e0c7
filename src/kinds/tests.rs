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
