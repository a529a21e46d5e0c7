//! Golden cases for stabilization, scaling policies and min/max clamping,
//! ported from upstream `pkg/controller/podautoscaler/horizontal_test.go`
//! (`TestConvertDesiredReplicasWithRules`,
//! `TestCalculateScaleUpLimitWithScalingRules`,
//! `TestCalculateScaleDownLimitWithBehaviors`, `TestNormalizeDesiredReplicas`,
//! `TestScalingWithRules`, `TestStoreScaleEvents`,
//! `TestNormalizeDesiredReplicasWithBehavior`). Each table row keeps the
//! upstream name.
//!
//! Upstream builds its fixtures with `time.Now()` a moment before the
//! controller reads the clock; the port builds them at [`FIXTURE`], a
//! millisecond before the controller's [`NOW`], so the strict `Before` /
//! `After` comparisons come out as upstream.

use k8s_openapi::api::autoscaling::v2::{HPAScalingPolicy, HPAScalingRules};

use super::behavior::{
    NormalizationArg, ScaleEvent, TimestampedRecommendation,
    calculate_scale_down_limit_with_behaviors, calculate_scale_up_limit,
    calculate_scale_up_limit_with_scaling_rules, convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules, get_replicas_change_per_period, stabilize_recommendation,
    stabilize_recommendation_with_behaviors, store_scale_event,
};
use super::spec::{Behavior, Direction, ScalingRules, generate_rules};

/// The controller's clock.
pub(super) const NOW: f64 = 1_000_000.0;
/// When fixtures are built (Go: an earlier `time.Now()`).
pub(super) const FIXTURE: f64 = NOW - 0.001;
const MINUTE: f64 = 60.0;

/// Upstream `generateScalingRules`: a zero value or period leaves that
/// policy out; select policy Max.
pub(super) fn generate_scaling_rules(
    pods: i32,
    pods_period: i32,
    percent: i32,
    percent_period: i32,
    stabilization_window: i32,
) -> HPAScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(HPAScalingPolicy {
            type_: "Pods".to_owned(),
            value: pods,
            period_seconds: pods_period,
        });
    }
    if percent != 0 {
        policies.push(HPAScalingPolicy {
            type_: "Percent".to_owned(),
            value: percent,
            period_seconds: percent_period,
        });
    }
    HPAScalingRules {
        policies: Some(policies),
        select_policy: Some("Max".to_owned()),
        stabilization_window_seconds: Some(stabilization_window),
        tolerance: None,
    }
}

/// `GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules` (the down window
/// default is the controller's 300 s).
fn rules(from: Option<&HPAScalingRules>, direction: Direction) -> ScalingRules {
    generate_rules(from, direction, 300).expect("valid rules")
}

/// Upstream `generateEventsUniformDistribution`: events spread over the last
/// `period_seconds`, each in the middle of its segment (the Go
/// `time.Duration(float)` truncates to whole seconds here).
pub(super) fn events_uniform(raw: &[i32], period_seconds: i32) -> Vec<ScaleEvent> {
    let segment = f64::from(period_seconds) / raw.len() as f64;
    raw.iter()
        .enumerate()
        .map(|(idx, &change)| {
            let boundary =
                (f64::from(period_seconds) - segment * (idx + 1) as f64 + segment / 2.0).trunc();
            ScaleEvent {
                replica_change: change,
                timestamp: FIXTURE - boundary,
                outdated: false,
            }
        })
        .collect()
}

fn recs(list: &[(i32, f64)]) -> Option<Vec<TimestampedRecommendation>> {
    Some(
        list.iter()
            .map(|&(recommendation, ago)| TimestampedRecommendation {
                recommendation,
                timestamp: FIXTURE - ago,
            })
            .collect(),
    )
}

