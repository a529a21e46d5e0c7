//! How one key of each queue type is measured: which commands go into the
//! pipeline and how their replies become a [`Reading`].
//!
//! Pure: commands in, [`Value`]s out, no I/O, so every reply shape (missing
//! key, wrong type, nil lag, trimmed stream) is unit-tested here directly.
//!
//! A key is read in at most two phases, each a pipelined round trip shared
//! with the other keys of the endpoint (phase 1 is cut into several pipelines
//! for large endpoints, see `redis::read_all`): phase 1 asks what can be asked blindly; phase 2 is only
//! for consumer groups, whose first undelivered entry can only be asked for
//! once the group's `last-delivered-id` is known.

use redis::{Cmd, Pipeline, Value, cmd};

use crate::config::QueueKind;

/// Why a key could not be measured. Reported per queue; other queues are unaffected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// The key holds another data structure than the queue's `type`.
    #[error("key {key:?} holds the wrong kind of value for type {expected}: {detail}")]
    WrongType {
        /// The key.
        key: String,
        /// The configured type.
        expected: &'static str,
        /// Redis's message.
        detail: String,
    },
    /// Redis answered a command with an error other than WRONGTYPE.
    #[error("key {key:?}: redis error: {detail}")]
    Server {
        /// The key.
        key: String,
        /// Redis's message.
        detail: String,
    },
    /// A reply did not have the shape the command documents.
    #[error("key {key:?}: unexpected reply to {command}: {reply}")]
    Protocol {
        /// The key.
        key: String,
        /// The command whose reply was malformed.
        command: &'static str,
        /// A short rendering of the reply.
        reply: String,
    },
}

impl ReadError {
    /// Low-cardinality reason, for the `reason` label of poll errors.
    pub fn reason(&self) -> &'static str {
        match self {
            ReadError::WrongType { .. } => "wrong_type",
            ReadError::Server { .. } => "server_error",
            ReadError::Protocol { .. } => "protocol",
        }
    }
}

/// What one key contributes to its queue's series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    /// Items waiting.
    pub depth: f64,
    /// Items delivered but not acknowledged (streams with a group).
    pub pending: f64,
    /// Unix ms of the oldest waiting or pending item, if any and knowable.
    pub oldest_ms: Option<u64>,
    /// The depth is a lower bound: counting stopped at `lag_count_limit`.
    pub truncated: bool,
}

impl Reading {
    /// Adds another key's reading (glob patterns sum their keys).
    pub fn add(&mut self, other: &Reading) {
        self.depth += other.depth;
        self.pending += other.pending;
        self.oldest_ms = match (self.oldest_ms, other.oldest_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.truncated |= other.truncated;
    }
}

/// Result of phase 1 for one key.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Fully measured.
    Done(Reading),
    /// One more command is needed; feed its reply to [`Continuation::finish`].
    More(Continuation),
}

/// What phase 1 learned about a stream, and what phase 2 still has to ask.
#[derive(Debug, Clone, PartialEq)]
pub struct Continuation {
    key: String,
    pending: f64,
    oldest_pending_ms: Option<u64>,
    ask: Ask,
}

#[derive(Debug, Clone, PartialEq)]
enum Ask {
    /// Lag is known; fetch the first undelivered entry for its age.
    FirstAfter { lag: f64, after: String },
    /// Lag is unknown (nil, or inconsistent after trims): count entries after `after`, up to `limit`.
    CountAfter { after: String, limit: u64 },
    /// The group does not exist: everything in the stream is undelivered.
    FirstEntry { len: f64 },
}

/// How many commands [`phase1`] adds for a key of this kind.
pub fn phase1_len(kind: &QueueKind) -> usize {
    match kind {
        QueueKind::List => 1,
        QueueKind::Zset { unit: None, .. } => 1,
        QueueKind::Zset { unit: Some(_), .. } => 2,
        QueueKind::Stream { group: None, .. } => 2,
        QueueKind::Stream { group: Some(_), .. } => 3,
    }
}

