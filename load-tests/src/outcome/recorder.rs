//! The [`Recorder`]: what the drivers feed during a run, and how it turns
//! into a [`Run`] (see the parent module's docs for the figures).

use super::hist::{self, Hist, Layout};
use super::{FLAP_WINDOW, Run, RunMeta, Sample, ScaleEvent, Summary, Tick};

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
