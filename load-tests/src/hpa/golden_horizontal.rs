//! Golden cases for whole syncs, ported from upstream
//! `pkg/controller/podautoscaler/horizontal_test.go` (the `testCase` /
//! `runTest` family: one reconcile of a fresh controller against fake pods
//! and metrics, checking the desired replicas, the reported CPU utilization
//! and the status conditions).
//!
//! The upstream fixture is reproduced: pods `test-pod-<i>` (as many as
//! `reportedCPURequests`, else `statusReplicas`) with two containers that
//! each request half the pod's CPU request and report half its level
//! (integer halves, as upstream); the `Ready` condition's transition time is
//! the pod's start time; metric samples are stamped "now" with a one-minute
//! window; external metric items are the levels as milli-values; the
//! controller runs with the upstream testing flags (tolerance 0.1, CPU
//! initialization 2 min, readiness delay 10 s, downscale window 5 min) and,
//! as upstream's test `init()` does, `scaleUpLimitFactor = 8`.
//!
//! Left out: cases on Pods, Object and ContainerResource metrics, selector
//! and scale-subresource failures (the simulator has no selector or API),
//! event contents, `TestScaleUpDeployment`/`TestScaleUpReplicaSet` (the same
//! as `TestScaleUp` once the target kind is irrelevant), and the
//! `CheddarCheese` invalid-type cases, which [`Hpa::new`](super::Hpa::new)
//! rejects up front; their runtime counterparts (`TestScaleUpOneMetricEmpty`,
//! `TestNoScaleDownOneMetricEmpty`) are ported, and
//! `TestScaleUpFromZeroOneMetricInvalid` is ported with the invalid metric
//! replaced by a failing External one.

