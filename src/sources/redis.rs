//! Polling Redis: one task per endpoint, one managed connection, every queue
//! read each interval in a few pipelined round trips (1–2 for up to 4,096
//! phase-1 commands, 6 for 10,000 mixed queues, never more than 9).
//!
//! ```text
//!  every poll_interval             every scan_interval
//!  ┌────────────────────────┐      ┌─────────────────────────────┐
//!  │ phase 1: 1-8 pipelines │      │ SCAN MATCH pattern TYPE t   │
//!  │ of ~4096 commands, two │      │ for each glob queue → keys  │
//!  │ in flight (LLEN, XLEN, │      └─────────────────────────────┘
//!  │ ZCOUNT, XINFO GROUPS…) │
//!  │ phase 2: one pipeline  │
//!  │ (XRANGE after groups'  │ ──► Store (atomics) ──► API
//!  │  last-delivered-id)    │
//!  └────────────────────────┘
//! ```
//!
//! The connection ([`connection`]: plain or TLS) is opened at the first poll
//! and again at the poll after one that broke it; while Redis is away every
//! queue of the endpoint records the error and keeps its last value, which
//! the API refuses once it is older than `max_staleness`.

pub mod connection;
pub mod metrics;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::{Pipeline, Value};
use tracing::{debug, info, warn};

use prometheus_client::registry::Registry;
use tracing::Instrument;

use super::Task;
use crate::config::{Config, Endpoint, KeySource};
use crate::kinds::{FollowUp, Kind, ReadError, Reading, Step};
use crate::store::{Builder, QueueWriter, now_ms};
use crate::tick::{self, Round};
use connection::Connection;
use metrics::{EndpointLabels, PollMetrics, QueueLabels};

/// Result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an endpoint could not be polled.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The endpoint's URL or credentials were rejected by the client library.
    #[error("redis endpoint {endpoint}: invalid connection settings: {source}")]
    Settings {
        /// Endpoint name.
        endpoint: String,
        /// Client error.
        source: redis::RedisError,
    },
    /// The server could not be reached or the round trip failed.
    #[error("redis endpoint {endpoint} ({url}) unreachable: {source}{hint}")]
    Unreachable {
        /// Endpoint name.
        endpoint: String,
        /// Endpoint URL (without credentials).
        url: String,
        /// Client error.
        source: redis::RedisError,
        /// What to check, when the cause is clear (starts with " ("), or empty.
        hint: String,
    },
    /// The endpoint's TLS files cannot be used.
    #[error("redis endpoint {endpoint}: {source}")]
    Tls {
        /// Endpoint name.
        endpoint: String,
        /// What is wrong with the files (boxed: rustls errors are large).
        source: Box<crate::tls::client::Error>,
    },
}

/// Most keys one glob pattern may expand to; more are ignored with a warning.
const MAX_PATTERN_KEYS: usize = 100_000;

/// The Redis source: one poller per endpoint that has queues.
pub struct Redis {
    /// The pollers, one per endpoint in use.
    pub pollers: Vec<Poller>,
    interval: Duration,
}

impl Redis {
    /// Builds a poller for every endpoint some queue uses, with a store
    /// writer per queue, and registers `qma_poll_*` on `registry`.
    pub fn build(config: &Config, store: &mut Builder, registry: &mut Registry) -> Result<Redis> {
        let metrics = Arc::new(PollMetrics::register(
            registry.sub_registry_with_prefix("poll"),
        ));
        // Each queue, with its store writer, under its endpoint.
        let mut by_endpoint: Vec<Vec<PollQueue>> =
            config.endpoints.iter().map(|_| Vec::new()).collect();
        for q in &config.queues {
            let serves = q.kind.serves();
            by_endpoint[q.endpoint].push(PollQueue {
                writer: store.queue(
                    &q.name,
                    &q.namespaces,
                    &q.labels,
                    serves.pending,
                    serves.oldest_age,
                ),
                source: q.source.clone(),
                kind: q.kind.clone(),
            });
        }
        let pollers = config
            .endpoints
            .iter()
            .zip(by_endpoint)
            // An endpoint no queue uses is not polled (nor connected to).
            .filter(|(_, queues)| !queues.is_empty())
            .map(|(e, queues)| {
                Poller::new(e.clone(), queues, config.scan_interval, metrics.clone())
            })
            .collect::<Result<_>>()?;
        Ok(Redis {
            pollers,
            interval: config.poll_interval,
        })
    }

    /// One task per endpoint, polling every `poll_interval` inside a span
    /// naming the endpoint.
    pub fn tasks(self) -> Vec<Task> {
        self.pollers
            .into_iter()
            .map(|p| {
                let span = tracing::info_span!("redis", endpoint = %p.endpoint.name);
                Box::pin(p.run(self.interval).instrument(span)) as Task
            })
            .collect()
    }
}

