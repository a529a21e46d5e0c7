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
//!
//! # How the figures are computed
//!
//! Quantiles come from log-bucket histograms (private `hist` module): the
//! run-wide ones with 64 buckets per octave (relative error at most
//! 0.78 %), the timeline's with 8 per octave per tick (at most 6.25 %).
//! Wait histograms use the SLO as their unit, so the SLO is a bucket
//! boundary and "over the SLO" is judged exactly (a wait exactly at the
//! limit counts as over; for continuous waits that has probability zero).
//! A quantile is the middle of the bucket holding the `ceil(q n)`-th
//! smallest value. Memory: two run-wide histograms (40 KB) and one small
//! histogram per tick (776 bytes: 13 MB for a day at 5 s ticks),
//! whatever the number of requests; each request costs three bucket
//! increments.
//!
//! - `slo_held`: the run-wide wait at the SLO quantile is at most the SLO.
//! - `seconds_over_slo`: the length of the ticks whose trailing-`window`
//!   wait quantile (requests that *arrived* in the window, tick-aligned:
//!   `round(window / tick)` ticks) exceeds the SLO; windows where nothing
//!   arrived are not over.
//! - Flaps: a change of direction (up after down or down after up) less
//!   than [`FLAP_WINDOW`] after the previous change.
//! - A tick without a sample (a live run that missed one) repeats the
//!   previous tick's sample.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

mod hist;
mod recorder;

pub use recorder::{DEFAULT_WINDOW, Recorder};

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
    /// Pods that exist (starting, ready, or deleted and still draining: the
    /// pods that cost).
    pub replicas: u32,
    /// Pods ready to take work.
    pub ready_replicas: u32,
    /// The SLO quantile of queue wait of requests that arrived in the tick
    /// (NaN when none arrived; `null` in JSON).
    #[serde(with = "nan_as_null")]
    pub wait_quantile: f64,
    /// The same over the trailing [`Recorder::window`] (what "over the SLO" is judged on).
    #[serde(with = "nan_as_null")]
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

/// The CSV columns of [`Run::write_csv`], in order.
pub const CSV_HEADER: &str = "t,arrival_rate,expected_rate,queue_depth,oldest_age,inflight,desired_replicas,replicas,ready_replicas,wait_quantile,wait_quantile_window,cpu_utilization,memory_utilization";

/// A float for CSV: shortest round-trip text, empty for NaN.
fn csv_f64(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        x.to_string()
    }
}

impl Run {
    /// The timeline as CSV: a [`CSV_HEADER`] line, then one row per tick
    /// (NaN as an empty field).
    pub fn write_csv<W: Write>(&self, mut w: W) -> io::Result<()> {
        writeln!(w, "{CSV_HEADER}")?;
        for t in &self.timeline {
            writeln!(
                w,
                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_f64(t.t),
                csv_f64(t.arrival_rate),
                csv_f64(t.expected_rate),
                csv_f64(t.queue_depth),
                csv_f64(t.oldest_age),
                csv_f64(t.inflight),
                t.desired_replicas,
                t.replicas,
                t.ready_replicas,
                csv_f64(t.wait_quantile),
                csv_f64(t.wait_quantile_window),
                csv_f64(t.cpu_utilization),
                csv_f64(t.memory_utilization),
            )?;
        }
        w.flush()
    }
}

/// Serde for a float that may be NaN: NaN is written as `null` (JSON has
/// no NaN) and `null` read back as NaN.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `x`, or `null` for NaN.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*x)
        }
    }

    /// Reads a number, or NaN for `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
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

#[cfg(test)]
mod tests;
