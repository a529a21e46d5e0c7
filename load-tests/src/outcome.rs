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

use hist::{Hist, Layout};

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

/// Default of [`Recorder::window`], seconds.
pub const DEFAULT_WINDOW: f64 = 60.0;

/// Collects a run as it happens; see the module docs.
///
/// ```
/// use qma_load::outcome::{Recorder, RunMeta, Sample};
/// let meta = RunMeta {
///     mode: "simulate".into(), scenario: "s".into(), service: "svc".into(),
///     policy: "p".into(), trace: "t".into(), seed: 1, horizon: 10.0,
///     tick: 5.0, slo_quantile: 0.95, slo_queue_wait: 15.0,
/// };
/// let mut rec = Recorder::new(meta);
/// rec.arrival(1.0);
/// rec.request(1.0, 1.5, 3.0);
/// rec.sample(5.0, Sample { replicas: 1, ..Sample::default() });
/// rec.sample(10.0, Sample { replicas: 1, ..Sample::default() });
/// rec.pod_seconds(10.0);
/// let run = rec.finish();
/// assert_eq!(run.timeline.len(), 2);
/// assert!(run.summary.slo_held);
/// ```
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Trailing window, seconds, over which `wait_quantile_window` and
    /// "seconds over the SLO" are judged (default 60 s).
    pub window: f64,
    /// What runs.
    meta: RunMeta,
    /// Seconds per tick (positive).
    tick: f64,
    /// `1 / tick`.
    inv_tick: f64,
    /// Seconds of the run (positive).
    horizon: f64,
    /// The SLO's wait limit (positive; the wait histograms' unit).
    slo: f64,
    /// Ticks in the timeline.
    n_ticks: usize,
    /// Arrivals per tick.
    arrivals: Vec<u32>,
    /// The sample taken at each tick's end.
    samples: Vec<Option<Sample>>,
    /// Per tick: waits counted, and those below the SLO (what "over the
    /// SLO" is judged on, exactly).
    tick_counts: Vec<[u32; 2]>,
    /// Whether a timeline is kept ([`Recorder::summary_only`] keeps none).
    timeline: bool,
    /// Per-tick wait histograms, tick-major (`n_ticks * coarse.len()`;
    /// empty without a timeline).
    tick_waits: Vec<u32>,
    /// Bucketing of `tick_waits`.
    coarse: Layout,
    /// Run-wide queue waits.
    waits: Hist,
    /// Run-wide end-to-end latencies of completed requests.
    latencies: Hist,
    /// Arrivals.
    requests: u64,
    /// Completed requests.
    completed: u64,
    /// Scale events so far.
    events: Vec<ScaleEvent>,
    /// Pod-seconds so far.
    replica_seconds: f64,
    /// Most pods seen at once.
    peak: u32,
}

/// A usable positive length, or `default`.
fn positive_or(x: f64, default: f64) -> f64 {
    if x.is_finite() && x > 0.0 { x } else { default }
}

impl Recorder {
    /// A recorder for the run `meta` describes: ticks of `meta.tick`
    /// seconds over `meta.horizon` (a tick or horizon that is not a
    /// positive number is taken as 5 s), the SLO from `meta`, a
    /// [`DEFAULT_WINDOW`] trailing window.
    pub fn new(meta: RunMeta) -> Recorder {
        let tick = positive_or(meta.tick, 5.0);
        let horizon = positive_or(meta.horizon, tick);
        // The last tick may be short; a float just above a multiple of the
        // tick does not open a tick of its own.
        let n_ticks = ((horizon / tick - 1e-9).ceil() as usize).max(1);
        let slo = positive_or(meta.slo_queue_wait, 1.0);
        let coarse = hist::coarse(slo);
        Recorder {
            window: DEFAULT_WINDOW,
            tick,
            inv_tick: 1.0 / tick,
            horizon,
            slo,
            n_ticks,
            arrivals: vec![0; n_ticks],
            samples: vec![None; n_ticks],
            tick_counts: vec![[0; 2]; n_ticks],
            timeline: true,
            tick_waits: vec![0; n_ticks * coarse.len()],
            coarse,
            waits: Hist::new(hist::fine(slo)),
            latencies: Hist::new(hist::fine(1.0)),
            requests: 0,
            completed: 0,
            events: Vec::new(),
            replica_seconds: 0.0,
            peak: 0,
            meta,
        }
    }