/// Polls one Redis endpoint into the store.
pub struct Poller {
    endpoint: Endpoint,
    /// Every queue on this endpoint.
    queues: Vec<PollQueue>,
    metrics: Arc<PollMetrics>,
    conn: Connection,
    /// Keys of each glob queue (by position in `queues`) from the last SCAN.
    pattern_keys: HashMap<usize, Vec<String>>,
    last_scan: Option<Instant>,
    scan_interval: Duration,
    /// Whether the previous poll reached Redis (log only on changes).
    reachable: bool,
    /// Whether a poll has succeeded yet (the first one is logged with its time).
    polled: bool,
}

/// A queue as a poller reads it: where, what kind, and its store writer.
#[derive(Debug, Clone)]
struct PollQueue {
    writer: QueueWriter,
    source: KeySource,
    kind: Arc<dyn Kind>,
}

/// Outcome of one poll, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    /// Pipelined round trips used for reading (SCANs not included).
    pub round_trips: u32,
    /// Queues whose read failed.
    pub failed_queues: usize,
}

impl Poller {
    fn new(
        endpoint: Endpoint,
        queues: Vec<PollQueue>,
        scan_interval: Duration,
        metrics: Arc<PollMetrics>,
    ) -> Result<Poller> {
        let conn = Connection::new(endpoint.clone())?;
        Ok(Poller {
            endpoint,
            queues,
            metrics,
            conn,
            pattern_keys: HashMap::new(),
            last_scan: None,
            scan_interval,
            reachable: true,
            polled: false,
        })
    }

    /// Polls every `interval` until the task is dropped.
    pub async fn run(self, interval: Duration) {
        info!(endpoint = %self.endpoint.name, url = %self.endpoint.url, queues = self.queues.len(), "polling redis");
        tick::every(interval, self).await;
    }

    /// Refreshes glob patterns if due, then reads every queue once.
    pub async fn poll_once(&mut self) -> PollReport {
        let started = Instant::now();
        let read = match self.conn.get().await {
            Ok(conn) => {
                if self
                    .last_scan
                    .is_none_or(|t| t.elapsed() >= self.scan_interval)
                {
                    self.scan_patterns(&conn).await;
                }
                self.read_all(&conn).await
            }
            Err(e) => Err(e),
        };
        let report = match read {
            Ok(report) => {
                if !self.reachable {
                    info!(endpoint = %self.endpoint.name, "redis reachable again");
                    self.reachable = true;
                }
                if !self.polled {
                    self.polled = true;
                    for q in &self.queues {
                        q.writer.mark_ready();
                    }
                    info!(
                        endpoint = %self.endpoint.name,
                        queues = self.queues.len(),
                        round_trips = report.round_trips,
                        failed_queues = report.failed_queues,
                        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                        "first poll done"
                    );
                }
                report
            }
            Err(e) => {
                if self.reachable {
                    warn!(error = %e, "poll failed; serving last values until they are older than max_staleness");
                    self.reachable = false;
                }
                let reason: Arc<str> = Arc::from(e.to_string());
                for q in &self.queues {
                    q.writer.fail(reason.clone());
                    self.metrics.error(q.writer.name(), "unreachable");
                }
                PollReport {
                    round_trips: 0,
                    failed_queues: self.queues.len(),
                }
            }
        };
        let labels = EndpointLabels {
            endpoint: self.endpoint.name.clone(),
        };
        self.metrics
            .duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        self.metrics
            .round_trips
            .get_or_create(&labels)
            .set(report.round_trips.into());
        report
    }

    /// Expands every glob pattern with SCAN (never KEYS), filtered by the queue's type.
    async fn scan_patterns(&mut self, conn: &MultiplexedConnection) {
        self.last_scan = Some(Instant::now());
        for (pos, q) in self.queues.iter().enumerate() {
            let KeySource::Pattern(pattern) = &q.source else {
                continue;
            };
            match scan(&mut conn.clone(), pattern, q.kind.scan_type()).await {
                Ok(mut keys) => {
                    if keys.len() > MAX_PATTERN_KEYS {
                        warn!(queue = %q.writer.name(), matched = keys.len(), max = MAX_PATTERN_KEYS, "pattern matches too many keys; ignoring the rest");
                        keys.truncate(MAX_PATTERN_KEYS);
                    }
                    debug!(queue = %q.writer.name(), keys = keys.len(), "pattern scanned");
                    self.metrics
                        .pattern_keys
                        .get_or_create(&QueueLabels {
                            queue: q.writer.name().to_string(),
                        })
                        .set(keys.len() as i64);
                    self.pattern_keys.insert(pos, keys);
                }
                Err(e) => {
                    // Keep the previous expansion; the read itself will report unreachability.
                    let e = self.conn.unreachable(e);
                    debug!(queue = %q.writer.name(), error = %e, "pattern scan failed");
                    self.metrics.error(q.writer.name(), "scan");
                    self.last_scan = None;
                }
            }
        }
    }