use k8s_openapi::api::autoscaling::v2::{
    ExternalMetricSource, HPAScalingRules, HorizontalPodAutoscalerBehavior,
    HorizontalPodAutoscalerSpec, MetricIdentifier, MetricSpec, MetricTarget, ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::golden_behavior::{FIXTURE, NOW, generate_scaling_rules};
use super::observe::ReadyCondition;
use super::quantity::Quantity;
use super::{
    ConditionStatus, ConditionType, ControllerOptions, Decision, Hpa, MetricValue, Observation,
    PodMetric, PodPhase, PodState, ResourceName, Sample,
};
use crate::hpa::behavior::TimestampedRecommendation;

use ConditionStatus::{False as F, True as T};
use ConditionType::{AbleToScale, ScalingActive, ScalingLimited};
use PodPhase::{Failed, Running};

const HOT: f64 = NOW;
const COOL: f64 = NOW - 180.0;
const MINUTE: f64 = 60.0;

type Cond = (ConditionType, ConditionStatus, &'static str);

/// Upstream `testCase` (the fields the port uses).
#[derive(Clone, Default)]
struct Case {
    name: &'static str,
    min: i32,
    max: i32,
    spec_replicas: i32,
    status_replicas: i32,
    cpu_target: i32,
    metrics: Vec<MetricSpec>,
    levels: Vec<i64>,
    cpu_requests: Option<Vec<String>>,
    readiness: Option<Vec<ConditionStatus>>,
    start: Option<Vec<f64>>,
    phase: Option<Vec<PodPhase>>,
    deletion: Option<Vec<bool>>,
    scale_up_rules: Option<HPAScalingRules>,
    scale_down_rules: Option<HPAScalingRules>,
    /// `None` is Go's nil (the initial recommendation gets recorded).
    recommendations: Option<Vec<(i32, f64)>>,
    resource_error: bool,
    external_error: bool,
    expected: i32,
    /// `verifyCPUCurrent`: the reported CPU utilization.
    cpu_current: Option<i32>,
    /// `None`: upstream's `statusOkWithOverrides()`.
    conditions: Option<Vec<Cond>>,
}

/// `statusOkWithOverrides`.
fn ok_with(overrides: &[Cond]) -> Option<Vec<Cond>> {
    let mut list = vec![
        (AbleToScale, T, "SucceededRescale"),
        (ScalingActive, T, "ValidMetricFound"),
        (ScalingLimited, F, "DesiredWithinRange"),
    ];
    for o in overrides {
        match list.iter_mut().find(|c| c.0 == o.0) {
            Some(c) => *c = *o,
            None => list.push(*o),
        }
    }
    Some(list)
}

fn milli(q: &str) -> i64 {
    Quantity::parse(q).unwrap().milli_value().unwrap()
}

fn external(target_type: &str, milli_value: i64) -> MetricSpec {
    let q = Some(K8sQuantity(format!("{milli_value}m")));
    let (value, average_value) = if target_type == "Value" {
        (q, None)
    } else {
        (None, q)
    };
    MetricSpec {
        type_: "External".to_owned(),
        external: Some(ExternalMetricSource {
            metric: MetricIdentifier {
                name: "qps".to_owned(),
                selector: Some(LabelSelector::default()),
            },
            target: MetricTarget {
                type_: target_type.to_owned(),
                value,
                average_value,
                average_utilization: None,
            },
        }),
        ..Default::default()
    }
}

fn cpu(target: i32) -> MetricSpec {
    MetricSpec {
        type_: "Resource".to_owned(),
        resource: Some(ResourceMetricSource {
            name: "cpu".to_owned(),
            target: MetricTarget {
                type_: "Utilization".to_owned(),
                average_utilization: Some(target),
                ..Default::default()
            },
        }),
        ..Default::default()
    }
}

impl Case {
    fn hpa(&self) -> Hpa {
        let mut metrics = Vec::new();
        if self.cpu_target > 0 {
            metrics.push(cpu(self.cpu_target));
        }
        metrics.extend(self.metrics.iter().cloned());
        let behavior =
            (self.scale_up_rules.is_some() || self.scale_down_rules.is_some()).then(|| {
                HorizontalPodAutoscalerBehavior {
                    scale_up: self.scale_up_rules.clone(),
                    scale_down: self.scale_down_rules.clone(),
                }
            });
        let spec = HorizontalPodAutoscalerSpec {
            // Upstream tests bypass API validation (e.g. minReplicas 0 on a
            // CPU-only HPA): validate with a legal minimum, then set it.
            min_replicas: Some(self.min.max(1)),
            max_replicas: self.max,
            metrics: Some(metrics),
            behavior,
            ..Default::default()
        };
        let opts = ControllerOptions {
            cpu_initialization_period: 120.0,
            initial_readiness_delay: 10.0,
            allow_scale_to_zero: true,
            ..ControllerOptions::default()
        };
        let mut parsed = super::spec::parse(&spec, &opts).expect("valid spec");
        parsed.min_replicas = self.min;
        let mut hpa = Hpa::from_parsed(parsed, opts);
        hpa.scale_up_limit_factor = 8.0;
        hpa.recommendations = self.recommendations.as_ref().map(|list| {
            list.iter()
                .map(|&(recommendation, ago)| TimestampedRecommendation {
                    recommendation,
                    timestamp: FIXTURE - ago,
                })
                .collect()
        });
        hpa
    }

    fn observation(&self) -> Observation {
        let count = self
            .cpu_requests
            .as_ref()
            .map_or(usize::try_from(self.status_replicas).unwrap(), Vec::len);
        let pods = (0..count)
            .map(|i| {
                let start = self.start.as_ref().map_or(0.0, |s| s[i]);
                let request = self.cpu_requests.as_ref().map_or("1.0", |r| r[i].as_str());
                PodState {
                    name: format!("test-pod-{i}"),
                    phase: self.phase.as_ref().map_or(Running, |p| p[i]),
                    ready: Some(ReadyCondition {
                        status: self.readiness.as_ref().map_or(T, |r| r[i]),
                        last_transition_time: start,
                    }),
                    start_time: Some(start),
                    deleting: self.deletion.as_ref().is_some_and(|d| d[i]),
                    cpu_request: Some(2 * (milli(request) / 2)),
                    memory_request: None,
                    cpu_usage: None,
                    memory_usage: None,
                }
            })
            .collect();
        let cpu_metrics = if self.resource_error {
            Err("something went wrong".to_owned())
        } else {
            Ok(self
                .levels
                .iter()
                .enumerate()
                .map(|(i, level)| PodMetric {
                    pod: format!("test-pod-{i}"),
                    sample: Sample {
                        value: 2 * (level / 2),
                        timestamp: NOW,
                        window: MINUTE,
                    },
                })
                .collect())
        };
        #[allow(clippy::cast_precision_loss)]
        let external = if self.external_error {
            Err("something went wrong".to_owned())
        } else {
            Ok(self.levels.iter().map(|l| *l as f64 / 1000.0).collect())
        };
        Observation {
            pods,
            external: [("qps".to_owned(), external)].into_iter().collect(),
            resource_metrics: [(ResourceName::Cpu, cpu_metrics)].into_iter().collect(),
            status_replicas: Some(self.status_replicas),
        }
    }

    /// `runTest`: one sync, then the upstream assertions.
    fn run(&self) -> Decision {
        let mut hpa = self.hpa();
        let d = hpa.reconcile(NOW, self.spec_replicas, &self.observation());
        assert_eq!(
            d.desired_replicas, self.expected,
            "{}: desired replicas",
            self.name
        );
        assert_eq!(
            d.scaled,
            self.expected != self.spec_replicas,
            "{}: the scale should only be updated if we expected a change in replicas",
            self.name
        );
        if let Some(want) = self.cpu_current {
            let got = d.proposals.iter().flatten().find_map(|p| match p.current {
                MetricValue::ResourceUtilization {
                    resource: ResourceName::Cpu,
                    utilization,
                    ..
                } => Some(utilization),
                _ => None,
            });
            assert_eq!(got, Some(want), "{}: reported CPU utilization", self.name);
        }
        let want = self.conditions.clone().or_else(|| ok_with(&[])).unwrap();
        let got: Vec<(ConditionType, ConditionStatus, &str)> = d
            .conditions
            .iter()
            .map(|c| (c.kind, c.status, c.reason.as_str()))
            .collect();
        assert_eq!(got, want, "{}: conditions", self.name);
        d
    }
}

fn base() -> Case {
    Case {
        min: 2,
        max: 6,
        spec_replicas: 3,
        status_replicas: 3,
        ..Default::default()
    }
}

fn ones(n: usize) -> Option<Vec<String>> {
    Some(vec!["1.0".to_owned(); n])
}

fn reqs(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|r| (*r).to_owned()).collect())
}

