//! Synthetic but plausible runs and a sweep for the report's demo
//! (`examples/report_demo.rs`) and its browser test: a fluid queue model
//! with HPA-like policies, five-second ticks, a 15 s sync period, pod
//! start-up delays and the default scenario's traces (spike, 45 min;
//! diurnal, 24 h). Not the simulator: only data shaped like its output, so
//! the report can be looked at before the simulator exists.
#![allow(dead_code)]

use qma_load::outcome::{CandidateResult, Run, RunMeta, ScaleEvent, Summary, Sweep, Tick};

/// A service's figures, as in the default scenario.
#[derive(Debug, Clone)]
pub struct Svc {
    pub name: &'static str,
    /// Multiplies the trace.
    pub scale: f64,
    /// Requests one ready pod completes per second (inflight / mean service time).
    pub per_pod: f64,
    /// Mean service time, s.
    pub service_time: f64,
    pub slo: f64,
    pub cpu_request: f64,
    pub cpu_per_request: f64,
    pub idle_cpu: f64,
    pub mem_request: f64,
    pub mem_pod: f64,
    pub mem_inflight: f64,
    pub startup: (f64, f64),
}

pub fn gateway() -> Svc {
    Svc {
        name: "gateway",
        scale: 1.0,
        per_pod: 2.8,
        service_time: 2.85,
        slo: 15.0,
        cpu_request: 0.25,
        cpu_per_request: 0.004,
        idle_cpu: 0.015,
        mem_request: 256.0,
        mem_pod: 180.0,
        mem_inflight: 8.0,
        startup: (20.0, 60.0),
    }
}

pub fn assistant() -> Svc {
    Svc {
        name: "assistant",
        scale: 0.8,
        per_pod: 6.1,
        service_time: 1.96,
        slo: 5.0,
        cpu_request: 0.25,
        cpu_per_request: 0.005,
        idle_cpu: 0.015,
        mem_request: 384.0,
        mem_pod: 200.0,
        mem_inflight: 6.0,
        startup: (20.0, 60.0),
    }
}

pub fn research() -> Svc {
    Svc {
        name: "research",
        scale: 0.02,
        per_pod: 0.047,
        service_time: 42.8,
        slo: 120.0,
        cpu_request: 0.5,
        cpu_per_request: 0.2,
        idle_cpu: 0.02,
        mem_request: 1024.0,
        mem_pod: 400.0,
        mem_inflight: 64.0,
        startup: (45.0, 180.0),
    }
}

/// An HPA-like policy.
#[derive(Debug, Clone, Copy)]
pub enum Pol {
    /// CPU 70 % and memory 80 % utilization.
    Resource { max: u32 },
    /// Queue depth per pod (AverageValue).
    Queue {
        target: f64,
        max: u32,
        fast_up: bool,
        down_window: f64,
    },
    /// Queue depth, and the p95 latency against `latency`.
    QueueLatency { target: f64, latency: f64 },
    /// The oldest waiting request's age against `target`, seconds.
    OldestAge { target: f64 },
    /// Provisions for the rate one minute ahead at 85 % utilization.
    Oracle,
}

/// The default scenario's policies for a service.
pub fn default_policies(svc: &Svc) -> Vec<(&'static str, Pol)> {
    let target = (svc.service_time * svc.per_pod * 1.25).max(1.0).round();
    vec![
        ("cpu-memory", Pol::Resource { max: 10 }),
        ("cpu-memory-max40", Pol::Resource { max: 40 }),
        (
            "queue-depth",
            Pol::Queue {
                target,
                max: 40,
                fast_up: false,
                down_window: 300.0,
            },
        ),
        (
            "queue-depth-latency",
            Pol::QueueLatency {
                target,
                latency: svc.service_time * 3.0,
            },
        ),
        (
            "queue-oldest-age",
            Pol::OldestAge {
                target: svc.slo / 3.0,
            },
        ),
        ("oracle", Pol::Oracle),
    ]
}

