//! The scenario file: what traffic reaches which services, how the services
//! behave, and which HPA policies to compare.
//!
//! One file drives `simulate` (virtual time), `live` (a real redis-server and
//! the real adapter) and `tune` (a sweep of a policy family). It is parsed
//! with serde-saphyr into `raw` structs whose fields carry their line, then
//! validated into [`Scenario`]. Every problem is reported with the file, the
//! line and the field path, all at once, and nothing starts on a bad file:
//!
//! ```text
//! scenario.yaml:14: services[0].service_time.p95: must be greater than p50 (2s)
//! ```
//!
//! Unknown fields are errors everywhere, including inside the HPA specs.
//!
//! # Units
//!
//! - Durations: a number of seconds or a string like `500ms`, `60s`, `5m`,
//!   `1h30m`, `24h` (`m` is minutes; see [`units`]).
//! - CPU and memory: Kubernetes quantities (`250m`, `1`, `256Mi`).
//! - Rates: requests per second, plain numbers.
//!
//! # Schema
//!
//! ```yaml
//! seed: 42                      # default 1; every random draw derives from it
//! traces:                       # named; a run plays one or several by name
//!   spike:
//!     type: spike               # constant | step | spike | diurnal | bursts | replay
//!     duration: 45m             # run length (replay: defaults to the last point)
//!     base: 10                  # spike: req/s outside the spike
//!     peak: 60                  #        req/s at the top
//!     start: 5m                 #        ramp-up starts
//!     ramp: 60s                 #        ramp-up length (0: a jump)
//!     hold: 10m                 #        time at the peak
//!     ramp_down: 0s             #        optional, default 0 (back at once)
//!     noise: {cv: 0.1, interval: 60s}   # optional, any type (see crate::trace)
//!   flat:    {type: constant, rate: 20, duration: 1h}
//!   steps:   {type: step, duration: 30m, steps: [{at: 0, rate: 5}, {at: 10m, rate: 30}]}
//!   day:     {type: diurnal, min: 2, max: 40, period: 24h, peak_at: 12h, duration: 24h}
//!   bursty:  {type: bursts, base: 5, every: 10m, size: 600, length: 30s, duration: 2h}
//!   monday:  {type: replay, file: monday.csv}     # time_seconds,rate lines; relative
//!   inline:  {type: replay, points: [[0, 5], [60s, 20]], duration: 5m}  # to this file
//! services:
//!   - name: gateway
//!     queue:
//!       type: stream            # list | stream | zset
//!       key: "llm:gateway"      # Redis key
//!       name: gateway           # the adapter's queue name (label `queue`)
//!       group: gateway-workers  # stream: consumer group (required)
//!       # zset: score_unit: seconds | milliseconds (default seconds),
//!       #       delay: <distribution> of how far ahead jobs are scheduled (default 0)
//!     traffic:                  # optional
//!       scale: 1.0              # multiplies the run's trace (default 1)
//!       traces: {spike: gateway-spike}   # use another trace when the run plays `spike`
//!     requests: {cpu: 250m, memory: 256Mi}   # the pod's resource requests
//!     service_time:             # seconds per request (one LLM call)
//!       type: lognormal         # constant {value} | uniform {min, max}
//!       p50: 2s                 # | exponential {mean} | lognormal {p50, p95}
//!       p95: 8s
//!       # optional growth: + per_token seconds for each drawn token
//!       # per_token: 10ms
//!       # tokens: {type: lognormal, p50: 300, p95: 1200}   # counts, not durations
//!     inflight_per_pod: 8       # concurrent requests one pod serves
//!     cpu_per_request: 4ms      # CPU time per request (the pod mostly waits)
//!     idle_cpu: 15m             # cores a pod uses doing nothing
//!     memory_per_pod: 180Mi     # memory of an idle pod
//!     memory_per_inflight: 8Mi  # plus this per request in flight
//!     startup: {type: uniform, min: 20s, max: 60s}   # created -> ready
//!     slo: {queue_wait: 15s, quantile: 0.95}         # quantile default 0.95
//!     initial_replicas: 2       # optional; default: each policy's minimum
//!     policies:                 # named; each `hpa:` or `oracle:`
//!       cpu-memory:
//!         description: today's rule        # optional
//!         hpa:                  # an autoscaling/v2 HorizontalPodAutoscalerSpec;
//!           minReplicas: 2      # scaleTargetRef defaults to Deployment <service>
//!           maxReplicas: 10
//!           metrics:
//!             - type: Resource
//!               resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
//!       oracle:
//!         oracle: {}            # lookahead (default: startup's max or p99),
//!                               # utilization (0.85), min_replicas (1), max_replicas (1000)
//! tune:                         # optional: a policy family to sweep
//!   base: queue-depth           # a policy (hpa) present in every tuned service
//!   services: [gateway]         # default: all
//!   traces: [spike, day]        # default: all
//!   metric: queue_depth         # whose target `targets` varies
//!   targets: [5, 10, 20]
//!   min_replicas: [1, 2]
//!   max_replicas: [40]
//!   scale_up: {fast: {stabilizationWindowSeconds: 0, policies: [{type: Percent, value: 100, periodSeconds: 15}]}}
//!   scale_down: {gentle: {policies: [{type: Percent, value: 10, periodSeconds: 60}]}}
//!   scale_down_window: [60s, 5m]
//! ```
//!
//! HPA metrics must be ones the simulator models: `Resource` (cpu, memory)
//! or `External` metrics the adapter serves (`queue_depth`, `queue_pending`,
//! `queue_oldest_age_seconds` with `matchLabels.queue` naming a queue of the
//! scenario; `service_latency_seconds` with `service` and `quantile`,
//! `service_request_rate`, `service_inflight` with `service`).

