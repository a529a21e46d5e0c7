//! From the file as written ([`raw`](super::raw)) to a [`Scenario`]: every
//! problem collected with its line and field path, none fatal until the end.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::hpa_spec::{self, HpaContext};
use super::raw::{
    At, Node, RawOracle, RawPolicy, RawQueue, RawScenario, RawService, Scalar, options,
};
use super::units::{format_duration, parse_duration, parse_quantity};
use super::{
    Error, LOOKAHEAD_MARGIN, Oracle, Policy, PolicyKind, Problem, Queue, QueueKind, Resources,
    Scenario, ScoreUnit, Service, Slo, Traffic, tune,
};
use crate::dist::{Dist, ServiceTime};

/// Problems found so far.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    /// Records a problem with `field` on `line`.
    pub fn push(&mut self, line: u64, field: impl AsRef<str>, message: impl fmt::Display) {
        self.0.push(Problem {
            line,
            field: field.as_ref().to_string(),
            message: message.to_string(),
        });
    }

    /// How many so far (to tell whether a step added any).
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Most replicas anything may ask for.
const MAX_REPLICAS: u64 = 10_000;
/// The oracle's default ceiling.
const ORACLE_MAX_REPLICAS: u32 = 1000;
/// The oracle's default planned utilization of in-flight slots.
const ORACLE_UTILIZATION: f64 = 0.85;

/// Parses and validates `text` (see [`Scenario::from_str`]).
pub(super) fn parse(text: &str, origin: &str) -> Result<Scenario, Error> {
    let raw: RawScenario = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| syntax(&e, text, origin))?;
    let base_dir = std::path::Path::new(origin)
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut v = Validator {
        p: Problems::default(),
        base_dir,
    };
    let scenario = v.scenario(raw, origin);
    let mut problems = v.p.0;
    if problems.is_empty() {
        Ok(scenario)
    } else {
        problems.sort_by_key(|p| p.line);
        Err(Error::Invalid {
            origin: origin.to_string(),
            problems,
        })
    }
}

/// A serde-saphyr error as [`Error::Syntax`], with the field path of the
/// key on its line when one is found.
fn syntax(e: &serde_saphyr::Error, text: &str, origin: &str) -> Error {
    let full = e.to_string();
    let mut message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full,
    };
    // serde-saphyr names the Rust type; say what the file needs.
    for (theirs, ours) in [
        ("invalid u64", "must be a whole number, 0 or more"),
        ("invalid i64", "must be a whole number"),
        ("invalid floating point", "must be a number"),
    ] {
        if message == theirs {
            message = ours.to_string();
        }
    }
    let location = e.location().filter(|l| l.line() > 0);
    let line = location.map(|l| l.line());
    let found =
        location.and_then(|l| super::raw::path_at_line(text, l.line(), l.column(), &message));
    let (field, line) = match found {
        Some((field, at)) => (Some(field), Some(at)),
        None => (None, line),
    };
    Error::Syntax {
        origin: origin.to_string(),
        line,
        field,
        message,
    }
}

/// Collects problems while building the scenario.
pub(super) struct Validator {
    /// Problems found.
    pub p: Problems,
    /// Directory replay paths are relative to.
    pub base_dir: PathBuf,
}

impl Validator {
    /// Seconds from a duration field (`>= 0`).
    pub fn duration(&mut self, field: &str, at: &At<Scalar>) -> Option<f64> {
        let v = match &at.value {
            Scalar::Num(n) if n.is_finite() => *n,
            Scalar::Num(_) => {
                self.p
                    .push(at.line, field, "must be a finite number of seconds");
                return None;
            }
            Scalar::Str(s) => match parse_duration(s) {
                Ok(v) => v,
                Err(e) => {
                    self.p.push(at.line, field, e);
                    return None;
                }
            },
        };
        if v < 0.0 {
            self.p.push(at.line, field, "must not be negative");
            return None;
        }
        Some(v)
    }

