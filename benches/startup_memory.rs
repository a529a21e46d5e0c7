//! Start-up time and resident memory of the real binary with 10,000 queues.
//!
//! Targets (issue): resident memory with 10,000 queues <= 32 MiB; time from
//! start to ready <= 200 ms.
//!
//! Run with `cargo bench --bench startup_memory`. Without `--bench` (e.g.
//! under `cargo test --all-targets`) it only prints that it was skipped.
//! Needs `redis-server` on PATH (or `$QMA_REDIS_SERVER`).
//!
//! The binary measured is `env!("CARGO_BIN_EXE_queue-metrics-adapter")`:
//! cargo builds the package's binaries before its benchmarks and sets that
//! variable for them, so under `cargo bench` it is
//! `target/release/queue-metrics-adapter` built with the bench profile
//! (= release). `$QMA_BENCH_BINARY` overrides it.
//!
//! Each of `RUNS` runs (all on 127.0.0.1):
//! 1. spawns `queue-metrics-adapter serve --config F --secure-listen
//!    127.0.0.1:P --admin-listen 127.0.0.1:Q --auth-mode disabled` with the
//!    10,000-queue config of `benches/support/queues10k.rs` against a
//!    populated throwaway redis-server;
//! 2. polls `GET /readyz` on the admin port every 2 ms (a fresh std
//!    `TcpStream`, HTTP/1.0) and notes when the port first answers at all
//!    ("listening": config loaded, certificate made, listeners bound) and
//!    when it first answers 200 ("ready": first poll of Redis done);
//! 3. reads `VmRSS`/`VmHWM`/`RssAnon` from `/proc/PID/status` at ready,
//!    and the child's own timings from its JSON log: "configuration loaded"
//!    (read, parse, validate) and "first poll done" (connect, round trips,
//!    store writes);
//! 4. lets it poll for `SECONDS` while `CONNS` keep-alive HTTPS connections
//!    request single-queue selectors (`labelSelector=queue=<name>`, the
//!    HPA's request) as fast as they can, one in 50 requests being a whole
//!    namespace (200 series); reads memory again, and the adapter's CPU
//!    time over that window;
//! 5. kills the child (SIGKILL) and reaps it.
//!
//! Before the runs, an attribution table: the steps `serve` takes (config
//! parse, store, poller, first polls) done in this process with a counting
//! global allocator, giving time, live heap and peak heap per step.
//!
//! The child runs with the malloc settings the image sets (the `ENV
//! MALLOC_...` line of the Dockerfile, which the Deployment repeats), as it
//! runs in a cluster.
//!
//! Environment: `QMA_BENCH_RUNS` (5), `QMA_BENCH_SECONDS` (5),
//! `QMA_BENCH_CONNS` (8), `QMA_BENCH_BINARY`, `QMA_BENCH_CHILD_ENV`
//! (space-separated `K=V` set on the child instead of the image's settings,
//! e.g. `MALLOC_ARENA_MAX=1`; `none` for glibc's defaults).
//! The Dockerfile line repeats in the Deployment (`deploy/base`).

#[allow(unused_macros)]
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "support/queues10k.rs"]
mod queues10k;

#[path = "support/https.rs"]
mod https;

#[path = "support/procstat.rs"]
mod procstat;

#[path = "support/report.rs"]
mod report;

use report::{env_or, ms, verdict};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use queue_metrics_adapter::sources::Sources;
use queue_metrics_adapter::store;
use queue_metrics_adapter::{config, telemetry};
use support::RedisServer;

const NAME: &str = "startup_memory";
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Counts the bytes and blocks this bench process has allocated, to say where
/// the adapter's memory goes (the child process is not affected).
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE_BYTES.fetch_add(by, Ordering::Relaxed) + by;
    PEAK_BYTES.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE_BYTES.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live heap bytes and blocks now, and the peak since the last call.
#[derive(Clone, Copy)]
struct Heap {
    live: usize,
    blocks: usize,
    peak: usize,
}

fn heap_mark() -> Heap {
    let live = LIVE_BYTES.load(Ordering::Relaxed);
    Heap {
        live,
        blocks: LIVE_BLOCKS.load(Ordering::Relaxed),
        peak: PEAK_BYTES.swap(live, Ordering::Relaxed),
    }
}

