//! Golden cases for the replica calculator, ported from upstream
//! `pkg/controller/podautoscaler/replica_calculator_test.go`.
//!
//! The upstream fixture is reproduced: pods `test-pod-<i>` with two
//! containers that both request `requests[i]` and both report `levels[i]`
//! (`makePodMetricLevels`), so a pod's request and usage are twice the
//! table value; metric samples carry the test's zero timestamp and a one
//! minute window; pod start times default to the zero time, "hot" pods
//! started now and "cool" ones three minutes ago; the calculator runs with
//! the upstream testing flags (tolerance 0.1, CPU initialization 2 min,
//! initial readiness delay 10 s).
//!
//! Left out: the `container` (ContainerResource) variants and the Pods /
//! Object metric cases, except that the Pods-metric cases of
//! `calcPlainMetricReplicas` run through the memory `AverageValue` path,
//! which is the same function with a resource that skips the CPU readiness
//! checks, exactly like the Pods metric.

use super::observe::{
    ConditionStatus, PodMetric, PodPhase, PodState, ReadyCondition, ResourceName, Sample,
};
use super::quantity::Quantity;
use super::replicas::{
    Ctx, Metric, PlainReplicas, PodGroups, PodMetricsInfo, ReplicaCalculator, ResourceReplicas,
    Tolerances,
};

const NOW: f64 = 1_000_000.0;
/// Go's zero `time.Time`.
const ZERO: f64 = 0.0;
const HOT: f64 = NOW;
const COOL: f64 = NOW - 180.0;
const DEFAULT_TOLERANCE: f64 = 0.1;

const CALC: ReplicaCalculator = ReplicaCalculator {
    cpu_initialization_period: 120.0,
    delay_of_initial_readiness_status: 10.0,
};

const TOL: Tolerances = Tolerances {
    scale_down: DEFAULT_TOLERANCE,
    scale_up: DEFAULT_TOLERANCE,
};

/// Upstream `replicaCalcTestCase` pod fields.
#[derive(Clone, Default)]
struct Fixture {
    current: i32,
    readiness: Option<Vec<ConditionStatus>>,
    start: Option<Vec<f64>>,
    phase: Option<Vec<PodPhase>>,
    deletion: Option<Vec<bool>>,
    /// Per-container CPU request of each pod (`tc.resource.requests`).
    requests: Vec<String>,
    tolerances: Option<Tolerances>,
}

use ConditionStatus::{False as F, True as T};
use PodPhase::{Failed, Pending, Running};

fn milli(q: &str) -> i64 {
    Quantity::parse(q).unwrap().milli_value().unwrap()
}

impl Fixture {
    /// `prepareTestClientSet`: the pods the lister returns.
    fn pods(&self) -> Vec<PodState> {
        let count = usize::try_from(self.current)
            .unwrap()
            .max(self.phase.as_ref().map_or(0, Vec::len));
        (0..count)
            .map(|i| PodState {
                name: format!("test-pod-{i}"),
                phase: self.phase.as_ref().map_or(Running, |p| p[i]),
                ready: Some(ReadyCondition {
                    status: self
                        .readiness
                        .as_ref()
                        .and_then(|r| r.get(i).copied())
                        .unwrap_or(T),
                    last_transition_time: ZERO,
                }),
                start_time: Some(self.start.as_ref().map_or(ZERO, |s| s[i])),
                deleting: self.deletion.as_ref().is_some_and(|d| d[i]),
                cpu_request: self.requests.get(i).map(|q| 2 * milli(q)),
                memory_request: None,
                cpu_usage: None,
                memory_usage: None,
            })
            .collect()
    }

    fn tolerances(&self) -> Tolerances {
        self.tolerances.unwrap_or(TOL)
    }
}

/// `prepareTestMetricsClient`: one item per level, both containers at the
/// level, named after the pod (or `pod_names[i]`).
fn cpu_metrics(levels: &[i64], pod_names: &[&str]) -> Vec<PodMetric> {
    levels
        .iter()
        .enumerate()
        .map(|(i, level)| PodMetric {
            pod: pod_names
                .get(i)
                .map_or_else(|| format!("test-pod-{i}"), |n| (*n).to_owned()),
            sample: Sample {
                value: 2 * level,
                timestamp: ZERO,
                window: 60.0,
            },
        })
        .collect()
}

