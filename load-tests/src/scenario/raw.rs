//! The scenario file as written: serde structs whose fields carry their line
//! ([`At`]), a generic YAML tree with lines ([`Node`]) for the embedded
//! Kubernetes HPA specs, and the path of the field a syntax error is on.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// A value from the file and the line it is on.
#[derive(Debug, Clone)]
pub(crate) struct At<T> {
    /// The value.
    pub value: T,
    /// 1-based line of the value.
    pub line: u64,
    /// 1-based column of the value (tells apart keys of a flow mapping).
    pub col: u64,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<T>::deserialize(d)?;
        Ok(At {
            line: s.referenced.line(),
            col: s.referenced.column(),
            value: s.value,
        })
    }
}

/// A YAML mapping as its entries in file order (serde-saphyr rejects
/// duplicate keys).
#[derive(Debug, Clone)]
pub(crate) struct Pairs<V>(pub Vec<(At<String>, V)>);

impl<V> Default for Pairs<V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Collects the entries.
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Pairs(entries))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// A number or a string: durations (`60s` or `60`), quantities (`250m` or
/// `1`), HPA target values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    /// Written as a number.
    Num(f64),
    /// Written as a string.
    Str(String),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Num(n) => write!(f, "{n}"),
            Scalar::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Accepts numbers and strings.
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Num(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Num(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML value of any shape, every child with its line: the HPA specs and
/// scaling rules, checked against the Kubernetes schema in `hpa_spec`.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false` (never valid in an HPA spec, so the value is not kept).
    Bool,
    /// An integer.
    Int(i64),
    /// A number with a fraction or exponent (or an integer beyond i64).
    Float(f64),
    /// Any other scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<At<Node>>),
    /// A mapping, entries in file order.
    Map(Vec<(At<String>, At<Node>)>),
}

impl Node {
    /// What the node is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool => "a boolean",
            Node::Int(_) | Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Builds a node from whatever comes.
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Bool)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(i64::try_from(v).map_or(Node::Float(v as f64), Node::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = s.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = m.next_entry()? {
                    entries.push(entry);
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// serde-saphyr's options for scenario files: no source snippet in errors
/// (messages are one line, `file:line: field: message`).
pub(crate) fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.with_snippet = false;
    o
}

/// The field path (`services[0].startup.max`) of the key at `line` and
/// `col`, for a syntax error there, and the line to report. Prefers a key on
/// that line named in the message in backticks (`` unknown field `x` ``),
/// else the last key on the line starting at or before the column; for
/// `` missing field `x` `` it names the missing field under the mapping the
/// error is in and reports the line where that mapping starts. `None` if
/// nothing is on that line or the text is not YAML at all.
pub(crate) fn path_at_line(
    text: &str,
    line: u64,
    col: u64,
    message: &str,
) -> Option<(String, u64)> {
    let root: At<Node> = serde_saphyr::from_str_with_options(text, options()).ok()?;
    let mut found = Vec::new();
    collect(&root, String::new(), line, &mut found);
    if let Some(missing) = message
        .split("missing field `")
        .nth(1)
        .and_then(|s| s.split('`').next())
    {
        // The mapping on this line: the parent of its first key there.
        let (parent, _, _) = found.first()?;
        let start = mapping_line(&root, parent).unwrap_or(line);
        return Some((join(parent, missing), start));
    }
    found
        .iter()
        .rev()
        .find(|(_, key, _)| message.contains(&format!("`{key}`")))
        .or_else(|| found.iter().rev().find(|(_, _, c)| *c <= col))
        .or(found.last())
        .map(|(parent, key, _)| (join(parent, key), line))
}

/// The line where the node at `path` (as built by [`collect`]) starts.
fn mapping_line(root: &At<Node>, path: &str) -> Option<u64> {
    let mut node = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, index) = match part.split_once('[') {
            Some((k, i)) => (k, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !key.is_empty() {
            let Node::Map(entries) = &node.value else {
                return None;
            };
            node = &entries.iter().find(|(k, _)| k.value == key)?.1;
        }
        if let Some(i) = index {
            let Node::Seq(items) = &node.value else {
                return None;
            };
            node = items.get(i)?;
        }
    }
    Some(node.line)
}

/// `parent.key`, or `key` at the top.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Collects `(parent path, key, column)` of every mapping key on `line`, in
/// order; sequence items on the line count as key `[i]` of the parent.
fn collect(node: &At<Node>, path: String, line: u64, out: &mut Vec<(String, String, u64)>) {
    match &node.value {
        Node::Map(entries) => {
            for (k, v) in entries {
                if k.line == line {
                    out.push((path.clone(), k.value.clone(), k.col));
                }
                collect(v, join(&path, &k.value), line, out);
            }
        }
        Node::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                let item = format!("{path}[{i}]");
                if v.line == line && !matches!(v.value, Node::Map(_) | Node::Seq(_)) {
                    let (parent, last) = item.rsplit_once('.').unwrap_or(("", &item));
                    out.push((parent.to_string(), last.to_string(), v.col));
                }
                collect(v, item, line, out);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// The schema. Field meanings and defaults: the parent module's docs; the
// validator turns these into the resolved types.

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    /// Seed of every random draw.
    pub seed: Option<At<u64>>,
    /// Named traces, in file order.
    pub traces: At<Pairs<At<RawTrace>>>,
    /// The services.
    pub services: At<Vec<At<RawService>>>,
    /// The family `tune` sweeps.
    pub tune: Option<At<RawTune>>,
}

/// One trace: `type` and the fields of that type (a flat struct, so a field
/// of another type gets a clear "only applies to type ..." message).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrace {
    /// constant | step | spike | diurnal | bursts | replay.
    #[serde(rename = "type")]
    pub kind: At<String>,
    /// Run length.
    pub duration: Option<At<Scalar>>,
    /// Multiplicative rate noise.
    pub noise: Option<At<RawNoise>>,
    /// constant: req/s.
    pub rate: Option<At<f64>>,
    /// step: the steps.
    pub steps: Option<At<Vec<At<RawStep>>>>,
    /// spike, bursts: req/s outside spike or bursts.
    pub base: Option<At<f64>>,
    /// spike: req/s at the top.
    pub peak: Option<At<f64>>,
    /// spike: ramp-up start.
    pub start: Option<At<Scalar>>,
    /// spike: ramp-up length.
    pub ramp: Option<At<Scalar>>,
    /// spike: time at the peak.
    pub hold: Option<At<Scalar>>,
    /// spike: ramp-down length.
    pub ramp_down: Option<At<Scalar>>,
    /// diurnal: quietest req/s.
    pub min: Option<At<f64>>,
    /// diurnal: busiest req/s.
    pub max: Option<At<f64>>,
    /// diurnal: cycle length.
    pub period: Option<At<Scalar>>,
    /// diurnal: when in the cycle the peak is.
    pub peak_at: Option<At<Scalar>>,
    /// bursts: mean time between burst starts.
    pub every: Option<At<Scalar>>,
    /// bursts: extra requests per burst.
    pub size: Option<At<f64>>,
    /// bursts: burst length.
    pub length: Option<At<Scalar>>,
    /// replay: CSV path, relative to the scenario file.
    pub file: Option<At<String>>,
    /// replay: inline `[time, rate]` points.
    pub points: Option<At<RawPoints>>,
}

/// Inline replay points: `[time, rate]` pairs.
pub(crate) type RawPoints = Vec<At<(Scalar, f64)>>;

/// One step of a step trace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    /// When the step starts.
    pub at: At<Scalar>,
    /// Its req/s.
    pub rate: At<f64>,
}

/// Rate noise.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNoise {
    /// Coefficient of variation of the factors.
    pub cv: At<f64>,
    /// Time between factors.
    pub interval: Option<At<Scalar>>,
}

/// A distribution: `type` and its parameters; `per_token`/`tokens` only on
/// `service_time`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDist {
    /// constant | uniform | exponential | lognormal.
    #[serde(rename = "type")]
    pub kind: At<String>,
    /// constant: the value.
    pub value: Option<At<Scalar>>,
    /// uniform: lower end.
    pub min: Option<At<Scalar>>,
    /// uniform: upper end.
    pub max: Option<At<Scalar>>,
    /// exponential: mean.
    pub mean: Option<At<Scalar>>,
    /// lognormal: median.
    pub p50: Option<At<Scalar>>,
    /// lognormal: 95th percentile.
    pub p95: Option<At<Scalar>>,
    /// service_time: seconds added per token.
    pub per_token: Option<At<Scalar>>,
    /// service_time: tokens per request.
    pub tokens: Option<At<Box<RawDist>>>,
}

