//! What a live run will do, worked out and checked before anything starts:
//! the scenario, the trace and its length, the services with one policy
//! each, their HPAs (validated by [`Hpa::new`]) and pod limits.
//!
//! Choices:
//!
//! - **Services**: `--service` (repeatable), default every service of the
//!   scenario; they run at the same time, each on its own queue.
//! - **Policy**: `--policy NAME` for every service, default each service's
//!   first policy (file order) with an `External` metric, else its first.
//! - **Trace**: `--trace`, default the scenario's first; its first
//!   `--duration` of scenario time is played (default all of it).
//! - **Pod limit**: the policy's `maxReplicas` (the oracle's
//!   `max_replicas`), at most [`MAX_PODS`]; a larger desired count is capped.
//! - **Initial pods**: `initial_replicas`, else the policy's minimum.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec;

use super::LiveArgs;
use crate::hpa::{ControllerOptions, Hpa};
use crate::scenario::{self, Oracle, Policy, PolicyKind, Scenario, Service};
use crate::trace::Profile;

/// Most pods one service may have in a live run (each a task and a
/// metrics slot the adapter scrapes).
pub const MAX_PODS: u32 = 200;

/// Largest `--speed`.
pub const MAX_SPEED: f64 = 100.0;

/// Why a run cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The scenario file is unreadable or invalid, or names are unknown.
    #[error(transparent)]
    Scenario(#[from] scenario::Error),
    /// A bad command-line value.
    #[error("{flag} {value}: {message}")]
    Arg {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// The policy asked for is not in a service.
    #[error("service {service:?} has no policy {policy:?} (policies: {known})")]
    UnknownPolicy {
        /// The service.
        service: String,
        /// The policy asked for.
        policy: String,
        /// Its policies.
        known: String,
    },
    /// The HPA spec cannot be run.
    #[error("service {service:?}, policy {policy:?}: {source}")]
    Hpa {
        /// The service.
        service: String,
        /// The policy.
        policy: String,
        /// Why.
        source: crate::hpa::Error,
    },
}

/// What decides a service's replica count.
#[derive(Debug, Clone)]
pub(crate) enum Decider {
    /// The HPA controller port.
    Hpa(Box<Hpa>),
    /// The clairvoyant oracle.
    Oracle(Oracle),
}

/// One service of the run.
#[derive(Debug, Clone)]
pub(crate) struct SvcPlan {
    /// The service.
    pub(crate) service: Service,
    /// The policy it runs.
    pub(crate) policy: Policy,
    /// Its HPA spec (when the policy is one).
    pub(crate) spec: Option<HorizontalPodAutoscalerSpec>,
    /// The decider.
    pub(crate) decider: Decider,
    /// Its arrival profile.
    pub(crate) profile: Profile,
    /// Most pods.
    pub(crate) limit: u32,
    /// Pods at the start.
    pub(crate) initial: u32,
}

/// The whole run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The scenario.
    pub(crate) scenario: Scenario,
    /// The run trace's name.
    pub(crate) trace: String,
    /// Scenario seconds played.
    pub(crate) duration: f64,
    /// Scenario seconds per real second.
    pub(crate) speed: f64,
    /// HPA sync period, scenario seconds.
    pub(crate) sync_period: f64,
    /// Seed of every draw.
    pub(crate) seed: u64,
    /// The services run.
    pub(crate) services: Vec<SvcPlan>,
}

fn arg(flag: &'static str, value: impl ToString, message: &str) -> PlanError {
    PlanError::Arg {
        flag,
        value: value.to_string(),
        message: message.into(),
    }
}

/// Loads the scenario and plans the run; nothing is started.
pub(crate) fn build(args: &LiveArgs) -> Result<Plan, PlanError> {
    if !(args.speed.is_finite() && args.speed > 0.0 && args.speed <= MAX_SPEED) {
        return Err(arg(
            "--speed",
            args.speed,
            &format!("must be a number greater than 0 and at most {MAX_SPEED}"),
        ));
    }
    if !(args.sync_period.is_finite() && args.sync_period > 0.0) {
        return Err(arg(
            "--sync-period",
            args.sync_period,
            "must be greater than 0",
        ));
    }
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path)?,
        None => Scenario::default_scenario()?,
    };
    let trace = match &args.trace {
        Some(t) => scenario.trace(t)?,
        None => scenario
            .traces
            .first()
            .ok_or_else(|| scenario::Error::UnknownTrace {
                name: "(first)".into(),
                known: String::new(),
            })?,
    };
    let duration = args.duration.unwrap_or(trace.duration);
    if !(duration.is_finite() && duration > 0.0 && duration <= trace.duration) {
        return Err(arg(
            "--duration",
            scenario::units::format_duration(duration),
            &format!(
                "must be greater than 0 and at most the trace {:?}'s duration ({})",
                trace.name,
                scenario::units::format_duration(trace.duration)
            ),
        ));
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let names: Vec<String> = if args.services.is_empty() {
        scenario.services.iter().map(|s| s.name.clone()).collect()
    } else {
        args.services.clone()
    };
    let mut services = Vec::new();
    for name in &names {
        if services.iter().any(|s: &SvcPlan| &s.service.name == name) {
            return Err(arg("--service", name, "given twice"));
        }
        let service = scenario.service(name)?.clone();
        let policy = pick_policy(&service, args.policy.as_deref())?;
        let opts = ControllerOptions {
            sync_period: args.sync_period,
            ..ControllerOptions::default()
        };
        let (decider, spec, min, max) = match &policy.kind {
            PolicyKind::Hpa(spec) => {
                let hpa = Hpa::new(spec, opts).map_err(|source| PlanError::Hpa {
                    service: service.name.clone(),
                    policy: policy.name.clone(),
                    source,
                })?;
                let (min, max) = (hpa.min_replicas(), hpa.max_replicas());
                (
                    Decider::Hpa(Box::new(hpa)),
                    Some((**spec).clone()),
                    min.max(0) as u32,
                    max.max(1) as u32,
                )
            }
            PolicyKind::Oracle(o) => (Decider::Oracle(*o), None, o.min_replicas, o.max_replicas),
        };
        let limit = max.clamp(1, MAX_PODS);
        let initial = service.initial_replicas.unwrap_or(min).min(limit);
        let profile = scenario.profile(&service, &trace.name, seed)?;
        services.push(SvcPlan {
            service,
            policy,
            spec,
            decider,
            profile,
            limit,
            initial,
        });
    }
    Ok(Plan {
        trace: trace.name.clone(),
        scenario,
        duration,
        speed: args.speed,
        sync_period: args.sync_period,
        seed,
        services,
    })
}

/// The policy `name`, or the default (see the module docs).
fn pick_policy(service: &Service, name: Option<&str>) -> Result<Policy, PlanError> {
    let found = match name {
        Some(n) => service.policy(n),
        None => service
            .policies
            .iter()
            .find(|p| match &p.kind {
                PolicyKind::Hpa(spec) => {
                    spec.metrics.iter().flatten().any(|m| m.type_ == "External")
                }
                PolicyKind::Oracle(_) => false,
            })
            .or_else(|| service.policies.first()),
    };
    found.cloned().ok_or_else(|| PlanError::UnknownPolicy {
        service: service.name.clone(),
        policy: name.unwrap_or("(any)").to_string(),
        known: service
            .policies
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}
