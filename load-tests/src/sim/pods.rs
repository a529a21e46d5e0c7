//! The service's pods as the Deployment's ReplicaSet keeps them, and the
//! resource usage metrics-server reports for them.
//!
//! - A pod is created when the desired count rises and becomes ready after
//!   a start-up delay drawn from the service's `startup` distribution. It
//!   is `Running` from creation with `Ready=False` until then (the start-up
//!   delay is scheduling, image pull and warm-up; the HPA's
//!   `groupPods` only tells `Pending` from `Running`-but-unready by the
//!   `Ready` condition for CPU, and treats both as unready).
//! - On scale-down the ReplicaSet deletes the pods ranked first by
//!   `ActivePodsWithRanks.Less` (kubernetes `pkg/controller/controller_utils.go`,
//!   used by `getPodsToDelete` in `pkg/controller/replicaset/replica_set.go`).
//!   Every simulated pod is assigned to a node, `Running`, on its own
//!   node (equal co-location ranks), without a deletion cost or restarts,
//!   so the rules that decide are: not ready before ready (rule 3); among
//!   ready pods, the more recently ready first on a logarithmic scale
//!   (rule 6 with `LogarithmicScaleDown`, GA since v1.31:
//!   `int64(log2(now - readyTime in ns))`); among unready pods the more
//!   recently created first, on the same scale (rule 8); ties by UID
//!   (a pseudo-random order, as upstream: UIDs are random).
//! - A deleted pod takes no new work, finishes what it holds (graceful
//!   drain: a queue worker acknowledges a message only once done, and its
//!   `terminationGracePeriodSeconds` is assumed to cover the longest
//!   request) and costs pod-seconds until its last request is done.
//! - metrics-server scrapes every [`crate::sim::model::METRICS_RESOLUTION`]
//!   seconds; a pod's CPU is the rate of its cumulative usage between two
//!   scrapes (so a pod gets its first sample at the second scrape it sees)
//!   and its memory the working set at the scrape ("CPU is reported as the
//!   average core usage over the metric resolution ... memory as the
//!   working set at the instant the metric was collected", metrics-server
//!   FAQ). CPU = `idle_cpu + cpu_per_request x completions / window`;
//!   memory = `memory_per_pod + memory_per_inflight x in flight`.

use crate::dist::derive_seed;
use crate::hpa::{ConditionStatus, PodPhase, PodState, ReadyCondition, Sample};
use crate::scenario::Service;

/// Age of the pods that exist when the run starts, seconds: ready long
/// before, past the HPA's CPU initialization period.
pub(super) const INITIAL_AGE: f64 = 3600.0;

/// One pod.
#[derive(Debug, Clone)]
pub(super) struct Pod {
    /// Created (seconds; negative for the initial pods).
    pub(super) created: f64,
    /// When it becomes (or became) ready.
    pub(super) ready_at: f64,
    /// Became ready (stays set after deletion: the condition of a
    /// terminating pod is of no matter to the HPA, which ignores it).
    pub(super) ready: bool,
    /// When it was deleted.
    pub(super) deleted: Option<f64>,
    /// Deleted and drained: no longer exists.
    pub(super) gone: bool,
    /// Requests in service on it.
    pub(super) inflight: u32,
    /// Requests it finished since the last metrics-server scrape.
    pub(super) completions: u32,
    /// Pseudo-random UID (deletion-rank ties).
    uid: u64,
    /// `<service>-<n>`.
    name: String,
    /// metrics-server's CPU sample, millicores, and its time.
    cpu: Option<(i64, f64)>,
    /// metrics-server's memory sample, bytes.
    memory: Option<i64>,
}

/// Every pod of the run (ids are indices) and the counts the driver needs.
#[derive(Debug, Clone)]
pub(super) struct Pods {
    /// All pods ever created, by id.
    pub(super) all: Vec<Pod>,
    /// Ids of the pods that exist (not gone), in creation order (the pod
    /// lister's order).
    pub(super) live: Vec<u32>,
    /// Pods not deleted (the ReplicaSet's `status.replicas`).
    pub(super) active: u32,
    /// Pods ready and not deleted.
    pub(super) ready: u32,
    /// Seed of the UIDs.
    seed: u64,
    /// The service name (pod names).
    service: String,
}

/// `int64(math.Log2(float64(now - t)))` with the difference in
/// nanoseconds, -1 when not positive (`logarithmicRankDiff` upstream).
fn log_rank(now: f64, t: f64) -> i64 {
    let d = (now - t) * 1e9;
    if d > 0.0 { d.log2() as i64 } else { -1 }
}

impl Pods {
    /// No pods yet; `seed` seeds the UIDs.
    pub(super) fn new(service: &str, seed: u64) -> Pods {
        Pods {
            all: Vec::new(),
            live: Vec::new(),
            active: 0,
            ready: 0,
            seed,
            service: service.to_string(),
        }
    }

    /// Pods that exist (starting, ready or draining).
    pub(super) fn existing(&self) -> u32 {
        self.live.len() as u32
    }