/// Appends the phase-1 commands for one key to `pipe` and returns how many it
/// added; `now_score` is the current time in the zset's unit. The commands
/// are written straight into the pipeline (no `Cmd` per command to build and
/// move: a 10,000-queue poll adds 16,500 of them every interval).
pub fn phase1(pipe: &mut Pipeline, kind: &QueueKind, key: &str, now_score: f64) -> usize {
    match kind {
        QueueKind::List => {
            pipe.cmd("LLEN").arg(key);
            1
        }
        QueueKind::Zset { range, unit } => {
            let bounds = range.map(|(min, max)| (min.to_arg(now_score), max.to_arg(now_score)));
            match &bounds {
                None => pipe.cmd("ZCARD").arg(key),
                Some((min, max)) => pipe.cmd("ZCOUNT").arg(key).arg(min).arg(max),
            };
            if unit.is_none() {
                return 1;
            }
            let (min, max) = bounds.unwrap_or_else(|| ("-inf".into(), "+inf".into()));
            pipe.cmd("ZRANGEBYSCORE")
                .arg(key)
                .arg(min)
                .arg(max)
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(1);
            2
        }
        QueueKind::Stream { group: None, .. } => {
            pipe.cmd("XLEN").arg(key);
            pipe.cmd("XRANGE")
                .arg(key)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(1);
            2
        }
        QueueKind::Stream {
            group: Some(group), ..
        } => {
            pipe.cmd("XLEN").arg(key);
            pipe.cmd("XINFO").arg("GROUPS").arg(key);
            pipe.cmd("XPENDING").arg(key).arg(group);
            3
        }
    }
}

/// Interprets the replies to [`phase1`] (same order, same count).
pub fn interpret1(kind: &QueueKind, key: &str, replies: &[Value]) -> Result<Step, ReadError> {
    let ctx = Ctx { key, kind };
    match kind {
        QueueKind::List => Ok(Step::Done(Reading {
            depth: ctx.int(reply(replies, 0), "LLEN")? as f64,
            ..Reading::default()
        })),
        QueueKind::Zset { unit, range } => {
            let depth = ctx.int(
                reply(replies, 0),
                if range.is_some() { "ZCOUNT" } else { "ZCARD" },
            )? as f64;
            let oldest_ms = match unit {
                None => None,
                Some(u) => {
                    let items = ctx.array(reply(replies, 1), "ZRANGEBYSCORE")?;
                    match items.get(1) {
                        None => None,
                        Some(score) => {
                            let s = ctx.float(score, "ZRANGEBYSCORE")?;
                            Some((s * u.seconds() * 1000.0).max(0.0) as u64)
                        }
                    }
                }
            };
            Ok(Step::Done(Reading {
                depth,
                oldest_ms,
                ..Reading::default()
            }))
        }
        QueueKind::Stream { group: None, .. } => {
            let depth = ctx.int(reply(replies, 0), "XLEN")? as f64;
            let first = ctx.first_entry_ms(reply(replies, 1), "XRANGE")?;
            Ok(Step::Done(Reading {
                depth,
                oldest_ms: first,
                ..Reading::default()
            }))
        }
        QueueKind::Stream {
            group: Some(group),
            lag_count_limit,
        } => {
            let len = ctx.int(reply(replies, 0), "XLEN")?;
            let groups = match reply(replies, 1) {
                // XINFO GROUPS on a missing key: "ERR no such key". XLEN said 0 already.
                Value::ServerError(e)
                    if len == 0 && e.details().is_some_and(|d| d.contains("no such key")) =>
                {
                    return Ok(Step::Done(Reading::default()));
                }
                v => ctx.array(v, "XINFO GROUPS")?,
            };
            let Some(info) = groups
                .iter()
                .map(GroupInfo::parse)
                .find(|g| g.as_ref().is_some_and(|g| g.name == *group))
                .flatten()
            else {
                // No such group yet: nothing has been delivered, so the whole stream waits
                // (as KEDA's redis-streams scaler counts it).
                if len == 0 {
                    return Ok(Step::Done(Reading::default()));
                }
                return Ok(Step::More(Continuation {
                    key: key.to_string(),
                    pending: 0.0,
                    oldest_pending_ms: None,
                    ask: Ask::FirstEntry { len: len as f64 },
                }));
            };
            // XPENDING summary: [count, smallest-id, greatest-id, consumers].
            let summary = ctx.array(reply(replies, 2), "XPENDING")?;
            let pending = summary
                .first()
                .map(|v| ctx.int(v, "XPENDING"))
                .transpose()?
                .unwrap_or(0);
            let oldest_pending_ms = summary.get(1).and_then(string).and_then(|id| id_ms(&id));
            let after = next_id(&info.last_delivered).ok_or_else(|| ReadError::Protocol {
                key: key.to_string(),
                command: "XINFO GROUPS",
                reply: format!("last-delivered-id {:?}", info.last_delivered),
            })?;
            // Redis 7 reports `lag`; it is nil when it cannot be computed (entries deleted
            // in the undelivered range), and it cannot exceed the stream's length when right.
            // Either way the fallback counts, bounded. (redis/src/t_stream.c streamReplyWithCGLag)
            let ask = match info.lag {
                Some(lag) if lag >= 0 && lag <= len => {
                    if lag == 0 {
                        return Ok(Step::Done(Reading {
                            depth: 0.0,
                            pending: pending as f64,
                            oldest_ms: oldest_pending_ms,
                            truncated: false,
                        }));
                    }
                    Ask::FirstAfter {
                        lag: lag as f64,
                        after,
                    }
                }
                _ => Ask::CountAfter {
                    after,
                    limit: *lag_count_limit,
                },
            };
            Ok(Step::More(Continuation {
                key: key.to_string(),
                pending: pending as f64,
                oldest_pending_ms,
                ask,
            }))
        }
    }
}

