//! The `autoscaling/v2` HPA specs and scaling rules embedded in the file.
//!
//! k8s-openapi's deserializers ignore unknown fields, and serde errors carry
//! no path. So a spec is read as a [`Node`] tree with lines, checked here
//! against the Kubernetes schema (field names, types, enums, ranges: every
//! problem with its full path and line), converted to JSON and only then
//! deserialized into [`HorizontalPodAutoscalerSpec`]. A second pass checks
//! what the schema cannot say: `minReplicas <= maxReplicas`, the target
//! field that goes with the target type, and that every metric is one the
//! simulator can model and the adapter serves, with a selector naming a
//! queue or service of this scenario.

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscalerSpec, MetricTarget,
};
use serde_json::{Map, Value};

use super::raw::{At, Node};
use super::units::parse_quantity;
use super::validate::Problems;

/// Metrics the adapter serves per queue (label `queue`).
pub const QUEUE_METRICS: &[&str] = &["queue_depth", "queue_pending", "queue_oldest_age_seconds"];
/// Metrics the adapter serves per service (label `service`).
pub const SERVICE_METRICS: &[&str] = &[
    "service_latency_seconds",
    "service_request_rate",
    "service_inflight",
];

/// What the checks need to know about the scenario.
pub(crate) struct HpaContext<'a> {
    /// The service the policy belongs to (default `scaleTargetRef` name).
    pub service: &'a str,
    /// Adapter queue names with (has `queue_pending`, has
    /// `queue_oldest_age_seconds`).
    pub queues: &'a [(String, bool, bool)],
    /// Service names.
    pub services: &'a [String],
}

