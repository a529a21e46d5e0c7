//! The `simulate` command: every chosen service × policy × trace, in
//! parallel on all cores, with a CSV timeline per run, one JSON with every
//! run, and a comparison table.

use std::fmt::Write as _;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};

use super::{SimOptions, run_profile};
use crate::outcome::Run;
use crate::scenario::Scenario;

/// `qma-load simulate`: run a scenario's services, policies and traces in
/// virtual time.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SimulateArgs {
    /// Scenario file (default: the built-in default scenario).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// A service to run (repeatable; default: all).
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// A policy to run (repeatable; default: all of each service's).
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// A trace to run (repeatable; default: all).
    #[arg(long = "trace", value_name = "NAME")]
    pub traces: Vec<String>,
    /// Seed of the random draws (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Directory for `<service>--<trace>--<policy>.csv` timelines and
    /// `runs.json` (created if missing; without it nothing is written).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seconds per timeline tick (default 5).
    #[arg(long, value_name = "SECONDS")]
    pub tick: Option<f64>,
}

/// Loads `--scenario`, or the built-in default.
pub(crate) fn load_scenario(path: Option<&Path>) -> anyhow::Result<Scenario> {
    Ok(match path {
        Some(p) => Scenario::load(p)?,
        None => Scenario::default_scenario()?,
    })
}

/// Threads to use: `asked`, or every core.
pub(crate) fn threads(asked: Option<usize>) -> usize {
    asked
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Runs `jobs` on `threads` threads; results in job order, or the first
/// error in job order.
pub(crate) fn parallel<J: Sync, R: Send, E: Send>(
    jobs: &[J],
    threads: usize,
    f: impl Fn(&J) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R, E>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs.len()).max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = f(job);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    let all = results.into_inner().unwrap_or_else(|e| e.into_inner());
    all.into_iter().flatten().collect()
}

/// A file-name-safe form of `name` (`/` and the like become `_`).
pub(crate) fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Runs every combination the arguments select (see [`SimulateArgs`]),
/// writes the files, prints the table; the runs in (service, trace,
/// policy) order.
pub fn simulate(args: &SimulateArgs) -> anyhow::Result<Vec<Run>> {
    let scenario = load_scenario(args.scenario.as_deref())?;
    let services = if args.services.is_empty() {
        scenario.services.iter().collect::<Vec<_>>()
    } else {
        args.services
            .iter()
            .map(|n| scenario.service(n))
            .collect::<Result<_, _>>()?
    };
    let traces: Vec<String> = if args.traces.is_empty() {
        scenario.traces.iter().map(|t| t.name.clone()).collect()
    } else {
        for t in &args.traces {
            scenario.trace(t)?;
        }
        args.traces.clone()
    };
    for p in &args.policies {
        if !services.iter().any(|s| s.policy(p).is_some()) {
            bail!("no selected service has a policy {p:?}");
        }
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let mut jobs = Vec::new();
    for s in &services {
        for t in &traces {
            let profile = scenario.profile(s, t, seed)?;
            for p in &s.policies {
                if args.policies.is_empty() || args.policies.contains(&p.name) {
                    jobs.push((*s, t.as_str(), p, profile.clone()));
                }
            }
        }
    }
    let defaults = SimOptions::default();
    let opts = SimOptions {
        seed: Some(seed),
        tick: args.tick.unwrap_or(defaults.tick),
        ..defaults
    };
    let runs = parallel(&jobs, threads(args.threads), |(s, t, p, profile)| {
        run_profile(&scenario, s, p, t, profile, &opts)
    })?;
    if let Some(dir) = &args.out {
        write_runs(dir, &runs)?;
    }
    print!("{}", table(&runs));
    Ok(runs)
}

/// Writes one CSV timeline per run and `runs.json` into `dir`.
pub(crate) fn write_runs(dir: &Path, runs: &[Run]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for r in runs {
        let name = format!(
            "{}--{}--{}.csv",
            file_safe(&r.meta.service),
            file_safe(&r.meta.trace),
            file_safe(&r.meta.policy)
        );
        let path = dir.join(name);
        let f =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        r.write_csv(BufWriter::new(f))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let path = dir.join("runs.json");
    let f = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    serde_json::to_writer(BufWriter::new(f), runs)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The comparison table: per service and trace, one row per policy with
/// p95 wait, seconds over the SLO, replica-seconds, cost against the
/// oracle (a policy named `oracle` or of the oracle kind, when run), peak
/// pods, scale-ups/-downs and flaps.
pub fn table(runs: &[Run]) -> String {
    let mut out = String::new();
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for r in runs {
        let g = (r.meta.service.as_str(), r.meta.trace.as_str());
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    for (service, trace) in groups {
        let rows: Vec<&Run> = runs
            .iter()
            .filter(|r| r.meta.service == service && r.meta.trace == trace)
            .collect();
        let Some(first) = rows.first() else { continue };
        let oracle = rows
            .iter()
            .find(|r| r.meta.policy == "oracle")
            .map(|r| r.summary.replica_seconds);
        let _ = writeln!(
            out,
            "\n{service} / {trace}  (SLO: p{} wait <= {} s; {} requests)",
            first.meta.slo_quantile * 100.0,
            first.meta.slo_queue_wait,
            first.summary.requests
        );
        let _ = writeln!(
            out,
            "  {:<22} {:>9} {:>9} {:>6} {:>9} {:>10} {:>7} {:>5} {:>7} {:>5}",
            "policy",
            "p95 wait",
            "p99 wait",
            "SLO",
            "s over",
            "replica-s",
            "×oracle",
            "peak",
            "up/down",
            "flaps"
        );
        for r in rows {
            let s = &r.summary;
            let ratio = oracle.filter(|o| *o > 0.0).map_or_else(
                || "-".to_string(),
                |o| format!("{:.2}", s.replica_seconds / o),
            );
            let _ = writeln!(
                out,
                "  {:<22} {:>8.1}s {:>8.1}s {:>6} {:>9.0} {:>10.0} {:>7} {:>5} {:>7} {:>5}",
                r.meta.policy,
                s.wait_p95,
                s.wait_p99,
                if s.slo_held { "held" } else { "MISSED" },
                s.seconds_over_slo,
                s.replica_seconds,
                ratio,
                s.peak_replicas,
                format!("{}/{}", s.scale_ups, s.scale_downs),
                s.flaps
            );
        }
    }
    out
}