fn resource(
    fx: &Fixture,
    levels: &[i64],
    pod_names: &[&str],
    target: i32,
) -> Result<ResourceReplicas, String> {
    let pods = fx.pods();
    let ctx = Ctx {
        now: NOW,
        pods: &pods,
        tolerances: fx.tolerances(),
    };
    CALC.get_resource_replicas(
        &ctx,
        fx.current,
        target,
        ResourceName::Cpu,
        Ok(cpu_metrics(levels, pod_names)),
    )
}

/// Runs a `GetResourceReplicas` case and checks (replicas, utilization, raw
/// value, timestamp).
fn check_resource(name: &str, fx: &Fixture, levels: &[i64], target: i32, want: (i32, i32, i64)) {
    let got = resource(fx, levels, &[], target).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        (got.replicas, got.utilization, got.raw_utilization),
        want,
        "{name}"
    );
    assert_eq!(got.timestamp, ZERO, "{name}: timestamp");
}

fn r1(n: usize) -> Vec<String> {
    vec!["1.0".to_owned(); n]
}

fn reqs(list: &[&str]) -> Vec<String> {
    list.iter().map(|r| (*r).to_owned()).collect()
}

/// Upstream `TestReplicaCalcDisjointResourcesMetrics`.
#[test]
fn test_replica_calc_disjoint_resources_metrics() {
    let fx = Fixture {
        current: 1,
        requests: r1(1),
        ..Default::default()
    };
    let err = resource(&fx, &[100], &["an-older-pod-name"], 100).unwrap_err();
    assert!(
        err.contains("no metrics returned matched known pods"),
        "{err}"
    );
}

/// Upstream `TestReplicaCalcScaleUp`, `…ScaleUpUnreadyLessScale`,
/// `…ScaleUpHotCpuLessScale`, `…ScaleUpUnreadyNoScale`,
/// `…ScaleHotCpuNoScale`, `…ScaleUpIgnoresFailedPods`,
/// `…ScaleUpIgnoresDeletionPods` (table `TestReplicaCalcResourceScale` in
/// the newest upstream).
#[test]
fn test_replica_calc_scale_up() {
    let base = Fixture {
        current: 3,
        requests: r1(3),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcScaleUp",
        &base,
        &[300, 500, 700],
        30,
        (5, 50, 1000),
    );
    let fx = Fixture {
        readiness: Some(vec![F, T, T]),
        ..base.clone()
    };
    check_resource(
        "TestReplicaCalcScaleUpUnreadyLessScale",
        &fx,
        &[300, 500, 700],
        30,
        (4, 60, 1200),
    );
    let fx = Fixture {
        start: Some(vec![HOT, COOL, COOL]),
        ..base.clone()
    };
    check_resource(
        "TestReplicaCalcScaleUpHotCpuLessScale",
        &fx,
        &[300, 500, 700],
        30,
        (4, 60, 1200),
    );
    let fx = Fixture {
        readiness: Some(vec![T, F, F]),
        ..base.clone()
    };
    check_resource(
        "TestReplicaCalcScaleUpUnreadyNoScale",
        &fx,
        &[400, 500, 700],
        30,
        (3, 40, 800),
    );
    let fx = Fixture {
        readiness: Some(vec![T, F, F]),
        start: Some(vec![COOL, HOT, HOT]),
        ..base
    };
    check_resource(
        "TestReplicaCalcScaleHotCpuNoScale",
        &fx,
        &[400, 500, 700],
        30,
        (3, 40, 800),
    );
    let fx = Fixture {
        current: 2,
        readiness: Some(vec![T, T, F, F]),
        phase: Some(vec![Running, Running, Failed, Failed]),
        requests: r1(4),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcScaleUpIgnoresFailedPods",
        &fx,
        &[500, 700],
        30,
        (4, 60, 1200),
    );
    let fx = Fixture {
        current: 2,
        readiness: Some(vec![T, T, F, F]),
        phase: Some(vec![Running; 4]),
        deletion: Some(vec![false, false, true, true]),
        requests: r1(4),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcScaleUpIgnoresDeletionPods",
        &fx,
        &[500, 700],
        30,
        (4, 60, 1200),
    );
}

