//! Loader tests: the default scenario, a fixture with every type, and one
//! message (file, line, field path) per kind of mistake.

use super::*;
use crate::dist::Dist;
use crate::trace::Shape;

/// A small valid scenario; the bad-field cases each change one line.
const MINI: &str = r#"seed: 7
traces:
  flat: {type: constant, rate: 5, duration: 10m}
services:
  - name: web
    queue: {type: list, key: "q:web", name: web}
    requests: {cpu: 250m, memory: 256Mi}
    service_time: {type: lognormal, p50: 2s, p95: 8s}
    inflight_per_pod: 8
    cpu_per_request: 4ms
    idle_cpu: 15m
    memory_per_pod: 180Mi
    memory_per_inflight: 8Mi
    startup: {type: uniform, min: 20s, max: 60s}
    slo: {queue_wait: 15s}
    policies:
      depth:
        hpa:
          maxReplicas: 10
          metrics:
            - type: External
              external:
                metric: {name: queue_depth, selector: {matchLabels: {queue: web}}}
                target: {type: AverageValue, averageValue: 10}
      oracle: {oracle: {}}
"#;

/// The error message for `text`.
fn error(text: &str) -> String {
    match Scenario::from_str(text, "scenario.yaml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// MINI with the first `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    assert!(MINI.contains(from), "{from:?} not in MINI");
    MINI.replacen(from, to, 1)
}

#[test]
fn mini_loads() {
    let s = Scenario::from_str(MINI, "scenario.yaml").unwrap();
    assert_eq!(s.seed, 7);
    let web = &s.services[0];
    assert_eq!(web.queue.kind, QueueKind::List);
    assert_eq!(web.initial_replicas, None);
    assert_eq!(web.slo.quantile, 0.95);
    let Some(PolicyKind::Hpa(spec)) = web.policy("depth").map(|p| &p.kind) else {
        panic!()
    };
    assert_eq!(spec.scale_target_ref.name, "web");
    assert_eq!(spec.scale_target_ref.kind, "Deployment");
    assert_eq!(
        spec.scale_target_ref.api_version.as_deref(),
        Some("apps/v1")
    );
    let m = &spec.metrics.as_ref().unwrap()[0];
    let target = &m.external.as_ref().unwrap().target;
    assert_eq!(target.average_value.as_ref().unwrap().0, "10");
    assert_eq!(
        web.policy("oracle").unwrap().kind,
        PolicyKind::Oracle(Oracle {
            lookahead: 60.0,
            utilization: 0.85,
            min_replicas: 1,
            max_replicas: 1000
        })
    );
}

#[test]
fn bad_fields_name_path_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        // Distributions.
        (
            "p95: 8s}",
            "p95: 1s}",
            "8: services[0].service_time.p95: must be greater than p50 (2s)",
        ),
        (
            ", p95: 8s}",
            "}",
            "8: services[0].service_time.p95: is required for type lognormal",
        ),
        (
            "max: 60s}",
            "max: 10s}",
            "14: services[0].startup.max: must not be less than min (20s)",
        ),
        (
            "type: uniform,",
            "type: normal,",
            "14: services[0].startup.type: must be constant, uniform, exponential or lognormal (got \"normal\")",
        ),
        (
            "max: 60s}",
            "max: 60s, mean: 5s}",
            "14: services[0].startup.mean: only applies to type exponential, not uniform",
        ),
        (
            "p50: 2s,",
            "p50: soon,",
            "8: services[0].service_time.p50: \"soon\" is not a duration",
        ),
        (
            "max: 60s}",
            "max: 60s, per_token: 1ms}",
            "14: services[0].startup.per_token: only applies to service_time",
        ),
        (
            "p95: 8s}",
            "p95: 8s, per_token: 1ms}",
            "8: services[0].service_time.per_token: needs `tokens`",
        ),
        // Queue.
        (
            "type: list,",
            "type: stream,",
            "6: services[0].queue.group: is required for type stream",
        ),
        (
            "name: web}",
            "name: web, group: g}",
            "6: services[0].queue.group: only applies to type stream, not list",
        ),
        (
            "type: list,",
            "type: hash,",
            "6: services[0].queue.type: must be list, stream or zset (got \"hash\")",
        ),
        (
            "name: web}",
            "name: web, score_unit: seconds}",
            "6: services[0].queue.score_unit: only applies to type zset, not list",
        ),
        // Resources and usage.
        (
            "cpu: 250m",
            "cpu: 250x",
            "7: services[0].requests.cpu: \"250x\" is not a Kubernetes quantity",
        ),
        (
            "memory: 256Mi",
            "memory: 0",
            "7: services[0].requests.memory: must be greater than zero",
        ),
        (
            "inflight_per_pod: 8",
            "inflight_per_pod: 0",
            "9: services[0].inflight_per_pod: must be between 1 and 10000 (got 0)",
        ),
        (
            "cpu_per_request: 4ms",
            "cpu_per_request: 4x",
            "10: services[0].cpu_per_request: \"4x\" is not a duration",
        ),
        (
            "idle_cpu: 15m",
            "idle_cpu: -1",
            "11: services[0].idle_cpu: must not be negative (got -1)",
        ),
        (
            "queue_wait: 15s}",
            "queue_wait: 0s}",
            "15: services[0].slo.queue_wait: must be greater than zero",
        ),
        (
            "queue_wait: 15s}",
            "queue_wait: 15s, quantile: 1.5}",
            "15: services[0].slo.quantile: must be between 0 and 1",
        ),
        (
            "- name: web",
            "- name: Web_1",
            "5: services[0].name: \"Web_1\" must be a lowercase DNS label",
        ),
        // Traces.
        (
            "rate: 5,",
            "rate: -1,",
            "3: traces.flat.rate: must not be negative (got -1)",
        ),
        (
            "type: constant,",
            "type: ramp,",
            "3: traces.flat.type: must be constant, step, spike, diurnal, bursts or replay (got \"ramp\")",
        ),
        (
            ", duration: 10m}",
            "}",
            "3: traces.flat.duration: is required",
        ),
        (
            "rate: 5,",
            "rate: 5, peak: 9,",
            "3: traces.flat.peak: only applies to type spike, not constant",
        ),
        (
            "duration: 10m}",
            "duration: 10 minutes}",
            "3: traces.flat.duration: \"10 minutes\" is not a duration",
        ),
        (
            "duration: 10m}",
            "duration: 0}",
            "3: traces.flat.duration: must be greater than zero",
        ),
        (
            "duration: 10m}",
            "duration: 10m, noise: {cv: -1}}",
            "3: traces.flat.noise.cv: must not be negative (got -1)",
        ),
        // HPA specs.
        (
            "maxReplicas: 10",
            "maxReplicas: 0",
            "19: services[0].policies.depth.hpa.maxReplicas: must be between 1 and 2147483647 (got 0)",
        ),
        (
            "maxReplicas: 10",
            "maxReplicas: 10\n          minReplicas: 20",
            "19: services[0].policies.depth.hpa.maxReplicas: must not be less than minReplicas (20)",
        ),
        (
            "maxReplicas: 10",
            "maxReplica: 10",
            "19: services[0].policies.depth.hpa.maxReplica: unknown field, expected one of scaleTargetRef, minReplicas, maxReplicas, metrics, behavior",
        ),
        (
            "maxReplicas: 10",
            "maxReplicas: ten",
            "19: services[0].policies.depth.hpa.maxReplicas: must be a whole number, not a string",
        ),
        (
            "name: queue_depth,",
            "name: queue_dept,",
            "23: services[0].policies.depth.hpa.metrics[0].external.metric.name: unknown metric \"queue_dept\"",
        ),
        (
            "queue: web}}}",
            "queue: other}}}",
            "23: services[0].policies.depth.hpa.metrics[0].external.metric.selector.matchLabels.queue: no service of the scenario consumes queue \"other\" (queues: web)",
        ),
        (
            "name: queue_depth,",
            "name: queue_oldest_age_seconds,",
            "23: services[0].policies.depth.hpa.metrics[0].external.metric.name: the adapter cannot tell the oldest age of queue \"web\"",
        ),
        (
            "name: queue_depth,",
            "name: queue_pending,",
            "23: services[0].policies.depth.hpa.metrics[0].external.metric.name: queue \"web\" has no pending entries",
        ),
        (
            "{queue: web}}}",
            "{queue: web, tier: x}}}",
            "23: services[0].policies.depth.hpa.metrics[0].external.metric.selector.matchLabels.tier: queue_depth has no label \"tier\"",
        ),
        (
            "selector: {matchLabels: {queue: web}}}",
            "selector: {}}",
            "23: services[0].policies.depth.hpa.metrics[0].external.metric.selector: needs matchLabels.queue",
        ),
        (
            "type: AverageValue,",
            "type: Utilization,",
            "24: services[0].policies.depth.hpa.metrics[0].external.target.type: must be Value or AverageValue for this metric (got Utilization)",
        ),
        (
            "averageValue: 10}",
            "value: 10}",
            "24: services[0].policies.depth.hpa.metrics[0].external.target.type: type AverageValue needs `averageValue`",
        ),
        (
            "averageValue: 10}",
            "averageValue: 0}",
            "24: services[0].policies.depth.hpa.metrics[0].external.target.averageValue: must be greater than zero",
        ),
        (
            "averageValue: 10}",
            "averageValue: lots}",
            "24: services[0].policies.depth.hpa.metrics[0].external.target.averageValue: \"lots\" is not a Kubernetes quantity",
        ),
        (
            "type: AverageValue,",
            "type: Average,",
            "24: services[0].policies.depth.hpa.metrics[0].external.target.type: must be one of Utilization, Value, AverageValue (got \"Average\")",
        ),
        (
            "- type: External",
            "- type: Pods",
            "21: services[0].policies.depth.hpa.metrics[0].type: type Pods needs `pods`",
        ),
        (
            "- type: External",
            "- type: Resource",
            "22: services[0].policies.depth.hpa.metrics[0].external: only applies to type External",
        ),
        (
            "          metrics:\n",
            "          metric:\n",
            "20: services[0].policies.depth.hpa.metric: unknown field",
        ),
        (
            "oracle: {oracle: {}}",
            "oracle: {oracle: {utilization: 0}}",
            "25: services[0].policies.oracle.oracle.utilization: must be greater than 0 and at most 1",
        ),
        (
            "oracle: {oracle: {}}",
            "oracle: {oracle: {min_replicas: 5, max_replicas: 2}}",
            "25: services[0].policies.oracle.oracle.max_replicas: must not be less than min_replicas (5)",
        ),
        (
            "oracle: {oracle: {}}",
            "oracle: {oracle: {lookahead: 2h}}",
            "25: services[0].policies.oracle.oracle.lookahead: must be at most 1h (got 2h)",
        ),
        (
            "oracle: {oracle: {}}",
            "oracle: {description: x}",
            "25: services[0].policies.oracle: needs `hpa: <HorizontalPodAutoscalerSpec>` or `oracle: {}`",
        ),
    ];
    let mut failures = Vec::new();
    for (from, to, want) in cases {
        let got = error(&with(from, to));
        if !got.contains(&format!("scenario.yaml:{want}")) {
            failures.push(format!(
                "{from:?} -> {to:?}\n  want: scenario.yaml:{want}\n  got:  {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_issues_example_message() {
    let e = error(&with("p95: 8s}", "p95: 1s}"));
    assert_eq!(
        e,
        "scenario.yaml:8: services[0].service_time.p95: must be greater than p50 (2s)"
    );
}

#[test]
fn every_problem_is_reported_in_line_order() {
    let text = with("rate: 5,", "rate: -1,").replace("inflight_per_pod: 8", "inflight_per_pod: 0");
    let Err(Error::Invalid { problems, origin }) = Scenario::from_str(&text, "s.yaml") else {
        panic!()
    };
    assert_eq!(origin, "s.yaml");
    let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![3, 9]);
    assert_eq!(problems[1].field, "services[0].inflight_per_pod");
}

#[test]
fn syntax_errors_name_path_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "seed: 7",
            "sed: 7",
            "scenario.yaml:1: sed: unknown field `sed`",
        ),
        (
            "    service_time:",
            "    servce_time:",
            "scenario.yaml:8: services[0].servce_time: unknown field `servce_time`",
        ),
        (
            "    inflight_per_pod: 8\n",
            "",
            "scenario.yaml:5: services[0].inflight_per_pod: missing field `inflight_per_pod`",
        ),
        (
            "inflight_per_pod: 8",
            "inflight_per_pod: many",
            "scenario.yaml:9: services[0].inflight_per_pod: ",
        ),
        (
            "queue: {type: list,",
            "queue: {kind: list,",
            "scenario.yaml:6: services[0].queue.kind: unknown field `kind`",
        ),
        (
            "rate: 5,",
            "rate: 5, extra: 1,",
            "scenario.yaml:3: traces.flat.extra: unknown field `extra`",
        ),
        ("seed: 7", "seed: [", "scenario.yaml:"),
        (
            "seed: 7",
            "seed: -1",
            "scenario.yaml:1: seed: must be a whole number, 0 or more",
        ),
        // In a flow mapping, the key before the error's column.
        (
            "p50: 2s,",
            "p50: [1],",
            "scenario.yaml:8: services[0].service_time.p50: invalid type: sequence",
        ),
        (
            "rate: 5,",
            "rate: fast,",
            "scenario.yaml:3: traces.flat.rate: must be a number",
        ),
    ];
    for (from, to, want) in cases {
        let got = error(&with(from, to));
        assert!(
            got.starts_with(want),
            "{from:?} -> {to:?}\n  want: {want}\n  got:  {got}"
        );
        assert!(!got.contains("column"), "{got}");
    }
}

