//! One service's run: its producer, its autoscaler loop, the
//! metrics-server model and the timeline samples.
//!
//! - **Producer**: plays the service's arrival profile
//!   ([`Profile::arrivals`]) on the wall clock. Whatever is due is pushed
//!   in one pipeline (at most [`MAX_BATCH`] jobs, batches at least
//!   [`MIN_GAP`] apart in real time), so thousands of jobs per second cost
//!   a few hundred round trips. Each job carries its service time (and, for
//!   zsets, its due time), drawn in arrival order from seeds derived as the
//!   simulator derives them.
//! - **Autoscaler**: every sync period (scenario time) the HPA port
//!   ([`Hpa::reconcile`](crate::hpa::Hpa::reconcile)) runs with the pods as
//!   the lister would show them and every `External` metric of the policy
//!   read from the adapter ([`super::external`]), then the Deployment is
//!   scaled to the decision. The oracle provisions from the profile.
//! - **metrics-server**: a scrape of the pods' modelled CPU and memory
//!   every [`METRICS_RESOLUTION`] seconds.
//! - **Timeline**: a [`Sample`] every [`TICK`] seconds (and at the end),
//!   from the run's own exact bookkeeping (jobs due and not taken, the
//!   oldest of them, jobs in service, pods), not from the adapter; the HPA
//!   alone sees the adapter's values.
//!
//! At equal times the scrape comes first, then the sync, then the sample.
//! At the end the pods stop at once: jobs still waiting (due by the end)
//! or in service are recorded as unfinished; zset jobs not yet due are left
//! out (they never waited).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use redis::aio::MultiplexedConnection;

use super::clock::Clock;
use super::external::{self, AdapterClient};
use super::jobs::Job;
use super::plan::{Decider, SvcPlan};
use super::pods::{Deployment, SvcShared};
use super::{LiveEvent, METRICS_RESOLUTION, Observer, POLL_INTERVAL, SCRAPE_INTERVAL};
use crate::dist::{Dist, derive_seed, rng};
use crate::hpa::{Observe, PodState};
use crate::outcome::{Recorder, Run, Sample};
use crate::scenario::{Oracle, QueueKind, Service};
use crate::trace::Profile;

/// Seconds (scenario) between two timeline samples.
pub const TICK: f64 = 5.0;

/// Most jobs pushed in one pipeline.
pub(crate) const MAX_BATCH: usize = 5000;

/// Least real time between two pushes of a producer.
pub(crate) const MIN_GAP: Duration = Duration::from_millis(2);

/// Why a service's run failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Its task panicked or was cancelled.
    #[error("service {service:?}: the run's task ended abnormally: {detail}")]
    Task {
        /// The service.
        service: String,
        /// What happened.
        detail: String,
    },
}

/// What the progress bar shows of one service.
#[derive(Debug, Clone, Default)]
pub(crate) struct Status {
    /// Service name.
    pub(crate) name: String,
    /// Scenario seconds reached.
    pub(crate) t: f64,
    /// Jobs waiting.
    pub(crate) depth: u64,
    /// Pods ready.
    pub(crate) ready: u32,
    /// Pods not deleted.
    pub(crate) replicas: u32,
}

/// What every service's run shares.
pub(crate) struct RunCtx {
    /// The clock.
    pub(crate) clock: Clock,
    /// The adapter's API.
    pub(crate) adapter: AdapterClient,
    /// Who wants events.
    pub(crate) observer: Option<Observer>,
    /// Progress per service (same order as the plan).
    pub(crate) status: Arc<Mutex<Vec<Status>>>,
    /// Scenario seconds played.
    pub(crate) duration: f64,
    /// HPA sync period, scenario seconds.
    pub(crate) sync_period: f64,
    /// The seed.
    pub(crate) seed: u64,
}