    /// A recorder of the figures only: the [`Run`] it gives has an empty
    /// timeline and the same [`Summary`] (a sweep keeps nothing else, and
    /// saves the per-tick histograms: 13 MB for a day).
    pub fn summary_only(meta: RunMeta) -> Recorder {
        let mut rec = Recorder::new(meta);
        rec.timeline = false;
        rec.tick_waits = Vec::new();
        rec.samples = Vec::new();
        rec.arrivals = Vec::new();
        rec
    }

    /// The run being recorded.
    pub fn meta(&self) -> &RunMeta {
        &self.meta
    }

    /// The tick holding time `t` (clamped to the timeline).
    #[inline]
    fn tick_of(&self, t: f64) -> usize {
        let k = (t * self.inv_tick) as usize; // NaN and negatives give 0
        k.min(self.n_ticks - 1)
    }

    /// Counts a wait in the per-tick and run-wide histograms.
    #[inline]
    fn wait(&mut self, arrived: f64, wait: f64) {
        let k = self.tick_of(arrived);
        let c = &mut self.tick_counts[k];
        c[0] += 1;
        c[1] += u32::from(self.coarse.below_unit(wait));
        if self.timeline {
            let b = self.coarse.index(wait);
            self.tick_waits[k * self.coarse.len() + b] += 1;
        }
        self.waits.add(wait);
    }

    /// A request arrived at `t` seconds.
    #[inline]
    pub fn arrival(&mut self, t: f64) {
        if self.timeline {
            let k = self.tick_of(t);
            self.arrivals[k] = self.arrivals[k].saturating_add(1);
        }
        self.requests += 1;
    }

    /// A request that arrived (became takeable) at `arrived`, was taken at
    /// `started` and finished at `finished`, seconds.
    #[inline]
    pub fn request(&mut self, arrived: f64, started: f64, finished: f64) {
        self.wait(arrived, (started - arrived).max(0.0));
        self.latencies.add((finished - arrived).max(0.0));
        self.completed += 1;
    }

    /// A request still waiting (`started: None`) or in service when the run
    /// ended: its wait counts until the horizon, or until it started.
    pub fn unfinished(&mut self, arrived: f64, started: Option<f64>) {
        let until = started.unwrap_or(self.horizon);
        self.wait(arrived, (until - arrived).max(0.0));
    }

    /// The state at the end of the tick ending at `t` (the tick whose end
    /// is the first at or after `t`, with a little slack for float error).
    pub fn sample(&mut self, t: f64, sample: Sample) {
        self.peak = self.peak.max(sample.replicas);
        if !self.timeline {
            return;
        }
        let k = ((t / self.tick - 1e-6).ceil() as usize).saturating_sub(1);
        let k = k.min(self.n_ticks - 1);
        self.samples[k] = Some(sample);
    }

    /// Notes `n` pods existing at once (for the peak, which per-tick
    /// samples alone can miss).
    pub fn replicas(&mut self, n: u32) {
        self.peak = self.peak.max(n);
    }

    /// The desired replica count changed at `t` from `from` to `to`.
    pub fn scale(&mut self, t: f64, from: u32, to: u32, reason: &str) {
        self.events.push(ScaleEvent {
            t,
            from,
            to,
            reason: reason.to_string(),
        });
    }

    /// Adds pod lifetime (the cost), seconds.
    pub fn pod_seconds(&mut self, seconds: f64) {
        if seconds.is_finite() && seconds > 0.0 {
            self.replica_seconds += seconds;
        }
    }

