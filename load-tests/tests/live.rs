//! `live` against a real redis-server and the real adapter binary.
//!
//! Needs `redis-server` on PATH (skipped without it, unless
//! `QMA_REQUIRE_REDIS=1`, then failing) and the adapter binary in the same
//! target directory as this test (`cargo test --workspace` builds it; else
//! the test builds it with `cargo build -p queue-metrics-adapter`).
//!
//! The tests run one at a time (a lock): they compare the process's
//! children before and after, and the calibration wants the CPU.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qma_load::live::{LiveArgs, LiveEvent, live_observed};
use qma_load::outcome::Run;

/// One live test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Whether redis-server is there; panics when it must be.
fn have_redis() -> bool {
    let ok = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("QMA_REQUIRE_REDIS").as_deref() != Ok("1"),
            "redis-server is required (QMA_REQUIRE_REDIS=1) but not on PATH"
        );
        eprintln!("skipping: redis-server not on PATH");
    }
    ok
}

/// [`have_redis`] under the lock (its `redis-server --version` child must
/// not show up in another test's child list).
async fn have_redis_serial() -> bool {
    let _serial = SERIAL.lock().await;
    have_redis()
}

/// The adapter binary in this test's target directory, built if missing.
fn adapter_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/live-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("queue-metrics-adapter");
    if bin.is_file() {
        return bin;
    }
    let target_dir = profile_dir.parent().expect("target dir");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "-p", "queue-metrics-adapter", "--target-dir"])
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(
        status.success() && bin.is_file(),
        "the adapter binary {} is missing and `cargo build -p queue-metrics-adapter` failed",
        bin.display()
    );
    bin
}

/// PIDs of this process's redis-server and adapter children (zombies
/// count: not reaped).
fn children() -> BTreeSet<u32> {
    let me = std::process::id();
    let mut out = BTreeSet::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        let comm = stat
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map(|(c, _)| c);
        let ours =
            comm.is_some_and(|c| c.starts_with("redis-server") || c.starts_with("queue-metrics"));
        if ppid == Some(me) && ours {
            out.insert(pid);
        }
    }
    out
}

fn pid_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn base_args() -> LiveArgs {
    LiveArgs {
        scenario: Some(fixture("live-step.yaml")),
        speed: 10.0,
        sync_period: 10.0,
        adapter_bin: Some(adapter_bin()),
        quiet: true,
        ..LiveArgs::default()
    }
}

/// The External metrics one sync read.
type Metrics = Vec<(String, Result<Vec<f64>, String>)>;

/// What the test saw during the run.
#[derive(Default)]
struct Seen {
    started: Option<LiveEvent>,
    syncs: Vec<(f64, u32, u32, Metrics)>,
}

/// Mean |a - b| of ready replicas over the ticks both runs have.
fn replica_gap(a: &Run, b: &Run) -> f64 {
    let n = a.timeline.len().min(b.timeline.len()).max(1);
    a.timeline
        .iter()
        .zip(&b.timeline)
        .map(|(x, y)| (f64::from(x.ready_replicas) - f64::from(y.ready_replicas)).abs())
        .sum::<f64>()
        / n as f64
}

fn print_run(r: &Run) {
    let s = &r.summary;
    eprintln!(
        "{} {}: requests {} completed {} wait p50 {:.2} p95 {:.2} p99 {:.2} latency p95 {:.2} pod-s {:.0} peak {} ups {} downs {}",
        r.meta.mode,
        r.meta.service,
        s.requests,
        s.completed,
        s.wait_p50,
        s.wait_p95,
        s.wait_p99,
        s.latency_p95,
        s.replica_seconds,
        s.peak_replicas,
        s.scale_ups,
        s.scale_downs
    );
    let line: Vec<String> = r
        .timeline
        .iter()
        .map(|t| {
            format!(
                "{}/{}:{:.0}",
                t.ready_replicas, t.desired_replicas, t.queue_depth
            )
        })
        .collect();
    eprintln!("  ready/desired:depth per tick: {}", line.join(" "));
}

/// One live run of the fixture, shared by the tests that look at it.
struct Outcome {
    runs: Vec<Run>,
    seen: Seen,
    latencies: Vec<f64>,
    took: Duration,
    children_before: BTreeSet<u32>,
    children_after: BTreeSet<u32>,
}