/// One service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    /// Service and Deployment name.
    pub name: At<String>,
    /// The queue it consumes.
    pub queue: At<RawQueue>,
    /// Scale and trace mapping of the run's trace.
    pub traffic: Option<At<RawTraffic>>,
    /// Pod resource requests.
    pub requests: At<RawRequests>,
    /// Seconds per request.
    pub service_time: At<RawDist>,
    /// Requests a pod serves at once.
    pub inflight_per_pod: At<u64>,
    /// CPU time per request.
    pub cpu_per_request: At<Scalar>,
    /// Idle cores per pod.
    pub idle_cpu: At<Scalar>,
    /// Idle memory per pod.
    pub memory_per_pod: At<Scalar>,
    /// Memory per request in flight.
    pub memory_per_inflight: At<Scalar>,
    /// Pod start-up delay.
    pub startup: At<RawDist>,
    /// The queue-wait objective.
    pub slo: At<RawSlo>,
    /// Replicas at the start.
    pub initial_replicas: Option<At<u64>>,
    /// The policies to compare.
    pub policies: At<Pairs<At<RawPolicy>>>,
}

/// A service's queue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueue {
    /// list | stream | zset.
    #[serde(rename = "type")]
    pub kind: At<String>,
    /// Redis key.
    pub key: At<String>,
    /// The adapter's queue name.
    pub name: At<String>,
    /// stream: consumer group.
    pub group: Option<At<String>>,
    /// zset: seconds | milliseconds.
    pub score_unit: Option<At<String>>,
    /// zset: how far ahead jobs are due.
    pub delay: Option<At<RawDist>>,
}