#[test]
fn duplicates_and_references_across_services() {
    let two = MINI.replace(
        "services:\n",
        "services:\n  - name: web\n    queue: {type: list, key: \"q:web\", name: web}\n    requests: {cpu: 1, memory: 1Gi}\n    service_time: {type: constant, value: 1s}\n    inflight_per_pod: 1\n    cpu_per_request: 0\n    idle_cpu: 0\n    memory_per_pod: 1Gi\n    memory_per_inflight: 0\n    startup: {type: constant, value: 0}\n    slo: {queue_wait: 1s}\n    traffic: {traces: {flat: nope}}\n    policies: {o: {oracle: {}}}\n",
    );
    let e = error(&two);
    for want in [
        "scenario.yaml:16: services[0].traffic.traces.flat: no trace \"nope\" (the value; traces: flat)",
        "scenario.yaml:18: services[1].name: duplicate service name \"web\" (first at line 5)",
        "scenario.yaml:19: services[1].queue.name: duplicate queue name \"web\" (first at line 6)",
        "scenario.yaml:19: services[1].queue.key: duplicate Redis key \"q:web\" (first at line 6)",
    ] {
        assert!(e.contains(want), "want {want}\ngot:\n{e}");
    }
}

#[test]
fn default_scenario_gateway_is_the_issues() {
    let s = Scenario::default_scenario().unwrap();
    let names: Vec<&str> = s.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["gateway", "knowledge", "agent", "research", "assistant"]
    );
    let g = s.service("gateway").unwrap();
    assert_eq!(g.requests.cpu, 0.25);
    assert_eq!(g.requests.memory, 256.0 * 1024.0 * 1024.0);
    assert_eq!(g.service_time.base, Dist::lognormal(2.0, 8.0).unwrap());
    assert_eq!(g.service_time.tokens, None);
    assert_eq!(g.inflight_per_pod, 8);
    assert_eq!(g.cpu_per_request, 0.004);
    assert!((g.idle_cpu - 0.015).abs() < 1e-12);
    assert_eq!(g.memory_per_pod, 180.0 * 1024.0 * 1024.0);
    assert_eq!(g.memory_per_inflight, 8.0 * 1024.0 * 1024.0);
    assert_eq!(
        g.startup,
        Dist::Uniform {
            min: 20.0,
            max: 60.0
        }
    );
    assert_eq!(
        g.slo,
        Slo {
            quantile: 0.95,
            queue_wait: 15.0
        }
    );
    assert_eq!(g.initial_replicas, Some(2));
    assert!((g.pod_memory(8.0) / g.requests.memory - 244.0 / 256.0).abs() < 1e-12);
    assert!((g.pod_cpu(2.0) - 0.023).abs() < 1e-12);
    let policies: Vec<&str> = g.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        policies,
        [
            "cpu-memory",
            "cpu-memory-max40",
            "queue-depth",
            "queue-depth-latency",
            "queue-oldest-age",
            "queue-work",
            "oracle"
        ]
    );
    for (name, max) in [("cpu-memory", 10), ("cpu-memory-max40", 40)] {
        let Some(PolicyKind::Hpa(spec)) = g.policy(name).map(|p| &p.kind) else {
            panic!()
        };
        assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), max));
        let m = spec.metrics.as_ref().unwrap();
        let r: Vec<(&str, Option<i32>)> = m
            .iter()
            .map(|m| {
                let r = m.resource.as_ref().unwrap();
                (r.name.as_str(), r.target.average_utilization)
            })
            .collect();
        assert_eq!(r, [("cpu", Some(70)), ("memory", Some(80))]);
    }
    let Some(PolicyKind::Hpa(lat)) = g.policy("queue-depth-latency").map(|p| &p.kind) else {
        panic!()
    };
    let ext = lat.metrics.as_ref().unwrap()[1].external.as_ref().unwrap();
    assert_eq!(ext.metric.name, "service_latency_seconds");
    let labels = ext
        .metric
        .selector
        .as_ref()
        .unwrap()
        .match_labels
        .as_ref()
        .unwrap();
    assert_eq!(labels.get("service").map(String::as_str), Some("gateway"));
    assert_eq!(labels.get("quantile").map(String::as_str), Some("0.95"));
    let Some(PolicyKind::Oracle(o)) = g.policy("oracle").map(|p| &p.kind) else {
        panic!()
    };
    assert_eq!(o.lookahead, 60.0);
    // Every service has the same six policies (the gateway also queue-work)
    // and a queue the oldest age is known for.
    for svc in &s.services {
        let n = if svc.name == "gateway" { 7 } else { 6 };
        assert_eq!(svc.policies.len(), n, "{}", svc.name);
        assert!(svc.queue.kind.has_oldest_age(), "{}", svc.name);
    }
    let research = s.service("research").unwrap();
    assert!(matches!(
        research.queue.kind,
        QueueKind::Zset {
            score_unit: ScoreUnit::Milliseconds,
            ..
        }
    ));
    let agent = s.service("agent").unwrap();
    assert!(agent.service_time.tokens.is_some());
}

