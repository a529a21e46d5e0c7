//! From an autoscaling/v2 `HorizontalPodAutoscalerSpec` to the validated,
//! defaulted form the controller port works on.
//!
//! Defaulting is a port of `pkg/apis/autoscaling/v2/defaults.go`
//! (`SetDefaults_HorizontalPodAutoscaler`,
//! `SetDefaults_HorizontalPodAutoscalerBehavior`, `GenerateHPAScaleUpRules`,
//! `GenerateHPAScaleDownRules`, `copyHPAScalingRules`) plus the controller's
//! `maybeInitScaleDownStabilizationWindow` (horizontal.go). Validation keeps
//! the rules of `pkg/apis/autoscaling/validation/validation.go` that matter
//! to a simulation (replica bounds, metric targets, scaling rules) and
//! rejects what the simulator does not model (Pods, Object and
//! ContainerResource metrics; resources other than cpu and memory).

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::observe::ResourceName;
use super::quantity::Quantity;
use super::{ControllerOptions, Error};

/// `autoscaling.DefaultCPUUtilization`: the target of the metric the API
/// adds when `metrics` is empty.
const DEFAULT_CPU_UTILIZATION: i32 = 80;
/// Upper bound of `stabilizationWindowSeconds` (API validation).
const MAX_STABILIZATION_WINDOW_SECONDS: i32 = 3600;
/// Upper bound of a policy's `periodSeconds` (API validation).
const MAX_PERIOD_SECONDS: i32 = 1800;

/// Target of an External metric (values are milli-values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ExternalTarget {
    /// `type: Value`: the sum of the items against `value`.
    Value(i64),
    /// `type: AverageValue`: the sum of the items per replica.
    AverageValue(i64),
}

/// Target of a Resource metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ResourceTarget {
    /// `type: Utilization`: percent of the pods' requests.
    Utilization(i32),
    /// `type: AverageValue`: raw per-pod usage (milli-value).
    AverageValue(i64),
}

/// One supported metric source.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum MetricSource {
    /// `type: External`.
    External {
        name: String,
        selector: Option<LabelSelector>,
        target: ExternalTarget,
    },
    /// `type: Resource`.
    Resource {
        resource: ResourceName,
        target: ResourceTarget,
    },
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SelectPolicy {
    /// Pick the policy allowing the largest change.
    Max,
    /// Pick the policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// A policy's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PolicyType {
    /// Absolute number of pods per period.
    Pods,
    /// Percent of the replicas at the start of the period.
    Percent,
}

/// One `HPAScalingPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ScalingPolicy {
    pub(super) kind: PolicyType,
    pub(super) value: i32,
    pub(super) period_seconds: i32,
}

/// Fully defaulted `HPAScalingRules` for one direction.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ScalingRules {
    pub(super) stabilization_window_seconds: i32,
    pub(super) select_policy: SelectPolicy,
    pub(super) policies: Vec<ScalingPolicy>,
    pub(super) tolerance: Option<f64>,
}

/// Fully defaulted `behavior`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Behavior {
    pub(super) scale_up: ScalingRules,
    pub(super) scale_down: ScalingRules,
}

/// The spec as the controller uses it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ParsedSpec {
    pub(super) min_replicas: i32,
    pub(super) max_replicas: i32,
    pub(super) metrics: Vec<MetricSource>,
    pub(super) behavior: Option<Behavior>,
}

/// Scaling direction, for defaults and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Direction {
    /// `behavior.scaleUp`.
    Up,
    /// `behavior.scaleDown`.
    Down,
}

impl Direction {
    fn field(self) -> &'static str {
        match self {
            Self::Up => "scaleUp",
            Self::Down => "scaleDown",
        }
    }
}

/// `defaultHPAScaleUpRules` (defaults.go): no stabilization, Max of
/// 4 pods / 15 s and 100 % / 15 s.
pub(super) fn default_scale_up_rules() -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: 0,
        select_policy: SelectPolicy::Max,
        policies: vec![
            ScalingPolicy {
                kind: PolicyType::Pods,
                value: 4,
                period_seconds: 15,
            },
            ScalingPolicy {
                kind: PolicyType::Percent,
                value: 100,
                period_seconds: 15,
            },
        ],
        tolerance: None,
    }
}

/// `defaultHPAScaleDownRules` (defaults.go): 100 % / 15 s, Max; the window
/// stays unset in the API and the controller fills in its
/// `--horizontal-pod-autoscaler-downscale-stabilization` value
/// (`maybeInitScaleDownStabilizationWindow`), passed here.
pub(super) fn default_scale_down_rules(downscale_window_seconds: i32) -> ScalingRules {
    ScalingRules {
        stabilization_window_seconds: downscale_window_seconds,
        select_policy: SelectPolicy::Max,
        policies: vec![ScalingPolicy {
            kind: PolicyType::Percent,
            value: 100,
            period_seconds: 15,
        }],
        tolerance: None,
    }
}

