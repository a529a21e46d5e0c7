//! `simulate`: one service under one policy and one trace, in virtual time.
//!
//! A discrete-event simulation of the queue, the pods, the adapter,
//! metrics-server and the HPA controller ([`crate::hpa`]), fast enough to
//! sweep hundreds of policies: 24 hours of a 20 requests/s service take a
//! fraction of a second. Services are independent (each has its own queue
//! and pods), so a run is one service; [`simulate()`] runs many in
//! parallel.
//!
//! # The model, and why
//!
//! - **Arrivals** come from the trace's [`Profile::arrivals`] (a
//!   non-homogeneous Poisson process), pulled one at a time. A request's
//!   service time (and a zset job's delay) is drawn when it arrives, from
//!   streams seeded `"<service>/service_time"` (`"<service>/delay"`), so
//!   every policy sees the very same requests (common random numbers: the
//!   policies' differences are theirs, not the dice's).
//! - **The queue** is FIFO, and a ready pod with a free slot
//!   (`inflight_per_pod` workers) takes the oldest takeable request at
//!   once: workers block on `BRPOP`/`XREADGROUP`, and Redis serves blocked
//!   clients in the order they blocked, so the longest-idle worker takes it.
//!   A zset job is takeable once due (arrival plus its drawn delay), and its
//!   wait counts from then; `queue_depth` counts due jobs only (the adapter
//!   with `max_score: now`).
//! - **Pods** (see `pods`): created when the desired count rises, ready
//!   after a drawn start-up delay (`"<service>/startup"`, one draw per pod
//!   created); on scale-down the ReplicaSet's deletion order (unready
//!   first, then the most recently ready; `ActivePodsWithRanks` in
//!   kubernetes `pkg/controller/controller_utils.go`, via `getPodsToDelete`
//!   in `pkg/controller/replicaset/replica_set.go`); a deleted pod takes no
//!   new work, drains what it holds and costs until it is gone. The run
//!   starts with `initial_replicas` (or the policy's minimum) ready pods.
//! - **The adapter** (see `adapter`): queue metrics from a Redis poll every
//!   [`model::POLL_INTERVAL`]; service metrics from scraping the pods every
//!   [`model::SCRAPE_INTERVAL`], the latency quantile being Prometheus'
//!   `histogram_quantile` ([`model::histogram_quantile`], a port of
//!   `bucketQuantile` in prometheus `promql/quantile.go`) over the
//!   [`model::SERVICE_WINDOW`] rate of the end-to-end histogram
//!   [`model::LATENCY_METRIC`] with [`model::LATENCY_BUCKETS`].
//! - **metrics-server** (see `pods`): per-pod CPU averaged over its
//!   [`model::METRICS_RESOLUTION`] window and refreshed as often, memory at
//!   the scrape; the HPA gets the pods' readiness (`Ready` transition at the
//!   ready time, start time at creation), so its CPU-initialization and
//!   readiness-delay rules (`groupPods`) apply.
//! - **The HPA**: [`crate::hpa::Hpa::reconcile`] every `sync_period` (15 s),
//!   with the scale target at the desired count; the decision is applied
//!   to the pods at once (the Deployment and ReplicaSet controllers react
//!   within milliseconds; the delay that matters is the pods' start-up).
//! - **Phases**: the poll, scrape, metrics-server and sync clocks are not
//!   aligned in a cluster. Each run draws their phases uniformly within
//!   their periods from `"<service>/phases"` (the same for every policy),
//!   so the HPA sees metrics as stale as it would (half a period on
//!   average). [`SimOptions::random_phases`] off starts them all at 0.
//! - **The oracle** ([`PolicyKind::Oracle`]): at every sync it sets
//!   `desired = clamp(ceil(rate * mean service time / (inflight_per_pod *
//!   utilization)), min, max)` where `rate` is the trace's *largest* rate
//!   over `[t, t + lookahead + sync_period]`: the pods ordered now are ready
//!   by `t + lookahead` (one start-up delay; the default is the start-up
//!   maximum), the next sync's by `t + sync_period + lookahead`, and the
//!   pods there now must carry the load until then, so the window starts
//!   at `t` (a scale-down never removes capacity still needed) and ends
//!   where the next decision takes over. The rate at `t + lookahead` alone
//!   would scale down a minute before a spike ends and under-provision a
//!   ramp for up to a sync period.
//! - **Timeline**: a tick every [`SimOptions::tick`] (5 s); the horizon is
//!   the run trace's duration.
//!
//! Not modelled: pods failing or restarting, node capacity (a pod's
//! start-up delay includes any scheduling wait), the adapter or
//! metrics-server being down, Prometheus' per-pod series (see `adapter`),
//! CPU used while starting up.

use std::fmt;

use crate::dist::{derive_seed, rng};
use crate::hpa::{self, ControllerOptions, Hpa};
use crate::outcome::{Recorder, Run, RunMeta};
use crate::scenario::{self, Policy, PolicyKind, QUEUE_METRICS, Scenario, Service};
use crate::trace::Profile;