/// Trace rate, requests per second, and horizon.
pub fn trace(name: &str) -> (fn(f64) -> f64, f64) {
    fn spike(t: f64) -> f64 {
        if t < 300.0 {
            10.0
        } else if t < 360.0 {
            10.0 + 50.0 * (t - 300.0) / 60.0
        } else if t < 960.0 {
            60.0
        } else {
            10.0
        }
    }
    fn diurnal(t: f64) -> f64 {
        let phase = 2.0 * std::f64::consts::PI * (t - 14.0 * 3600.0) / 86400.0;
        2.0 + 38.0 * (1.0 + phase.cos()) / 2.0
    }
    match name {
        "diurnal" => (diurnal, 86400.0),
        _ => (spike, 2700.0),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (a, b) = (self.next().max(1e-12), self.next());
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    }
    /// Poisson-ish count with mean `m` (normal approximation above 30).
    fn poisson(&mut self, m: f64) -> f64 {
        if m > 30.0 {
            return (m + m.sqrt() * self.normal()).round().max(0.0);
        }
        let (l, mut k, mut p) = ((-m).exp(), 0.0, 1.0);
        loop {
            p *= self.next();
            if p <= l {
                return k;
            }
            k += 1.0;
        }
    }
}

const TICK: f64 = 5.0;
const SYNC: f64 = 15.0;
const WINDOW: usize = 12; // 60 s of ticks

/// One run of `svc` under policy `pol` (called `policy`) and trace `trace_name`.
pub fn run(svc: &Svc, trace_name: &str, policy: &str, pol: Pol, seed: u64) -> Run {
    let (rate, horizon) = trace(trace_name);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut start_rng = Rng(0xDEAD_BEEF ^ seed.wrapping_add(policy.len() as u64));
    let min = if matches!(pol, Pol::Oracle) { 1 } else { 2 };
    let mut pods: Vec<f64> = vec![0.0; 2];
    let mut desired = 2u32;
    let mut recs: Vec<(f64, u32)> = Vec::new();
    let (mut q, mut t) = (0.0f64, 0.0f64);
    let mut timeline: Vec<Tick> = Vec::new();
    let mut events: Vec<ScaleEvent> = Vec::new();
    let mut waits: Vec<(f64, f64)> = Vec::new(); // (wait, arrivals)
    let mut lat_p95 = svc.service_time * 2.0;
    let mut next_sync = SYNC;
    while t < horizon - 1e-9 {
        t += TICK;
        let lambda = rate(t) * svc.scale;
        let arrivals = rng.poisson(lambda * TICK);
        let ready = pods.iter().filter(|r| **r <= t).count() as f64;
        let cap = ready * svc.per_pod * TICK;
        let served = (q + arrivals).min(cap);
        q = (q + arrivals - served).max(0.0);
        let throughput = served / TICK;
        let inflight = throughput * svc.service_time;
        let per_ready = if ready > 0.0 { 1.0 / ready } else { 0.0 };
        let cpu = if ready > 0.0 {
            (svc.idle_cpu + svc.cpu_per_request * throughput * per_ready) / svc.cpu_request
        } else {
            0.0
        };
        let mem = if ready > 0.0 {
            (svc.mem_pod + svc.mem_inflight * inflight * per_ready) / svc.mem_request
        } else {
            0.0
        };
        let wait = if q <= 0.0 {
            0.0
        } else if ready > 0.0 {
            q / (ready * svc.per_pod) * 1.3
        } else {
            t.min(600.0)
        };
        let wait_q = if arrivals > 0.0 {
            wait * (1.0 + 0.08 * rng.normal()).max(0.5)
        } else {
            f64::NAN
        };
        waits.push((wait_q, arrivals));
        let lo = waits.len().saturating_sub(WINDOW);
        let win = waits[lo..]
            .iter()
            .map(|w| w.0)
            .filter(|w| w.is_finite())
            .fold(f64::NAN, f64::max);
        lat_p95 = 0.8 * lat_p95 + 0.2 * (svc.service_time * 2.8 + wait);
        if t >= next_sync {
            next_sync += SYNC;
            let cur = desired.max(1);
            let (raw, reason): (u32, &str) = match pol {
                Pol::Resource { .. } => {
                    let r = (cpu / 0.7).max(mem / 0.8);
                    if (r - 1.0).abs() <= 0.1 || ready == 0.0 {
                        (cur, "within tolerance")
                    } else if cpu / 0.7 >= mem / 0.8 {
                        (
                            (ready * r).ceil() as u32,
                            "cpu resource utilization (percentage of request) above target",
                        )
                    } else {
                        (
                            (ready * r).ceil() as u32,
                            "memory resource utilization (percentage of request) above target",
                        )
                    }
                }
                // A stream's depth counts the pending (in-flight) entries too.
                Pol::Queue { target, .. } => (
                    ((q + inflight) / target).ceil() as u32,
                    "external metric queue_depth above target",
                ),
                Pol::QueueLatency { target, latency } => {
                    let a = ((q + inflight) / target).ceil() as u32;
                    let b = (f64::from(cur) * lat_p95 / latency).ceil() as u32;
                    if b > a {
                        (b, "external metric service_latency_seconds above target")
                    } else {
                        (a, "external metric queue_depth above target")
                    }
                }
                Pol::OldestAge { target } => {
                    let r = wait / 1.3 / target;
                    if (r - 1.0).abs() <= 0.1 {
                        (cur, "within tolerance")
                    } else {
                        (
                            (f64::from(cur) * r).ceil() as u32,
                            "external metric queue_oldest_age_seconds above target",
                        )
                    }
                }
                Pol::Oracle => {
                    let ahead = (0..=12)
                        .map(|i| rate(t + 5.0 * f64::from(i)))
                        .fold(0.0, f64::max);
                    (
                        ((ahead * svc.scale) / (svc.per_pod * 0.85)).ceil() as u32,
                        "oracle",
                    )
                }
            };
            let (max, fast, window) = match pol {
                Pol::Resource { max } => (max, false, 300.0),
                Pol::Queue {
                    max,
                    fast_up,
                    down_window,
                    ..
                } => (max, fast_up, down_window),
                Pol::Oracle => (1000, true, 0.0),
                _ => (40, false, 300.0),
            };
            let mut next = raw.clamp(min, max);
            let capped = raw > max;
            recs.push((t, next));
            recs.retain(|(at, _)| *at > t - window - 1e-9);
            let stabilized = recs.iter().map(|r| r.1).max().unwrap_or(next);
            if next < cur {
                next = stabilized.min(cur);
            }
            if !matches!(pol, Pol::Oracle) && next > cur {
                let limit = if fast {
                    (cur * 3).max(cur + 8)
                } else {
                    (cur * 2).max(cur + 4)
                };
                next = next.min(limit);
            }
            if next != desired {
                let why = if capped && next == max {
                    "TooManyReplicas: the desired replica count is more than the maximum replica count"
                } else {
                    reason
                };
                events.push(ScaleEvent {
                    t,
                    from: desired,
                    to: next,
                    reason: why.to_owned(),
                });
                desired = next;
            }
        }
        while pods.len() < desired as usize {
            let (a, b) = svc.startup;
            pods.push(t + a + (b - a) * start_rng.next());
        }
        while pods.len() > desired as usize {
            // Not-ready pods go first, then the newest.
            let i = pods
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .map_or(0, |(i, _)| i);
            pods.remove(i);
        }
        let ready_now = pods.iter().filter(|r| **r <= t).count() as u32;
        timeline.push(Tick {
            t,
            arrival_rate: arrivals / TICK,
            expected_rate: lambda,
            queue_depth: q,
            oldest_age: wait / 1.3,
            inflight,
            desired_replicas: desired,
            replicas: pods.len() as u32,
            ready_replicas: ready_now,
            wait_quantile: wait_q,
            wait_quantile_window: win,
            cpu_utilization: cpu,
            memory_utilization: mem,
        });
    }
    let summary = summarize(&timeline, &waits, &events, svc.slo);
    Run {
        meta: RunMeta {
            mode: "simulate".into(),
            scenario: "scenarios/default.yaml".into(),
            service: svc.name.into(),
            policy: policy.into(),
            trace: trace_name.into(),
            seed,
            horizon,
            tick: TICK,
            slo_quantile: 0.95,
            slo_queue_wait: svc.slo,
        },
        timeline,
        summary,
        events,
    }
}