use std::fmt;
use std::path::Path;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec;

use crate::dist::{Dist, ServiceTime, derive_seed};
use crate::trace::{Profile, Trace};

mod hpa_spec;
mod raw;
mod shapes;
mod tune;
pub mod units;
mod validate;

pub use hpa_spec::{QUEUE_METRICS, SERVICE_METRICS};
pub use tune::{Candidate, Tune};

/// The default scenario (`load-tests/scenarios/default.yaml`), built in.
pub const DEFAULT_SCENARIO: &str = include_str!("../scenarios/default.yaml");

/// Seconds of trace a [`Scenario::profile`] holds beyond the run, for
/// look-ahead (the oracle's is capped at this).
pub const LOOKAHEAD_MARGIN: f64 = 3600.0;

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// Path as given.
        path: String,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the schema (unknown field,
    /// wrong type, missing field).
    #[error("{}", syntax_message(origin, *line, field.as_deref(), message))]
    Syntax {
        /// File name (or the name given to [`Scenario::from_str`]).
        origin: String,
        /// Line of the problem, when known.
        line: Option<u64>,
        /// Field path of the key on that line, when found.
        field: Option<String>,
        /// serde-saphyr's message.
        message: String,
    },
    /// The file fits the schema but values are invalid; every problem found.
    #[error("{}", problems.iter().map(|p| format!("{origin}:{p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// File name.
        origin: String,
        /// The problems, in file order.
        problems: Vec<Problem>,
    },
    /// A run asked for a trace the scenario does not define.
    #[error("no trace {name:?} in the scenario (traces: {known})")]
    UnknownTrace {
        /// The name asked for.
        name: String,
        /// The names there are, comma-separated.
        known: String,
    },
    /// A run asked for a service the scenario does not define.
    #[error("no service {name:?} in the scenario (services: {known})")]
    UnknownService {
        /// The name asked for.
        name: String,
        /// The names there are, comma-separated.
        known: String,
    },
}

/// One validation problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the file.
    pub line: u64,
    /// Field path, like `services[0].startup.max`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.line, self.field, self.message)
    }
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it came from (file path or given name), for messages.
    pub origin: String,
    /// Seed of every random draw (derived per service and trace).
    pub seed: u64,
    /// Named traces, in file order.
    pub traces: Vec<Trace>,
    /// The services, in file order.
    pub services: Vec<Service>,
    /// The policy family `tune` sweeps, if any.
    pub tune: Option<Tune>,
}

