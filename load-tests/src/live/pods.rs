//! The simulated pods of one service and the Deployment that owns them.
//!
//! A pod is a tokio task with `inflight_per_pod` slots. It is created with
//! a start-up delay drawn from the service's `startup` distribution (seeded
//! per service and trace, `<service>/<trace>/startup`, drawn in creation
//! order) and takes no work before it is ready. Once ready it loops: wait
//! for a free slot, take as many jobs as it has free slots in one Redis
//! round trip (blocking up to [`TAKE_BLOCK`] when the queue is empty, see
//! [`super::jobs`]), and hold each job for its service time (carried in the
//! job) in a task of its own, then record it (histogram, counter, gauge,
//! the run's [`Recorder`](crate::outcome::Recorder)) and acknowledge it.
//!
//! The [`Deployment`] is the ReplicaSet: `scale_to(n)` creates pods
//! (lowest free metrics slot) or deletes them in the ReplicaSet
//! controller's order (unready before ready, then the most recently ready,
//! then the newest). A deleted pod leaves its slot at once (a terminating
//! pod leaves the Service's endpoints), takes no more jobs, finishes the
//! ones it holds and ends. Pod-seconds (the cost) count from creation (or
//! the run's start for the initial pods) until the pod is gone (deleted and
//! drained), as in the simulator (`crate::sim`'s pod model, whose rules
//! this module follows: `Running` from creation with `Ready=False` until
//! ready, the ReplicaSet's logarithmic ranks, graceful drain).
//!
//! The pods the run starts with were created and became ready
//! [`INITIAL_AGE`] seconds before it, so they are past every HPA
//! initialization period.
//!
//! Resource usage is bookkeeping, as in the simulator: metrics-server
//! "scrapes" every [`METRICS_RESOLUTION`] seconds ([`Deployment::scrape`]);
//! a pod's CPU sample is `idle_cpu + cpu_per_request × completions/s` since
//! the previous scrape (a pod gets its first sample at the second scrape it
//! sees), its memory sample `memory_per_pod + memory_per_inflight × in
//! flight` at the scrape.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::METRICS_RESOLUTION;
use super::book::Book;
use super::clock::Clock;
use super::jobs::{self, QueueOps, Taken};
use super::slots::{PodMetrics, Slot};
use crate::dist::{SimRng, derive_seed};
use crate::hpa::{ConditionStatus, PodPhase, PodState, ReadyCondition, Sample};
use crate::outcome::Recorder;
use crate::scenario::Service;

/// The longest a pod blocks in one take while the queue is empty (real time).
pub(crate) const TAKE_BLOCK: Duration = Duration::from_millis(100);

/// How long before the run the initial pods were created and became ready.
pub(crate) const INITIAL_AGE: f64 = 3600.0;

/// What the producer, the pods and the runner of one service share.
#[derive(Debug)]
pub(crate) struct SvcShared {
    /// The run's clock.
    pub(crate) clock: Clock,
    /// The queue.
    pub(crate) ops: QueueOps,
    /// Whether the queue is a zset (polled, not blocking).
    pub(crate) zset: bool,
    /// Exact counts.
    pub(crate) book: Book,
    /// End of the run, scenario seconds: jobs done later are not recorded.
    pub(crate) end: f64,
    /// The run being recorded.
    pub(crate) recorder: Mutex<Recorder>,
    /// Redis URL (a pod opens its own connection for blocking reads).
    pub(crate) redis_url: String,
    /// Shared connection for acknowledgements.
    pub(crate) conn: MultiplexedConnection,
    /// Failed Redis operations.
    pub(crate) redis_errors: AtomicU64,
    /// Last Redis error, for the summary.
    pub(crate) last_error: Mutex<Option<String>>,
    /// Entries that were not jobs (dropped).
    pub(crate) bad_jobs: AtomicU64,
}

impl SvcShared {
    /// Counts a failed Redis operation.
    pub(crate) fn redis_error(&self, e: &jobs::JobError) {
        self.redis_errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut l) = self.last_error.lock() {
            *l = Some(e.to_string());
        }
    }

    /// Runs `f` on the recorder.
    pub(crate) fn record(&self, f: impl FnOnce(&mut Recorder)) {
        if let Ok(mut r) = self.recorder.lock() {
            f(&mut r);
        }
    }
}

/// One pod, as its task and the Deployment see it.
#[derive(Debug)]
struct PodShared {
    /// `<service>-<n>`.
    name: String,
    /// Created, scenario seconds.
    created: f64,
    /// Ready from, scenario seconds.
    ready_at: f64,
    /// Its metrics.
    metrics: Arc<PodMetrics>,
    /// Jobs in service.
    inflight: AtomicU32,
    /// Jobs finished since the last metrics-server scrape.
    completions: AtomicU32,
    /// When its task ended (deleted and drained), scenario seconds.
    gone_at: Mutex<Option<f64>>,
}