fn main() {
    if !report::running_as_bench(NAME) {
        return;
    }
    assert!(
        support::redis_available(),
        "redis-server not found (PATH or $QMA_REDIS_SERVER)"
    );
    let runs: usize = env_or("QMA_BENCH_RUNS", 5);
    let seconds: f64 = env_or("QMA_BENCH_SECONDS", 5.0);
    let conns: usize = env_or("QMA_BENCH_CONNS", 8);
    let binary = std::env::var_os("QMA_BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_queue-metrics-adapter")));
    let started = Instant::now();
    println!("machine: {}", procstat::machine());
    println!(
        "binary: {} ({:.1} MiB on disk)",
        binary.display(),
        std::fs::metadata(&binary)
            .map(|m| m.len() as f64 / 1048576.0)
            .unwrap_or(0.0)
    );

    let redis = RedisServer::start();
    let populated = queues10k::populate(&redis);
    let yaml = queues10k::config_yaml(&redis.url());
    let dir = std::env::temp_dir().join(format!("qma-bench-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config_path = dir.join("config.yaml");
    std::fs::write(&config_path, &yaml).expect("write config");
    println!(
        "workload: {} queues, {} Redis keys, config {} KiB",
        queues10k::QUEUES,
        populated.keys,
        yaml.len() / 1024
    );
    attribution(&yaml);
    println!("child environment: {}", child_env());
    println!(
        "{NAME}: {runs} runs; after ready, {seconds} s of polling (1 s interval) with {conns} connections of API load"
    );

    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("load runtime");

    println!();
    println!(
        "   {:<3} {:>9} {:>8} {:>9} {:>8} {:>7} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>7} | {:>7} {:>6} {:>7}",
        "run",
        "config ms",
        "poll ms",
        "listen ms",
        "ready ms",
        "CPU ms",
        "RSS@rdy",
        "HWM@rdy",
        "anon@rdy",
        "RSS@end",
        "HWM@end",
        "anon@end",
        "threads",
        "req/s",
        "errors",
        "CPU %"
    );
    let mut results = Vec::new();
    for run in 1..=runs {
        let r = one_run(&binary, &config_path, &dir, seconds, conns, &load_rt);
        println!(
            "   {:<3} {:>9.1} {:>8.1} {:>9.1} {:>8.1} {:>7.0} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9} {:>7} | {:>7.0} {:>6} {:>7.1}",
            run,
            r.config_ms,
            r.first_poll_ms,
            r.listening_ms,
            r.ready_ms,
            r.cpu_to_ready_ms,
            mib(r.at_ready.rss_kib),
            mib(r.at_ready.hwm_kib),
            mib(r.at_ready.anon_kib),
            mib(r.at_end.rss_kib),
            mib(r.at_end.hwm_kib),
            mib(r.at_end.anon_kib),
            r.at_end.threads,
            r.rps,
            r.errors,
            r.cpu_percent
        );
        results.push(r);
    }

    let col = |f: &dyn Fn(&RunResult) -> f64| -> (f64, f64) {
        let v: Vec<f64> = results.iter().map(f).collect();
        (
            https::median(&v),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let kib_to_mib = |k: u64| k as f64 / 1024.0;
    let config_ms = col(&|r| r.config_ms);
    let first_poll_ms = col(&|r| r.first_poll_ms);
    let listening = col(&|r| r.listening_ms);
    let ready = col(&|r| r.ready_ms);
    let cpu_to_ready = col(&|r| r.cpu_to_ready_ms);
    let rss_ready = col(&|r| kib_to_mib(r.at_ready.rss_kib));
    let rss_end = col(&|r| kib_to_mib(r.at_end.rss_kib));
    let hwm_end = col(&|r| kib_to_mib(r.at_end.hwm_kib));
    let anon_end = col(&|r| kib_to_mib(r.at_end.anon_kib));
    let file_end = col(&|r| kib_to_mib(r.at_end.file_kib));
    let cpu = col(&|r| r.cpu_percent);
    println!();
    println!("== summary over {runs} runs (median / max) ==");
    println!(
        "   config load (child)    {:7.1} / {:7.1} ms   (read, parse, validate; from main)",
        config_ms.0, config_ms.1
    );
    println!(
        "   first poll (child)     {:7.1} / {:7.1} ms   (connect, round trips, store writes)",
        first_poll_ms.0, first_poll_ms.1
    );
    println!(
        "   time to listening      {:7.1} / {:7.1} ms",
        listening.0, listening.1
    );
    println!(
        "   time to ready          {:7.1} / {:7.1} ms   target <= 200 ms: {} (median), {} (max)",
        ready.0,
        ready.1,
        verdict(ready.0 <= 200.0),
        verdict(ready.1 <= 200.0)
    );
    println!(
        "   CPU time to ready      {:7.0} / {:7.0} ms   (user+system, all threads, 10 ms ticks)",
        cpu_to_ready.0, cpu_to_ready.1
    );
    println!(
        "   VmRSS at ready         {:7.1} / {:7.1} MiB",
        rss_ready.0, rss_ready.1
    );
    println!(
        "   VmRSS after load       {:7.1} / {:7.1} MiB   target <= 32 MiB: {} (median), {} (max)",
        rss_end.0,
        rss_end.1,
        verdict(rss_end.0 <= 32.0),
        verdict(rss_end.1 <= 32.0)
    );
    println!(
        "   VmHWM (peak) after     {:7.1} / {:7.1} MiB   target <= 32 MiB: {} (max)",
        hwm_end.0,
        hwm_end.1,
        verdict(hwm_end.1 <= 32.0)
    );
    println!(
        "   of which RssAnon       {:7.1} / {:7.1} MiB   (heap, stacks)",
        anon_end.0, anon_end.1
    );
    println!(
        "   of which RssFile       {:7.1} / {:7.1} MiB   (mapped binary and libraries)",
        file_end.0, file_end.1
    );
    println!(
        "   adapter CPU under load {:7.1} / {:7.1} % of one core",
        cpu.0, cpu.1
    );

    load_rt.shutdown_timeout(Duration::from_secs(2));
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "load average after: {}; bench wall time {:.1} s",
        procstat::load_average(),
        started.elapsed().as_secs_f64()
    );
}

/// Where start-up time and heap go, step by step, done in this process the
/// way `serve` does it (minus the listeners), with the counting allocator.
fn attribution(yaml: &str) {
    println!();
    println!("== attribution, in this process (release build, counting allocator) ==");
    println!(
        "   {:<34} {:>9} {:>12} {:>12} {:>10}",
        "step", "time ms", "live MiB", "peak MiB", "blocks"
    );
    let row = |step: &str, t: Duration, h: Heap| {
        println!(
            "   {:<34} {:>9.1} {:>12.2} {:>12.2} {:>10}",
            step,
            ms(t),
            h.live as f64 / 1048576.0,
            h.peak as f64 / 1048576.0,
            h.blocks
        );
    };
    heap_mark();
    row("start (YAML text in memory)", Duration::ZERO, heap_mark());
    // The parse, three times: the first and the median.
    let mut times = Vec::new();
    let mut cfg = None;
    for _ in 0..3 {
        drop(cfg.take());
        heap_mark();
        let t = Instant::now();
        cfg = Some(config::parse(yaml, &|_| None).expect("valid config"));
        times.push(ms(t.elapsed()));
    }
    let cfg = cfg.expect("parsed");
    row(
        &format!("config::parse (median of {})", times.len()),
        Duration::from_secs_f64(https::median(&times) / 1000.0),
        heap_mark(),
    );
    // The YAML library alone: the same text into plain structs, no spans, no validation.
    let mut plain_times = Vec::new();
    let base = heap_mark().live;
    for _ in 0..3 {
        heap_mark();
        let t = Instant::now();
        let plain: PlainConfig = serde_saphyr::from_str(yaml).expect("plain parse");
        plain_times.push(ms(t.elapsed()));
        assert_eq!(plain.queues.len(), cfg.queues.len());
        assert!(plain.redis.is_some() && plain.poll_interval.is_some());
    }
    let h = heap_mark();
    println!(
        "   {:<34} {:>9.1} {:>12} {:>12} {:>10}",
        "(plain serde_saphyr structs)",
        https::median(&plain_times),
        "-",
        format!("+{:.2}", h.peak.saturating_sub(base) as f64 / 1048576.0),
        "-"
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let t = Instant::now();
    let mut metrics = telemetry::Metrics::new();
    let mut builder = store::Builder::new();
    let sources = {
        let _enter = rt.enter();
        Sources::build(&cfg, &mut builder, &mut metrics.registry, None).expect("sources")
    };
    let store = Arc::new(builder.finish(cfg.max_staleness));
    let mut pollers = sources.redis.pollers;
    row("Sources::build + store", t.elapsed(), heap_mark());
    let t = Instant::now();
    let r = rt.block_on(pollers[0].poll_once());
    row(
        &format!("first poll_once ({} round trips)", r.round_trips),
        t.elapsed(),
        heap_mark(),
    );
    let t = Instant::now();
    for _ in 0..5 {
        rt.block_on(pollers[0].poll_once());
    }
    row("5 more polls (per poll)", t.elapsed() / 5, heap_mark());
    drop(cfg);
    row("after dropping the Config", Duration::ZERO, heap_mark());
    drop(pollers);
    rt.shutdown_timeout(Duration::from_secs(2));
    drop((store, metrics));
}

/// The config's shape without `Spanned` fields or validation: what the YAML
/// library costs by itself on the same text.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct PlainConfig {
    redis: Option<PlainRedis>,
    poll_interval: Option<String>,
    max_staleness: Option<String>,
    queues: Vec<PlainQueue>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct PlainRedis {
    url: String,
    timeout: Option<String>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct PlainQueue {
    name: String,
    namespaces: Vec<String>,
    key: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    max_score: Option<String>,
    score_unit: Option<String>,
    group: Option<String>,
}

struct RunResult {
    /// The child's own "configuration loaded" time (read + parse + validate).
    config_ms: f64,
    /// The child's own "first poll done" time (connect + round trips + store writes).
    first_poll_ms: f64,
    listening_ms: f64,
    ready_ms: f64,
    cpu_to_ready_ms: f64,
    at_ready: procstat::Memory,
    at_end: procstat::Memory,
    rps: f64,
    errors: usize,
    cpu_percent: f64,
}

/// `elapsed_ms` of the child's "configuration loaded" and "first poll done"
/// JSON log lines (NaN when absent).
fn child_times(log: &Path) -> (f64, f64) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let find = |message: &str| {
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["message"] == message)
            .and_then(|v| v["elapsed_ms"].as_f64())
            .unwrap_or(f64::NAN)
    };
    (find("configuration loaded"), find("first poll done"))
}

/// Kills and reaps the child on every exit path, panics included.
struct Adapter {
    child: Child,
    log: PathBuf,
}

impl Adapter {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn one_run(
    binary: &Path,
    config_path: &Path,
    dir: &Path,
    seconds: f64,
    conns: usize,
    load_rt: &tokio::runtime::Runtime,
) -> RunResult {
    let api = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let admin = SocketAddr::from(([127, 0, 0, 1], support::free_port()));
    let log = dir.join("adapter.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let mut cmd = Command::new(binary);
    cmd.arg("serve")
        .arg("--config")
        .arg(config_path)
        .arg("--secure-listen")
        .arg(api.to_string())
        .arg("--admin-listen")
        .arg(admin.to_string())
        .arg("--auth-mode")
        .arg("disabled")
        .arg("--log-format")
        .arg("json")
        // The two start-up lines the child times itself (see `child_times`).
        .env(
            "RUST_LOG",
            "warn,queue_metrics_adapter::cli=info,queue_metrics_adapter::sources::redis=info",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file));
    // Neither the adapter's own settings nor malloc settings from this shell:
    // the child gets exactly `child_env()`.
    for (k, _) in std::env::vars_os() {
        let k_str = k.to_string_lossy();
        if k_str.starts_with("QMA_") || k_str.starts_with("MALLOC_") || k_str == "GLIBC_TUNABLES" {
            cmd.env_remove(k);
        }
    }
    // The image's malloc settings, or QMA_BENCH_CHILD_ENV (see `child_env`).
    {
        for kv in child_env().split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }

    let t0 = Instant::now();
    let mut adapter = Adapter {
        child: cmd.spawn().expect("spawn the adapter"),
        log,
    };
    let pid = adapter.child.id();
    let mut listening = None;
    let ready = loop {
        match https::plain_get_status(admin, "/readyz") {
            Some(200) => break t0.elapsed(),
            Some(_) if listening.is_none() => listening = Some(t0.elapsed()),
            _ => {}
        }
        if let Ok(Some(status)) = adapter.child.try_wait() {
            panic!(
                "adapter exited with {status} before ready; log:\n{}",
                adapter.log_tail()
            );
        }
        assert!(
            t0.elapsed() < READY_TIMEOUT,
            "adapter not ready within {READY_TIMEOUT:?}; log:\n{}",
            adapter.log_tail()
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let at_ready = procstat::memory(pid).expect("adapter alive");
    let (config_ms, first_poll_ms) = child_times(&adapter.log);
    let cpu_to_ready_ms = procstat::process_cpu_ticks_ns(pid) as f64 / 1e6;

    let cpu0 = procstat::process_cpu_ticks_ns(pid);
    let window = Instant::now();
    let (requests, errors) = load_rt.block_on(api_load(api, conns, seconds));
    let elapsed = window.elapsed().as_secs_f64();
    let cpu1 = procstat::process_cpu_ticks_ns(pid);
    let at_end = procstat::memory(pid).expect("adapter alive");
    if let Ok(Some(status)) = adapter.child.try_wait() {
        panic!("adapter exited with {status}; log:\n{}", adapter.log_tail());
    }
    drop(adapter);
    RunResult {
        config_ms,
        first_poll_ms,
        listening_ms: ms(listening.unwrap_or(ready)),
        ready_ms: ms(ready),
        cpu_to_ready_ms,
        at_ready,
        at_end,
        rps: requests as f64 / elapsed,
        errors,
        cpu_percent: cpu1.saturating_sub(cpu0) as f64 / 1e9 / elapsed * 100.0,
    }
}

/// `conns` connections requesting single queues (and now and then a whole
/// namespace) for `seconds`; returns (good answers, bad answers).
async fn api_load(api: SocketAddr, conns: usize, seconds: f64) -> (usize, usize) {
    let cfg = https::client_config();
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..conns)
        .map(|c| {
            let cfg = cfg.clone();
            tokio::spawn(async move {
                let (mut ok, mut bad) = (0usize, 0usize);
                let Ok(mut conn) = https::Conn::connect(api, cfg).await else {
                    return (0, 1);
                };
                let mut i = c * 997;
                while Instant::now() < end {
                    i += 1;
                    let path = if i % 50 == 0 {
                        let ns = queues10k::namespace(i);
                        format!(
                            "/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/queue_depth"
                        )
                    } else {
                        let (name, ns) = match i % 3 {
                            0 => {
                                let q = i % queues10k::LISTS;
                                (format!("list-{q:04}"), queues10k::namespace(q))
                            }
                            1 => {
                                let q = i % queues10k::ZSETS;
                                (format!("zset-{q:04}"), queues10k::namespace(q))
                            }
                            _ => {
                                let q = i % queues10k::STREAMS;
                                (format!("stream-{q:04}"), queues10k::namespace(q))
                            }
                        };
                        format!(
                            "/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/queue_depth?labelSelector=queue%3D{name}"
                        )
                    };
                    let req = conn.request(&path);
                    match conn.send(&req, false).await {
                        Ok(r) if r.status == 200 => ok += 1,
                        Ok(_) => bad += 1,
                        Err(_) => {
                            bad += 1;
                            break;
                        }
                    }
                }
                (ok, bad)
            })
        })
        .collect();
    let mut total = (0, 0);
    for t in tasks {
        let (ok, bad) = t.await.unwrap_or((0, 1));
        total.0 += ok;
        total.1 += bad;
    }
    total
}

fn mib(kib: u64) -> String {
    format!("{:.1}M", kib as f64 / 1024.0)
}

/// What the child's environment gets: `$QMA_BENCH_CHILD_ENV` (`none` = nothing),
/// else the `ENV MALLOC_...` settings of the Dockerfile.
fn child_env() -> String {
    match std::env::var("QMA_BENCH_CHILD_ENV") {
        Ok(v) if v.trim() == "none" => String::new(),
        Ok(v) => v,
        Err(_) => {
            let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile");
            let text = std::fs::read_to_string(&dockerfile).expect("read the Dockerfile");
            text.lines()
                .filter_map(|l| l.strip_prefix("ENV "))
                .filter(|l| l.starts_with("MALLOC_"))
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}
