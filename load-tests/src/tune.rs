//! `tune`: sweep a policy family in simulation and recommend the cheapest
//! HPA spec that holds the SLO on every trace.
//!
//! The family is the scenario's `tune:` section
//! ([`Scenario::tune_candidates`]): every candidate spec runs on every
//! trace ([`crate::sim::run_workload`], one job per candidate and trace,
//! spread over the threads), next to the service's oracle (its `oracle:`
//! policy, or a default one) as the reference cost. Each trace's requests
//! are drawn once ([`sim::Workload`]) and every candidate plays the very
//! same requests (the simulator's common random numbers), so the
//! comparison is between policies, not draws. Only the figures of each run are kept, not its
//! timeline, so a sweep of thousands of runs stays small.
//!
//! The recommendation is the candidate with the least replica-seconds
//! summed over the traces among those whose run-wide wait quantile is
//! within the SLO on every trace (ties: fewer flaps, then the lower worst
//! wait, then expansion order). It is written as a complete
//! `autoscaling/v2` HorizontalPodAutoscaler (`recommended-hpa.yaml`, via
//! serde-saphyr) beside `sweep.json` (every candidate's figures); the
//! runners-up printed show what each trades: extra cost for a lower wait,
//! or, among the cheaper candidates that miss, how far over the SLO they go.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::outcome::{CandidateResult, Summary, Sweep};
use crate::scenario::{Oracle, Policy, PolicyKind, Scenario, Service};
use crate::sim::{self, SimOptions};

mod manifest;

pub use manifest::{NAMESPACE, manifest, manifest_yaml};

/// Why a sweep cannot run (beyond scenario and simulation errors).
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// The scenario has no `tune:` section.
    #[error("the scenario has no tune: section")]
    NoFamily,
    /// The service is not among `tune.services`.
    #[error("service {service:?} is not tuned (tune.services: {tuned})")]
    NotTuned {
        /// The service asked for.
        service: String,
        /// The tuned services, comma-separated.
        tuned: String,
    },
    /// Several services are tuned and none was chosen.
    #[error("the scenario tunes several services ({tuned}); pick one with --service")]
    WhichService {
        /// The tuned services, comma-separated.
        tuned: String,
    },
    /// The family expands to nothing for the service.
    #[error("the tune family has no candidates for service {0:?}")]
    NoCandidates(String),
}

/// `qma-load tune`: sweep the scenario's policy family in simulation.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TuneArgs {
    /// Scenario file (default: the built-in default scenario).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// The service to tune (default: the only one in `tune.services`).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// A trace every candidate runs (repeatable; default: `tune.traces`).
    #[arg(long = "trace", value_name = "NAME")]
    pub traces: Vec<String>,
    /// Directory for `recommended-hpa.yaml` and `sweep.json` (created if
    /// missing; without it nothing is written and the manifest is printed).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the random draws (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Runners-up to print.
    #[arg(long, default_value_t = 5)]
    pub runners_up: usize,
    /// Recommend only candidates with at most this many flaps (direction
    /// reversals within 5 minutes) summed over the traces (default: any).
    #[arg(long, value_name = "N")]
    pub max_flaps: Option<u32>,
}

/// Runs the sweep [`TuneArgs`] describe, writes its files, prints the
/// recommendation and the runners-up.
pub fn tune(args: &TuneArgs) -> anyhow::Result<Sweep> {
    let scenario = sim::load_scenario(args.scenario.as_deref())?;
    let service = tuned_service(&scenario, args.service.as_deref())?;
    let family = scenario.tune.as_ref().ok_or(TuneError::NoFamily)?;
    let traces = if args.traces.is_empty() {
        family.traces.clone()
    } else {
        args.traces.clone()
    };
    let opts = SimOptions {
        seed: Some(args.seed.unwrap_or(scenario.seed)),
        timeline: false,
        ..SimOptions::default()
    };
    let candidates: Vec<Policy> = scenario
        .tune_candidates(service)
        .into_iter()
        .map(|c| Policy {
            name: c.name,
            description: None,
            kind: PolicyKind::Hpa(Box::new(c.spec)),
        })
        .collect();
    if candidates.is_empty() {
        bail!(TuneError::NoCandidates(service.name.clone()));
    }
    let mut sweep = sweep(
        &scenario,
        service,
        &candidates,
        &traces,
        &opts,
        sim::threads(args.threads),
    )?;
    if let Some(max) = args.max_flaps {
        sweep.recommended = recommend_within(&sweep.candidates, max);
    }
    let yaml = sweep
        .recommended
        .map(|i| manifest_yaml(&sweep, i, NAMESPACE))
        .transpose()?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("sweep.json");
        let f =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        serde_json::to_writer_pretty(std::io::BufWriter::new(f), &sweep)
            .with_context(|| format!("writing {}", path.display()))?;
        if let Some(y) = &yaml {
            let path = dir.join("recommended-hpa.yaml");
            std::fs::write(&path, y).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    print!("{}", summary_text(&sweep, args.runners_up));
    if let (Some(y), None) = (&yaml, &args.out) {
        print!("\n{y}");
    }
    Ok(sweep)
}

/// The service to tune: `name`, or the only tuned one.
fn tuned_service<'a>(scenario: &'a Scenario, name: Option<&str>) -> anyhow::Result<&'a Service> {
    let family = scenario.tune.as_ref().ok_or(TuneError::NoFamily)?;
    let tuned = family.services.join(", ");
    let name = match (name, family.services.as_slice()) {
        (Some(n), _) => n,
        (None, [only]) => only.as_str(),
        (None, _) => bail!(TuneError::WhichService { tuned }),
    };
    let service = scenario.service(name)?;
    if !family.services.iter().any(|s| s == name) {
        bail!(TuneError::NotTuned {
            service: name.to_string(),
            tuned,
        });
    }
    Ok(service)
}