/// Upstream `TestReplicaCalcScaleDown`, `…ScaleDownExcludeUnreadyPods`,
/// `…ScaleDownExcludeUnscheduledPods`, `…ScaleDownIgnoreHotCpuPods`,
/// `…ScaleDownIgnoresFailedPods`, `…ScaleDownIgnoresDeletionPods`.
#[test]
fn test_replica_calc_scale_down() {
    let levels = [100, 300, 500, 250, 250];
    let base = Fixture {
        current: 5,
        requests: r1(5),
        ..Default::default()
    };
    check_resource("TestReplicaCalcScaleDown", &base, &levels, 50, (3, 28, 560));
    let fx = Fixture {
        readiness: Some(vec![T, T, T, F, F]),
        ..base.clone()
    };
    check_resource(
        "TestReplicaCalcScaleDownExcludeUnreadyPods",
        &fx,
        &levels,
        50,
        (2, 30, 600),
    );
    let fx = Fixture {
        readiness: Some(vec![T, F, F, F, F]),
        phase: Some(vec![Running, Pending, Pending, Pending, Pending]),
        ..base.clone()
    };
    check_resource(
        "TestReplicaCalcScaleDownExcludeUnscheduledPods",
        &fx,
        &[100],
        50,
        (1, 10, 200),
    );
    let fx = Fixture {
        start: Some(vec![COOL, COOL, COOL, HOT, HOT]),
        ..base
    };
    check_resource(
        "TestReplicaCalcScaleDownIgnoreHotCpuPods",
        &fx,
        &levels,
        50,
        (2, 30, 600),
    );
    let fx = Fixture {
        current: 5,
        readiness: Some(vec![T, T, T, T, T, F, F]),
        phase: Some(vec![
            Running, Running, Running, Running, Running, Failed, Failed,
        ]),
        requests: r1(7),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcScaleDownIgnoresFailedPods",
        &fx,
        &levels,
        50,
        (3, 28, 560),
    );
    let fx = Fixture {
        current: 5,
        readiness: Some(vec![T, T, T, T, T, F, F]),
        phase: Some(vec![Running; 7]),
        deletion: Some(vec![false, false, false, false, false, true, true]),
        requests: r1(7),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcScaleDownIgnoresDeletionPods",
        &fx,
        &levels,
        50,
        (3, 28, 560),
    );
}

/// Upstream `TestReplicaCalcTolerance`, `TestReplicaCalcSuperfluousMetrics`,
/// `TestReplicaCalcMissingMetrics`, `TestReplicaCalcEmptyMetrics`,
/// `TestReplicaCalcEmptyCPURequest`,
/// `TestReplicaCalcDuringRollingUpdateWithMaxSurge`.
#[test]
fn test_replica_calc_tolerance_and_metric_sets() {
    let fx = Fixture {
        current: 3,
        requests: reqs(&["0.9", "1.0", "1.1"]),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcTolerance",
        &fx,
        &[1010, 1030, 1020],
        100,
        (3, 102, 2040),
    );
    let fx = Fixture {
        current: 4,
        requests: r1(4),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcSuperfluousMetrics",
        &fx,
        &[4000, 9500, 3000, 7000, 3200, 2000],
        100,
        (24, 587, 11750),
    );
    check_resource(
        "TestReplicaCalcMissingMetrics",
        &fx,
        &[400, 95],
        100,
        (3, 24, 495),
    );
    let fx3 = Fixture {
        current: 4,
        requests: r1(3),
        ..Default::default()
    };
    let err = resource(&fx3, &[], &[], 100).unwrap_err();
    assert_eq!(
        err,
        "unable to get metrics for resource cpu: no metrics returned from resource metrics API",
        "TestReplicaCalcEmptyMetrics"
    );
    let fx = Fixture {
        current: 1,
        ..Default::default()
    };
    let err = resource(&fx, &[200], &[], 100).unwrap_err();
    assert!(
        err.contains("missing request for"),
        "TestReplicaCalcEmptyCPURequest: {err}"
    );
    let fx = Fixture {
        current: 2,
        phase: Some(vec![Running; 3]),
        requests: r1(3),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcDuringRollingUpdateWithMaxSurge",
        &fx,
        &[100, 100],
        50,
        (2, 10, 200),
    );
}

