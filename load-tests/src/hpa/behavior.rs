//! Normalization of the metrics' proposal: stabilization windows, rate
//! limits (scaling policies) and min/max clamping.
//!
//! Port of `pkg/controller/podautoscaler/horizontal.go`:
//! `stabilizeRecommendation` and `convertDesiredReplicasWithRules` /
//! `calculateScaleUpLimit` (the path taken when `spec.behavior` is nil),
//! `stabilizeRecommendationWithBehaviors`,
//! `convertDesiredReplicasWithBehaviorRate`,
//! `calculateScaleUpLimitWithScalingRules`,
//! `calculateScaleDownLimitWithBehaviors`, `getReplicasChangePerPeriod`,
//! `storeScaleEvent`, `markScaleEventsOutdated` and `getLongestPolicyPeriod`
//! (the path taken when it is set). Go's `time.Time.Before`/`After` are the
//! strict `<`/`>` on virtual seconds.

use super::spec::{Behavior, PolicyType, ScalingRules, SelectPolicy};

/// `scaleUpLimitFactor`: without `behavior`, scale up to at most
/// `max(2 × current, 4)` replicas per sync.
pub(super) const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
/// `scaleUpLimitMinimum`.
pub(super) const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

/// `timestampedRecommendation`: an unstabilized recommendation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct TimestampedRecommendation {
    pub(super) recommendation: i32,
    pub(super) timestamp: f64,
}

/// `timestampedScaleEvent`: a past scaling, as an absolute replica change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct ScaleEvent {
    pub(super) replica_change: i32,
    pub(super) timestamp: f64,
    pub(super) outdated: bool,
}

/// `NormalizationArg` (without the key: one `Hpa` is one key).
#[derive(Clone, Copy, Debug)]
pub(super) struct NormalizationArg<'a> {
    pub(super) scale_up: &'a ScalingRules,
    pub(super) scale_down: &'a ScalingRules,
    pub(super) min_replicas: i32,
    pub(super) max_replicas: i32,
    pub(super) current_replicas: i32,
    pub(super) desired_replicas: i32,
}

/// A condition reason and message.
pub(super) type Reason = (&'static str, &'static str);

/// Go appends to a nil slice; the nil/empty distinction matters to
/// `recordInitialRecommendation`, hence the `Option`.
fn record(
    recommendations: &mut Option<Vec<TimestampedRecommendation>>,
    old_sample: Option<usize>,
    recommendation: TimestampedRecommendation,
) {
    let list = recommendations.get_or_insert_with(Vec::new);
    match old_sample {
        Some(i) => list[i] = recommendation,
        None => list.push(recommendation),
    }
}

/// `stabilizeRecommendation`: replaces an old recommendation with the newest
/// one and returns the max of those not older than the downscale
/// stabilization window.
pub(super) fn stabilize_recommendation(
    recommendations: &mut Option<Vec<TimestampedRecommendation>>,
    now: f64,
    downscale_stabilization_window: f64,
    prenormalized_desired_replicas: i32,
) -> i32 {
    let mut max_recommendation = prenormalized_desired_replicas;
    let mut old_sample = None;
    let cutoff = now - downscale_stabilization_window;
    for (i, rec) in recommendations.iter().flatten().enumerate() {
        if rec.timestamp < cutoff {
            old_sample = Some(i);
        } else if rec.recommendation > max_recommendation {
            max_recommendation = rec.recommendation;
        }
    }
    record(
        recommendations,
        old_sample,
        TimestampedRecommendation {
            recommendation: prenormalized_desired_replicas,
            timestamp: now,
        },
    );
    max_recommendation
}

/// `convertDesiredReplicasWithRules`: clamps to `[min, min(max, scaleUpLimit)]`
/// and names the limiting condition.
pub(super) fn convert_desired_replicas_with_rules(
    current_replicas: i32,
    desired_replicas: i32,
    hpa_min_replicas: i32,
    hpa_max_replicas: i32,
    scale_up_limit_factor: f64,
) -> (i32, Reason) {
    let minimum_allowed = hpa_min_replicas;
    // Do not scale up too much to prevent incorrect rapid increase of the
    // number of master replicas caused by bogus CPU usage report from
    // heapster/kubelet (like in issue #32304).
    let scale_up_limit = calculate_scale_up_limit(current_replicas, scale_up_limit_factor);
    let (maximum_allowed, limiting): (i32, Reason) = if hpa_max_replicas > scale_up_limit {
        (
            scale_up_limit,
            (
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            ),
        )
    } else {
        (
            hpa_max_replicas,
            (
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            ),
        )
    };
    if desired_replicas < minimum_allowed {
        return (
            minimum_allowed,
            (
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
            ),
        );
    }
    if desired_replicas > maximum_allowed {
        return (maximum_allowed, limiting);
    }
    (desired_replicas, DESIRED_WITHIN_RANGE)
}

const DESIRED_WITHIN_RANGE: Reason = (
    "DesiredWithinRange",
    "the desired count is within the acceptable range",
);