#[test]
fn default_traces_and_profiles() {
    let s = Scenario::default_scenario().unwrap();
    let spike = s.trace("spike").unwrap();
    assert_eq!(spike.duration, 2700.0);
    let g = s.service("gateway").unwrap();
    let p = s.profile(g, "spike", s.seed).unwrap();
    for (t, want) in [(240.0, 10.0), (330.0, 35.0), (600.0, 60.0), (1020.0, 10.0)] {
        assert!((p.rate(t) - want).abs() < 1e-9, "at {t}: {}", p.rate(t));
    }
    assert!(p.horizon() >= 2700.0 + LOOKAHEAD_MARGIN);
    let k = s.service("knowledge").unwrap();
    let pk = s.profile(k, "spike", s.seed).unwrap();
    assert!((pk.rate(600.0) - 36.0).abs() < 1e-9);
    // Services draw independent arrivals; a profile repeats.
    let a: Vec<f64> = p.arrivals(60.0).collect();
    let b: Vec<f64> = s
        .profile(g, "spike", s.seed)
        .unwrap()
        .arrivals(60.0)
        .collect();
    let c: Vec<f64> = s
        .profile(s.service("assistant").unwrap(), "spike", s.seed)
        .unwrap()
        .arrivals(60.0)
        .collect();
    assert_eq!(a, b);
    assert_ne!(a[..10], c[..10]);
    let Shape::Diurnal(d) = &s.trace("diurnal").unwrap().shape else {
        panic!()
    };
    assert_eq!(
        (d.min, d.max, d.period, d.peak_at),
        (2.0, 40.0, 86_400.0, 50_400.0)
    );
    assert!(matches!(s.trace("nope"), Err(Error::UnknownTrace { .. })));
    assert_eq!(
        s.service("nope").unwrap_err().to_string(),
        "no service \"nope\" in the scenario (services: gateway, knowledge, agent, research, assistant)"
    );
}