    /// The run: timeline, summary and events.
    pub fn finish(self) -> Run {
        let q = self.meta.slo_quantile;
        let slo = self.slo;
        let nb = self.coarse.len();
        let window_ticks =
            ((positive_or(self.window, DEFAULT_WINDOW) / self.tick).round() as usize).max(1);
        let mut seconds_over_slo = 0.0;
        // Over the SLO: fewer waits below it than the quantile's rank (the
        // SLO is a bucket boundary, so this is what the window histogram's
        // quantile says, exactly).
        let mut window = [0u64; 2];
        let mut over = Vec::with_capacity(self.n_ticks);
        for k in 0..self.n_ticks {
            let start = k as f64 * self.tick;
            let end = ((k + 1) as f64 * self.tick).min(self.horizon);
            let [n, below] = self.tick_counts[k];
            window[0] += u64::from(n);
            window[1] += u64::from(below);
            if k >= window_ticks {
                let [n, below] = self.tick_counts[k - window_ticks];
                window[0] -= u64::from(n);
                window[1] -= u64::from(below);
            }
            let is_over = window[0] > 0 && window[1] < rank(q, window[0]);
            if is_over {
                seconds_over_slo += end - start;
            }
            over.push(is_over);
        }
        let mut timeline = Vec::with_capacity(if self.timeline { self.n_ticks } else { 0 });
        let mut rolling = vec![0u64; if self.timeline { nb } else { 0 }];
        let mut last = Sample::default();
        for k in (0..self.n_ticks).filter(|_| self.timeline) {
            let start = k as f64 * self.tick;
            let end = ((k + 1) as f64 * self.tick).min(self.horizon);
            let len = (end - start).max(f64::MIN_POSITIVE);
            let row = &self.tick_waits[k * nb..(k + 1) * nb];
            for (r, &c) in rolling.iter_mut().zip(row) {
                *r += u64::from(c);
            }
            if k >= window_ticks {
                let old = &self.tick_waits[(k - window_ticks) * nb..(k - window_ticks + 1) * nb];
                for (r, &c) in rolling.iter_mut().zip(old) {
                    *r -= u64::from(c);
                }
            }
            let wq = self.coarse.quantile(row, q).unwrap_or(f64::NAN);
            let wqw = self.coarse.quantile(&rolling, q).unwrap_or(f64::NAN);
            debug_assert_eq!(wqw > slo, over[k], "tick {k}");
            if let Some(s) = self.samples[k] {
                last = s;
            }
            timeline.push(Tick {
                t: end,
                arrival_rate: f64::from(self.arrivals[k]) / len,
                expected_rate: last.expected_rate,
                queue_depth: last.queue_depth,
                oldest_age: last.oldest_age,
                inflight: last.inflight,
                desired_replicas: last.desired_replicas,
                replicas: last.replicas,
                ready_replicas: last.ready_replicas,
                wait_quantile: wq,
                wait_quantile_window: wqw,
                cpu_utilization: last.cpu_utilization,
                memory_utilization: last.memory_utilization,
            });
        }
        let wait = |p: f64| self.waits.quantile(p).unwrap_or(0.0);
        let latency = |p: f64| self.latencies.quantile(p).unwrap_or(0.0);
        let (scale_ups, scale_downs, flaps) = count_changes(&self.events);
        let wait_slo_quantile = wait(q);
        let summary = Summary {
            requests: self.requests,
            completed: self.completed,
            wait_p50: wait(0.5),
            wait_p95: wait(0.95),
            wait_p99: wait(0.99),
            wait_slo_quantile,
            latency_p50: latency(0.5),
            latency_p95: latency(0.95),
            latency_p99: latency(0.99),
            seconds_over_slo,
            slo_held: wait_slo_quantile <= slo,
            replica_seconds: self.replica_seconds,
            peak_replicas: self.peak,
            scale_ups,
            scale_downs,
            flaps,
        };
        Run {
            meta: self.meta,
            timeline,
            summary,
            events: self.events,
        }
    }
}

/// The rank of the `q` quantile among `n` values: `ceil(q n)`, at least 1
/// (as the histograms count it).
fn rank(q: f64, n: u64) -> u64 {
    let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
    ((q * n as f64).ceil() as u64).clamp(1, n.max(1))
}

/// Scale-ups, scale-downs and flaps of a list of events in time order.
fn count_changes(events: &[ScaleEvent]) -> (u32, u32, u32) {
    let (mut ups, mut downs, mut flaps) = (0, 0, 0);
    let mut prev: Option<(f64, bool)> = None;
    for e in events.iter().filter(|e| e.to != e.from) {
        let up = e.to > e.from;
        if up {
            ups += 1;
        } else {
            downs += 1;
        }
        if let Some((t, was_up)) = prev
            && was_up != up
            && e.t - t < FLAP_WINDOW
        {
            flaps += 1;
        }
        prev = Some((e.t, up));
    }
    (ups, downs, flaps)
}

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