/// Upstream `TestConvertDesiredReplicasWithRules` (the no-behavior path).
#[test]
fn test_convert_desired_replicas_with_rules() {
    // (current, desired, min, max, expected, condition, annotation)
    let cases = [
        (
            5,
            7,
            3,
            8,
            7,
            "DesiredWithinRange",
            "prenormalized desired replicas within range",
        ),
        (
            3,
            1,
            2,
            8,
            2,
            "TooFewReplicas",
            "prenormalized desired replicas < minReplicas",
        ),
        (
            1,
            0,
            0,
            10,
            0,
            "DesiredWithinRange",
            "prenormalized desired zeroed replicas within range",
        ),
        (
            20,
            1000,
            1,
            10,
            10,
            "TooManyReplicas",
            "maxReplicas is the limit because maxReplicas < scaleUpLimit",
        ),
        (
            3,
            1000,
            1,
            2000,
            calculate_scale_up_limit(3, 2.0),
            "ScaleUpLimit",
            "scaleUpLimit is the limit because scaleUpLimit < maxReplicas",
        ),
    ];
    for (current, desired, min, max, expected, condition, annotation) in cases {
        let (replicas, (reason, _)) =
            convert_desired_replicas_with_rules(current, desired, min, max, 2.0);
        assert_eq!(replicas, expected, "{annotation}");
        assert_eq!(reason, condition, "{annotation}");
    }
    // calculateScaleUpLimit: max(2 × current, 4).
    assert_eq!(calculate_scale_up_limit(3, 2.0), 6);
    assert_eq!(calculate_scale_up_limit(1, 2.0), 4);
}

fn min_rules() -> HPAScalingRules {
    HPAScalingRules {
        stabilization_window_seconds: Some(300),
        select_policy: Some("Min".to_owned()),
        policies: Some(vec![
            HPAScalingPolicy {
                type_: "Pods".to_owned(),
                value: 2,
                period_seconds: 60,
            },
            HPAScalingPolicy {
                type_: "Percent".to_owned(),
                value: 50,
                period_seconds: 60,
            },
        ]),
        tolerance: None,
    }
}

/// Upstream `TestCalculateScaleUpLimitWithScalingRules`.
#[test]
fn test_calculate_scale_up_limit_with_scaling_rules() {
    let r = rules(Some(&min_rules()), Direction::Up);
    assert_eq!(
        calculate_scale_up_limit_with_scaling_rules(1, &[], &[], &r, NOW),
        2
    );
}

/// Upstream `TestCalculateScaleDownLimitWithBehaviors`.
#[test]
fn test_calculate_scale_down_limit_with_behaviors() {
    let r = rules(Some(&min_rules()), Direction::Down);
    assert_eq!(
        calculate_scale_down_limit_with_behaviors(5, &[], &[], &r, NOW),
        3
    );
}

/// Upstream `TestNormalizeDesiredReplicas` (`stabilizeRecommendation`, 5 min
/// window).
#[test]
fn test_normalize_desired_replicas() {
    /// (name, recommendations, prenormalized, expected stabilized, expected log length)
    type Case = (&'static str, &'static [(i32, f64)], i32, i32, usize);
    let cases: [Case; 5] = [
        ("empty log", &[], 5, 5, 1),
        ("stabilize", &[(4, 2.0 * MINUTE), (5, MINUTE)], 3, 5, 3),
        ("no stabilize", &[(1, 2.0 * MINUTE), (2, MINUTE)], 3, 3, 3),
        (
            "no stabilize - old recommendations",
            &[(10, 10.0 * MINUTE), (9, 9.0 * MINUTE)],
            3,
            3,
            2,
        ),
        (
            "stabilize - old recommendations",
            &[
                (10, 10.0 * MINUTE),
                (4, MINUTE),
                (5, 2.0 * MINUTE),
                (9, 9.0 * MINUTE),
            ],
            3,
            5,
            4,
        ),
    ];
    for (name, list, prenormalized, expected, log_len) in cases {
        let mut r = recs(list);
        let got = stabilize_recommendation(&mut r, NOW, 5.0 * MINUTE, prenormalized);
        assert_eq!(got, expected, "{name}");
        assert_eq!(r.map_or(0, |v| v.len()), log_len, "{name}");
    }
}