    /// Seconds from a duration field that must be `> 0`.
    pub fn positive_duration(&mut self, field: &str, at: &At<Scalar>) -> Option<f64> {
        let v = self.duration(field, at)?;
        if v == 0.0 {
            self.p.push(at.line, field, "must be greater than zero");
            return None;
        }
        Some(v)
    }

    /// A quantity's value (cores or bytes), `>= 0`, `> 0` if `positive`.
    fn quantity(&mut self, field: &str, at: &At<Scalar>, positive: bool) -> Option<f64> {
        let v = match &at.value {
            Scalar::Num(n) if n.is_finite() && *n >= 0.0 => *n,
            Scalar::Num(n) => {
                self.p
                    .push(at.line, field, format!("must not be negative (got {n})"));
                return None;
            }
            Scalar::Str(s) => match parse_quantity(s) {
                Ok(v) => v,
                Err(e) => {
                    self.p.push(at.line, field, e);
                    return None;
                }
            },
        };
        if positive && v == 0.0 {
            self.p.push(at.line, field, "must be greater than zero");
            return None;
        }
        Some(v)
    }

    /// A count in `[min, max]`.
    fn count(&mut self, field: &str, at: &At<u64>, min: u64, max: u64) -> Option<u32> {
        if (min..=max).contains(&at.value) {
            u32::try_from(at.value).ok()
        } else {
            self.p.push(
                at.line,
                field,
                format!("must be between {min} and {max} (got {})", at.value),
            );
            None
        }
    }

    /// A required field of a `type`-dependent struct: the value, or a
    /// problem at the struct's line.
    pub fn required<T>(&mut self, value: Option<T>, line: u64, field: &str, ty: &str) -> Option<T> {
        if value.is_none() {
            self.p
                .push(line, field, format!("is required for type {ty}"));
        }
        value
    }

    /// Reports fields set that the struct's `type` does not use; `table`
    /// lists each type's fields, `present` the fields set and their lines.
    pub fn only(
        &mut self,
        field: &str,
        ty: &str,
        table: &[(&str, &[&str])],
        present: &[(&str, Option<u64>)],
    ) {
        let own = table
            .iter()
            .find(|(t, _)| *t == ty)
            .map_or(&[][..], |t| t.1);
        for (name, line) in present {
            let Some(line) = line else { continue };
            if own.contains(name) {
                continue;
            }
            let users: Vec<&str> = table
                .iter()
                .filter(|(_, fields)| fields.contains(name))
                .map(|(t, _)| *t)
                .collect();
            self.p.push(
                *line,
                format!("{field}.{name}"),
                format!("only applies to type {}, not {ty}", users.join(" or ")),
            );
        }
    }

    /// The scenario.
    fn scenario(&mut self, raw: RawScenario, origin: &str) -> Scenario {
        let seed = raw.seed.map_or(1, |s| s.value);
        if raw.traces.value.0.is_empty() {
            self.p
                .push(raw.traces.line, "traces", "needs at least one trace");
        }
        let mut traces = Vec::new();
        for (name, t) in raw.traces.value.0 {
            if let Some(t) = self.trace(&name, t) {
                traces.push(t);
            }
        }
        let trace_names: Vec<String> = traces.iter().map(|t| t.name.clone()).collect();
        let services = self.services(raw.services, &trace_names);
        let tune = raw
            .tune
            .and_then(|t| tune::validate(t, &services, &trace_names, &mut self.p));
        Scenario {
            origin: origin.to_string(),
            seed,
            traces,
            services,
            tune,
        }
    }