#[test]
fn default_tune_expands() {
    let s = Scenario::default_scenario().unwrap();
    let t = s.tune.as_ref().unwrap();
    assert_eq!(t.size(), 20);
    assert_eq!(t.traces, ["spike", "diurnal"]);
    let g = s.service("gateway").unwrap();
    let c = s.tune_candidates(g);
    assert_eq!(c.len(), 20);
    assert_eq!(c[0].name, "queue-work/target=4/up=default/window=1m");
    assert_eq!(c[19].name, "queue-work/target=7.5/up=fast/window=5m");
    let spec = &c[19].spec;
    let target = &spec.metrics.as_ref().unwrap()[0]
        .external
        .as_ref()
        .unwrap()
        .target;
    assert_eq!(target.average_value.as_ref().unwrap().0, "7.5");
    let b = spec.behavior.as_ref().unwrap();
    assert_eq!(
        b.scale_down.as_ref().unwrap().stabilization_window_seconds,
        Some(300)
    );
    assert_eq!(
        b.scale_up
            .as_ref()
            .unwrap()
            .policies
            .as_ref()
            .unwrap()
            .len(),
        2
    );
    assert!(s.tune_candidates(s.service("agent").unwrap()).is_empty());
    // Pure: expanding again gives the same list.
    assert_eq!(c, s.tune_candidates(g));
}

