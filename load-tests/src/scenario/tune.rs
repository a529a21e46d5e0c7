//! The `tune:` section: a family of HPA specs to sweep, and its expansion
//! into concrete named specs.
//!
//! A family is one base policy (an `hpa:` policy every tuned service has,
//! such as `queue-depth`) and axes, each a list of values; absent axes keep
//! the base's value. The candidates are the cartesian product of the axes,
//! in file order, named after the values they set:
//! `queue-depth/target=10/min=2/up=fast/window=5m`. [`Tune::expand`] is a
//! pure function of the base spec and the family.
//!
//! Axes:
//! - `targets` (with `metric`): the target of the first metric named
//!   `metric` (an External metric's name, or `cpu`/`memory` for Resource);
//!   sets `averageValue`, `value` or `averageUtilization` according to the
//!   base's target type;
//! - `min_replicas`, `max_replicas`;
//! - `scale_up`, `scale_down`: named `HPAScalingRules` replacing the base's
//!   `behavior.scaleUp` / `behavior.scaleDown`;
//! - `scale_down_window`: `behavior.scaleDown.stabilizationWindowSeconds`
//!   (applied after `scale_down`).

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricTarget,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::raw::{At, RawTune, Scalar};
use super::units::{format_duration, parse_quantity};
use super::validate::Problems;
use super::{PolicyKind, Service, hpa_spec};

/// Most candidates one family may expand to.
pub const MAX_CANDIDATES: usize = 10_000;

/// A validated policy family (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Tune {
    /// Name of the base policy in each tuned service.
    pub base: String,
    /// Services tuned (default: all).
    pub services: Vec<String>,
    /// Traces every candidate is run on (default: all).
    pub traces: Vec<String>,
    /// Metric whose target the `targets` axis sets.
    pub metric: Option<String>,
    /// Target values (quantities as written; whole percentages for
    /// Utilization targets).
    pub targets: Vec<String>,
    /// `minReplicas` values.
    pub min_replicas: Vec<i32>,
    /// `maxReplicas` values.
    pub max_replicas: Vec<i32>,
    /// Named `behavior.scaleUp` variants.
    pub scale_up: Vec<(String, HPAScalingRules)>,
    /// Named `behavior.scaleDown` variants.
    pub scale_down: Vec<(String, HPAScalingRules)>,
    /// `behavior.scaleDown.stabilizationWindowSeconds` values.
    pub scale_down_window: Vec<i32>,
}

/// One concrete spec of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// `base/axis=value/...`.
    pub name: String,
    /// The spec.
    pub spec: HorizontalPodAutoscalerSpec,
}

/// An axis's choices: `None` keeps the base, else one of the values.
fn choices<T>(values: &[T]) -> Vec<Option<&T>> {
    if values.is_empty() {
        vec![None]
    } else {
        values.iter().map(Some).collect()
    }
}

impl Tune {
    /// Number of candidates per tuned service.
    pub fn size(&self) -> usize {
        [
            self.targets.len(),
            self.min_replicas.len(),
            self.max_replicas.len(),
            self.scale_up.len(),
            self.scale_down.len(),
            self.scale_down_window.len(),
        ]
        .iter()
        .fold(1usize, |acc, n| acc.saturating_mul((*n).max(1)))
    }