/// Upstream `TestReplicaCalcMissingMetricsNoChangeEq`, `…NoChangeGt`,
/// `…NoChangeLt`, `…UnreadyChange`, `…HotCpuNoChange`, `…UnreadyScaleUp`,
/// `…HotCpuScaleUp`, `…UnreadyScaleDown`, `…ScaleDownTargetOver100`.
#[test]
fn test_replica_calc_missing_metrics() {
    let two = Fixture {
        current: 2,
        requests: r1(2),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcMissingMetricsNoChangeEq",
        &two,
        &[1000],
        100,
        (2, 100, 2000),
    );
    check_resource(
        "TestReplicaCalcMissingMetricsNoChangeGt",
        &two,
        &[1900],
        100,
        (2, 190, 3800),
    );
    check_resource(
        "TestReplicaCalcMissingMetricsNoChangeLt",
        &two,
        &[600],
        100,
        (2, 60, 1200),
    );
    let three = Fixture {
        current: 3,
        requests: r1(3),
        ..Default::default()
    };
    let unready = Fixture {
        readiness: Some(vec![F, T, T]),
        ..three.clone()
    };
    check_resource(
        "TestReplicaCalcMissingMetricsUnreadyChange",
        &unready,
        &[100, 450],
        50,
        (3, 45, 900),
    );
    let hot = Fixture {
        start: Some(vec![HOT, COOL, COOL]),
        ..three
    };
    check_resource(
        "TestReplicaCalcMissingMetricsHotCpuNoChange",
        &hot,
        &[100, 450],
        50,
        (3, 45, 900),
    );
    check_resource(
        "TestReplicaCalcMissingMetricsUnreadyScaleUp",
        &unready,
        &[100, 2000],
        50,
        (4, 200, 4000),
    );
    let hot_unready = Fixture {
        readiness: Some(vec![F, T, T]),
        ..hot
    };
    check_resource(
        "TestReplicaCalcMissingMetricsHotCpuScaleUp",
        &hot_unready,
        &[100, 2000],
        50,
        (4, 200, 4000),
    );
    let fx = Fixture {
        current: 4,
        readiness: Some(vec![F, T, T, T]),
        requests: r1(4),
        ..Default::default()
    };
    check_resource(
        "TestReplicaCalcMissingMetricsUnreadyScaleDown",
        &fx,
        &[100, 100, 100],
        50,
        (3, 10, 200),
    );
    let fx = Fixture {
        requests: reqs(&["1.0", "1.0", "2.0", "2.0"]),
        ..fx
    };
    check_resource(
        "TestReplicaCalcMissingMetricsScaleDownTargetOver100",
        &fx,
        &[200, 100, 100],
        300,
        (2, 6, 200),
    );
}

