//! # HPA simulator core
//!
//! A port of the kube-controller-manager HorizontalPodAutoscaler controller
//! to pure, deterministic Rust (no I/O, no async, no clock): one
//! [`Hpa::reconcile`] call is one controller sync at a virtual time in
//! seconds, fed an [`Observe`] view of the pods, the resource metrics API and
//! the external metrics API. The same code serves a discrete-event
//! simulation and a real-time run; the caller decides when syncs happen
//! (every [`ControllerOptions::sync_period`], 15 s by default) and applies
//! the returned [`Decision`] to the scale target.
//!
//! ## What is ported
//!
//! From kubernetes/kubernetes, `pkg/controller/podautoscaler/`:
//!
//! - `horizontal.go`: `reconcileAutoscaler` (scaling disabled at zero
//!   replicas, replicas outside min/max, rescale reason),
//!   `recordInitialRecommendation`, `computeReplicasForMetrics` (largest
//!   proposal wins; a failed metric is skipped when another one proposes,
//!   nothing scales when all fail, and a failed metric forbids a scale-down:
//!   `invalidMetricsCount > 0 && replicas < specReplicas`),
//!   `computeReplicasForMetric`, `computeStatusForResourceMetricGeneric`,
//!   `computeStatusForExternalMetric`, `normalizeDesiredReplicas` (no
//!   `behavior`: downscale stabilization window + `calculateScaleUpLimit`),
//!   `normalizeDesiredReplicasWithBehaviors`,
//!   `maybeInitScaleDownStabilizationWindow`, the stabilization, rate-limit
//!   and scale-event functions (listed in the private `behavior` module),
//!   `setConditionInList`, and the per-HPA tolerances of KEP-4951
//!   (`behavior.scale{Up,Down}.tolerance`, feature gate
//!   `HPAConfigurableTolerance`: alpha in v1.33, beta and on by default in
//!   v1.35; the simulator always honours the field).
//! - `replica_calculator.go`: `GetResourceReplicas`, `GetRawResourceReplicas`,
//!   `calcPlainMetricReplicas`, `GetExternalMetricReplicas`,
//!   `GetExternalPerPodMetricReplicas`, `getUsageRatioReplicaCount`,
//!   `groupPods` (CPU initialization period, initial readiness delay),
//!   `calculateRequests`, `getReadyPodsCount`, `Tolerances.isWithin`.
//! - `metrics/utilization.go` (`GetResourceUtilizationRatio`,
//!   `GetMetricUsageRatio`) and the empty-answer errors of `metrics/client.go`.
//! - `pkg/apis/autoscaling/v2/defaults.go` (API defaults: minReplicas 1,
//!   cpu 80 % when no metrics, behavior defaults) and the controller flag
//!   defaults of `config/v1alpha1/defaults.go` (see [`ControllerOptions`]).
//!
//! Upstream revision: the copies read carry no release tag; they date from
//! the master branch of v1.31–v1.36. `replica_calculator.go` is a v1.34+
//! one (`Tolerances`, pod-level requests, overflow guards); `horizontal.go`
//! a v1.31+ one (autoscaling/v2 informers, typed work queue, absolute
//! `replicaChange`, the "some are invalid and we would scale down" rule)
//! that predates the per-HPA tolerances, whose lookup (`tolerancesForHpa`:
//! the flag, overridden per direction by the spec) is ported from KEP-4951
//! and the newer calculator's `Tolerances`. The golden tables come from
//! `horizontal_test.go` (v1.31+, with monitor labels) and
//! `replica_calculator_test.go` (v1.35+, with
//! `TestReplicaCalcConfigurableTolerance`).
//!
//! ## Deliberately left out
//!
//! Pods, Object and ContainerResource metric sources ([`Hpa::new`] rejects
//! them), selector validation and the ambiguous-selector check (the caller
//! hands over the pods), pod-level resource requests (give the pod total),
//! events, the status write, and the Prometheus monitor.

