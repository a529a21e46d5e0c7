//! Command line and wiring: the only place where the parts are put together.
//!
//! ```text
//! qma-load simulate [--scenario F] [--service S] [--policy P] [--trace T] --out DIR
//! qma-load tune     [--scenario F] [--service S] [--trace T] --out DIR
//! qma-load live     [--scenario F] [--service S] [--policy P] [--trace T] --out DIR
//! qma-load check    FILE
//! ```
//!
//! Each run command writes its data and one self-contained HTML report
//! (`report.html`) into `--out`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::live::{LiveArgs, live_blocking};
use crate::outcome::{self, Run};
use crate::report;
use crate::scenario::Scenario;
use crate::scenario::{Policy, PolicyKind};
use crate::sim::{self, SimOptions};
use crate::sim::{SimulateArgs, simulate};
use crate::tune::{TuneArgs, tune};

/// Load-test-driven HPA tuning for queue-metrics-adapter.
#[derive(Debug, Parser)]
#[command(name = "qma-load", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario in virtual time (every service × policy × trace) and
    /// write the comparison report.
    Simulate(SimulateArgs),
    /// Sweep the scenario's `tune:` policy family in simulation over its
    /// traces and recommend the cheapest HPA that holds the SLO on every one.
    Tune(TuneArgs),
    /// Run a scenario in real time against a real redis-server and the real
    /// adapter (producers, pods with /metrics, the HPA reading the adapter's
    /// API) and write the report.
    Live(LiveArgs),
    /// Validate a scenario file and print what it holds.
    Check {
        /// The scenario file.
        file: PathBuf,
    },
}

/// Parses the command line and runs it.
pub fn run() -> anyhow::Result<()> {
    // One crypto provider for every TLS client of the process (ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Simulate(args) => {
            let runs = simulate(&args)?;
            if let Some(out) = &args.out {
                let title = format!("qma-load simulate: {}", scenario_name(&args.scenario));
                write_summary(out, &runs)?;
                write_report(out, &report::comparison(&title, &runs, &[]))?;
            }
            Ok(())
        }
        Command::Tune(args) => {
            let sweep = tune(&args)?;
            if let Some(out) = &args.out {
                let title = format!(
                    "qma-load tune: {} ({})",
                    sweep.service,
                    scenario_name(&args.scenario)
                );
                let runs = recommended_runs(&args, &sweep)?;
                write_report(out, &report::sweep(&title, &sweep, &runs))?;
            }
            Ok(())
        }
        Command::Live(args) => {
            let runs = live_blocking(&args)?;
            print!("{}", crate::sim::table(&runs));
            if let Some(out) = &args.out {
                write_summary(out, &runs)?;
                let title = format!("qma-load live: {}", scenario_name(&args.scenario));
                let notes = vec![format!(
                    "Live run: real redis-server, the real adapter, pods consuming real jobs, at {}× speed (times are scenario seconds).",
                    args.speed
                )];
                write_report(out, &report::comparison(&title, &runs, &notes))?;
            }
            Ok(())
        }
        Command::Check { file } => {
            let s = Scenario::load(&file)?;
            println!(
                "{}: OK, seed {}, {} traces ({}), {} services",
                file.display(),
                s.seed,
                s.traces.len(),
                s.traces
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.services.len()
            );
            for svc in &s.services {
                println!(
                    "  {:<12} queue {:<24} {:<6} policies: {}",
                    svc.name,
                    svc.queue.name,
                    svc.queue.kind.type_name(),
                    svc.policies
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(())
        }
    }
}

fn scenario_name(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or("the default scenario".to_string(), |p| {
            p.display().to_string()
        })
}

/// Writes `report.html` into `out` and says where.
fn write_report(out: &std::path::Path, html: &str) -> anyhow::Result<()> {
    let path = out.join("report.html");
    report::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
    println!("report: {}", path.display());
    Ok(())
}

/// Writes `summary.csv` into `out`: one row of figures per run, each run's
/// replica-seconds also relative to the oracle's under the same service and
/// trace (empty when the run set has no oracle).
fn write_summary(out: &std::path::Path, runs: &[Run]) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let mut csv = String::from(
        "service,trace,policy,mode,requests,completed,wait_p50_s,wait_p95_s,wait_p99_s,latency_p95_s,seconds_over_slo,slo_held,replica_seconds,x_oracle,peak_replicas,scale_ups,scale_downs,flaps\n",
    );
    for r in runs {
        let (m, s) = (&r.meta, &r.summary);
        let oracle = runs
            .iter()
            .find(|o| {
                o.meta.service == m.service && o.meta.trace == m.trace && o.meta.policy == "oracle"
            })
            .map(|o| o.summary.replica_seconds)
            .filter(|c| *c > 0.0);
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.0},{},{:.0},{},{},{},{},{}",
            m.service,
            m.trace,
            m.policy,
            m.mode,
            s.requests,
            s.completed,
            s.wait_p50,
            s.wait_p95,
            s.wait_p99,
            s.latency_p95,
            s.seconds_over_slo,
            s.slo_held,
            s.replica_seconds,
            oracle.map_or(String::new(), |o| format!("{:.3}", s.replica_seconds / o)),
            s.peak_replicas,
            s.scale_ups,
            s.scale_downs,
            s.flaps
        );
    }
    std::fs::create_dir_all(out)?;
    let path = out.join("summary.csv");
    std::fs::write(&path, csv).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The recommendation of `sweep` and the oracle, simulated again with their
/// timelines on every trace of the sweep, for the report's plots.
fn recommended_runs(args: &TuneArgs, sweep: &outcome::Sweep) -> anyhow::Result<Vec<Run>> {
    let Some(best) = sweep.recommended.map(|i| &sweep.candidates[i]) else {
        return Ok(Vec::new());
    };
    let scenario = match &args.scenario {
        Some(p) => Scenario::load(p)?,
        None => Scenario::default_scenario()?,
    };
    let service = scenario.service(&sweep.service)?;
    let Some(candidate) = scenario
        .tune_candidates(service)
        .into_iter()
        .find(|c| c.name == best.name)
    else {
        return Ok(Vec::new());
    };
    let policy = Policy {
        name: candidate.name,
        description: Some("recommended by tune".into()),
        kind: PolicyKind::Hpa(Box::new(candidate.spec)),
    };
    let opts = SimOptions {
        seed: Some(args.seed.unwrap_or(scenario.seed)),
        ..SimOptions::default()
    };
    let mut runs = Vec::new();
    for trace in &sweep.traces {
        runs.push(sim::run(&scenario, service, &policy, trace, &opts)?);
        if let Some(oracle) = service
            .policies
            .iter()
            .find(|p| matches!(p.kind, PolicyKind::Oracle(_)))
        {
            runs.push(sim::run(&scenario, service, oracle, trace, &opts)?);
        }
    }
    Ok(runs)
}
