//! What one namespace may read of one metric, and the rules that decide
//! whether a value may be served: read at all, fresh enough, not failing.

use std::sync::Arc;
use std::time::Duration;

use super::series::{LabelSet, PromqlEntry, SeriesRef, Source};

/// Why an answer cannot be given now (served as 503 ServiceUnavailable).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unavailable {
    /// The source has not been read yet (or only failed so far).
    #[error("no data for {what} yet: {why}")]
    NotReadYet {
        /// `queue "x"`, `service "y"`, `promql "z"`.
        what: String,
        /// The last error, or "not read yet".
        why: String,
    },
    /// The last good value is older than the staleness limit.
    #[error(
        "data for {what} is {age_s:.1}s old, older than the {limit_s}s staleness limit{last_error}"
    )]
    Stale {
        /// The source.
        what: String,
        /// Age in seconds.
        age_s: f64,
        /// The limit in seconds.
        limit_s: f64,
        /// `; last error: ...`, or empty.
        last_error: String,
    },
    /// Prometheus answered the query with an error: nothing is served.
    #[error("{what}: {error}")]
    QueryFailed {
        /// The PromQL entry.
        what: String,
        /// Prometheus's error.
        error: String,
    },
}

/// One part of an answer.
#[derive(Debug, Clone)]
pub(super) enum Cell {
    /// A queue or service series, with its labels at hand: a selector is
    /// tested against every visible series, so the labels are one pointer
    /// away from the answer, not three.
    Series(LabelSet, SeriesRef),
    /// A PromQL entry's items.
    Promql(Arc<PromqlEntry>),
}

/// Everything one namespace may read of one metric.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The metric's name as served (`metricName`).
    pub metric: String,
    pub(super) cells: Vec<Cell>,
}

impl Answer {
    /// Hands every item whose labels `matches` accepts to `emit` as
    /// (labels as JSON, read time in unix ms, value); a NaN value means the
    /// source chose to serve no item. Fails when any matching item cannot
    /// be served (never read, older than `max_staleness` at `now_ms`, or its
    /// PromQL query failing), as the HPA must then keep its replica count.
    pub fn read(
        &self,
        now_ms: u64,
        max_staleness: Duration,
        matches: impl Fn(&[(String, String)]) -> bool,
        mut emit: impl FnMut(&str, u64, f64),
    ) -> Result<(), Unavailable> {
        let fresh = |source: &dyn Fn() -> String, at: u64, last_error: Option<&str>| {
            let age = Duration::from_millis(now_ms.saturating_sub(at));
            if age <= max_staleness {
                return Ok(());
            }
            Err(Unavailable::Stale {
                what: source(),
                age_s: age.as_secs_f64(),
                limit_s: max_staleness.as_secs_f64(),
                last_error: last_error.map_or_else(String::new, |e| format!("; last error: {e}")),
            })
        };
        for cell in &self.cells {
            match cell {
                Cell::Series(labels, s) => {
                    if !matches(labels) {
                        continue;
                    }
                    let name = || s.source.to_string();
                    let Some((value, at)) = s.sample() else {
                        let why = s
                            .source
                            .error()
                            .map_or_else(|| "not read yet".to_string(), |e| e.to_string());
                        return Err(Unavailable::NotReadYet { what: name(), why });
                    };
                    fresh(&name, at, s.source.error().as_deref())?;
                    emit(&s.labels_json, at, value);
                }
                Cell::Promql(p) => promql(p, &fresh, &matches, &mut emit)?,
            }
        }
        Ok(())
    }
}

type Fresh<'a> = dyn Fn(&dyn Fn() -> String, u64, Option<&str>) -> Result<(), Unavailable> + 'a;

fn promql(
    p: &PromqlEntry,
    fresh: &Fresh<'_>,
    matches: &impl Fn(&[(String, String)]) -> bool,
    emit: &mut impl FnMut(&str, u64, f64),
) -> Result<(), Unavailable> {
    let snap = p.snapshot.load();
    let name = || Source::to_string(&p.source);
    if let Some(e) = &snap.query_error {
        return Err(Unavailable::QueryFailed {
            what: name(),
            error: e.clone(),
        });
    }
    if snap.read_at_ms == 0 {
        let why = snap.fetch_error.as_deref().unwrap_or("not queried yet");
        return Err(Unavailable::NotReadYet {
            what: name(),
            why: why.to_string(),
        });
    }
    fresh(&name, snap.read_at_ms, snap.fetch_error.as_deref())?;
    for item in &snap.items {
        if matches(&item.labels) {
            emit(&item.labels_json, snap.read_at_ms, item.value);
        }
    }
    Ok(())
}
