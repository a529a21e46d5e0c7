//! API throughput: the external-metrics GET answered from the store, against
//! a bare axum handler returning a body of the same size over the same TLS.
//!
//! Target (issue): requests/s of a metric GET >= 0.8x the bare handler's, in
//! the same run; p99 reported.
//!
//! Run with `cargo bench --bench api_throughput`. Without `--bench` (e.g.
//! under `cargo test --all-targets`) it only prints that it was skipped.
//! Needs `redis-server` on PATH (or `$QMA_REDIS_SERVER`).
//!
//! Set-up, all in this process on 127.0.0.1:
//! - a throwaway redis-server with 4 queues (2 lists, a stream with a
//!   consumer group, a zset with `max_score: now`) in namespace `bench`;
//! - the adapter, started as `serve` starts it (`cli::Running::start`, with
//!   a self-signed `tls::server_config(None, None)`, authentication off),
//!   waited for on `/readyz`;
//! - the baseline: an axum `Router` whose only handler returns a static body
//!   of exactly the size of the adapter's answer (the same bytes) with
//!   `Content-Type: application/json`, served by the same
//!   `server::serve_tls` with the same kind of rustls `ServerConfig`.
//!
//! Both servers run on one tokio runtime with 2 worker threads
//! (`qma-srv*`); the load generator runs on a second runtime with 2 worker
//! threads (`qma-load*`): `CONNS` keep-alive HTTP/1.1 connections, one
//! request in flight each, through the minimal client in
//! `benches/support/https.rs`. Each round connects, warms up for `WARMUP`
//! seconds, then measures for `SECONDS`; adapter and baseline rounds
//! alternate (which goes first flips every round) so drift on a noisy
//! machine hits both. Server and load-generator CPU time per request come
//! from the threads' `/proc/self/task/*/schedstat`.
//!
//! Scenarios: `all` (GET `queue_depth` in `bench`, 4 series) and `selector`
//! (`labelSelector=queue in (a,b)`, 2 series).
//!
//! Environment: `QMA_BENCH_CONNS` (32), `QMA_BENCH_SECONDS` (4),
//! `QMA_BENCH_WARMUP` (0.5), `QMA_BENCH_ROUNDS` (5), `QMA_BENCH_ONLY`
//! (`adapter` or `baseline`: run one side only, for profiling with perf).

#[allow(unused_macros)]
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "support/https.rs"]
mod https;

#[path = "support/procstat.rs"]
mod procstat;

#[path = "support/report.rs"]
mod report;

use report::env_or;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::http::{HeaderMap, Method, Uri};
use queue_metrics_adapter::api::ApiState;
use queue_metrics_adapter::cli::Running;
use queue_metrics_adapter::store::{self, now_ms};
use queue_metrics_adapter::{config, server, telemetry, tls};
use rustls::ClientConfig;
use support::RedisServer;

const NAME: &str = "api_throughput";
const SERVER_THREADS: &str = "qma-srv";
const LOAD_THREADS: &str = "qma-load";
const METRIC_PATH: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/bench/queue_depth";

struct Params {
    conns: usize,
    seconds: f64,
    warmup: f64,
    rounds: usize,
}