/// Upstream `TestReplicaCalcComputedToleranceAlgImplementation`: a minimal
/// scale-down just outside the tolerance, then none just inside it.
#[test]
fn test_replica_calc_computed_tolerance_alg_implementation() {
    let start_pods: i32 = 10;
    // 150 mCPU per pod; each pod asks for 2× what it uses.
    let total_used: i64 = i64::from(start_pods) * 150;
    let total_requested: i32 = 2 * i32::try_from(total_used).unwrap();
    let requested_to_used = f64::from(total_requested / i32::try_from(total_used).unwrap());
    let per_pod_requested = total_requested / start_pods;
    // Force a minimal scaling event by satisfying (tolerance < 1 - resourcesUsedRatio).
    let target = (1.0 / (requested_to_used * (1.0 - DEFAULT_TOLERANCE))).abs() + 0.01;
    #[allow(clippy::cast_possible_truncation)]
    let final_target = (target * 100.0) as i32;
    #[allow(clippy::cast_precision_loss)]
    let resources_used_ratio = total_used as f64 / (f64::from(total_requested) * target);
    #[allow(clippy::cast_possible_truncation)]
    let final_pods = (resources_used_ratio * f64::from(start_pods)).ceil() as i32;

    let offsets = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0];
    let requests: Vec<String> = offsets
        .iter()
        .map(|o| format!("{}m", per_pod_requested + o))
        .collect();
    let fx = Fixture {
        current: start_pods,
        requests,
        ..Default::default()
    };
    let levels = vec![total_used / 10; 10];
    let utilization = i32::try_from(total_used * 100).unwrap() / total_requested;
    check_resource(
        "TestReplicaCalcComputedToleranceAlgImplementation (scale)",
        &fx,
        &levels,
        final_target,
        (final_pods, utilization, 2 * total_used / 10),
    );
    assert_eq!(final_pods, 9);

    // Now no scaling happens within a very close margin to the tolerance.
    let target = (1.0 / (requested_to_used * (1.0 - DEFAULT_TOLERANCE))).abs() + 0.004;
    #[allow(clippy::cast_possible_truncation)]
    let final_target = (target * 100.0) as i32;
    check_resource(
        "TestReplicaCalcComputedToleranceAlgImplementation (no scale)",
        &fx,
        &levels,
        final_target,
        (start_pods, utilization, 2 * total_used / 10),
    );
}

/// Upstream `TestReplicaCalcConfigurableTolerance` (KEP-4951 per-direction
/// tolerances).
#[test]
fn test_replica_calc_configurable_tolerance() {
    let tol = |scale_down, scale_up| {
        Some(Tolerances {
            scale_down,
            scale_up,
        })
    };
    let cases = [
        (
            "Outside of a 0% tolerance",
            tol(0.0, 0.0),
            [909, 1010, 1111],
            (4, 101, 2020),
        ),
        (
            "Within a 200% scale-up tolerance",
            tol(DEFAULT_TOLERANCE, 2.0),
            [1890, 1910, 1900],
            (3, 190, 3800),
        ),
        (
            "Outside 8% scale-up tolerance (and superfuous scale-down tolerance)",
            tol(2.0, 0.08),
            [1100, 1080, 1090],
            (4, 109, 2180),
        ),
        (
            "Within a 36% scale-down tolerance",
            tol(0.36, DEFAULT_TOLERANCE),
            [660, 640, 650],
            (3, 65, 1300),
        ),
        (
            "Outside a 34% scale-down tolerance",
            tol(0.34, DEFAULT_TOLERANCE),
            [660, 640, 650],
            (2, 65, 1300),
        ),
    ];
    for (name, tolerances, levels, want) in cases {
        let fx = Fixture {
            current: 3,
            requests: reqs(&["0.9", "1.0", "1.1"]),
            tolerances,
            ..Default::default()
        };
        check_resource(name, &fx, &levels, 100, want);
    }
}

/// Runs a `calcPlainMetricReplicas` case through `GetRawResourceReplicas`
/// on memory (values given in milli-units as upstream's pod metrics).
fn plain(fx: &Fixture, levels: &[i64], target: i64) -> PlainReplicas {
    let pods = fx.pods();
    let ctx = Ctx {
        now: NOW,
        pods: &pods,
        tolerances: fx.tolerances(),
    };
    let metrics = levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            assert_eq!(level % 1000, 0, "levels must be whole bytes");
            PodMetric {
                pod: format!("test-pod-{i}"),
                sample: Sample {
                    value: level / 1000,
                    timestamp: ZERO,
                    window: 60.0,
                },
            }
        })
        .collect();
    CALC.get_raw_resource_replicas(&ctx, fx.current, target, ResourceName::Memory, Ok(metrics))
        .unwrap()
}

