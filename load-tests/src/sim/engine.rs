//! The event loop of one run (see the parent module's docs for the model).
//!
//! Events: the next arrival (pulled from an iterator of requests), the
//! next completion (a radix heap, see `radix`, keyed by the finish time's
//! bits, which order like the non-negative floats they are), the next due
//! zset job (a binary heap) and the next "system" event (a pod becoming ready, a poll, a
//! scrape, a metrics-server refresh, an autoscaler sync, a tick), whose
//! time is cached and recomputed only when one fires. At equal times a
//! completion goes first (it frees a slot), then system events, then due
//! jobs, then arrivals.
//!
//! Requests in service sit in a deque in the order they started, which is
//! the order they became takeable (the queue is FIFO): the oldest pending
//! entry is its front, and a completion marks its entry done by sequence
//! number. Free worker slots sit in a FIFO of pod ids: a request goes to
//! the worker that has waited longest, as Redis serves blocked `BRPOP` /
//! `XREADGROUP BLOCK` clients in the order they blocked; slots of deleted
//! pods are skipped when they come up.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::adapter::{Adapter, View};
use super::pods::{INITIAL_AGE, Pods};
use super::radix::RadixHeap;
use super::workload::Arrival;
use crate::dist::SimRng;
use crate::hpa::{Hpa, PodState};
use crate::outcome::{Recorder, Run, Sample};
use crate::scenario::{Oracle, QueueKind, Service};
use crate::trace::Profile;

/// A request in the queue.
#[derive(Debug, Clone, Copy)]
struct Req {
    /// When it became takeable (arrival, or due time of a delayed job).
    due: f64,
    /// Its drawn service time, seconds.
    service: f64,
}

/// A request in service.
#[derive(Debug, Clone, Copy)]
struct InService {
    /// When it became takeable.
    arrived: f64,
    /// When a worker took it.
    started: f64,
    /// The pod serving it.
    pod: u32,
    /// Finished (waiting to leave the front of the deque).
    done: bool,
}

/// What decides the desired count.
pub(super) enum Control {
    /// The HPA controller port.
    Hpa(Box<Hpa>),
    /// The clairvoyant oracle (see the parent module's docs).
    Oracle {
        /// Its settings.
        oracle: Oracle,
        /// Mean service time, seconds.
        mean_service: f64,
    },
}

/// Periodic timers, in the order they run at equal times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    /// Redis poll of the adapter.
    Poll = 0,
    /// Adapter scrape of the pods.
    Scrape = 1,
    /// metrics-server refresh.
    MetricsServer = 2,
    /// Autoscaler sync.
    Sync = 3,
    /// Timeline tick.
    Tick = 4,
}

/// The timers in order.
const TIMERS: [Timer; 5] = [
    Timer::Poll,
    Timer::Scrape,
    Timer::MetricsServer,
    Timer::Sync,
    Timer::Tick,
];

/// Cadence of each timer: first time and period (the n-th firing is at
/// `first + n * period`, free of accumulated rounding).
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// First firing of each [`Timer`].
    pub(super) first: [f64; 5],
    /// Period of each [`Timer`].
    pub(super) period: [f64; 5],
}

/// One run in progress.
pub(super) struct Engine<'a> {
    /// The service.
    svc: &'a Service,
    /// Its arrival profile.
    profile: &'a Profile,
    /// End of the run.
    horizon: f64,
    /// Start-up delays (one draw per pod created).
    startup: SimRng,
    /// Takeable requests, oldest first.
    waiting: VecDeque<Req>,
    /// Jobs not due yet: (due bits, sequence, service-time bits).
    delayed: BinaryHeap<Reverse<(u64, u64, u64)>>,
    /// Sequence numbers of delayed jobs.
    delayed_seq: u64,
    /// Requests in service in start order; index = sequence - `base`.
    in_service: VecDeque<InService>,
    /// Sequence number of `in_service`'s front.
    base: u64,
    /// Requests in service.
    inflight: u32,
    /// (finish-time bits, sequence) of requests in service.
    completions: RadixHeap,
    /// Free worker slots, by pod id, longest idle first.
    free: VecDeque<u32>,
    /// The pods.
    pods: Pods,
    /// (ready-time bits, pod id) of starting pods.
    starting: BinaryHeap<Reverse<(u64, u32)>>,
    /// Slots per pod.
    per_pod: u32,
    /// The desired count (`scale.spec.replicas`).
    desired: u32,
    /// The adapter's view.
    adapter: Adapter,
    /// The autoscaler.
    control: Control,
    /// Reused pod list for HPA syncs.
    states: Vec<PodState>,
    /// Timer cadence.
    timing: Timing,
    /// Firings so far per timer.
    fired: [u64; 5],
    /// Cached time of the next system event.
    next_system: f64,
    /// End of the last tick sampled.
    last_tick: f64,
    /// The record.
    rec: Recorder,
}

