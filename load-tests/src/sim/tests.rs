use super::adapter::Adapter;
use super::model::{LATENCY_BUCKETS, histogram_quantile, latency_bucket, latency_quantile};
use super::pods::Pods;
use super::*;

/// A one-service scenario: `traces` and the service's `body` (indented
/// YAML after `- name: svc`).
fn scenario(traces: &str, body: &str) -> Scenario {
    let text = format!("seed: 3\ntraces:\n{traces}\nservices:\n  - name: svc\n{body}");
    Scenario::from_str(&text, "test.yaml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Service fields shared by the tests, with `queue`, `service_time`,
/// `inflight`, `initial` and `policies` filled in.
fn service(queue: &str, service_time: &str, inflight: u32, initial: u32, policies: &str) -> String {
    format!(
        "    queue: {queue}
    requests: {{cpu: 250m, memory: 256Mi}}
    service_time: {service_time}
    inflight_per_pod: {inflight}
    cpu_per_request: 4ms
    idle_cpu: 15m
    memory_per_pod: 180Mi
    memory_per_inflight: 8Mi
    startup: {{type: constant, value: 30s}}
    slo: {{queue_wait: 15s}}
    initial_replicas: {initial}
    policies:
{policies}"
    )
}

const LIST: &str = r#"{type: list, key: "q", name: q}"#;
const STREAM: &str = r#"{type: stream, key: "q", name: q, group: g}"#;

fn fixed(n: u32) -> String {
    format!("      fixed:\n        oracle: {{min_replicas: {n}, max_replicas: {n}}}\n")
}

fn aligned() -> SimOptions {
    SimOptions {
        random_phases: false,
        ..SimOptions::default()
    }
}

fn run_one(sc: &Scenario, policy: &str, trace: &str, opts: &SimOptions) -> Run {
    let s = &sc.services[0];
    run(sc, s, s.policy(policy).unwrap(), trace, opts).unwrap()
}

/// Erlang C: the probability that an arrival waits in M/M/c with offered
/// load `a` (erlangs).
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    let last = term * f64::from(c) / (f64::from(c) - a);
    last / (sum + last)
}

#[test]
fn fixed_capacity_matches_erlang_c() {
    // M/M/8: one pod with 8 slots, 6.5 req/s, 1 s mean service.
    let sc = scenario(
        "  flat: {type: constant, rate: 6.5, duration: 12h}",
        &service(LIST, "{type: exponential, mean: 1s}", 8, 1, &fixed(1)),
    );
    let r = run_one(&sc, "fixed", "flat", &aligned());
    let c = erlang_c(8, 6.5);
    // P(W > t) = C e^{-(c mu - lambda) t}
    let quantile = |q: f64| ((c / (1.0 - q)).ln() / (8.0 - 6.5)).max(0.0);
    let s = r.summary;
    for (got, q) in [(s.wait_p95, 0.95), (s.wait_p99, 0.99)] {
        let want = quantile(q);
        assert!(
            (got - want).abs() <= 0.05 * want,
            "p{q}: {got} vs Erlang C {want}"
        );
    }
    assert_eq!(s.wait_p50, 0.0, "C = {c}: most requests do not wait");
    let mean_busy: f64 =
        r.timeline.iter().map(|t| t.inflight).sum::<f64>() / r.timeline.len() as f64;
    assert!((mean_busy - 6.5).abs() < 0.2, "busy slots {mean_busy}");
    assert_eq!((s.scale_ups, s.scale_downs, s.peak_replicas), (0, 0, 1));
    assert!((s.replica_seconds - 12.0 * 3600.0).abs() < 1e-6);
    let expected = 6.5 * 12.0 * 3600.0;
    assert!((s.requests as f64 - expected).abs() < 4.0 * expected.sqrt());
}

#[test]
fn overload_grows_the_queue_linearly() {
    // 8 slots, 1 s each: capacity 8/s against 10/s: the backlog grows by
    // about 2/s.
    let sc = scenario(
        "  flat: {type: constant, rate: 10, duration: 20m}",
        &service(LIST, "{type: constant, value: 1s}", 8, 1, &fixed(1)),
    );
    let r = run_one(&sc, "fixed", "flat", &aligned());
    let last = r.timeline.last().unwrap();
    assert!(
        (last.queue_depth - 2400.0).abs() < 250.0,
        "{}",
        last.queue_depth
    );
    assert_eq!(last.inflight, 8.0);
    // Requests still queued count as waiting until the end.
    assert!(r.summary.wait_p99 > 200.0);
    assert!(!r.summary.slo_held);
    assert!(r.summary.completed < r.summary.requests);
}

#[test]
fn a_step_up_grows_the_queue_then_drains_it() {
    let policy = "      qd:
        hpa:
          minReplicas: 1
          maxReplicas: 20
          metrics:
            - type: External
              external:
                metric: {name: queue_depth, selector: {matchLabels: {queue: q}}}
                target: {type: AverageValue, averageValue: \"5\"}
          behavior:
            scaleDown: {stabilizationWindowSeconds: 3600}
";
    let sc = scenario(
        "  step: {type: step, duration: 40m, steps: [{at: 0, rate: 5}, {at: 10m, rate: 30}]}",
        &service(STREAM, "{type: lognormal, p50: 1s, p95: 3s}", 8, 2, policy),
    );
    let r = run_one(&sc, "qd", "step", &SimOptions::default());
    let at = |t: f64| r.timeline.iter().find(|x| x.t >= t).unwrap();
    let peak_queue = r
        .timeline
        .iter()
        .filter(|x| x.t > 600.0 && x.t < 900.0)
        .map(|x| x.queue_depth)
        .fold(0.0, f64::max);
    assert!(
        peak_queue > 20.0,
        "the step backs the queue up: {peak_queue}"
    );
    let tail_queue: f64 = r
        .timeline
        .iter()
        .filter(|x| x.t > 1800.0)
        .map(|x| x.queue_depth)
        .sum();
    assert!(tail_queue < 10.0, "drained: {tail_queue}");
    assert!(at(1800.0).ready_replicas > at(590.0).ready_replicas);
    assert!(r.summary.scale_ups >= 1);
    // The wait spikes after the step, and is back to nothing later.
    let worst = r
        .timeline
        .iter()
        .map(|x| x.wait_quantile_window)
        .filter(|w| !w.is_nan())
        .fold(0.0, f64::max);
    assert!(worst > 1.0);
    assert_eq!(at(2000.0).wait_quantile_window, 0.0);
}

#[test]
fn oracle_beats_the_cpu_rule_on_the_spike() {
    let sc = Scenario::default_scenario().unwrap();
    let s = sc.service("gateway").unwrap();
    let opts = SimOptions::default();
    let oracle = run(&sc, s, s.policy("oracle").unwrap(), "spike", &opts).unwrap();
    let cpu = run(&sc, s, s.policy("cpu-memory").unwrap(), "spike", &opts).unwrap();
    assert!(oracle.summary.slo_held, "{:?}", oracle.summary);
    assert!(!cpu.summary.slo_held, "{:?}", cpu.summary);
    assert!(oracle.summary.seconds_over_slo < cpu.summary.seconds_over_slo);
    assert!(oracle.summary.wait_p95 < cpu.summary.wait_p95);
    // The oracle provisions ahead: 26 pods at the peak of 60 req/s
    // (60 x 2.85 s / (8 x 0.85)).
    assert_eq!(oracle.summary.peak_replicas, 26);
}

#[test]
fn same_seed_same_run() {
    let sc = Scenario::default_scenario().unwrap();
    let s = sc.service("gateway").unwrap();
    let p = s.policy("queue-depth-latency").unwrap();
    let json = |seed| {
        let opts = SimOptions {
            seed: Some(seed),
            ..SimOptions::default()
        };
        serde_json::to_string(&run(&sc, s, p, "spike", &opts).unwrap()).unwrap()
    };
    assert_eq!(json(7), json(7));
    assert_ne!(json(7), json(8));
}

#[test]
fn replica_seconds_without_traffic() {
    for (initial, n) in [(4, 1), (1, 3), (2, 2)] {
        let sc = scenario(
            "  none: {type: constant, rate: 0, duration: 1h}",
            &service(LIST, "{type: constant, value: 1s}", 8, initial, &fixed(n)),
        );
        let r = run_one(&sc, "fixed", "none", &aligned());
        // The oracle syncs at 0 and the ReplicaSet acts at once.
        assert_eq!(r.summary.replica_seconds, f64::from(n) * 3600.0);
        assert_eq!(r.summary.peak_replicas, initial.max(n));
        assert_eq!(r.timeline.last().unwrap().ready_replicas, n);
    }
}

#[test]
fn replica_seconds_is_the_integral_of_pods() {
    let sc = Scenario::default_scenario().unwrap();
    let s = sc.service("gateway").unwrap();
    let opts = SimOptions {
        tick: 1.0,
        ..SimOptions::default()
    };
    for policy in ["queue-depth", "oracle"] {
        let r = run(&sc, s, s.policy(policy).unwrap(), "spike", &opts).unwrap();
        let integral: f64 = r.timeline.iter().map(|t| f64::from(t.replicas)).sum();
        let variation: f64 = r
            .timeline
            .windows(2)
            .map(|w| f64::from(w[0].replicas.abs_diff(w[1].replicas)))
            .sum::<f64>()
            + 40.0;
        assert!(
            (integral - r.summary.replica_seconds).abs() <= variation,
            "{policy}: {integral} vs {}",
            r.summary.replica_seconds
        );
    }
}

#[test]
fn deleted_pods_drain_and_cost() {
    // Long requests; the oracle wants 3 pods while traffic lasts, then 1.
    let sc = scenario(
        "  burst: {type: step, duration: 20m, steps: [{at: 0, rate: 0.05}, {at: 5m, rate: 0}]}",
        &service(
            LIST,
            "{type: constant, value: 200s}",
            4,
            3,
            "      o:\n        oracle: {lookahead: 0s, utilization: 1, min_replicas: 1, max_replicas: 3}\n",
        ),
    );
    let r = run_one(&sc, "o", "burst", &aligned());
    let down = r.events.iter().find(|e| e.to < e.from).unwrap();
    assert!(down.t >= 285.0 && down.t <= 300.0, "{down:?}");
    // Right after the scale-down the deleted pods still hold requests.
    let after = r.timeline.iter().find(|t| t.t > down.t + 10.0).unwrap();
    assert_eq!(after.desired_replicas, 1);
    assert!(after.replicas > 1, "{after:?}");
    // Everything is done 200 s after the last arrival; then one pod.
    let end = r.timeline.last().unwrap();
    assert_eq!((end.replicas, end.inflight), (1, 0.0));
    assert_eq!(r.summary.completed, r.summary.requests);
    assert!(r.summary.replica_seconds > 1200.0 + 2.0 * down.t);
}

#[test]
fn stream_oldest_age_counts_requests_in_service() {
    // No queue ever (ample slots) but 20 s requests: on a stream the
    // oldest pending entry is 0-20 s old, so a 5 s oldest-age target
    // scales to the maximum; the same on a zset (taken jobs leave it)
    // stays at the minimum.
    let policy = "      age:
        hpa:
          minReplicas: 2
          maxReplicas: 6
          metrics:
            - type: External
              external:
                metric: {name: queue_oldest_age_seconds, selector: {matchLabels: {queue: q}}}
                target: {type: Value, value: \"5\"}
";
    let zset = r#"{type: zset, key: "q", name: q, score_unit: milliseconds}"#;
    let peaks: Vec<u32> = [STREAM, zset]
        .iter()
        .map(|queue| {
            let sc = scenario(
                "  flat: {type: constant, rate: 0.2, duration: 30m}",
                &service(queue, "{type: constant, value: 20s}", 8, 2, policy),
            );
            run_one(&sc, "age", "flat", &SimOptions::default())
                .summary
                .peak_replicas
        })
        .collect();
    assert_eq!(peaks, [6, 2]);
}

#[test]
fn zset_jobs_wait_from_their_due_time() {
    let zset = r#"{type: zset, key: "q", name: q, delay: {type: constant, value: 30s}}"#;
    let sc = scenario(
        "  flat: {type: constant, rate: 1, duration: 10m}",
        &service(zset, "{type: constant, value: 1s}", 8, 1, &fixed(1)),
    );
    let r = run_one(&sc, "fixed", "flat", &aligned());
    // Nothing is takeable in the first 30 s, and no job waits once due.
    assert!(r.timeline[..5].iter().all(|t| t.inflight == 0.0));
    assert_eq!(r.summary.wait_p99, 0.0);
    // Jobs due after the end are arrivals but never queued.
    assert!(r.summary.completed + 35 > r.summary.requests);
    assert!(r.summary.completed + 25 < r.summary.requests);
}

#[test]
fn foreign_metrics_and_bad_options_are_errors() {
    let sc = Scenario::default_scenario().unwrap();
    let gateway = sc.service("gateway").unwrap();
    let other = sc
        .service("knowledge")
        .unwrap()
        .policy("queue-depth")
        .unwrap();
    let err = run(&sc, gateway, other, "spike", &SimOptions::default()).unwrap_err();
    assert!(matches!(err, SimError::ForeignMetric { .. }), "{err}");
    let p = gateway.policy("oracle").unwrap();
    let err = run(&sc, gateway, p, "nope", &SimOptions::default()).unwrap_err();
    assert!(matches!(err, SimError::Scenario(_)), "{err}");
    let bad = SimOptions {
        tick: 0.0,
        ..SimOptions::default()
    };
    assert!(matches!(
        run(&sc, gateway, p, "spike", &bad),
        Err(SimError::Option { name: "tick", .. })
    ));
}

#[test]
fn histogram_quantile_follows_prometheus() {
    let inf = f64::INFINITY;
    // Interpolation inside a bucket.
    let b = [(0.5, 0.0), (1.0, 10.0), (inf, 10.0)];
    assert_eq!(histogram_quantile(0.5, &b), Some(0.75));
    // Lowest bucket from 0; unsorted input.
    let b = [(inf, 4.0), (2.0, 4.0)];
    assert_eq!(histogram_quantile(0.25, &b), Some(0.5));
    // Rank in +Inf: the second-highest bound.
    let b = [(1.0, 1.0), (2.0, 1.0), (inf, 10.0)];
    assert_eq!(histogram_quantile(0.9, &b), Some(2.0));
    // Monotonicity forced, equal bounds coalesced.
    let b = [(1.0, 5.0), (2.0, 3.0), (2.0, 2.0), (inf, 10.0)];
    assert_eq!(histogram_quantile(0.5, &b), Some(1.0));
    // NaN cases and out-of-range q.
    assert_eq!(histogram_quantile(0.5, &[(1.0, 0.0), (inf, 0.0)]), None);
    assert_eq!(histogram_quantile(0.5, &[(1.0, 3.0), (2.0, 3.0)]), None);
    assert_eq!(histogram_quantile(0.5, &[(inf, 3.0)]), None);
    assert_eq!(histogram_quantile(-1.0, &[(inf, 3.0)]), Some(-inf));
    assert_eq!(histogram_quantile(2.0, &[(inf, 3.0)]), Some(inf));
    assert_eq!(
        latency_quantile(0.95, &[0.0; LATENCY_BUCKETS.len() + 1]),
        0.0
    );
    assert_eq!(latency_bucket(0.25), 0);
    assert_eq!(latency_bucket(0.26), 1);
    assert_eq!(latency_bucket(1e9), LATENCY_BUCKETS.len());
}

#[test]
fn adapter_latency_is_over_its_window() {
    let mut a = Adapter::new(60.0);
    a.scrape(0.0, 0.0);
    for _ in 0..100 {
        a.observe(3.0); // bucket (2, 4]
    }
    a.scrape(5.0, 3.0);
    assert_eq!(a.latency(0.5), 3.0);
    assert_eq!(a.request_rate(), 20.0);
    for t in 2..=13 {
        a.scrape(f64::from(t) * 5.0, 0.0);
    }
    // 65 s on: the window no longer holds the observations.
    assert_eq!(a.latency(0.5), 0.0);
    assert_eq!(a.request_rate(), 0.0);
}

#[test]
fn scale_down_order_is_the_replicasets() {
    let mut pods = Pods::new("svc", 1);
    let old = pods.create(-3600.0, -3500.0);
    let newer = pods.create(0.0, 40.0);
    let unready = pods.create(90.0, 200.0);
    let newest = pods.create(10.0, 95.0);
    for id in [old, newer, newest] {
        pods.make_ready(id);
    }
    let order = pods.victims(100.0, 4);
    // Unready first; then the most recently ready (5 s vs 60 s vs 3600 s
    // ago are different log2 ranks).
    assert_eq!(order, [unready, newest, newer, old]);
    assert_eq!(pods.victims(100.0, 1), [unready]);
    assert!(pods.delete(unready, 100.0));
    assert_eq!((pods.active, pods.ready), (3, 3));
}

#[test]
fn simulate_writes_runs_and_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let args = SimulateArgs {
        services: vec!["research".into()],
        policies: vec!["oracle".into(), "cpu-memory".into()],
        traces: vec!["spike".into()],
        out: Some(dir.path().to_path_buf()),
        threads: Some(2),
        tick: Some(10.0),
        ..SimulateArgs::default()
    };
    let runs = simulate(&args).unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r.meta.policy.as_str()).collect();
    assert_eq!(names, ["cpu-memory", "oracle"]);
    let csv = std::fs::read_to_string(dir.path().join("research--spike--oracle.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 45 * 60 / 10);
    let json = std::fs::read_to_string(dir.path().join("runs.json")).unwrap();
    let back: Vec<Run> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.len(), 2);
    let table = simulate::table(&runs);
    assert!(table.contains("research / spike"), "{table}");
    assert!(table.contains("MISSED"), "{table}");
    let bad = SimulateArgs {
        policies: vec!["nope".into()],
        ..SimulateArgs::default()
    };
    assert!(simulate(&bad).is_err());
}

/// `cargo test --release -p qma-load --lib default_scenario_table --
/// --ignored --nocapture`: every service, policy and trace of the default
/// scenario, tabulated.
#[test]
#[ignore = "prints the default scenario's table (a few seconds in release)"]
fn default_scenario_table() {
    let t0 = std::time::Instant::now();
    let runs = simulate(&SimulateArgs::default()).unwrap();
    eprintln!("{} runs in {:?}", runs.len(), t0.elapsed());
}

#[test]
fn a_drawn_workload_replays_the_same_run() {
    let sc = Scenario::default_scenario().unwrap();
    for (service, policy) in [("gateway", "queue-depth"), ("research", "queue-oldest-age")] {
        let s = sc.service(service).unwrap();
        let p = s.policy(policy).unwrap();
        let opts = SimOptions {
            seed: Some(11),
            ..SimOptions::default()
        };
        let direct = run(&sc, s, p, "spike", &opts).unwrap();
        let w = Workload::draw(&sc, s, "spike", 11).unwrap();
        assert_eq!(w.arrivals().len() as u64, direct.summary.requests);
        let replayed = run_workload(&sc, s, p, &w, &SimOptions::default()).unwrap();
        assert_eq!(
            serde_json::to_string(&direct).unwrap(),
            serde_json::to_string(&replayed).unwrap()
        );
        let other = sc.service("agent").unwrap();
        assert!(matches!(
            run_workload(&sc, other, p, &w, &opts),
            Err(SimError::Workload { .. })
        ));
    }
}