/// A fixture file's path.
fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn fixture_with_every_kind_loads() {
    let s = Scenario::load(fixture("all-kinds.yaml")).unwrap();
    assert_eq!(s.seed, 99);
    let kinds: Vec<&str> = s.traces.iter().map(|t| t.shape.type_name()).collect();
    assert_eq!(
        kinds,
        [
            "constant", "step", "spike", "diurnal", "bursts", "replay", "replay"
        ]
    );
    let rec = s.trace("recorded").unwrap();
    assert_eq!(rec.duration, 600.0);
    let Shape::Replay(r) = &rec.shape else {
        panic!()
    };
    assert!(r.source.ends_with("rates.csv"));
    assert_eq!(r.points.len(), 6);
    assert_eq!(rec.shape.rate(90.0), 8.0);
    assert_eq!(rec.shape.rate(120.0), 30.0);
    let Shape::Replay(inline) = &s.trace("inline").unwrap().shape else {
        panic!()
    };
    assert_eq!(inline.points, [(0.0, 5.0), (60.0, 20.0), (120.0, 20.0)]);
    let day = s.trace("day").unwrap();
    let Shape::Diurnal(d) = &day.shape else {
        panic!()
    };
    assert_eq!((d.period, d.peak_at), (86_400.0, 43_200.0));
    assert_eq!(day.noise.map(|n| (n.cv, n.interval)), Some((0.1, 60.0)));
    let Shape::Step { steps } = &s.trace("steps").unwrap().shape else {
        panic!()
    };
    assert_eq!(
        steps.iter().map(|s| s.at).collect::<Vec<_>>(),
        [0.0, 600.0, 1200.0]
    );
    let Shape::Spike(sp) = &s.trace("spike").unwrap().shape else {
        panic!()
    };
    assert_eq!(sp.ramp_down, 120.0);

    let web = s.service("web").unwrap();
    assert_eq!(web.trace_for("spike"), "bursty");
    assert_eq!(web.trace_for("flat"), "flat");
    let p = s.profile(web, "spike", s.seed).unwrap();
    assert!(p.horizon() >= 2700.0 + LOOKAHEAD_MARGIN);
    assert!(p.rate(0.0) >= 2.5);
    let flat = s.profile(web, "flat", s.seed).unwrap();
    assert_eq!(flat.rate(100.0), 10.0);
    assert!((web.service_time.mean() - 0.9).abs() < 1e-12);
    assert_eq!(web.slo.quantile, 0.99);
    let Some(PolicyKind::Hpa(cpu)) = web.policy("cpu").map(|p| &p.kind) else {
        panic!()
    };
    assert_eq!(cpu.scale_target_ref.kind, "StatefulSet");
    assert_eq!(cpu.scale_target_ref.name, "web-sts");
    assert_eq!(
        web.policy("oracle").unwrap().kind,
        PolicyKind::Oracle(Oracle {
            lookahead: 120.0,
            utilization: 0.7,
            min_replicas: 2,
            max_replicas: 50
        })
    );
    let jobs = s.service("jobs").unwrap();
    assert_eq!(
        jobs.queue.kind,
        QueueKind::Zset {
            score_unit: ScoreUnit::Seconds,
            delay: Dist::Exponential { mean: 10.0 }
        }
    );
    assert_eq!(jobs.initial_replicas, Some(3));
    assert_eq!(jobs.cpu_per_request, 1.0);

    let t = s.tune.as_ref().unwrap();
    assert_eq!(t.size(), 8);
    assert_eq!(t.services, ["web", "jobs"]);
    let c = s.tune_candidates(web);
    assert_eq!(c.len(), 8);
    assert_eq!(
        c[0].name,
        "cpu/target=50/min=1/max=8/up=slow/down=gentle/window=0s"
    );
    assert_eq!(
        c[7].name,
        "cpu/target=70/min=2/max=8/up=slow/down=gentle/window=10m"
    );
    let spec = &c[7].spec;
    let target = &spec.metrics.as_ref().unwrap()[0]
        .resource
        .as_ref()
        .unwrap()
        .target;
    assert_eq!(target.average_utilization, Some(70));
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 8));
    let down = spec.behavior.as_ref().unwrap().scale_down.as_ref().unwrap();
    assert_eq!(down.select_policy.as_deref(), Some("Min"));
    assert_eq!(down.stabilization_window_seconds, Some(600));
    let jc = s.tune_candidates(jobs);
    let target = &jc[0].spec.metrics.as_ref().unwrap()[0]
        .resource
        .as_ref()
        .unwrap()
        .target;
    assert_eq!(target.average_value.as_ref().unwrap().0, "50");
}

