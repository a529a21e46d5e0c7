//! The `queues:` section: which Redis key or pattern, on which endpoint, and
//! the type-specific options (zset score ranges, stream consumer groups).

use std::collections::BTreeMap;

use super::{DEFAULT_LAG_COUNT_LIMIT, Validator, is_queue_name};
use crate::config::raw::{At, RawQueue, RawType};
use crate::config::{KeySource, Queue, QueueKind, ScoreBound, ScoreUnit};

impl Validator<'_> {
    pub(super) fn queue(
        &mut self,
        field: &str,
        raw: At<RawQueue>,
        endpoints: &BTreeMap<String, usize>,
    ) -> Option<Queue> {
        let start = self.problems.len();
        let q = raw.value;

        if !is_queue_name(&q.name.value) {
            self.problem(
                &format!("{field}.name"),
                &q.name,
                format!(
                    "{:?} must be lowercase letters, digits, '-', '_' or '.', start and end with a letter or digit, at most 63 characters (it becomes the label `queue`)",
                    q.name.value
                ),
            );
        }

        let namespaces = self.namespaces(field, q.namespaces, &q.name, "queue");

        let endpoint = match &q.endpoint {
            // No `endpoint`: the default one (`redis:`).
            None => 0,
            Some(e) => match endpoints.get(&e.value) {
                Some(i) => *i,
                None => {
                    let known: Vec<_> = endpoints.keys().cloned().collect();
                    self.problem(
                        &format!("{field}.endpoint"),
                        e,
                        format!(
                            "unknown Redis endpoint {:?} (known: {})",
                            e.value,
                            known.join(", ")
                        ),
                    );
                    0
                }
            },
        };

        let source = match (q.key, q.pattern) {
            (Some(k), None) if k.value.is_empty() => {
                self.problem(&format!("{field}.key"), &k, "must not be empty");
                None
            }
            (Some(k), None) => Some(KeySource::Key(k.value)),
            (None, Some(p)) if p.value.is_empty() => {
                self.problem(&format!("{field}.pattern"), &p, "must not be empty");
                None
            }
            (None, Some(p)) => Some(KeySource::Pattern(p.value)),
            (Some(k), Some(_)) => {
                self.problem(field, &k, "set either `key` or `pattern`, not both");
                None
            }
            (None, None) => {
                self.problem(field, &q.name, "one of `key` or `pattern` is required");
                None
            }
        };

        let labels = self.labels(field, q.labels, &["queue"]);

        let ty = q.kind.value;
        let only = |v: &mut Self, name: &str, present: bool, at: &At<RawType>, for_ty: &str| {
            if present {
                v.problem(
                    &format!("{field}.{name}"),
                    at,
                    format!("only applies to type {for_ty}, not {}", type_str(ty)),
                );
            }
        };
        if ty != RawType::Zset {
            only(self, "min_score", q.min_score.is_some(), &q.kind, "zset");
            only(self, "max_score", q.max_score.is_some(), &q.kind, "zset");
            only(self, "score_unit", q.score_unit.is_some(), &q.kind, "zset");
        }
        if ty != RawType::Stream {
            only(self, "group", q.group.is_some(), &q.kind, "stream");
            only(
                self,
                "lag_count_limit",
                q.lag_count_limit.is_some(),
                &q.kind,
                "stream",
            );
        }

        let kind = match ty {
            RawType::List => QueueKind::List,
            RawType::Zset => {
                let unit = q.score_unit.map(|u| u.value);
                let min = q
                    .min_score
                    .map(|s| self.score(&format!("{field}.min_score"), s, unit));
                let max = q
                    .max_score
                    .map(|s| self.score(&format!("{field}.max_score"), s, unit));
                let range = match (min, max) {
                    (None, None) => None,
                    (min, max) => Some((
                        min.unwrap_or(ScoreBound::NegInf),
                        max.unwrap_or(ScoreBound::PosInf),
                    )),
                };
                QueueKind::Zset { range, unit }
            }
            RawType::Stream => {
                let group = q.group.map(|g| {
                    if g.value.is_empty() {
                        self.problem(&format!("{field}.group"), &g, "must not be empty");
                    }
                    g.value
                });
                let lag_count_limit = match q.lag_count_limit {
                    Some(l) if l.value == 0 => {
                        self.problem(
                            &format!("{field}.lag_count_limit"),
                            &l,
                            "must be at least 1",
                        );
                        1
                    }
                    Some(l) => l.value,
                    None => DEFAULT_LAG_COUNT_LIMIT,
                };
                QueueKind::Stream {
                    group,
                    lag_count_limit,
                }
            }
        };

        if self.problems.len() > start {
            return None;
        }
        Some(Queue {
            name: q.name.value,
            namespaces,
            endpoint,
            source: source?,
            kind,
            labels,
        })
    }

    fn score(&mut self, field: &str, raw: At<String>, unit: Option<ScoreUnit>) -> ScoreBound {
        let s = raw.value.trim();
        match s {
            "-inf" => return ScoreBound::NegInf,
            "+inf" | "inf" => return ScoreBound::PosInf,
            _ => {}
        }
        if let Some(rest) = s.strip_prefix("now") {
            if unit.is_none() {
                self.problem(
                    field,
                    &raw,
                    "`now` needs `score_unit` (seconds or milliseconds)",
                );
            }
            let rest = rest.replace(' ', "");
            if rest.is_empty() {
                return ScoreBound::Now(0.0);
            }
            match rest.parse::<f64>() {
                Ok(off) if off.is_finite() && (rest.starts_with('+') || rest.starts_with('-')) => {
                    return ScoreBound::Now(off);
                }
                _ => {}
            }
        } else if let Ok(v) = s.parse::<f64>()
            && v.is_finite()
        {
            return ScoreBound::Value(v);
        }
        self.problem(
            field,
            &raw,
            format!(
                "{:?} is not a score: use a number, -inf, +inf, now, now-N or now+N",
                raw.value
            ),
        );
        ScoreBound::NegInf
    }
}

fn type_str(t: RawType) -> &'static str {
    match t {
        RawType::List => "list",
        RawType::Zset => "zset",
        RawType::Stream => "stream",
    }
}