/// `calculateScaleUpLimit`: `int32(max(factor × current, 4))`.
pub(super) fn calculate_scale_up_limit(current_replicas: i32, scale_up_limit_factor: f64) -> i32 {
    let limit = (scale_up_limit_factor * f64::from(current_replicas)).max(SCALE_UP_LIMIT_MINIMUM);
    #[allow(clippy::cast_possible_truncation)]
    let limit = limit as i32;
    limit
}

/// `stabilizeRecommendationWithBehaviors`: replaces an old recommendation
/// with the newest one and keeps the recommendation between the min of the
/// scale-up window and the max of the scale-down window.
pub(super) fn stabilize_recommendation_with_behaviors(
    recommendations: &mut Option<Vec<TimestampedRecommendation>>,
    now: f64,
    args: &NormalizationArg<'_>,
) -> (i32, Reason) {
    let mut old_sample = None;
    let mut up_recommendation = args.desired_replicas;
    let up_cutoff = now - f64::from(args.scale_up.stabilization_window_seconds);
    let mut down_recommendation = args.desired_replicas;
    let down_cutoff = now - f64::from(args.scale_down.stabilization_window_seconds);

    // Calculate the upper and lower stabilization limits.
    for (i, rec) in recommendations.iter().flatten().enumerate() {
        if rec.timestamp > up_cutoff {
            up_recommendation = rec.recommendation.min(up_recommendation);
        }
        if rec.timestamp > down_cutoff {
            down_recommendation = rec.recommendation.max(down_recommendation);
        }
        if rec.timestamp < up_cutoff && rec.timestamp < down_cutoff {
            old_sample = Some(i);
        }
    }

    // Bring the recommendation to within the upper and lower limits (stabilize).
    let mut recommendation = args.current_replicas;
    if recommendation < up_recommendation {
        recommendation = up_recommendation;
    }
    if recommendation > down_recommendation {
        recommendation = down_recommendation;
    }

    // Record the unstabilized recommendation.
    record(
        recommendations,
        old_sample,
        TimestampedRecommendation {
            recommendation: args.desired_replicas,
            timestamp: now,
        },
    );

    let reason = if args.desired_replicas >= args.current_replicas {
        (
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation",
        )
    } else {
        (
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest recent recommendation",
        )
    };
    (recommendation, reason)
}

/// `convertDesiredReplicasWithBehaviorRate`: applies the scaling policies
/// and min/max (the stabilization window is applied separately).
pub(super) fn convert_desired_replicas_with_behavior_rate(
    args: &NormalizationArg<'_>,
    scale_up_events: &[ScaleEvent],
    scale_down_events: &[ScaleEvent],
    now: f64,
) -> (i32, Reason) {
    if args.desired_replicas > args.current_replicas {
        let mut scale_up_limit = calculate_scale_up_limit_with_scaling_rules(
            args.current_replicas,
            scale_up_events,
            scale_down_events,
            args.scale_up,
            now,
        );
        if scale_up_limit < args.current_replicas {
            // We shouldn't scale up further until the scaleUpEvents will be cleaned up
            scale_up_limit = args.current_replicas;
        }
        let (maximum_allowed, reason): (i32, Reason) = if args.max_replicas > scale_up_limit {
            (
                scale_up_limit,
                (
                    "ScaleUpLimit",
                    "the desired replica count is increasing faster than the maximum scale rate",
                ),
            )
        } else {
            (
                args.max_replicas,
                (
                    "TooManyReplicas",
                    "the desired replica count is more than the maximum replica count",
                ),
            )
        };
        if args.desired_replicas > maximum_allowed {
            return (maximum_allowed, reason);
        }
    } else if args.desired_replicas < args.current_replicas {
        let mut scale_down_limit = calculate_scale_down_limit_with_behaviors(
            args.current_replicas,
            scale_up_events,
            scale_down_events,
            args.scale_down,
            now,
        );
        if scale_down_limit > args.current_replicas {
            // We shouldn't scale down further until the scaleDownEvents will be cleaned up
            scale_down_limit = args.current_replicas;
        }
        let (minimum_allowed, reason): (i32, Reason) = if args.min_replicas < scale_down_limit {
            (
                scale_down_limit,
                (
                    "ScaleDownLimit",
                    "the desired replica count is decreasing faster than the maximum scale rate",
                ),
            )
        } else {
            (
                args.min_replicas,
                (
                    "TooFewReplicas",
                    "the desired replica count is less than the minimum replica count",
                ),
            )
        };
        if args.desired_replicas < minimum_allowed {
            return (minimum_allowed, reason);
        }
    }
    (args.desired_replicas, DESIRED_WITHIN_RANGE)
}

/// `getReplicasChangePerPeriod`: the replica changes younger than the period.
pub(super) fn get_replicas_change_per_period(
    period_seconds: i32,
    scale_events: &[ScaleEvent],
    now: f64,
) -> i32 {
    let cutoff = now - f64::from(period_seconds);
    scale_events
        .iter()
        .filter(|e| e.timestamp > cutoff)
        .fold(0_i32, |acc, e| acc.saturating_add(e.replica_change))
}

