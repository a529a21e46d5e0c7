//! Latency from the services themselves, checked against the real thing: a
//! real Prometheus scrapes the same fake pods while the adapter does, and the
//! adapter's quantiles equal Prometheus's `histogram_quantile` within 1%.
//! Also EndpointSlice discovery (fake Kubernetes API) and the PromQL source.

mod support;

use std::time::{Duration, Instant};

use queue_metrics_adapter::k8s::quantity;
use serde_json::json;
use support::adapter::{Adapter, assert_status};
use support::kube_api::FakeKube;
use support::pods::Pod;
use support::prometheus::Prometheus;
use support::require_prometheus;

const HISTOGRAM: &str = "llm_request_duration_seconds";

fn service(name: &str, urls: &[String], window: &str, extra: &str) -> String {
    let urls = urls
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "  - name: {name}\n    namespaces: [ai-platform]\n    urls: [{urls}]\n    histogram: {HISTOGRAM}\n    matchers: 'model=\"gpt\"'\n    quantiles: [0.5, 0.9, 0.95, 0.99]\n    window: {window}\n    request_counter: llm_requests_total\n    inflight_gauge: llm_inflight_requests\n{extra}"
    )
}

async fn adapter_value(a: &Adapter, metric: &str, selector: &str) -> Option<f64> {
    let r = a.metric("ai-platform", metric, Some(selector)).await;
    let v = r.json["items"][0]["value"].as_str()?;
    Some(quantity::parse(v).unwrap())
}