fn main() {
    if !report::running_as_bench(NAME) {
        return;
    }
    assert!(
        support::redis_available(),
        "redis-server not found (PATH or $QMA_REDIS_SERVER)"
    );
    let p = Params {
        conns: env_or("QMA_BENCH_CONNS", 32),
        seconds: env_or("QMA_BENCH_SECONDS", 4.0),
        warmup: env_or("QMA_BENCH_WARMUP", 0.5),
        rounds: env_or("QMA_BENCH_ROUNDS", 5),
    };
    // For profiling one side alone: QMA_BENCH_ONLY=adapter|baseline.
    let only = match std::env::var("QMA_BENCH_ONLY").as_deref() {
        Ok("adapter") => Some(true),
        Ok("baseline") => Some(false),
        _ => None,
    };
    let started = Instant::now();
    println!("machine: {}", procstat::machine());
    println!(
        "{NAME}: {} connections, {} s warm-up + {} s measured per round, {} rounds per subject, alternating",
        p.conns, p.warmup, p.seconds, p.rounds
    );

    let redis = RedisServer::start();
    redis.cmd(&["RPUSH", "q:a", "1", "2", "3"]);
    redis.cmd(&["RPUSH", "q:b", "1", "2", "3", "4", "5", "6", "7"]);
    for i in 0..5 {
        redis.cmd(&["XADD", "q:c", "*", "job", &i.to_string()]);
    }
    redis.cmd(&["XGROUP", "CREATE", "q:c", "workers", "0"]);
    redis.cmd(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "w1",
        "COUNT",
        "2",
        "STREAMS",
        "q:c",
        ">",
    ]);
    redis.cmd(&[
        "ZADD",
        "q:d",
        "1",
        "old",
        "2",
        "older",
        "99999999999",
        "future",
    ]);
    let yaml = format!(
        r#"redis:
  url: {}
poll_interval: 1s
queues:
  - {{name: a, namespaces: [bench], key: "q:a", type: list, labels: {{service: gateway}}}}
  - {{name: b, namespaces: [bench], key: "q:b", type: list, labels: {{service: gateway}}}}
  - {{name: c, namespaces: [bench], key: "q:c", type: stream, group: workers, labels: {{service: knowledge}}}}
  - {{name: d, namespaces: [bench], key: "q:d", type: zset, max_score: now, score_unit: seconds, labels: {{service: scheduler}}}}
"#,
        redis.url()
    );
    let cfg = config::parse(&yaml, &|_| None).expect("bench config is valid");

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()
        .expect("server runtime");
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(LOAD_THREADS)
        .enable_all()
        .build()
        .expect("load runtime");

    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let running = server_rt
        .block_on(Running::start(
            &cfg,
            tls::server_config(None, None).expect("self-signed certificate"),
            loopback,
            loopback,
        ))
        .expect("adapter starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while https::plain_get_status(running.admin_addr, "/readyz") != Some(200) {
        assert!(Instant::now() < deadline, "adapter not ready within 10 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    let client_cfg = https::client_config();

    let scenarios = [
        ("all", METRIC_PATH.to_string()),
        (
            "selector",
            format!("{METRIC_PATH}?labelSelector=queue%20in%20(a%2Cb)"),
        ),
    ];
    let mut summaries = Vec::new();
    for (name, path) in &scenarios {
        // The adapter's answer, once: its size (and bytes) set the baseline's body.
        let first = load_rt
            .block_on(async {
                let mut c = https::Conn::connect(running.api_addr, client_cfg.clone()).await?;
                c.get_body(path).await
            })
            .expect("adapter answers");
        assert_eq!(first.status, 200, "adapter answered {first:?}");
        let body = Bytes::from(first.body.clone().unwrap_or_default());
        let items = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["items"].as_array().map(Vec::len))
            .unwrap_or(0);
        println!();
        println!(
            "== scenario {name}: GET {path}\n   adapter answer: {} bytes, {items} series, content-type {}",
            first.body_len,
            first.content_type.as_deref().unwrap_or("-")
        );

        let baseline_addr;
        let baseline = {
            let _enter = server_rt.enter();
            let listener = server_rt
                .block_on(server::bind(loopback))
                .expect("baseline listener");
            baseline_addr = listener.local_addr().expect("baseline address");
            let app = Router::new().fallback(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            });
            server_rt.spawn(server::serve_tls(
                listener,
                tls::server_config(None, None).expect("self-signed certificate"),
                app,
            ))
        };
        let check = load_rt
            .block_on(async {
                let mut c = https::Conn::connect(baseline_addr, client_cfg.clone()).await?;
                c.get_body(path).await
            })
            .expect("baseline answers");
        assert_eq!(
            (check.status, check.body_len),
            (200, first.body_len),
            "baseline must answer like the adapter"
        );

        println!(
            "   {:<5} {:<8} {:>9} {:>8} {:>8} {:>8} {:>12} {:>12} {:>6}",
            "round",
            "subject",
            "req/s",
            "p50 us",
            "p99 us",
            "max us",
            "srv CPU us/r",
            "load CPU us/r",
            "errors"
        );
        let mut adapter_rounds = Vec::new();
        let mut baseline_rounds = Vec::new();
        for round in 0..p.rounds {
            let order = if round % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for is_adapter in order {
                if only.is_some_and(|o| o != is_adapter) {
                    continue;
                }
                let (label, addr) = if is_adapter {
                    ("adapter", running.api_addr)
                } else {
                    ("baseline", baseline_addr)
                };
                let r = load_rt.block_on(run_round(
                    addr,
                    path,
                    first.body_len,
                    &p,
                    client_cfg.clone(),
                ));
                println!(
                    "   {:<5} {:<8} {:>9.0} {:>8} {:>8} {:>8} {:>12.1} {:>12.1} {:>6}",
                    round + 1,
                    label,
                    r.rps,
                    r.p50_us,
                    r.p99_us,
                    r.max_us,
                    r.server_cpu_us_per_req,
                    r.load_cpu_us_per_req,
                    r.errors
                );
                if is_adapter {
                    adapter_rounds.push(r);
                } else {
                    baseline_rounds.push(r);
                }
            }
        }
        baseline.abort();
        summaries.push(summarize(
            name,
            first.body_len,
            &adapter_rounds,
            &baseline_rounds,
        ));
    }

    println!();
    println!("== summary (medians over rounds; ratio = adapter / baseline) ==");
    println!(
        "   {:<9} {:>6} {:>10} {:>10} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}  target >= 0.8x",
        "scenario",
        "bytes",
        "adapter/s",
        "base/s",
        "ratio",
        "a p50us",
        "a p99us",
        "b p50us",
        "b p99us",
        "a srv us",
        "b srv us"
    );
    for s in &summaries {
        println!(
            "   {:<9} {:>6} {:>10.0} {:>10.0} {:>6.2}x {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>9.1} {:>9.1}  {}",
            s.name,
            s.bytes,
            s.adapter_rps,
            s.baseline_rps,
            s.ratio,
            s.adapter_p50,
            s.adapter_p99,
            s.baseline_p50,
            s.baseline_p99,
            s.adapter_srv_us,
            s.baseline_srv_us,
            if s.adapter_rps == 0.0 || s.baseline_rps == 0.0 {
                "n/a"
            } else if s.ratio >= 0.8 {
                "met"
            } else {
                "MISSED"
            }
        );
        println!(
            "   {:<9} per-round ratios {}; server CPU per request baseline/adapter {:.2}x",
            "",
            s.round_ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(" "),
            if s.adapter_srv_us > 0.0 {
                s.baseline_srv_us / s.adapter_srv_us
            } else {
                0.0
            }
        );
    }

    handler_cost(&cfg, &scenarios);

    server_rt.block_on(running.stop());
    load_rt.shutdown_timeout(Duration::from_secs(2));
    server_rt.shutdown_timeout(Duration::from_secs(2));
    drop(redis);
    println!(
        "load average after: {}; bench wall time {:.1} s",
        procstat::load_average(),
        started.elapsed().as_secs_f64()
    );
}

