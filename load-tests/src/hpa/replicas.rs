//! The replica calculator: from one metric's observation to a replica
//! proposal.
//!
//! Port of `pkg/controller/podautoscaler/replica_calculator.go`
//! (`Tolerances.isWithin`, `GetResourceReplicas`, `GetRawResourceReplicas`,
//! `calcPlainMetricReplicas`, `getUsageRatioReplicaCount`,
//! `GetExternalMetricReplicas`, `GetExternalPerPodMetricReplicas`,
//! `getReadyPodsCount`, `groupPods`, `calculateRequests`,
//! `removeMetricsForPods`) and `pkg/controller/podautoscaler/metrics/
//! utilization.go` (`GetResourceUtilizationRatio`, `GetMetricUsageRatio`),
//! plus the empty-answer checks of `metrics/client.go`. Sums use `i128`, as
//! the newest upstream falls back to `big.Int`, so they cannot overflow.

use std::collections::{BTreeMap, BTreeSet};

use super::observe::{ConditionStatus, PodMetric, PodPhase, PodState, ResourceName};

/// Scale-up and scale-down tolerances on the usage ratio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Tolerances {
    pub(super) scale_down: f64,
    pub(super) scale_up: f64,
}

impl Tolerances {
    /// `Tolerances.isWithin`: no change while
    /// `1 - scaleDown <= ratio <= 1 + scaleUp`.
    pub(super) fn is_within(self, usage_ratio: f64) -> bool {
        (1.0 - self.scale_down) <= usage_ratio && usage_ratio <= (1.0 + self.scale_up)
    }
}

/// `metrics.PodMetric`: one pod's sample, value as a milli-value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Metric {
    pub(super) value: i64,
    pub(super) timestamp: f64,
    pub(super) window: f64,
}

impl Metric {
    fn value(value: i64) -> Self {
        Self {
            value,
            timestamp: 0.0,
            window: 0.0,
        }
    }
}

/// `metrics.PodMetricsInfo`, keyed by pod name.
pub(super) type PodMetricsInfo = BTreeMap<String, Metric>;

/// The inputs every calculation shares.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ctx<'a> {
    /// Virtual time of the sync.
    pub(super) now: f64,
    /// The pod lister's answer for the target's selector.
    pub(super) pods: &'a [PodState],
    /// The HPA's tolerances.
    pub(super) tolerances: Tolerances,
}

/// `groupPods`' result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct PodGroups {
    pub(super) ready_pod_count: usize,
    pub(super) unready: BTreeSet<String>,
    pub(super) missing: BTreeSet<String>,
    pub(super) ignored: BTreeSet<String>,
}

/// `GetResourceReplicas`' result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ResourceReplicas {
    pub(super) replicas: i32,
    pub(super) utilization: i32,
    pub(super) raw_utilization: i64,
    pub(super) timestamp: f64,
}

/// Result of the plain-value calculations (raw resource, external).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct PlainReplicas {
    pub(super) replicas: i32,
    pub(super) usage: i64,
    pub(super) timestamp: f64,
}

/// `ReplicaCalculator`: the two readiness flags of the controller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ReplicaCalculator {
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (seconds).
    pub(super) cpu_initialization_period: f64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (seconds).
    pub(super) delay_of_initial_readiness_status: f64,
}

const NO_PODS: &str = "no pods returned by selector while calculating replica count";
const NO_METRICS_FOR_PODS: &str =
    "did not receive metrics for targeted pods (pods might be unready)";

/// `int32(math.Ceil(x))`, saturating (Go leaves overflow undefined).
fn ceil_i32(x: f64) -> i32 {
    #[allow(clippy::cast_possible_truncation)]
    let c = x.ceil() as i32;
    c
}

/// Lossy but deliberate integer→float conversion for ratios (Go: `float64(n)`).
#[allow(clippy::cast_precision_loss)]
fn f(n: i128) -> f64 {
    n as f64
}