/// The oracle a sweep is measured against: the service's `oracle:` policy,
/// or the scenario defaults (look-ahead the start-up's upper bound, 85 %).
pub fn oracle_policy(service: &Service) -> Policy {
    service
        .policies
        .iter()
        .find(|p| matches!(p.kind, PolicyKind::Oracle(_)))
        .cloned()
        .unwrap_or_else(|| Policy {
            name: "oracle".into(),
            description: None,
            kind: PolicyKind::Oracle(Oracle {
                lookahead: service
                    .startup
                    .upper()
                    .min(crate::scenario::LOOKAHEAD_MARGIN),
                utilization: 0.85,
                min_replicas: 1,
                max_replicas: 1000,
            }),
        })
}

/// Runs every candidate (and the oracle) on every trace on `threads`
/// threads and builds the [`Sweep`] with its recommendation.
pub fn sweep(
    scenario: &Scenario,
    service: &Service,
    candidates: &[Policy],
    traces: &[String],
    opts: &SimOptions,
    threads: usize,
) -> anyhow::Result<Sweep> {
    let seed = opts.seed.unwrap_or(scenario.seed);
    // The requests of each trace, drawn once (in parallel) for every
    // candidate.
    let workloads = sim::parallel(traces, threads, |t| {
        sim::Workload::draw(scenario, service, t, seed)
    })?;
    let oracle = oracle_policy(service);
    // Jobs: (policy, trace index); the oracle's first.
    let policies: Vec<&Policy> = std::iter::once(&oracle).chain(candidates).collect();
    let jobs: Vec<(usize, usize)> = (0..policies.len())
        .flat_map(|p| (0..traces.len()).map(move |t| (p, t)))
        .collect();
    let summaries: Vec<Summary> = sim::parallel(&jobs, threads, |&(p, t)| {
        sim::run_workload(scenario, service, policies[p], &workloads[t], opts)
            .map(|run| run.summary)
    })?;
    let per_policy: Vec<&[Summary]> = summaries.chunks(traces.len().max(1)).collect();
    let oracle_figures = per_policy.first().map_or_else(Vec::new, |s| s.to_vec());
    let mut results = Vec::with_capacity(candidates.len());
    for (c, figures) in candidates.iter().zip(per_policy.iter().skip(1)) {
        let PolicyKind::Hpa(spec) = &c.kind else {
            continue;
        };
        results.push(CandidateResult {
            name: c.name.clone(),
            spec: serde_json::to_value(spec.as_ref())?,
            per_trace: figures.to_vec(),
            holds_slo: figures.iter().all(|s| s.slo_held),
            cost: figures.iter().map(|s| s.replica_seconds).sum(),
            worst_wait: figures
                .iter()
                .map(|s| s.wait_slo_quantile)
                .fold(0.0, f64::max),
        });
    }
    let recommended = recommend(&results);
    Ok(Sweep {
        scenario: scenario.origin.clone(),
        service: service.name.clone(),
        traces: traces.to_vec(),
        slo_quantile: service.slo.quantile,
        slo_queue_wait: service.slo.queue_wait,
        candidates: results,
        recommended,
        oracle: oracle_figures,
    })
}

/// Flaps summed over the traces.
fn flaps(c: &CandidateResult) -> u32 {
    c.per_trace.iter().map(|s| s.flaps).sum()
}