/// Seed of one service's draws of `what`, labelled as the simulator's
/// (`<service>/service_time`, `delay`, `startup`, `uid`, `phases`), so a
/// live run plays the very requests a simulation of it does.
pub(crate) fn seed_for(seed: u64, service: &str, what: &str) -> u64 {
    derive_seed(seed, &format!("{service}/{what}"))
}

/// First times of metrics-server's scrape and of the autoscaler's sync:
/// drawn uniformly within their periods from `<service>/phases`, in the
/// simulator's order (the adapter's poll and scrape phases are drawn
/// first and unused here: the real adapter has its own).
pub(crate) fn phases(seed: u64, service: &str, sync_period: f64) -> (f64, f64) {
    let mut r = rng(seed_for(seed, service, "phases"));
    let mut draw = |max: f64| Dist::Uniform { min: 0.0, max }.sample(&mut r);
    let _poll = draw(POLL_INTERVAL);
    let _scrape = draw(SCRAPE_INTERVAL);
    let metrics = draw(METRICS_RESOLUTION);
    let sync = draw(sync_period);
    (metrics, sync)
}

/// Plays `profile` into the queue until `end` (see the module docs).
pub(crate) async fn produce(
    svc: Arc<SvcShared>,
    service: Service,
    profile: Profile,
    end: f64,
    seeds: (u64, u64),
    mut conn: MultiplexedConnection,
) {
    let mut arrivals = profile.arrivals(end).peekable();
    let mut service_rng = rng(seeds.0);
    let mut delay_rng = rng(seeds.1);
    let delay = match &service.queue.kind {
        QueueKind::Zset { delay, .. } => Some(*delay),
        _ => None,
    };
    let mut seq = 0u64;
    let mut batch: Vec<Job> = Vec::with_capacity(1024);
    loop {
        let now = svc.clock.now();
        while let Some(&a) = arrivals.peek() {
            if a > now || batch.len() >= MAX_BATCH {
                break;
            }
            arrivals.next();
            let service_time = service.service_time.sample(&mut service_rng).max(0.0);
            let due = a + delay.map_or(0.0, |d| d.sample(&mut delay_rng).max(0.0));
            seq += 1;
            batch.push(Job {
                seq,
                arrived: a,
                due,
                service: service_time,
            });
        }
        if !batch.is_empty() {
            svc.book.pushed(&batch);
            svc.record(|r| batch.iter().for_each(|j| r.arrival(j.arrived)));
            if let Err(e) = svc.ops.push(&mut conn, &batch, &svc.clock).await {
                svc.redis_error(&e);
            }
            batch.clear();
        }
        let Some(&next) = arrivals.peek() else { break };
        let at = svc
            .clock
            .instant_at(next)
            .max(std::time::Instant::now() + MIN_GAP);
        tokio::time::sleep_until(at.into()).await;
    }
}

/// The HPA's view of one sync: the pods and the adapter's answers.
struct LiveObservation {
    /// The pods.
    pods: Vec<PodState>,
    /// `(metric, selector string)` → item values (scenario units).
    external: BTreeMap<(String, String), Result<Vec<f64>, String>>,
}

impl Observe for LiveObservation {
    fn pods(&self) -> &[PodState] {
        &self.pods
    }

    fn external(
        &self,
        metric_name: &str,
        selector: Option<&LabelSelector>,
    ) -> Result<Vec<f64>, String> {
        let key = (
            metric_name.to_string(),
            selector.map(external::selector_string).unwrap_or_default(),
        );
        self.external
            .get(&key)
            .cloned()
            .unwrap_or_else(|| Ok(Vec::new()))
    }
}