/// The type a schema position expects.
#[derive(Clone, Copy)]
enum Ty {
    /// A string (numbers are taken as their text).
    Str,
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// A whole number in `[min, max]`.
    Int(i64, i64),
    /// A Kubernetes quantity (string or number).
    Quantity,
    /// A mapping with these fields.
    Obj(&'static [F]),
    /// A list of the element type.
    List(&'static Ty),
    /// A mapping of strings to strings (label sets).
    StrMap,
}

/// One field of an object type.
struct F {
    /// Name as Kubernetes spells it.
    name: &'static str,
    /// Expected type.
    ty: Ty,
    /// Whether it must be present.
    required: bool,
}

/// A required field.
const fn req(name: &'static str, ty: Ty) -> F {
    F {
        name,
        ty,
        required: true,
    }
}

/// An optional field.
const fn opt(name: &'static str, ty: Ty) -> F {
    F {
        name,
        ty,
        required: false,
    }
}

/// Largest value of an `int32` field.
const I32: i64 = i32::MAX as i64;
/// `CrossVersionObjectReference`: `scaleTargetRef`, `describedObject`.
const CROSS_REF: &[F] = &[
    opt("apiVersion", Ty::Str),
    req("kind", Ty::Str),
    req("name", Ty::Str),
];
/// `MetricTarget`.
const TARGET: &[F] = &[
    req("type", Ty::Enum(&["Utilization", "Value", "AverageValue"])),
    opt("averageUtilization", Ty::Int(1, I32)),
    opt("averageValue", Ty::Quantity),
    opt("value", Ty::Quantity),
];
/// `LabelSelectorRequirement`.
const MATCH_EXPRESSION: &[F] = &[
    req("key", Ty::Str),
    req(
        "operator",
        Ty::Enum(&["In", "NotIn", "Exists", "DoesNotExist"]),
    ),
    opt("values", Ty::List(&Ty::Str)),
];
/// `LabelSelector`.
const SELECTOR: &[F] = &[
    opt("matchLabels", Ty::StrMap),
    opt("matchExpressions", Ty::List(&Ty::Obj(MATCH_EXPRESSION))),
];
/// `MetricIdentifier`.
const IDENTIFIER: &[F] = &[req("name", Ty::Str), opt("selector", Ty::Obj(SELECTOR))];
/// `ResourceMetricSource`.
const RESOURCE: &[F] = &[req("name", Ty::Str), req("target", Ty::Obj(TARGET))];
/// `ContainerResourceMetricSource`.
const CONTAINER_RESOURCE: &[F] = &[
    req("container", Ty::Str),
    req("name", Ty::Str),
    req("target", Ty::Obj(TARGET)),
];
/// `ExternalMetricSource` (and `PodsMetricSource`, the same fields).
const EXTERNAL: &[F] = &[
    req("metric", Ty::Obj(IDENTIFIER)),
    req("target", Ty::Obj(TARGET)),
];
/// `ObjectMetricSource`.
const OBJECT: &[F] = &[
    req("describedObject", Ty::Obj(CROSS_REF)),
    req("metric", Ty::Obj(IDENTIFIER)),
    req("target", Ty::Obj(TARGET)),
];
/// `MetricSpec`.
const METRIC: &[F] = &[
    req(
        "type",
        Ty::Enum(&[
            "Resource",
            "External",
            "Pods",
            "Object",
            "ContainerResource",
        ]),
    ),
    opt("resource", Ty::Obj(RESOURCE)),
    opt("external", Ty::Obj(EXTERNAL)),
    opt("pods", Ty::Obj(EXTERNAL)),
    opt("object", Ty::Obj(OBJECT)),
    opt("containerResource", Ty::Obj(CONTAINER_RESOURCE)),
];
/// `HPAScalingPolicy`.
const POLICY: &[F] = &[
    req("type", Ty::Enum(&["Pods", "Percent"])),
    req("value", Ty::Int(1, I32)),
    req("periodSeconds", Ty::Int(1, 1800)),
];
/// `HPAScalingRules`: `behavior.scaleUp` / `scaleDown`, and tune's variants.
const RULES: &[F] = &[
    opt("policies", Ty::List(&Ty::Obj(POLICY))),
    opt("selectPolicy", Ty::Enum(&["Max", "Min", "Disabled"])),
    opt("stabilizationWindowSeconds", Ty::Int(0, 3600)),
    opt("tolerance", Ty::Quantity),
];
/// `HorizontalPodAutoscalerBehavior`.
const BEHAVIOR: &[F] = &[
    opt("scaleUp", Ty::Obj(RULES)),
    opt("scaleDown", Ty::Obj(RULES)),
];
/// `HorizontalPodAutoscalerSpec`.
const SPEC: &[F] = &[
    opt("scaleTargetRef", Ty::Obj(CROSS_REF)),
    opt("minReplicas", Ty::Int(1, I32)),
    req("maxReplicas", Ty::Int(1, I32)),
    opt("metrics", Ty::List(&Ty::Obj(METRIC))),
    opt("behavior", Ty::Obj(BEHAVIOR)),
];

/// Checks `node` against `ty` at `path`; its JSON form if it fits.
fn convert(node: &At<Node>, ty: Ty, path: &str, p: &mut Problems) -> Option<Value> {
    let line = node.line;
    let bad = |p: &mut Problems, what: &str| {
        p.push(
            line,
            path,
            format!("must be {what}, not {}", node.value.kind()),
        );
        None
    };
    match (ty, &node.value) {
        (Ty::Str, Node::Str(s)) => Some(Value::String(s.clone())),
        (Ty::Str, Node::Int(i)) => Some(Value::String(i.to_string())),
        (Ty::Str, Node::Float(f)) => Some(Value::String(f.to_string())),
        (Ty::Str, _) => bad(p, "a string"),
        (Ty::Enum(allowed), Node::Str(s)) if allowed.contains(&s.as_str()) => {
            Some(Value::String(s.clone()))
        }
        (Ty::Enum(allowed), v) => {
            let got = match v {
                Node::Str(s) => format!("{s:?}"),
                other => other.kind().to_string(),
            };
            p.push(
                line,
                path,
                format!("must be one of {} (got {got})", allowed.join(", ")),
            );
            None
        }
        (Ty::Int(min, max), Node::Int(i)) if (min..=max).contains(i) => Some(Value::from(*i)),
        (Ty::Int(min, max), Node::Int(i)) => {
            p.push(
                line,
                path,
                format!("must be between {min} and {max} (got {i})"),
            );
            None
        }
        (Ty::Int(..), _) => bad(p, "a whole number"),
        (Ty::Quantity, Node::Str(s)) => match parse_quantity(s) {
            Ok(_) => Some(Value::String(s.trim().to_string())),
            Err(e) => {
                p.push(line, path, e);
                None
            }
        },
        (Ty::Quantity, Node::Int(i)) if *i >= 0 => Some(Value::String(i.to_string())),
        (Ty::Quantity, Node::Float(f)) if *f >= 0.0 && f.is_finite() => {
            Some(Value::String(f.to_string()))
        }
        (Ty::Quantity, _) => bad(p, "a quantity (like 10, 500m or 2Gi) that is not negative"),
        (Ty::List(elem), Node::Seq(items)) => {
            let mut out = Vec::with_capacity(items.len());
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                match convert(item, *elem, &format!("{path}[{i}]"), p) {
                    Some(v) => out.push(v),
                    None => ok = false,
                }
            }
            ok.then_some(Value::Array(out))
        }
        (Ty::List(_), _) => bad(p, "a list"),
        (Ty::StrMap, Node::Map(entries)) => {
            let mut out = Map::new();
            let mut ok = true;
            for (k, v) in entries {
                match convert(v, Ty::Str, &format!("{path}.{}", k.value), p) {
                    Some(v) => {
                        out.insert(k.value.clone(), v);
                    }
                    None => ok = false,
                }
            }
            ok.then_some(Value::Object(out))
        }
        (Ty::StrMap, _) => bad(p, "a mapping of label names to values"),
        (Ty::Obj(fields), Node::Map(entries)) => {
            let mut out = Map::new();
            let mut ok = true;
            for (k, v) in entries {
                let field = format!("{path}.{}", k.value);
                let Some(f) = fields.iter().find(|f| f.name == k.value) else {
                    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    p.push(
                        k.line,
                        &field,
                        format!("unknown field, expected one of {}", names.join(", ")),
                    );
                    ok = false;
                    continue;
                };
                if matches!(v.value, Node::Null) && !f.required {
                    continue;
                }
                match convert(v, f.ty, &field, p) {
                    Some(v) => {
                        out.insert(k.value.clone(), v);
                    }
                    None => ok = false,
                }
            }
            for f in fields.iter().filter(|f| f.required) {
                if !out.contains_key(f.name) && !entries.iter().any(|(k, _)| k.value == f.name) {
                    p.push(line, format!("{path}.{}", f.name), "is required");
                    ok = false;
                }
            }
            ok.then_some(Value::Object(out))
        }
        (Ty::Obj(_), _) => bad(p, "a mapping"),
    }
}

/// The line of the field at `rel` (`metrics[0].external.target`) under
/// `root`, or of its deepest ancestor present in the file.
fn line_of(root: &At<Node>, rel: &str) -> u64 {
    let mut node = root;
    let mut line = root.line;
    for part in rel.split('.').filter(|s| !s.is_empty()) {
        let (key, indexes) = part.split_once('[').map_or((part, ""), |(k, i)| (k, i));
        let Node::Map(entries) = &node.value else {
            return line;
        };
        let Some((k, v)) = entries.iter().find(|(k, _)| k.value == key) else {
            return line;
        };
        line = k.line;
        node = v;
        for idx in indexes
            .split('[')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches(']'))
        {
            let (Ok(i), Node::Seq(items)) = (idx.parse::<usize>(), &node.value) else {
                return line;
            };
            let Some(item) = items.get(i) else {
                return line;
            };
            line = item.line;
            node = item;
        }
    }
    line
}

