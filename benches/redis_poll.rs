//! Redis polling at scale: 10,000 queues (lists, zsets, streams with and
//! without consumer groups) read by one `Poller::poll_once`.
//!
//! Target (issue): refreshed in <= 10 round trips and <= 100 ms per poll.
//!
//! Run with `cargo bench --bench redis_poll` (release profile). Without
//! `--bench` (e.g. under `cargo test --all-targets`) it only prints that it
//! was skipped. Needs `redis-server` on PATH (or `$QMA_REDIS_SERVER`).
//!
//! What it does, all on 127.0.0.1:
//! 1. starts a throwaway redis-server (tests/support harness) and fills it
//!    with the workload of `benches/support/queues10k.rs`;
//! 2. parses the 10,000-queue config with `config::parse`, builds the
//!    `Store` and the `Poller` exactly as `cli::Running::start` does;
//! 3. alternates, after 3 warm-ups, `ROUNDS` times: one `poll_once()` (the
//!    subject) and one "floor" — the same phase-1 commands, pre-built, sent
//!    as one pipeline (the poll cuts them into several, two in flight) on a
//!    plain multiplexed connection with the replies
//!    decoded into `redis::Value` and nothing else done with them — so the
//!    poll's own overhead can be told apart from Redis and the client
//!    library;
//! 4. prints round trips, failed queues, p50/p90/max poll time, and Redis's
//!    own CPU time per poll from `INFO commandstats`.
//!
//! Environment: `QMA_BENCH_ROUNDS` (default 30).

#[allow(unused_macros)]
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "support/queues10k.rs"]
mod queues10k;

#[path = "support/procstat.rs"]
mod procstat;

#[path = "support/report.rs"]
mod report;

use report::{env_or, ms, verdict};

use std::sync::Arc;
use std::time::{Duration, Instant};

use queue_metrics_adapter::config::{self, KeySource};
use queue_metrics_adapter::sources::Sources;
use queue_metrics_adapter::store::{self, Metric, Store, now_ms};
use queue_metrics_adapter::telemetry;
use support::RedisServer;

const NAME: &str = "redis_poll";
const WARMUPS: usize = 3;