/// One service: its queue, its traffic, its pods and the policies compared.
#[derive(Debug, Clone)]
pub struct Service {
    /// Name; also the Deployment name and the adapter's `service` label.
    pub name: String,
    /// The queue it consumes.
    pub queue: Queue,
    /// How the run's trace maps to this service's arrivals.
    pub traffic: Traffic,
    /// The pod's resource requests (what utilization is measured against).
    pub requests: Resources,
    /// Seconds per request (one LLM call).
    pub service_time: ServiceTime,
    /// Requests one pod serves at once.
    pub inflight_per_pod: u32,
    /// CPU-seconds per request (small: the pod waits on the model).
    pub cpu_per_request: f64,
    /// Cores a ready pod uses with nothing in flight.
    pub idle_cpu: f64,
    /// Bytes a ready pod uses with nothing in flight.
    pub memory_per_pod: f64,
    /// Bytes added per request in flight.
    pub memory_per_inflight: f64,
    /// Seconds from pod creation to ready (scheduling, image, warm-up).
    pub startup: Dist,
    /// The latency objective policies are judged by.
    pub slo: Slo,
    /// Replicas at the start; `None`: each policy's minimum.
    pub initial_replicas: Option<u32>,
    /// The policies to compare, in file order.
    pub policies: Vec<Policy>,
}

/// A Redis queue a service consumes.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// Data structure.
    pub kind: QueueKind,
    /// Redis key.
    pub key: String,
    /// Name the adapter serves it as (label `queue`).
    pub name: String,
}

/// Redis data structure of a queue.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueKind {
    /// LPUSH/BRPOP list (no timestamps: no oldest age).
    List,
    /// Stream read by a consumer group (pending entries, oldest age).
    Stream {
        /// The consumer group.
        group: String,
    },
    /// Delayed jobs: a zset scored by due time; a job can be taken once
    /// due (its arrival plus a drawn delay), and its queue wait counts from
    /// then. The adapter counts the due jobs (`max_score: now`).
    Zset {
        /// Unit of the scores.
        score_unit: ScoreUnit,
        /// How far after its arrival a job is due, in seconds.
        delay: Dist,
    },
}

impl QueueKind {
    /// The name used in the file's `type:`.
    pub fn type_name(&self) -> &'static str {
        match self {
            QueueKind::List => "list",
            QueueKind::Stream { .. } => "stream",
            QueueKind::Zset { .. } => "zset",
        }
    }

    /// Whether the adapter serves `queue_pending` for it.
    pub fn has_pending(&self) -> bool {
        matches!(self, QueueKind::Stream { .. })
    }

    /// Whether the adapter serves `queue_oldest_age_seconds` for it.
    pub fn has_oldest_age(&self) -> bool {
        !matches!(self, QueueKind::List)
    }
}

/// Unit of zset scores (unix time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreUnit {
    /// Unix seconds.
    Seconds,
    /// Unix milliseconds.
    Milliseconds,
}

/// How a run's trace becomes this service's arrivals.
#[derive(Debug, Clone, PartialEq)]
pub struct Traffic {
    /// Multiplies the trace's rate.
    pub scale: f64,
    /// `(run trace, trace this service plays instead)`.
    pub traces: Vec<(String, String)>,
}

/// Resource requests of a pod.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resources {
    /// Cores.
    pub cpu: f64,
    /// Bytes.
    pub memory: f64,
}

/// A queue-wait objective: the `quantile` of queue wait at most `queue_wait`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    /// Which quantile (0.95 for p95).
    pub quantile: f64,
    /// Its limit, seconds.
    pub queue_wait: f64,
}

/// A named policy to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Name, unique within the service.
    pub name: String,
    /// Free text for reports.
    pub description: Option<String>,
    /// The HPA spec or the oracle.
    pub kind: PolicyKind,
}

/// What decides the replica count.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyKind {
    /// A Kubernetes HPA with this spec. Guaranteed by validation: at least
    /// one metric; every metric `Resource` (cpu or memory; `Utilization` or
    /// `AverageValue`) or `External` (an adapter metric with `matchLabels`
    /// naming a queue or service of the scenario, plus `quantile` for
    /// `service_latency_seconds`; `Value` or `AverageValue`); the target
    /// field matching the target type; `scaleTargetRef` set.
    Hpa(Box<HorizontalPodAutoscalerSpec>),
    /// The clairvoyant limit.
    Oracle(Oracle),
}

