//! Evaluating the metrics of one sync: port of `computeReplicasForMetrics`,
//! `computeReplicasForMetric`, `computeStatusForResourceMetric(Generic)` and
//! `computeStatusForExternalMetric` from `pkg/controller/podautoscaler/
//! horizontal.go`. The largest proposal wins; a metric that fails is
//! skipped when another one gives a proposal, the HPA does nothing when all
//! fail, and (upstream's `invalidMetricsCount > 0 && replicas <
//! specReplicas`) a failed metric forbids a scale-down.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::replicas::Ctx;
use super::spec::{ExternalTarget, MetricSource, ResourceTarget};
use super::status::set_condition;
use super::{
    ConditionStatus, ConditionType, Hpa, MetricError, MetricProposal, MetricValue, Observe,
    quantity,
};

/// What `computeReplicasForMetrics` returns.
pub(super) struct MetricsOutcome {
    /// `-1` when the HPA cannot act.
    pub(super) replicas: i32,
    pub(super) metric: String,
    pub(super) proposals: Vec<Result<MetricProposal, MetricError>>,
    pub(super) error: Option<String>,
}

impl Hpa {
    /// `computeReplicasForMetrics`.
    pub(super) fn compute_replicas_for_metrics<O: Observe + ?Sized>(
        &mut self,
        now: f64,
        spec_replicas: i32,
        obs: &O,
    ) -> MetricsOutcome {
        let status_replicas = obs.status_replicas();
        let ctx = Ctx {
            now,
            pods: obs.pods(),
            tolerances: self.tolerances,
        };
        let mut replicas = 0;
        let mut metric = String::new();
        let mut proposals = Vec::with_capacity(self.spec.metrics.len());
        let mut invalid_metrics_count = 0_usize;
        let mut first_invalid: Option<MetricError> = None;
        for (index, source) in self.spec.metrics.iter().enumerate() {
            let result = self.compute_replicas_for_metric(
                &ctx,
                index,
                source,
                spec_replicas,
                status_replicas,
                obs,
            );
            match result {
                Ok(p) => {
                    if replicas == 0 || p.replicas > replicas {
                        replicas = p.replicas;
                        metric.clone_from(&p.metric);
                    }
                    proposals.push(Ok(p));
                }
                Err(e) => {
                    if invalid_metrics_count == 0 {
                        first_invalid = Some(e.clone());
                    }
                    invalid_metrics_count += 1;
                    proposals.push(Err(e));
                }
            }
        }
        let total = self.spec.metrics.len();
        let error = first_invalid.as_ref().map(|e| {
            format!(
                "invalid metrics ({invalid_metrics_count} invalid out of {total}), first error is: {}",
                e.message
            )
        });
        // If all metrics are invalid or some are invalid and we would scale
        // down, the HPA does nothing, with the condition of the first
        // invalid metric.
        if invalid_metrics_count >= total || (invalid_metrics_count > 0 && replicas < spec_replicas)
        {
            if let Some(e) = &first_invalid {
                set_condition(
                    &mut self.conditions,
                    ConditionType::ScalingActive,
                    ConditionStatus::False,
                    &e.reason,
                    format!(
                        "the HPA was unable to compute the replica count: {}",
                        e.message
                    ),
                    now,
                );
            }
            return MetricsOutcome {
                replicas: -1,
                metric: String::new(),
                proposals,
                error,
            };
        }
        set_condition(
            &mut self.conditions,
            ConditionType::ScalingActive,
            ConditionStatus::True,
            "ValidMetricFound",
            format!("the HPA was able to successfully calculate a replica count from {metric}"),
            now,
        );
        MetricsOutcome {
            replicas,
            metric,
            proposals,
            error,
        }
    }