impl Continuation {
    /// The phase-2 command.
    pub fn command(&self) -> Cmd {
        let (start, count) = match &self.ask {
            Ask::FirstAfter { after, .. } => (after.as_str(), 1),
            Ask::CountAfter { after, limit } => (after.as_str(), *limit),
            Ask::FirstEntry { .. } => ("-", 1),
        };
        cmd("XRANGE")
            .arg(&self.key)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .clone()
    }

    /// Interprets the reply to [`Continuation::command`].
    pub fn finish(self, reply: &Value) -> Result<Reading, ReadError> {
        let kind = QueueKind::Stream {
            group: None,
            lag_count_limit: 0,
        };
        let ctx = Ctx {
            key: &self.key,
            kind: &kind,
        };
        let first = ctx.first_entry_ms(reply, "XRANGE")?;
        let (depth, truncated) = match self.ask {
            Ask::FirstAfter { lag, .. } => (lag, false),
            Ask::FirstEntry { len } => (len, false),
            Ask::CountAfter { limit, .. } => {
                let n = ctx.array(reply, "XRANGE")?.len() as u64;
                (n as f64, n >= limit)
            }
        };
        let oldest_ms = match (first, self.oldest_pending_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(Reading {
            depth,
            pending: self.pending,
            oldest_ms,
            truncated,
        })
    }
}

/// The fields of one `XINFO GROUPS` entry that matter here.
#[derive(Debug)]
struct GroupInfo {
    name: String,
    last_delivered: String,
    lag: Option<i64>,
}

impl GroupInfo {
    /// Parses a RESP2 flat array `[k, v, k, v, ...]` or a RESP3 map.
    fn parse(v: &Value) -> Option<GroupInfo> {
        let pairs: Vec<(&Value, &Value)> = match v {
            Value::Array(items) => items.chunks_exact(2).map(|p| (&p[0], &p[1])).collect(),
            Value::Map(items) => items.iter().map(|(k, v)| (k, v)).collect(),
            _ => return None,
        };
        let mut name = None;
        let mut last_delivered = None;
        let mut lag = None;
        for (k, v) in pairs {
            match string(k).as_deref() {
                Some("name") => name = string(v),
                Some("last-delivered-id") => last_delivered = string(v),
                Some("lag") => lag = integer(v),
                _ => {}
            }
        }
        Some(GroupInfo {
            name: name?,
            last_delivered: last_delivered?,
            lag,
        })
    }
}

/// Reply accessors that turn surprises into [`ReadError`]s naming the key.
struct Ctx<'a> {
    key: &'a str,
    kind: &'a QueueKind,
}

