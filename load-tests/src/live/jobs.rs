//! Jobs in Redis: how a live run's producers push them and its pods take
//! and acknowledge them, for each queue kind.
//!
//! A job is one string, `seq:arrived:due:service` (scenario seconds since
//! the start of the run; `due` is the arrival plus the zset delay, equal to
//! `arrived` otherwise; `service` is the service time drawn for it), so a pod
//! needs nothing but the job to know when it arrived and how long to hold it.
//!
//! | kind | push (pipelined, per batch) | take `n` (one round trip) | done |
//! |---|---|---|---|
//! | list | `LPUSH key j…` | `BLMPOP t 1 key RIGHT COUNT n` (FIFO) | — |
//! | stream | `XADD key * j <job>` per job | `XREADGROUP GROUP g <pod> COUNT n BLOCK t STREAMS key >` | `XACK` + `XDEL` |
//! | zset | `ZADD key <due> j …` (unix time of `due` in `score_unit`) | Lua: `ZRANGEBYSCORE key -inf <now> LIMIT 0 n` + `ZREM` (atomic) | — |
//!
//! A stream's entries are deleted once acknowledged, which keeps Redis'
//! memory flat over long runs; only delivered entries are deleted, so the
//! group's `lag` (the adapter's `queue_depth`) stays valid. Zsets have no
//! blocking read, so a pod with free slots polls every
//! [`ZSET_POLL`] (real time) while nothing is due.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::streams::StreamReadReply;

use super::clock::Clock;
use crate::scenario::{Queue, QueueKind, ScoreUnit};

/// How often a pod with free slots polls a zset while nothing is due (real time).
pub(crate) const ZSET_POLL: Duration = Duration::from_millis(20);

/// Commands per LPUSH/ZADD in a push batch.
const PUSH_CHUNK: usize = 1000;

/// Why a Redis operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// No connection could be made.
    #[error("cannot reach Redis at {url}: {detail}")]
    Connect {
        /// The URL, without credentials.
        url: String,
        /// What failed.
        detail: String,
    },
    /// A command failed.
    #[error("Redis {op} on {key:?} failed: {source}")]
    Command {
        /// The operation.
        op: &'static str,
        /// The key.
        key: String,
        /// The client's error.
        source: redis::RedisError,
    },
}

/// One job (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Job {
    /// Sequence number within the service (unique).
    pub(crate) seq: u64,
    /// Arrival, scenario seconds.
    pub(crate) arrived: f64,
    /// When it may be taken and its wait starts (zset: arrival + delay).
    pub(crate) due: f64,
    /// Service time, scenario seconds.
    pub(crate) service: f64,
}

impl Job {
    /// The string stored in Redis.
    pub(crate) fn encode(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.seq, self.arrived, self.due, self.service
        )
    }

    /// Parses [`Job::encode`]'s output; `None` for anything else.
    pub(crate) fn decode(s: &str) -> Option<Job> {
        let mut it = s.split(':');
        let seq = it.next()?.parse().ok()?;
        let mut f = || it.next()?.parse::<f64>().ok().filter(|v| v.is_finite());
        let (arrived, due, service) = (f()?, f()?, f()?);
        Some(Job {
            seq,
            arrived,
            due,
            service: service.max(0.0),
        })
    }
}

/// A job a pod took, with its stream id when it came from a stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Taken {
    /// The job.
    pub(crate) job: Job,
    /// The stream entry id (streams only).
    pub(crate) id: Option<String>,
}

/// `url` with any password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable URL)".into(),
    }
}

/// A multiplexed connection with `response_timeout` per command (it must
/// exceed any blocking timeout used on it).
pub(crate) async fn connect(
    url: &str,
    response_timeout: Duration,
) -> Result<MultiplexedConnection, JobError> {
    let fail = |detail: String| JobError::Connect {
        url: redact(url),
        detail,
    };
    let client = redis::Client::open(url).map_err(|e| fail(e.to_string()))?;
    let cfg = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(response_timeout));
    client
        .get_multiplexed_async_connection_with_config(&cfg)
        .await
        .map_err(|e| fail(e.to_string()))
}

/// Connects and sends `PING`.
pub(crate) async fn ping(url: &str, timeout: Duration) -> Result<(), JobError> {
    let mut conn = connect(url, timeout).await?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(drop)
        .map_err(|e| JobError::Connect {
            url: redact(url),
            detail: format!("PING failed: {e}"),
        })
}

/// The Redis side of one queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueOps {
    /// The key.
    key: String,
    /// The kind.
    kind: QueueKind,
    /// The zset take script.
    script: redis::Script,
}

/// Takes up to `ARGV[2]` members scored at most `ARGV[1]`, atomically.
const ZSET_TAKE: &str = r"
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #items > 0 then redis.call('ZREM', KEYS[1], unpack(items)) end
return items
";

impl QueueOps {
    /// The operations for `queue`.
    pub(crate) fn new(queue: &Queue) -> QueueOps {
        QueueOps {
            key: queue.key.clone(),
            kind: queue.kind.clone(),
            script: redis::Script::new(ZSET_TAKE),
        }
    }

    fn cmd_err(&self, op: &'static str) -> impl Fn(redis::RedisError) -> JobError + '_ {
        move |source| JobError::Command {
            op,
            key: self.key.clone(),
            source,
        }
    }

    /// Deletes the key and, for a stream, creates the consumer group on an
    /// empty stream (`XGROUP CREATE … $ MKSTREAM`).
    pub(crate) async fn prepare(&self, conn: &mut MultiplexedConnection) -> Result<(), JobError> {
        redis::cmd("DEL")
            .arg(&self.key)
            .query_async::<()>(conn)
            .await
            .map_err(self.cmd_err("DEL"))?;
        if let QueueKind::Stream { group } = &self.kind {
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&self.key)
                .arg(group)
                .arg("$")
                .arg("MKSTREAM")
                .query_async::<()>(conn)
                .await
                .map_err(self.cmd_err("XGROUP CREATE"))?;
        }
        Ok(())
    }

