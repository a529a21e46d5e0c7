//! What one HPA sync observes: the pods matched by the scale target's
//! selector (as the controller's pod lister returns them), the resource
//! metrics API's per-pod samples, and the external metrics API's item values.
//!
//! The pod model carries exactly the fields `replica_calculator.go` reads from
//! a `*v1.Pod` (`groupPods`, `calculateRequests`, `getReadyPodsCount`):
//! deletion timestamp, phase, the `Ready` condition with its
//! `lastTransitionTime`, `status.startTime`, and the summed container
//! requests. The metric samples mirror `metrics.PodMetric` (value, timestamp,
//! window) from `pkg/controller/podautoscaler/metrics/client.go`.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// A compute resource a `Resource` metric can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceName {
    /// `cpu`: usage and requests in millicores.
    Cpu,
    /// `memory`: usage and requests in bytes.
    Memory,
}

impl ResourceName {
    /// The Kubernetes resource name (`cpu` or `memory`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
        }
    }

    /// Parses a Kubernetes resource name; `None` for anything but `cpu` and
    /// `memory`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "cpu" => Some(Self::Cpu),
            "memory" => Some(Self::Memory),
            _ => None,
        }
    }

    /// Factor from this simulator's unit (millicores, bytes) to the
    /// Kubernetes milli-value (`Quantity.MilliValue()`) the controller
    /// computes with.
    pub(super) fn milli_per_unit(self) -> i64 {
        match self {
            Self::Cpu => 1,
            Self::Memory => 1000,
        }
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pod's `status.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PodPhase {
    /// Accepted but not all containers are running (unscheduled, pulling
    /// images, starting).
    Pending,
    /// Bound to a node with all containers created and at least one running.
    Running,
    /// All containers terminated successfully.
    Succeeded,
    /// All containers terminated, at least one in failure.
    Failed,
    /// State could not be obtained.
    Unknown,
}

/// Status of a condition (`True`, `False`, `Unknown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The kubelet does not know.
    Unknown,
}

/// A pod's `Ready` condition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadyCondition {
    /// Whether the pod is ready.
    pub status: ConditionStatus,
    /// When the status last changed (virtual seconds).
    pub last_transition_time: f64,
}

/// One usage sample from the resource metrics API (metrics-server).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Usage summed over the pod's containers: millicores for CPU, bytes for
    /// memory.
    pub value: i64,
    /// End of the sampling window (virtual seconds).
    pub timestamp: f64,
    /// Length of the sampling window in seconds (metrics-server: typically
    /// 15–60 s).
    pub window: f64,
}

/// One pod matched by the scale target's selector.
#[derive(Clone, Debug, PartialEq)]
pub struct PodState {
    /// Pod name (metrics are matched to pods by name).
    pub name: String,
    /// `status.phase`.
    pub phase: PodPhase,
    /// The `Ready` condition; `None` when the pod has none yet.
    pub ready: Option<ReadyCondition>,
    /// `status.startTime` (virtual seconds); `None` before the kubelet
    /// accepted the pod.
    pub start_time: Option<f64>,
    /// Whether the pod has a deletion timestamp (is terminating).
    pub deleting: bool,
    /// CPU request summed over the containers (millicores); `None` if any
    /// container has no CPU request.
    pub cpu_request: Option<i64>,
    /// Memory request summed over the containers (bytes); `None` if any
    /// container has no memory request.
    pub memory_request: Option<i64>,
    /// The CPU sample metrics-server has for the pod, if any.
    pub cpu_usage: Option<Sample>,
    /// The memory sample metrics-server has for the pod, if any.
    pub memory_usage: Option<Sample>,
}

impl PodState {
    /// A running pod, ready since `start_time`, with no requests and no
    /// samples (fill those in as needed).
    pub fn running(name: impl Into<String>, start_time: f64) -> Self {
        Self {
            name: name.into(),
            phase: PodPhase::Running,
            ready: Some(ReadyCondition {
                status: ConditionStatus::True,
                last_transition_time: start_time,
            }),
            start_time: Some(start_time),
            deleting: false,
            cpu_request: None,
            memory_request: None,
            cpu_usage: None,
            memory_usage: None,
        }
    }

    /// The pod's request for `resource`, in that resource's unit.
    pub fn request(&self, resource: ResourceName) -> Option<i64> {
        match resource {
            ResourceName::Cpu => self.cpu_request,
            ResourceName::Memory => self.memory_request,
        }
    }

