//! `simulate`: 24 hours of diurnal traffic for five services at a mean of
//! 20 requests/s each (~8.6 M requests), one thread.
//!
//! Target (issue 10): <= 5 s on one core.
//!
//! Run with `cargo bench -p qma-load --bench simulate_day` (release
//! profile). Without `--bench` (e.g. under `cargo test --all-targets`) it
//! only prints that it was skipped.
//!
//! The scenario is `benches/scenarios/simulate-day.yaml`: the default
//! scenario's five services at the full trace, one HPA policy each (queue
//! depth plus p95 latency), so the HPA, the adapter's polls and scrapes
//! and metrics-server all run as in `qma-load simulate`. Each round runs
//! the five services one after the other on this thread; the best and the
//! median round are reported, with the peak resident memory.
//!
//! Environment: `QMA_BENCH_ROUNDS` (default 3).

#![forbid(unsafe_code)]

use std::time::Instant;

use qma_load::scenario::Scenario;
use qma_load::sim::{self, SimOptions};

/// The bench target's name.
const NAME: &str = "simulate_day";
/// The benchmark scenario.
const SCENARIO: &str = include_str!("scenarios/simulate-day.yaml");
/// The target, seconds.
const TARGET_SECONDS: f64 = 5.0;

#[path = "../../benches/support/procstat.rs"]
mod procstat;

/// CPU seconds this process has used (all threads, user + system), to tell
/// the code's cost from a busy machine's share.
fn cpu_seconds() -> Option<f64> {
    procstat::cpu_seconds(std::process::id())
}

/// Peak resident set size of this process (`VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    procstat::memory(std::process::id()).map(|m| m.hwm_kib as f64 / 1024.0)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("skipped: run with cargo bench -p qma-load --bench {NAME}");
        return;
    }
    let rounds: usize = std::env::var("QMA_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let scenario = Scenario::from_str(SCENARIO, "benches/scenarios/simulate-day.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = SimOptions::default();
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut last = Vec::new();
    for _ in 0..rounds {
        last.clear();
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        for s in &scenario.services {
            let t1 = Instant::now();
            let p = s.policy("hpa").expect("policy hpa");
            let run = sim::run(&scenario, s, p, "day", &opts).unwrap_or_else(|e| panic!("{e}"));
            last.push((s.name.clone(), run, t1.elapsed().as_secs_f64()));
        }
        times.push(t0.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu0, cpu_seconds()) {
            cpu_times.push(b - a);
        }
    }
    println!("{NAME}: 24 h diurnal (2-38 req/s), five services, one thread");
    println!(
        "  {:<10} {:>10} {:>8} {:>10} {:>5} {:>9}",
        "service", "requests", "seconds", "req/s", "peak", "p95 wait"
    );
    let mut requests = 0;
    for (name, run, secs) in &last {
        let s = &run.summary;
        requests += s.requests;
        println!(
            "  {:<10} {:>10} {:>8.3} {:>10.0} {:>5} {:>8.1}s",
            name,
            s.requests,
            secs,
            s.requests as f64 / secs,
            s.peak_replicas,
            s.wait_p95
        );
    }
    times.sort_by(f64::total_cmp);
    let best = times[0];
    let median = times[times.len() / 2];
    println!(
        "  total: {requests} requests; best {best:.3} s, median {median:.3} s of {rounds} rounds; {:.2} M requests/s; {:.0} ns/request",
        requests as f64 / best / 1e6,
        best * 1e9 / requests as f64
    );
    cpu_times.sort_by(f64::total_cmp);
    if let Some(cpu) = cpu_times.first() {
        println!(
            "  CPU time of the best round {cpu:.2} s ({:.0} ns/request of CPU)",
            cpu * 1e9 / requests as f64
        );
    }
    if let Some(mib) = peak_rss_mib() {
        println!("  peak resident memory: {mib:.0} MiB");
    }
    println!(
        "  target <= {TARGET_SECONDS} s: {}",
        if median <= TARGET_SECONDS {
            "met"
        } else {
            "MISSED"
        }
    );
}