/// Upstream `TestScaleUp`, `TestScaleUpUnreadyLessScale`,
/// `TestScaleUpHotCpuLessScale`, `TestScaleUpUnreadyNoScale`,
/// `TestScaleUpHotCpuNoScale`, `TestScaleUpIgnoresFailedPods`,
/// `TestScaleUpIgnoresDeletionPods`.
#[test]
fn test_scale_up_resource() {
    let up = Case {
        cpu_target: 30,
        levels: vec![300, 500, 700],
        cpu_requests: ones(3),
        ..base()
    };
    Case {
        name: "TestScaleUp",
        expected: 5,
        cpu_current: Some(50),
        ..up.clone()
    }
    .run();
    Case {
        name: "TestScaleUpUnreadyLessScale",
        expected: 4,
        cpu_current: Some(60),
        readiness: Some(vec![F, T, T]),
        ..up.clone()
    }
    .run();
    Case {
        name: "TestScaleUpHotCpuLessScale",
        expected: 4,
        cpu_current: Some(60),
        start: Some(vec![HOT, COOL, COOL]),
        ..up.clone()
    }
    .run();
    let no_scale = Case {
        expected: 3,
        cpu_current: Some(40),
        levels: vec![400, 500, 700],
        readiness: Some(vec![T, F, F]),
        conditions: ok_with(&[(AbleToScale, T, "ReadyForNewScale")]),
        ..up
    };
    Case {
        name: "TestScaleUpUnreadyNoScale",
        ..no_scale.clone()
    }
    .run();
    Case {
        name: "TestScaleUpHotCpuNoScale",
        start: Some(vec![COOL, HOT, HOT]),
        ..no_scale
    }
    .run();
    let failed = Case {
        spec_replicas: 2,
        status_replicas: 2,
        expected: 4,
        cpu_target: 30,
        cpu_current: Some(60),
        levels: vec![500, 700],
        cpu_requests: ones(4),
        readiness: Some(vec![T, T, F, F]),
        phase: Some(vec![Running, Running, Failed, Failed]),
        ..base()
    };
    Case {
        name: "TestScaleUpIgnoresFailedPods",
        ..failed.clone()
    }
    .run();
    Case {
        name: "TestScaleUpIgnoresDeletionPods",
        phase: Some(vec![Running; 4]),
        deletion: Some(vec![false, false, true, true]),
        ..failed
    }
    .run();
}

