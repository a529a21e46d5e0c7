//! What a sync reports: the decision, each metric's proposal or error, and
//! the HPA status conditions (`AbleToScale`, `ScalingActive`,
//! `ScalingLimited`) with the reasons upstream sets, so a report can explain
//! why the replica count did or did not change.
//!
//! `set_condition` ports `setConditionInList` from horizontal.go.

use super::observe::{ConditionStatus, ResourceName};

/// An HPA status condition type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConditionType {
    /// Whether the HPA can fetch and update the scale (and whether a
    /// stabilization window held the recommendation back).
    AbleToScale,
    /// Whether a replica count could be computed from the metrics.
    ScalingActive,
    /// Whether min/max or a rate limit clamped the desired count.
    ScalingLimited,
}

impl ConditionType {
    /// The API name of the condition type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AbleToScale => "AbleToScale",
            Self::ScalingActive => "ScalingActive",
            Self::ScalingLimited => "ScalingLimited",
        }
    }
}

/// One HPA status condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The condition type.
    pub kind: ConditionType,
    /// `True` or `False`.
    pub status: ConditionStatus,
    /// Machine-readable reason (e.g. `ScaleDownStabilized`, `TooFewReplicas`).
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// When the status last changed (virtual seconds).
    pub last_transition_time: f64,
}

/// `setConditionInList`: adds or updates the condition of that type; the
/// transition time moves only when the status changes.
pub(super) fn set_condition(
    conditions: &mut Vec<Condition>,
    kind: ConditionType,
    status: ConditionStatus,
    reason: &str,
    message: String,
    now: f64,
) {
    let index = match conditions.iter().position(|c| c.kind == kind) {
        Some(i) => i,
        None => {
            conditions.push(Condition {
                kind,
                status,
                reason: String::new(),
                message: String::new(),
                last_transition_time: now,
            });
            conditions.len() - 1
        }
    };
    let condition = &mut conditions[index];
    if condition.status != status {
        condition.last_transition_time = now;
    }
    condition.status = status;
    condition.reason = reason.to_owned();
    condition.message = message;
}

/// The current value of a metric, as the HPA status reports it
/// (milli-values, like `resource.NewMilliQuantity` in upstream).
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    /// Resource metric with a `Utilization` target.
    ResourceUtilization {
        /// The resource.
        resource: ResourceName,
        /// Average utilization, percent of requests (integer, truncated).
        utilization: i32,
        /// Average usage per pod as a milli-value (CPU: millicores;
        /// memory: bytes × 1000).
        average_value_milli: i64,
    },
    /// Resource metric with an `AverageValue` target.
    ResourceAverageValue {
        /// The resource.
        resource: ResourceName,
        /// Average usage per pod (milli-value).
        average_value_milli: i64,
    },
    /// External metric with a `Value` target: the sum of the items.
    ExternalValue {
        /// Sum of the item values (milli-value).
        value_milli: i64,
    },
    /// External metric with an `AverageValue` target.
    ExternalAverageValue {
        /// Sum of the items divided by `status.replicas`, rounded up
        /// (milli-value).
        average_value_milli: i64,
    },
}

/// One metric's replica proposal.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricProposal {
    /// Index of the metric in `spec.metrics` (after defaulting).
    pub index: usize,
    /// Upstream's description, e.g. `cpu resource utilization (percentage of
    /// request)` or `external metric queue_depth(…)`.
    pub metric: String,
    /// Proposed replica count.
    pub replicas: i32,
    /// The value the proposal was computed from.
    pub current: MetricValue,
    /// Timestamp of the metric sample the proposal is based on.
    pub timestamp: f64,
}

/// One metric that could not be evaluated this sync.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricError {
    /// Index of the metric in `spec.metrics` (after defaulting).
    pub index: usize,
    /// Condition reason, e.g. `FailedGetExternalMetric`.
    pub reason: String,
    /// The error, worded as upstream does.
    pub message: String,
}

/// The outcome of one sync.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// Virtual time of the sync.
    pub time: f64,
    /// `scale.spec.replicas` the sync started from.
    pub current_replicas: i32,
    /// The replica count to set (equal to `current_replicas` when the HPA
    /// does not rescale).
    pub desired_replicas: i32,
    /// Whether the HPA rescaled the target this sync.
    pub scaled: bool,
    /// The largest metric proposal (before stabilization, rate limits and
    /// clamping); `None` when metrics were not evaluated or all failed (or a
    /// failure forbade scaling down).
    pub metric_replicas: Option<i32>,
    /// The metric behind `metric_replicas`.
    pub metric_name: Option<String>,
    /// Each metric's proposal or error, in spec order; empty when the sync
    /// did not evaluate metrics (scaling disabled, replicas outside
    /// min/max).
    pub proposals: Vec<Result<MetricProposal, MetricError>>,
    /// The recommendation after the stabilization window, before rate
    /// limits and min/max (`None` when no normalization ran).
    pub stabilized_replicas: Option<i32>,
    /// `ScaleUpStabilized` or `ScaleDownStabilized` when the stabilization
    /// window changed the recommendation (kept here because a rescale
    /// overwrites the `AbleToScale` reason with `SucceededRescale`).
    pub stabilization_reason: Option<String>,
    /// The rescale reason upstream puts in the `SuccessfulRescale` event
    /// (`… above target`, `All metrics below target`, …).
    pub reason: Option<String>,
    /// The error the sync returned, if any (it may have scaled anyway, when
    /// another metric gave a proposal).
    pub error: Option<String>,
    /// The HPA's status conditions after the sync.
    pub conditions: Vec<Condition>,
}

impl Decision {
    /// The condition of type `kind`, if set.
    pub fn condition(&self, kind: ConditionType) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }

    /// The `ScalingLimited` reason when the desired count was clamped
    /// (`TooFewReplicas`, `TooManyReplicas`, `ScaleUpLimit`,
    /// `ScaleDownLimit`).
    pub fn limited_by(&self) -> Option<&str> {
        self.condition(ConditionType::ScalingLimited)
            .filter(|c| c.status == ConditionStatus::True)
            .map(|c| c.reason.as_str())
    }

    /// Whether `ScalingActive` is `False`: no replica count could be
    /// computed (all metrics failed, or one failed while the others proposed
    /// a scale-down), or scaling is disabled (the target has zero replicas).
    pub fn metrics_failed(&self) -> bool {
        self.condition(ConditionType::ScalingActive)
            .is_some_and(|c| c.status == ConditionStatus::False)
    }
}