    /// Reads every queue: phase 1 for all keys, phase 2 for streams that need it.
    ///
    /// Phase 1 goes out as a few pipelines ([`phase1_chunks`]), at most
    /// [`IN_FLIGHT`] at a time on the one multiplexed connection: Redis
    /// executes one while this task builds the next and reads the replies of
    /// the last, and only those pipelines' commands and replies are in memory
    /// at once.
    ///
    /// As with one pipeline, the poll is all or nothing: if any pipeline
    /// fails (connection lost, `timeout` elapsed), the readings of the others
    /// are dropped and every queue of the endpoint records the error. Each
    /// pipeline has its own response timeout, so a Redis that answers but
    /// slowly can hold a poll for up to (pipelines / 2 + 1) × `timeout`.
    async fn read_all(&mut self, conn: &MultiplexedConnection) -> Result<PollReport> {
        let now_ms = now_ms();
        // (queue position, key, commands) per key, in pipeline order.
        let mut plan = Vec::new();
        for (pos, q) in self.queues.iter().enumerate() {
            for key in keys(&self.pattern_keys, pos, q) {
                plan.push((pos, key.as_str(), q.kind.commands()));
            }
        }
        let chunks = phase1_chunks(&plan);
        let mut round_trips = 0;
        let mut totals: Vec<Result<Reading, ReadError>> =
            vec![Ok(Reading::default()); self.queues.len()];
        let mut more: Vec<(usize, Box<dyn FollowUp>)> = Vec::new();
        {
            let queues = &self.queues;
            let mut replies = futures_util::stream::iter(chunks)
                .map(|part: Range<usize>| {
                    let mut pipe = redis::pipe();
                    pipe.ignore_errors();
                    for &(pos, key, _) in &plan[part.clone()] {
                        queues[pos].kind.plan(&mut pipe, key, now_ms);
                    }
                    let mut conn = conn.clone();
                    async move { (part, query(&mut conn, &pipe).await) }
                })
                .buffered(IN_FLIGHT);
            while let Some((part, answer)) = replies.next().await {
                let answer = answer.map_err(|e| self.conn.unreachable(e))?;
                round_trips += 1;
                let mut start = 0;
                for &(pos, key, count) in &plan[part] {
                    let slice = answer.get(start..start + count).unwrap_or(&[]);
                    start += count;
                    if totals[pos].is_err() {
                        continue;
                    }
                    match queues[pos].kind.read(key, slice) {
                        Ok(Step::Done(r)) => add(&mut totals[pos], &r),
                        Ok(Step::More(c)) => more.push((pos, c)),
                        Err(e) => totals[pos] = Err(e),
                    }
                }
            }
        }
        let read_at = now_ms_after(now_ms);
        if !more.is_empty() {
            let mut pipe2 = redis::pipe();
            pipe2.ignore_errors();
            for (_, c) in &more {
                pipe2.add_command(c.command());
            }
            round_trips += 1;
            let replies2 = query(&mut conn.clone(), &pipe2)
                .await
                .map_err(|e| self.conn.unreachable(e))?;
            for ((pos, c), reply) in more
                .into_iter()
                .zip(replies2.iter().chain(std::iter::repeat(&Value::Nil)))
            {
                if totals[pos].is_err() {
                    continue;
                }
                match c.finish(reply) {
                    Ok(r) => add(&mut totals[pos], &r),
                    Err(e) => totals[pos] = Err(e),
                }
            }
        }

        let mut failed = 0;
        for (q, total) in self.queues.iter().zip(totals) {
            let name = q.writer.name();
            match total {
                Ok(r) => {
                    q.writer.write(r.depth, r.pending, r.oldest_ms, read_at);
                    if r.truncated {
                        self.metrics
                            .lag_truncated
                            .get_or_create(&QueueLabels {
                                queue: name.to_string(),
                            })
                            .inc();
                    }
                }
                Err(e) => {
                    failed += 1;
                    debug!(queue = %name, error = %e, "queue read failed");
                    self.metrics.error(name, e.reason());
                    q.writer.fail(Arc::from(format!("queue {name}: {e}")));
                }
            }
        }
        Ok(PollReport {
            round_trips,
            failed_queues: failed,
        })
    }
}

impl Round for Poller {
    async fn round(&mut self) {
        self.poll_once().await;
    }
}

/// Phase-1 commands per pipeline we aim for; a poll with more is cut into
/// several pipelines (at most [`MAX_PHASE1_PIPELINES`]).
const PHASE1_PIPELINE_COMMANDS: usize = 4096;
/// Most phase-1 pipelines per poll: with the one phase-2 pipeline, a poll
/// stays within 9 round trips however many queues it reads.
const MAX_PHASE1_PIPELINES: usize = 8;
/// Phase-1 pipelines sent before the first one's replies are read.
const IN_FLIGHT: usize = 2;