/// The oracle's replica count at `t` and its reason, as the simulator
/// computes it: `ceil(rate × mean service time / (inflight_per_pod ×
/// utilization))` clamped to its bounds, `rate` being the largest rate of
/// `[t, t + lookahead + sync_period]`.
pub(crate) fn oracle_replicas(
    o: &Oracle,
    service: &Service,
    profile: &Profile,
    t: f64,
    sync_period: f64,
) -> (u32, String) {
    let ahead = o.lookahead + sync_period;
    let rate = profile.max_rate(t, t + ahead);
    let slots = f64::from(service.inflight_per_pod) * o.utilization;
    let need = (rate * service.service_time.mean() / slots).ceil();
    let lo = f64::from(o.min_replicas);
    let hi = f64::from(o.max_replicas.max(o.min_replicas));
    let to = if need.is_finite() {
        need.clamp(lo, hi) as u32
    } else {
        hi as u32
    };
    (
        to,
        format!("oracle: up to {rate:.1} req/s in the next {ahead:.0} s"),
    )
}

/// Runs one service to the end and returns its [`Run`].
pub(crate) async fn run_service(
    ctx: Arc<RunCtx>,
    idx: usize,
    mut sp: SvcPlan,
    svc: Arc<SvcShared>,
    mut dep: Deployment,
    conn: MultiplexedConnection,
) -> Run {
    let clock = ctx.clock;
    let end = ctx.duration;
    let name = sp.service.name.clone();
    let mut producer = tokio::task::JoinSet::new();
    producer.spawn(produce(
        svc.clone(),
        sp.service.clone(),
        sp.profile.clone(),
        end,
        (
            seed_for(ctx.seed, &name, "service_time"),
            seed_for(ctx.seed, &name, "delay"),
        ),
        conn,
    ));
    let mut desired = sp.initial;
    dep.start_initial(desired);
    svc.record(|r| r.replicas(dep.existing()));
    let (first_scrape, first_sync) = phases(ctx.seed, &name, ctx.sync_period);
    let (mut next_tick, mut next_sync, mut next_scrape) = (TICK.min(end), first_sync, first_scrape);
    let mut last_tick = 0.0;
    loop {
        let t = next_tick.min(next_sync).min(next_scrape).min(end);
        clock.sleep_until(t).await;
        if next_scrape <= t {
            dep.scrape(next_scrape, METRICS_RESOLUTION);
            next_scrape += METRICS_RESOLUTION;
        }
        if next_sync <= t {
            desired = sync(&ctx, &mut sp, &svc, &mut dep, next_sync, desired).await;
            next_sync += ctx.sync_period;
        }
        if next_tick <= t {
            sample(&ctx, idx, &sp, &svc, &dep, (last_tick, next_tick), desired);
            last_tick = next_tick;
            next_tick = if next_tick >= end {
                f64::INFINITY
            } else {
                (next_tick + TICK).min(end)
            };
        }
        if t >= end {
            break;
        }
    }
    // Arrivals end before `end`; give the last push a moment.
    let _ = tokio::time::timeout(Duration::from_secs(2), producer.join_next()).await;
    producer.abort_all();
    let pod_seconds = dep.finish(end);
    let unfinished = svc.book.unfinished();
    let mut rec = svc.recorder.lock().map_or_else(
        |p| std::mem::replace(&mut *p.into_inner(), Recorder::new(dummy_meta())),
        |mut r| std::mem::replace(&mut *r, Recorder::new(dummy_meta())),
    );
    for (due, started) in unfinished {
        if due <= end {
            rec.unfinished(due, started);
        }
    }
    rec.pod_seconds(pod_seconds);
    let (errors, bad) = (
        svc.redis_errors.load(Ordering::Relaxed),
        svc.bad_jobs.load(Ordering::Relaxed),
    );
    if errors > 0 {
        let last = svc.last_error.lock().ok().and_then(|l| l.clone());
        eprintln!(
            "warning: service {name}: {errors} Redis operations failed (last: {})",
            last.unwrap_or_default()
        );
    }
    if bad > 0 {
        eprintln!(
            "warning: service {name}: {bad} queue entries were not jobs of this run (dropped)"
        );
    }
    rec.finish()
}