    /// The services: names and queues first (policies may refer to any).
    fn services(&mut self, raw: At<Vec<At<RawService>>>, traces: &[String]) -> Vec<Service> {
        if raw.value.is_empty() {
            self.p
                .push(raw.line, "services", "needs at least one service");
        }
        let names: Vec<String> = raw
            .value
            .iter()
            .map(|s| s.value.name.value.clone())
            .collect();
        let queues: Vec<(String, bool, bool)> = raw
            .value
            .iter()
            .map(|s| {
                let q = &s.value.queue.value;
                let kind = q.kind.value.as_str();
                (q.name.value.clone(), kind == "stream", kind != "list")
            })
            .collect();
        let mut seen_names = BTreeMap::new();
        let mut seen_queues = BTreeMap::new();
        let mut seen_keys = BTreeMap::new();
        let mut out = Vec::new();
        for (i, s) in raw.value.into_iter().enumerate() {
            let f = format!("services[{i}]");
            for (seen, what, field, at) in [
                (&mut seen_names, "service name", "name", &s.value.name),
                (
                    &mut seen_queues,
                    "queue name",
                    "queue.name",
                    &s.value.queue.value.name,
                ),
                (
                    &mut seen_keys,
                    "Redis key",
                    "queue.key",
                    &s.value.queue.value.key,
                ),
            ] {
                if let Some(first) = seen.insert(at.value.clone(), at.line) {
                    self.p.push(
                        at.line,
                        format!("{f}.{field}"),
                        format!("duplicate {what} {:?} (first at line {first})", at.value),
                    );
                }
            }
            let service_name = s.value.name.value.clone();
            let ctx = HpaContext {
                service: &service_name,
                queues: &queues,
                services: &names,
            };
            if let Some(service) = self.service(&f, s.value, traces, &ctx) {
                out.push(service);
            }
        }
        out
    }

    /// One service.
    fn service(
        &mut self,
        f: &str,
        s: RawService,
        traces: &[String],
        ctx: &HpaContext,
    ) -> Option<Service> {
        let name = &s.name;
        if !is_dns_label(&name.value) {
            self.p.push(
                name.line,
                format!("{f}.name"),
                format!(
                    "{:?} must be a lowercase DNS label (a-z, 0-9, '-', at most 63), like gateway: it names the Deployment",
                    name.value
                ),
            );
        }
        let queue = self.queue(&format!("{f}.queue"), s.queue);
        let traffic = self.traffic(&format!("{f}.traffic"), s.traffic, traces);
        let requests = {
            let r = &s.requests.value;
            let cpu = self.quantity(&format!("{f}.requests.cpu"), &r.cpu, true);
            let memory = self.quantity(&format!("{f}.requests.memory"), &r.memory, true);
            cpu.zip(memory)
                .map(|(cpu, memory)| Resources { cpu, memory })
        };
        let service_time = self
            .dist(&format!("{f}.service_time"), s.service_time, true, true)
            .and_then(|(base, tokens)| {
                let st = ServiceTime { base, tokens };
                (st.mean() > 0.0).then_some(st)
            });
        let inflight = self.count(
            &format!("{f}.inflight_per_pod"),
            &s.inflight_per_pod,
            1,
            10_000,
        );
        let cpu_per_request = self.duration(&format!("{f}.cpu_per_request"), &s.cpu_per_request);
        let idle_cpu = self.quantity(&format!("{f}.idle_cpu"), &s.idle_cpu, false);
        let memory_per_pod = self.quantity(&format!("{f}.memory_per_pod"), &s.memory_per_pod, true);
        let memory_per_inflight = self.quantity(
            &format!("{f}.memory_per_inflight"),
            &s.memory_per_inflight,
            false,
        );
        let startup = self
            .dist(&format!("{f}.startup"), s.startup, true, false)
            .map(|d| d.0);
        let slo = {
            let r = s.slo.value;
            let wait = self.positive_duration(&format!("{f}.slo.queue_wait"), &r.queue_wait);
            let quantile = r.quantile.map_or(Some(0.95), |q| {
                if q.value > 0.0 && q.value < 1.0 {
                    Some(q.value)
                } else {
                    self.p.push(
                        q.line,
                        format!("{f}.slo.quantile"),
                        "must be between 0 and 1 (exclusive), like 0.95",
                    );
                    None
                }
            });
            wait.zip(quantile).map(|(queue_wait, quantile)| Slo {
                quantile,
                queue_wait,
            })
        };
        let initial = match &s.initial_replicas {
            Some(n) => self
                .count(&format!("{f}.initial_replicas"), n, 1, MAX_REPLICAS)
                .map(Some),
            None => Some(None),
        };
        let policies = self.policies(&format!("{f}.policies"), s.policies, startup.as_ref(), ctx);
        Some(Service {
            name: s.name.value,
            queue: queue?,
            traffic: traffic?,
            requests: requests?,
            service_time: service_time?,
            inflight_per_pod: inflight?,
            cpu_per_request: cpu_per_request?,
            idle_cpu: idle_cpu?,
            memory_per_pod: memory_per_pod?,
            memory_per_inflight: memory_per_inflight?,
            startup: startup?,
            slo: slo?,
            initial_replicas: initial?,
            policies: policies?,
        })
    }