impl Ctx<'_> {
    fn check(&self, v: &Value) -> Result<(), ReadError> {
        if let Value::ServerError(e) = v {
            let detail = match e.details() {
                Some(d) => format!("{} {d}", e.code()),
                None => e.code().to_string(),
            };
            return Err(if e.code() == "WRONGTYPE" {
                ReadError::WrongType {
                    key: self.key.to_string(),
                    expected: self.kind.type_name(),
                    detail,
                }
            } else {
                ReadError::Server {
                    key: self.key.to_string(),
                    detail,
                }
            });
        }
        Ok(())
    }

    fn protocol(&self, command: &'static str, v: &Value) -> ReadError {
        let mut reply = format!("{v:?}");
        if reply.len() > 120 {
            let mut cut = 120;
            while !reply.is_char_boundary(cut) {
                cut -= 1;
            }
            reply.truncate(cut);
            reply.push('…');
        }
        ReadError::Protocol {
            key: self.key.to_string(),
            command,
            reply,
        }
    }

    fn int(&self, v: &Value, command: &'static str) -> Result<i64, ReadError> {
        self.check(v)?;
        integer(v).ok_or_else(|| self.protocol(command, v))
    }

    fn float(&self, v: &Value, command: &'static str) -> Result<f64, ReadError> {
        self.check(v)?;
        let f = match v {
            Value::Double(d) => Some(*d),
            v => string(v).and_then(|s| match s.as_str() {
                "inf" | "+inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                s => s.parse().ok(),
            }),
        };
        f.filter(|f| f.is_finite())
            .ok_or_else(|| self.protocol(command, v))
    }

    fn array<'v>(&self, v: &'v Value, command: &'static str) -> Result<&'v [Value], ReadError> {
        self.check(v)?;
        match v {
            Value::Array(a) | Value::Set(a) => Ok(a),
            Value::Nil => Ok(&[]),
            v => Err(self.protocol(command, v)),
        }
    }

    /// Timestamp of the first entry of an XRANGE reply `[[id, fields], ...]`.
    fn first_entry_ms(&self, v: &Value, command: &'static str) -> Result<Option<u64>, ReadError> {
        let entries = self.array(v, command)?;
        let Some(first) = entries.first() else {
            return Ok(None);
        };
        let id = match first {
            Value::Array(e) => e.first().and_then(string),
            _ => None,
        };
        id.and_then(|id| id_ms(&id))
            .map(Some)
            .ok_or_else(|| self.protocol(command, first))
    }
}

fn reply(replies: &[Value], i: usize) -> &Value {
    replies.get(i).unwrap_or(&Value::Nil)
}

fn string(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        v => string(v)?.parse().ok(),
    }
}

/// Milliseconds part of a stream id `ms-seq` (stream ids are unix-ms timestamps).
pub fn id_ms(id: &str) -> Option<u64> {
    id.split_once('-').map_or(id, |(ms, _)| ms).parse().ok()
}