    /// `computeReplicasForMetric` with `computeStatusForResourceMetric(Generic)`
    /// and `computeStatusForExternalMetric`.
    fn compute_replicas_for_metric<O: Observe + ?Sized>(
        &self,
        ctx: &Ctx<'_>,
        index: usize,
        source: &MetricSource,
        spec_replicas: i32,
        status_replicas: i32,
        obs: &O,
    ) -> Result<MetricProposal, MetricError> {
        let calc = &self.calculator;
        match source {
            MetricSource::Resource { resource, target } => {
                let fail = |kind: &str, e: String| MetricError {
                    index,
                    reason: "FailedGetResourceMetric".to_owned(),
                    message: format!(
                        "failed to get {resource} resource metric value: failed to get {resource} {kind}: {e}"
                    ),
                };
                let metrics = obs.resource_metrics(*resource);
                match *target {
                    ResourceTarget::AverageValue(target_usage) => {
                        let r = calc
                            .get_raw_resource_replicas(
                                ctx,
                                spec_replicas,
                                target_usage,
                                *resource,
                                metrics,
                            )
                            .map_err(|e| fail("usage", e))?;
                        Ok(MetricProposal {
                            index,
                            metric: format!("{resource} resource"),
                            replicas: r.replicas,
                            current: MetricValue::ResourceAverageValue {
                                resource: *resource,
                                average_value_milli: r.usage,
                            },
                            timestamp: r.timestamp,
                        })
                    }
                    ResourceTarget::Utilization(target_utilization) => {
                        let r = calc
                            .get_resource_replicas(
                                ctx,
                                spec_replicas,
                                target_utilization,
                                *resource,
                                metrics,
                            )
                            .map_err(|e| fail("utilization", e))?;
                        Ok(MetricProposal {
                            index,
                            metric: format!(
                                "{resource} resource utilization (percentage of request)"
                            ),
                            replicas: r.replicas,
                            current: MetricValue::ResourceUtilization {
                                resource: *resource,
                                utilization: r.utilization,
                                average_value_milli: r.raw_utilization,
                            },
                            timestamp: r.timestamp,
                        })
                    }
                }
            }
            MetricSource::External {
                name,
                selector,
                target,
            } => {
                let values = obs
                    .external(name, selector.as_ref())
                    .map(|v| v.into_iter().map(quantity::f64_to_milli).collect());
                let description = format!(
                    "external metric {name}({})",
                    selector_string(selector.as_ref())
                );
                let fail = |e: String| MetricError {
                    index,
                    reason: "FailedGetExternalMetric".to_owned(),
                    message: format!("failed to get {name} external metric value: {e}"),
                };
                match *target {
                    ExternalTarget::AverageValue(per_pod) => {
                        let r = calc
                            .get_external_per_pod_metric_replicas(
                                ctx,
                                status_replicas,
                                per_pod,
                                values,
                            )
                            .map_err(|e| {
                                fail(format!("failed to get {name} external metric: {e}"))
                            })?;
                        Ok(MetricProposal {
                            index,
                            metric: description,
                            replicas: r.replicas,
                            current: MetricValue::ExternalAverageValue {
                                average_value_milli: r.usage,
                            },
                            timestamp: r.timestamp,
                        })
                    }
                    ExternalTarget::Value(total) => {
                        let r = calc
                            .get_external_metric_replicas(ctx, spec_replicas, total, values)
                            .map_err(|e| {
                                fail(format!("failed to get external metric {name}: {e}"))
                            })?;
                        Ok(MetricProposal {
                            index,
                            metric: description,
                            replicas: r.replicas,
                            current: MetricValue::ExternalValue {
                                value_milli: r.usage,
                            },
                            timestamp: r.timestamp,
                        })
                    }
                }
            }
        }
    }
}

/// A compact rendering of a metric selector for metric descriptions (Go
/// prints the struct with `%+v`).
fn selector_string(selector: Option<&LabelSelector>) -> String {
    let Some(selector) = selector else {
        return "nil".to_owned();
    };
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or_default().join(",");
        parts.push(format!("{} {} ({values})", e.key, e.operator));
    }
    parts.join(",")
}