/// The request path's own cost, without HTTP or TLS: `ApiState::respond`
/// (routing, selector, store reads, quantities, JSON) called in a loop on
/// this thread, against a store filled like the adapter's. Metrics
/// recording in `api::handle` (private) is not included.
fn handler_cost(cfg: &config::Config, scenarios: &[(&str, String)]) {
    const CALLS: u32 = 200_000;
    let metrics = telemetry::Metrics::new();
    let mut builder = store::Builder::new();
    let writers: Vec<_> = cfg
        .queues
        .iter()
        .map(|q| {
            let serves = q.kind.serves();
            builder.queue(
                &q.name,
                &q.namespaces,
                &q.labels,
                serves.pending,
                serves.oldest_age,
            )
        })
        .collect();
    let store = Arc::new(builder.finish(cfg.max_staleness));
    let now = now_ms();
    for (qi, w) in writers.iter().enumerate() {
        let v = 3.0 + qi as f64;
        w.write(v, v, Some(now - (v * 1000.0) as u64), now);
        w.mark_ready();
    }
    let state = ApiState::new(store, metrics.api.clone(), None);
    let headers = HeaderMap::new();
    println!();
    println!("== handler alone: ApiState::respond in a loop, {CALLS} calls, one thread ==");
    for (name, path) in scenarios {
        let uri: Uri = path.parse().expect("uri");
        let call = || {
            let (_, r) = state.respond(&Method::GET, &uri, &headers);
            let ok = r.as_ref().is_ok_and(|r| r.status() == 200);
            let _ = std::hint::black_box(r);
            ok
        };
        assert!(call(), "respond failed for {path}");
        for _ in 0..10_000 {
            call();
        }
        let cpu0 = thread_cpu_ns();
        let t = Instant::now();
        for _ in 0..CALLS {
            call();
        }
        let wall = t.elapsed();
        let cpu = thread_cpu_ns().saturating_sub(cpu0);
        println!(
            "   {name:<9} {:6.2} us/call wall, {:6.2} us/call CPU",
            wall.as_secs_f64() * 1e6 / f64::from(CALLS),
            cpu as f64 / 1e3 / f64::from(CALLS)
        );
    }
}

