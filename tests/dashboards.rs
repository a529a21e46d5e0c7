//! Every query of the Grafana dashboards (dashboards/*.json) runs on a real
//! Prometheus that scrapes a running adapter reading real Redis queues, a
//! fake pod with a latency histogram, and a test exporter standing in for
//! kube-state-metrics, the kube-apiserver and cAdvisor
//! (tests/support/exporter.rs), with deploy/prometheus/rules.yaml and the
//! example SLOs loaded. With the dashboard variables filled in as Grafana
//! would (a value each, `$__rate_interval` from the 1 s scrape interval),
//! each panel query must come back from `/api/v1/query_range` and
//! `/api/v1/query` with `status: success`, no warnings and a non-empty
//! result; each variable query (`label_values`) must offer the value used.
//! Every recording and alerting rule must evaluate without error, and the
//! alerts this world calls for (a wrong-type key, a dead pod, a broken PromQL
//! query, a queue never read) go pending with the adapter's real labels while
//! the others stay quiet.
//!
//! The adapter is scraped as the ServiceMonitor of
//! deploy/components/prometheus-operator scrapes it: `honor_labels`, target
//! labels `namespace` and `pod`, no `service`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::adapter::Adapter;
use support::exporter::{Cluster, Exporter, Hpa};
use support::pods::Pod;
use support::prometheus::Prometheus;
use support::{RedisServer, require_prometheus};

const NS: &str = "ai-platform";
const ADAPTER_NS: &str = "queue-metrics-adapter";
const ADAPTER_POD: &str = "queue-metrics-adapter-7d9f8c6b5-x2x4k";
/// Grafana's `$__rate_interval` for a 1 s scrape interval and a 1 s step:
/// max($__interval + scrape interval, 4 × scrape interval).
const RATE_INTERVAL: &str = "4s";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Redis with the AI platform's kinds of queue: a list, a stream with a
/// consumer group (entries undelivered and pending), a zset of delayed jobs
/// (two due), per-tenant lists found by a glob, and a key of the wrong type.
fn fill(redis: &RedisServer) {
    redis.cmd(&["RPUSH", "gateway:requests", "r1", "r2", "r3", "r4", "r5"]);
    for i in 0..5 {
        redis.cmd(&["XADD", "knowledge:jobs", "*", "doc", &i.to_string()]);
    }
    redis.cmd(&["XGROUP", "CREATE", "knowledge:jobs", "workers", "0"]);
    redis.cmd(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "w1",
        "COUNT",
        "2",
        "STREAMS",
        "knowledge:jobs",
        ">",
    ]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (score, job) in [(now - 40, "j1"), (now - 5, "j2"), (now + 3600, "later")] {
        redis.cmd(&["ZADD", "research:delayed", &score.to_string(), job]);
    }
    redis.cmd(&["RPUSH", "agent:t1:queue", "a"]);
    redis.cmd(&["RPUSH", "agent:t2:queue", "b", "c"]);
    redis.cmd(&["HSET", "broken:key", "f", "v"]);
}

fn config(redis: &str, pod: &str, dead: u16, prom_port: u16) -> String {
    format!(
        r#"redis:
  url: {redis}
poll_interval: 200ms
max_staleness: 10s
scan_interval: 1s
scrape_interval: 500ms
queues:
  - {{name: gateway-requests, namespaces: [{NS}], key: "gateway:requests", type: list, labels: {{service: gateway}}}}
  - {{name: knowledge-jobs, namespaces: [{NS}], key: "knowledge:jobs", type: stream, group: workers, labels: {{service: knowledge-service}}}}
  - {{name: research-delayed, namespaces: [{NS}], key: "research:delayed", type: zset, max_score: now, score_unit: seconds, labels: {{service: research-service}}}}
  - {{name: agent-tasks, namespaces: [{NS}], pattern: "agent:*:queue", type: list, labels: {{service: agent-service}}}}
  - {{name: broken, namespaces: [{NS}], key: "broken:key", type: list}}
services:
  - name: gateway
    namespaces: [{NS}]
    urls: ["{pod}", "http://127.0.0.1:{dead}/metrics"]
    histogram: llm_request_duration_seconds
    matchers: 'model="gpt"'
    quantiles: [0.5, 0.95, 0.99]
    window: 5s
    request_counter: llm_requests_total
    inflight_gauge: llm_inflight_requests
promql:
  - name: gateway_targets_up
    namespaces: [{NS}]
    url: http://127.0.0.1:{prom_port}
    query: sum(up)
    interval: 1s
  - name: broken_query
    namespaces: [{NS}]
    url: http://127.0.0.1:{prom_port}
    query: 'sum(('
    interval: 1s
"#
    )
}