/// Upstream `TestReplicaCalcScaleUpCM`,
/// `…ScaleUpCMUnreadyHotCpuNoLessScale`,
/// `…ScaleUpCMUnreadyHotCpuScaleWouldScaleDown`, `…ScaleDownCM`,
/// `…ToleranceCM`, `TestPlainMetricReplicaCalcMissingMetricsNoChangeEq`,
/// `…DuringRollingUpdateWithMaxSurgeCM`, `…ConfigurableToleranceCM`
/// (`calcPlainMetricReplicas`).
#[test]
fn test_replica_calc_plain_metric() {
    /// (name, fixture, levels, target, (replicas, usage))
    type Case = (&'static str, Fixture, &'static [i64], i64, (i32, i64));
    let cases: [Case; 8] = [
        (
            "TestReplicaCalcScaleUpCM",
            Fixture {
                current: 3,
                ..Default::default()
            },
            &[20000, 10000, 30000],
            15000,
            (4, 20000),
        ),
        (
            "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale",
            Fixture {
                current: 3,
                readiness: Some(vec![T, T, F]),
                start: Some(vec![COOL, COOL, HOT]),
                ..Default::default()
            },
            &[50000, 10000, 30000],
            15000,
            (6, 30000),
        ),
        (
            "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
            Fixture {
                current: 3,
                readiness: Some(vec![F, T, F]),
                start: Some(vec![HOT, COOL, HOT]),
                ..Default::default()
            },
            &[50000, 15000, 30000],
            15000,
            (7, 31666),
        ),
        (
            "TestReplicaCalcScaleDownCM",
            Fixture {
                current: 5,
                ..Default::default()
            },
            &[12000; 5],
            20000,
            (3, 12000),
        ),
        (
            "TestReplicaCalcToleranceCM",
            Fixture {
                current: 3,
                ..Default::default()
            },
            &[20000, 21000, 21000],
            20000,
            (3, 20666),
        ),
        (
            "TestPlainMetricReplicaCalcMissingMetricsNoChangeEq",
            Fixture {
                current: 5,
                ..Default::default()
            },
            &[20000, 19000, 21000],
            20000,
            (5, 20000),
        ),
        (
            "TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM",
            Fixture {
                current: 2,
                phase: Some(vec![Running; 3]),
                ..Default::default()
            },
            &[10000, 10000],
            17000,
            (2, 10000),
        ),
        (
            "TestReplicaCalcConfigurableToleranceCM",
            Fixture {
                current: 3,
                tolerances: Some(Tolerances {
                    scale_down: DEFAULT_TOLERANCE,
                    scale_up: 0.01,
                }),
                ..Default::default()
            },
            &[20000, 21000, 21000],
            20000,
            (4, 20666),
        ),
    ];
    for (name, fx, levels, target, want) in cases {
        let got = plain(&fx, levels, target);
        assert_eq!((got.replicas, got.usage), want, "{name}");
    }
}

