//! Throughput of `live`: producers and pods pushing more than 5,000 jobs/s
//! through one local redis-server, with the real adapter polling the queue,
//! and how fresh the adapter's `queue_depth` stays meanwhile.
//!
//! ```text
//! cargo bench -p qma-load --bench live_throughput
//! QMA_BENCH_KIND=stream cargo bench -p qma-load --bench live_throughput   # list (default), stream, or both
//! ```
//!
//! Skips itself unless run with `--bench` (as `cargo bench` does), so
//! `cargo test --all-targets` does not run it. Needs `redis-server`; builds
//! the adapter binary into the same target directory if it is missing.
//!
//! The scenario (real time, `--speed 1`): one service with 16 pods of 50
//! slots and a 100 ms service time (8,000 jobs/s of capacity, no
//! autoscaling: min = max = 16, though the HPA still reads `queue_depth`
//! from the adapter every 15 s); 6,000 jobs/s for 20 s, 9,000 jobs/s for
//! 10 s (the queue grows by ~1,000 jobs/s), 4,000 jobs/s for 10 s (it
//! drains). Every poll interval (1 s) the bench reads `queue_depth` from
//! the adapter's API as the HPA does and the true depth from Redis (`LLEN`,
//! or the group's `lag` from `XINFO GROUPS`) right after, and reports:
//!
//! - jobs/s: pushed and completed, over the run and per 5 s tick (from
//!   the run's exact bookkeeping: completions = arrivals − Δdepth −
//!   Δin-flight);
//! - freshness: the age of the item's `timestamp` when read (1 s
//!   resolution), the adapter's own `qma_api_data_age_seconds` (mean age
//!   of the values it served), and the adapter's depth against the true
//!   depth, converted into a lag while the queue grows;
//! - CPU seconds used by redis-server, the adapter and this process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use qma_load::live::{LiveArgs, LiveEvent, live_observed};

const SCENARIO: &str = r#"
seed: 3
traces:
  load:
    type: step
    duration: 40s
    steps:
      - {at: 0, rate: 6000}
      - {at: 20s, rate: 9000}
      - {at: 30s, rate: 4000}
services:
  - name: bulk
    queue: QUEUE
    requests: {cpu: 250m, memory: 256Mi}
    service_time: {type: constant, value: 100ms}
    inflight_per_pod: 50
    cpu_per_request: 1ms
    idle_cpu: 10m
    memory_per_pod: 100Mi
    memory_per_inflight: 1Mi
    startup: {type: constant, value: 0s}
    slo: {queue_wait: 1s}
    initial_replicas: 16
    policies:
      fixed:
        hpa:
          minReplicas: 16
          maxReplicas: 16
          metrics:
            - type: External
              external:
                metric: {name: queue_depth, selector: {matchLabels: {queue: bulk}}}
                target: {type: AverageValue, averageValue: "1M"}
"#;

/// One read of the adapter and of Redis.
#[derive(Debug, Clone, Copy)]
struct Read {
    /// Seconds since the run started.
    t: f64,
    /// The adapter's queue_depth.
    adapter: f64,
    /// Redis' own count right after.
    truth: f64,
    /// Age of the item's timestamp at the read, seconds (1 s resolution).
    ts_age: f64,
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("live_throughput: skipped (run it with `cargo bench`)");
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let kinds = match std::env::var("QMA_BENCH_KIND").as_deref() {
        Ok("stream") => vec!["stream"],
        Ok("both") => vec!["list", "stream"],
        _ => vec!["list"],
    };
    for kind in kinds {
        rt.block_on(bench(kind));
    }
}

/// The adapter binary in this bench's target directory, built if missing.
fn adapter_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("queue-metrics-adapter");
    if !bin.is_file() {
        let target_dir = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args(["build", "-p", "queue-metrics-adapter", "--target-dir"])
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let ok = cmd.status().is_ok_and(|s| s.success());
        assert!(ok && bin.is_file(), "cannot build {}", bin.display());
    }
    bin
}

#[path = "../../benches/support/procstat.rs"]
mod procstat;

use procstat::cpu_seconds;

