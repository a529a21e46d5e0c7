//! The HTTPS API as the aggregator, the HPA controller and kubectl see it:
//! discovery, OpenAPI, and every documented error as a `Status`.

mod support;

use std::process::Command;

use support::RedisServer;
use support::adapter::{Adapter, assert_status};

const QUEUES: &str = r#"
  - {name: gateway, namespaces: [ai-platform], key: "gw", type: list, labels: {service: gateway}}
  - {name: knowledge, namespaces: [ai-platform], key: "kn", type: stream, group: workers, labels: {service: knowledge}}
  - {name: secret-team, namespaces: [other], key: "st", type: list}
"#;

async fn adapter(redis: &RedisServer) -> Adapter {
    redis.cmd(&["RPUSH", "gw", "a", "b", "c"]);
    let a = Adapter::start(&format!(
        "redis:\n  url: {}\npoll_interval: 100ms\nqueues:{QUEUES}",
        redis.url()
    ))
    .await;
    a.wait_ready().await;
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_openapi_and_version() {
    support::require_redis!();
    let redis = RedisServer::start();
    let a = adapter(&redis).await;

    let r = a.get("/apis").await;
    assert_eq!(r.code, 200);
    assert_eq!(r.json["kind"], "APIGroupList");
    assert_eq!(r.json["groups"][0]["name"], "external.metrics.k8s.io");

    // The aggregator's Accept header for aggregated discovery.
    let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    let r = a.get_accept("/apis", Some(accept)).await;
    assert_eq!(r.code, 200);
    assert_eq!(
        r.content_type,
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    assert_eq!(r.json["kind"], "APIGroupDiscoveryList");
    assert_eq!(r.json["apiVersion"], "apidiscovery.k8s.io/v2");
    let resources = r.json["items"][0]["versions"][0]["resources"]
        .as_array()
        .unwrap();
    let names: Vec<_> = resources
        .iter()
        .map(|r| r["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["queue_depth", "queue_pending", "queue_oldest_age_seconds"]
    );

    let r = a.get("/apis/external.metrics.k8s.io").await;
    assert_eq!(r.json["kind"], "APIGroup");
    let r = a.get("/apis/external.metrics.k8s.io/v1beta1").await;
    assert_eq!(r.code, 200);
    assert_eq!(r.json["kind"], "APIResourceList");
    assert_eq!(r.json["resources"].as_array().unwrap().len(), 3);

    let r = a.get("/openapi/v2").await;
    assert_eq!(r.code, 200);
    assert_eq!(r.json["swagger"], "2.0");
    let r = a.get("/openapi/v3").await;
    let url = r.json["paths"]["apis/external.metrics.k8s.io/v1beta1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let r = a.get(&url).await;
    assert_eq!(r.code, 200);
    assert_eq!(r.json["openapi"], "3.0.0");

    let r = a.get("/version").await;
    assert_eq!(r.code, 200);
    assert!(r.json["gitVersion"].as_str().unwrap().starts_with('v'));
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_a_status() {
    support::require_redis!();
    let redis = RedisServer::start();
    let a = adapter(&redis).await;
    a.wait_value("ai-platform", "queue_depth", "gateway", |v| v == "3")
        .await;

    // Unknown metric and a metric invisible to the namespace: same 404, same message shape.
    let unknown = a.metric("ai-platform", "queue_bogus", None).await;
    assert_status(&unknown, 404, "NotFound");
    let invisible = a.metric("nobody", "queue_depth", None).await;
    assert_status(&invisible, 404, "NotFound");
    assert_eq!(
        invisible.json["message"],
        "external metric \"queue_depth\" not found for namespace \"nobody\""
    );
    // `other` sees only its own queue, never ai-platform's.
    let r = a.metric("other", "queue_depth", None).await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1, "{r:?}");
    assert_eq!(r.json["items"][0]["metricLabels"]["queue"], "secret-team");
    // queue_pending exists, but not for `other`.
    assert_status(
        &a.metric("other", "queue_pending", None).await,
        404,
        "NotFound",
    );

    for bad in [
        "queue in (",
        "queue=",
        "=x",
        "a b",
        "x in (a",
        "!",
        "queue==a,",
        "Queue_Bad/x/y=1",
        "x>a",
    ] {
        let r = a.metric("ai-platform", "queue_depth", Some(bad)).await;
        if bad == "queue=" {
            // An empty value is valid Kubernetes grammar.
            assert_eq!(r.code, 200, "{bad:?}: {r:?}");
            continue;
        }
        assert_eq!(r.code, 400, "{bad:?}: {r:?}");
        assert_status(&r, 400, "BadRequest");
    }
    assert_status(
        &a.get("/apis/external.metrics.k8s.io/v1beta1/namespaces/Bad_NS/queue_depth")
            .await,
        400,
        "BadRequest",
    );
    assert_status(
        &a.get("/apis/external.metrics.k8s.io/v1beta1/namespaces/ai-platform/bad%20name")
            .await,
        400,
        "BadRequest",
    );
    assert_status(&a.get("/nope").await, 404, "NotFound");
    assert_status(
        &a.get("/apis/external.metrics.k8s.io/v1beta1/namespaces/ai-platform/queue_depth/extra")
            .await,
        404,
        "NotFound",
    );
    let r = a
        .client
        .post(format!("{}/apis/external.metrics.k8s.io/v1beta1", a.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);

    // A selector matching nothing is an empty list, not an error.
    let r = a
        .metric("ai-platform", "queue_depth", Some("queue=nothing"))
        .await;
    assert_eq!(r.code, 200);
    assert_eq!(r.json["items"], serde_json::json!([]));

    // Request metrics are labelled by route template.
    let m = a.admin("/metrics").await;
    assert!(
        m.text.contains(
            "qma_api_requests_total{path=\"/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{metric}\",code=\"404\"}"
        ),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains("qma_api_series_served_total{metric=\"queue_depth\"}"),
        "{}",
        m.text
    );
    a.running.stop().await;
}

/// The real kubectl, through a kubeconfig, reads discovery and a metric.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_raw() {
    support::require_redis!();
    support::require!(Kubectl);
    let redis = RedisServer::start();
    let a = adapter(&redis).await;
    a.wait_value("ai-platform", "queue_depth", "gateway", |v| v == "3")
        .await;

    let dir = std::env::temp_dir().join(format!("qma-kubectl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: qma\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: qma\n  context: {{cluster: qma, user: qma}}\ncurrent-context: qma\nusers:\n- name: qma\n  user: {{token: test-token}}\n",
            a.base()
        ),
    )
    .unwrap();
    let raw = |path: &str| {
        let kubeconfig = kubeconfig.clone();
        let path = path.to_string();
        async move {
            tokio::task::spawn_blocking(move || {
                Command::new("kubectl")
                    .arg("--kubeconfig")
                    .arg(&kubeconfig)
                    .arg("--cache-dir")
                    .arg(kubeconfig.with_file_name("cache"))
                    .args(["get", "--raw", &path])
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let out = raw("/apis/external.metrics.k8s.io/v1beta1").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "APIResourceList");

    let out = raw("/apis/external.metrics.k8s.io/v1beta1/namespaces/ai-platform/queue_depth?labelSelector=service%3Dgateway").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["items"][0]["value"], "3", "{v}");

    // kubectl surfaces our Status message for errors.
    let out = raw("/apis/external.metrics.k8s.io/v1beta1/namespaces/nobody/queue_depth").await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NotFound") || err.contains("not found"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    a.running.stop().await;
}
