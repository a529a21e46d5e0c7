//! What a run produced, in one shape for `simulate`, `live` and `tune`: the
//! time series a report plots and the figures a recommendation compares.
//!
//! The drivers (the discrete-event simulator and the live run) feed a
//! [`Recorder`]: every request once it is done (or still waiting when the
//! run ends), one [`Sample`] per tick, and every scale event. `finish`
//! turns that into a [`Run`].
//!
//! Waits are attributed to the tick a request *arrived* in, so "p95 wait
//! over time" says how long a request arriving then waited, including the
//! ones still queued when the run ended (counted as waiting until the end:
//! a lower bound).

use serde::{Deserialize, Serialize};

/// One run of one service under one policy and one trace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// What ran.
    pub meta: RunMeta,
    /// One row per tick.
    pub timeline: Vec<Tick>,
    /// The figures.
    pub summary: Summary,
    /// Every change of the desired replica count.
    pub events: Vec<ScaleEvent>,
}

/// What ran, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunMeta {
    /// `simulate` or `live`.
    pub mode: String,
    /// Scenario origin (file).
    pub scenario: String,
    /// Service name.
    pub service: String,
    /// Policy name.
    pub policy: String,
    /// Run trace name.
    pub trace: String,
    /// Seed of the random draws.
    pub seed: u64,
    /// Seconds simulated or run.
    pub horizon: f64,
    /// Seconds per tick of `timeline`.
    pub tick: f64,
    /// The SLO: this quantile of queue wait ...
    pub slo_quantile: f64,
    /// ... at most this many seconds.
    pub slo_queue_wait: f64,
}

/// One tick of the timeline (values at its end unless said otherwise).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Tick {
    /// Seconds since the start (end of the tick).
    pub t: f64,
    /// Requests that arrived during the tick, per second.
    pub arrival_rate: f64,
    /// Requests the trace expected per second (its rate curve).
    pub expected_rate: f64,
    /// Requests waiting in the queue.
    pub queue_depth: f64,
    /// Age of the oldest waiting request, seconds (0 when none).
    pub oldest_age: f64,
    /// Requests in service.
    pub inflight: f64,
    /// Replicas the autoscaler asked for.
    pub desired_replicas: u32,
    /// Pods that exist (starting or ready).
    pub replicas: u32,
    /// Pods ready to take work.
    pub ready_replicas: u32,
    /// The SLO quantile of queue wait of requests that arrived in the tick
    /// (NaN when none arrived).
    pub wait_quantile: f64,
    /// The same over the trailing [`Recorder::window`] (what "over the SLO" is judged on).
    pub wait_quantile_window: f64,
    /// Mean CPU utilization of ready pods against their request (0.7 = 70 %).
    pub cpu_utilization: f64,
    /// Mean memory utilization of ready pods against their request.
    pub memory_utilization: f64,
}

/// The figures of a run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Requests that arrived.
    pub requests: u64,
    /// Requests finished before the end.
    pub completed: u64,
    /// Queue wait p50, seconds (every request; unfinished ones count as
    /// waiting until the end).
    pub wait_p50: f64,
    /// Queue wait p95.
    pub wait_p95: f64,
    /// Queue wait p99.
    pub wait_p99: f64,
    /// Queue wait at the SLO's quantile.
    pub wait_slo_quantile: f64,
    /// End-to-end latency (wait + service) p50 of completed requests.
    pub latency_p50: f64,
    /// End-to-end latency p95.
    pub latency_p95: f64,
    /// End-to-end latency p99.
    pub latency_p99: f64,
    /// Seconds during which the trailing-window wait quantile was over the SLO.
    pub seconds_over_slo: f64,
    /// Whether the run held the SLO: the whole run's wait quantile within it.
    pub slo_held: bool,
    /// Pod-seconds of every pod that existed (starting or ready): the cost.
    pub replica_seconds: f64,
    /// Most pods at once.
    pub peak_replicas: u32,
    /// Times the desired count went up.
    pub scale_ups: u32,
    /// Times it went down.
    pub scale_downs: u32,
    /// Direction reversals within [`FLAP_WINDOW`] of the previous change.
    pub flaps: u32,
}

/// A change of the desired replica count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScaleEvent {
    /// Seconds since the start.
    pub t: f64,
    /// Desired replicas before.
    pub from: u32,
    /// After.
    pub to: u32,
    /// Why (the autoscaler's reason or condition), for reports.
    pub reason: String,
}

/// What the driver reports once per tick.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Requests the trace expected per second at this time.
    pub expected_rate: f64,
    /// Requests waiting.
    pub queue_depth: f64,
    /// Age of the oldest waiting request, seconds.
    pub oldest_age: f64,
    /// Requests in service.
    pub inflight: f64,
    /// Desired replicas.
    pub desired_replicas: u32,
    /// Pods that exist.
    pub replicas: u32,
    /// Pods ready.
    pub ready_replicas: u32,
    /// Mean CPU utilization of ready pods (fraction of the request).
    pub cpu_utilization: f64,
    /// Mean memory utilization of ready pods.
    pub memory_utilization: f64,
}

/// A reversal of scaling direction sooner than this after the previous
/// change counts as a flap, seconds.
pub const FLAP_WINDOW: f64 = 300.0;

/// Collects a run as it happens; see the module docs. (Implementation: the
/// simulator's author.)
pub struct Recorder {
    /// Trailing window, seconds, over which `wait_quantile_window` and
    /// "seconds over the SLO" are judged (default 60 s).
    pub window: f64,
}

/// A `tune` sweep: candidate HPA specs run in simulation over one or more
/// traces, and which one is recommended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sweep {
    /// Scenario origin.
    pub scenario: String,
    /// The service tuned.
    pub service: String,
    /// The traces every candidate ran.
    pub traces: Vec<String>,
    /// The SLO's quantile ...
    pub slo_quantile: f64,
    /// ... and limit, seconds.
    pub slo_queue_wait: f64,
    /// Every candidate, in the order expanded.
    pub candidates: Vec<CandidateResult>,
    /// Index into `candidates` of the recommendation: the cheapest that holds
    /// the SLO on every trace (`None` when none does).
    pub recommended: Option<usize>,
    /// The oracle's figures per trace (same order as `traces`), the limit
    /// costs are compared with.
    pub oracle: Vec<Summary>,
}

/// One candidate of a sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateResult {
    /// Name, e.g. `queue-depth/target=10/up=fast/window=5m`.
    pub name: String,
    /// The autoscaling/v2 HPA `spec`, as JSON.
    pub spec: serde_json::Value,
    /// Figures per trace (same order as [`Sweep::traces`]).
    pub per_trace: Vec<Summary>,
    /// Whether it held the SLO on every trace.
    pub holds_slo: bool,
    /// Replica-seconds summed over the traces.
    pub cost: f64,
    /// The worst wait at the SLO quantile over the traces.
    pub worst_wait: f64,
}