fn saturate_i64(n: i128) -> i64 {
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

impl ReplicaCalculator {
    /// `GetResourceReplicas`: target utilization as a percent of requests.
    pub(super) fn get_resource_replicas(
        &self,
        ctx: &Ctx<'_>,
        current_replicas: i32,
        target_utilization: i32,
        resource: ResourceName,
        metrics: Result<Vec<PodMetric>, String>,
    ) -> Result<ResourceReplicas, String> {
        let (mut metrics, timestamp) = resource_metrics(resource, metrics)?;
        if ctx.pods.is_empty() {
            return Err(NO_PODS.to_owned());
        }
        let groups = self.group_pods(ctx.now, ctx.pods, &metrics, Some(resource));
        remove_metrics_for_pods(&mut metrics, &groups.ignored);
        remove_metrics_for_pods(&mut metrics, &groups.unready);
        if metrics.is_empty() {
            return Err(NO_METRICS_FOR_PODS.to_owned());
        }
        let requests = calculate_requests(ctx.pods, resource)?;
        let (usage_ratio, utilization, raw_utilization) =
            get_resource_utilization_ratio(&metrics, &requests, target_utilization)?;

        let scale_up_with_unready = !groups.unready.is_empty() && usage_ratio > 1.0;
        if !scale_up_with_unready && groups.missing.is_empty() {
            let replicas = if ctx.tolerances.is_within(usage_ratio) {
                // return the current replicas if the change would be too small
                current_replicas
            } else {
                // no unready or missing pods: the new replica count now
                ceil_i32(usage_ratio * f(groups.ready_pod_count as i128))
            };
            return Ok(ResourceReplicas {
                replicas,
                utilization,
                raw_utilization,
                timestamp,
            });
        }

        if !groups.missing.is_empty() {
            if usage_ratio < 1.0 {
                // on a scale-down, treat missing pods as using 100% (all) of the
                // resource request, or the target for targets above 100%
                let fallback = i128::from(target_utilization.max(100));
                for pod in &groups.missing {
                    let request = i128::from(requests.get(pod).copied().unwrap_or(0));
                    let value = saturate_i64(request * fallback / 100);
                    metrics.insert(pod.clone(), Metric::value(value));
                }
            } else if usage_ratio > 1.0 {
                // on a scale-up, treat missing pods as using 0% of the request
                for pod in &groups.missing {
                    metrics.insert(pod.clone(), Metric::value(0));
                }
            }
        }
        if scale_up_with_unready {
            // on a scale-up, treat unready pods as using 0% of the request
            for pod in &groups.unready {
                metrics.insert(pod.clone(), Metric::value(0));
            }
        }

        // re-run the utilization calculation with our new numbers
        let (new_usage_ratio, _, _) =
            get_resource_utilization_ratio(&metrics, &requests, target_utilization)?;
        let replicas = self.rebalanced_replicas(
            ctx,
            current_replicas,
            usage_ratio,
            new_usage_ratio,
            metrics.len(),
        );
        Ok(ResourceReplicas {
            replicas,
            utilization,
            raw_utilization,
            timestamp,
        })
    }

    /// The common tail of `GetResourceReplicas` and `calcPlainMetricReplicas`
    /// once missing and unready pods have been filled in.
    fn rebalanced_replicas(
        &self,
        ctx: &Ctx<'_>,
        current_replicas: i32,
        usage_ratio: f64,
        new_usage_ratio: f64,
        metric_count: usize,
    ) -> i32 {
        if ctx.tolerances.is_within(new_usage_ratio)
            || (usage_ratio < 1.0 && new_usage_ratio > 1.0)
            || (usage_ratio > 1.0 && new_usage_ratio < 1.0)
        {
            // the change would be too small, or the new usage ratio would
            // change the scale direction
            return current_replicas;
        }
        let new_replicas = ceil_i32(new_usage_ratio * f(metric_count as i128));
        if (new_usage_ratio < 1.0 && new_replicas > current_replicas)
            || (new_usage_ratio > 1.0 && new_replicas < current_replicas)
        {
            // the change of metrics length would change the scale direction
            return current_replicas;
        }
        // the number of replicas considered is however many replicas
        // factored into our calculation
        new_replicas
    }

    /// `GetRawResourceReplicas`: target per-pod usage (`AverageValue`).
    pub(super) fn get_raw_resource_replicas(
        &self,
        ctx: &Ctx<'_>,
        current_replicas: i32,
        target_usage: i64,
        resource: ResourceName,
        metrics: Result<Vec<PodMetric>, String>,
    ) -> Result<PlainReplicas, String> {
        let (metrics, timestamp) = resource_metrics(resource, metrics)?;
        let (replicas, usage) = self.calc_plain_metric_replicas(
            ctx,
            metrics,
            current_replicas,
            target_usage,
            resource,
        )?;
        Ok(PlainReplicas {
            replicas,
            usage,
            timestamp,
        })
    }

    /// `calcPlainMetricReplicas`: per-pod values against a per-pod target.
    pub(super) fn calc_plain_metric_replicas(
        &self,
        ctx: &Ctx<'_>,
        mut metrics: PodMetricsInfo,
        current_replicas: i32,
        target_usage: i64,
        resource: ResourceName,
    ) -> Result<(i32, i64), String> {
        if ctx.pods.is_empty() {
            return Err(NO_PODS.to_owned());
        }
        let groups = self.group_pods(ctx.now, ctx.pods, &metrics, Some(resource));
        remove_metrics_for_pods(&mut metrics, &groups.ignored);
        remove_metrics_for_pods(&mut metrics, &groups.unready);
        if metrics.is_empty() {
            return Err(NO_METRICS_FOR_PODS.to_owned());
        }
        let (usage_ratio, usage) = get_metric_usage_ratio(&metrics, target_usage);

        let scale_up_with_unready = !groups.unready.is_empty() && usage_ratio > 1.0;
        if !scale_up_with_unready && groups.missing.is_empty() {
            if ctx.tolerances.is_within(usage_ratio) {
                return Ok((current_replicas, usage));
            }
            return Ok((
                ceil_i32(usage_ratio * f(groups.ready_pod_count as i128)),
                usage,
            ));
        }
        if !groups.missing.is_empty() {
            if usage_ratio < 1.0 {
                // on a scale-down, treat missing pods as using exactly the target
                for pod in &groups.missing {
                    metrics.insert(pod.clone(), Metric::value(target_usage));
                }
            } else if usage_ratio > 1.0 {
                // on a scale-up, treat missing pods as using 0%
                for pod in &groups.missing {
                    metrics.insert(pod.clone(), Metric::value(0));
                }
            }
        }
        if scale_up_with_unready {
            for pod in &groups.unready {
                metrics.insert(pod.clone(), Metric::value(0));
            }
        }
        let (new_usage_ratio, _) = get_metric_usage_ratio(&metrics, target_usage);
        let replicas = self.rebalanced_replicas(
            ctx,
            current_replicas,
            usage_ratio,
            new_usage_ratio,
            metrics.len(),
        );
        Ok((replicas, usage))
    }

    /// `GetExternalMetricReplicas`: the sum of the items against a total.
    pub(super) fn get_external_metric_replicas(
        &self,
        ctx: &Ctx<'_>,
        current_replicas: i32,
        target_usage: i64,
        values: Result<Vec<i64>, String>,
    ) -> Result<PlainReplicas, String> {
        let values = external_values(values)?;
        let usage = values.iter().fold(0_i64, |acc, v| acc.saturating_add(*v));
        let usage_ratio = f(i128::from(usage)) / f(i128::from(target_usage));
        let replicas = self.get_usage_ratio_replica_count(ctx, current_replicas, usage_ratio)?;
        Ok(PlainReplicas {
            replicas,
            usage,
            timestamp: ctx.now,
        })
    }

    /// `getUsageRatioReplicaCount`: ratio × ready pods, or `ceil(ratio)` from
    /// zero replicas (tolerance ignored, to support scaling from zero).
    pub(super) fn get_usage_ratio_replica_count(
        &self,
        ctx: &Ctx<'_>,
        current_replicas: i32,
        usage_ratio: f64,
    ) -> Result<i32, String> {
        if current_replicas == 0 {
            return Ok(ceil_i32(usage_ratio));
        }
        if ctx.tolerances.is_within(usage_ratio) {
            return Ok(current_replicas);
        }
        let ready = get_ready_pods_count(ctx.pods)
            .map_err(|e| format!("unable to calculate ready pods: {e}"))?;
        let replica_count = usage_ratio * f(ready as i128);
        if replica_count > f64::from(i32::MAX) {
            return Ok(i32::MAX);
        }
        Ok(ceil_i32(replica_count))
    }

    /// `GetExternalPerPodMetricReplicas`: the sum of the items per replica
    /// (`status.replicas`), independent of readiness.
    pub(super) fn get_external_per_pod_metric_replicas(
        &self,
        ctx: &Ctx<'_>,
        status_replicas: i32,
        target_usage_per_pod: i64,
        values: Result<Vec<i64>, String>,
    ) -> Result<PlainReplicas, String> {
        let values = external_values(values)?;
        let usage = values
            .iter()
            .try_fold(0_i64, |acc, v| acc.checked_add(*v))
            // the only way to overflow: an int64 overflow of the sum
            .unwrap_or(i64::MAX);
        let mut replicas = status_replicas;
        let usage_ratio = f(i128::from(usage))
            / (f(i128::from(target_usage_per_pod)) * f64::from(status_replicas));
        if !ctx.tolerances.is_within(usage_ratio) {
            // update the number of replicas if the change is large enough
            let result = (f(i128::from(usage)) / f(i128::from(target_usage_per_pod))).ceil();
            replicas = if result > f64::from(i32::MAX) {
                i32::MAX
            } else {
                ceil_i32(result)
            };
        }
        let average = if f(i128::from(usage)) >= f(i128::from(i64::MAX)) {
            i64::MAX
        } else {
            #[allow(clippy::cast_possible_truncation)]
            let a = (f(i128::from(usage)) / f64::from(status_replicas)).ceil() as i64;
            a
        };
        Ok(PlainReplicas {
            replicas,
            usage: average,
            timestamp: ctx.now,
        })
    }

    /// `groupPods`: sorts the pods into ready (counted), unready, missing (no
    /// sample) and ignored (terminating or failed). For CPU, a pod is unready
    /// while it has no `Ready` condition or start time; within the CPU
    /// initialization period when it is not ready or its sample does not
    /// cover a full window since the last readiness transition; and after it
    /// when it is not ready and has never been ready (its condition last
    /// changed within the initial readiness delay of the start).
    pub(super) fn group_pods(
        &self,
        now: f64,
        pods: &[PodState],
        metrics: &PodMetricsInfo,
        resource: Option<ResourceName>,
    ) -> PodGroups {
        let mut groups = PodGroups::default();
        for pod in pods {
            if pod.deleting || pod.phase == PodPhase::Failed {
                groups.ignored.insert(pod.name.clone());
                continue;
            }
            // Pending pods are ignored (as unready).
            if pod.phase == PodPhase::Pending {
                groups.unready.insert(pod.name.clone());
                continue;
            }
            // Pods missing metrics.
            let Some(metric) = metrics.get(&pod.name) else {
                groups.missing.insert(pod.name.clone());
                continue;
            };
            // Unready pods are ignored.
            if resource == Some(ResourceName::Cpu) {
                let unready = match (pod.ready, pod.start_time) {
                    (Some(condition), Some(start)) => {
                        if start + self.cpu_initialization_period > now {
                            // Pod still within the initialization period: ignore the
                            // sample if the pod is unready or one window of metric
                            // wasn't collected since the last state transition.
                            condition.status == ConditionStatus::False
                                || metric.timestamp < condition.last_transition_time + metric.window
                        } else {
                            // Ignore the metric if the pod is unready and it has never
                            // been ready.
                            condition.status == ConditionStatus::False
                                && start + self.delay_of_initial_readiness_status
                                    > condition.last_transition_time
                        }
                    }
                    _ => true,
                };
                if unready {
                    groups.unready.insert(pod.name.clone());
                    continue;
                }
            }
            groups.ready_pod_count += 1;
        }
        groups
    }
}

/// The metrics client's conversion of a `PodMetricsList` (and its
/// "no metrics returned" check), wrapped like `GetResourceReplicas` wraps it.
fn resource_metrics(
    resource: ResourceName,
    metrics: Result<Vec<PodMetric>, String>,
) -> Result<(PodMetricsInfo, f64), String> {
    let wrap = |e: String| format!("unable to get metrics for resource {resource}: {e}");
    let list = metrics.map_err(|e| {
        wrap(format!(
            "unable to fetch metrics from resource metrics API: {e}"
        ))
    })?;
    let Some(first) = list.first() else {
        return Err(wrap(
            "no metrics returned from resource metrics API".to_owned(),
        ));
    };
    let timestamp = first.sample.timestamp;
    let factor = i128::from(resource.milli_per_unit());
    let info = list
        .into_iter()
        .map(|m| {
            let value = saturate_i64(i128::from(m.sample.value) * factor);
            (
                m.pod,
                Metric {
                    value,
                    timestamp: m.sample.timestamp,
                    window: m.sample.window,
                },
            )
        })
        .collect();
    Ok((info, timestamp))
}

/// The external metrics client's "no metrics returned" check.
fn external_values(values: Result<Vec<i64>, String>) -> Result<Vec<i64>, String> {
    let values =
        values.map_err(|e| format!("unable to fetch metrics from external metrics API: {e}"))?;
    if values.is_empty() {
        return Err("no metrics returned from external metrics API".to_owned());
    }
    Ok(values)
}

/// `getReadyPodsCount`: running pods with `Ready=True`.
pub(super) fn get_ready_pods_count(pods: &[PodState]) -> Result<usize, String> {
    if pods.is_empty() {
        return Err(NO_PODS.to_owned());
    }
    Ok(pods.iter().filter(|p| p.is_running_and_ready()).count())
}

/// `calculateRequests`: each pod's request (milli-value), an error if a pod
/// lacks one.
pub(super) fn calculate_requests(
    pods: &[PodState],
    resource: ResourceName,
) -> Result<BTreeMap<String, i64>, String> {
    let factor = i128::from(resource.milli_per_unit());
    pods.iter()
        .map(|pod| match pod.request(resource) {
            Some(r) => Ok((pod.name.clone(), saturate_i64(i128::from(r) * factor))),
            None => Err(format!(
                "missing request for {resource} in Pod {}",
                pod.name
            )),
        })
        .collect()
}

/// `removeMetricsForPods`.
fn remove_metrics_for_pods(metrics: &mut PodMetricsInfo, pods: &BTreeSet<String>) {
    for pod in pods {
        metrics.remove(pod);
    }
}

/// `GetResourceUtilizationRatio`: (usage ratio, utilization percent, raw
/// average value). Metrics of pods without a request are extraneous and
/// skipped.
pub(super) fn get_resource_utilization_ratio(
    metrics: &PodMetricsInfo,
    requests: &BTreeMap<String, i64>,
    target_utilization: i32,
) -> Result<(f64, i32, i64), String> {
    let mut metrics_total: i128 = 0;
    let mut requests_total: i128 = 0;
    let mut entries: i128 = 0;
    for (pod, metric) in metrics {
        let Some(request) = requests.get(pod) else {
            // we check for missing requests elsewhere, so assuming missing
            // requests == extraneous metrics
            continue;
        };
        metrics_total += i128::from(metric.value);
        requests_total += i128::from(*request);
        entries += 1;
    }
    // if the set of requests is completely disjoint from the set of metrics,
    // then we could have an issue where the requests total is zero
    if requests_total == 0 {
        return Err("no metrics returned matched known pods".to_owned());
    }
    let percentage = metrics_total * 100 / requests_total;
    let utilization = i32::try_from(percentage)
        .map_err(|_| format!("resource utilization {percentage} is outside the int32 range"))?;
    let raw = saturate_i64(metrics_total / entries);
    Ok((
        f64::from(utilization) / f64::from(target_utilization),
        utilization,
        raw,
    ))
}

/// `GetMetricUsageRatio`: (usage ratio, average usage).
pub(super) fn get_metric_usage_ratio(metrics: &PodMetricsInfo, target_usage: i64) -> (f64, i64) {
    let total: i128 = metrics.values().map(|m| i128::from(m.value)).sum();
    let current = saturate_i64(total / metrics.len().max(1) as i128);
    (
        f(i128::from(current)) / f(i128::from(target_usage)),
        current,
    )
}