mod behavior;
mod metrics;
mod observe;
mod quantity;
mod replicas;
mod spec;
mod status;

#[cfg(test)]
mod golden_behavior;
#[cfg(test)]
mod golden_horizontal;
#[cfg(test)]
mod golden_replicas;
#[cfg(test)]
mod tests;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec;

pub use observe::{
    ConditionStatus, Observation, Observe, PodMetric, PodPhase, PodState, ReadyCondition,
    ResourceName, Sample,
};
pub use status::{Condition, ConditionType, Decision, MetricError, MetricProposal, MetricValue};

use behavior::{NormalizationArg, ScaleEvent, TimestampedRecommendation};
use replicas::{ReplicaCalculator, Tolerances};
use spec::ParsedSpec;
use status::set_condition;

/// The controller's flags (kube-controller-manager), with upstream defaults
/// (`pkg/controller/podautoscaler/config/v1alpha1/defaults.go`). Durations
/// are seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerOptions {
    /// `--horizontal-pod-autoscaler-sync-period` (15 s): how often the
    /// caller should call [`Hpa::reconcile`].
    pub sync_period: f64,
    /// `--horizontal-pod-autoscaler-tolerance` (0.1): the cluster-wide
    /// tolerance, overridden per direction by `behavior.*.tolerance`.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (300 s).
    pub cpu_initialization_period: f64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: f64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (300 s): the
    /// scale-down window without `behavior`, and the default of
    /// `behavior.scaleDown.stabilizationWindowSeconds`.
    pub downscale_stabilization: f64,
    /// The `HPAScaleToZero` feature gate (alpha, off): allows
    /// `minReplicas: 0` when an External metric is present.
    pub allow_scale_to_zero: bool,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        Self {
            sync_period: 15.0,
            tolerance: 0.1,
            cpu_initialization_period: 300.0,
            initial_readiness_delay: 30.0,
            downscale_stabilization: 300.0,
            allow_scale_to_zero: false,
        }
    }
}