static FIXTURE_RUN: tokio::sync::OnceCell<Arc<Outcome>> = tokio::sync::OnceCell::const_new();

/// The fixture's live run (run once, under the lock).
async fn fixture_run() -> Arc<Outcome> {
    FIXTURE_RUN
        .get_or_init(|| async {
            let _serial = SERIAL.lock().await;
            let children_before = children();
            let started = std::time::Instant::now();
            let (runs, seen, latencies) = run_fixture().await;
            Arc::new(Outcome {
                runs,
                seen,
                latencies,
                took: started.elapsed(),
                children_before,
                children_after: children(),
            })
        })
        .await
        .clone()
}

/// Runs the fixture live, polling the adapter's service_latency_seconds.
async fn run_fixture() -> (Vec<Run>, Seen, Vec<f64>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    let observer: qma_load::live::Observer = Arc::new(move |e: &LiveEvent| {
        let mut s = s2.lock().unwrap();
        match e {
            LiveEvent::Started { .. } => s.started = Some(e.clone()),
            LiveEvent::Sync {
                t,
                current,
                desired,
                metrics,
                ..
            } => s.syncs.push((*t, *current, *desired, metrics.clone())),
        }
    });
    // Poll service_latency_seconds the way the HPA would, while it runs.
    let s3 = seen.clone();
    let latencies = tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let mut values = Vec::new();
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let url = match &s3.lock().unwrap().started {
                Some(LiveEvent::Started { adapter_url, .. }) => adapter_url.clone(),
                _ => continue,
            };
            let q = format!(
                "{url}/apis/external.metrics.k8s.io/v1beta1/namespaces/qma-load/service_latency_seconds?labelSelector=service%3Dweb%2Cquantile%3D0.95"
            );
            let Ok(r) = http.get(&q).send().await else {
                break; // the adapter is gone: the run ended
            };
            if let Ok(v) = r.json::<serde_json::Value>().await
                && let Some(s) = v["items"][0]["value"].as_str()
            {
                values.push(qma_load::scenario::units::parse_quantity(s).unwrap_or(f64::NAN));
            }
        }
        values
    });
    let runs = live_observed(&base_args(), Some(observer)).await;
    let latencies = latencies.await.unwrap_or_default();
    let runs = runs.expect("live run");
    let seen = Arc::try_unwrap(seen)
        .ok()
        .map(|m| m.into_inner().unwrap())
        .unwrap_or_default();
    (runs, seen, latencies)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_live_run_scales_up_and_down_and_leaves_nothing_running() {
    if !have_redis_serial().await {
        return;
    }
    let out = fixture_run().await;
    let (runs, seen, latencies, took) = (&out.runs, &out.seen, &out.latencies, out.took);
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    print_run(run);
    eprintln!("took {took:?}; adapter p95 latencies seen: {latencies:?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert_eq!(run.meta.mode, "live");

    // Pods consumed real jobs.
    let s = &run.summary;
    assert!(s.requests > 2500 && s.requests < 4000, "{s:?}");
    assert!(s.completed as f64 > 0.95 * s.requests as f64, "{s:?}");

    // The adapter scraped the pods' histograms: the HPA-facing latency was
    // non-zero while it ran, and the queue depth reached the HPA.
    assert!(
        latencies.iter().any(|v| *v > 0.0),
        "service_latency_seconds was never non-zero: {latencies:?}"
    );
    let depths: Vec<f64> = seen
        .syncs
        .iter()
        .filter_map(|(_, _, _, m)| {
            m.first()
                .and_then(|(_, r)| r.as_ref().ok()?.first().copied())
        })
        .collect();
    assert!(
        depths.iter().any(|d| *d > 10.0),
        "queue_depth seen: {depths:?}"
    );

    // The HPA scaled up, then down.
    let up = run.events.iter().position(|e| e.to > e.from);
    let down = run.events.iter().rposition(|e| e.to < e.from);
    assert!(
        matches!((up, down), (Some(u), Some(d)) if u < d),
        "events: {:?}",
        run.events
    );
    assert!(s.peak_replicas >= 6, "{s:?}");

    // The queue drained by the end.
    let last = run.timeline.last().unwrap();
    assert!(last.queue_depth <= 3.0, "{last:?}");
    assert!(last.desired_replicas < s.peak_replicas, "{last:?}");

    // Nothing left running.
    let Some(LiveEvent::Started {
        redis_pid: Some(rp),
        adapter_pid: Some(ap),
        work_dir,
        ..
    }) = &seen.started
    else {
        panic!("no Started event with PIDs: {:?}", seen.started);
    };
    assert!(!pid_exists(*rp), "redis-server {rp} still exists");
    assert!(!pid_exists(*ap), "adapter {ap} still exists");
    assert!(!work_dir.exists(), "{} left behind", work_dir.display());
    assert_eq!(
        out.children_after, out.children_before,
        "child processes left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_adapter_and_bad_scenario_are_clear_errors() {
    let _serial = SERIAL.lock().await;
    if !have_redis() {
        return;
    }
    let before = children();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };

    // Redis unreachable.
    let args = LiveArgs {
        redis_url: Some(format!("redis://user:hunter2@127.0.0.1:{closed}/")),
        ..base_args()
    };
    let e = live_observed(&args, None).await.unwrap_err().to_string();
    eprintln!("{e}");
    assert!(
        e.contains(&format!(
            "cannot reach Redis at redis://user:***@127.0.0.1:{closed}/"
        )),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    assert_eq!(children(), before);

    // Adapter unreachable (redis-server is started first, then stopped).
    let args = LiveArgs {
        adapter_url: Some(format!("https://127.0.0.1:{closed}")),
        ..base_args()
    };
    let e = live_observed(&args, None).await.unwrap_err().to_string();
    eprintln!("{e}");
    assert!(
        e.contains(&format!(
            "cannot reach the adapter at https://127.0.0.1:{closed}"
        )),
        "{e}"
    );
    assert_eq!(children(), before);

    // Adapter binary missing.
    let args = LiveArgs {
        adapter_bin: Some(PathBuf::from("/nonexistent/queue-metrics-adapter")),
        ..base_args()
    };
    let e = live_observed(&args, None).await.unwrap_err().to_string();
    eprintln!("{e}");
    assert!(e.contains("cargo build -p queue-metrics-adapter"), "{e}");
    assert_eq!(children(), before);

    // A bad scenario: file, line, field.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string(fixture("live-step.yaml"))
        .unwrap()
        .replace("inflight_per_pod: 4", "inflight_per_pod: 0");
    std::fs::write(&bad, text).unwrap();
    let args = LiveArgs {
        scenario: Some(bad.clone()),
        ..base_args()
    };
    let e = live_observed(&args, None).await.unwrap_err().to_string();
    eprintln!("{e}");
    assert!(e.contains("bad.yaml:"), "{e}");
    assert!(e.contains("inflight_per_pod"), "{e}");
    assert_eq!(children(), before);

    // Unknown service and bad speed.
    let args = LiveArgs {
        services: vec!["nope".into()],
        ..base_args()
    };
    let e = live_observed(&args, None).await.unwrap_err().to_string();
    assert!(e.contains("no service \"nope\""), "{e}");
    let args = LiveArgs {
        speed: 0.0,
        ..base_args()
    };
    let e = live_observed(&args, None).await.unwrap_err().to_string();
    assert!(e.contains("--speed"), "{e}");
    let args = LiveArgs {
        duration: Some(301.0),
        ..base_args()
    };
    let e = live_observed(&args, None).await.unwrap_err().to_string();
    assert!(e.contains("--duration") && e.contains("5m"), "{e}");
    assert_eq!(children(), before);
}

/// Calibration: the fixture run live and through the simulator agree.
///
/// Tolerances: the mean absolute difference of ready replicas per 5 s tick
/// at most 1.5 pods, the peak within 2 pods and reached within two sync
/// periods (20 s) of each other, and the p95 queue wait within 25 % or
/// 2 s, whichever is larger. Both play the very same requests (same
/// arrival, service-time and start-up draws, same sync phase); what
/// differs is real: the adapter's poll and scrape phases, Redis and task
/// scheduling latency (×10 in scenario time at --speed 10), and which
/// free worker takes which job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_and_simulated_runs_agree() {
    if !have_redis_serial().await {
        return;
    }
    let out = fixture_run().await;
    let live = &out.runs[0];
    let scenario = qma_load::scenario::Scenario::load(fixture("live-step.yaml")).unwrap();
    let service = scenario.service("web").unwrap();
    let policy = service.policy("queue-depth").unwrap();
    let opts = qma_load::sim::SimOptions {
        controller: qma_load::hpa::ControllerOptions {
            sync_period: 10.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let sim = qma_load::sim::run(&scenario, service, policy, "step", &opts).unwrap();
    print_run(live);
    print_run(&sim);
    let gap = replica_gap(live, &sim);
    let peak_at = |r: &Run| {
        let peak = r
            .timeline
            .iter()
            .map(|t| t.ready_replicas)
            .max()
            .unwrap_or(0);
        let at = r
            .timeline
            .iter()
            .find(|t| t.ready_replicas == peak)
            .map_or(0.0, |t| t.t);
        (peak, at)
    };
    let (lp, lt) = peak_at(live);
    let (sp, st) = peak_at(&sim);
    let (lw, sw) = (live.summary.wait_p95, sim.summary.wait_p95);
    eprintln!(
        "calibration: mean |ready live - ready sim| = {gap:.2} pods; peak live {lp} at {lt} s, sim {sp} at {st} s; wait p95 live {lw:.2} s, sim {sw:.2} s"
    );
    assert_eq!(live.summary.requests, sim.summary.requests, "same arrivals");
    assert!(
        gap <= 1.5,
        "replica timelines differ by {gap:.2} pods on average"
    );
    assert!(lp.abs_diff(sp) <= 2, "peaks {lp} vs {sp}");
    assert!((lt - st).abs() <= 20.0, "time to peak {lt} vs {st}");
    assert!(
        (lw - sw).abs() <= (0.25 * sw).max(2.0),
        "p95 wait live {lw:.2} s vs simulated {sw:.2} s"
    );
}

/// The default scenario, every service at once, the first 10 minutes of
/// its spike at `--speed 15` (40 s): run with `--ignored`. The README's
/// full run is `qma-load live --speed 15` (3 minutes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "40 s of the default scenario; run with --ignored"]
async fn default_scenario_runs_live() {
    if !have_redis_serial().await {
        return;
    }
    let _serial = SERIAL.lock().await;
    let before = children();
    let args = LiveArgs {
        scenario: None,
        duration: Some(600.0),
        speed: 15.0,
        sync_period: 15.0,
        ..base_args()
    };
    let runs = live_observed(&args, None).await.expect("live run");
    assert_eq!(runs.len(), 5);
    for r in &runs {
        print_run(r);
        assert_eq!(r.meta.policy, "queue-depth");
        let s = &r.summary;
        assert!(s.requests > 0, "{s:?}");
        // research's jobs take minutes: not all are done in 10 minutes.
        assert!(s.completed * 2 > s.requests, "{s:?}");
    }
    assert_eq!(children(), before);
}

/// Ctrl-C (SIGINT) mid-run: a clear error, and the adapter, redis-server
/// and the temporary directory are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_everything() {
    if !have_redis_serial().await {
        return;
    }
    let _serial = SERIAL.lock().await;
    let before = children();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let observer: qma_load::live::Observer = Arc::new(move |e: &LiveEvent| {
        if let LiveEvent::Started { .. } = e
            && let Some(tx) = tx.lock().unwrap().take()
        {
            let _ = tx.send(e.clone());
        }
    });
    let run = tokio::spawn(async move { live_observed(&base_args(), Some(observer)).await });
    let started = tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .expect("started in time")
        .expect("Started event");
    let LiveEvent::Started {
        redis_pid: Some(rp),
        adapter_pid: Some(ap),
        work_dir,
        ..
    } = started
    else {
        panic!("no PIDs: {started:?}");
    };
    assert!(pid_exists(rp) && pid_exists(ap) && work_dir.exists());
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The run's Ctrl-C handler is installed by now (it is polled with the
    // run from the start), so SIGINT goes to it, not to the default action.
    let status = std::process::Command::new("kill")
        .args(["-INT", &std::process::id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let e = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("stopped in time")
        .expect("task")
        .unwrap_err()
        .to_string();
    assert!(e.contains("interrupted"), "{e}");
    assert!(!pid_exists(rp), "redis-server {rp} still exists");
    assert!(!pid_exists(ap), "adapter {ap} still exists");
    assert!(!work_dir.exists());
    assert_eq!(children(), before);
}
