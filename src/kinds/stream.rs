//! `type: stream`: a Redis stream. Without `group`, depth is `XLEN` and the
//! oldest entry is the first. With a consumer `group`, depth is the group's
//! backlog (entries not yet delivered, Redis 7's `lag`, counted up to
//! `lag_count_limit` when Redis cannot say), `queue_pending` its delivered
//! but unacknowledged entries (`XPENDING`), and the oldest age that of the
//! oldest undelivered or pending entry. The first undelivered entry can only
//! be asked for once the group's `last-delivered-id` is known, so a stream
//! with a group may need a [`FollowUp`].

use std::sync::Arc;

use redis::{Cmd, Pipeline, Value, cmd};

use super::reply::{id_ms, integer, next_id, reply, string};
use super::{FollowUp, Kind, Options, ReadError, Reading, Replies, Serves, Spec, Step};

/// The kind's entry in [`super::ALL`].
pub const SPEC: Spec = Spec {
    name: "stream",
    fields: &["group", "lag_count_limit"],
    parse,
};

/// Most entries counted one by one when Redis cannot report the lag, by default.
pub const DEFAULT_LAG_COUNT_LIMIT: u64 = 10_000;

fn parse(o: &mut Options) -> Option<Arc<dyn Kind>> {
    let start = o.problems().len();
    let group = o.take("group").map(|g| {
        if g.value.is_empty() {
            o.problem("group", g.line, "must not be empty");
        }
        g.value
    });
    let lag_count_limit = match o.take("lag_count_limit") {
        None => DEFAULT_LAG_COUNT_LIMIT,
        Some(l) => match l.value.trim().parse::<u64>() {
            Ok(0) => {
                o.problem("lag_count_limit", l.line, "must be at least 1");
                1
            }
            Ok(n) => n,
            Err(_) => {
                o.problem(
                    "lag_count_limit",
                    l.line,
                    format!("{:?} is not a whole number", l.value),
                );
                1
            }
        },
    };
    (o.problems().len() == start).then(|| {
        Arc::new(Stream {
            group,
            lag_count_limit,
        }) as Arc<dyn Kind>
    })
}

/// A stream queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// Consumer group whose backlog is measured.
    pub group: Option<String>,
    /// Most entries counted one by one when Redis cannot report the lag.
    pub lag_count_limit: u64,
}

impl Kind for Stream {
    fn type_name(&self) -> &'static str {
        "stream"
    }

    fn serves(&self) -> Serves {
        Serves {
            pending: self.group.is_some(),
            oldest_age: true,
        }
    }

    fn detail(&self) -> String {
        match &self.group {
            Some(g) => format!(" group={g}"),
            None => String::new(),
        }
    }

    fn commands(&self) -> usize {
        if self.group.is_some() { 3 } else { 2 }
    }

    fn plan(&self, pipe: &mut Pipeline, key: &str, _now_ms: u64) {
        pipe.cmd("XLEN").arg(key);
        match &self.group {
            None => {
                pipe.cmd("XRANGE")
                    .arg(key)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1);
            }
            Some(group) => {
                pipe.cmd("XINFO").arg("GROUPS").arg(key);
                pipe.cmd("XPENDING").arg(key).arg(group);
            }
        }
    }

    fn read(&self, key: &str, replies: &[Value]) -> Result<Step, ReadError> {
        let r = Replies {
            key,
            type_name: "stream",
        };
        let Some(group) = &self.group else {
            let depth = r.int(reply(replies, 0), "XLEN")? as f64;
            let first = r.first_entry_ms(reply(replies, 1), "XRANGE")?;
            return Ok(Step::Done(Reading {
                depth,
                oldest_ms: first,
                ..Reading::default()
            }));
        };
        let len = r.int(reply(replies, 0), "XLEN")?;
        let groups = match reply(replies, 1) {
            // XINFO GROUPS on a missing key: "ERR no such key". XLEN said 0 already.
            Value::ServerError(e)
                if len == 0 && e.details().is_some_and(|d| d.contains("no such key")) =>
            {
                return Ok(Step::Done(Reading::default()));
            }
            v => r.array(v, "XINFO GROUPS")?,
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
            return Ok(Step::More(Box::new(Continuation {
                key: key.to_string(),
                pending: 0.0,
                oldest_pending_ms: None,
                ask: Ask::FirstEntry { len: len as f64 },
            })));
        };
        // XPENDING summary: [count, smallest-id, greatest-id, consumers].
        let summary = r.array(reply(replies, 2), "XPENDING")?;
        let pending = summary
            .first()
            .map(|v| r.int(v, "XPENDING"))
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
                limit: self.lag_count_limit,
            },
        };
        Ok(Step::More(Box::new(Continuation {
            key: key.to_string(),
            pending: pending as f64,
            oldest_pending_ms,
            ask,
        })))
    }
}

/// What the first replies told about a stream with a group, and what the
/// follow-up still has to ask.
#[derive(Debug, Clone, PartialEq)]
struct Continuation {
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

impl FollowUp for Continuation {
    fn command(&self) -> Cmd {
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

    fn finish(self: Box<Self>, reply: &Value) -> Result<Reading, ReadError> {
        let r = Replies {
            key: &self.key,
            type_name: "stream",
        };
        let first = r.first_entry_ms(reply, "XRANGE")?;
        let (depth, truncated) = match self.ask {
            Ask::FirstAfter { lag, .. } => (lag, false),
            Ask::FirstEntry { len } => (len, false),
            Ask::CountAfter { limit, .. } => {
                let n = r.array(reply, "XRANGE")?.len() as u64;
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
