//! `live`: a scenario played in real time through real components.
//!
//! ```text
//!  producers ──LPUSH/XADD/ZADD──► redis-server ◄──poll── queue-metrics-adapter ◄──GET external metrics── HPA port
//!                                   │    ▲                       │ scrape /pods/<svc>/<slot>/metrics       │ scale
//!                                   ▼    │ XACK                  ▼                                         ▼
//!                          pods (tasks): BLMPOP / XREADGROUP / zset take ─► hold ─► histogram, counter, gauge
//! ```
//!
//! - **Redis**: a `redis-server` the run starts (temporary directory, free
//!   loopback port, no persistence), or `--redis-url`. The scenario's keys
//!   are deleted at the start (streams get their consumer group).
//! - **Adapter**: the real `queue-metrics-adapter` binary, started with a
//!   config the run writes (module `config`: every queue and
//!   service of the scenario, cadences divided by the speed), `--auth-mode
//!   disabled`, its own self-signed certificate, free loopback ports; or an
//!   existing one with `--adapter-url` (it must poll the same Redis and, for
//!   service metrics, scrape the pods: bind them with `--pods-listen` and use
//!   the config written to `--out`).
//! - **Pods** (module `pods`): tasks that take real jobs from Redis, hold
//!   each for its drawn service time, and expose Prometheus metrics through
//!   one HTTP server with a fixed slot per possible pod (module `slots`),
//!   which the adapter's `services:` source scrapes.
//! - **Autoscaler** (module `control`): the HPA controller port reads the
//!   adapter's external metrics API as the controller does
//!   (module `external`) every sync period and scales the pods; resource
//!   metrics are modelled as the simulator models them; the oracle policy
//!   provisions from the trace.
//! - **Record**: the same [`Recorder`] as the
//!   simulator, fed with scenario times, so live and simulated [`Run`]s
//!   compare directly (`meta.mode` is `live`).
//!
//! # Time compression
//!
//! `--speed N` plays the scenario N times faster (at most 100): arrival
//! times, service times, start-up delays, zset delays, the HPA sync period
//! and the adapter's poll and scrape intervals and rate window are all
//! divided by N, and everything recorded is in scenario seconds. The pods'
//! histograms observe scenario seconds, so `service_latency_seconds` needs
//! no conversion; the adapter's ages (`queue_oldest_age_seconds`) are
//! multiplied by N and its rates (`service_request_rate`) divided by N
//! before the HPA sees them; counts (`queue_depth`, `queue_pending`,
//! `service_inflight`) are unchanged by compression. `--duration D` plays
//! only the first D (scenario time) of the trace. The default scenario's
//! 45-minute spike at `--speed 15` takes 3 minutes:
//!
//! ```text
//! qma-load live --speed 15
//! ```
//!
//! Compression has a price: the adapter's poll (67 ms at speed 15) and the
//! pods' Redis round trips do not shrink with the scenario, so a few
//! milliseconds of real latency become N times as much scenario time.
//!
//! # Throughput
//!
//! `cargo bench -p qma-load --bench live_throughput` (2-core VM, shared):
//! 6,260 jobs/s pushed and completed on average over 40 s, 7,850 jobs/s at
//! the peak, through one local redis-server (list or stream), while the
//! adapter's `queue_depth` trailed Redis' own count by 60–80 ms (median;
//! at most 130 ms) with a 1 s poll interval. Producers push whatever is
//! due in one pipeline; a pod takes as many jobs as it has free slots in
//! one round trip.
//!
//! # Shutdown
//!
//! On completion, on an error and on Ctrl-C, every task is stopped, the
//! adapter and redis-server are killed and waited for, and the temporary
//! directory is removed; nothing is left running. Errors say what is wrong:
//! an unreachable Redis or adapter (with the URL, credentials redacted), a
//! missing binary, a scenario problem (file, line, field).
//!
//! # Model constants
//!
//! Shared with the simulator ([`crate::sim::model`]): the pods' metric
//! names and buckets, the adapter's poll and scrape intervals and rate
//! window, metrics-server's resolution. The seeds of the random draws are
//! labelled as the simulator's (`<service>/service_time`, `delay`,
//! `startup`, `uid`, `phases`), so a live run plays the very requests its
//! simulation plays, with the same start-up delays and sync phase.