/// Bits of a non-negative time (they order like the times).
#[inline]
fn key(t: f64) -> u64 {
    t.max(0.0).to_bits()
}

/// The time of a heap key.
#[inline]
fn time(bits: u64) -> f64 {
    f64::from_bits(bits)
}

impl<'a> Engine<'a> {
    /// A run of `svc` on `profile` until `horizon`, starting with `initial`
    /// ready pods; `startup` draws the pods' start-up delays.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        svc: &'a Service,
        profile: &'a Profile,
        horizon: f64,
        startup: SimRng,
        control: Control,
        timing: Timing,
        initial: u32,
        uid_seed: u64,
        service_window: f64,
        rec: Recorder,
    ) -> Engine<'a> {
        let per_pod = svc.inflight_per_pod.max(1);
        let mut e = Engine {
            svc,
            profile,
            horizon,
            startup,
            waiting: VecDeque::new(),
            delayed: BinaryHeap::new(),
            delayed_seq: 0,
            in_service: VecDeque::new(),
            base: 0,
            inflight: 0,
            completions: RadixHeap::new(),
            free: VecDeque::new(),
            pods: Pods::new(&svc.name, uid_seed),
            starting: BinaryHeap::new(),
            per_pod,
            desired: initial,
            adapter: Adapter::new(service_window),
            control,
            states: Vec::new(),
            timing,
            fired: [0; 5],
            next_system: 0.0,
            last_tick: 0.0,
            rec,
        };
        for _ in 0..initial {
            let id = e.pods.create(-INITIAL_AGE, -INITIAL_AGE);
            e.pods.make_ready(id);
            e.free.extend(std::iter::repeat_n(id, per_pod as usize));
        }
        e.rec.replicas(e.pods.existing());
        e.next_system = e.compute_next_system();
        e
    }

    /// Runs to the horizon on `arrivals` (increasing times) and returns the
    /// record.
    pub(super) fn run<I: Iterator<Item = Arrival>>(mut self, mut arrivals: I) -> Run {
        let inf = f64::INFINITY;
        let mut next = arrivals.next();
        let mut next_arrival = next.map_or(inf, |a| a.t);
        loop {
            let tc = self.completions.peek().map_or(inf, time);
            let td = self.delayed.peek().map_or(inf, |r| time(r.0.0));
            let ts = self.next_system;
            let t = tc.min(td).min(ts).min(next_arrival);
            if t.is_nan() || t >= self.horizon {
                break;
            }
            if tc == t {
                self.complete(t);
            } else if ts == t {
                self.system(t);
            } else if td == t {
                if let Some(Reverse((_, _, service))) = self.delayed.pop() {
                    let req = Req {
                        due: t,
                        service: time(service),
                    };
                    self.enqueue(req, t);
                }
            } else {
                if let Some(a) = next {
                    self.arrive(a);
                }
                next = arrivals.next();
                next_arrival = next.map_or(inf, |a| a.t);
            }
        }
        self.finish()
    }

    /// A request arrives.
    #[inline]
    fn arrive(&mut self, a: Arrival) {
        let Arrival { t, service, delay } = a;
        self.rec.arrival(t);
        if delay > 0.0 {
            self.delayed_seq += 1;
            self.delayed.push(Reverse((
                key(t + delay),
                self.delayed_seq,
                service.to_bits(),
            )));
            return;
        }
        self.enqueue(Req { due: t, service }, t);
    }

    /// A request becomes takeable at `t`: a free worker takes it at once,
    /// else it waits.
    #[inline]
    fn enqueue(&mut self, req: Req, t: f64) {
        while let Some(id) = self.free.pop_front() {
            if self.pods.takes_work(id) {
                self.start(req, id, t);
                return;
            }
        }
        self.waiting.push_back(req);
    }

    /// Pod `pod` takes `req` at `t`.
    #[inline]
    fn start(&mut self, req: Req, pod: u32, t: f64) {
        self.pods.all[pod as usize].inflight += 1;
        self.inflight += 1;
        let seq = self.base + self.in_service.len() as u64;
        self.in_service.push_back(InService {
            arrived: req.due,
            started: t,
            pod,
            done: false,
        });
        self.completions.push(key(t + req.service), seq);
    }

    /// The next completion, at `t`.
    #[inline]
    fn complete(&mut self, t: f64) {
        let Some((_, seq)) = self.completions.pop() else {
            return;
        };
        let Some(r) = self.in_service.get_mut((seq - self.base) as usize) else {
            return;
        };
        r.done = true;
        let r = *r;
        while self.in_service.front().is_some_and(|f| f.done) {
            self.in_service.pop_front();
            self.base += 1;
        }
        self.inflight -= 1;
        self.rec.request(r.arrived, r.started, t);
        self.adapter.observe(t - r.arrived);
        let p = &mut self.pods.all[r.pod as usize];
        p.inflight -= 1;
        p.completions += 1;
        if p.deleted.is_none() {
            match self.waiting.pop_front() {
                Some(next) => self.start(next, r.pod, t),
                None => self.free.push_back(r.pod),
            }
        } else if p.inflight == 0 {
            self.gone(r.pod, t);
        }
    }

    /// Pod `id` no longer exists at `t`.
    fn gone(&mut self, id: u32, t: f64) {
        let cost = self.pods.remove(id, t);
        self.rec.pod_seconds(cost);
    }

    /// The n-th firing time of `timer`.
    fn timer_at(&self, timer: Timer) -> f64 {
        let i = timer as usize;
        self.timing.first[i] + self.fired[i] as f64 * self.timing.period[i]
    }

    /// The next system event's time.
    fn compute_next_system(&self) -> f64 {
        let ready = self.starting.peek().map_or(f64::INFINITY, |r| time(r.0.0));
        TIMERS
            .iter()
            .map(|&tm| self.timer_at(tm))
            .fold(ready, f64::min)
    }

    /// The system event due at `t`.
    fn system(&mut self, t: f64) {
        if self.starting.peek().is_some_and(|r| time(r.0.0) <= t) {
            if let Some(Reverse((_, id))) = self.starting.pop()
                && self.pods.make_ready(id)
            {
                for _ in 0..self.per_pod {
                    match self.waiting.pop_front() {
                        Some(req) => self.start(req, id, t),
                        None => self.free.push_back(id),
                    }
                }
            }
        } else if let Some(&timer) = TIMERS.iter().find(|&&tm| self.timer_at(tm) <= t) {
            self.fired[timer as usize] += 1;
            match timer {
                Timer::Poll => self.poll(t),
                Timer::Scrape => self.adapter.scrape(t, f64::from(self.inflight)),
                Timer::MetricsServer => {
                    let window = self.timing.period[Timer::MetricsServer as usize];
                    self.pods.scrape(self.svc, t, window);
                }
                Timer::Sync => self.sync(t),
                Timer::Tick => self.sample(t),
            }
        }
        self.next_system = self.compute_next_system();
    }

    /// The adapter's Redis poll at `t`.
    fn poll(&mut self, t: f64) {
        let depth = self.waiting.len() as f64;
        let oldest_waiting = self.waiting.front().map(|r| r.due);
        let oldest = match self.svc.queue.kind {
            QueueKind::Stream { .. } => self
                .in_service
                .front()
                .map(|r| r.arrived)
                .or(oldest_waiting),
            QueueKind::Zset { .. } => oldest_waiting,
            QueueKind::List => None,
        };
        let age = oldest.map_or(0.0, |o| (t - o).max(0.0));
        self.adapter.poll(depth, f64::from(self.inflight), age);
    }

    /// One autoscaler sync at `t`; applies its decision at once.
    fn sync(&mut self, t: f64) {
        let (to, reason) = match &mut self.control {
            Control::Hpa(hpa) => {
                let window = self.timing.period[Timer::MetricsServer as usize];
                self.pods.states(self.svc, window, &mut self.states);
                let view = View {
                    pods: &self.states,
                    adapter: &self.adapter,
                    kind: &self.svc.queue.kind,
                };
                let current = i32::try_from(self.desired).unwrap_or(i32::MAX);
                let d = hpa.reconcile(t, current, &view);
                let to = u32::try_from(d.desired_replicas.max(0)).unwrap_or(0);
                if to == self.desired {
                    return;
                }
                // No reason upstream either when only the stabilization
                // window moved the count (a recent, rate-limited
                // recommendation).
                let reason = d.reason.or(d.error).unwrap_or_else(|| {
                    d.stabilization_reason.map_or_else(
                        || "rescaled".to_string(),
                        |r| format!("{r}: a recent recommendation"),
                    )
                });
                (to, reason)
            }
            Control::Oracle {
                oracle,
                mean_service,
            } => {
                let sync = self.timing.period[Timer::Sync as usize];
                let rate = self.profile.max_rate(t, t + oracle.lookahead + sync);
                let slots = f64::from(self.per_pod) * oracle.utilization;
                let need = (rate * *mean_service / slots).ceil();
                let lo = f64::from(oracle.min_replicas);
                let hi = f64::from(oracle.max_replicas.max(oracle.min_replicas));
                let to = if need.is_finite() {
                    need.clamp(lo, hi) as u32
                } else {
                    hi as u32
                };
                if to == self.desired {
                    return;
                }
                let ahead = oracle.lookahead + sync;
                (
                    to,
                    format!("oracle: up to {rate:.1} req/s in the next {ahead:.0} s"),
                )
            }
        };
        self.rec.scale(t, self.desired, to, &reason);
        self.desired = to;
        self.apply(t);
    }

    /// The ReplicaSet converges on the desired count at `t`.
    fn apply(&mut self, t: f64) {
        let active = self.pods.active;
        if self.desired > active {
            for _ in active..self.desired {
                let startup = self.svc.startup.sample(&mut self.startup).max(0.0);
                let id = self.pods.create(t, t + startup);
                self.starting.push(Reverse((key(t + startup), id)));
            }
            self.rec.replicas(self.pods.existing());
        } else if self.desired < active {
            for id in self.pods.victims(t, (active - self.desired) as usize) {
                if self.pods.delete(id, t) {
                    self.gone(id, t);
                }
            }
        }
    }

    /// The tick ending at `t`.
    fn sample(&mut self, t: f64) {
        let (cpu, memory) = self.pods.utilization(self.svc);
        let start = self.last_tick;
        self.last_tick = t;
        self.rec.sample(
            t,
            Sample {
                expected_rate: self.profile.mean_rate(start, t),
                queue_depth: self.waiting.len() as f64,
                oldest_age: self.waiting.front().map_or(0.0, |r| (t - r.due).max(0.0)),
                inflight: f64::from(self.inflight),
                desired_replicas: self.desired,
                replicas: self.pods.existing(),
                ready_replicas: self.pods.ready,
                cpu_utilization: cpu,
                memory_utilization: memory,
            },
        );
    }

    /// The end: the last tick, the requests left, the pods left.
    fn finish(mut self) -> Run {
        let h = self.horizon;
        if self.last_tick < h - 1e-9 {
            self.sample(h);
        }
        for r in &self.waiting {
            self.rec.unfinished(r.due, None);
        }
        for r in self.in_service.iter().filter(|r| !r.done) {
            self.rec.unfinished(r.arrived, Some(r.started));
        }
        // Jobs not due by the end never entered the queue within the run:
        // they are counted as arrivals only.
        for id in self.pods.live.clone() {
            let cost = self.pods.remove(id, h);
            self.rec.pod_seconds(cost);
        }
        self.rec.finish()
    }
}