fn weighted_quantile(w: &[(f64, f64)], q: f64) -> f64 {
    let mut v: Vec<(f64, f64)> = w
        .iter()
        .copied()
        .filter(|x| x.0.is_finite() && x.1 > 0.0)
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|x| x.1).sum();
    let mut acc = 0.0;
    for (x, n) in &v {
        acc += n;
        if acc >= q * total {
            return *x;
        }
    }
    0.0
}

fn summarize(tl: &[Tick], waits: &[(f64, f64)], events: &[ScaleEvent], slo: f64) -> Summary {
    let p95 = weighted_quantile(waits, 0.95);
    let mut flaps = 0;
    for w in events.windows(2) {
        let up = |e: &ScaleEvent| e.to > e.from;
        if up(&w[0]) != up(&w[1]) && w[1].t - w[0].t < 300.0 {
            flaps += 1;
        }
    }
    Summary {
        requests: waits.iter().map(|w| w.1).sum::<f64>() as u64,
        completed: waits.iter().map(|w| w.1).sum::<f64>() as u64,
        wait_p50: weighted_quantile(waits, 0.5),
        wait_p95: p95,
        wait_p99: weighted_quantile(waits, 0.99),
        wait_slo_quantile: p95,
        seconds_over_slo: tl.iter().filter(|k| k.wait_quantile_window > slo).count() as f64 * TICK,
        slo_held: p95 <= slo,
        replica_seconds: tl.iter().map(|k| f64::from(k.replicas) * TICK).sum(),
        peak_replicas: tl.iter().map(|k| k.replicas).max().unwrap_or(0),
        scale_ups: events.iter().filter(|e| e.to > e.from).count() as u32,
        scale_downs: events.iter().filter(|e| e.to < e.from).count() as u32,
        flaps,
        ..Summary::default()
    }
}