/// Upstream `TestScaleDown`, `TestScaleDownWithScalingRules`,
/// `TestScaleDownStabilizeInitialSize`, `TestScaleDownIncludeUnreadyPods`,
/// `TestScaleDownIgnoreHotCpuPods`, `TestScaleDownIgnoresFailedPods`,
/// `TestScaleDownIgnoresDeletionPods`.
#[test]
fn test_scale_down_resource() {
    let down = Case {
        spec_replicas: 5,
        status_replicas: 5,
        expected: 3,
        cpu_target: 50,
        cpu_current: Some(28),
        levels: vec![100, 300, 500, 250, 250],
        cpu_requests: ones(5),
        recommendations: Some(vec![]),
        ..base()
    };
    Case {
        name: "TestScaleDown",
        ..down.clone()
    }
    .run();
    Case {
        name: "TestScaleDownWithScalingRules",
        scale_up_rules: Some(generate_scaling_rules(0, 0, 100, 15, 30)),
        ..down.clone()
    }
    .run();
    Case {
        name: "TestScaleDownStabilizeInitialSize",
        expected: 5,
        recommendations: None,
        conditions: ok_with(&[(AbleToScale, T, "ScaleDownStabilized")]),
        ..down.clone()
    }
    .run();
    Case {
        name: "TestScaleDownIncludeUnreadyPods",
        expected: 2,
        cpu_current: Some(30),
        readiness: Some(vec![T, T, T, F, F]),
        ..down.clone()
    }
    .run();
    Case {
        name: "TestScaleDownIgnoreHotCpuPods",
        expected: 2,
        cpu_current: Some(30),
        start: Some(vec![COOL, COOL, COOL, HOT, HOT]),
        ..down.clone()
    }
    .run();
    let seven = Case {
        cpu_requests: ones(7),
        readiness: Some(vec![T, T, T, T, T, F, F]),
        ..down
    };
    Case {
        name: "TestScaleDownIgnoresFailedPods",
        phase: Some(vec![
            Running, Running, Running, Running, Running, Failed, Failed,
        ]),
        ..seven.clone()
    }
    .run();
    Case {
        name: "TestScaleDownIgnoresDeletionPods",
        phase: Some(vec![Running; 7]),
        deletion: Some(vec![false, false, false, false, false, true, true]),
        ..seven
    }
    .run();
}