/// The HPA spec at `field`, with `scaleTargetRef` defaulted to the
/// service's Deployment; `None` (and problems) if it is invalid.
pub(crate) fn spec(
    node: &At<Node>,
    field: &str,
    ctx: &HpaContext,
    p: &mut Problems,
) -> Option<HorizontalPodAutoscalerSpec> {
    let mut json = convert(node, Ty::Obj(SPEC), field, p)?;
    if let Value::Object(m) = &mut json {
        m.entry("scaleTargetRef").or_insert_with(|| {
            serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.service})
        });
    }
    let spec: HorizontalPodAutoscalerSpec = match serde_json::from_value(json) {
        Ok(s) => s,
        Err(e) => {
            p.push(node.line, field, e);
            return None;
        }
    };
    let before = p.len();
    semantics(&spec, node, field, ctx, p);
    (p.len() == before).then_some(spec)
}

/// Scaling rules (`HPAScalingRules`) at `field`.
pub(crate) fn rules(node: &At<Node>, field: &str, p: &mut Problems) -> Option<HPAScalingRules> {
    let json = convert(node, Ty::Obj(RULES), field, p)?;
    let rules: HPAScalingRules = match serde_json::from_value(json) {
        Ok(r) => r,
        Err(e) => {
            p.push(node.line, field, e);
            return None;
        }
    };
    let before = p.len();
    rules_semantics(&rules, node, "", field, p);
    (p.len() == before).then_some(rules)
}