/// The two scrape jobs: the adapter as the ServiceMonitor scrapes it, and
/// the exporter as kube-state-metrics is scraped.
fn scrape_configs(adapter_admin: &str, exporter: &str) -> String {
    format!(
        "  - job_name: queue-metrics-adapter\n    honor_labels: true\n    static_configs:\n      - targets: ['{adapter_admin}']\n        labels: {{namespace: {ADAPTER_NS}, pod: {ADAPTER_POD}, container: adapter, endpoint: admin}}\n  - job_name: kube-state-metrics\n    honor_labels: true\n    static_configs:\n      - targets: ['{exporter}']\n"
    )
}

/// A panel query or a variable query, with where it comes from.
struct Query {
    origin: String,
    expr: String,
}

/// Every panel target's `expr` (rows' nested panels included) and every query
/// variable's definition of a dashboard.
fn queries(dashboard: &Value, file: &str) -> (Vec<Query>, Vec<Query>) {
    let mut panels = Vec::new();
    let mut stack: Vec<&Value> = dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(p) = stack.pop() {
        if let Some(inner) = p["panels"].as_array() {
            stack.extend(inner);
        }
        for t in p["targets"].as_array().into_iter().flatten() {
            panels.push(Query {
                origin: format!(
                    "{file}: panel {:?} target {}",
                    p["title"].as_str().unwrap_or_default(),
                    t["refId"].as_str().unwrap_or_default()
                ),
                expr: t["expr"].as_str().expect("a Prometheus target").to_string(),
            });
        }
    }
    let variables = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["type"] == "query")
        .map(|v| Query {
            origin: format!("{file}: variable {}", v["name"].as_str().unwrap()),
            expr: v["query"].as_str().unwrap().to_string(),
        })
        .collect();
    (panels, variables)
}

/// Replaces `$name` and `${name}` as Grafana interpolates a single value
/// (longest names first, so `$__rate_interval` is not read as `$__rate`).
fn fill_in(expr: &str, values: &BTreeMap<&str, &str>) -> String {
    let mut names: Vec<_> = values.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = expr.to_string();
    for n in names {
        out = out
            .replace(&format!("${{{n}}}"), values[n])
            .replace(&format!("${n}"), values[n]);
    }
    assert!(
        !out.contains('$'),
        "a variable is left in {out:?} (from {expr:?})"
    );
    out
}

async fn get(url: reqwest::Url) -> Value {
    reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The problem with a Prometheus API answer, if any: not a success, any
/// warning, or an empty result.
fn problem(answer: &Value) -> Option<String> {
    if answer["status"] != "success" {
        return Some(format!("status {}: {}", answer["status"], answer["error"]));
    }
    if answer
        .get("warnings")
        .is_some_and(|w| !w.as_array().is_none_or(|a| a.is_empty()))
    {
        return Some(format!("warnings: {}", answer["warnings"]));
    }
    let data = &answer["data"];
    let empty = match data.get("result") {
        Some(r) => r.as_array().is_none_or(|a| a.is_empty()),
        None => data.as_array().is_none_or(|a| a.is_empty()),
    };
    empty.then(|| "no data".to_string())
}

/// Runs a panel query as a range query over the last 20 s and as an instant query.
async fn run_panel_query(prom: &Prometheus, expr: &str) -> Option<String> {
    let end = now();
    let range = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/query_range", prom.url),
        &[
            ("query", expr.to_string()),
            ("start", format!("{:.3}", end - 20.0)),
            ("end", format!("{end:.3}")),
            ("step", "1".to_string()),
        ],
    )
    .unwrap();
    if let Some(p) = problem(&get(range).await) {
        return Some(format!("query_range: {p}"));
    }
    let instant =
        reqwest::Url::parse_with_params(&format!("{}/api/v1/query", prom.url), &[("query", expr)])
            .unwrap();
    problem(&get(instant).await).map(|p| format!("query: {p}"))
}