/// Cuts the plan (`(queue, key, commands)` per key) into runs of whole keys of about equal command count: one run per
/// [`PHASE1_PIPELINE_COMMANDS`] commands, between 1 and
/// [`MAX_PHASE1_PIPELINES`] runs (as index ranges of `plan`); none when
/// there is nothing to read.
fn phase1_chunks<T>(plan: &[(usize, T, usize)]) -> Vec<Range<usize>> {
    if plan.is_empty() {
        return Vec::new();
    }
    let total: usize = plan.iter().map(|(_, _, count)| count).sum();
    let pipelines = total
        .div_ceil(PHASE1_PIPELINE_COMMANDS)
        .clamp(1, MAX_PHASE1_PIPELINES);
    let per = total.div_ceil(pipelines);
    let mut chunks = Vec::with_capacity(pipelines);
    let (mut from, mut commands) = (0, 0);
    for (i, (_, _, count)) in plan.iter().enumerate() {
        commands += count;
        if commands >= per {
            chunks.push(from..i + 1);
            (from, commands) = (i + 1, 0);
        }
    }
    if from < plan.len() {
        chunks.push(from..plan.len());
    }
    chunks
}

/// The keys a queue reads this poll: its key, or its pattern's last expansion.
fn keys<'a>(
    pattern_keys: &'a HashMap<usize, Vec<String>>,
    pos: usize,
    q: &'a PollQueue,
) -> &'a [String] {
    match &q.source {
        KeySource::Key(k) => std::slice::from_ref(k),
        KeySource::Pattern(_) => pattern_keys.get(&pos).map_or(&[], Vec::as_slice),
    }
}

/// Sends one pipeline; per-command errors come back as `Value::ServerError`.
async fn query(
    conn: &mut MultiplexedConnection,
    pipe: &Pipeline,
) -> redis::RedisResult<Vec<Value>> {
    pipe.query_async(conn).await
}

fn add(total: &mut Result<Reading, ReadError>, r: &Reading) {
    if let Ok(t) = total {
        t.add(r);
    }
}

/// The read time: now, but never before the poll started.
fn now_ms_after(start: u64) -> u64 {
    now_ms().max(start)
}

/// All keys matching `pattern` of Redis type `ty`, deduplicated (SCAN may repeat keys).
async fn scan(
    conn: &mut MultiplexedConnection,
    pattern: &str,
    ty: &str,
) -> redis::RedisResult<Vec<String>> {
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .arg("TYPE")
            .arg(ty)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        cursor = next;
        if cursor == 0 || keys.len() > MAX_PATTERN_KEYS {
            break;
        }
    }
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(counts: &[usize]) -> Vec<(usize, (), usize)> {
        counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (i, (), c))
            .collect()
    }

    /// The ranges cover the plan once, in order, and cut only between keys.
    fn check_cover(p: &[(usize, (), usize)], chunks: &[Range<usize>]) {
        let mut next = 0;
        for c in chunks {
            assert_eq!(c.start, next, "{chunks:?}");
            assert!(c.end > c.start, "{chunks:?}");
            next = c.end;
        }
        assert_eq!(next, p.len(), "{chunks:?}");
    }

    #[test]
    fn small_polls_are_one_pipeline_and_empty_ones_none() {
        assert!(phase1_chunks(&plan(&[])).is_empty());
        let p = plan(&[1, 3, 2]);
        assert_eq!(phase1_chunks(&p), vec![0..3]);
    }

    #[test]
    fn large_polls_are_cut_into_even_pipelines_within_the_round_trip_budget() {
        // The 10,000-queue workload: 16,500 commands -> 5 pipelines.
        let counts: Vec<usize> = (0..10_000).map(|i| [1, 1, 2, 2, 3][i % 5]).collect();
        let total: usize = counts.iter().sum();
        let p = plan(&counts);
        let chunks = phase1_chunks(&p);
        check_cover(&p, &chunks);
        assert_eq!(chunks.len(), total.div_ceil(PHASE1_PIPELINE_COMMANDS));
        for c in &chunks {
            let n: usize = p[c.clone()].iter().map(|e| e.2).sum();
            assert!(n <= total.div_ceil(chunks.len()) + 2, "{n} commands");
        }
        // A million keys still make at most MAX_PHASE1_PIPELINES pipelines.
        let p = plan(&vec![1; 1_000_000]);
        let chunks = phase1_chunks(&p);
        check_cover(&p, &chunks);
        assert_eq!(chunks.len(), MAX_PHASE1_PIPELINES);
    }
}