/// The true depth: `LLEN`, or the group's lag.
async fn true_depth(conn: &mut redis::aio::MultiplexedConnection, kind: &str) -> Option<f64> {
    if kind == "list" {
        return redis::cmd("LLEN")
            .arg("qma-bench:bulk")
            .query_async::<u64>(conn)
            .await
            .ok()
            .map(|n| n as f64);
    }
    let v: redis::Value = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg("qma-bench:bulk")
        .query_async(conn)
        .await
        .ok()?;
    let redis::Value::Array(groups) = v else {
        return None;
    };
    let fields: Vec<redis::Value> = match groups.into_iter().next()? {
        redis::Value::Array(f) => f,
        redis::Value::Map(m) => m.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return None,
    };
    let mut it = fields.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if redis::from_redis_value::<String>(k).ok().as_deref() == Some("lag") {
            return redis::from_redis_value::<u64>(v).ok().map(|n| n as f64);
        }
    }
    None
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Parses an RFC 3339 `...THH:MM:SSZ` timestamp of today into unix seconds
/// (enough for an age: compares with now's date part).
fn ts_age(ts: &str, now: f64) -> Option<f64> {
    let time = ts.split('T').nth(1)?.trim_end_matches('Z');
    let mut p = time.split(':').map(|x| x.parse::<f64>().ok());
    let secs = p.next()?? * 3600.0 + p.next()?? * 60.0 + p.next()??;
    let day = now - now.rem_euclid(86_400.0);
    let mut age = now - (day + secs);
    if age < -43_200.0 {
        age += 86_400.0;
    }
    Some(age)
}