/// Why an HPA spec or the options cannot be simulated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    /// `spec.maxReplicas` is below 1.
    #[error("spec.maxReplicas must be at least 1, got {0}")]
    MaxReplicasTooSmall(i32),
    /// `spec.minReplicas` is negative, or 0 without
    /// [`ControllerOptions::allow_scale_to_zero`].
    #[error("spec.minReplicas must be at least 1 (0 only with the HPAScaleToZero gate), got {0}")]
    MinReplicasTooSmall(i32),
    /// `spec.minReplicas` exceeds `spec.maxReplicas`.
    #[error("spec.minReplicas ({min}) is greater than spec.maxReplicas ({max})")]
    MinAboveMax {
        /// The minimum.
        min: i32,
        /// The maximum.
        max: i32,
    },
    /// `minReplicas: 0` without an External metric (API validation).
    #[error("spec.minReplicas 0 needs at least one External metric to scale up from zero")]
    ScaleToZeroNeedsExternalMetric,
    /// A metric type the simulator does not model (Pods, Object,
    /// ContainerResource) or an unknown one.
    #[error(
        "spec.metrics[{index}]: metric type {kind:?} is not supported by the simulator (only External and Resource)"
    )]
    UnsupportedMetricType {
        /// Index in `spec.metrics`.
        index: usize,
        /// The `type` given.
        kind: String,
    },
    /// A Resource metric on something other than cpu or memory.
    #[error("spec.metrics[{index}]: resource {name:?} is not supported (only cpu and memory)")]
    UnsupportedResource {
        /// Index in `spec.metrics`.
        index: usize,
        /// The resource name given.
        name: String,
    },
    /// A malformed metric (missing source, wrong target type, non-positive
    /// target, …).
    #[error("spec.metrics[{index}]: {message}")]
    InvalidMetric {
        /// Index in `spec.metrics`.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// Malformed `behavior.scaleUp` or `behavior.scaleDown`.
    #[error("spec.behavior.{direction}: {message}")]
    InvalidBehavior {
        /// `scaleUp` or `scaleDown`.
        direction: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A quantity that does not parse or does not fit.
    #[error("{field}: invalid quantity {value:?}: {message}")]
    InvalidQuantity {
        /// Path of the field.
        field: String,
        /// The string given.
        value: String,
        /// What is wrong.
        message: String,
    },
    /// A [`ControllerOptions`] value out of range.
    #[error("controller option {name}: {message}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// One HorizontalPodAutoscaler and the controller state kept for it
/// (recommendation history, scale events, status conditions).
#[derive(Clone, Debug)]
pub struct Hpa {
    spec: ParsedSpec,
    opts: ControllerOptions,
    calculator: ReplicaCalculator,
    tolerances: Tolerances,
    /// `a.recommendations[key]`; `None` is Go's nil (no initial entry yet).
    recommendations: Option<Vec<TimestampedRecommendation>>,
    scale_up_events: Vec<ScaleEvent>,
    scale_down_events: Vec<ScaleEvent>,
    conditions: Vec<Condition>,
    last_scale_time: Option<f64>,
    /// `scaleUpLimitFactor`; a variable upstream so that its tests can raise
    /// it to 8.
    scale_up_limit_factor: f64,
}

impl Hpa {
    /// Validates `spec` (see [`Error`]), applies the API defaults and the
    /// controller's, and starts with no history.
    pub fn new(spec: &HorizontalPodAutoscalerSpec, opts: ControllerOptions) -> Result<Self, Error> {
        validate_options(&opts)?;
        let parsed = spec::parse(spec, &opts)?;
        Ok(Self::from_parsed(parsed, opts))
    }

    fn from_parsed(spec: ParsedSpec, opts: ControllerOptions) -> Self {
        let calculator = ReplicaCalculator {
            cpu_initialization_period: opts.cpu_initialization_period,
            delay_of_initial_readiness_status: opts.initial_readiness_delay,
        };
        // tolerancesForHpa: the cluster-wide tolerance unless the behavior
        // sets one for the direction.
        let mut tolerances = Tolerances {
            scale_down: opts.tolerance,
            scale_up: opts.tolerance,
        };
        if let Some(b) = &spec.behavior {
            if let Some(t) = b.scale_down.tolerance {
                tolerances.scale_down = t;
            }
            if let Some(t) = b.scale_up.tolerance {
                tolerances.scale_up = t;
            }
        }
        Self {
            spec,
            opts,
            calculator,
            tolerances,
            recommendations: None,
            scale_up_events: Vec::new(),
            scale_down_events: Vec::new(),
            conditions: Vec::new(),
            last_scale_time: None,
            scale_up_limit_factor: behavior::SCALE_UP_LIMIT_FACTOR,
        }
    }

    /// The options the HPA runs with.
    pub fn options(&self) -> &ControllerOptions {
        &self.opts
    }

    /// `spec.minReplicas` after defaulting.
    pub fn min_replicas(&self) -> i32 {
        self.spec.min_replicas
    }

    /// `spec.maxReplicas`.
    pub fn max_replicas(&self) -> i32 {
        self.spec.max_replicas
    }

    /// The status conditions after the last sync.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// `status.lastScaleTime`: when a sync last rescaled the target.
    pub fn last_scale_time(&self) -> Option<f64> {
        self.last_scale_time
    }

    /// One controller sync (`reconcileAutoscaler`) at virtual time `now`,
    /// with the target at `current_replicas` (`scale.spec.replicas`).
    pub fn reconcile<O: Observe + ?Sized>(
        &mut self,
        now: f64,
        current_replicas: i32,
        obs: &O,
    ) -> Decision {
        set_condition(
            &mut self.conditions,
            ConditionType::AbleToScale,
            ConditionStatus::True,
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale".to_owned(),
            now,
        );
        // recordInitialRecommendation
        if self.recommendations.is_none() {
            self.recommendations = Some(vec![TimestampedRecommendation {
                recommendation: current_replicas,
                timestamp: now,
            }]);
        }
        let mut decision = Decision {
            time: now,
            current_replicas,
            desired_replicas: current_replicas,
            scaled: false,
            metric_replicas: None,
            metric_name: None,
            proposals: Vec::new(),
            stabilized_replicas: None,
            stabilization_reason: None,
            reason: None,
            error: None,
            conditions: Vec::new(),
        };
        let min_replicas = self.spec.min_replicas;
        let mut desired_replicas = 0;
        let mut rescale = true;

        if current_replicas == 0 && min_replicas != 0 {
            // Autoscaling is disabled for this resource
            rescale = false;
            set_condition(
                &mut self.conditions,
                ConditionType::ScalingActive,
                ConditionStatus::False,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero".to_owned(),
                now,
            );
        } else if current_replicas > self.spec.max_replicas {
            decision.reason = Some("Current number of replicas above Spec.MaxReplicas".to_owned());
            desired_replicas = self.spec.max_replicas;
        } else if current_replicas < min_replicas {
            decision.reason = Some("Current number of replicas below Spec.MinReplicas".to_owned());
            desired_replicas = min_replicas;
        } else {
            let outcome = self.compute_replicas_for_metrics(now, current_replicas, obs);
            decision.proposals = outcome.proposals;
            if outcome.replicas == -1 {
                // computeReplicasForMetrics failed: no scaling this sync.
                decision.error = outcome.error.map(|e| {
                    format!(
                        "failed to compute desired number of replicas based on listed metrics: {e}"
                    )
                });
                decision.conditions = self.conditions.clone();
                return decision;
            }
            // Some metrics may have failed while others still work: scale on
            // those, but report the error.
            decision.error = outcome.error;
            decision.metric_replicas = Some(outcome.replicas);
            decision.metric_name = Some(outcome.metric.clone());
            let mut rescale_metric = String::new();
            if outcome.replicas > desired_replicas {
                desired_replicas = outcome.replicas;
                rescale_metric = outcome.metric;
            }
            if desired_replicas > current_replicas {
                decision.reason = Some(format!("{rescale_metric} above target"));
            }
            if desired_replicas < current_replicas {
                decision.reason = Some("All metrics below target".to_owned());
            }
            let (stabilized, desired) = if self.spec.behavior.is_none() {
                self.normalize_desired_replicas(now, current_replicas, desired_replicas)
            } else {
                self.normalize_desired_replicas_with_behaviors(
                    now,
                    current_replicas,
                    desired_replicas,
                )
            };
            decision.stabilized_replicas = Some(stabilized);
            if stabilized != desired_replicas {
                decision.stabilization_reason = self
                    .conditions
                    .iter()
                    .find(|c| c.kind == ConditionType::AbleToScale)
                    .map(|c| c.reason.clone());
            }
            desired_replicas = desired;
            rescale = desired_replicas != current_replicas;
        }

        if rescale {
            set_condition(
                &mut self.conditions,
                ConditionType::AbleToScale,
                ConditionStatus::True,
                "SucceededRescale",
                format!(
                    "the HPA controller was able to update the target scale to {desired_replicas}"
                ),
                now,
            );
            behavior::store_scale_event(
                self.spec.behavior.as_ref(),
                &mut self.scale_up_events,
                &mut self.scale_down_events,
                current_replicas,
                desired_replicas,
                now,
            );
            self.last_scale_time = Some(now);
        } else {
            desired_replicas = current_replicas;
        }
        decision.desired_replicas = desired_replicas;
        decision.scaled = rescale;
        decision.conditions = self.conditions.clone();
        decision
    }

    /// `normalizeDesiredReplicas` (no `behavior`): returns (stabilized,
    /// desired).
    fn normalize_desired_replicas(
        &mut self,
        now: f64,
        current_replicas: i32,
        prenormalized_desired_replicas: i32,
    ) -> (i32, i32) {
        let stabilized = behavior::stabilize_recommendation(
            &mut self.recommendations,
            now,
            self.opts.downscale_stabilization,
            prenormalized_desired_replicas,
        );
        if stabilized == prenormalized_desired_replicas {
            set_condition(
                &mut self.conditions,
                ConditionType::AbleToScale,
                ConditionStatus::True,
                "ReadyForNewScale",
                "recommended size matches current size".to_owned(),
                now,
            );
        } else {
            set_condition(
                &mut self.conditions,
                ConditionType::AbleToScale,
                ConditionStatus::True,
                "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest recent recommendation".to_owned(),
                now,
            );
        }
        let (desired, (reason, message)) = behavior::convert_desired_replicas_with_rules(
            current_replicas,
            stabilized,
            self.spec.min_replicas,
            self.spec.max_replicas,
            self.scale_up_limit_factor,
        );
        self.set_scaling_limited(desired == stabilized, reason, message, now);
        (stabilized, desired)
    }

    /// `normalizeDesiredReplicasWithBehaviors`: returns (stabilized,
    /// desired).
    fn normalize_desired_replicas_with_behaviors(
        &mut self,
        now: f64,
        current_replicas: i32,
        prenormalized_desired_replicas: i32,
    ) -> (i32, i32) {
        let Some(b) = self.spec.behavior.as_ref() else {
            return self.normalize_desired_replicas(
                now,
                current_replicas,
                prenormalized_desired_replicas,
            );
        };
        let mut arg = NormalizationArg {
            scale_up: &b.scale_up,
            scale_down: &b.scale_down,
            min_replicas: self.spec.min_replicas,
            max_replicas: self.spec.max_replicas,
            current_replicas,
            desired_replicas: prenormalized_desired_replicas,
        };
        let (stabilized, (reason, message)) =
            behavior::stabilize_recommendation_with_behaviors(&mut self.recommendations, now, &arg);
        arg.desired_replicas = stabilized;
        let (desired, limit) = behavior::convert_desired_replicas_with_behavior_rate(
            &arg,
            &self.scale_up_events,
            &self.scale_down_events,
            now,
        );
        let able = if stabilized == prenormalized_desired_replicas {
            ("ReadyForNewScale", "recommended size matches current size")
        } else {
            // "ScaleUpStabilized" || "ScaleDownStabilized"
            (reason, message)
        };
        set_condition(
            &mut self.conditions,
            ConditionType::AbleToScale,
            ConditionStatus::True,
            able.0,
            able.1.to_owned(),
            now,
        );
        self.set_scaling_limited(desired == stabilized, limit.0, limit.1, now);
        (stabilized, desired)
    }

    fn set_scaling_limited(&mut self, within: bool, reason: &str, message: &str, now: f64) {
        let status = if within {
            ConditionStatus::False
        } else {
            ConditionStatus::True
        };
        set_condition(
            &mut self.conditions,
            ConditionType::ScalingLimited,
            status,
            reason,
            message.to_owned(),
            now,
        );
    }
}

fn validate_options(opts: &ControllerOptions) -> Result<(), Error> {
    let check = |name: &'static str, value: f64, positive: bool| {
        if !value.is_finite() || value < 0.0 || (positive && value <= 0.0) {
            let bound = if positive { "positive" } else { "non-negative" };
            return Err(Error::InvalidOption {
                name,
                message: format!("{value} must be a finite, {bound} number"),
            });
        }
        Ok(())
    };
    check("sync_period", opts.sync_period, true)?;
    check("tolerance", opts.tolerance, false)?;
    check(
        "cpu_initialization_period",
        opts.cpu_initialization_period,
        false,
    )?;
    check(
        "initial_readiness_delay",
        opts.initial_readiness_delay,
        false,
    )?;
    check(
        "downscale_stabilization",
        opts.downscale_stabilization,
        false,
    )
}