    /// Pushes `jobs` in one pipeline.
    pub(crate) async fn push(
        &self,
        conn: &mut MultiplexedConnection,
        jobs: &[Job],
        clock: &Clock,
    ) -> Result<(), JobError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        match &self.kind {
            QueueKind::List => {
                for chunk in jobs.chunks(PUSH_CHUNK) {
                    let c = pipe.cmd("LPUSH").arg(&self.key);
                    for j in chunk {
                        c.arg(j.encode());
                    }
                    c.ignore();
                }
            }
            QueueKind::Stream { .. } => {
                for j in jobs {
                    pipe.cmd("XADD")
                        .arg(&self.key)
                        .arg("*")
                        .arg("j")
                        .arg(j.encode())
                        .ignore();
                }
            }
            QueueKind::Zset { score_unit, .. } => {
                let per_sec = score_factor(*score_unit);
                for chunk in jobs.chunks(PUSH_CHUNK) {
                    let c = pipe.cmd("ZADD").arg(&self.key);
                    for j in chunk {
                        c.arg(clock.unix_at(j.due) * per_sec).arg(j.encode());
                    }
                    c.ignore();
                }
            }
        }
        pipe.query_async::<()>(conn)
            .await
            .map_err(self.cmd_err("push"))
    }

    /// Takes up to `n` jobs for `consumer`, blocking up to `block` (real
    /// time) when none is waiting (zsets: returns at once). Entries that are
    /// not jobs are dropped and counted in the second value.
    pub(crate) async fn take(
        &self,
        conn: &mut MultiplexedConnection,
        consumer: &str,
        n: usize,
        block: Duration,
        clock: &Clock,
    ) -> Result<(Vec<Taken>, usize), JobError> {
        let n = n.max(1);
        let mut bad = 0;
        let mut out = Vec::with_capacity(n);
        let mut plain = |s: &str, out: &mut Vec<Taken>| match Job::decode(s) {
            Some(job) => out.push(Taken { job, id: None }),
            None => bad += 1,
        };
        match &self.kind {
            QueueKind::List => {
                let r: Option<(String, Vec<String>)> = redis::cmd("BLMPOP")
                    .arg(block.as_secs_f64().max(0.001))
                    .arg(1)
                    .arg(&self.key)
                    .arg("RIGHT")
                    .arg("COUNT")
                    .arg(n)
                    .query_async(conn)
                    .await
                    .map_err(self.cmd_err("BLMPOP"))?;
                for s in r.map(|(_, v)| v).unwrap_or_default() {
                    plain(&s, &mut out);
                }
            }
            QueueKind::Zset { score_unit, .. } => {
                let now = clock.unix_at(clock.now()) * score_factor(*score_unit);
                let r: Vec<String> = self
                    .script
                    .key(&self.key)
                    .arg(now)
                    .arg(n)
                    .invoke_async(conn)
                    .await
                    .map_err(self.cmd_err("zset take"))?;
                for s in &r {
                    plain(s, &mut out);
                }
            }
            QueueKind::Stream { group } => {
                let r: Option<StreamReadReply> = redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(group)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(n)
                    .arg("BLOCK")
                    .arg(block.as_millis().max(1) as u64)
                    .arg("STREAMS")
                    .arg(&self.key)
                    .arg(">")
                    .query_async(conn)
                    .await
                    .map_err(self.cmd_err("XREADGROUP"))?;
                for id in r.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
                    let job = id
                        .map
                        .get("j")
                        .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
                        .and_then(|s| Job::decode(&s));
                    match job {
                        Some(job) => out.push(Taken {
                            job,
                            id: Some(id.id),
                        }),
                        None => bad += 1,
                    }
                }
            }
        }
        Ok((out, bad))
    }

    /// Marks a taken job done: `XACK` and `XDEL` for streams, nothing else.
    pub(crate) async fn done(
        &self,
        conn: &mut MultiplexedConnection,
        taken: &Taken,
    ) -> Result<(), JobError> {
        let (QueueKind::Stream { group }, Some(id)) = (&self.kind, &taken.id) else {
            return Ok(());
        };
        redis::pipe()
            .cmd("XACK")
            .arg(&self.key)
            .arg(group)
            .arg(id)
            .ignore()
            .cmd("XDEL")
            .arg(&self.key)
            .arg(id)
            .ignore()
            .query_async::<()>(conn)
            .await
            .map_err(self.cmd_err("XACK"))
    }
}

/// Score units per second.
fn score_factor(unit: ScoreUnit) -> f64 {
    match unit {
        ScoreUnit::Seconds => 1.0,
        ScoreUnit::Milliseconds => 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_round_trip_and_bad_input_is_none() {
        let j = Job {
            seq: 7,
            arrived: 1.25,
            due: 3.5,
            service: 0.1,
        };
        assert_eq!(Job::decode(&j.encode()), Some(j));
        for bad in ["", "x", "1:2:3", "1:2:3:x", "a:1:2:3", "1:NaN:2:3"] {
            assert_eq!(Job::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("redis://u:secret@127.0.0.1:1/"),
            "redis://u:***@127.0.0.1:1/"
        );
        assert!(!redact("redis://:pw@h:1").contains("pw"));
    }
}