/// Upstream `TestScaleUpCMExternal`, `TestScaleUpPerPodCMExternal`,
/// `TestScaleDownCMExternal`, `TestScaleDownToZeroCMExternal`,
/// `TestScaleDownPerPodCMExternal`, `TestToleranceCMExternal`,
/// `TestTolerancePerPodCMExternal`.
#[test]
fn test_external() {
    let up = Case {
        expected: 4,
        levels: vec![8600],
        ..base()
    };
    Case {
        name: "TestScaleUpCMExternal",
        metrics: vec![external("Value", 6666)],
        ..up.clone()
    }
    .run();
    Case {
        name: "TestScaleUpPerPodCMExternal",
        metrics: vec![external("AverageValue", 2222)],
        ..up
    }
    .run();
    let down = Case {
        spec_replicas: 5,
        status_replicas: 5,
        expected: 3,
        levels: vec![8600],
        recommendations: Some(vec![]),
        ..base()
    };
    Case {
        name: "TestScaleDownCMExternal",
        metrics: vec![external("Value", 14400)],
        ..down.clone()
    }
    .run();
    Case {
        name: "TestScaleDownToZeroCMExternal",
        min: 0,
        expected: 0,
        levels: vec![0],
        metrics: vec![external("Value", 14400)],
        ..down.clone()
    }
    .run();
    Case {
        name: "TestScaleDownPerPodCMExternal",
        metrics: vec![external("AverageValue", 3000)],
        ..down
    }
    .run();
    let tolerance = Case {
        spec_replicas: 4,
        status_replicas: 4,
        expected: 4,
        levels: vec![8600],
        conditions: ok_with(&[(AbleToScale, T, "ReadyForNewScale")]),
        ..base()
    };
    Case {
        name: "TestToleranceCMExternal",
        metrics: vec![external("Value", 8666)],
        ..tolerance.clone()
    }
    .run();
    Case {
        name: "TestTolerancePerPodCMExternal",
        metrics: vec![external("AverageValue", 2200)],
        ..tolerance
    }
    .run();
}