    /// Every candidate built from `base`, in axis order (targets outermost,
    /// window innermost). Pure: the same inputs give the same list.
    pub fn expand(&self, base: &HorizontalPodAutoscalerSpec) -> Vec<Candidate> {
        let mut out = Vec::with_capacity(self.size());
        for t in choices(&self.targets) {
            for min in choices(&self.min_replicas) {
                for max in choices(&self.max_replicas) {
                    for up in choices(&self.scale_up) {
                        for down in choices(&self.scale_down) {
                            for w in choices(&self.scale_down_window) {
                                let mut spec = base.clone();
                                let mut name = self.base.clone();
                                if let (Some(t), Some(metric)) = (t, &self.metric) {
                                    set_target(&mut spec, metric, t);
                                    name.push_str(&format!("/target={t}"));
                                }
                                if let Some(&min) = min {
                                    spec.min_replicas = Some(min);
                                    name.push_str(&format!("/min={min}"));
                                }
                                if let Some(&max) = max {
                                    spec.max_replicas = max;
                                    name.push_str(&format!("/max={max}"));
                                }
                                if let Some((n, rules)) = up {
                                    behavior(&mut spec).scale_up = Some(rules.clone());
                                    name.push_str(&format!("/up={n}"));
                                }
                                if let Some((n, rules)) = down {
                                    behavior(&mut spec).scale_down = Some(rules.clone());
                                    name.push_str(&format!("/down={n}"));
                                }
                                if let Some(&w) = w {
                                    behavior(&mut spec)
                                        .scale_down
                                        .get_or_insert_with(Default::default)
                                        .stabilization_window_seconds = Some(w);
                                    name.push_str(&format!(
                                        "/window={}",
                                        format_duration(f64::from(w))
                                    ));
                                }
                                out.push(Candidate { name, spec });
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// The spec's behavior, created if absent.
fn behavior(spec: &mut HorizontalPodAutoscalerSpec) -> &mut HorizontalPodAutoscalerBehavior {
    spec.behavior.get_or_insert_with(Default::default)
}

/// The target of the first metric named `metric`, if any.
fn target_mut<'a>(
    spec: &'a mut HorizontalPodAutoscalerSpec,
    metric: &str,
) -> Option<&'a mut MetricTarget> {
    spec.metrics.as_mut()?.iter_mut().find_map(|m| {
        if let Some(e) = m.external.as_mut().filter(|e| e.metric.name == metric) {
            Some(&mut e.target)
        } else {
            m.resource
                .as_mut()
                .filter(|r| r.name == metric)
                .map(|r| &mut r.target)
        }
    })
}

/// Sets the target of `metric` to `value` in the base's target type.
fn set_target(spec: &mut HorizontalPodAutoscalerSpec, metric: &str, value: &str) {
    if let Some(t) = target_mut(spec, metric) {
        match t.type_.as_str() {
            "Utilization" => {
                t.average_utilization = parse_quantity(value).ok().map(|v| v.round() as i32);
            }
            "Value" => t.value = Some(Quantity(value.to_string())),
            _ => t.average_value = Some(Quantity(value.to_string())),
        }
    }
}

/// Validates the `tune:` section against the services and traces.
pub(crate) fn validate(
    raw: At<RawTune>,
    services: &[Service],
    traces: &[String],
    p: &mut Problems,
) -> Option<Tune> {
    let before = p.len();
    let line = raw.line;
    let r = raw.value;
    let list = |p: &mut Problems, name: &str, len: usize, line: u64| {
        if len == 0 {
            p.push(
                line,
                format!("tune.{name}"),
                "needs at least one value (leave it out to keep the base's)",
            );
        }
    };
    let names =
        |p: &mut Problems, field: &str, given: &Option<At<Vec<At<String>>>>, known: &[String]| {
            let Some(given) = given else {
                return known.to_vec();
            };
            list(p, field, given.value.len(), given.line);
            for (i, n) in given.value.iter().enumerate() {
                if !known.contains(&n.value) {
                    p.push(
                        n.line,
                        format!("tune.{field}[{i}]"),
                        format!(
                            "no {} {:?} in the scenario ({field}: {})",
                            field.trim_end_matches('s'),
                            n.value,
                            known.join(", ")
                        ),
                    );
                }
            }
            given.value.iter().map(|n| n.value.clone()).collect()
        };
    let service_names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
    let tuned = names(p, "services", &r.services, &service_names);
    let run_traces = names(p, "traces", &r.traces, traces);

    let targets: Vec<String> = r.targets.as_ref().map_or_else(Vec::new, |t| {
        list(p, "targets", t.value.len(), t.line);
        t.value
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let text = match &v.value {
                    Scalar::Num(n) => n.to_string(),
                    Scalar::Str(s) => s.trim().to_string(),
                };
                match parse_quantity(&text) {
                    Ok(q) if q > 0.0 => Some(text),
                    _ => {
                        p.push(
                            v.line,
                            format!("tune.targets[{i}]"),
                            format!("{} must be a quantity greater than zero", v.value),
                        );
                        None
                    }
                }
            })
            .collect()
    });
    let metric = r.metric.as_ref().map(|m| m.value.clone());
    if !targets.is_empty() && metric.is_none() {
        p.push(
            line,
            "tune.metric",
            "is required with `targets`: the metric whose target they set",
        );
    }
    let mut ints = |name: &str, given: &Option<At<Vec<At<i64>>>>| -> Vec<i32> {
        let Some(g) = given else { return Vec::new() };
        list(p, name, g.value.len(), g.line);
        g.value
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match i32::try_from(v.value) {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    p.push(
                        v.line,
                        format!("tune.{name}[{i}]"),
                        "must be a whole number of at least 1",
                    );
                    None
                }
            })
            .collect()
    };
    let min_replicas = ints("min_replicas", &r.min_replicas);
    let max_replicas = ints("max_replicas", &r.max_replicas);
    let mut rules = |name: &str, given: Option<At<super::raw::Pairs<At<super::raw::Node>>>>| {
        let Some(g) = given else { return Vec::new() };
        list(p, name, g.value.0.len(), g.line);
        g.value
            .0
            .into_iter()
            .filter_map(|(k, node)| {
                let field = format!("tune.{name}.{}", k.value);
                if k.value.is_empty() || k.value.contains(['/', ' ']) {
                    p.push(
                        k.line,
                        &field,
                        "a variant name must not be empty or contain '/' or spaces",
                    );
                }
                hpa_spec::rules(&node, &field, p).map(|r| (k.value, r))
            })
            .collect()
    };
    let scale_up = rules("scale_up", r.scale_up);
    let scale_down = rules("scale_down", r.scale_down);
    let scale_down_window: Vec<i32> = r.scale_down_window.as_ref().map_or_else(Vec::new, |w| {
        list(p, "scale_down_window", w.value.len(), w.line);
        w.value
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let secs = match &v.value {
                    Scalar::Num(n) => Some(*n),
                    Scalar::Str(s) => super::units::parse_duration(s).ok(),
                };
                match secs {
                    Some(s) if (0.0..=3600.0).contains(&s) && s.fract() == 0.0 => Some(s as i32),
                    _ => {
                        p.push(
                            v.line,
                            format!("tune.scale_down_window[{i}]"),
                            format!("{} must be whole seconds from 0s to 1h", v.value),
                        );
                        None
                    }
                }
            })
            .collect()
    });