/// Upstream `TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods`,
/// `…ScaleDownCMExternal`, `…ToleranceCMExternal`,
/// `…ConfigurableToleranceCMExternal` (Value target) and
/// `…ScaleUpPerPodCMExternal`, `…ScaleDownPerPodCMExternal`,
/// `…TolerancePerPodCMExternal`, `…ConfigurableTolerancePerPodCMExternal`
/// (AverageValue target).
#[test]
fn test_replica_calc_external() {
    let up_1pct = Some(Tolerances {
        scale_down: DEFAULT_TOLERANCE,
        scale_up: 0.01,
    });
    // (name, fixture, level, target, per pod?, (replicas, usage))
    let cases = [
        (
            "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods",
            Fixture {
                current: 3,
                readiness: Some(vec![F, T, F]),
                ..Default::default()
            },
            8600,
            4400,
            false,
            (2, 8600),
        ),
        (
            "TestReplicaCalcScaleDownCMExternal",
            Fixture {
                current: 5,
                ..Default::default()
            },
            8600,
            14334,
            false,
            (3, 8600),
        ),
        (
            "TestReplicaCalcToleranceCMExternal",
            Fixture {
                current: 3,
                ..Default::default()
            },
            8600,
            8888,
            false,
            (3, 8600),
        ),
        (
            "TestReplicaCalcConfigurableToleranceCMExternal",
            Fixture {
                current: 3,
                tolerances: up_1pct,
                ..Default::default()
            },
            8900,
            8800,
            false,
            (4, 8900),
        ),
        (
            "TestReplicaCalcScaleUpPerPodCMExternal",
            Fixture {
                current: 3,
                ..Default::default()
            },
            8600,
            2150,
            true,
            (4, 2867),
        ),
        (
            "TestReplicaCalcScaleDownPerPodCMExternal",
            Fixture {
                current: 5,
                ..Default::default()
            },
            8600,
            2867,
            true,
            (3, 1720),
        ),
        (
            "TestReplicaCalcTolerancePerPodCMExternal",
            Fixture {
                current: 3,
                ..Default::default()
            },
            8600,
            2900,
            true,
            (3, 2867),
        ),
        (
            "TestReplicaCalcConfigurableTolerancePerPodCMExternal",
            Fixture {
                current: 3,
                tolerances: up_1pct,
                ..Default::default()
            },
            8600,
            2800,
            true,
            (4, 2867),
        ),
    ];
    for (name, fx, level, target, per_pod, want) in cases {
        let pods = fx.pods();
        let ctx = Ctx {
            now: NOW,
            pods: &pods,
            tolerances: fx.tolerances(),
        };
        let got = if per_pod {
            CALC.get_external_per_pod_metric_replicas(&ctx, fx.current, target, Ok(vec![level]))
        } else {
            CALC.get_external_metric_replicas(&ctx, fx.current, target, Ok(vec![level]))
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((got.replicas, got.usage), want, "{name}");
    }
}

/// Upstream `TestGroupPods`.
#[test]
#[allow(clippy::too_many_lines)]
fn test_group_pods() {
    let pod =
        |name: &str, phase, start: Option<f64>, ready: Option<(ConditionStatus, f64)>| PodState {
            name: name.to_owned(),
            phase,
            ready: ready.map(|(status, ltt)| ReadyCondition {
                status,
                last_transition_time: ltt,
            }),
            start_time: start,
            deleting: false,
            cpu_request: None,
            memory_request: None,
            cpu_usage: None,
            memory_usage: None,
        };
    let metric = |value, timestamp, window| Metric {
        value,
        timestamp,
        window,
    };
    let set = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
    let groups = |ready, unready: &[&str], missing: &[&str], ignored: &[&str]| PodGroups {
        ready_pod_count: ready,
        unready: set(unready),
        missing: set(missing),
        ignored: set(ignored),
    };
    let min = 60.0;
    let succeeded = PodPhase::Succeeded;
    let mut deleted = pod("deleted", Pending, None, None);
    deleted.deleting = true;
    /// (name, pods, metrics, resource, expected groups)
    type Case = (
        &'static str,
        Vec<PodState>,
        Vec<(&'static str, Metric)>,
        ResourceName,
        PodGroups,
    );
    let cases: Vec<Case> = vec![
        (
            "void",
            vec![],
            vec![],
            ResourceName::Cpu,
            groups(0, &[], &[], &[]),
        ),
        (
            "count in a ready pod - memory",
            vec![pod("bentham", succeeded, None, None)],
            vec![("bentham", metric(1, NOW, min))],
            ResourceName::Memory,
            groups(1, &[], &[], &[]),
        ),
        (
            "unready a pod without ready condition - CPU",
            vec![pod("lucretius", succeeded, Some(NOW), None)],
            vec![("lucretius", metric(1, ZERO, 0.0))],
            ResourceName::Cpu,
            groups(0, &["lucretius"], &[], &[]),
        ),
        (
            "count in a ready pod with fresh metrics during initialization period - CPU",
            vec![pod(
                "bentham",
                succeeded,
                Some(NOW - min),
                Some((T, NOW - 30.0)),
            )],
            vec![("bentham", metric(1, NOW, 30.0))],
            ResourceName::Cpu,
            groups(1, &[], &[], &[]),
        ),
        (
            "unready a ready pod without fresh metrics during initialization period - CPU",
            vec![pod(
                "bentham",
                succeeded,
                Some(NOW - min),
                Some((T, NOW - 30.0)),
            )],
            vec![("bentham", metric(1, NOW, 60.0))],
            ResourceName::Cpu,
            groups(0, &["bentham"], &[], &[]),
        ),
        (
            "unready an unready pod during initialization period - CPU",
            vec![pod(
                "lucretius",
                succeeded,
                Some(NOW - 10.0 * min),
                Some((F, NOW - 9.0 * min - 54.0)),
            )],
            vec![("lucretius", metric(1, ZERO, 0.0))],
            ResourceName::Cpu,
            groups(0, &["lucretius"], &[], &[]),
        ),
        (
            "count in a ready pod without fresh metrics after initialization period - CPU",
            vec![pod(
                "bentham",
                succeeded,
                Some(NOW - 3.0 * min),
                Some((T, NOW - 3.0 * min)),
            )],
            vec![("bentham", metric(1, NOW - 2.0 * min, min))],
            ResourceName::Cpu,
            groups(1, &[], &[], &[]),
        ),
        (
            "count in an unready pod that was ready after initialization period - CPU",
            vec![pod(
                "lucretius",
                succeeded,
                Some(NOW - 10.0 * min),
                Some((F, NOW - 9.0 * min)),
            )],
            vec![("lucretius", metric(1, ZERO, 0.0))],
            ResourceName::Cpu,
            groups(1, &[], &[], &[]),
        ),
        (
            "unready pod that has never been ready after initialization period - CPU",
            vec![pod(
                "lucretius",
                succeeded,
                Some(NOW - 10.0 * min),
                Some((F, NOW - 9.0 * min - 50.0)),
            )],
            vec![("lucretius", metric(1, ZERO, 0.0))],
            ResourceName::Cpu,
            groups(1, &[], &[], &[]),
        ),
        (
            "a missing pod",
            vec![pod("epicurus", succeeded, Some(NOW - 3.0 * min), None)],
            vec![],
            ResourceName::Cpu,
            groups(0, &[], &["epicurus"], &[]),
        ),
        (
            "several pods",
            vec![
                pod("lucretius", succeeded, Some(NOW), None),
                pod(
                    "niccolo",
                    succeeded,
                    Some(NOW - 3.0 * min),
                    Some((T, NOW - 3.0 * min)),
                ),
                pod("epicurus", succeeded, Some(NOW - 3.0 * min), None),
            ],
            vec![
                ("lucretius", metric(1, ZERO, 0.0)),
                ("niccolo", metric(1, ZERO, 0.0)),
            ],
            ResourceName::Cpu,
            groups(1, &["lucretius"], &["epicurus"], &[]),
        ),
        (
            "pending pods are unreadied",
            vec![pod("unscheduled", Pending, None, None)],
            vec![],
            ResourceName::Cpu,
            groups(0, &["unscheduled"], &[], &[]),
        ),
        (
            "ignore pods with deletion timestamps",
            vec![deleted],
            vec![("deleted", metric(1, ZERO, 0.0))],
            ResourceName::Cpu,
            groups(0, &[], &[], &["deleted"]),
        ),
        (
            "ignore pods in a failed state",
            vec![pod("failed", Failed, None, None)],
            vec![("failed", metric(1, ZERO, 0.0))],
            ResourceName::Cpu,
            groups(0, &[], &[], &["failed"]),
        ),
    ];
    for (name, pods, metrics, resource, want) in cases {
        let metrics: PodMetricsInfo = metrics
            .into_iter()
            .map(|(n, m)| (n.to_owned(), m))
            .collect();
        let got = CALC.group_pods(NOW, &pods, &metrics, Some(resource));
        assert_eq!(got, want, "{name}");
    }
}