    /// Creates a pod at `now` that becomes ready at `ready_at`; its id.
    pub(super) fn create(&mut self, now: f64, ready_at: f64) -> u32 {
        let id = self.all.len() as u32;
        self.all.push(Pod {
            created: now,
            ready_at,
            ready: false,
            deleted: None,
            gone: false,
            inflight: 0,
            completions: 0,
            uid: derive_seed(self.seed, &format!("uid/{id}")),
            name: format!("{}-{id}", self.service),
            cpu: None,
            memory: None,
        });
        self.live.push(id);
        self.active += 1;
        id
    }

    /// Marks pod `id` ready (if it was not deleted first); whether it is.
    pub(super) fn make_ready(&mut self, id: u32) -> bool {
        let p = &mut self.all[id as usize];
        if p.deleted.is_some() || p.ready {
            return false;
        }
        p.ready = true;
        self.ready += 1;
        true
    }

    /// Whether pod `id` takes new work (ready, not deleted).
    #[inline]
    pub(super) fn takes_work(&self, id: u32) -> bool {
        let p = &self.all[id as usize];
        p.ready && p.deleted.is_none()
    }

    /// Pods to delete to go down by `n` at `now`, in the ReplicaSet's order
    /// (see the module docs).
    pub(super) fn victims(&self, now: f64, n: usize) -> Vec<u32> {
        let mut cands: Vec<u32> = self
            .live
            .iter()
            .copied()
            .filter(|&id| self.all[id as usize].deleted.is_none())
            .collect();
        let key = |id: u32| {
            let p = &self.all[id as usize];
            // rule 3: not ready first; rule 6 (both ready): more recently
            // ready first; rule 8: more recently created first; then UID.
            let time = if p.ready {
                log_rank(now, p.ready_at)
            } else {
                log_rank(now, p.created)
            };
            (p.ready, time, p.uid)
        };
        cands.sort_by_key(|&id| key(id));
        cands.truncate(n);
        cands
    }

    /// Deletes pod `id` at `now`; whether it is gone at once (nothing in
    /// flight).
    pub(super) fn delete(&mut self, id: u32, now: f64) -> bool {
        let p = &mut self.all[id as usize];
        if p.deleted.is_some() {
            return false;
        }
        p.deleted = Some(now);
        self.active -= 1;
        if p.ready {
            self.ready -= 1;
        }
        p.inflight == 0
    }

    /// Removes drained pod `id`; the seconds it existed within the run.
    pub(super) fn remove(&mut self, id: u32, now: f64) -> f64 {
        let p = &mut self.all[id as usize];
        if p.gone {
            return 0.0;
        }
        p.gone = true;
        let cost = now - p.created.max(0.0);
        self.live.retain(|&x| x != id);
        cost
    }

    /// metrics-server's scrape at `now` (`window` seconds after the
    /// previous one); see the module docs.
    pub(super) fn scrape(&mut self, svc: &Service, now: f64, window: f64) {
        for &id in &self.live {
            let p = &mut self.all[id as usize];
            if p.created <= now - window {
                let cores = svc.pod_cpu(f64::from(p.completions) / window);
                p.cpu = Some(((cores * 1000.0).round() as i64, now));
                p.memory = Some(svc.pod_memory(f64::from(p.inflight)).round() as i64);
            } else {
                p.cpu = None;
                p.memory = None;
            }
            p.completions = 0;
        }
    }

    /// Mean CPU and memory utilization (fractions of the requests) of the
    /// ready pods with samples; 0 when none.
    pub(super) fn utilization(&self, svc: &Service) -> (f64, f64) {
        let (mut cpu, mut mem, mut n) = (0.0, 0.0, 0u32);
        for &id in &self.live {
            let p = &self.all[id as usize];
            if let (true, Some((c, _)), Some(m)) = (p.ready && p.deleted.is_none(), p.cpu, p.memory)
            {
                cpu += c as f64 / 1000.0 / svc.requests.cpu;
                mem += m as f64 / svc.requests.memory;
                n += 1;
            }
        }
        if n == 0 {
            (0.0, 0.0)
        } else {
            (cpu / f64::from(n), mem / f64::from(n))
        }
    }

    /// The pod lister's answer (every pod that exists, terminating ones
    /// with a deletion timestamp), with metrics-server's samples, into
    /// `out`.
    pub(super) fn states(&self, svc: &Service, window: f64, out: &mut Vec<PodState>) {
        out.clear();
        let cpu_request = (svc.requests.cpu * 1000.0).round() as i64;
        let memory_request = svc.requests.memory.round() as i64;
        for &id in &self.live {
            let p = &self.all[id as usize];
            let (status, since) = if p.ready {
                (ConditionStatus::True, p.ready_at)
            } else {
                (ConditionStatus::False, p.created)
            };
            out.push(PodState {
                name: p.name.clone(),
                phase: PodPhase::Running,
                ready: Some(ReadyCondition {
                    status,
                    last_transition_time: since,
                }),
                start_time: Some(p.created),
                deleting: p.deleted.is_some(),
                cpu_request: Some(cpu_request),
                memory_request: Some(memory_request),
                cpu_usage: p.cpu.map(|(value, timestamp)| Sample {
                    value,
                    timestamp,
                    window,
                }),
                memory_usage: p.cpu.zip(p.memory).map(|((_, timestamp), value)| Sample {
                    value,
                    timestamp,
                    window,
                }),
            });
        }
    }
}