    /// A service's queue.
    fn queue(&mut self, f: &str, raw: At<RawQueue>) -> Option<Queue> {
        let q = raw.value;
        let ty = q.kind.value.as_str();
        const TABLE: &[(&str, &[&str])] = &[
            ("list", &[]),
            ("stream", &["group"]),
            ("zset", &["score_unit", "delay"]),
        ];
        if !TABLE.iter().any(|(t, _)| *t == ty) {
            self.p.push(
                q.kind.line,
                format!("{f}.type"),
                format!("must be list, stream or zset (got {ty:?})"),
            );
            return None;
        }
        self.only(
            f,
            ty,
            TABLE,
            &[
                ("group", q.group.as_ref().map(|a| a.line)),
                ("score_unit", q.score_unit.as_ref().map(|a| a.line)),
                ("delay", q.delay.as_ref().map(|a| a.line)),
            ],
        );
        for (name, at) in [("key", &q.key), ("name", &q.name)] {
            if at.value.trim().is_empty() {
                self.p
                    .push(at.line, format!("{f}.{name}"), "must not be empty");
            }
        }
        let kind = match ty {
            "list" => QueueKind::List,
            "stream" => {
                let group = self.required(q.group, raw.line, &format!("{f}.group"), ty)?;
                if group.value.trim().is_empty() {
                    self.p
                        .push(group.line, format!("{f}.group"), "must not be empty");
                }
                QueueKind::Stream { group: group.value }
            }
            _ => {
                let score_unit = match q.score_unit.as_ref().map(|u| (u.value.as_str(), u.line)) {
                    None | Some(("seconds", _)) => ScoreUnit::Seconds,
                    Some(("milliseconds", _)) => ScoreUnit::Milliseconds,
                    Some((other, line)) => {
                        self.p.push(
                            line,
                            format!("{f}.score_unit"),
                            format!("must be seconds or milliseconds (got {other:?})"),
                        );
                        ScoreUnit::Seconds
                    }
                };
                let delay = match q.delay {
                    Some(d) => self.dist(&format!("{f}.delay"), d, true, false)?.0,
                    None => Dist::Constant(0.0),
                };
                QueueKind::Zset { score_unit, delay }
            }
        };
        Some(Queue {
            kind,
            key: q.key.value,
            name: q.name.value,
        })
    }

    /// How the run's trace maps to the service.
    fn traffic(
        &mut self,
        f: &str,
        raw: Option<At<super::raw::RawTraffic>>,
        traces: &[String],
    ) -> Option<Traffic> {
        let Some(raw) = raw else {
            return Some(Traffic {
                scale: 1.0,
                traces: Vec::new(),
            });
        };
        let before = self.p.len();
        let scale = raw.value.scale.map_or(1.0, |s| {
            if !(s.value.is_finite() && s.value > 0.0) {
                self.p
                    .push(s.line, format!("{f}.scale"), "must be greater than zero");
            }
            s.value
        });
        let mut map = Vec::new();
        for (run, own) in raw.value.traces.0 {
            for (what, at) in [("key", &run), ("value", &own)] {
                if !traces.contains(&at.value) {
                    self.p.push(
                        at.line,
                        format!("{f}.traces.{}", run.value),
                        format!(
                            "no trace {:?} (the {what}; traces: {})",
                            at.value,
                            traces.join(", ")
                        ),
                    );
                }
            }
            map.push((run.value, own.value));
        }
        (self.p.len() == before).then_some(Traffic { scale, traces: map })
    }