/// Upstream `TestTolerance`, `TestMinReplicas`,
/// `TestZeroMinReplicasDesiredZero`, `TestMinReplicasDesiredZero`,
/// `TestZeroReplicas`, `TestTooFewReplicas`, `TestTooManyReplicas`,
/// `TestMaxReplicas`, `TestSuperfluousMetrics`, `TestMissingMetrics`,
/// `TestEmptyMetrics`, `TestEmptyCPURequest`, `TestEventCreated`,
/// `TestEventNotCreated`, `TestMissingReports`.
#[test]
#[allow(clippy::too_many_lines)]
fn test_limits_and_missing_metrics() {
    let small = Case {
        min: 1,
        max: 5,
        spec_replicas: 3,
        status_replicas: 3,
        cpu_requests: reqs(&["0.9", "1.0", "1.1"]),
        ..Default::default()
    };
    Case {
        name: "TestTolerance",
        expected: 3,
        cpu_target: 100,
        levels: vec![1010, 1030, 1020],
        conditions: ok_with(&[(AbleToScale, T, "ReadyForNewScale")]),
        ..small.clone()
    }
    .run();
    let min = Case {
        min: 2,
        cpu_target: 90,
        recommendations: Some(vec![]),
        ..small.clone()
    };
    Case {
        name: "TestMinReplicas",
        expected: 2,
        levels: vec![10, 95, 10],
        conditions: ok_with(&[(ScalingLimited, T, "TooFewReplicas")]),
        ..min.clone()
    }
    .run();
    Case {
        name: "TestZeroMinReplicasDesiredZero",
        min: 0,
        expected: 0,
        levels: vec![0, 0, 0],
        ..min.clone()
    }
    .run();
    Case {
        name: "TestMinReplicasDesiredZero",
        expected: 2,
        levels: vec![0, 0, 0],
        conditions: ok_with(&[(ScalingLimited, T, "TooFewReplicas")]),
        ..min
    }
    .run();
    let bounds = Case {
        min: 3,
        max: 5,
        cpu_target: 90,
        cpu_requests: reqs(&[]),
        ..Default::default()
    };
    Case {
        name: "TestZeroReplicas",
        expected: 0,
        conditions: Some(vec![
            (AbleToScale, T, "SucceededGetScale"),
            (ScalingActive, F, "ScalingDisabled"),
        ]),
        ..bounds.clone()
    }
    .run();
    let rescaled = Some(vec![(AbleToScale, T, "SucceededRescale")]);
    Case {
        name: "TestTooFewReplicas",
        spec_replicas: 2,
        status_replicas: 2,
        expected: 3,
        conditions: rescaled.clone(),
        ..bounds.clone()
    }
    .run();
    Case {
        name: "TestTooManyReplicas",
        spec_replicas: 10,
        status_replicas: 10,
        expected: 5,
        conditions: rescaled,
        ..bounds
    }
    .run();
    Case {
        name: "TestMaxReplicas",
        min: 2,
        expected: 5,
        cpu_target: 90,
        levels: vec![8000, 9500, 1000],
        conditions: ok_with(&[(ScalingLimited, T, "TooManyReplicas")]),
        ..small.clone()
    }
    .run();
    let four = Case {
        spec_replicas: 4,
        status_replicas: 4,
        cpu_target: 100,
        cpu_requests: ones(4),
        ..base()
    };
    Case {
        name: "TestSuperfluousMetrics",
        expected: 6,
        levels: vec![4000, 9500, 3000, 7000, 3200, 2000],
        conditions: ok_with(&[(ScalingLimited, T, "TooManyReplicas")]),
        ..four.clone()
    }
    .run();
    Case {
        name: "TestMissingMetrics",
        expected: 3,
        levels: vec![400, 95],
        recommendations: Some(vec![]),
        ..four.clone()
    }
    .run();
    let failed_resource = Some(vec![
        (AbleToScale, T, "SucceededGetScale"),
        (ScalingActive, F, "FailedGetResourceMetric"),
    ]);
    Case {
        name: "TestEmptyMetrics",
        expected: 4,
        levels: vec![],
        conditions: failed_resource.clone(),
        ..four
    }
    .run();
    let one = Case {
        min: 1,
        max: 5,
        spec_replicas: 1,
        status_replicas: 1,
        ..Default::default()
    };
    Case {
        name: "TestEmptyCPURequest",
        expected: 1,
        cpu_target: 100,
        levels: vec![200],
        cpu_requests: reqs(&[]),
        conditions: failed_resource,
        ..one.clone()
    }
    .run();
    Case {
        name: "TestEventCreated",
        expected: 2,
        cpu_target: 50,
        levels: vec![200],
        cpu_requests: reqs(&["0.2"]),
        ..one.clone()
    }
    .run();
    Case {
        name: "TestEventNotCreated",
        spec_replicas: 2,
        status_replicas: 2,
        expected: 2,
        cpu_target: 50,
        levels: vec![200, 200],
        cpu_requests: reqs(&["0.4", "0.4"]),
        conditions: ok_with(&[(AbleToScale, T, "ReadyForNewScale")]),
        ..one.clone()
    }
    .run();
    Case {
        name: "TestMissingReports",
        spec_replicas: 4,
        status_replicas: 4,
        expected: 2,
        cpu_target: 50,
        levels: vec![200],
        cpu_requests: reqs(&["0.2"]),
        recommendations: Some(vec![]),
        ..one
    }
    .run();
}

