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
use crate::report;
use crate::scenario::Scenario;
use crate::sim::{SimulateArgs, simulate};

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
                write_report(out, &report::comparison(&title, &runs, &[]))?;
            }
            Ok(())
        }
        Command::Live(args) => {
            let runs = live_blocking(&args)?;
            if let Some(out) = &args.out {
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