/// Seconds over the SLO summed over the traces.
fn over(c: &CandidateResult) -> f64 {
    c.per_trace.iter().map(|s| s.seconds_over_slo).sum()
}

/// The cheapest candidate holding the SLO everywhere (ties: fewer flaps,
/// lower worst wait, earlier).
pub fn recommend(candidates: &[CandidateResult]) -> Option<usize> {
    recommend_within(candidates, u32::MAX)
}

/// [`recommend`] among the candidates with at most `max_flaps` flaps
/// summed over the traces.
pub fn recommend_within(candidates: &[CandidateResult], max_flaps: u32) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.holds_slo && flaps(c) <= max_flaps)
        .min_by(|(i, a), (j, b)| {
            a.cost
                .total_cmp(&b.cost)
                .then(flaps(a).cmp(&flaps(b)))
                .then(a.worst_wait.total_cmp(&b.worst_wait))
                .then(i.cmp(j))
        })
        .map(|(i, _)| i)
}

/// The printed result: the recommendation against the oracle, the next
/// `n` SLO-holding candidates by cost, and the `n` cheapest that miss.
pub fn summary_text(sweep: &Sweep, n: usize) -> String {
    let mut out = String::new();
    let oracle: f64 = sweep.oracle.iter().map(|s| s.replica_seconds).sum();
    let ratio = |cost: f64| {
        if oracle > 0.0 {
            format!("{:.2}", cost / oracle)
        } else {
            "-".into()
        }
    };
    let held = sweep.candidates.iter().filter(|c| c.holds_slo).count();
    let _ = writeln!(
        out,
        "tune {} on {}: {} candidates, {held} hold p{} wait <= {} s on every trace; oracle {:.0} replica-s",
        sweep.service,
        sweep.traces.join(", "),
        sweep.candidates.len(),
        sweep.slo_quantile * 100.0,
        sweep.slo_queue_wait,
        oracle
    );
    let mut by_cost: Vec<&CandidateResult> = sweep.candidates.iter().collect();
    by_cost.sort_by(|a, b| a.cost.total_cmp(&b.cost));
    let w = sweep
        .candidates
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(9);
    let header = format!(
        "  {:<w$} {:>11} {:>7} {:>9} {:>10} {:>8} {:>5}",
        "candidate", "replica-s", "×oracle", "vs best", "worst wait", "s over", "flaps"
    );
    let row = |out: &mut String, c: &CandidateResult, base: Option<f64>| {
        let delta = base.map_or_else(
            || "-".to_string(),
            |b| format!("{:+.1}%", 100.0 * (c.cost - b) / b.max(f64::MIN_POSITIVE)),
        );
        let _ = writeln!(
            out,
            "  {:<w$} {:>11.0} {:>7} {:>9} {:>9.1}s {:>8.0} {:>5}",
            c.name,
            c.cost,
            ratio(c.cost),
            delta,
            c.worst_wait,
            over(c),
            flaps(c)
        );
    };
    let Some(best) = sweep.recommended.and_then(|i| sweep.candidates.get(i)) else {
        let _ = writeln!(
            out,
            "no candidate holds the SLO on every trace; the closest:\n{header}"
        );
        let mut by_wait = by_cost.clone();
        by_wait.sort_by(|a, b| a.worst_wait.total_cmp(&b.worst_wait));
        for c in by_wait.into_iter().take(n.max(1)) {
            row(&mut out, c, None);
        }
        return out;
    };
    let _ = writeln!(
        out,
        "recommended: {} ({:.0} replica-s, {}× the oracle, worst p{} wait {:.1} s)\n{header}",
        best.name,
        best.cost,
        ratio(best.cost),
        sweep.slo_quantile * 100.0,
        best.worst_wait
    );
    row(&mut out, best, Some(best.cost));
    let _ = writeln!(out, "runners-up (hold the SLO; what the extra cost buys):");
    for c in by_cost
        .iter()
        .filter(|c| c.holds_slo && !std::ptr::eq(**c, best))
        .take(n)
    {
        row(&mut out, c, Some(best.cost));
    }
    let cheaper: Vec<&&CandidateResult> = by_cost
        .iter()
        .filter(|c| !c.holds_slo && c.cost < best.cost)
        .take(n)
        .collect();
    if !cheaper.is_empty() {
        let _ = writeln!(out, "cheaper, but missing the SLO (what the saving costs):");
        for c in cheaper {
            row(&mut out, c, Some(best.cost));
        }
    }
    out
}

#[cfg(test)]
mod tests;