    /// A service's policies.
    fn policies(
        &mut self,
        f: &str,
        raw: At<super::raw::Pairs<At<RawPolicy>>>,
        startup: Option<&Dist>,
        ctx: &HpaContext,
    ) -> Option<Vec<Policy>> {
        if raw.value.0.is_empty() {
            self.p.push(raw.line, f, "needs at least one policy");
        }
        let before = self.p.len();
        let mut out = Vec::new();
        for (name, pol) in raw.value.0 {
            let pf = format!("{f}.{}", name.value);
            if name.value.is_empty() || name.value.contains(['/', ' ', '\t']) {
                self.p.push(
                    name.line,
                    &pf,
                    "a policy name must not be empty or contain '/' or spaces",
                );
            }
            let pol_line = pol.line;
            let pol = pol.value;
            let kind = match (pol.hpa, pol.oracle) {
                (Some(hpa), None) => self.hpa(&format!("{pf}.hpa"), &hpa, ctx),
                (None, Some(o)) => self.oracle(&format!("{pf}.oracle"), o, startup),
                (Some(_), Some(o)) => {
                    self.p
                        .push(o.line, &pf, "has both `hpa` and `oracle`; give one");
                    None
                }
                (None, None) => {
                    self.p.push(
                        pol_line,
                        &pf,
                        "needs `hpa: <HorizontalPodAutoscalerSpec>` or `oracle: {}`",
                    );
                    None
                }
            };
            if let Some(kind) = kind {
                out.push(Policy {
                    name: name.value,
                    description: pol.description.map(|d| d.value),
                    kind,
                });
            }
        }
        (self.p.len() == before).then_some(out)
    }

    /// An HPA policy.
    fn hpa(&mut self, f: &str, node: &At<Node>, ctx: &HpaContext) -> Option<PolicyKind> {
        hpa_spec::spec(node, f, ctx, &mut self.p).map(|s| PolicyKind::Hpa(Box::new(s)))
    }

    /// The oracle's options and defaults.
    fn oracle(
        &mut self,
        f: &str,
        raw: At<RawOracle>,
        startup: Option<&Dist>,
    ) -> Option<PolicyKind> {
        let o = raw.value;
        let before = self.p.len();
        let lookahead = match &o.lookahead {
            Some(l) => self.duration(&format!("{f}.lookahead"), l),
            None => startup.map(|s| s.upper().min(LOOKAHEAD_MARGIN)),
        }
        .unwrap_or(0.0);
        if lookahead > LOOKAHEAD_MARGIN {
            self.p.push(
                o.lookahead.as_ref().map_or(raw.line, |l| l.line),
                format!("{f}.lookahead"),
                format!(
                    "must be at most {} (got {})",
                    format_duration(LOOKAHEAD_MARGIN),
                    format_duration(lookahead)
                ),
            );
        }
        let utilization = o.utilization.map_or(ORACLE_UTILIZATION, |u| {
            if !(u.value > 0.0 && u.value <= 1.0) {
                self.p.push(
                    u.line,
                    format!("{f}.utilization"),
                    "must be greater than 0 and at most 1",
                );
            }
            u.value
        });
        let min = match &o.min_replicas {
            Some(m) => self.count(&format!("{f}.min_replicas"), m, 1, MAX_REPLICAS),
            None => Some(1),
        };
        let max = match &o.max_replicas {
            Some(m) => self.count(&format!("{f}.max_replicas"), m, 1, MAX_REPLICAS),
            None => Some(ORACLE_MAX_REPLICAS),
        };
        if let (Some(min), Some(max)) = (min, max)
            && max < min
        {
            self.p.push(
                o.max_replicas.as_ref().map_or(raw.line, |m| m.line),
                format!("{f}.max_replicas"),
                format!("must not be less than min_replicas ({min})"),
            );
        }
        (self.p.len() == before).then_some(PolicyKind::Oracle(Oracle {
            lookahead,
            utilization,
            min_replicas: min?,
            max_replicas: max?,
        }))
    }
}

/// Whether `s` is a lowercase RFC 1123 DNS label.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