    let tune = Tune {
        base: r.base.value.clone(),
        services: tuned,
        traces: run_traces,
        metric,
        targets,
        min_replicas,
        max_replicas,
        scale_up,
        scale_down,
        scale_down_window,
    };
    if tune.size() > MAX_CANDIDATES {
        p.push(
            line,
            "tune",
            format!(
                "expands to {} candidates per service; at most {MAX_CANDIDATES}",
                tune.size()
            ),
        );
    }
    for s in services.iter().filter(|s| tune.services.contains(&s.name)) {
        check_base(&tune, s, &r.base, p);
    }
    (p.len() == before).then_some(tune)
}

/// Checks that the family applies to service `s`'s base policy.
fn check_base(tune: &Tune, s: &Service, base: &At<String>, p: &mut Problems) {
    let spec = match s.policy(&tune.base).map(|p| &p.kind) {
        Some(PolicyKind::Hpa(spec)) => spec,
        Some(PolicyKind::Oracle(_)) => {
            p.push(
                base.line,
                "tune.base",
                format!(
                    "policy {:?} of service {:?} is the oracle; the base must be an hpa policy",
                    tune.base, s.name
                ),
            );
            return;
        }
        None => {
            p.push(
                base.line,
                "tune.base",
                format!(
                    "service {:?} has no policy {:?} (tune.services picks the services tuned)",
                    s.name, tune.base
                ),
            );
            return;
        }
    };
    if let Some(metric) = &tune.metric {
        let mut probe = (**spec).clone();
        match target_mut(&mut probe, metric) {
            None => p.push(
                base.line,
                "tune.metric",
                format!(
                    "policy {:?} of service {:?} has no metric {metric:?}",
                    tune.base, s.name
                ),
            ),
            Some(t) if t.type_ == "Utilization" => {
                if let Some(bad) = tune
                    .targets
                    .iter()
                    .find(|v| v.parse::<u32>().map_or(true, |n| n == 0))
                {
                    p.push(base.line, "tune.targets", format!("{bad} is not a whole percentage, and {metric} of service {:?} has a Utilization target", s.name));
                }
            }
            Some(_) => {}
        }
    }
    let mins = tune
        .min_replicas
        .iter()
        .copied()
        .max()
        .unwrap_or(spec.min_replicas.unwrap_or(1));
    let maxes = tune
        .max_replicas
        .iter()
        .copied()
        .min()
        .unwrap_or(spec.max_replicas);
    if maxes < mins {
        p.push(base.line, "tune.max_replicas", format!("service {:?}: a maxReplicas of {maxes} is below a minReplicas of {mins} in the family", s.name));
    }
}
