//! `type: zset`: a sorted set of waiting items (delayed and scheduled jobs).
//! Depth is `ZCARD`, or `ZCOUNT` over a score range (`min_score`,
//! `max_score`); when the scores are unix timestamps (`score_unit`), the
//! range may be relative to now and the oldest item's age is its score's.

use std::sync::Arc;

use redis::{Pipeline, Value};

use super::reply::reply;
use super::{Kind, Options, ReadError, Reading, Replies, Serves, Spec, Step};

/// The kind's entry in [`super::ALL`].
pub const SPEC: Spec = Spec {
    name: "zset",
    fields: &["min_score", "max_score", "score_unit"],
    parse,
};

fn parse(o: &mut Options) -> Option<Arc<dyn Kind>> {
    let start = o.problems().len();
    let unit = o.parse(
        "score_unit",
        "is not a unit: use seconds or milliseconds",
        |s| match s {
            "seconds" => Some(ScoreUnit::Seconds),
            "milliseconds" => Some(ScoreUnit::Milliseconds),
            _ => None,
        },
    );
    let min = bound(o, "min_score", unit);
    let max = bound(o, "max_score", unit);
    let range = match (min, max) {
        (None, None) => None,
        (min, max) => Some((
            min.unwrap_or(ScoreBound::NegInf),
            max.unwrap_or(ScoreBound::PosInf),
        )),
    };
    (o.problems().len() == start).then(|| Arc::new(Zset { range, unit }) as Arc<dyn Kind>)
}

fn bound(o: &mut Options, field: &str, unit: Option<ScoreUnit>) -> Option<ScoreBound> {
    let raw = o.take(field)?;
    let s = raw.value.trim();
    match s {
        "-inf" => return Some(ScoreBound::NegInf),
        "+inf" | "inf" => return Some(ScoreBound::PosInf),
        _ => {}
    }
    if let Some(rest) = s.strip_prefix("now") {
        if unit.is_none() {
            o.problem(
                field,
                raw.line,
                "`now` needs `score_unit` (seconds or milliseconds)",
            );
        }
        let rest = rest.replace(' ', "");
        if rest.is_empty() {
            return Some(ScoreBound::Now(0.0));
        }
        match rest.parse::<f64>() {
            Ok(off) if off.is_finite() && (rest.starts_with('+') || rest.starts_with('-')) => {
                return Some(ScoreBound::Now(off));
            }
            _ => {}
        }
    } else if let Ok(v) = s.parse::<f64>()
        && v.is_finite()
    {
        return Some(ScoreBound::Value(v));
    }
    o.problem(
        field,
        raw.line,
        format!(
            "{:?} is not a score: use a number, -inf, +inf, now, now-N or now+N",
            raw.value
        ),
    );
    None
}

/// A sorted-set queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Zset {
    /// Score range; `None` counts everything with `ZCARD`.
    pub range: Option<(ScoreBound, ScoreBound)>,
    /// Unit of scores that are timestamps; enables `now` and the oldest age.
    pub unit: Option<ScoreUnit>,
}

/// One end of a zset score range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreBound {
    /// `-inf`.
    NegInf,
    /// `+inf` / `inf`.
    PosInf,
    /// A fixed score (inclusive).
    Value(f64),
    /// The current unix time in the zset's unit, plus an offset in that unit.
    Now(f64),
}

impl ScoreBound {
    /// The Redis argument for this bound at time `now` (in the zset's unit).
    pub fn to_arg(self, now: f64) -> String {
        match self {
            ScoreBound::NegInf => "-inf".into(),
            ScoreBound::PosInf => "+inf".into(),
            ScoreBound::Value(v) => v.to_string(),
            ScoreBound::Now(off) => (now + off).floor().to_string(),
        }
    }
}

/// Unit of zset scores that are unix timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreUnit {
    /// Unix seconds (e.g. Sidekiq's `schedule`, RQ's scheduled registry).
    Seconds,
    /// Unix milliseconds (e.g. BullMQ's `delayed`).
    Milliseconds,
}

impl ScoreUnit {
    /// Seconds per score unit.
    pub fn seconds(self) -> f64 {
        match self {
            ScoreUnit::Seconds => 1.0,
            ScoreUnit::Milliseconds => 0.001,
        }
    }
}

impl Kind for Zset {
    fn type_name(&self) -> &'static str {
        "zset"
    }

    fn serves(&self) -> Serves {
        Serves {
            pending: false,
            oldest_age: self.unit.is_some(),
        }
    }

    fn detail(&self) -> String {
        match self.range {
            Some((min, max)) => format!(" range=[{min:?},{max:?}]"),
            None => String::new(),
        }
    }

    fn commands(&self) -> usize {
        if self.unit.is_some() { 2 } else { 1 }
    }

    fn plan(&self, pipe: &mut Pipeline, key: &str, now_ms: u64) {
        let now = self
            .unit
            .map_or(0.0, |u| now_ms as f64 / 1000.0 / u.seconds());
        let bounds = self
            .range
            .map(|(min, max)| (min.to_arg(now), max.to_arg(now)));
        match &bounds {
            None => pipe.cmd("ZCARD").arg(key),
            Some((min, max)) => pipe.cmd("ZCOUNT").arg(key).arg(min).arg(max),
        };
        if self.unit.is_none() {
            return;
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
    }

    fn read(&self, key: &str, replies: &[Value]) -> Result<Step, ReadError> {
        let r = Replies {
            key,
            type_name: "zset",
        };
        let depth = r.int(
            reply(replies, 0),
            if self.range.is_some() {
                "ZCOUNT"
            } else {
                "ZCARD"
            },
        )? as f64;
        let oldest_ms = match self.unit {
            None => None,
            Some(u) => {
                let items = r.array(reply(replies, 1), "ZRANGEBYSCORE")?;
                match items.get(1) {
                    None => None,
                    Some(score) => {
                        let s = r.float(score, "ZRANGEBYSCORE")?;
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
}