/// One row of upstream `TestScalingWithRules`.
struct ScalingCase {
    name: &'static str,
    scale_up_events: Vec<ScaleEvent>,
    scale_down_events: Vec<ScaleEvent>,
    min: i32,
    max: i32,
    scale_up_rules: Option<HPAScalingRules>,
    scale_down_rules: Option<HPAScalingRules>,
    current: i32,
    prenormalized: i32,
    expected: i32,
    condition: &'static str,
}

impl Default for ScalingCase {
    fn default() -> Self {
        Self {
            name: "",
            scale_up_events: Vec::new(),
            scale_down_events: Vec::new(),
            min: 1,
            max: 1000,
            scale_up_rules: None,
            scale_down_rules: None,
            current: 0,
            prenormalized: 0,
            expected: 0,
            condition: "",
        }
    }
}

/// Upstream `TestScalingWithRules` (`convertDesiredReplicasWithBehaviorRate`).
#[test]
#[allow(clippy::too_many_lines)]
fn test_scaling_with_rules() {
    let g = generate_scaling_rules;
    let e = events_uniform;
    let cases = vec![
        ScalingCase {
            name: "prenormalized desired replicas within range",
            current: 5,
            prenormalized: 7,
            min: 3,
            max: 8,
            expected: 7,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "prenormalized desired replicas < minReplicas",
            current: 3,
            prenormalized: 1,
            min: 2,
            max: 8,
            expected: 2,
            condition: "TooFewReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "prenormalized desired replicas within range when minReplicas is 0",
            current: 1,
            prenormalized: 0,
            min: 0,
            max: 10,
            expected: 0,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "maxReplicas is the limit because maxReplicas < scaleUpLimit",
            current: 20,
            prenormalized: 1000,
            min: 1,
            max: 10,
            expected: 10,
            condition: "TooManyReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "desired replica count is more than the maximum replica count",
            current: 100,
            prenormalized: 1000,
            min: 100,
            max: 150,
            expected: 150,
            condition: "TooManyReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
            current: 3,
            prenormalized: 1000,
            min: 1,
            max: 2000,
            expected: 4,
            condition: "ScaleUpLimit",
            scale_up_rules: Some(g(0, 0, 1, 60, 0)),
            ..Default::default()
        },
        // Upstream marks this row `testThis: true`, which skips it; it holds here.
        ScalingCase {
            name: "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies",
            current: 1000,
            prenormalized: 3,
            min: 3,
            max: 2000,
            scale_down_rules: Some(g(20, 60, 0, 0, 0)),
            expected: 980,
            condition: "ScaleDownLimit",
            ..Default::default()
        },
        // ScaleUp without PeriodSeconds usage
        ScalingCase {
            name: "scaleUp with default behavior",
            current: 10,
            prenormalized: 50,
            expected: 20,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with pods policy larger than percent policy",
            scale_up_rules: Some(g(100, 60, 100, 60, 0)),
            current: 10,
            prenormalized: 500,
            expected: 110,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with percent policy larger than pods policy",
            scale_up_rules: Some(g(2, 60, 100, 60, 0)),
            current: 10,
            prenormalized: 500,
            expected: 20,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with spec MaxReplicas limitation with large pod policy",
            scale_up_rules: Some(g(100, 60, 0, 0, 0)),
            current: 10,
            prenormalized: 50,
            expected: 50,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with spec MaxReplicas limitation with large percent policy",
            scale_up_rules: Some(g(10000, 60, 0, 0, 0)),
            current: 10,
            prenormalized: 50,
            expected: 50,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with pod policy limitation",
            scale_up_rules: Some(g(30, 60, 0, 0, 0)),
            current: 10,
            prenormalized: 50,
            expected: 40,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with percent policy limitation",
            scale_up_rules: Some(g(0, 0, 200, 60, 0)),
            current: 10,
            prenormalized: 50,
            expected: 30,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with percent policy larger than pod policy",
            scale_down_rules: Some(g(20, 60, 1, 60, 300)),
            current: 100,
            prenormalized: 2,
            expected: 80,
            condition: "ScaleDownLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with pod policy larger than percent policy",
            scale_down_rules: Some(g(2, 60, 1, 60, 300)),
            current: 100,
            prenormalized: 2,
            expected: 98,
            condition: "ScaleDownLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with spec MinReplicas=nil limitation with large pod policy",
            scale_down_rules: Some(g(100, 60, 0, 0, 300)),
            current: 10,
            prenormalized: 0,
            expected: 1,
            condition: "TooFewReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with spec MinReplicas limitation with large pod policy",
            scale_down_rules: Some(g(100, 60, 0, 0, 300)),
            current: 10,
            prenormalized: 0,
            expected: 1,
            condition: "TooFewReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with spec MinReplicas limitation with large percent policy",
            min: 5,
            scale_down_rules: Some(g(0, 0, 100, 60, 300)),
            current: 10,
            prenormalized: 2,
            expected: 5,
            condition: "TooFewReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with pod policy limitation",
            scale_down_rules: Some(g(5, 60, 0, 0, 300)),
            current: 10,
            prenormalized: 2,
            expected: 5,
            condition: "ScaleDownLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with percent policy limitation",
            scale_down_rules: Some(g(0, 0, 50, 60, 300)),
            current: 10,
            prenormalized: 5,
            expected: 5,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with spec MaxReplicas limitation with large pod policy and events",
            scale_up_events: e(&[1, 5, 9], 120),
            max: 200,
            scale_up_rules: Some(g(300, 60, 0, 0, 0)),
            current: 100,
            prenormalized: 500,
            expected: 200,
            condition: "TooManyReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with spec MaxReplicas limitation with large percent policy and events",
            scale_up_events: e(&[1, 5, 9], 120),
            max: 200,
            scale_up_rules: Some(g(0, 0, 10000, 60, 0)),
            current: 100,
            prenormalized: 500,
            expected: 200,
            condition: "TooManyReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
            scale_up_events: e(&[1, 5, 9], 120),
            scale_up_rules: Some(g(5, 120, 0, 0, 0)),
            current: 100,
            prenormalized: 500,
            expected: 100,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with pod policy and previous scale up events",
            scale_up_events: e(&[1, 5, 9], 120),
            scale_up_rules: Some(g(150, 120, 0, 0, 0)),
            current: 100,
            prenormalized: 500,
            expected: 235,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with percent policy and previous scale up events",
            scale_up_events: e(&[1, 5, 9], 120),
            scale_up_rules: Some(g(0, 0, 200, 120, 0)),
            current: 100,
            prenormalized: 500,
            expected: 255,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleUp with percent policy and previous scale up and down events",
            scale_up_events: e(&[4], 120),
            scale_down_events: e(&[2], 120),
            scale_up_rules: Some(g(0, 0, 300, 300, 0)),
            current: 6,
            prenormalized: 24,
            expected: 16,
            condition: "ScaleUpLimit",
            ..Default::default()
        },
        // ScaleDown with PeriodSeconds usage
        ScalingCase {
            name: "scaleDown with default policy and previous events",
            scale_down_events: e(&[1, 5, 9], 120),
            current: 10,
            prenormalized: 5,
            expected: 5,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
            scale_down_events: e(&[1, 5, 9], 120),
            scale_down_rules: Some(g(115, 120, 0, 0, 300)),
            current: 100,
            prenormalized: 0,
            expected: 1,
            condition: "TooFewReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
            scale_down_events: e(&[1, 5, 9], 120),
            min: 5,
            scale_down_rules: Some(g(130, 120, 0, 0, 300)),
            current: 100,
            prenormalized: 0,
            expected: 5,
            condition: "TooFewReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
            scale_down_events: e(&[1, 5, 9], 120),
            min: 5,
            scale_down_rules: Some(g(0, 0, 100, 120, 300)),
            current: 100,
            prenormalized: 2,
            expected: 5,
            condition: "TooFewReplicas",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with pod policy limitation and previous events",
            scale_down_events: e(&[1, 5, 9], 120),
            scale_down_rules: Some(g(5, 120, 0, 0, 300)),
            current: 100,
            prenormalized: 2,
            expected: 100,
            condition: "ScaleDownLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with percent policy limitation and previous events",
            scale_down_events: e(&[2, 4, 6], 120),
            scale_down_rules: Some(g(0, 0, 50, 120, 300)),
            current: 100,
            prenormalized: 0,
            expected: 56,
            condition: "ScaleDownLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with percent policy and previous scale up and down events",
            scale_up_events: e(&[2], 120),
            scale_down_events: e(&[4], 120),
            scale_down_rules: Some(g(0, 0, 50, 180, 0)),
            current: 10,
            prenormalized: 1,
            expected: 6,
            condition: "ScaleDownLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with previous events preventing further scale down",
            scale_down_events: e(&[10, 10, 10], 120),
            scale_down_rules: Some(g(0, 0, 10, 120, 300)),
            current: 100,
            prenormalized: 0,
            expected: 100,
            condition: "ScaleDownLimit",
            ..Default::default()
        },
        ScalingCase {
            name: "scaleDown with with previous events still allowing more scale down",
            scale_down_events: e(&[10, 10, 10], 120),
            scale_down_rules: Some(g(0, 0, 1000, 120, 300)),
            current: 10,
            prenormalized: 5,
            expected: 5,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "check 'outdated' flag for events for one behavior for up",
            scale_up_events: e(&[8, 12, 9, 11], 120),
            scale_up_rules: Some(g(1000, 60, 0, 0, 0)),
            current: 100,
            prenormalized: 200,
            expected: 200,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "check that events were not marked 'outdated' for two different policies in the behavior for up",
            scale_up_events: e(&[8, 12, 9, 11], 120),
            scale_up_rules: Some(g(1000, 120, 100, 60, 0)),
            current: 100,
            prenormalized: 200,
            expected: 200,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "check that events were marked 'outdated' for two different policies in the behavior for up",
            scale_up_events: e(&[8, 12, 9, 11], 120),
            scale_up_rules: Some(g(1000, 30, 100, 60, 0)),
            current: 100,
            prenormalized: 200,
            expected: 200,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "check 'outdated' flag for events for one behavior for down",
            scale_down_events: e(&[8, 12, 9, 11], 120),
            scale_down_rules: Some(g(1000, 60, 0, 0, 300)),
            current: 100,
            prenormalized: 5,
            expected: 5,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "check that events were not marked 'outdated' for two different policies in the behavior for down",
            scale_down_events: e(&[8, 12, 9, 11], 120),
            scale_down_rules: Some(g(1000, 120, 100, 60, 300)),
            current: 100,
            prenormalized: 5,
            expected: 5,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
        ScalingCase {
            name: "check that events were marked 'outdated' for two different policies in the behavior for down",
            scale_down_events: e(&[8, 12, 9, 11], 120),
            scale_down_rules: Some(g(1000, 30, 100, 60, 300)),
            current: 100,
            prenormalized: 5,
            expected: 5,
            condition: "DesiredWithinRange",
            ..Default::default()
        },
    ];
    assert_eq!(cases.len(), 42);
    for tc in &cases {
        let up = rules(tc.scale_up_rules.as_ref(), Direction::Up);
        let down = rules(tc.scale_down_rules.as_ref(), Direction::Down);
        let arg = NormalizationArg {
            scale_up: &up,
            scale_down: &down,
            min_replicas: tc.min,
            max_replicas: tc.max,
            current_replicas: tc.current,
            desired_replicas: tc.prenormalized,
        };
        let (replicas, (condition, _)) = convert_desired_replicas_with_behavior_rate(
            &arg,
            &tc.scale_up_events,
            &tc.scale_down_events,
            NOW,
        );
        assert_eq!(replicas, tc.expected, "{}: replicas", tc.name);
        assert_eq!(condition, tc.condition, "{}: condition", tc.name);
    }
}

/// Upstream `TestStoreScaleEvents`.
#[test]
fn test_store_scale_events() {
    let ev = |change: i32, ago: f64| ScaleEvent {
        replica_change: change,
        timestamp: FIXTURE - ago,
        outdated: false,
    };
    // (name, replica change, previous events, expected (change, outdated), rules, expected change in 60 s)
    type Case = (
        &'static str,
        i32,
        Vec<ScaleEvent>,
        Vec<(i32, bool)>,
        Option<HPAScalingRules>,
        i32,
    );
    let g = generate_scaling_rules;
    let cases: Vec<Case> = vec![
        (
            "empty entries with default behavior",
            5,
            vec![],
            vec![],
            None,
            0,
        ),
        (
            "empty entries with two-policy-behavior",
            5,
            vec![],
            vec![(5, false)],
            Some(g(10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one outdated entry to be kept untouched without behavior",
            5,
            vec![ev(7, 61.0)],
            vec![(7, false)],
            None,
            0,
        ),
        (
            "one outdated entry to be replaced with behavior",
            5,
            vec![ev(7, 61.0)],
            vec![(5, false)],
            Some(g(10, 60, 100, 60, 0)),
            0,
        ),
        (
            "one actual entry to be not touched with behavior",
            5,
            vec![ev(7, 58.0)],
            vec![(7, false), (5, false)],
            Some(g(10, 60, 100, 60, 0)),
            7,
        ),
        (
            "two entries, one of them to be replaced",
            5,
            vec![ev(7, 61.0), ev(6, 59.0)],
            vec![(5, false), (6, false)],
            Some(g(10, 60, 0, 0, 0)),
            6,
        ),
        (
            "replace one entry, use policies with different periods",
            5,
            vec![ev(8, 29.0), ev(6, 59.0), ev(7, 61.0), ev(9, 61.0)],
            vec![(8, false), (6, false), (7, true), (5, false)],
            Some(g(10, 60, 100, 30, 0)),
            14,
        ),
        (
            "two entries, both actual",
            5,
            vec![ev(7, 58.0), ev(6, 59.0)],
            vec![(7, false), (6, false), (5, false)],
            Some(g(10, 120, 100, 30, 0)),
            13,
        ),
    ];
    for (name, change, prev, expected, scaling_rules, expected_change) in cases {
        for up in [true, false] {
            let behavior = scaling_rules.as_ref().map(|r| Behavior {
                scale_up: rules(Some(r), Direction::Up),
                scale_down: rules(Some(r), Direction::Down),
            });
            let mut up_events = if up { prev.clone() } else { Vec::new() };
            let mut down_events = if up { Vec::new() } else { prev.clone() };
            let events = if up { &up_events } else { &down_events };
            assert_eq!(
                get_replicas_change_per_period(60, events, NOW),
                expected_change,
                "{name} (up: {up})"
            );
            let new = if up { 10 + change } else { 10 - change };
            store_scale_event(
                behavior.as_ref(),
                &mut up_events,
                &mut down_events,
                10,
                new,
                NOW,
            );
            let got: Vec<(i32, bool)> = if up { &up_events } else { &down_events }
                .iter()
                .map(|e| (e.replica_change, e.outdated))
                .collect();
            assert_eq!(got, expected, "{name} (up: {up})");
        }
    }
}

/// Upstream `TestNormalizeDesiredReplicasWithBehavior`
/// (`stabilizeRecommendationWithBehaviors`).
#[test]
#[allow(clippy::too_many_lines)]
fn test_normalize_desired_replicas_with_behavior() {
    struct Case {
        name: &'static str,
        recommendations: &'static [(i32, f64)],
        current: i32,
        prenormalized: i32,
        expected: i32,
        expected_recommendations: Option<&'static [i32]>,
        up_window: i32,
        down_window: i32,
    }
    let cases = [
        Case {
            name: "empty recommendations for scaling down",
            recommendations: &[],
            current: 100,
            prenormalized: 5,
            expected: 5,
            expected_recommendations: Some(&[5]),
            up_window: 0,
            down_window: 0,
        },
        Case {
            name: "simple scale down stabilization",
            recommendations: &[(4, 2.0 * MINUTE), (5, MINUTE)],
            current: 100,
            prenormalized: 3,
            expected: 5,
            expected_recommendations: Some(&[4, 5, 3]),
            up_window: 0,
            down_window: 60 * 3,
        },
        Case {
            name: "simple scale up stabilization",
            recommendations: &[(4, 2.0 * MINUTE), (5, MINUTE)],
            current: 1,
            prenormalized: 7,
            expected: 4,
            expected_recommendations: Some(&[4, 5, 7]),
            up_window: 60 * 5,
            down_window: 0,
        },
        Case {
            name: "no scale down stabilization",
            recommendations: &[(1, 2.0 * MINUTE), (2, MINUTE)],
            current: 100,
            prenormalized: 3,
            expected: 3,
            expected_recommendations: Some(&[1, 2, 3]),
            up_window: 60 * 5,
            down_window: 0,
        },
        Case {
            name: "no scale up stabilization",
            recommendations: &[(4, 2.0 * MINUTE), (5, MINUTE)],
            current: 1,
            prenormalized: 3,
            expected: 3,
            expected_recommendations: Some(&[4, 5, 3]),
            up_window: 0,
            down_window: 60 * 5,
        },
        Case {
            name: "no scale down stabilization, reuse recommendation element",
            recommendations: &[(10, 10.0 * MINUTE), (9, 9.0 * MINUTE)],
            current: 100,
            prenormalized: 3,
            expected: 3,
            expected_recommendations: Some(&[10, 3]),
            up_window: 0,
            down_window: 0,
        },
        Case {
            name: "no scale up stabilization, reuse recommendation element",
            recommendations: &[(10, 10.0 * MINUTE), (9, 9.0 * MINUTE)],
            current: 1,
            prenormalized: 100,
            expected: 100,
            expected_recommendations: Some(&[10, 100]),
            up_window: 0,
            down_window: 0,
        },
        Case {
            name: "scale down stabilization, reuse one of obsolete recommendation element",
            recommendations: &[
                (10, 10.0 * MINUTE),
                (4, MINUTE),
                (5, 2.0 * MINUTE),
                (9, 9.0 * MINUTE),
            ],
            current: 100,
            prenormalized: 3,
            expected: 5,
            expected_recommendations: Some(&[10, 4, 5, 3]),
            up_window: 0,
            down_window: 3 * 60,
        },
        Case {
            name: "scale up stabilization, reuse one of obsolete recommendation element",
            recommendations: &[
                (10, 100.0 * MINUTE),
                (6, MINUTE),
                (5, 2.0 * MINUTE),
                (9, 3.0 * MINUTE),
            ],
            current: 1,
            prenormalized: 100,
            expected: 5,
            expected_recommendations: Some(&[100, 6, 5, 9]),
            up_window: 300,
            down_window: 0,
        },
        Case {
            name: "scale up and down stabilization, do not scale up when prenormalized rec goes down",
            recommendations: &[(2, 100.0 * MINUTE), (3, 3.0 * MINUTE)],
            current: 2,
            prenormalized: 1,
            expected: 2,
            expected_recommendations: None,
            up_window: 300,
            down_window: 300,
        },
        Case {
            name: "scale up and down stabilization, do not scale down when prenormalized rec goes up",
            recommendations: &[(2, 100.0 * MINUTE), (1, 3.0 * MINUTE)],
            current: 2,
            prenormalized: 3,
            expected: 2,
            expected_recommendations: None,
            up_window: 300,
            down_window: 300,
        },
    ];
    for tc in &cases {
        let mut up = rules(None, Direction::Up);
        up.stabilization_window_seconds = tc.up_window;
        let mut down = rules(None, Direction::Down);
        down.stabilization_window_seconds = tc.down_window;
        let arg = NormalizationArg {
            scale_up: &up,
            scale_down: &down,
            min_replicas: 0,
            max_replicas: 0,
            current_replicas: tc.current,
            desired_replicas: tc.prenormalized,
        };
        let mut r = recs(tc.recommendations);
        let (got, _) = stabilize_recommendation_with_behaviors(&mut r, NOW, &arg);
        assert_eq!(got, tc.expected, "{}", tc.name);
        if let Some(expected) = tc.expected_recommendations {
            let stored: Vec<i32> = r.iter().flatten().map(|x| x.recommendation).collect();
            assert_eq!(stored, expected, "{}", tc.name);
        }
    }
}