/// Nanoseconds on CPU of the calling thread.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

struct RoundResult {
    rps: f64,
    p50_us: u32,
    p99_us: u32,
    max_us: u32,
    server_cpu_us_per_req: f64,
    load_cpu_us_per_req: f64,
    errors: usize,
}

/// One round against `addr`: connect, warm up, measure.
async fn run_round(
    addr: SocketAddr,
    path: &str,
    expected_len: usize,
    p: &Params,
    cfg: Arc<ClientConfig>,
) -> RoundResult {
    let mut conns = Vec::with_capacity(p.conns);
    for _ in 0..p.conns {
        conns.push(
            https::Conn::connect(addr, cfg.clone())
                .await
                .expect("connect"),
        );
    }
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(p.warmup);
    let end = measure_from + Duration::from_secs_f64(p.seconds);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let req = conn.request(path);
            let cfg = cfg.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(1 << 16);
                let mut errors = 0usize;
                loop {
                    let t0 = Instant::now();
                    if t0 >= end {
                        break;
                    }
                    let ok = match conn.send(&req, false).await {
                        Ok(r) => r.status == 200 && r.body_len == expected_len,
                        Err(_) => false,
                    };
                    let t1 = Instant::now();
                    if t0 >= measure_from && t1 <= end {
                        if ok {
                            lat.push((t1 - t0).as_micros().min(u32::MAX as u128) as u32);
                        } else {
                            errors += 1;
                        }
                    }
                    if !ok {
                        // Do not spin on a broken connection.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        if let Ok(c) = https::Conn::connect(addr, cfg.clone()).await {
                            conn = c;
                        }
                    }
                }
                (lat, errors)
            })
        })
        .collect();

    let pid = std::process::id();
    tokio::time::sleep_until(measure_from.into()).await;
    let (srv0, load0) = (
        procstat::thread_cpu_ns(pid, SERVER_THREADS),
        procstat::thread_cpu_ns(pid, LOAD_THREADS),
    );
    tokio::time::sleep_until(end.into()).await;
    let (srv1, load1) = (
        procstat::thread_cpu_ns(pid, SERVER_THREADS),
        procstat::thread_cpu_ns(pid, LOAD_THREADS),
    );

    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("load task");
        all.extend(lat);
        errors += e;
    }
    all.sort_unstable();
    let n = all.len().max(1) as f64;
    RoundResult {
        rps: all.len() as f64 / p.seconds,
        p50_us: https::percentile(&all, 50.0),
        p99_us: https::percentile(&all, 99.0),
        max_us: all.last().copied().unwrap_or(0),
        server_cpu_us_per_req: srv1.saturating_sub(srv0) as f64 / 1000.0 / n,
        load_cpu_us_per_req: load1.saturating_sub(load0) as f64 / 1000.0 / n,
        errors,
    }
}

struct Summary {
    name: &'static str,
    bytes: usize,
    adapter_rps: f64,
    baseline_rps: f64,
    ratio: f64,
    round_ratios: Vec<f64>,
    adapter_p50: f64,
    adapter_p99: f64,
    baseline_p50: f64,
    baseline_p99: f64,
    adapter_srv_us: f64,
    baseline_srv_us: f64,
}

fn summarize(name: &'static str, bytes: usize, a: &[RoundResult], b: &[RoundResult]) -> Summary {
    let med = |rs: &[RoundResult], f: &dyn Fn(&RoundResult) -> f64| {
        https::median(&rs.iter().map(f).collect::<Vec<_>>())
    };
    let adapter_rps = med(a, &|r| r.rps);
    let baseline_rps = med(b, &|r| r.rps);
    Summary {
        name,
        bytes,
        adapter_rps,
        baseline_rps,
        ratio: if baseline_rps > 0.0 {
            adapter_rps / baseline_rps
        } else {
            0.0
        },
        round_ratios: a
            .iter()
            .zip(b)
            .map(|(a, b)| if b.rps > 0.0 { a.rps / b.rps } else { 0.0 })
            .collect(),
        adapter_p50: med(a, &|r| r.p50_us as f64),
        adapter_p99: med(a, &|r| r.p99_us as f64),
        baseline_p50: med(b, &|r| r.p50_us as f64),
        baseline_p99: med(b, &|r| r.p99_us as f64),
        adapter_srv_us: med(a, &|r| r.server_cpu_us_per_req),
        baseline_srv_us: med(b, &|r| r.server_cpu_us_per_req),
    }
}