#[test]
fn replay_csv_errors_name_the_csv_line() {
    let path = fixture("all-kinds.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let origin = path.display().to_string();
    let bad = text.replace("file: rates.csv", "file: bad-rates.csv");
    let e = Scenario::from_str(&bad, &origin).unwrap_err().to_string();
    let csv = fixture("bad-rates.csv").display().to_string();
    assert_eq!(
        e,
        format!("{origin}:16: traces.recorded.file: {csv}:4: rate \"lots\" is not a number")
    );
    let missing = text.replace("file: rates.csv", "file: nope.csv");
    let e = Scenario::from_str(&missing, &origin)
        .unwrap_err()
        .to_string();
    assert!(e.contains(":16: traces.recorded.file: cannot read "), "{e}");
    let e = Scenario::load(fixture("nope.yaml")).unwrap_err();
    assert!(matches!(e, Error::Read { .. }), "{e}");
}

#[test]
fn tune_errors_name_path_and_line() {
    let cases: &[(&str, &str)] = &[
        (
            "tune: {base: nope}",
            "26: tune.base: service \"web\" has no policy \"nope\"",
        ),
        (
            "tune: {base: oracle}",
            "26: tune.base: policy \"oracle\" of service \"web\" is the oracle",
        ),
        (
            "tune: {base: depth, targets: [5]}",
            "26: tune.metric: is required with `targets`",
        ),
        (
            "tune: {base: depth, metric: cpu, targets: [5]}",
            "26: tune.metric: policy \"depth\" of service \"web\" has no metric \"cpu\"",
        ),
        (
            "tune: {base: depth, metric: queue_depth, targets: []}",
            "26: tune.targets: needs at least one value",
        ),
        (
            "tune: {base: depth, metric: queue_depth, targets: [0]}",
            "26: tune.targets[0]: 0 must be a quantity greater than zero",
        ),
        (
            "tune: {base: depth, traces: [nope]}",
            "26: tune.traces[0]: no trace \"nope\" in the scenario (traces: flat)",
        ),
        (
            "tune: {base: depth, services: [api]}",
            "26: tune.services[0]: no service \"api\" in the scenario (services: web)",
        ),
        (
            "tune: {base: depth, scale_up: {x: {selectPolicy: Maybe}}}",
            "26: tune.scale_up.x.selectPolicy: must be one of Max, Min, Disabled (got \"Maybe\")",
        ),
        (
            "tune: {base: depth, scale_down: {x: {policies: [{type: Pods, value: 1}]}}}",
            "26: tune.scale_down.x.policies[0].periodSeconds: is required",
        ),
        (
            "tune: {base: depth, scale_down_window: [2h]}",
            "26: tune.scale_down_window[0]: \"2h\" must be whole seconds from 0s to 1h",
        ),
        (
            "tune: {base: depth, min_replicas: [20]}",
            "26: tune.max_replicas: service \"web\": a maxReplicas of 10 is below a minReplicas of 20 in the family",
        ),
        (
            "tune: {base: depth, min_replicas: [0]}",
            "26: tune.min_replicas[0]: must be a whole number of at least 1",
        ),
        (
            "tune: {base: depth, extra: 1}",
            "26: tune.extra: unknown field `extra`",
        ),
    ];
    for (tune, want) in cases {
        let text = format!("{MINI}{tune}\n");
        let got = error(&text);
        assert!(
            got.starts_with(&format!("scenario.yaml:{want}")),
            "{tune}\n  want: {want}\n  got:  {got}"
        );
    }
    let many: Vec<String> = (1..=101).map(|n| n.to_string()).collect();
    let text = format!(
        "{MINI}tune: {{base: depth, metric: queue_depth, targets: [{}], min_replicas: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], max_replicas: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]}}\n",
        many.join(", ")
    );
    assert!(error(&text).contains("tune: expands to 10100 candidates per service; at most 10000"));
}

#[test]
fn empty_and_misplaced_sections() {
    let e = error("traces: {}\nservices: []\n");
    assert!(
        e.contains("scenario.yaml:1: traces: needs at least one trace"),
        "{e}"
    );
    assert!(
        e.contains("scenario.yaml:2: services: needs at least one service"),
        "{e}"
    );
    let e = error(
        &with("      oracle: {oracle: {}}\n", "")
            .replace("      depth:", "      depth:\n        oracle: {}"),
    );
    assert!(
        e.contains("services[0].policies.depth: has both `hpa` and `oracle`; give one"),
        "{e}"
    );
}