/// Every default policy of `services` under both traces.
pub fn comparison_runs(services: &[Svc], traces: &[&str]) -> Vec<Run> {
    let mut out = Vec::new();
    for svc in services {
        for tr in traces {
            for (name, pol) in default_policies(svc) {
                out.push(run(svc, tr, name, pol, 1));
            }
        }
    }
    out
}

/// A `tune` sweep of the gateway's queue-depth policy over both traces
/// (targets × scale-up × scale-down window, as in the default scenario),
/// and the runs of its recommendation and the oracle.
pub fn gateway_sweep() -> (Sweep, Vec<Run>) {
    let svc = gateway();
    let traces = ["spike", "diurnal"];
    let oracle: Vec<Run> = traces
        .iter()
        .map(|t| run(&svc, t, "oracle", Pol::Oracle, 1))
        .collect();
    let mut candidates = Vec::new();
    let mut candidate_runs = Vec::new();
    for target in [5.0, 10.0, 20.0, 40.0] {
        for fast_up in [false, true] {
            for down_window in [60.0, 300.0] {
                let name = format!(
                    "queue-depth/target={target}/up={}/window={}",
                    if fast_up { "fast" } else { "default" },
                    if down_window < 100.0 { "60s" } else { "5m" }
                );
                let pol = Pol::Queue {
                    target,
                    max: 40,
                    fast_up,
                    down_window,
                };
                let runs: Vec<Run> = traces.iter().map(|t| run(&svc, t, &name, pol, 1)).collect();
                let per_trace: Vec<Summary> = runs.iter().map(|r| r.summary).collect();
                let mut behavior = serde_json::json!({
                    "scaleDown": {"stabilizationWindowSeconds": down_window as u64}
                });
                if fast_up {
                    behavior["scaleUp"] = serde_json::json!({
                        "stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                        "policies": [{"type": "Percent", "value": 200, "periodSeconds": 15},
                                     {"type": "Pods", "value": 8, "periodSeconds": 15}]
                    });
                }
                candidates.push(CandidateResult {
                    name,
                    spec: serde_json::json!({
                        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"},
                        "minReplicas": 2, "maxReplicas": 40,
                        "metrics": [{"type": "External", "external": {
                            "metric": {"name": "queue_depth", "selector": {"matchLabels": {"queue": "gateway-requests"}}},
                            "target": {"type": "AverageValue", "averageValue": format!("{target}")}}}],
                        "behavior": behavior
                    }),
                    holds_slo: per_trace.iter().all(|s| s.slo_held),
                    cost: per_trace.iter().map(|s| s.replica_seconds).sum(),
                    worst_wait: per_trace.iter().map(|s| s.wait_slo_quantile).fold(0.0, f64::max),
                    per_trace,
                });
                candidate_runs.push(runs);
            }
        }
    }
    let recommended = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.holds_slo)
        .min_by(|a, b| a.1.cost.total_cmp(&b.1.cost))
        .map(|(i, _)| i);
    let mut runs = Vec::new();
    for (t, o) in oracle.iter().enumerate() {
        if let Some(i) = recommended {
            runs.push(candidate_runs[i][t].clone());
        }
        runs.push(o.clone());
    }
    let sweep = Sweep {
        scenario: "scenarios/default.yaml".into(),
        service: "gateway".into(),
        traces: traces.iter().map(|t| t.to_string()).collect(),
        slo_quantile: 0.95,
        slo_queue_wait: svc.slo,
        candidates,
        recommended,
        oracle: oracle.iter().map(|r| r.summary).collect(),
    };
    (sweep, runs)
}