/// Upstream `TestUpscaleCap`, `TestUpscaleCapGreaterThanMaxReplicas`,
/// `TestMoreReplicasThanSpecNoScale`, `TestScaleUpRCImmediately`,
/// `TestScaleDownRCImmediately`, `TestStabilizeDownscale`,
/// `TestAvoidUnnecessaryUpdates`.
#[test]
fn test_caps_and_stabilization() {
    let cap = Case {
        min: 1,
        max: 100,
        spec_replicas: 3,
        status_replicas: 3,
        scale_up_rules: Some(generate_scaling_rules(0, 0, 700, 60, 0)),
        cpu_target: 10,
        levels: vec![100, 200, 300],
        cpu_requests: reqs(&["0.1", "0.1", "0.1"]),
        ..Default::default()
    };
    Case {
        name: "TestUpscaleCap",
        expected: 24,
        conditions: ok_with(&[(ScalingLimited, T, "ScaleUpLimit")]),
        ..cap.clone()
    }
    .run();
    Case {
        name: "TestUpscaleCapGreaterThanMaxReplicas",
        max: 20,
        expected: 20,
        conditions: ok_with(&[(ScalingLimited, T, "TooManyReplicas")]),
        ..cap
    }
    .run();
    Case {
        name: "TestMoreReplicasThanSpecNoScale",
        min: 1,
        max: 8,
        spec_replicas: 4,
        status_replicas: 5, // Deployment update with 25% surge.
        expected: 4,
        cpu_target: 50,
        levels: vec![500; 5],
        cpu_requests: ones(5),
        conditions: ok_with(&[(AbleToScale, T, "ReadyForNewScale")]),
        ..Default::default()
    }
    .run();
    let rescaled = Some(vec![(AbleToScale, T, "SucceededRescale")]);
    Case {
        name: "TestScaleUpRCImmediately",
        spec_replicas: 1,
        status_replicas: 1,
        expected: 2,
        levels: vec![0, 0, 0, 0],
        cpu_requests: ones(4),
        conditions: rescaled.clone(),
        ..base()
    }
    .run();
    Case {
        name: "TestScaleDownRCImmediately",
        max: 5,
        spec_replicas: 6,
        status_replicas: 6,
        expected: 5,
        cpu_target: 50,
        levels: vec![8000, 9500, 1000],
        cpu_requests: reqs(&["0.9", "1.0", "1.1"]),
        conditions: rescaled,
        ..base()
    }
    .run();
    Case {
        name: "TestStabilizeDownscale",
        min: 1,
        max: 5,
        spec_replicas: 4,
        status_replicas: 4,
        expected: 4,
        cpu_target: 100,
        levels: vec![50, 50, 50],
        cpu_requests: reqs(&["0.1", "0.1", "0.1"]),
        recommendations: Some(vec![(10, 10.0 * MINUTE), (4, MINUTE)]),
        conditions: ok_with(&[(AbleToScale, T, "ScaleDownStabilized")]),
        ..Default::default()
    }
    .run();
    // Upstream checks that the status (already holding these conditions) is
    // not rewritten; the port checks the outcome and the conditions.
    Case {
        name: "TestAvoidUnnecessaryUpdates",
        spec_replicas: 2,
        status_replicas: 2,
        expected: 2,
        cpu_target: 80,
        levels: vec![400, 500, 700],
        cpu_requests: ones(3),
        start: Some(vec![COOL, HOT, HOT]),
        recommendations: Some(vec![]),
        conditions: Some(vec![
            (AbleToScale, T, "ReadyForNewScale"),
            (ScalingActive, T, "ValidMetricFound"),
            (ScalingLimited, T, "TooFewReplicas"),
        ]),
        ..base()
    }
    .run();
}