mod book;
mod clock;
mod config;
mod control;
mod external;
mod jobs;
mod plan;
mod pods;
mod procs;
mod slots;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::outcome::{Recorder, Run, RunMeta};

pub use control::{ControlError, TICK};
pub use external::ExternalError;
pub use jobs::JobError;
pub use plan::{MAX_PODS, MAX_SPEED, PlanError};
pub use procs::ProcError;
pub use slots::SlotError;

// The model's constants, shared with the simulator.
use crate::sim::model::{
    INFLIGHT_GAUGE, LATENCY_BUCKETS, LATENCY_METRIC, METRICS_RESOLUTION, POLL_INTERVAL,
    REQUEST_COUNTER, SCRAPE_INTERVAL, SERVICE_WINDOW,
};

/// The namespace the HPA reads the external metrics from.
pub const NAMESPACE: &str = "qma-load";

/// Options of `qma-load live`.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// Scenario file (default: the built-in default scenario).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Service to run (repeatable; default: every service, at once).
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Policy every service runs (default: each service's first policy
    /// with an External metric).
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
    /// Trace to play (default: the scenario's first).
    #[arg(long, value_name = "NAME")]
    pub trace: Option<String>,
    /// Scenario time to play, e.g. `10m` (default: the trace's duration).
    #[arg(long, value_name = "DURATION", value_parser = parse_secs)]
    pub duration: Option<f64>,
    /// Time compression: scenario seconds per real second (1 to 100).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// The HPA controller's sync period, scenario time.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_secs)]
    pub sync_period: f64,
    /// Use this Redis instead of starting redis-server (its scenario keys
    /// are deleted).
    #[arg(long, value_name = "URL", env = "QMA_LOAD_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Use this running adapter (https://host:port, auth disabled) instead
    /// of starting one.
    #[arg(long, value_name = "URL")]
    pub adapter_url: Option<String>,
    /// The queue-metrics-adapter binary (default: next to this program).
    #[arg(long, value_name = "PATH", env = "QMA_ADAPTER_BIN")]
    pub adapter_bin: Option<PathBuf>,
    /// Loopback address for the pods' /metrics server (default: a free port).
    #[arg(long, value_name = "ADDR")]
    pub pods_listen: Option<SocketAddr>,
    /// Directory to write the runs (JSON) and the adapter config to.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of every random draw (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// How long redis-server and the adapter may take to get ready.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_secs)]
    pub ready_timeout: f64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl Default for LiveArgs {
    fn default() -> Self {
        LiveArgs {
            scenario: None,
            services: Vec::new(),
            policy: None,
            trace: None,
            duration: None,
            speed: 1.0,
            sync_period: 15.0,
            redis_url: None,
            adapter_url: None,
            adapter_bin: None,
            pods_listen: None,
            out: None,
            seed: None,
            ready_timeout: 30.0,
            quiet: false,
        }
    }
}

/// A duration flag in seconds (`90`, `500ms`, `3m`).
fn parse_secs(s: &str) -> Result<f64, String> {
    crate::scenario::units::parse_duration(s).map_err(|e| e.to_string())
}

/// Why a live run failed (nothing is left running either way).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// Bad options or scenario.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// redis-server or the adapter could not be started.
    #[error(transparent)]
    Process(#[from] ProcError),
    /// Redis is unreachable or refused a command.
    #[error(transparent)]
    Redis(#[from] JobError),
    /// The adapter's API is unreachable or unusable.
    #[error(transparent)]
    Adapter(#[from] ExternalError),
    /// The pods' metrics server could not listen.
    #[error(transparent)]
    Slots(#[from] SlotError),
    /// A service's run failed.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// An option is unusable.
    #[error("{0}")]
    Option(String),
    /// Output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Ctrl-C.
    #[error("interrupted; everything the run started has been stopped")]
    Interrupted,
}

/// What a run reports as it goes (for tests and tools; see [`live_observed`]).
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// Everything is up; the clock starts.
    Started {
        /// Redis URL (credentials redacted).
        redis_url: String,
        /// PID of the redis-server the run started.
        redis_pid: Option<u32>,
        /// The adapter's API URL.
        adapter_url: String,
        /// PID of the adapter the run started.
        adapter_pid: Option<u32>,
        /// Its admin URL (`/readyz`, `/metrics`), when the run started it.
        adapter_admin_url: Option<String>,
        /// Base URL of the pods' metrics server.
        pods_url: String,
        /// The run's temporary directory.
        work_dir: PathBuf,
    },
    /// An autoscaler sync.
    Sync {
        /// The service.
        service: String,
        /// Scenario seconds.
        t: f64,
        /// Desired replicas before.
        current: u32,
        /// After.
        desired: u32,
        /// Every External metric read: name and values (scenario units),
        /// or the error.
        metrics: Vec<(String, Result<Vec<f64>, String>)>,
    },
}

/// A callback for [`LiveEvent`]s.
pub type Observer = Arc<dyn Fn(&LiveEvent) + Send + Sync>;

/// Runs `args` live; one [`Run`] per service, in the order run.
pub async fn live(args: &LiveArgs) -> anyhow::Result<Vec<Run>> {
    Ok(live_observed(args, None).await?)
}

/// [`live`] on a runtime of its own, for callers without one.
pub fn live_blocking(args: &LiveArgs) -> anyhow::Result<Vec<Run>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(live(args))
}

/// [`live`], calling `observer` on every [`LiveEvent`].
pub async fn live_observed(
    args: &LiveArgs,
    observer: Option<Observer>,
) -> Result<Vec<Run>, LiveError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plan = plan::build(args)?;
    if let Some(a) = args.pods_listen
        && !a.ip().is_loopback()
    {
        return Err(LiveError::Option(format!(
            "--pods-listen {a}: must be a loopback address (127.0.0.1)"
        )));
    }
    if !(args.ready_timeout.is_finite() && args.ready_timeout > 0.0) {
        return Err(LiveError::Option(format!(
            "--ready-timeout {}: must be greater than 0",
            args.ready_timeout
        )));
    }
    let mut infra = Infra::default();
    let result = tokio::select! {
        r = run(&plan, args, &mut infra, observer) => r,
        _ = tokio::signal::ctrl_c() => Err(LiveError::Interrupted),
    };
    infra.shutdown().await;
    let runs = result?;
    if let Some(out) = &args.out {
        write_runs(out, &runs)?;
    }
    Ok(runs)
}

/// What the run started, stopped by [`Infra::shutdown`].
#[derive(Default)]
struct Infra {
    /// The temporary directory.
    dir: Option<tempfile::TempDir>,
    /// redis-server.
    redis: Option<procs::RedisServer>,
    /// The adapter.
    adapter: Option<procs::AdapterProc>,
    /// Metrics server and progress bar.
    tasks: JoinSet<()>,
}

impl Infra {
    /// Stops the tasks, then the adapter, then Redis; removes the directory.
    async fn shutdown(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        if let Some(a) = self.adapter.take() {
            a.proc.stop().await;
        }
        if let Some(r) = self.redis.take() {
            r.proc.stop().await;
        }
        drop(self.dir.take());
    }
}

/// Splits credentials off a Redis URL for the adapter's config.
fn redis_target(url: &str) -> Result<(config::RedisTarget, Option<String>), LiveError> {
    let mut u = reqwest::Url::parse(url)
        .map_err(|e| LiveError::Option(format!("--redis-url {}: {e}", jobs::redact(url))))?;
    let password = u.password().map(str::to_string);
    let username = (!u.username().is_empty()).then(|| u.username().to_string());
    let _ = u.set_password(None);
    let _ = u.set_username("");
    Ok((
        config::RedisTarget {
            url: u.to_string(),
            username,
            password: password.is_some(),
        },
        password,
    ))
}

/// Everything between planning and shutdown.
async fn run(
    plan: &plan::Plan,
    args: &LiveArgs,
    infra: &mut Infra,
    observer: Option<Observer>,
) -> Result<Vec<Run>, LiveError> {
    let ready_timeout = Duration::from_secs_f64(args.ready_timeout.min(3600.0));
    let dir = procs::temp_dir()?;
    let work_dir = dir.path().to_path_buf();
    infra.dir = Some(dir);

    // Redis.
    let redis_url = match &args.redis_url {
        Some(url) => {
            jobs::ping(url, Duration::from_secs(3)).await?;
            url.clone()
        }
        None => {
            let r = procs::start_redis(&work_dir, ready_timeout).await?;
            let url = r.url.clone();
            infra.redis = Some(r);
            url
        }
    };
    let mut conn = jobs::connect(&redis_url, Duration::from_secs(5)).await?;
    for sp in &plan.services {
        jobs::QueueOps::new(&sp.service.queue)
            .prepare(&mut conn)
            .await?;
    }

    // The pods' metrics server.
    let mut table = slots::SlotTable::default();
    let mut svc_slots = HashMap::new();
    for s in &plan.scenario.services {
        let n = plan
            .services
            .iter()
            .find(|sp| sp.service.name == s.name)
            .map_or(1, |sp| sp.limit as usize);
        svc_slots.insert(s.name.clone(), table.add(&s.name, n));
    }
    let listen = args
        .pods_listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let (listener, pods_url) = slots::bind(listen).await?;
    infra.tasks.spawn(slots::serve(listener, Arc::new(table)));

    // The adapter.
    let (target, password) = redis_target(&redis_url)?;
    let yaml = config::render(&plan.scenario, &target, plan.speed, |svc| {
        let n = svc_slots.get(svc).map_or(1, |s| s.len());
        (0..n).map(|i| slots::slot_url(&pods_url, svc, i)).collect()
    });
    let cfg_path = work_dir.join("adapter.yaml");
    std::fs::write(&cfg_path, &yaml).map_err(|source| LiveError::Write {
        path: cfg_path.clone(),
        source,
    })?;
    if let Some(out) = &args.out {
        write_file(&out.join("adapter-config.yaml"), yaml.as_bytes())?;
    }
    let adapter_url = match &args.adapter_url {
        Some(url) => url.clone(),
        None => {
            let bin = procs::find_adapter(args.adapter_bin.as_deref())?;
            let env: Vec<(String, String)> = password
                .into_iter()
                .map(|p| (config::PASSWORD_ENV.to_string(), p))
                .collect();
            let a = procs::start_adapter(&bin, &cfg_path, &work_dir, &env, ready_timeout).await?;
            let url = a.url.clone();
            infra.adapter = Some(a);
            url
        }
    };
    let sync_real = Duration::from_secs_f64((plan.sync_period / plan.speed).clamp(0.5, 10.0));
    let adapter = external::AdapterClient::new(&adapter_url, NAMESPACE, sync_real)?;
    adapter.check().await?;

    if let Some(obs) = &observer {
        obs(&LiveEvent::Started {
            redis_url: jobs::redact(&redis_url),
            redis_pid: infra.redis.as_ref().and_then(|r| r.proc.pid()),
            adapter_url: adapter.base().to_string(),
            adapter_pid: infra.adapter.as_ref().and_then(|a| a.proc.pid()),
            adapter_admin_url: infra.adapter.as_ref().map(|a| a.admin_url.clone()),
            pods_url: pods_url.clone(),
            work_dir: work_dir.clone(),
        });
    }

    // The services.
    let clock = clock::Clock::start(plan.speed);
    let status = Arc::new(Mutex::new(
        plan.services
            .iter()
            .map(|sp| control::Status {
                name: sp.service.name.clone(),
                ..control::Status::default()
            })
            .collect::<Vec<_>>(),
    ));
    let ctx = Arc::new(control::RunCtx {
        clock,
        adapter,
        observer,
        status: status.clone(),
        duration: plan.duration,
        sync_period: plan.sync_period,
        seed: plan.seed,
    });
    if !args.quiet {
        infra.tasks.spawn(progress(clock, plan.duration, status));
    }
    let mut runners = JoinSet::new();
    for (idx, sp) in plan.services.iter().enumerate() {
        let svc = Arc::new(pods::SvcShared {
            clock,
            ops: jobs::QueueOps::new(&sp.service.queue),
            zset: matches!(
                sp.service.queue.kind,
                crate::scenario::QueueKind::Zset { .. }
            ),
            book: book::Book::default(),
            end: plan.duration,
            recorder: Mutex::new(Recorder::new(meta(plan, sp))),
            redis_url: redis_url.clone(),
            conn: conn.clone(),
            redis_errors: Default::default(),
            last_error: Mutex::new(None),
            bad_jobs: Default::default(),
        });
        let name = &sp.service.name;
        let dep = pods::Deployment::new(
            svc.clone(),
            sp.service.clone(),
            svc_slots[name].clone(),
            crate::dist::rng(control::seed_for(plan.seed, name, "startup")),
            control::seed_for(plan.seed, name, "uid"),
        );
        let producer_conn = jobs::connect(&redis_url, Duration::from_secs(5)).await?;
        let fut = control::run_service(ctx.clone(), idx, sp.clone(), svc, dep, producer_conn);
        runners.spawn(async move { (idx, fut.await) });
    }
    let mut runs: Vec<Option<Run>> = vec![None; plan.services.len()];
    while let Some(r) = runners.join_next().await {
        match r {
            Ok((idx, run)) => runs[idx] = Some(run),
            Err(e) => {
                return Err(ControlError::Task {
                    service: "?".into(),
                    detail: e.to_string(),
                }
                .into());
            }
        }
    }
    Ok(runs.into_iter().flatten().collect())
}

/// The recorder's description of a service's run.
fn meta(plan: &plan::Plan, sp: &plan::SvcPlan) -> RunMeta {
    RunMeta {
        mode: "live".into(),
        scenario: plan.scenario.origin.clone(),
        service: sp.service.name.clone(),
        policy: sp.policy.name.clone(),
        trace: plan.trace.clone(),
        seed: plan.seed,
        horizon: plan.duration,
        tick: TICK,
        slo_quantile: sp.service.slo.quantile,
        slo_queue_wait: sp.service.slo.queue_wait,
    }
}

/// The progress bar: scenario time, and per service jobs waiting and pods.
async fn progress(clock: clock::Clock, duration: f64, status: Arc<Mutex<Vec<control::Status>>>) {
    let bar = indicatif::ProgressBar::new(duration.ceil().max(1.0) as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} s (scenario) {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    loop {
        bar.set_position(clock.now().min(duration) as u64);
        if let Ok(st) = status.lock() {
            let msg: Vec<String> = st
                .iter()
                .map(|s| {
                    format!(
                        "{}: {} waiting, {}/{} ready",
                        s.name, s.depth, s.ready, s.replicas
                    )
                })
                .collect();
            bar.set_message(msg.join(" | "));
        }
        if clock.now() >= duration {
            bar.finish_and_clear();
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Writes `bytes` to `path`, creating its directory.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), LiveError> {
    let fail = |source| LiveError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    std::fs::write(path, bytes).map_err(fail)
}

/// Writes each run as `live-<service>-<policy>-<trace>.json` in `out`.
fn write_runs(out: &Path, runs: &[Run]) -> Result<(), LiveError> {
    for r in runs {
        let m = &r.meta;
        let path = out.join(format!("live-{}-{}-{}.json", m.service, m.policy, m.trace));
        let json = serde_json::to_vec_pretty(r).map_err(|e| LiveError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_file(&path, &json)?;
    }
    Ok(())
}
