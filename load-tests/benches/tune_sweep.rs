//! `tune`: 500 candidate HPA specs × 3 traces on 2 threads.
//!
//! Target (issue 10): <= 60 s on 2 cores.
//!
//! Run with `cargo bench -p qma-load --bench tune_sweep` (release profile).
//! Without `--bench` (e.g. under `cargo test --all-targets`) it only prints
//! that it was skipped.
//!
//! The scenario is `benches/scenarios/tune-sweep.yaml`: the default
//! scenario's gateway with a queue-pending + queue-depth base policy and a
//! 500-candidate family (targets × minimums × scale-up × scale-down ×
//! windows), run on the default scenario's 45-minute spike and 24-hour day
//! and a 2-hour staircase (~2 M requests per candidate), plus the oracle,
//! through `tune::sweep` exactly as `qma-load tune` runs it.
//!
//! The machine may be shared: besides the wall time it prints the CPU time
//! used, the share of the cores it got, and the wall time that CPU time
//! means on idle cores.
//!
//! Environment: `QMA_BENCH_THREADS` (default 2).

#![forbid(unsafe_code)]

use std::time::Instant;

use qma_load::scenario::{Policy, PolicyKind, Scenario};
use qma_load::sim::SimOptions;
use qma_load::tune;

/// The bench target's name.
const NAME: &str = "tune_sweep";
/// The benchmark scenario.
const SCENARIO: &str = include_str!("scenarios/tune-sweep.yaml");
/// The target, seconds.
const TARGET_SECONDS: f64 = 60.0;

#[path = "../../benches/support/procstat.rs"]
mod procstat;

/// CPU seconds this process has used (all threads, user + system), to tell
/// the code's cost from a busy machine's share.
fn cpu_seconds() -> Option<f64> {
    procstat::cpu_seconds(std::process::id())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("skipped: run with cargo bench -p qma-load --bench {NAME}");
        return;
    }
    let threads: usize = std::env::var("QMA_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
        .max(1);
    let scenario = Scenario::from_str(SCENARIO, "benches/scenarios/tune-sweep.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    let service = scenario
        .service("gateway")
        .unwrap_or_else(|e| panic!("{e}"));
    let candidates: Vec<Policy> = scenario
        .tune_candidates(service)
        .into_iter()
        .map(|c| Policy {
            name: c.name,
            description: None,
            kind: PolicyKind::Hpa(Box::new(c.spec)),
        })
        .collect();
    let traces: Vec<String> = scenario.traces.iter().map(|t| t.name.clone()).collect();
    // As `qma-load tune` runs it: the figures, no timelines.
    let opts = SimOptions {
        timeline: false,
        ..SimOptions::default()
    };
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let sweep = tune::sweep(&scenario, service, &candidates, &traces, &opts, threads)
        .unwrap_or_else(|e| panic!("{e}"));
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu0.zip(cpu_seconds()).map(|(a, b)| b - a);
    let runs = (sweep.candidates.len() + 1) * traces.len();
    let requests: u64 = sweep
        .candidates
        .iter()
        .flat_map(|c| &c.per_trace)
        .chain(&sweep.oracle)
        .map(|s| s.requests)
        .sum();
    println!(
        "{NAME}: {} candidates × {} traces ({}) + the oracle, {threads} threads",
        sweep.candidates.len(),
        traces.len(),
        traces.join(", ")
    );
    println!(
        "  {runs} runs, {:.0} M requests in {secs:.2} s: {:.1} runs/s, {:.2} M requests/s ({:.0} ns/request/thread)",
        requests as f64 / 1e6,
        runs as f64 / secs,
        requests as f64 / secs / 1e6,
        secs * threads as f64 * 1e9 / requests as f64
    );
    if let Some(cpu) = cpu {
        println!(
            "  CPU {cpu:.1} s: {:.0} % of {threads} cores was ours; on {threads} idle cores ~{:.1} s ({:.0} ns/request)",
            100.0 * cpu / secs / threads as f64,
            cpu / threads as f64,
            cpu * 1e9 / requests as f64
        );
    }
    let held = sweep.candidates.iter().filter(|c| c.holds_slo).count();
    println!(
        "  {held} of {} hold the SLO on every trace",
        sweep.candidates.len()
    );
    print!("{}", tune::summary_text(&sweep, 3));
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let by_cpu = cpu.map_or(String::new(), |c| {
        format!(
            "; by CPU time on {threads} idle cores: {}",
            verdict(c / threads as f64 <= TARGET_SECONDS)
        )
    });
    println!(
        "  target <= {TARGET_SECONDS} s: by wall clock {}{by_cpu}",
        verdict(secs <= TARGET_SECONDS)
    );
}