async fn bench(kind: &str) {
    let queue = if kind == "list" {
        r#"{type: list, key: "qma-bench:bulk", name: bulk}"#
    } else {
        r#"{type: stream, key: "qma-bench:bulk", name: bulk, group: workers}"#
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.yaml");
    std::fs::write(&path, SCENARIO.replace("QUEUE", queue)).expect("write scenario");
    let args = LiveArgs {
        scenario: Some(path),
        adapter_bin: Some(adapter_bin()),
        quiet: true,
        ..LiveArgs::default()
    };
    let started: Arc<Mutex<Option<LiveEvent>>> = Arc::default();
    let s2 = started.clone();
    let observer: qma_load::live::Observer = Arc::new(move |e: &LiveEvent| {
        if matches!(e, LiveEvent::Started { .. }) {
            *s2.lock().unwrap() = Some(e.clone());
        }
    });
    let s3 = started.clone();
    let kind2 = kind.to_string();
    let reader = tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let (api, admin, redis_url, pids) = loop {
            if let Some(LiveEvent::Started {
                adapter_url,
                adapter_admin_url,
                redis_url,
                redis_pid,
                adapter_pid,
                ..
            }) = s3.lock().unwrap().clone()
            {
                break (
                    adapter_url,
                    adapter_admin_url,
                    redis_url,
                    (redis_pid, adapter_pid),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let t0 = Instant::now();
        let mut conn = redis::Client::open(redis_url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let url = format!(
            "{api}/apis/external.metrics.k8s.io/v1beta1/namespaces/qma-load/queue_depth?labelSelector=queue%3Dbulk"
        );
        let mut reads = Vec::new();
        let (mut data_age, mut cpu) = (None, (None, None));
        let mut next = Instant::now();
        while t0.elapsed() < Duration::from_secs(39) {
            next += Duration::from_secs(1);
            tokio::time::sleep_until(next.into()).await;
            let Ok(r) = http.get(&url).send().await else {
                break;
            };
            let Ok(v) = r.json::<serde_json::Value>().await else {
                continue;
            };
            let now = unix_now();
            let truth = true_depth(&mut conn, &kind2).await;
            let item = &v["items"][0];
            let adapter = item["value"]
                .as_str()
                .and_then(|s| qma_load::scenario::units::parse_quantity(s).ok());
            if let (Some(adapter), Some(truth)) = (adapter, truth) {
                reads.push(Read {
                    t: t0.elapsed().as_secs_f64(),
                    adapter,
                    truth,
                    ts_age: item["timestamp"]
                        .as_str()
                        .and_then(|ts| ts_age(ts, now))
                        .unwrap_or(f64::NAN),
                });
            }
            if let Some(admin) = &admin
                && let Ok(r) = http.get(format!("{admin}/metrics")).send().await
                && let Ok(text) = r.text().await
            {
                let get = |name: &str| {
                    text.lines()
                        .find(|l| l.starts_with(name))
                        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                };
                if let (Some(s), Some(c)) = (
                    get("qma_api_data_age_seconds_sum"),
                    get("qma_api_data_age_seconds_count"),
                ) {
                    data_age = Some((s, c));
                }
            }
            cpu = (pids.0.and_then(cpu_seconds), pids.1.and_then(cpu_seconds));
        }
        (reads, data_age, cpu)
    });
    let wall = Instant::now();
    let runs = live_observed(&args, Some(observer))
        .await
        .expect("live run");
    let wall = wall.elapsed().as_secs_f64();
    let own_cpu = cpu_seconds(std::process::id());
    let (reads, data_age, (redis_cpu, adapter_cpu)) = reader.await.expect("reader");
    let run = &runs[0];
    let s = &run.summary;
    let horizon = run.meta.horizon;
    println!(
        "== live_throughput ({kind} queue, one local redis-server, {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "pushed {} jobs ({:.0}/s), completed {} ({:.0}/s) over {horizon} s; wall {wall:.1} s incl. start-up",
        s.requests,
        s.requests as f64 / horizon,
        s.completed,
        s.completed as f64 / horizon
    );
    let mut prev = (0.0, 0.0);
    let mut per_tick = Vec::new();
    for t in &run.timeline {
        let tick = run.meta.tick;
        let done = t.arrival_rate * tick - (t.queue_depth - prev.0) - (t.inflight - prev.1);
        per_tick.push(done / tick);
        prev = (t.queue_depth, t.inflight);
    }
    println!(
        "completions per 5 s tick (jobs/s): {}",
        per_tick
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "wait p50 {:.3} s, p95 {:.3} s; end-to-end p95 {:.3} s",
        s.wait_p50, s.wait_p95, s.latency_p95
    );
    let mut errs: Vec<f64> = reads.iter().map(|r| (r.adapter - r.truth).abs()).collect();
    errs.sort_by(f64::total_cmp);
    let mut ages: Vec<f64> = reads
        .iter()
        .map(|r| r.ts_age)
        .filter(|a| a.is_finite())
        .collect();
    ages.sort_by(f64::total_cmp);
    let pct = |v: &[f64], q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "adapter reads: {}; timestamp age p50 {:.0} s, max {:.0} s (1 s resolution); |adapter - true depth| p50 {:.0}, max {:.0} jobs",
        reads.len(),
        pct(&ages, 0.5),
        pct(&ages, 1.0),
        pct(&errs, 0.5),
        pct(&errs, 1.0)
    );
    // While the queue grows, the adapter's value trails the truth by its age.
    let mut lags = Vec::new();
    for w in reads.windows(2) {
        let growth = (w[1].truth - w[0].truth) / (w[1].t - w[0].t);
        if growth > 300.0 {
            lags.push((w[1].truth - w[1].adapter) / growth);
        }
    }
    lags.sort_by(f64::total_cmp);
    if !lags.is_empty() {
        println!(
            "while the queue grew: adapter value behind the truth by p50 {:.2} s, max {:.2} s (poll interval 1 s)",
            pct(&lags, 0.5),
            pct(&lags, 1.0)
        );
    }
    for r in &reads {
        println!(
            "  t={:5.1}s adapter {:6.0} true {:6.0} ts age {:.0} s",
            r.t, r.adapter, r.truth, r.ts_age
        );
    }
    if let Some((sum, count)) = data_age
        && count > 0.0
    {
        println!(
            "qma_api_data_age_seconds: mean {:.3} s over {count} values served",
            sum / count
        );
    }
    println!(
        "CPU seconds: redis-server {}, adapter {}, qma-load (this process) {}",
        redis_cpu.map_or("?".into(), |c| format!("{c:.1}")),
        adapter_cpu.map_or("?".into(), |c| format!("{c:.1}")),
        own_cpu.map_or("?".into(), |c| format!("{c:.1}"))
    );
}