/// A pod the Deployment tracks.
#[derive(Debug)]
struct Pod {
    /// Shared with its task.
    shared: Arc<PodShared>,
    /// Its metrics slot (`None` once deleted).
    slot: Option<usize>,
    /// Tells the task it is deleted.
    delete: watch::Sender<bool>,
    /// Deleted at, scenario seconds.
    deleted: Option<f64>,
    /// Pseudo-random UID (deletion-rank ties).
    uid: u64,
    /// metrics-server's CPU sample (millicores, time) and memory (bytes).
    sample: Option<(i64, f64, i64)>,
}

/// `int64(math.Log2(float64(now - t)))` in nanoseconds, -1 when not
/// positive (the ReplicaSet's `logarithmicRankDiff`).
fn log_rank(now: f64, t: f64) -> i64 {
    let d = (now - t) * 1e9;
    if d > 0.0 { d.log2() as i64 } else { -1 }
}

/// The pods of one service (see the module docs).
#[derive(Debug)]
pub(crate) struct Deployment {
    /// Shared with producer and pods.
    svc: Arc<SvcShared>,
    /// The service.
    service: Service,
    /// Its metrics slots (as many as the pod limit).
    slots: Arc<[Slot]>,
    /// Pods that exist (not deleted, then terminating), in creation order.
    pods: Vec<Pod>,
    /// The pod tasks (aborted when dropped).
    tasks: JoinSet<()>,
    /// Pods created so far.
    created: u64,
    /// Start-up delay draws.
    rng: SimRng,
    /// Seed of the UIDs.
    seed: u64,
    /// Pod-seconds of pods gone.
    pod_seconds: f64,
}

impl Deployment {
    /// A Deployment with no pods; `slots` bounds the pod count; `rng`
    /// draws start-up delays, `seed` the pods' UIDs.
    pub(crate) fn new(
        svc: Arc<SvcShared>,
        service: Service,
        slots: Arc<[Slot]>,
        rng: SimRng,
        seed: u64,
    ) -> Deployment {
        Deployment {
            svc,
            service,
            slots,
            pods: Vec::new(),
            tasks: JoinSet::new(),
            created: 0,
            rng,
            seed,
            pod_seconds: 0.0,
        }
    }

    /// Most pods at once (the slot count).
    pub(crate) fn limit(&self) -> usize {
        self.slots.len()
    }

    /// Pods not deleted.
    pub(crate) fn replicas(&self) -> u32 {
        self.pods.iter().filter(|p| p.deleted.is_none()).count() as u32
    }

    /// Pods that exist (terminating ones included).
    pub(crate) fn existing(&self) -> u32 {
        self.pods.len() as u32
    }

    /// Pods ready at `now` and not deleted.
    pub(crate) fn ready(&self, now: f64) -> u32 {
        self.pods
            .iter()
            .filter(|p| p.deleted.is_none() && p.shared.ready_at <= now)
            .count() as u32
    }

    /// Starts `n` pods that are ready already (the run's initial pods).
    pub(crate) fn start_initial(&mut self, n: u32) {
        for _ in 0..n.min(self.limit() as u32) {
            self.create(-INITIAL_AGE, 0.0);
        }
    }

    /// Creates or deletes pods at `now` until `desired` (capped at the
    /// limit) are not deleted.
    pub(crate) fn scale_to(&mut self, desired: u32, now: f64) {
        self.reap();
        let desired = desired.min(self.limit() as u32);
        while self.replicas() < desired {
            let startup = self.service.startup.sample(&mut self.rng).max(0.0);
            if !self.create(now, startup) {
                break;
            }
        }
        let excess = self.replicas().saturating_sub(desired) as usize;
        for i in self.victims(now, excess) {
            self.delete(i, now);
        }
    }

    /// Creates one pod at `created` that is ready `startup` later; false
    /// when every slot is taken.
    fn create(&mut self, created: f64, startup: f64) -> bool {
        let Some(slot) =
            (0..self.slots.len()).find(|s| self.pods.iter().all(|p| p.slot != Some(*s)))
        else {
            return false;
        };
        let id = self.created;
        self.created += 1;
        let name = format!("{}-{id}", self.service.name);
        let metrics = Arc::new(PodMetrics::new(&name));
        let shared = Arc::new(PodShared {
            name,
            created,
            ready_at: created + startup,
            metrics: metrics.clone(),
            inflight: AtomicU32::new(0),
            completions: AtomicU32::new(0),
            gone_at: Mutex::new(None),
        });
        if let Ok(mut s) = self.slots[slot].lock() {
            *s = Some(metrics);
        }
        let (delete, deleted) = watch::channel(false);
        let per_pod = self.service.inflight_per_pod.max(1) as usize;
        self.tasks
            .spawn(pod_main(self.svc.clone(), shared.clone(), deleted, per_pod));
        self.pods.push(Pod {
            shared,
            slot: Some(slot),
            delete,
            deleted: None,
            uid: derive_seed(self.seed, &format!("uid/{id}")),
            sample: None,
        });
        true
    }