/// Replicas at the start of a policy's period: current minus what was added
/// plus what was removed within it.
fn period_start_replicas(
    current_replicas: i32,
    period_seconds: i32,
    scale_up_events: &[ScaleEvent],
    scale_down_events: &[ScaleEvent],
    now: f64,
) -> i32 {
    let added = get_replicas_change_per_period(period_seconds, scale_up_events, now);
    let deleted = get_replicas_change_per_period(period_seconds, scale_down_events, now);
    current_replicas
        .saturating_sub(added)
        .saturating_add(deleted)
}

/// `int32(x)` of Go: truncation toward zero, saturating here.
fn trunc_i32(x: f64) -> i32 {
    #[allow(clippy::cast_possible_truncation)]
    let t = x as i32;
    t
}

/// `calculateScaleUpLimitWithScalingRules`: the most replicas the policies
/// allow.
pub(super) fn calculate_scale_up_limit_with_scaling_rules(
    current_replicas: i32,
    scale_up_events: &[ScaleEvent],
    scale_down_events: &[ScaleEvent],
    rules: &ScalingRules,
    now: f64,
) -> i32 {
    let (mut result, select): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current_replicas, // Scaling is disabled
        // For scaling up, the lowest change ('min' policy) produces a minimum value
        SelectPolicy::Min => (i32::MAX, std::cmp::min),
        // Use the default policy otherwise to produce a highest possible change
        SelectPolicy::Max => (i32::MIN, std::cmp::max),
    };
    for policy in &rules.policies {
        let start = period_start_replicas(
            current_replicas,
            policy.period_seconds,
            scale_up_events,
            scale_down_events,
            now,
        );
        let proposed = match policy.kind {
            PolicyType::Pods => start.saturating_add(policy.value),
            // the proposal has to be rounded up because the proposed change
            // might not increase the replica count causing the target to never
            // scale up
            PolicyType::Percent => {
                trunc_i32((f64::from(start) * (1.0 + f64::from(policy.value) / 100.0)).ceil())
            }
        };
        result = select(result, proposed);
    }
    result
}

/// `calculateScaleDownLimitWithBehaviors`: the fewest replicas the policies
/// allow.
pub(super) fn calculate_scale_down_limit_with_behaviors(
    current_replicas: i32,
    scale_up_events: &[ScaleEvent],
    scale_down_events: &[ScaleEvent],
    rules: &ScalingRules,
    now: f64,
) -> i32 {
    let (mut result, select): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current_replicas, // Scaling is disabled
        // For scaling down, the lowest change ('min' policy) produces a maximum value
        SelectPolicy::Min => (i32::MIN, std::cmp::max),
        // Use the default policy otherwise to produce a highest possible change
        SelectPolicy::Max => (i32::MAX, std::cmp::min),
    };
    for policy in &rules.policies {
        let start = period_start_replicas(
            current_replicas,
            policy.period_seconds,
            scale_up_events,
            scale_down_events,
            now,
        );
        let proposed = match policy.kind {
            PolicyType::Pods => start.saturating_sub(policy.value),
            PolicyType::Percent => {
                trunc_i32(f64::from(start) * (1.0 - f64::from(policy.value) / 100.0))
            }
        };
        result = select(result, proposed);
    }
    result
}

/// `getLongestPolicyPeriod`.
fn get_longest_policy_period(rules: &ScalingRules) -> i32 {
    rules
        .policies
        .iter()
        .map(|p| p.period_seconds)
        .fold(0, i32::max)
}

/// `markScaleEventsOutdated`: flags events older than the longest period
/// for reuse.
fn mark_scale_events_outdated(
    scale_events: &mut [ScaleEvent],
    longest_policy_period: i32,
    now: f64,
) {
    let cutoff = now - f64::from(longest_policy_period);
    for event in scale_events.iter_mut() {
        if event.timestamp < cutoff {
            event.outdated = true;
        }
    }
}

/// `storeScaleEvent`: records a scaling (replacing the last outdated event
/// slot, if any); nothing is stored without `behavior`.
pub(super) fn store_scale_event(
    behavior: Option<&Behavior>,
    scale_up_events: &mut Vec<ScaleEvent>,
    scale_down_events: &mut Vec<ScaleEvent>,
    prev_replicas: i32,
    new_replicas: i32,
    now: f64,
) {
    let Some(behavior) = behavior else {
        return; // we should not store any event as they will not be used
    };
    let (events, rules, change) = if new_replicas > prev_replicas {
        (
            scale_up_events,
            &behavior.scale_up,
            new_replicas - prev_replicas,
        )
    } else {
        (
            scale_down_events,
            &behavior.scale_down,
            prev_replicas - new_replicas,
        )
    };
    mark_scale_events_outdated(events, get_longest_policy_period(rules), now);
    let old_sample = events.iter().rposition(|e| e.outdated);
    let event = ScaleEvent {
        replica_change: change,
        timestamp: now,
        outdated: false,
    };
    match old_sample {
        Some(i) => events[i] = event,
        None => events.push(event),
    }
}