/// The smallest id greater than `id`, for an exclusive range start that works
/// before Redis 6.2's `(` syntax.
pub fn next_id(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    let ms: u64 = ms.parse().ok()?;
    let seq: u64 = seq.parse().ok()?;
    Some(match seq.checked_add(1) {
        Some(s) => format!("{ms}-{s}"),
        None => format!("{}-0", ms.checked_add(1)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    const STREAM_G: QueueKind = QueueKind::Stream {
        group: None,
        lag_count_limit: 100,
    };

    fn stream_group() -> QueueKind {
        QueueKind::Stream {
            group: Some("g".into()),
            lag_count_limit: 100,
        }
    }

    #[test]
    fn list_depth_and_wrong_type() {
        let r = interpret1(&QueueKind::List, "k", &[Value::Int(7)]).unwrap();
        assert_eq!(
            r,
            Step::Done(Reading {
                depth: 7.0,
                ..Default::default()
            })
        );
        let e = interpret1(
            &QueueKind::List,
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
    fn phase1_len_counts_what_phase1_adds() {
        use crate::config::{ScoreBound, ScoreUnit};
        let kinds = [
            QueueKind::List,
            QueueKind::Zset {
                range: None,
                unit: None,
            },
            QueueKind::Zset {
                range: Some((ScoreBound::NegInf, ScoreBound::Now(0.0))),
                unit: None,
            },
            QueueKind::Zset {
                range: Some((ScoreBound::Value(1.0), ScoreBound::Now(0.0))),
                unit: Some(ScoreUnit::Milliseconds),
            },
            QueueKind::Stream {
                group: None,
                lag_count_limit: 10,
            },
            stream_group(),
        ];
        for kind in kinds {
            let mut pipe = redis::pipe();
            let added = phase1(&mut pipe, &kind, "k", 1.7e9);
            assert_eq!(added, phase1_len(&kind), "{kind:?}");
            assert_eq!(pipe.len(), added, "{kind:?}");
        }
    }

    #[test]
    fn zset_oldest_from_score() {
        let kind = QueueKind::Zset {
            range: None,
            unit: Some(crate::config::ScoreUnit::Seconds),
        };
        let mut pipe = redis::pipe();
        assert_eq!(phase1(&mut pipe, &kind, "z", 0.0), 2);
        assert_eq!(pipe.len(), 2);
        let r = interpret1(
            &kind,
            "z",
            &[
                Value::Int(2),
                Value::Array(vec![bulk("job"), bulk("1700000000.5")]),
            ],
        )
        .unwrap();
        assert_eq!(
            r,
            Step::Done(Reading {
                depth: 2.0,
                oldest_ms: Some(1_700_000_000_500),
                ..Default::default()
            })
        );
        let r = interpret1(&kind, "z", &[Value::Int(0), Value::Array(vec![])]).unwrap();
        assert_eq!(r, Step::Done(Reading::default()));
    }

    #[test]
    fn stream_without_group() {
        let r = interpret1(
            &STREAM_G,
            "s",
            &[Value::Int(3), Value::Array(vec![entry("1000-0")])],
        )
        .unwrap();
        assert_eq!(
            r,
            Step::Done(Reading {
                depth: 3.0,
                oldest_ms: Some(1000),
                ..Default::default()
            })
        );
    }

    #[test]
    fn stream_group_missing_key_is_zero() {
        let r = interpret1(
            &stream_group(),
            "s",
            &[
                Value::Int(0),
                server_error("ERR no such key"),
                server_error("NOGROUP No such key 's' or consumer group 'g'"),
            ],
        )
        .unwrap();
        assert_eq!(r, Step::Done(Reading::default()));
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
        let Step::More(c) = interpret1(&stream_group(), "s", &replies).unwrap() else {
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
            let Step::More(c) = interpret1(&stream_group(), "s", &replies).unwrap() else {
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
        let r = interpret1(&stream_group(), "s", &replies).unwrap();
        assert_eq!(
            r,
            Step::Done(Reading {
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
        let Step::More(c) = interpret1(&stream_group(), "s", &replies).unwrap() else {
            panic!("expected phase 2")
        };
        let r = c.finish(&Value::Array(vec![entry("7-0")])).unwrap();
        assert_eq!(r.depth, 3.0);
        assert_eq!(r.oldest_ms, Some(7));
    }

    #[test]
    fn malformed_replies_are_errors_not_panics() {
        for kind in [QueueKind::List, STREAM_G, stream_group()] {
            for junk in [
                vec![],
                vec![Value::Okay],
                vec![bulk("x"), Value::Int(-1), Value::Boolean(true)],
            ] {
                let _ = interpret1(&kind, "k", &junk);
            }
        }
        let e = interpret1(&QueueKind::List, "k", &[bulk("seven")]).unwrap_err();
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
}