    /// Indices of the `n` pods the ReplicaSet deletes first at `now`: not
    /// ready before ready; among ready ones the more recently ready first,
    /// among unready ones the more recently created first, both on the
    /// logarithmic scale; then by UID.
    fn victims(&self, now: f64, n: usize) -> Vec<usize> {
        let mut cands: Vec<usize> = (0..self.pods.len())
            .filter(|&i| self.pods[i].deleted.is_none())
            .collect();
        cands.sort_by_key(|&i| {
            let p = &self.pods[i];
            let ready = p.shared.ready_at <= now;
            let since = if ready {
                p.shared.ready_at
            } else {
                p.shared.created
            };
            (ready, log_rank(now, since), p.uid)
        });
        cands.truncate(n);
        cands
    }

    /// Deletes pod `i` at `now`: it leaves its slot and drains.
    fn delete(&mut self, i: usize, now: f64) {
        let p = &mut self.pods[i];
        p.deleted = Some(now);
        let _ = p.delete.send(true);
        if let Some(slot) = p.slot.take()
            && let Ok(mut s) = self.slots[slot].lock()
        {
            *s = None;
        }
    }

    /// Forgets pods whose task ended (counting their pod-seconds), and
    /// reaps finished tasks.
    fn reap(&mut self) {
        let mut cost = 0.0;
        self.pods.retain(|p| {
            let gone = p.shared.gone_at.lock().ok().and_then(|g| *g);
            match gone {
                Some(t) if p.deleted.is_some() => {
                    cost += (t - p.shared.created.max(0.0)).max(0.0);
                    false
                }
                _ => true,
            }
        });
        self.pod_seconds += cost;
        while self.tasks.try_join_next().is_some() {}
    }

    /// Jobs in service in every pod (terminating ones included).
    pub(crate) fn inflight(&self) -> u32 {
        self.pods
            .iter()
            .map(|p| p.shared.inflight.load(Ordering::Relaxed))
            .sum()
    }

    /// metrics-server's scrape at `now`, `window` seconds after the
    /// previous one (see the module docs).
    pub(crate) fn scrape(&mut self, now: f64, window: f64) {
        self.reap();
        for p in &mut self.pods {
            let completions = p.shared.completions.swap(0, Ordering::Relaxed);
            p.sample = (p.shared.created <= now - window).then(|| {
                let cores = self.service.pod_cpu(f64::from(completions) / window);
                let inflight = f64::from(p.shared.inflight.load(Ordering::Relaxed));
                let memory = self.service.pod_memory(inflight);
                ((cores * 1000.0).round() as i64, now, memory.round() as i64)
            });
        }
    }

    /// Mean CPU and memory utilization (fractions of the requests) of the
    /// ready, not deleted pods with samples at `now`; 0 when none.
    pub(crate) fn utilization(&self, now: f64) -> (f64, f64) {
        let req = self.service.requests;
        let (mut cpu, mut mem, mut n) = (0.0, 0.0, 0u32);
        for p in &self.pods {
            if let (true, Some((c, _, m))) =
                (p.deleted.is_none() && p.shared.ready_at <= now, p.sample)
            {
                cpu += c as f64 / 1000.0 / req.cpu;
                mem += m as f64 / req.memory;
                n += 1;
            }
        }
        if n == 0 {
            (0.0, 0.0)
        } else {
            (cpu / f64::from(n), mem / f64::from(n))
        }
    }

