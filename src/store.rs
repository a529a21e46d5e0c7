//! The latest value of every series, shared between the sources and the API.
//!
//! The store is built once, before anything runs: each source (a queue, a
//! service, a PromQL entry) asks the [`Builder`] for a typed writer
//! ([`QueueWriter`], [`ServiceWriter`], [`PromqlWriter`]) that holds its
//! series and its [`Source`] state (last error, first read done). The set of
//! queue and service series is fixed by the configuration (a glob pattern is
//! summed into one series), so each keeps its value and read time in
//! atomics: writers write them lock-free and the API reads them lock-free.
//! A value of NaN means "no item" (a service configured to omit its
//! quantiles when there was no traffic). PromQL results have no fixed shape
//! (the query's vector decides the items), so each PromQL entry holds an
//! immutable snapshot swapped whole.
//!
//! The API reads one shape: the [`Answer`] for (namespace, metric), which
//! says what may be served and why not (never read, stale, failing) — so
//! answering the HPA never waits on Redis, a scrape or a lock.
//!
//! ```text
//!  sources ──(QueueWriter, ServiceWriter, PromqlWriter)──► Series / PromqlEntry
//!                                                            │ (by namespace, metric)
//!                                              API ◄──── Answer::read
//! ```
//!
//! A series whose source failed keeps its last good value and read time; the
//! error is remembered beside it. Whether that value may still be served is
//! decided by its age at request time ([`Store::max_staleness`]).

mod answer;
mod build;
mod series;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use answer::{Answer, Unavailable};
pub use build::{Builder, PromqlWriter, QueueWriter, ServiceWriter};
pub use series::{Item, Items, PromqlEntry, PromqlSnapshot, Series, SeriesRef, Source, SourceKind};

pub use crate::config::Metric;

/// Every series and source, plus the index the API reads through.
#[derive(Debug)]
pub struct Store {
    /// Every queue and service series, in the order the sources were built.
    pub series: Vec<SeriesRef>,
    /// Every PromQL entry, in config order.
    pub promql: Vec<Arc<PromqlEntry>>,
    /// Every source: queues, services and PromQL entries.
    pub sources: Vec<Arc<Source>>,
    /// What may be served, by namespace, then metric name.
    answers: HashMap<String, HashMap<String, Answer>>,
    /// Metric names served, in discovery order (built-in ones, then PromQL names).
    pub served_metrics: Vec<String>,
    /// Data older than this is refused.
    pub max_staleness: Duration,
    /// Every source has been read once (readiness never goes back).
    all_ready: AtomicBool,
}

impl Store {
    /// What `namespace` may read of metric `name` (lowercase), if anything.
    pub fn answer(&self, namespace: &str, name: &str) -> Option<&Answer> {
        self.answers.get(namespace)?.get(name)
    }

    /// Whether every source has finished its first read (a scan until it
    /// is true, then one load).
    pub fn ready(&self) -> bool {
        if self.all_ready.load(Ordering::Acquire) {
            return true;
        }
        let ready = self.sources.iter().all(|s| s.is_ready());
        if ready {
            self.all_ready.store(true, Ordering::Release);
        }
        ready
    }

    /// The sources still waiting for their first read.
    pub fn not_ready(&self) -> impl Iterator<Item = &Source> {
        self.sources
            .iter()
            .filter(|s| !s.is_ready())
            .map(Arc::as_ref)
    }
}

/// Milliseconds since the unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests;