/// Compares every quantile of `service` (window `w`) with Prometheus; retries for a
/// few seconds since the two sample at different moments.
async fn assert_matches_prometheus(
    a: &Adapter,
    prom: &Prometheus,
    service: &str,
    w: &str,
    rate_tolerance: f64,
) {
    for q in [0.5, 0.9, 0.95, 0.99] {
        let query = format!(
            "histogram_quantile({q}, sum by (le) (rate({HISTOGRAM}_bucket{{model=\"gpt\"}}[{w}])))"
        );
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let ours = adapter_value(
                a,
                "service_latency_seconds",
                &format!("service={service},quantile={q}"),
            )
            .await;
            let theirs = prom.scalar(&query).await;
            if let (Some(o), Some(t)) = (ours, theirs)
                && (o - t).abs() <= 0.01 * t.abs()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{service} q={q} window={w}: adapter {ours:?} vs prometheus {theirs:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let rate_q = format!("sum(rate(llm_requests_total{{model=\"gpt\"}}[{w}]))");
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let ours = adapter_value(a, "service_request_rate", &format!("service={service}")).await;
        let theirs = prom.scalar(&rate_q).await;
        if let (Some(o), Some(t)) = (ours, theirs)
            && (o - t).abs() <= rate_tolerance * t.abs()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{service} rate: adapter {ours:?} vs prometheus {theirs:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quantiles_equal_prometheus_histogram_quantile_including_reset_and_a_pod_leaving() {
    require_prometheus!();
    let mut a_pod = Pod::start(false).await;
    let mut b_pod = Pod::start(true).await;
    let mut c_pod = Pod::start(false).await;
    a_pod.drive(vec![0.05, 0.3, 0.7, 1.5], 2.0);
    b_pod.drive(vec![0.2, 0.4, 3.0], 3.0);
    c_pod.drive(vec![0.08, 0.9, 6.0, 0.3, 0.3], 5.0);
    let pods = [&a_pod, &b_pod, &c_pod];
    let urls: Vec<String> = pods.iter().map(|p| p.url()).collect();
    let prom =
        Prometheus::start(&pods.iter().map(|p| p.addr.to_string()).collect::<Vec<_>>()).await;
    let yaml = format!(
        "scrape_interval: 1s\nmax_staleness: 10s\nservices:\n{}{}",
        service("llm10", &urls, "10s", ""),
        service("llm20", &urls, "20s", "")
    );
    let a = Adapter::start(&yaml).await;
    // Let both fill their windows.
    tokio::time::sleep(Duration::from_secs(21)).await;
    assert_matches_prometheus(&a, &prom, "llm10", "10s", 0.01).await;
    assert_matches_prometheus(&a, &prom, "llm20", "20s", 0.01).await;
    assert_eq!(
        adapter_value(&a, "service_inflight", "service=llm10").await,
        Some(10.0)
    );

    // Pod A restarts (counters reset): the reset is inside both windows. The
    // requests A served between its last scrape and the reset are lost to any
    // rate() — up to a scrape interval's worth, at a different scrape phase for
    // Prometheus and for us — so the request rate may differ by a few percent
    // (seen: 592 vs 599/s); the quantiles, which depend on the mix, stay within 1%.
    a_pod.reset();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_matches_prometheus(&a, &prom, "llm20", "20s", 0.03).await;
    assert_matches_prometheus(&a, &prom, "llm10", "10s", 0.03).await;
    // Pod C goes away. While its last samples are still in a window both sides
    // extrapolate from them, but from scrapes up to a second apart, so the two
    // may differ by a few percent (seen once: 3.80 vs 3.73). Once C has left the
    // 10s window entirely, only A and B count on both sides.
    c_pod.stop();
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_matches_prometheus(&a, &prom, "llm10", "10s", 0.01).await;
    assert_eq!(
        adapter_value(&a, "service_inflight", "service=llm10").await,
        Some(5.0)
    );
    let m = a.admin("/metrics").await;
    assert!(
        m.text
            .contains("qma_scrape_errors_total{service=\"llm10\",reason=\"fetch\"}"),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains("qma_scrape_targets{service=\"llm10\",state=\"up\"} 2"),
        "{}",
        m.text
    );
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_traffic_serves_zero_or_omits_and_all_targets_down_goes_stale() {
    let pod = Pod::start(false).await;
    let urls = vec![pod.url()];
    let yaml = format!(
        "scrape_interval: 200ms\nmax_staleness: 1s\nservices:\n{}{}",
        service("zero", &urls, "2s", ""),
        service("omit", &urls, "2s", "    when_empty: omit\n")
    );
    let a = Adapter::start(&yaml).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while adapter_value(&a, "service_latency_seconds", "service=zero,quantile=0.95")
        .await
        .is_none()
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        adapter_value(&a, "service_latency_seconds", "service=zero,quantile=0.95").await,
        Some(0.0)
    );
    assert_eq!(
        adapter_value(&a, "service_request_rate", "service=zero").await,
        Some(0.0)
    );
    let r = a
        .metric(
            "ai-platform",
            "service_latency_seconds",
            Some("service=omit"),
        )
        .await;
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(r.json["items"], json!([]), "{r:?}");
    // Never NaN anywhere.
    let all = a
        .metric("ai-platform", "service_latency_seconds", None)
        .await;
    assert!(!all.text.contains("NaN"), "{}", all.text);

    drop(pod);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = a
            .metric(
                "ai-platform",
                "service_latency_seconds",
                Some("service=zero"),
            )
            .await;
        if r.code == 503 {
            assert_status(&r, 503, "ServiceUnavailable");
            assert!(
                r.json["message"]
                    .as_str()
                    .unwrap()
                    .contains("all 1 targets"),
                "{r:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never went stale: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    a.running.stop().await;
}

fn slice(name: &str, service: &str, port: u16, ready: bool) -> serde_json::Value {
    json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"name": "metrics", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": ready, "serving": ready, "terminating": false}}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpointslice_watch_adds_removes_and_unreadies_targets() {
    queue_metrics_adapter::tls::install_crypto_provider();
    let mut p1 = Pod::start(false).await;
    let mut p2 = Pod::start(false).await;
    p1.drive(vec![0.1], 1.0);
    p2.drive(vec![0.1], 10.0);
    let kube = FakeKube::start().await;
    const SLICES: &str = "/apis/discovery.k8s.io/v1/namespaces/ai-platform/endpointslices";
    kube.put(
        SLICES,
        "EndpointSlice",
        "discovery.k8s.io/v1",
        slice("gw-1", "gateway", p1.addr.port(), true),
    );
    // A slice of another Service is ignored.
    kube.put(
        SLICES,
        "EndpointSlice",
        "discovery.k8s.io/v1",
        slice("other-1", "other", p2.addr.port(), true),
    );
    let dir = std::env::temp_dir().join(format!("qma-eps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let client = queue_metrics_adapter::cli::kube_client(Some(&kube.kubeconfig(&dir)))
        .await
        .unwrap();
    let yaml = "scrape_interval: 200ms\nservices:\n  - name: gateway\n    namespaces: [ai-platform]\n    kubernetes: {service: gateway, port: metrics}\n    histogram: llm_request_duration_seconds\n    inflight_gauge: llm_inflight_requests\n";
    let cert = queue_metrics_adapter::tls::ReloadingCert::new(None, None).unwrap();
    let a = Adapter::start_with(yaml, cert, None, Some(client)).await;
    let inflight = |want: f64| {
        let a = &a;
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = adapter_value(a, "service_inflight", "service=gateway").await;
                if got == Some(want) {
                    return;
                }
                assert!(Instant::now() < deadline, "inflight {got:?}, want {want}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    inflight(1.0).await;
    kube.put(
        SLICES,
        "EndpointSlice",
        "discovery.k8s.io/v1",
        slice("gw-2", "gateway", p2.addr.port(), true),
    );
    inflight(11.0).await;
    kube.put(
        SLICES,
        "EndpointSlice",
        "discovery.k8s.io/v1",
        slice("gw-1", "gateway", p1.addr.port(), false),
    );
    inflight(10.0).await;
    kube.delete(SLICES, "gw-2");
    inflight(0.0).await;
    let _ = std::fs::remove_dir_all(&dir);
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promql_source_against_real_prometheus() {
    require_prometheus!();
    let mut pod = Pod::start(false).await;
    pod.drive(vec![0.2, 0.4], 4.0);
    let prom = Prometheus::start(&[pod.addr.to_string()]).await;
    let yaml = format!(
        r#"promql:
  - name: llm_requests_per_second
    namespaces: [ai-platform]
    url: {url}
    query: sum by (job) (rate(llm_requests_total{{model="gpt"}}[5s]))
    interval: 500ms
  - name: broken_query
    namespaces: [ai-platform]
    url: {url}
    query: sum(rate(llm_requests_total[5s]
    interval: 500ms
  - name: nothing_omitted
    namespaces: [ai-platform]
    url: {url}
    query: no_such_metric
    interval: 500ms
  - name: nothing_zero
    namespaces: [ai-platform]
    url: {url}
    query: no_such_metric
    interval: 500ms
    when_empty: zero
"#,
        url = prom.url
    );
    let a = Adapter::start(&yaml).await;
    // Discovery lists the PromQL metrics.
    let d = a.get("/apis/external.metrics.k8s.io/v1beta1").await;
    let names: Vec<_> = d.json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].clone())
        .collect();
    assert!(
        names.contains(&json!("llm_requests_per_second")),
        "{names:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = a
            .metric("ai-platform", "llm_requests_per_second", Some("job=pods"))
            .await;
        let theirs = prom
            .scalar("sum by (job) (rate(llm_requests_total{model=\"gpt\"}[5s]))")
            .await;
        if r.code == 200
            && let (Some(v), Some(t)) = (r.json["items"][0]["value"].as_str(), theirs)
            && (quantity::parse(v).unwrap() - t).abs() <= 0.05 * t
        {
            assert_eq!(r.json["items"][0]["metricLabels"], json!({"job": "pods"}));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "promql value never arrived: {r:?} vs {theirs:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let r = a.metric("ai-platform", "broken_query", None).await;
    assert_status(&r, 503, "ServiceUnavailable");
    assert!(
        r.json["message"].as_str().unwrap().contains("bad_data"),
        "{r:?}"
    );
    let r = a.metric("ai-platform", "nothing_omitted", None).await;
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(r.json["items"], json!([]));
    let r = a.metric("ai-platform", "nothing_zero", None).await;
    assert_eq!(r.json["items"][0]["value"], "0", "{r:?}");
    // Not visible to other namespaces.
    assert_status(
        &a.metric("other", "llm_requests_per_second", None).await,
        404,
        "NotFound",
    );

    // Prometheus gone: the last value is served until stale, then 503.
    drop(prom);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = a
            .metric("ai-platform", "llm_requests_per_second", None)
            .await;
        if r.code == 503 {
            assert!(
                r.json["message"].as_str().unwrap().contains("unreachable"),
                "{r:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never went stale: {r:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    a.running.stop().await;
}