/// Upstream `TestConditionFailedGetMetrics` (the Resource and External
/// rows), `TestScaleUpOneMetricEmpty`, `TestNoScaleDownOneMetricEmpty`, and
/// `TestScaleUpFromZeroOneMetricInvalid` (adapted: a failing External
/// metric instead of an invalid metric type).
#[test]
fn test_failing_metrics() {
    let failing = Case {
        min: 1,
        max: 100,
        expected: 3,
        levels: vec![100, 200, 300],
        cpu_requests: reqs(&["0.1", "0.1", "0.1"]),
        resource_error: true,
        external_error: true,
        ..base()
    };
    Case {
        name: "TestConditionFailedGetMetrics/FailedGetResourceMetric",
        cpu_target: 10,
        conditions: Some(vec![
            (AbleToScale, T, "SucceededGetScale"),
            (ScalingActive, F, "FailedGetResourceMetric"),
        ]),
        ..failing.clone()
    }
    .run();
    Case {
        name: "TestConditionFailedGetMetrics/FailedGetExternalMetric",
        metrics: vec![external("Value", 300)],
        conditions: Some(vec![
            (AbleToScale, T, "SucceededGetScale"),
            (ScalingActive, F, "FailedGetExternalMetric"),
        ]),
        ..failing
    }
    .run();

    let d = Case {
        name: "TestScaleUpOneMetricEmpty",
        expected: 4,
        cpu_target: 30,
        cpu_current: Some(40),
        metrics: vec![external("Value", 100)],
        levels: vec![300, 400, 500],
        cpu_requests: ones(3),
        external_error: true,
        ..base()
    }
    .run();
    // The failed metric is skipped but reported.
    assert!(
        d.error
            .as_deref()
            .is_some_and(|e| e.starts_with("invalid metrics (1 invalid out of 2)"))
    );
    assert!(matches!(d.proposals.as_slice(), [Ok(_), Err(_)]));

    let d = Case {
        name: "TestNoScaleDownOneMetricEmpty",
        spec_replicas: 5,
        status_replicas: 5,
        expected: 5,
        cpu_target: 50,
        metrics: vec![external("Value", 1000)],
        levels: vec![100, 300, 500, 250, 250],
        cpu_requests: ones(5),
        recommendations: Some(vec![]),
        external_error: true,
        conditions: Some(vec![
            (AbleToScale, T, "SucceededGetScale"),
            (ScalingActive, F, "FailedGetExternalMetric"),
        ]),
        ..base()
    }
    .run();
    // The CPU metric alone proposed 3: a failed metric forbids the scale-down.
    assert!(matches!(d.proposals.first(), Some(Ok(p)) if p.replicas == 3));
    assert_eq!(d.metric_replicas, None);

    Case {
        name: "TestScaleUpFromZeroOneMetricInvalid (failing External metric)",
        min: 0,
        spec_replicas: 0,
        status_replicas: 0,
        expected: 4,
        cpu_target: 30,
        cpu_current: Some(40),
        metrics: vec![external("Value", 100)],
        levels: vec![300, 400, 500],
        cpu_requests: ones(3),
        recommendations: Some(vec![]),
        external_error: true,
        ..base()
    }
    .run();
}

/// Upstream `TestComputedToleranceAlgImplementation`.
#[test]
fn test_computed_tolerance_alg_implementation() {
    let start_pods: i32 = 10;
    // 150 mCPU per pod; each pod asks for 2× what it uses.
    let total_used: i64 = i64::from(start_pods) * 150;
    let total_requested: i32 = 2 * i32::try_from(total_used).unwrap();
    let requested_to_used = f64::from(total_requested / i32::try_from(total_used).unwrap());
    let per_pod_requested = total_requested / start_pods;
    let target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.01;
    #[allow(clippy::cast_possible_truncation)]
    let final_cpu_percent_target = (target * 100.0) as i32;
    #[allow(clippy::cast_precision_loss)]
    let resources_used_ratio = total_used as f64 / (f64::from(total_requested) * target);
    #[allow(clippy::cast_possible_truncation)]
    let final_pods = (resources_used_ratio * f64::from(start_pods)).ceil() as i32;
    let requests: Vec<String> = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0]
        .iter()
        .map(|o| format!("{}m", per_pod_requested + o))
        .collect();
    let tc1 = Case {
        name: "TestComputedToleranceAlgImplementation/tc1",
        min: 0,
        max: 1000,
        spec_replicas: start_pods,
        status_replicas: start_pods,
        expected: final_pods,
        cpu_target: final_cpu_percent_target,
        levels: vec![total_used / 10; 10],
        cpu_requests: Some(requests),
        recommendations: Some(vec![]),
        ..Default::default()
    };
    tc1.run();
    assert_eq!(final_pods, 9);

    let target = (1.0 / (requested_to_used * (1.0 - 0.1))).abs() + 0.004;
    #[allow(clippy::cast_possible_truncation)]
    let final_cpu_percent_target = (target * 100.0) as i32;
    Case {
        name: "TestComputedToleranceAlgImplementation/tc2",
        expected: start_pods,
        cpu_target: final_cpu_percent_target,
        conditions: ok_with(&[(AbleToScale, T, "ReadyForNewScale")]),
        ..tc1
    }
    .run();
}