/// The oracle: knows the arrival rate ahead and provisions for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Oracle {
    /// How far ahead it looks, seconds: one start-up delay.
    pub lookahead: f64,
    /// Fraction of in-flight slots it plans to keep busy.
    pub utilization: f64,
    /// Fewest replicas.
    pub min_replicas: u32,
    /// Most replicas.
    pub max_replicas: u32,
}

impl Service {
    /// The policy named `name`.
    pub fn policy(&self, name: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// The trace this service plays when the run plays `run_trace`.
    pub fn trace_for<'a>(&'a self, run_trace: &'a str) -> &'a str {
        self.traffic
            .traces
            .iter()
            .find(|(run, _)| run == run_trace)
            .map_or(run_trace, |(_, own)| own.as_str())
    }

    /// Cores one ready pod uses while completing `completions_per_second`.
    pub fn pod_cpu(&self, completions_per_second: f64) -> f64 {
        self.idle_cpu + self.cpu_per_request * completions_per_second
    }

    /// Bytes one ready pod uses with `inflight` requests in flight.
    pub fn pod_memory(&self, inflight: f64) -> f64 {
        self.memory_per_pod + self.memory_per_inflight * inflight
    }
}

impl Scenario {
    /// Reads and validates a scenario file. Replay CSV paths are relative to
    /// the file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::from_str(&text, &path.display().to_string())
    }

    /// Parses and validates scenario text; `origin` names it in messages,
    /// and its directory (if it has one) anchors relative replay paths.
    pub fn from_str(text: &str, origin: &str) -> Result<Scenario, Error> {
        validate::parse(text, origin)
    }

    /// The built-in default scenario ([`DEFAULT_SCENARIO`]; always valid,
    /// which a test checks).
    pub fn default_scenario() -> Result<Scenario, Error> {
        Scenario::from_str(DEFAULT_SCENARIO, "default.yaml")
    }

    /// The trace named `name`.
    pub fn trace(&self, name: &str) -> Result<&Trace, Error> {
        self.traces
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::UnknownTrace {
                name: name.to_string(),
                known: names(self.traces.iter().map(|t| &t.name)),
            })
    }

    /// The service named `name`.
    pub fn service(&self, name: &str) -> Result<&Service, Error> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::UnknownService {
                name: name.to_string(),
                known: names(self.services.iter().map(|s| &s.name)),
            })
    }

    /// The arrival profile of `service` when the run plays `run_trace` with
    /// `seed`: the service's trace for it, scaled, realised over the run
    /// plus [`LOOKAHEAD_MARGIN`]. Its arrivals ([`Profile::arrivals`]) are
    /// seeded too, per service and trace, so services are independent and
    /// a run repeats.
    pub fn profile(&self, service: &Service, run_trace: &str, seed: u64) -> Result<Profile, Error> {
        let run = self.trace(run_trace)?;
        let own = self.trace(service.trace_for(run_trace))?;
        let seed = derive_seed(seed, &format!("{}/{}", service.name, run_trace));
        Ok(own.profile(run.duration + LOOKAHEAD_MARGIN, service.traffic.scale, seed))
    }

    /// The concrete HPA specs `tune` sweeps for `service` (empty without a
    /// `tune:` section or if the service is not tuned).
    pub fn tune_candidates(&self, service: &Service) -> Vec<Candidate> {
        let Some(t) = &self.tune else {
            return Vec::new();
        };
        if !t.services.contains(&service.name) {
            return Vec::new();
        }
        match service.policy(&t.base).map(|p| &p.kind) {
            Some(PolicyKind::Hpa(spec)) => t.expand(spec),
            _ => Vec::new(),
        }
    }
}

/// `origin:line: field: message`, leaving out what is unknown.
fn syntax_message(origin: &str, line: Option<u64>, field: Option<&str>, message: &str) -> String {
    let mut out = origin.to_string();
    if let Some(line) = line {
        out.push_str(&format!(":{line}"));
    }
    if let Some(field) = field {
        out.push_str(&format!(": {field}"));
    }
    format!("{out}: {message}")
}

/// Names joined for messages.
fn names<'a>(it: impl Iterator<Item = &'a String>) -> String {
    it.map(String::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