/// Checks of scaling rules beyond the schema.
fn rules_semantics(r: &HPAScalingRules, root: &At<Node>, rel: &str, field: &str, p: &mut Problems) {
    if r.policies.as_ref().is_some_and(Vec::is_empty) {
        let rel = join(rel, "policies");
        p.push(
            line_of(root, &rel),
            join(field, &rel),
            "needs at least one policy (or leave `policies` out for the default)",
        );
    }
}

/// `a.b`, or `b` if `a` is empty.
fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// Checks of a spec beyond the schema (see the module docs).
fn semantics(
    spec: &HorizontalPodAutoscalerSpec,
    root: &At<Node>,
    field: &str,
    ctx: &HpaContext,
    p: &mut Problems,
) {
    let mut at = |rel: &str, msg: String| p.push(line_of(root, rel), join(field, rel), msg);
    let min = spec.min_replicas.unwrap_or(1);
    if spec.max_replicas < min {
        at(
            "maxReplicas",
            format!("must not be less than minReplicas ({min})"),
        );
    }
    let metrics = spec.metrics.as_deref().unwrap_or_default();
    if metrics.is_empty() {
        at(
            "metrics",
            "at least one metric is required (Kubernetes would default to CPU 80%; write it out)"
                .into(),
        );
    }
    for (i, m) in metrics.iter().enumerate() {
        let base = format!("metrics[{i}]");
        let members = [
            ("Resource", "resource", m.resource.is_some()),
            ("External", "external", m.external.is_some()),
            ("Pods", "pods", m.pods.is_some()),
            ("Object", "object", m.object.is_some()),
            (
                "ContainerResource",
                "containerResource",
                m.container_resource.is_some(),
            ),
        ];
        for (ty, name, present) in members {
            if present && ty != m.type_ {
                at(
                    &format!("{base}.{name}"),
                    format!("only applies to type {ty}"),
                );
            }
            if !present && ty == m.type_ {
                at(&format!("{base}.type"), format!("type {ty} needs `{name}`"));
            }
        }
        if let (Some(r), "Resource") = (&m.resource, m.type_.as_str()) {
            let rb = format!("{base}.resource");
            if r.name != "cpu" && r.name != "memory" {
                at(
                    &format!("{rb}.name"),
                    format!("must be cpu or memory (got {:?})", r.name),
                );
            }
            target(
                &r.target,
                &format!("{rb}.target"),
                &["Utilization", "AverageValue"],
                &mut at,
            );
        } else if let (Some(e), "External") = (&m.external, m.type_.as_str()) {
            external(e, &format!("{base}.external"), ctx, &mut at);
        } else if m.type_ != "Resource" && m.type_ != "External" {
            at(
                &format!("{base}.type"),
                format!(
                    "{} metrics are not modelled: use Resource (cpu, memory) or External metrics served by the adapter",
                    m.type_
                ),
            );
        }
    }
    let behavior = spec.behavior.as_ref();
    for (name, r) in [
        (
            "behavior.scaleUp",
            behavior.and_then(|b| b.scale_up.as_ref()),
        ),
        (
            "behavior.scaleDown",
            behavior.and_then(|b| b.scale_down.as_ref()),
        ),
    ] {
        if let Some(r) = r {
            rules_semantics(r, root, name, field, p);
        }
    }
}