mod adapter;
mod engine;
pub mod model;
mod pods;
mod radix;
pub mod simulate;
mod workload;

pub use simulate::{SimulateArgs, simulate, table};
pub use workload::{Arrival, Workload};

pub(crate) use simulate::{load_scenario, parallel, threads};

use engine::{Control, Engine, Timing};

/// Why a run cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario has no such trace or service.
    #[error(transparent)]
    Scenario(#[from] scenario::Error),
    /// The HPA controller rejects the policy's spec.
    #[error("policy {policy:?}: {source}")]
    Hpa {
        /// The policy.
        policy: String,
        /// The controller's reason.
        source: hpa::Error,
    },
    /// A [`Workload`] drawn for another service.
    #[error("the workload was drawn for service {workload:?}, not {service:?}")]
    Workload {
        /// The service it was drawn for.
        workload: String,
        /// The service run.
        service: String,
    },
    /// An External metric about another queue or service than the one
    /// simulated (services are simulated one at a time).
    #[error(
        "policy {policy:?} of service {service:?}: metric {metric} is about {about:?}, which this run does not simulate"
    )]
    ForeignMetric {
        /// The policy.
        policy: String,
        /// The service simulated.
        service: String,
        /// The metric's name.
        metric: String,
        /// The queue or service its selector names.
        about: String,
    },
    /// A [`SimOptions`] value out of range.
    #[error("simulation option {name}: {value} must be a positive, finite number of seconds")]
    Option {
        /// The option.
        name: &'static str,
        /// The value given.
        value: f64,
    },
}

/// How to run (defaults: the upstream and adapter defaults of [`model`]).
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Seed of the random draws (default: the scenario's).
    pub seed: Option<u64>,
    /// Seconds per timeline tick.
    pub tick: f64,
    /// Trailing window of the SLO judgement, seconds ([`Recorder::window`]).
    pub window: f64,
    /// The HPA controller's flags (its `sync_period` also paces the
    /// oracle).
    pub controller: ControllerOptions,
    /// Seconds between the adapter's Redis polls.
    pub poll_interval: f64,
    /// Seconds between the adapter's scrapes of the pods.
    pub scrape_interval: f64,
    /// The adapter's `rate` window for service metrics, seconds.
    pub service_window: f64,
    /// metrics-server's resolution, seconds.
    pub metrics_resolution: f64,
    /// Draw the clocks' phases (see the module docs); off: all start at 0.
    pub random_phases: bool,
    /// Keep the timeline; off: the run's figures only
    /// ([`Recorder::summary_only`], what a sweep keeps).
    pub timeline: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: None,
            tick: 5.0,
            window: crate::outcome::DEFAULT_WINDOW,
            controller: ControllerOptions::default(),
            poll_interval: model::POLL_INTERVAL,
            scrape_interval: model::SCRAPE_INTERVAL,
            service_window: model::SERVICE_WINDOW,
            metrics_resolution: model::METRICS_RESOLUTION,
            random_phases: true,
            timeline: true,
        }
    }
}

impl SimOptions {
    /// Checks that every period is a positive, finite number.
    fn check(&self) -> Result<(), SimError> {
        for (name, value) in [
            ("tick", self.tick),
            ("window", self.window),
            ("poll_interval", self.poll_interval),
            ("scrape_interval", self.scrape_interval),
            ("service_window", self.service_window),
            ("metrics_resolution", self.metrics_resolution),
            ("controller.sync_period", self.controller.sync_period),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SimError::Option { name, value });
            }
        }
        Ok(())
    }
}

/// Runs `service` under `policy` on the run trace `trace` (the service
/// plays its own trace for it if it maps one) for the trace's duration.
pub fn run(
    scenario: &Scenario,
    service: &Service,
    policy: &Policy,
    trace: &str,
    opts: &SimOptions,
) -> Result<Run, SimError> {
    let seed = opts.seed.unwrap_or(scenario.seed);
    let profile = scenario.profile(service, trace, seed)?;
    run_profile(scenario, service, policy, trace, &profile, opts)
}

/// [`run`] on an arrival profile already built with
/// [`Scenario::profile`] for this service, trace and seed (`simulate`
/// builds it once per service and trace for all the policies).
pub fn run_profile(
    scenario: &Scenario,
    service: &Service,
    policy: &Policy,
    trace: &str,
    profile: &Profile,
    opts: &SimOptions,
) -> Result<Run, SimError> {
    let seed = opts.seed.unwrap_or(scenario.seed);
    let horizon = scenario.trace(trace)?.duration;
    let requests = workload::drawn(service, profile, horizon, seed);
    run_source(
        scenario, service, policy, trace, profile, seed, requests, opts,
    )
}

