//! Tests of the simulator's own surface: spec validation and defaulting,
//! quantities, the platform's gateway rule over several syncs, and the
//! failed-metric rules, beyond the upstream golden tables.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    ExternalMetricSource, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscalerBehavior,
    HorizontalPodAutoscalerSpec, MetricIdentifier, MetricSpec, MetricTarget, ResourceMetricSource,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::quantity::{Quantity, f64_to_milli};
use super::spec::{PolicyType, ScalingPolicy, SelectPolicy};
use super::{
    ConditionStatus, ConditionType, ControllerOptions, Error, Hpa, MetricValue, Observation,
    Observe, PodPhase, PodState, ResourceName, Sample,
};

fn resource(
    name: &str,
    target_type: &str,
    utilization: Option<i32>,
    average: Option<&str>,
) -> MetricSpec {
    MetricSpec {
        type_: "Resource".to_owned(),
        resource: Some(ResourceMetricSource {
            name: name.to_owned(),
            target: MetricTarget {
                type_: target_type.to_owned(),
                average_utilization: utilization,
                average_value: average.map(|q| K8sQuantity(q.to_owned())),
                value: None,
            },
        }),
        ..Default::default()
    }
}

fn external(name: &str, target_type: &str, quantity: &str) -> MetricSpec {
    let q = Some(K8sQuantity(quantity.to_owned()));
    let (value, average_value) = if target_type == "Value" {
        (q, None)
    } else {
        (None, q)
    };
    MetricSpec {
        type_: "External".to_owned(),
        external: Some(ExternalMetricSource {
            metric: MetricIdentifier {
                name: name.to_owned(),
                selector: None,
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

fn spec(min: Option<i32>, max: i32, metrics: Vec<MetricSpec>) -> HorizontalPodAutoscalerSpec {
    HorizontalPodAutoscalerSpec {
        min_replicas: min,
        max_replicas: max,
        metrics: Some(metrics),
        ..Default::default()
    }
}

/// The platform's gateway rule: cpu 70 % and memory 80 % utilization, 2–10.
fn gateway() -> HorizontalPodAutoscalerSpec {
    spec(
        Some(2),
        10,
        vec![
            resource("cpu", "Utilization", Some(70), None),
            resource("memory", "Utilization", Some(80), None),
        ],
    )
}

const MI: i64 = 1024 * 1024;

/// `n` long-running gateway pods (500m CPU, 512Mi memory requested) using
/// `cpu` millicores and `mem` bytes each, sampled at `now`.
fn gateway_pods(n: usize, cpu: i64, mem: i64, now: f64) -> Vec<PodState> {
    (0..n)
        .map(|i| {
            let mut p = PodState::running(format!("gw-{i}"), 0.0);
            p.cpu_request = Some(500);
            p.memory_request = Some(512 * MI);
            let sample = |value| Sample {
                value,
                timestamp: now,
                window: 30.0,
            };
            p.cpu_usage = Some(sample(cpu));
            p.memory_usage = Some(sample(mem));
            p
        })
        .collect()
}

fn obs(pods: Vec<PodState>) -> Observation {
    Observation {
        pods,
        ..Default::default()
    }
}

#[test]
fn controller_options_default_to_upstream_flags() {
    let o = ControllerOptions::default();
    assert_eq!(o.sync_period, 15.0);
    assert_eq!(o.tolerance, 0.1);
    assert_eq!(o.cpu_initialization_period, 300.0);
    assert_eq!(o.initial_readiness_delay, 30.0);
    assert_eq!(o.downscale_stabilization, 300.0);
    assert!(!o.allow_scale_to_zero);
}

#[test]
fn unsupported_metric_types_are_rejected_with_their_index() {
    for kind in ["Pods", "Object", "ContainerResource", "CheddarCheese"] {
        let mut metrics = vec![resource("cpu", "Utilization", Some(50), None)];
        metrics.push(MetricSpec {
            type_: kind.to_owned(),
            ..Default::default()
        });
        let err = Hpa::new(&spec(None, 5, metrics), ControllerOptions::default()).unwrap_err();
        assert_eq!(
            err,
            Error::UnsupportedMetricType {
                index: 1,
                kind: kind.to_owned()
            }
        );
        assert!(err.to_string().contains("spec.metrics[1]"), "{err}");
    }
}

#[test]
fn nonsense_specs_are_rejected() {
    let opts = ControllerOptions::default;
    let cpu = || vec![resource("cpu", "Utilization", Some(50), None)];
    let cases: Vec<(HorizontalPodAutoscalerSpec, Error)> = vec![
        (
            spec(Some(5), 3, cpu()),
            Error::MinAboveMax { min: 5, max: 3 },
        ),
        (spec(None, 0, cpu()), Error::MaxReplicasTooSmall(0)),
        (spec(Some(0), 3, cpu()), Error::MinReplicasTooSmall(0)),
        (spec(Some(-1), 3, cpu()), Error::MinReplicasTooSmall(-1)),
        (
            spec(
                None,
                3,
                vec![resource("ephemeral-storage", "Utilization", Some(50), None)],
            ),
            Error::UnsupportedResource {
                index: 0,
                name: "ephemeral-storage".to_owned(),
            },
        ),
    ];
    for (s, want) in cases {
        assert_eq!(Hpa::new(&s, opts()).unwrap_err(), want);
    }
    let invalid_metric = |m: MetricSpec| {
        matches!(
            Hpa::new(&spec(None, 3, vec![m]), opts()),
            Err(Error::InvalidMetric { index: 0, .. } | Error::InvalidQuantity { .. })
        )
    };
    assert!(invalid_metric(external("q", "Utilization", "1")));
    assert!(invalid_metric(external("q", "Value", "0")));
    assert!(invalid_metric(external("q", "Value", "-3")));
    assert!(invalid_metric(external("q", "AverageValue", "ten")));
    assert!(invalid_metric(resource(
        "cpu",
        "Utilization",
        Some(0),
        None
    )));
    assert!(invalid_metric(resource("cpu", "Utilization", None, None)));
    assert!(invalid_metric(resource("cpu", "Value", None, Some("1"))));
    assert!(invalid_metric(resource(
        "cpu",
        "Utilization",
        Some(50),
        Some("100m")
    )));
    assert!(invalid_metric(MetricSpec {
        type_: "External".to_owned(),
        ..Default::default()
    }));
    // Scale to zero needs the gate and an External metric.
    let gate = ControllerOptions {
        allow_scale_to_zero: true,
        ..ControllerOptions::default()
    };
    assert_eq!(
        Hpa::new(&spec(Some(0), 3, cpu()), gate.clone()).unwrap_err(),
        Error::ScaleToZeroNeedsExternalMetric
    );
    assert!(Hpa::new(&spec(Some(0), 3, vec![external("q", "Value", "10")]), gate).is_ok());
    // Options.
    let bad = ControllerOptions {
        tolerance: -0.1,
        ..ControllerOptions::default()
    };
    assert!(matches!(
        Hpa::new(&spec(None, 3, cpu()), bad),
        Err(Error::InvalidOption {
            name: "tolerance",
            ..
        })
    ));
}

fn behavior(
    up: Option<HPAScalingRules>,
    down: Option<HPAScalingRules>,
) -> Option<HorizontalPodAutoscalerBehavior> {
    Some(HorizontalPodAutoscalerBehavior {
        scale_up: up,
        scale_down: down,
    })
}

#[test]
fn malformed_behavior_is_rejected() {
    let with = |rules: HPAScalingRules| HorizontalPodAutoscalerSpec {
        behavior: behavior(None, Some(rules)),
        ..spec(None, 3, vec![])
    };
    let bad = [
        HPAScalingRules {
            policies: Some(vec![]),
            ..Default::default()
        },
        HPAScalingRules {
            select_policy: Some("Fastest".to_owned()),
            ..Default::default()
        },
        HPAScalingRules {
            stabilization_window_seconds: Some(3601),
            ..Default::default()
        },
        HPAScalingRules {
            policies: Some(vec![HPAScalingPolicy {
                type_: "Pods".to_owned(),
                value: 0,
                period_seconds: 15,
            }]),
            ..Default::default()
        },
        HPAScalingRules {
            policies: Some(vec![HPAScalingPolicy {
                type_: "Percent".to_owned(),
                value: 10,
                period_seconds: 1801,
            }]),
            ..Default::default()
        },
        HPAScalingRules {
            tolerance: Some(K8sQuantity("-0.1".to_owned())),
            ..Default::default()
        },
    ];
    for rules in bad {
        let err = Hpa::new(&with(rules.clone()), ControllerOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidBehavior {
                    direction: "scaleDown",
                    ..
                }
            ),
            "{rules:?}: {err}"
        );
    }
}

#[test]
fn api_defaults_are_applied() {
    // No metrics: cpu 80 % utilization; no minReplicas: 1.
    let hpa = Hpa::new(&spec(None, 4, vec![]), ControllerOptions::default()).unwrap();
    assert_eq!(hpa.min_replicas(), 1);
    assert_eq!(
        hpa.spec.metrics,
        vec![super::spec::MetricSource::Resource {
            resource: ResourceName::Cpu,
            target: super::spec::ResourceTarget::Utilization(80),
        }]
    );
    assert!(hpa.spec.behavior.is_none());

    // A partial behavior gets the defaults for everything else; the
    // scale-down window comes from the controller flag.
    let s = HorizontalPodAutoscalerSpec {
        behavior: behavior(
            None,
            Some(HPAScalingRules {
                select_policy: Some("Min".to_owned()),
                ..Default::default()
            }),
        ),
        ..spec(None, 4, vec![])
    };
    let opts = ControllerOptions {
        downscale_stabilization: 120.0,
        ..ControllerOptions::default()
    };
    let b = Hpa::new(&s, opts).unwrap().spec.behavior.unwrap();
    assert_eq!(b.scale_up.stabilization_window_seconds, 0);
    assert_eq!(b.scale_up.select_policy, SelectPolicy::Max);
    assert_eq!(
        b.scale_up.policies,
        vec![
            ScalingPolicy {
                kind: PolicyType::Pods,
                value: 4,
                period_seconds: 15
            },
            ScalingPolicy {
                kind: PolicyType::Percent,
                value: 100,
                period_seconds: 15
            },
        ]
    );
    assert_eq!(b.scale_down.stabilization_window_seconds, 120);
    assert_eq!(b.scale_down.select_policy, SelectPolicy::Min);
    assert_eq!(
        b.scale_down.policies,
        vec![ScalingPolicy {
            kind: PolicyType::Percent,
            value: 100,
            period_seconds: 15
        }]
    );
}

#[test]
fn quantities_parse_like_kubernetes() {
    let milli = |s: &str| Quantity::parse(s).unwrap().milli_value().unwrap();
    assert_eq!(milli("500m"), 500);
    assert_eq!(milli("1.5"), 1500);
    assert_eq!(milli("2"), 2000);
    assert_eq!(milli(".5"), 500);
    assert_eq!(milli("1Ki"), 1_024_000);
    assert_eq!(milli("512Mi"), 512 * MI * 1000);
    assert_eq!(milli("1e3"), 1_000_000);
    assert_eq!(milli("1E-3"), 1);
    assert_eq!(milli("2k"), 2_000_000);
    // MilliValue rounds up.
    assert_eq!(milli("0.0001"), 1);
    assert_eq!(milli("1n"), 1);
    assert_eq!(milli("0"), 0);
    assert_eq!(milli("-1.5"), -1500);
    assert!(Quantity::parse("").is_err());
    assert!(Quantity::parse("abc").is_err());
    assert!(Quantity::parse("1.2.3").is_err());
    assert!(Quantity::parse("5 m").is_err());
    assert!(Quantity::parse("1Ee").is_err());
    assert_eq!(milli("1P"), 1_000_000_000_000_000_000);
    assert!(Quantity::parse("1E").unwrap().milli_value().is_err());
    assert_eq!(Quantity::parse("0.05").unwrap().as_f64(), 0.05);
    assert_eq!(Quantity::parse("50m").unwrap().as_f64(), 0.05);
    assert_eq!(f64_to_milli(8.6), 8600);
    assert_eq!(f64_to_milli(0.1 + 0.2), 300);
    assert_eq!(f64_to_milli(0.0001), 1);
    assert_eq!(f64_to_milli(12.0), 12_000);
}

/// The gateway rule over several syncs: the largest proposal wins, the
/// default scale-up limit applies without behavior, and scale-down waits for
/// the 300 s window.
#[test]
fn gateway_rule_over_syncs() {
    let mut hpa = Hpa::new(&gateway(), ControllerOptions::default()).unwrap();
    let mut replicas = 2;
    let mut t = 1000.0;

    // CPU at 140 % of request (2× the 70 % target), memory at 40 %.
    let d = hpa.reconcile(t, replicas, &obs(gateway_pods(2, 700, 205 * MI, t)));
    assert_eq!(d.metric_replicas, Some(4));
    assert_eq!(
        d.metric_name.as_deref(),
        Some("cpu resource utilization (percentage of request)")
    );
    assert_eq!(d.desired_replicas, 4);
    assert!(d.scaled);
    assert_eq!(
        d.reason.as_deref(),
        Some("cpu resource utilization (percentage of request) above target")
    );
    match &d.proposals[..] {
        [Ok(cpu), Ok(mem)] => {
            assert_eq!(cpu.replicas, 4);
            assert_eq!(
                cpu.current,
                MetricValue::ResourceUtilization {
                    resource: ResourceName::Cpu,
                    utilization: 140,
                    average_value_milli: 700,
                }
            );
            assert_eq!(mem.replicas, 1);
        }
        other => panic!("{other:?}"),
    }
    replicas = d.desired_replicas;

    // Memory at 160 % of its 80 % target: 4 × 2 = 8.
    t += 15.0;
    let d = hpa.reconcile(t, replicas, &obs(gateway_pods(4, 350, 820 * MI, t)));
    assert_eq!(d.metric_replicas, Some(8));
    assert_eq!(
        d.metric_name.as_deref(),
        Some("memory resource utilization (percentage of request)")
    );
    assert_eq!(d.desired_replicas, 8);
    replicas = d.desired_replicas;

    // A huge spike: limited to max(2 × 8, 4) = 16, then to maxReplicas 10.
    t += 15.0;
    let d = hpa.reconcile(t, replicas, &obs(gateway_pods(8, 2000, 300 * MI, t)));
    assert_eq!(d.desired_replicas, 10);
    assert_eq!(d.limited_by(), Some("TooManyReplicas"));
    replicas = d.desired_replicas;

    // Load gone: every sync proposes 1, but the last 300 s saw 46 (a
    // recommendation exactly 300 s old still counts).
    let quiet = |t| obs(gateway_pods(10, 10, 10 * MI, t));
    for _ in 0..20 {
        t += 15.0;
        let d = hpa.reconcile(t, replicas, &quiet(t));
        assert_eq!(d.metric_replicas, Some(1));
        assert_eq!(d.desired_replicas, 10, "t={t}");
        assert_eq!(
            d.stabilization_reason.as_deref(),
            Some("ScaleDownStabilized")
        );
    }
    // More than 300 s after the spike the window lets go; minReplicas holds
    // at 2.
    t += 15.0;
    let d = hpa.reconcile(t, replicas, &quiet(t));
    assert_eq!(d.desired_replicas, 2);
    assert_eq!(d.limited_by(), Some("TooFewReplicas"));
    assert_eq!(d.reason.as_deref(), Some("All metrics below target"));
    assert_eq!(hpa.last_scale_time(), Some(t));
}

#[test]
fn within_tolerance_keeps_the_replica_count() {
    let mut hpa = Hpa::new(&gateway(), ControllerOptions::default()).unwrap();
    // CPU at 77 % of request: 1.1 × the 70 % target, exactly on the edge.
    let d = hpa.reconcile(1000.0, 4, &obs(gateway_pods(4, 385, 100 * MI, 1000.0)));
    assert!(matches!(&d.proposals[0], Ok(p) if p.replicas == 4));
    assert_eq!(d.desired_replicas, 4);
    // Per-HPA tolerance (KEP-4951) of 5 % for scaling up.
    let mut s = gateway();
    s.behavior = behavior(
        Some(HPAScalingRules {
            tolerance: Some(K8sQuantity("0.05".to_owned())),
            ..Default::default()
        }),
        None,
    );
    let mut hpa = Hpa::new(&s, ControllerOptions::default()).unwrap();
    let d = hpa.reconcile(1000.0, 4, &obs(gateway_pods(4, 385, 100 * MI, 1000.0)));
    assert_eq!(d.desired_replicas, 5);
}

fn queue_spec(
    behavior_rules: Option<HorizontalPodAutoscalerBehavior>,
) -> HorizontalPodAutoscalerSpec {
    HorizontalPodAutoscalerSpec {
        behavior: behavior_rules,
        ..spec(
            Some(1),
            50,
            vec![
                external("queue_depth", "AverageValue", "30"),
                external("oldest_age", "Value", "10"),
            ],
        )
    }
}

fn queue_obs(
    n: usize,
    depth: Result<Vec<f64>, String>,
    age: Result<Vec<f64>, String>,
) -> Observation {
    Observation {
        pods: (0..n)
            .map(|i| PodState::running(format!("w-{i}"), 0.0))
            .collect(),
        external: BTreeMap::from([
            ("queue_depth".to_owned(), depth),
            ("oldest_age".to_owned(), age),
        ]),
        ..Default::default()
    }
}

#[test]
fn failed_metrics_follow_upstream_rules() {
    let err = || Err("adapter unreachable".to_owned());
    let mut hpa = Hpa::new(&queue_spec(None), ControllerOptions::default()).unwrap();

    // One metric fails, the other proposes a scale-up: scale on it, report.
    let d = hpa.reconcile(0.0, 4, &queue_obs(4, Ok(vec![180.0, 60.0]), err()));
    assert_eq!(d.desired_replicas, 8);
    assert!(d.scaled);
    assert!(
        d.error
            .as_deref()
            .unwrap()
            .starts_with("invalid metrics (1 invalid out of 2)")
    );
    assert!(
        matches!(&d.proposals[1], Err(e) if e.reason == "FailedGetExternalMetric" && e.index == 1)
    );
    assert!(!d.metrics_failed());

    // One fails, the other proposes a scale-down: no scaling at all.
    let d = hpa.reconcile(15.0, 8, &queue_obs(8, Ok(vec![30.0]), err()));
    assert!(matches!(&d.proposals[0], Ok(p) if p.replicas == 1));
    assert_eq!(d.desired_replicas, 8);
    assert!(!d.scaled);
    assert!(d.metrics_failed());
    let active = d.condition(ConditionType::ScalingActive).unwrap();
    assert_eq!(
        (active.status, active.reason.as_str()),
        (ConditionStatus::False, "FailedGetExternalMetric")
    );
    assert!(
        d.error
            .as_deref()
            .unwrap()
            .starts_with("failed to compute desired number of replicas")
    );

    // All fail: no scaling; an empty answer is a failure too.
    let d = hpa.reconcile(30.0, 8, &queue_obs(8, Ok(vec![]), err()));
    assert_eq!(d.desired_replicas, 8);
    assert!(d.proposals.iter().all(Result::is_err));
    assert_eq!(d.metric_replicas, None);

    // Both recover: the scale-down is stabilized by the earlier proposals.
    let d = hpa.reconcile(45.0, 8, &queue_obs(8, Ok(vec![30.0]), Ok(vec![1.0])));
    assert_eq!(d.metric_replicas, Some(1));
    assert_eq!(d.desired_replicas, 8);
    assert_eq!(
        d.stabilization_reason.as_deref(),
        Some("ScaleDownStabilized")
    );
    assert!(!d.metrics_failed());
}

#[test]
fn default_scale_up_limit_without_behavior() {
    let mut hpa = Hpa::new(&queue_spec(None), ControllerOptions::default()).unwrap();
    let huge = |n| queue_obs(n, Ok(vec![3000.0]), Ok(vec![0.0]));
    let d = hpa.reconcile(0.0, 1, &huge(1));
    assert_eq!(d.metric_replicas, Some(100));
    assert_eq!(d.desired_replicas, 4); // max(2 × 1, 4)
    assert_eq!(d.limited_by(), Some("ScaleUpLimit"));
    let d = hpa.reconcile(15.0, 4, &huge(4));
    assert_eq!(d.desired_replicas, 8);
    let d = hpa.reconcile(30.0, 8, &huge(8));
    assert_eq!(d.desired_replicas, 16);
}

#[test]
fn behavior_policies_and_windows() {
    let rules = |window, policies: Vec<(&str, i32, i32)>, select: &str| HPAScalingRules {
        stabilization_window_seconds: Some(window),
        select_policy: Some(select.to_owned()),
        policies: Some(
            policies
                .into_iter()
                .map(|(kind, value, period)| HPAScalingPolicy {
                    type_: kind.to_owned(),
                    value,
                    period_seconds: period,
                })
                .collect(),
        ),
        tolerance: None,
    };
    // Default scale-up rules (behavior set, scaleUp empty): 4 pods or 100 %
    // per 15 s; scale-down: 1 pod per 60 s after a 60 s window.
    let b = behavior(None, Some(rules(60, vec![("Pods", 1, 60)], "Max")));
    let mut hpa = Hpa::new(&queue_spec(b), ControllerOptions::default()).unwrap();
    let depth = |d: f64, n| queue_obs(n, Ok(vec![d]), Ok(vec![0.0]));
    let d = hpa.reconcile(0.0, 1, &depth(3000.0, 1));
    assert_eq!(d.desired_replicas, 5); // max(1 + 4, 1 × 2)
    // Within the same 15 s period nothing more is allowed.
    let d = hpa.reconcile(10.0, 5, &depth(3000.0, 5));
    assert_eq!(d.desired_replicas, 5);
    assert_eq!(d.limited_by(), Some("ScaleUpLimit"));
    // The next period starts from 5: max(5 + 4, 10) = 10.
    let d = hpa.reconcile(25.0, 5, &depth(3000.0, 5));
    assert_eq!(d.desired_replicas, 10);
    // Load drops: the 60 s window holds 10 (the recommendations were 100).
    let d = hpa.reconcile(40.0, 10, &depth(60.0, 10));
    assert_eq!(d.desired_replicas, 10);
    assert_eq!(
        d.stabilization_reason.as_deref(),
        Some("ScaleDownStabilized")
    );
    // After the window: one pod per minute.
    let d = hpa.reconcile(86.0, 10, &depth(60.0, 10));
    assert_eq!(d.desired_replicas, 9);
    assert_eq!(d.limited_by(), Some("ScaleDownLimit"));
    let d = hpa.reconcile(101.0, 9, &depth(60.0, 9));
    assert_eq!(d.desired_replicas, 9);
    let d = hpa.reconcile(147.0, 9, &depth(60.0, 9));
    assert_eq!(d.desired_replicas, 8);

    // selectPolicy Disabled: never scales down.
    let b = behavior(None, Some(rules(0, vec![("Percent", 100, 15)], "Disabled")));
    let mut hpa = Hpa::new(&queue_spec(b), ControllerOptions::default()).unwrap();
    let d = hpa.reconcile(0.0, 10, &depth(0.0, 10));
    assert_eq!(d.metric_replicas, Some(0));
    assert_eq!(d.desired_replicas, 10);
    assert_eq!(d.limited_by(), Some("ScaleDownLimit"));
}

#[test]
fn memory_average_value_and_unready_cpu_pods() {
    // Memory AverageValue 400Mi per pod: 3 pods at 600Mi → ceil(4.5) = 5.
    let s = spec(
        None,
        10,
        vec![resource("memory", "AverageValue", None, Some("400Mi"))],
    );
    let mut hpa = Hpa::new(&s, ControllerOptions::default()).unwrap();
    let d = hpa.reconcile(100.0, 3, &obs(gateway_pods(3, 0, 600 * MI, 100.0)));
    assert_eq!(d.desired_replicas, 5);
    assert!(matches!(
        &d.proposals[0],
        Ok(p) if p.current == MetricValue::ResourceAverageValue {
            resource: ResourceName::Memory,
            average_value_milli: 600 * MI * 1000,
        }
    ));

    // CPU: a pod started 60 s ago (within the 300 s initialization period)
    // that is not ready yet counts as using nothing on a scale-up, and a
    // pending pod too.
    let s = spec(
        None,
        10,
        vec![resource("cpu", "Utilization", Some(50), None)],
    );
    let mut hpa = Hpa::new(&s, ControllerOptions::default()).unwrap();
    let now = 1000.0;
    let mut pods = gateway_pods(2, 500, 0, now); // 100 % of request
    let mut starting = gateway_pods(1, 800, 0, now).remove(0);
    starting.name = "gw-new".to_owned();
    starting.start_time = Some(now - 60.0);
    starting.ready = Some(super::ReadyCondition {
        status: ConditionStatus::False,
        last_transition_time: now - 60.0,
    });
    pods.push(starting);
    let mut pending = PodState::running("gw-pending", now);
    pending.phase = PodPhase::Pending;
    pending.ready = None;
    pending.cpu_request = Some(500);
    pods.push(pending);
    let o = obs(pods);
    assert_eq!(o.status_replicas(), 4);
    let d = hpa.reconcile(now, 4, &o);
    // The ready pods alone are at 100 % (ratio 2); counting the two unready
    // pods at 0 % brings it to 50 %, ratio 1: no change.
    assert!(matches!(&d.proposals[0], Ok(p) if p.replicas == 4));
    assert_eq!(d.desired_replicas, 4);
}

#[test]
fn scaling_disabled_and_bounds() {
    let mut hpa = Hpa::new(&gateway(), ControllerOptions::default()).unwrap();
    let d = hpa.reconcile(0.0, 0, &obs(vec![]));
    assert_eq!(d.desired_replicas, 0);
    assert!(!d.scaled);
    assert!(d.metrics_failed());
    assert!(d.proposals.is_empty());
    let d = hpa.reconcile(15.0, 1, &obs(vec![]));
    assert_eq!(d.desired_replicas, 2);
    assert_eq!(
        d.reason.as_deref(),
        Some("Current number of replicas below Spec.MinReplicas")
    );
    let d = hpa.reconcile(30.0, 12, &obs(vec![]));
    assert_eq!(d.desired_replicas, 10);
    assert_eq!(
        d.reason.as_deref(),
        Some("Current number of replicas above Spec.MaxReplicas")
    );
}