/// Checks a target: its type is allowed here and the matching field (only
/// that one) is set, and positive.
fn target(t: &MetricTarget, path: &str, allowed: &[&str], at: &mut impl FnMut(&str, String)) {
    if !allowed.contains(&t.type_.as_str()) {
        at(
            &format!("{path}.type"),
            format!(
                "must be {} for this metric (got {})",
                allowed.join(" or "),
                t.type_
            ),
        );
        return;
    }
    let fields = [
        (
            "Utilization",
            "averageUtilization",
            t.average_utilization.is_some(),
        ),
        ("AverageValue", "averageValue", t.average_value.is_some()),
        ("Value", "value", t.value.is_some()),
    ];
    for (ty, name, present) in fields {
        if present && ty != t.type_ {
            at(
                &format!("{path}.{name}"),
                format!("only applies to type {ty}"),
            );
        } else if !present && ty == t.type_ {
            at(&format!("{path}.type"), format!("type {ty} needs `{name}`"));
        }
    }
    for (name, q) in [("averageValue", &t.average_value), ("value", &t.value)] {
        if let Some(q) = q
            && parse_quantity(&q.0).is_ok_and(|v| v <= 0.0)
        {
            at(
                &format!("{path}.{name}"),
                "must be greater than zero".into(),
            );
        }
    }
}

/// Checks an External metric against what the adapter serves.
fn external(
    e: &k8s_openapi::api::autoscaling::v2::ExternalMetricSource,
    path: &str,
    ctx: &HpaContext,
    at: &mut impl FnMut(&str, String),
) {
    target(
        &e.target,
        &format!("{path}.target"),
        &["Value", "AverageValue"],
        at,
    );
    let name = e.metric.name.as_str();
    let label = if QUEUE_METRICS.contains(&name) {
        "queue"
    } else if SERVICE_METRICS.contains(&name) {
        "service"
    } else {
        at(
            &format!("{path}.metric.name"),
            format!(
                "unknown metric {name:?}; the adapter serves {} (label queue) and {} (label service)",
                QUEUE_METRICS.join(", "),
                SERVICE_METRICS.join(", ")
            ),
        );
        return;
    };
    let sel = format!("{path}.metric.selector");
    let selector = e.metric.selector.as_ref();
    if selector.is_some_and(|s| s.match_expressions.as_ref().is_some_and(|m| !m.is_empty())) {
        at(
            &format!("{sel}.matchExpressions"),
            "not supported; select with matchLabels".into(),
        );
    }
    let labels = selector.and_then(|s| s.match_labels.as_ref());
    let Some(value) = labels.and_then(|l| l.get(label)) else {
        at(
            &sel,
            format!("needs matchLabels.{label} naming the {label} of {name}"),
        );
        return;
    };
    let labels = labels.cloned().unwrap_or_default();
    let ml = format!("{sel}.matchLabels");
    if label == "queue" {
        match ctx.queues.iter().find(|q| &q.0 == value) {
            None => at(
                &format!("{ml}.queue"),
                format!(
                    "no service of the scenario consumes queue {value:?} (queues: {})",
                    ctx.queues
                        .iter()
                        .map(|q| q.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Some((_, false, _)) if name == "queue_pending" => at(
                &format!("{path}.metric.name"),
                format!(
                    "queue {value:?} has no pending entries: queue_pending needs a stream with a consumer group"
                ),
            ),
            Some((_, _, false)) if name == "queue_oldest_age_seconds" => at(
                &format!("{path}.metric.name"),
                format!(
                    "the adapter cannot tell the oldest age of queue {value:?}: Redis lists carry no timestamps (use a stream or a zset)"
                ),
            ),
            Some(_) => {}
        }
    } else if !ctx.services.iter().any(|s| s == value) {
        at(
            &format!("{ml}.service"),
            format!(
                "no service {value:?} in the scenario (services: {})",
                ctx.services.join(", ")
            ),
        );
    }
    let latency = name == "service_latency_seconds";
    if latency {
        match labels.get("quantile").map(|q| q.parse::<f64>()) {
            None => at(
                &ml,
                "service_latency_seconds needs matchLabels.quantile (e.g. \"0.95\")".into(),
            ),
            Some(Ok(q)) if q > 0.0 && q < 1.0 => {}
            Some(_) => at(
                &format!("{ml}.quantile"),
                "must be a number between 0 and 1 (e.g. \"0.95\")".into(),
            ),
        }
    }
    for k in labels.keys() {
        if k != label && !(latency && k == "quantile") {
            at(
                &format!("{ml}.{k}"),
                format!(
                    "{name} has no label {k:?} (it has {label}{})",
                    if latency { ", quantile" } else { "" }
                ),
            );
        }
    }
}