    /// The pod's usage sample for `resource`, if metrics-server has one.
    pub fn usage(&self, resource: ResourceName) -> Option<&Sample> {
        match resource {
            ResourceName::Cpu => self.cpu_usage.as_ref(),
            ResourceName::Memory => self.memory_usage.as_ref(),
        }
    }

    /// Running with `Ready=True` (`getReadyPodsCount` in
    /// `replica_calculator.go`: `PodRunning && podutil.IsPodReady`).
    pub fn is_running_and_ready(&self) -> bool {
        self.phase == PodPhase::Running
            && self
                .ready
                .is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// Counted in a ReplicaSet's `status.replicas` (`controller.FilterActivePods`:
    /// not succeeded, not failed, not terminating).
    pub fn is_active(&self) -> bool {
        !self.deleting && !matches!(self.phase, PodPhase::Succeeded | PodPhase::Failed)
    }
}

/// One resource metrics API item: a pod's usage sample, by pod name.
#[derive(Clone, Debug, PartialEq)]
pub struct PodMetric {
    /// Name of the pod the sample belongs to.
    pub pod: String,
    /// The sample.
    pub sample: Sample,
}

/// The world as one HPA sync sees it.
///
/// Errors are strings: the simulator only reports them, as the controller
/// puts them in events and conditions.
pub trait Observe {
    /// The pods the scale target's selector matches, in lister order.
    fn pods(&self) -> &[PodState];

    /// The resource metrics API's answer for `resource` (the
    /// `PodMetricsList` summed per pod). The default collects the samples
    /// carried by [`Observe::pods`]; override it to model metrics-server
    /// failures or samples for pods the lister does not (yet) return.
    fn resource_metrics(&self, resource: ResourceName) -> Result<Vec<PodMetric>, String> {
        Ok(self
            .pods()
            .iter()
            .filter_map(|p| {
                p.usage(resource).map(|s| PodMetric {
                    pod: p.name.clone(),
                    sample: *s,
                })
            })
            .collect())
    }

    /// The item values the external metrics API returns for `metric_name`
    /// and `selector`; `Err` when the metric is unavailable.
    fn external(
        &self,
        metric_name: &str,
        selector: Option<&LabelSelector>,
    ) -> Result<Vec<f64>, String>;

    /// The scale subresource's `status.replicas`. The default counts active
    /// pods as the ReplicaSet controller does.
    fn status_replicas(&self) -> i32 {
        let active = self.pods().iter().filter(|p| p.is_active()).count();
        i32::try_from(active).unwrap_or(i32::MAX)
    }
}

/// A ready-made [`Observe`] built from plain data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// The pods the selector matches (with their samples, if any).
    pub pods: Vec<PodState>,
    /// External metric item values by metric name (the selector is not
    /// consulted); a missing name behaves like an empty answer, which the
    /// controller treats as an error.
    pub external: BTreeMap<String, Result<Vec<f64>, String>>,
    /// Overrides of the resource metrics API answer per resource (errors,
    /// extra samples); resources without an entry use the pods' samples.
    pub resource_metrics: BTreeMap<ResourceName, Result<Vec<PodMetric>, String>>,
    /// Override of the scale subresource's `status.replicas`.
    pub status_replicas: Option<i32>,
}

impl Observe for Observation {
    fn pods(&self) -> &[PodState] {
        &self.pods
    }

    fn resource_metrics(&self, resource: ResourceName) -> Result<Vec<PodMetric>, String> {
        match self.resource_metrics.get(&resource) {
            Some(answer) => answer.clone(),
            None => Ok(self
                .pods
                .iter()
                .filter_map(|p| {
                    p.usage(resource).map(|s| PodMetric {
                        pod: p.name.clone(),
                        sample: *s,
                    })
                })
                .collect()),
        }
    }

    fn external(
        &self,
        metric_name: &str,
        _selector: Option<&LabelSelector>,
    ) -> Result<Vec<f64>, String> {
        self.external
            .get(metric_name)
            .cloned()
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    fn status_replicas(&self) -> i32 {
        self.status_replicas.unwrap_or_else(|| {
            let active = self.pods.iter().filter(|p| p.is_active()).count();
            i32::try_from(active).unwrap_or(i32::MAX)
        })
    }
}