/// How the run's trace maps to a service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTraffic {
    /// Rate multiplier.
    pub scale: Option<At<f64>>,
    /// Run trace -> trace this service plays.
    #[serde(default)]
    pub traces: Pairs<At<String>>,
}

/// Resource requests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRequests {
    /// CPU quantity.
    pub cpu: At<Scalar>,
    /// Memory quantity.
    pub memory: At<Scalar>,
}

/// The SLO.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlo {
    /// Limit on the quantile of queue wait.
    pub queue_wait: At<Scalar>,
    /// Which quantile.
    pub quantile: Option<At<f64>>,
}

/// A policy: exactly one of `hpa` and `oracle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    /// Free text.
    pub description: Option<At<String>>,
    /// An HorizontalPodAutoscalerSpec.
    pub hpa: Option<At<Node>>,
    /// The oracle's options.
    pub oracle: Option<At<RawOracle>>,
}

/// The oracle's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOracle {
    /// How far ahead it looks.
    pub lookahead: Option<At<Scalar>>,
    /// Planned busy fraction of in-flight slots.
    pub utilization: Option<At<f64>>,
    /// Fewest replicas.
    pub min_replicas: Option<At<u64>>,
    /// Most replicas.
    pub max_replicas: Option<At<u64>>,
}

/// The tune family.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTune {
    /// Base policy name.
    pub base: At<String>,
    /// Services tuned.
    pub services: Option<At<Vec<At<String>>>>,
    /// Traces run.
    pub traces: Option<At<Vec<At<String>>>>,
    /// Metric the targets apply to.
    pub metric: Option<At<String>>,
    /// Target values.
    pub targets: Option<At<Vec<At<Scalar>>>>,
    /// minReplicas values.
    pub min_replicas: Option<At<Vec<At<i64>>>>,
    /// maxReplicas values.
    pub max_replicas: Option<At<Vec<At<i64>>>>,
    /// Named scale-up rules.
    pub scale_up: Option<At<Pairs<At<Node>>>>,
    /// Named scale-down rules.
    pub scale_down: Option<At<Pairs<At<Node>>>>,
    /// Scale-down stabilization windows.
    pub scale_down_window: Option<At<Vec<At<Scalar>>>>,
}