/// `GenerateHPAScale{Up,Down}Rules` + `copyHPAScalingRules`: every field the
/// user set replaces the default, with validation.
pub(super) fn generate_rules(
    from: Option<&HPAScalingRules>,
    direction: Direction,
    downscale_window_seconds: i32,
) -> Result<ScalingRules, Error> {
    let mut rules = match direction {
        Direction::Up => default_scale_up_rules(),
        Direction::Down => default_scale_down_rules(downscale_window_seconds),
    };
    let Some(from) = from else {
        return Ok(rules);
    };
    let invalid = |message: String| Error::InvalidBehavior {
        direction: direction.field(),
        message,
    };
    if let Some(select) = &from.select_policy {
        rules.select_policy = match select.as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            other => {
                return Err(invalid(format!(
                    "selectPolicy {other:?} must be Max, Min or Disabled"
                )));
            }
        };
    }
    if let Some(window) = from.stabilization_window_seconds {
        if !(0..=MAX_STABILIZATION_WINDOW_SECONDS).contains(&window) {
            return Err(invalid(format!(
                "stabilizationWindowSeconds {window} must be within 0..={MAX_STABILIZATION_WINDOW_SECONDS}"
            )));
        }
        rules.stabilization_window_seconds = window;
    }
    if let Some(policies) = &from.policies {
        if policies.is_empty() {
            return Err(invalid("must specify at least one policy".to_owned()));
        }
        rules.policies = policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let kind = match p.type_.as_str() {
                    "Pods" => PolicyType::Pods,
                    "Percent" => PolicyType::Percent,
                    other => {
                        return Err(invalid(format!(
                            "policies[{i}].type {other:?} must be Pods or Percent"
                        )));
                    }
                };
                if p.value <= 0 {
                    return Err(invalid(format!(
                        "policies[{i}].value {} must be greater than zero",
                        p.value
                    )));
                }
                if !(1..=MAX_PERIOD_SECONDS).contains(&p.period_seconds) {
                    return Err(invalid(format!(
                        "policies[{i}].periodSeconds {} must be within 1..={MAX_PERIOD_SECONDS}",
                        p.period_seconds
                    )));
                }
                Ok(ScalingPolicy {
                    kind,
                    value: p.value,
                    period_seconds: p.period_seconds,
                })
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(tolerance) = &from.tolerance {
        let field = format!("spec.behavior.{}.tolerance", direction.field());
        let q = parse_quantity(&field, &tolerance.0)?;
        if q.is_negative() {
            return Err(invalid(format!(
                "tolerance {:?} must be greater than or equal to zero",
                tolerance.0
            )));
        }
        rules.tolerance = Some(q.as_f64());
    }
    Ok(rules)
}

/// Validates `spec` and applies the API defaults.
pub(super) fn parse(
    spec: &HorizontalPodAutoscalerSpec,
    opts: &ControllerOptions,
) -> Result<ParsedSpec, Error> {
    let min_replicas = spec.min_replicas.unwrap_or(1);
    let max_replicas = spec.max_replicas;
    if max_replicas < 1 {
        return Err(Error::MaxReplicasTooSmall(max_replicas));
    }
    if min_replicas < 0 || (min_replicas == 0 && !opts.allow_scale_to_zero) {
        return Err(Error::MinReplicasTooSmall(min_replicas));
    }
    if min_replicas > max_replicas {
        return Err(Error::MinAboveMax {
            min: min_replicas,
            max: max_replicas,
        });
    }

    let metrics = match spec.metrics.as_deref() {
        None | Some([]) => vec![MetricSource::Resource {
            resource: ResourceName::Cpu,
            target: ResourceTarget::Utilization(DEFAULT_CPU_UTILIZATION),
        }],
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(index, m)| parse_metric(index, m))
            .collect::<Result<_, _>>()?,
    };
    if min_replicas == 0
        && !metrics
            .iter()
            .any(|m| matches!(m, MetricSource::External { .. }))
    {
        return Err(Error::ScaleToZeroNeedsExternalMetric);
    }

    let downscale_window = window_seconds(opts.downscale_stabilization);
    let behavior = match &spec.behavior {
        None => None,
        Some(b) => Some(Behavior {
            scale_up: generate_rules(b.scale_up.as_ref(), Direction::Up, downscale_window)?,
            scale_down: generate_rules(b.scale_down.as_ref(), Direction::Down, downscale_window)?,
        }),
    };
    Ok(ParsedSpec {
        min_replicas,
        max_replicas,
        metrics,
        behavior,
    })
}