/// [`run`] on requests drawn beforehand ([`Workload::draw`], with the
/// workload's seed; `opts.seed` is not used): a sweep draws them once per
/// trace for all its candidates. The run is the same as [`run`]'s with
/// that seed.
pub fn run_workload(
    scenario: &Scenario,
    service: &Service,
    policy: &Policy,
    workload: &Workload,
    opts: &SimOptions,
) -> Result<Run, SimError> {
    if workload.service() != service.name {
        return Err(SimError::Workload {
            workload: workload.service().to_string(),
            service: service.name.clone(),
        });
    }
    let requests = workload.arrivals().iter().copied();
    run_source(
        scenario,
        service,
        policy,
        workload.trace(),
        workload.profile(),
        workload.seed(),
        requests,
        opts,
    )
}

/// One run on `requests`.
#[allow(clippy::too_many_arguments)]
fn run_source(
    scenario: &Scenario,
    service: &Service,
    policy: &Policy,
    trace: &str,
    profile: &Profile,
    seed: u64,
    requests: impl Iterator<Item = Arrival>,
    opts: &SimOptions,
) -> Result<Run, SimError> {
    opts.check()?;
    let horizon = scenario.trace(trace)?.duration;
    let (control, min) = control(service, policy, opts)?;
    let initial = service.initial_replicas.unwrap_or(min);
    let meta = RunMeta {
        mode: "simulate".into(),
        scenario: scenario.origin.clone(),
        service: service.name.clone(),
        policy: policy.name.clone(),
        trace: trace.to_string(),
        seed,
        horizon,
        tick: opts.tick,
        slo_quantile: service.slo.quantile,
        slo_queue_wait: service.slo.queue_wait,
    };
    let mut rec = if opts.timeline {
        Recorder::new(meta)
    } else {
        Recorder::summary_only(meta)
    };
    rec.window = opts.window;
    let label = |what: &str| derive_seed(seed, &format!("{}/{what}", service.name));
    let engine = Engine::new(
        service,
        profile,
        horizon,
        rng(label("startup")),
        control,
        timing(opts, label("phases")),
        initial,
        label("uid"),
        opts.service_window,
        rec,
    );
    Ok(engine.run(requests))
}

/// The clocks: poll, scrape, metrics-server, sync, tick.
fn timing(opts: &SimOptions, phase_seed: u64) -> Timing {
    let period = [
        opts.poll_interval,
        opts.scrape_interval,
        opts.metrics_resolution,
        opts.controller.sync_period,
        opts.tick,
    ];
    let mut first = [0.0; 5];
    if opts.random_phases {
        let mut r = rng(phase_seed);
        for i in 0..4 {
            first[i] = crate::dist::Dist::Uniform {
                min: 0.0,
                max: period[i],
            }
            .sample(&mut r);
        }
    }
    first[4] = opts.tick;
    Timing { first, period }
}

/// The autoscaler of `policy` and its minimum replica count.
fn control(
    service: &Service,
    policy: &Policy,
    opts: &SimOptions,
) -> Result<(Control, u32), SimError> {
    match &policy.kind {
        PolicyKind::Hpa(spec) => {
            check_metrics(service, policy, spec)?;
            let hpa = Hpa::new(spec, opts.controller.clone()).map_err(|source| SimError::Hpa {
                policy: policy.name.clone(),
                source,
            })?;
            let min = u32::try_from(hpa.min_replicas()).unwrap_or(1);
            Ok((Control::Hpa(Box::new(hpa)), min))
        }
        PolicyKind::Oracle(oracle) => Ok((
            Control::Oracle {
                oracle: *oracle,
                mean_service: service.service_time.mean(),
            },
            oracle.min_replicas,
        )),
    }
}

/// Checks that every External metric names this service's queue or this
/// service.
fn check_metrics(
    service: &Service,
    policy: &Policy,
    spec: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec,
) -> Result<(), SimError> {
    for m in spec.metrics.iter().flatten() {
        let Some(e) = &m.external else { continue };
        let labels = e
            .metric
            .selector
            .as_ref()
            .and_then(|s| s.match_labels.as_ref());
        let (label, own) = if QUEUE_METRICS.contains(&e.metric.name.as_str()) {
            ("queue", &service.queue.name)
        } else {
            ("service", &service.name)
        };
        if let Some(about) = labels.and_then(|l| l.get(label))
            && about != own
        {
            return Err(SimError::ForeignMetric {
                policy: policy.name.clone(),
                service: service.name.clone(),
                metric: e.metric.name.clone(),
                about: about.clone(),
            });
        }
    }
    Ok(())
}

impl fmt::Display for SimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tick {} s, poll {} s, scrape {} s, window {} s, metrics-server {} s, sync {} s",
            self.tick,
            self.poll_interval,
            self.scrape_interval,
            self.service_window,
            self.metrics_resolution,
            self.controller.sync_period
        )
    }
}

#[cfg(test)]
mod tests;