/// Runs `label_values(SELECTOR, LABEL)` as Grafana does (the label values API
/// with `match[]`), and checks that `want` is offered.
async fn run_variable_query(prom: &Prometheus, expr: &str, want: &str) -> Option<String> {
    let inner = expr
        .strip_prefix("label_values(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a label_values() query: {expr}"));
    let (selector, label) = inner.rsplit_once(',').unwrap();
    let end = now();
    let url = reqwest::Url::parse_with_params(
        &format!("{}/api/v1/label/{}/values", prom.url, label.trim()),
        &[
            ("match[]", selector.trim().to_string()),
            ("start", format!("{:.3}", end - 60.0)),
            ("end", format!("{end:.3}")),
        ],
    )
    .unwrap();
    let answer = get(url).await;
    if let Some(p) = problem(&answer) {
        return Some(p);
    }
    let offered: Vec<&str> = answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    (!offered.contains(&want)).then(|| format!("{want:?} not among {offered:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_returns_data_from_a_real_prometheus() {
    support::require_redis!();
    require_prometheus!();
    let started = Instant::now();

    let redis = RedisServer::start();
    fill(&redis);
    let mut pod = Pod::start(false).await;
    pod.drive(vec![0.3, 0.7, 1.5, 4.0], 3.0);
    let dead = support::free_port(); // a gateway pod that never answers
    let prom_port = support::free_port();
    let adapter = Adapter::start(&config(&redis.url(), &pod.url(), dead, prom_port)).await;
    let exporter = Exporter::start(Cluster {
        hpas: vec![
            Hpa {
                namespace: NS.into(),
                name: "gateway".into(),
                current: 4,
                desired: 4,
                min: 2,
                max: 4,
                metric: ("queue_depth".into(), 5.0, 7.5),
            },
            Hpa {
                namespace: NS.into(),
                name: "knowledge-service".into(),
                current: 2,
                desired: 3,
                min: 1,
                max: 10,
                metric: ("queue_depth".into(), 10.0, 12.0),
            },
        ],
        adapter_namespace: ADAPTER_NS.into(),
        adapter_pods: vec![ADAPTER_POD.into()],
        apiservice_unavailable: 0,
    })
    .await;
    let rules: Vec<PathBuf> = ["rules.yaml", "slos.example.yaml"]
        .iter()
        .map(|f| root().join("deploy/prometheus").join(f))
        .collect();
    let prom = Prometheus::start_with(
        prom_port,
        &scrape_configs(&adapter.running.admin_addr.to_string(), &exporter.target()),
        &rules,
    )
    .await;
    // Ready once Prometheus, which the PromQL entries query, answers too.
    adapter.wait_ready().await;

    // The HPA controller's requests, and some that fail: an unknown metric
    // (404) and a queue whose key has the wrong type (503).
    let hpa = {
        let client = adapter.client.clone();
        let base = adapter.base();
        tokio::spawn(async move {
            let paths = [
                format!(
                    "/apis/external.metrics.k8s.io/v1beta1/namespaces/{NS}/queue_depth?labelSelector=queue%3Dgateway-requests"
                ),
                format!("/apis/external.metrics.k8s.io/v1beta1/namespaces/{NS}/no_such_metric"),
                format!(
                    "/apis/external.metrics.k8s.io/v1beta1/namespaces/{NS}/queue_depth?labelSelector=queue%3Dbroken"
                ),
            ];
            loop {
                for p in &paths {
                    let _ = client.get(format!("{base}{p}")).send().await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let mut values = BTreeMap::new();
    values.insert("namespace", NS);
    values.insert("service", "gateway"); // one repetition of the per-service row
    values.insert("queue", ".*"); // the variable's All value
    values.insert("job", "queue-metrics-adapter");
    values.insert("pod", ADAPTER_POD);
    values.insert("__rate_interval", RATE_INTERVAL);
    let health_values = {
        let mut v = values.clone();
        v.insert("namespace", ADAPTER_NS); // the adapter's namespace, hidden variable
        v
    };

    let mut panel_queries = Vec::new();
    let mut variable_queries = Vec::new();
    for (file, vals) in [
        ("autoscaling-overview.json", &values),
        ("adapter-health.json", &health_values),
    ] {
        let text = std::fs::read_to_string(root().join("dashboards").join(file)).unwrap();
        let dashboard: Value = serde_json::from_str(&text).unwrap();
        let (panels, variables) = queries(&dashboard, file);
        assert!(panels.len() >= 10, "{file}: only {} queries", panels.len());
        for q in panels {
            panel_queries.push((q.origin, fill_in(&q.expr, vals)));
        }
        for q in variables {
            let name = q.origin.rsplit(' ').next().unwrap().to_string();
            let want = vals[name.as_str()];
            let want = if want == ".*" {
                "gateway-requests"
            } else {
                want
            };
            variable_queries.push((q.origin, fill_in(&q.expr, vals), want.to_string()));
        }
    }

    // Prometheus needs a few scrapes before rates over 4 s exist; each query is
    // retried until it has data or the deadline passes.
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut failures = Vec::new();
    for (origin, expr) in &panel_queries {
        loop {
            match run_panel_query(&prom, expr).await {
                None => break,
                Some(p) if Instant::now() >= deadline => {
                    failures.push(format!("{origin}: {p}\n    {expr}"));
                    break;
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
    for (origin, expr, want) in &variable_queries {
        loop {
            match run_variable_query(&prom, expr, want).await {
                None => break,
                Some(p) if Instant::now() >= deadline => {
                    failures.push(format!("{origin}: {p}\n    {expr}"));
                    break;
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }

    // Every rule of rules.yaml and the SLO file evaluates on this data without
    // error (a join that matches many-to-many would fail here).
    let rules_deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = reqwest::Url::parse(&format!("{}/api/v1/rules", prom.url)).unwrap();
        let answer = get(url).await;
        let mut bad = Vec::new();
        let mut count = 0;
        for g in answer["data"]["groups"].as_array().unwrap() {
            for r in g["rules"].as_array().unwrap() {
                count += 1;
                if r["health"] != "ok" {
                    bad.push(format!(
                        "{} {}: {} {}",
                        g["name"], r["name"], r["health"], r["lastError"]
                    ));
                }
            }
        }
        if bad.is_empty() && count == 17 {
            break;
        }
        if Instant::now() >= rules_deadline {
            failures.push(format!("rules ({count} loaded): {bad:#?}"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The alerts this world should raise go pending (their `for:` is minutes),
    // with the labels the adapter really exports; the others stay quiet.
    let expected = [
        "QMARedisPollErrors queue=broken reason=wrong_type",
        "QMAScrapeErrors service=gateway reason=fetch",
        "QMAPromQLErrors name=broken_query reason=query",
        "QMADataStale kind=queue name=broken",
        // Refused by Prometheus, so never read: the API answers 503 for it.
        "QMADataStale kind=promql name=broken_query",
    ];
    let alerts_deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = reqwest::Url::parse(&format!("{}/api/v1/alerts", prom.url)).unwrap();
        let answer = get(url).await;
        let active: Vec<String> = answer["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let l = &a["labels"];
                let mut s = l["alertname"].as_str().unwrap().to_string();
                for k in ["queue", "service", "kind", "name", "reason"] {
                    if let Some(v) = l[k].as_str() {
                        s.push_str(&format!(" {k}={v}"));
                    }
                }
                s
            })
            .collect();
        let missing: Vec<_> = expected
            .iter()
            .filter(|e| !active.iter().any(|a| a == *e))
            .collect();
        let unexpected: Vec<_> = active
            .iter()
            .filter(|a| !expected.contains(&a.as_str()))
            .collect();
        if missing.is_empty() && unexpected.is_empty() {
            break;
        }
        if Instant::now() >= alerts_deadline {
            failures.push(format!(
                "alerts: missing {missing:?}, unexpected {unexpected:?}"
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    hpa.abort();
    pod.stop();
    assert!(
        failures.is_empty(),
        "{} problems ({} dashboard queries checked):\n{}",
        failures.len(),
        panel_queries.len() + variable_queries.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} panel queries and {} variable queries returned data in {:.1}s",
        panel_queries.len(),
        variable_queries.len(),
        started.elapsed().as_secs_f64()
    );
}