/// `(int32)(a.downscaleStabilisationWindow.Seconds())`: truncation toward
/// zero, saturating.
pub(super) fn window_seconds(seconds: f64) -> i32 {
    #[allow(clippy::cast_possible_truncation)]
    let s = seconds as i32;
    s
}

fn parse_metric(index: usize, m: &MetricSpec) -> Result<MetricSource, Error> {
    let invalid = |message: String| Error::InvalidMetric { index, message };
    match m.type_.as_str() {
        "External" => {
            let ext = m
                .external
                .as_ref()
                .ok_or_else(|| invalid("type External needs an `external` source".to_owned()))?;
            if ext.metric.name.is_empty() {
                return Err(invalid("external.metric.name must not be empty".to_owned()));
            }
            let target = &ext.target;
            let field = format!("spec.metrics[{index}].external.target");
            let target = match target.type_.as_str() {
                "Value" => ExternalTarget::Value(positive_quantity(
                    index,
                    &field,
                    "value",
                    target,
                    target.value.as_ref().map(|q| q.0.as_str()),
                )?),
                "AverageValue" => ExternalTarget::AverageValue(positive_quantity(
                    index,
                    &field,
                    "averageValue",
                    target,
                    target.average_value.as_ref().map(|q| q.0.as_str()),
                )?),
                other => {
                    return Err(invalid(format!(
                        "external target type {other:?} must be Value or AverageValue"
                    )));
                }
            };
            Ok(MetricSource::External {
                name: ext.metric.name.clone(),
                selector: ext.metric.selector.clone(),
                target,
            })
        }
        "Resource" => {
            let res = m
                .resource
                .as_ref()
                .ok_or_else(|| invalid("type Resource needs a `resource` source".to_owned()))?;
            let resource =
                ResourceName::parse(&res.name).ok_or_else(|| Error::UnsupportedResource {
                    index,
                    name: res.name.clone(),
                })?;
            let target = &res.target;
            let field = format!("spec.metrics[{index}].resource.target");
            let target = match target.type_.as_str() {
                "Utilization" => {
                    only_field(index, target, "averageUtilization")?;
                    match target.average_utilization {
                        Some(u) if u > 0 => ResourceTarget::Utilization(u),
                        Some(u) => {
                            return Err(invalid(format!(
                                "averageUtilization {u} must be greater than zero"
                            )));
                        }
                        None => {
                            return Err(invalid(
                                "type Utilization needs averageUtilization".to_owned(),
                            ));
                        }
                    }
                }
                "AverageValue" => ResourceTarget::AverageValue(positive_quantity(
                    index,
                    &field,
                    "averageValue",
                    target,
                    target.average_value.as_ref().map(|q| q.0.as_str()),
                )?),
                other => {
                    return Err(invalid(format!(
                        "resource target type {other:?} must be Utilization or AverageValue"
                    )));
                }
            };
            Ok(MetricSource::Resource { resource, target })
        }
        other => Err(Error::UnsupportedMetricType {
            index,
            kind: other.to_owned(),
        }),
    }
}

/// Rejects targets that set a field other than `wanted` (the API's "may not
/// set both" rules).
fn only_field(index: usize, target: &MetricTarget, wanted: &str) -> Result<(), Error> {
    let set = [
        ("value", target.value.is_some()),
        ("averageValue", target.average_value.is_some()),
        ("averageUtilization", target.average_utilization.is_some()),
    ];
    match set.iter().find(|(name, is_set)| *is_set && *name != wanted) {
        Some((name, _)) => Err(Error::InvalidMetric {
            index,
            message: format!(
                "target type {} sets {name}, which it does not use",
                target.type_
            ),
        }),
        None => Ok(()),
    }
}

/// The milli-value of the quantity a target type needs, which must be set
/// and positive.
fn positive_quantity(
    index: usize,
    field: &str,
    wanted: &str,
    target: &MetricTarget,
    raw: Option<&str>,
) -> Result<i64, Error> {
    only_field(index, target, wanted)?;
    let raw = raw.ok_or_else(|| Error::InvalidMetric {
        index,
        message: format!("target type {} needs {wanted}", target.type_),
    })?;
    let q = parse_quantity(&format!("{field}.{wanted}"), raw)?;
    if !q.is_positive() {
        return Err(Error::InvalidMetric {
            index,
            message: format!("{wanted} {raw:?} must be positive"),
        });
    }
    q.milli_value().map_err(|message| Error::InvalidQuantity {
        field: format!("{field}.{wanted}"),
        value: raw.to_owned(),
        message,
    })
}

fn parse_quantity(field: &str, raw: &str) -> Result<Quantity, Error> {
    Quantity::parse(raw).map_err(|message| Error::InvalidQuantity {
        field: field.to_owned(),
        value: raw.to_owned(),
        message,
    })
}