fn main() {
    if !report::running_as_bench(NAME) {
        return;
    }
    assert!(
        support::redis_available(),
        "redis-server not found (PATH or $QMA_REDIS_SERVER)"
    );
    let rounds: usize = env_or("QMA_BENCH_ROUNDS", 30);
    let bench_started = Instant::now();
    println!("machine: {}", procstat::machine());

    let redis = RedisServer::start();
    let t = Instant::now();
    let populated = queues10k::populate(&redis);
    println!(
        "redis: {} ({}); populated {} keys with {} commands in {:.0} ms",
        redis.url(),
        redis_version(&redis),
        populated.keys,
        populated.commands,
        ms(t.elapsed())
    );

    let yaml = queues10k::config_yaml(&redis.url());
    let t = Instant::now();
    let cfg = config::parse(&yaml, &|_| None).expect("generated config is valid");
    println!(
        "config: {} queues ({} lists, {} zsets, {} streams of which {} with a group), {} KiB of YAML, parsed in {:.0} ms",
        cfg.queues.len(),
        queues10k::LISTS,
        queues10k::ZSETS,
        queues10k::STREAMS,
        queues10k::GROUP_STREAMS,
        yaml.len() / 1024,
        ms(t.elapsed())
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    // The connection manager is created lazily but needs the runtime's context.
    let enter = rt.enter();
    let mut metrics = telemetry::Metrics::new();
    let mut builder = store::Builder::new();
    let sources = Sources::build(&cfg, &mut builder, &mut metrics.registry, None).expect("sources");
    let store = Arc::new(builder.finish(cfg.max_staleness));
    let mut pollers = sources.redis.pollers;
    assert_eq!(pollers.len(), 1, "one endpoint");
    let mut poller = pollers.pop().expect("one poller");

    let floor_pipe = phase1_pipeline(&cfg);
    let floor_cmds = floor_pipe.len();
    let mut floor_conn = rt.block_on(async {
        redis::Client::open(redis.url())
            .expect("client")
            .get_multiplexed_async_connection()
            .await
            .expect("connection")
    });

    // Warm-ups: connect, first SCAN bookkeeping, allocator and page faults.
    for _ in 0..WARMUPS {
        let r = rt.block_on(poller.poll_once());
        assert_eq!(r.failed_queues, 0, "warm-up poll failed: {r:?}");
        rt.block_on(floor(&mut floor_conn, &floor_pipe));
    }
    report_store(&store);

    let before = commandstats(&redis);
    let mut poll_times = Vec::with_capacity(rounds);
    let mut floor_times = Vec::with_capacity(rounds);
    let mut reports = Vec::with_capacity(rounds);
    let mut redis_usec_poll = 0.0;
    let mut cpu_ms_poll = Vec::with_capacity(rounds);
    let pid = std::process::id();
    for i in 0..rounds {
        // Alternate which goes first so drift on a noisy machine hits both.
        let poll_first = i % 2 == 0;
        for leg in 0..2 {
            if (leg == 0) == poll_first {
                let s0 = commandstats(&redis);
                let c0 = procstat::thread_cpu_ns(pid, "");
                let t = Instant::now();
                let r = rt.block_on(poller.poll_once());
                poll_times.push(ms(t.elapsed()));
                cpu_ms_poll.push(procstat::thread_cpu_ns(pid, "").saturating_sub(c0) as f64 / 1e6);
                redis_usec_poll += commandstats(&redis) - s0;
                reports.push(r);
            } else {
                let t = Instant::now();
                rt.block_on(floor(&mut floor_conn, &floor_pipe));
                floor_times.push(ms(t.elapsed()));
            }
        }
    }
    let redis_usec_total = commandstats(&redis) - before;
    let redis_ms_poll = redis_usec_poll / 1000.0 / rounds as f64;
    let redis_ms_floor = (redis_usec_total - redis_usec_poll) / 1000.0 / rounds as f64;

    let round_trips: Vec<u32> = reports.iter().map(|r| r.round_trips).collect();
    let failed: usize = reports.iter().map(|r| r.failed_queues).max().unwrap_or(0);
    let (rt_min, rt_max) = (
        round_trips.iter().min().copied().unwrap_or(0),
        round_trips.iter().max().copied().unwrap_or(0),
    );
    let p = summary(&poll_times);
    let f = summary(&floor_times);
    println!();
    println!(
        "== {NAME}: {} queues, {rounds} polls after {WARMUPS} warm-ups ==",
        cfg.queues.len()
    );
    println!(
        "poll_once        round trips min {rt_min} max {rt_max}; failed queues (max) {failed}"
    );
    println!(
        "poll_once        p50 {:6.1} ms  p90 {:6.1} ms  max {:6.1} ms  mean {:6.1} ms   (redis CPU {:5.1} ms/poll)",
        p.p50, p.p90, p.max, p.mean, redis_ms_poll
    );
    println!(
        "floor (phase 1)  p50 {:6.1} ms  p90 {:6.1} ms  max {:6.1} ms  mean {:6.1} ms   (redis CPU {:5.1} ms/pipeline, {floor_cmds} commands)",
        f.p50, f.p90, f.max, f.mean, redis_ms_floor
    );
    let cpu = summary(&cpu_ms_poll);
    println!(
        "poll_once CPU    p50 {:6.1} ms  p90 {:6.1} ms  max {:6.1} ms   (all threads of this process: work per poll, less sensitive to contention)",
        cpu.p50, cpu.p90, cpu.max
    );
    println!(
        "poll_once / floor (p50): {:.2}x",
        if f.p50 > 0.0 { p.p50 / f.p50 } else { 0.0 }
    );
    println!(
        "target: <= 10 round trips: {}; <= 100 ms per poll (p50 / max): {} / {}",
        verdict(rt_max <= 10),
        verdict(p.p50 <= 100.0),
        verdict(p.max <= 100.0),
    );
    println!(
        "poll times (ms): {}",
        poll_times
            .iter()
            .map(|t| format!("{t:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    drop(poller);
    drop(floor_conn);
    drop(enter);
    rt.shutdown_timeout(Duration::from_secs(2));
    drop(redis);
    println!(
        "load average after: {}; bench wall time {:.1} s",
        procstat::load_average(),
        bench_started.elapsed().as_secs_f64()
    );
}

/// Every queue's phase-1 commands in one pipeline (`Poller::read_all` sends
/// the same commands cut into several pipelines).
fn phase1_pipeline(cfg: &config::Config) -> redis::Pipeline {
    let now = now_ms();
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for q in &cfg.queues {
        let KeySource::Key(key) = &q.source else {
            panic!("the workload has no patterns")
        };
        q.kind.plan(&mut pipe, key, now);
    }
    pipe
}

async fn floor(conn: &mut redis::aio::MultiplexedConnection, pipe: &redis::Pipeline) {
    let v: Vec<redis::Value> = pipe.query_async(conn).await.expect("floor pipeline");
    std::hint::black_box(v);
}

fn report_store(store: &Store) {
    let (mut depth, mut pending, mut read) = (0.0, 0.0, 0);
    for s in &store.series {
        if let Some((v, _)) = s.sample() {
            read += 1;
            if s.metric == Metric::QueueDepth {
                depth += v;
            } else if s.metric == Metric::QueuePending {
                pending += v;
            }
        }
    }
    println!(
        "store: {read}/{} series read; total depth {depth}, total pending {pending}",
        store.series.len()
    );
}

/// Total microseconds Redis spent executing commands so far (`INFO commandstats`).
fn commandstats(redis: &RedisServer) -> f64 {
    let info = redis.cmd(&["INFO", "commandstats"]).expect_string();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_") && !l.starts_with("cmdstat_info:"))
        .filter_map(|l| {
            l.split(',')
                .find_map(|kv| kv.strip_prefix("usec="))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .sum()
}

fn redis_version(redis: &RedisServer) -> String {
    let info = redis.cmd(&["INFO", "server"]).expect_string();
    info.lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map_or_else(
            || "unknown version".into(),
            |v| format!("redis {}", v.trim()),
        )
}

struct Summary {
    p50: f64,
    p90: f64,
    max: f64,
    mean: f64,
}

fn summary(times: &[f64]) -> Summary {
    let mut v = times.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        if v.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    };
    Summary {
        p50: pct(50.0),
        p90: pct(90.0),
        max: v.last().copied().unwrap_or(0.0),
        mean: v.iter().sum::<f64>() / v.len().max(1) as f64,
    }
}