    /// The pod lister's answer at `now` (every pod that exists, terminating
    /// ones with a deletion timestamp) with metrics-server's samples.
    pub(crate) fn pod_states(&mut self, now: f64) -> Vec<PodState> {
        self.reap();
        let req = self.service.requests;
        let window = METRICS_RESOLUTION;
        self.pods
            .iter()
            .map(|p| {
                let s = &p.shared;
                let ready = s.ready_at <= now;
                let (status, since) = if ready {
                    (ConditionStatus::True, s.ready_at)
                } else {
                    (ConditionStatus::False, s.created)
                };
                PodState {
                    name: s.name.clone(),
                    phase: PodPhase::Running,
                    ready: Some(ReadyCondition {
                        status,
                        last_transition_time: since,
                    }),
                    start_time: Some(s.created),
                    deleting: p.deleted.is_some(),
                    cpu_request: Some((req.cpu * 1000.0).round() as i64),
                    memory_request: Some(req.memory.round() as i64),
                    cpu_usage: p.sample.map(|(value, timestamp, _)| Sample {
                        value,
                        timestamp,
                        window,
                    }),
                    memory_usage: p.sample.map(|(_, timestamp, value)| Sample {
                        value,
                        timestamp,
                        window,
                    }),
                }
            })
            .collect()
    }

    /// Ends every pod at `end` (tasks aborted, jobs in service left in the
    /// book) and returns the run's pod-seconds.
    pub(crate) fn finish(mut self, end: f64) -> f64 {
        self.reap();
        self.tasks.abort_all();
        for p in &self.pods {
            self.pod_seconds += (end - p.shared.created.max(0.0)).max(0.0);
        }
        for s in self.slots.iter() {
            if let Ok(mut s) = s.lock() {
                *s = None;
            }
        }
        self.pod_seconds
    }
}

/// Waits until `rx` says deleted (never returns otherwise).
async fn deleted(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|d| *d).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A pod's life: start-up, the take loop, and draining once deleted.
async fn pod_main(
    svc: Arc<SvcShared>,
    pod: Arc<PodShared>,
    mut del: watch::Receiver<bool>,
    slots: usize,
) {
    let run = async {
        tokio::select! {
            () = svc.clock.sleep_until(pod.ready_at) => {}
            () = deleted(&mut del) => return,
        }
        let mut conn = loop {
            match jobs::connect(&svc.redis_url, Duration::from_secs(5)).await {
                Ok(c) => break c,
                Err(e) => svc.redis_error(&e),
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
                () = deleted(&mut del) => return,
            }
        };
        let sem = Arc::new(Semaphore::new(slots));
        let mut work = JoinSet::new();
        loop {
            while work.try_join_next().is_some() {}
            let first = tokio::select! {
                p = sem.clone().acquire_owned() => p.ok(),
                () = deleted(&mut del) => None,
            };
            let Some(first) = first else { break };
            let mut permits = vec![first];
            while let Ok(p) = sem.clone().try_acquire_owned() {
                permits.push(p);
            }
            let block = if svc.zset { Duration::ZERO } else { TAKE_BLOCK };
            let taken = svc
                .ops
                .take(&mut conn, &pod.name, permits.len(), block, &svc.clock)
                .await;
            let pause = match taken {
                Ok((taken, bad)) => {
                    if bad > 0 {
                        svc.bad_jobs.fetch_add(bad as u64, Ordering::Relaxed);
                    }
                    let idle = taken.is_empty();
                    let started = svc.clock.now();
                    for t in taken {
                        let Some(permit) = permits.pop() else { break };
                        svc.book.taken(&t.job, started);
                        pod.inflight.fetch_add(1, Ordering::Relaxed);
                        pod.metrics.started();
                        let (svc, pod) = (svc.clone(), pod.clone());
                        work.spawn(async move {
                            serve_job(&svc, &pod, t, started).await;
                            drop(permit);
                        });
                    }
                    (idle && svc.zset).then_some(jobs::ZSET_POLL)
                }
                Err(e) => {
                    svc.redis_error(&e);
                    Some(Duration::from_millis(100))
                }
            };
            drop(permits);
            if let Some(pause) = pause {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = deleted(&mut del) => break,
                }
            }
        }
        // Deleted: finish the jobs held, then end.
        while work.join_next().await.is_some() {}
    };
    run.await;
    if let Ok(mut g) = pod.gone_at.lock() {
        *g = Some(svc.clock.now());
    }
}

/// Holds one job for its service time, then records and acknowledges it.
async fn serve_job(svc: &SvcShared, pod: &PodShared, t: Taken, started: f64) {
    svc.clock.sleep_until(started + t.job.service).await;
    let finished = svc.clock.now();
    if finished > svc.end {
        return; // the run is over: it stays in the book as unfinished
    }
    pod.metrics.finished(finished - t.job.due);
    pod.completions.fetch_add(1, Ordering::Relaxed);
    pod.inflight.fetch_sub(1, Ordering::Relaxed);
    svc.book.done(t.job.seq);
    svc.record(|r| r.request(t.job.due, started, finished));
    let mut conn = svc.conn.clone();
    if let Err(e) = svc.ops.done(&mut conn, &t).await {
        svc.redis_error(&e);
    }
}