/// A placeholder meta for the recorder left behind.
fn dummy_meta() -> crate::outcome::RunMeta {
    crate::outcome::RunMeta {
        mode: String::new(),
        scenario: String::new(),
        service: String::new(),
        policy: String::new(),
        trace: String::new(),
        seed: 0,
        horizon: 1.0,
        tick: 1.0,
        slo_quantile: 0.95,
        slo_queue_wait: 1.0,
    }
}

/// One autoscaler sync at `t`; returns the new desired count.
async fn sync(
    ctx: &RunCtx,
    sp: &mut SvcPlan,
    svc: &SvcShared,
    dep: &mut Deployment,
    t: f64,
    current: u32,
) -> u32 {
    let mut metrics = Vec::new();
    let (proposed, reason) = match &mut sp.decider {
        Decider::Hpa(hpa) => {
            let mut external = BTreeMap::new();
            let specs = sp.spec.as_ref().and_then(|s| s.metrics.as_ref());
            for m in specs.into_iter().flatten() {
                let Some(e) = &m.external else { continue };
                let sel = e.metric.selector.as_ref();
                let key = (
                    e.metric.name.clone(),
                    sel.map(external::selector_string).unwrap_or_default(),
                );
                if external.contains_key(&key) {
                    continue;
                }
                let speed = ctx.clock.speed();
                let got = ctx.adapter.get(&e.metric.name, sel).await.map(|items| {
                    items
                        .iter()
                        .map(|i| external::to_scenario(&e.metric.name, i.value, speed))
                        .collect::<Vec<f64>>()
                });
                metrics.push((e.metric.name.clone(), got.clone()));
                external.insert(key, got);
            }
            let obs = LiveObservation {
                pods: dep.pod_states(t),
                external,
            };
            let d = hpa.reconcile(t, current as i32, &obs);
            let reason = d
                .reason
                .clone()
                .or(d.error.clone())
                .unwrap_or_else(|| "HPA rescale".to_string());
            (d.desired_replicas.max(0) as u32, reason)
        }
        Decider::Oracle(o) => oracle_replicas(o, &sp.service, &sp.profile, t, ctx.sync_period),
    };
    let limit = dep.limit() as u32;
    let (new, reason) = if proposed > limit {
        (
            limit,
            format!("{reason} (capped at the live pod limit {limit})"),
        )
    } else {
        (proposed, reason)
    };
    if new != current {
        svc.record(|r| r.scale(t, current, new, &reason));
    }
    dep.scale_to(new, t);
    svc.record(|r| r.replicas(dep.existing()));
    if let Some(obs) = &ctx.observer {
        obs(&LiveEvent::Sync {
            service: sp.service.name.clone(),
            t,
            current,
            desired: new,
            metrics,
        });
    }
    new
}

/// The timeline sample of the tick `(start, t)`.
fn sample(
    ctx: &RunCtx,
    idx: usize,
    sp: &SvcPlan,
    svc: &SvcShared,
    dep: &Deployment,
    (start, t): (f64, f64),
    desired: u32,
) {
    let (depth, oldest) = svc.book.depth(t);
    let (cpu, mem) = dep.utilization(t);
    let s = Sample {
        expected_rate: sp.profile.mean_rate(start, t),
        queue_depth: depth as f64,
        oldest_age: oldest.map_or(0.0, |o| (t - o).max(0.0)),
        inflight: f64::from(dep.inflight()),
        desired_replicas: desired,
        replicas: dep.existing(),
        ready_replicas: dep.ready(t),
        cpu_utilization: cpu,
        memory_utilization: mem,
    };
    svc.record(|r| r.sample(t, s));
    if let Ok(mut st) = ctx.status.lock()
        && let Some(st) = st.get_mut(idx)
    {
        st.t = t;
        st.depth = depth;
        st.ready = s.ready_replicas;
        st.replicas = dep.replicas();
    }
}
