//! A small test exporter standing in for the cluster's other scrape targets
//! in the Prometheus text format: kube-state-metrics (HPA, pod readiness,
//! resources, Deployment), the kube-apiserver (`aggregator_unavailable_apiservice`)
//! and the kubelet's cAdvisor (container memory and CPU), with the metric
//! names and labels those components export (kube-state-metrics
//! `docs/metrics/workload/horizontalpodautoscaler-metrics.md`, the apiserver's
//! `staging/src/k8s.io/kube-aggregator/pkg/controllers/status/metrics.go`,
//! cAdvisor's `metrics/prometheus.go`). Scrape it with `honor_labels: true`,
//! as kube-state-metrics is scraped, so its `namespace` labels stay.

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;

/// One HorizontalPodAutoscaler as kube-state-metrics reports it.
#[derive(Debug, Clone)]
pub struct Hpa {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `status.currentReplicas`.
    pub current: u32,
    /// `status.desiredReplicas`.
    pub desired: u32,
    /// `spec.minReplicas`.
    pub min: u32,
    /// `spec.maxReplicas`.
    pub max: u32,
    /// An External metric: (name, target averageValue, current averageValue).
    pub metric: (String, f64, f64),
}

/// What the exporter serves.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// HPAs.
    pub hpas: Vec<Hpa>,
    /// The adapter's namespace (its pods' readiness, resources and cAdvisor series).
    pub adapter_namespace: String,
    /// The adapter's pod names.
    pub adapter_pods: Vec<String>,
    /// 1 when the external metrics APIService is unavailable.
    pub apiservice_unavailable: u8,
}

/// A running exporter; stops when dropped.
pub struct Exporter {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Exporter {
    /// Starts on 127.0.0.1:0.
    pub async fn start(cluster: Cluster) -> Exporter {
        let state = Arc::new((cluster, Instant::now()));
        let app = Router::new()
            .route(
                "/metrics",
                get(|State(s): State<Arc<(Cluster, Instant)>>| async move {
                    let body = render(&s.0, s.1.elapsed().as_secs_f64());
                    (
                        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                        body,
                    )
                        .into_response()
                }),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Exporter { addr, task }
    }

    /// `127.0.0.1:PORT`, as a scrape target.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }
}

/// Reads one number of an [`Hpa`].
type HpaField = fn(&Hpa) -> u32;

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The exposition text at `elapsed` seconds after start (counters grow with it).
fn render(c: &Cluster, elapsed: f64) -> String {
    let mut o = String::new();
    let hpa_gauges: [(&str, &str, HpaField); 4] = [
        (
            "kube_horizontalpodautoscaler_status_current_replicas",
            "Current number of replicas of pods managed by this autoscaler.",
            |h| h.current,
        ),
        (
            "kube_horizontalpodautoscaler_status_desired_replicas",
            "Desired number of replicas of pods managed by this autoscaler.",
            |h| h.desired,
        ),
        (
            "kube_horizontalpodautoscaler_spec_min_replicas",
            "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
            |h| h.min,
        ),
        (
            "kube_horizontalpodautoscaler_spec_max_replicas",
            "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
            |h| h.max,
        ),
    ];
    for (name, help, value) in hpa_gauges {
        family(&mut o, name, "gauge", help);
        for h in &c.hpas {
            let _ = writeln!(
                o,
                "{name}{{namespace=\"{}\",horizontalpodautoscaler=\"{}\"}} {}",
                h.namespace,
                h.name,
                value(h)
            );
        }
    }
    for (name, help, target) in [
        (
            "kube_horizontalpodautoscaler_spec_target_metric",
            "The metric specifications used by this autoscaler when calculating the desired replica count.",
            true,
        ),
        (
            "kube_horizontalpodautoscaler_status_target_metric",
            "The current metric status used by this autoscaler when calculating the desired replica count.",
            false,
        ),
    ] {
        family(&mut o, name, "gauge", help);
        for h in &c.hpas {
            let (metric, want, now) = &h.metric;
            let _ = writeln!(
                o,
                "{name}{{namespace=\"{}\",horizontalpodautoscaler=\"{}\",metric_name=\"{metric}\",metric_target_type=\"average\"}} {}",
                h.namespace,
                h.name,
                if target { want } else { now }
            );
        }
    }

    family(
        &mut o,
        "aggregator_unavailable_apiservice",
        "gauge",
        "[ALPHA] Gauge of APIServices which are marked as unavailable broken down by APIService name.",
    );
    for (name, v) in [
        ("v1beta1.external.metrics.k8s.io", c.apiservice_unavailable),
        ("v1beta1.metrics.k8s.io", 0),
    ] {
        let _ = writeln!(
            o,
            "aggregator_unavailable_apiservice{{name=\"{name}\"}} {v}"
        );
    }

    let ns = &c.adapter_namespace;
    family(
        &mut o,
        "kube_deployment_status_replicas_unavailable",
        "gauge",
        "The number of unavailable replicas per deployment.",
    );
    let _ = writeln!(
        o,
        "kube_deployment_status_replicas_unavailable{{namespace=\"{ns}\",deployment=\"queue-metrics-adapter\"}} 0"
    );
    family(
        &mut o,
        "kube_pod_status_ready",
        "gauge",
        "Describes whether the pod is ready to serve requests.",
    );
    for pod in &c.adapter_pods {
        for (cond, v) in [("true", 1), ("false", 0), ("unknown", 0)] {
            let _ = writeln!(
                o,
                "kube_pod_status_ready{{namespace=\"{ns}\",pod=\"{pod}\",uid=\"uid-{pod}\",condition=\"{cond}\"}} {v}"
            );
        }
    }
    for (name, resource, unit, v) in [
        ("kube_pod_container_resource_requests", "cpu", "core", 0.05),
        (
            "kube_pod_container_resource_requests",
            "memory",
            "byte",
            67108864.0,
        ),
        ("kube_pod_container_resource_limits", "cpu", "core", 2.0),
        (
            "kube_pod_container_resource_limits",
            "memory",
            "byte",
            134217728.0,
        ),
    ] {
        if resource == "cpu" {
            family(
                &mut o,
                name,
                "gauge",
                "The number of requested/limit resource by a container.",
            );
        }
        for pod in &c.adapter_pods {
            let _ = writeln!(
                o,
                "{name}{{namespace=\"{ns}\",pod=\"{pod}\",uid=\"uid-{pod}\",container=\"adapter\",node=\"node-1\",resource=\"{resource}\",unit=\"{unit}\"}} {v}"
            );
        }
    }

    // cAdvisor: one series per container, plus the pod-level cgroup (container="")
    // that dashboards must not add to it.
    family(
        &mut o,
        "container_memory_working_set_bytes",
        "gauge",
        "Current working set of the container in bytes",
    );
    for pod in &c.adapter_pods {
        for (container, v) in [("adapter", 31_457_280.0), ("", 32_505_856.0)] {
            let _ = writeln!(
                o,
                "container_memory_working_set_bytes{{namespace=\"{ns}\",pod=\"{pod}\",container=\"{container}\",id=\"/kubepods/{pod}/{container}\",image=\"queue-metrics-adapter:0.1.0\",name=\"{container}\"}} {v}"
            );
        }
    }
    family(
        &mut o,
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed in seconds.",
    );
    for pod in &c.adapter_pods {
        for (container, per_second) in [("adapter", 0.004), ("", 0.0045)] {
            let _ = writeln!(
                o,
                "container_cpu_usage_seconds_total{{namespace=\"{ns}\",pod=\"{pod}\",container=\"{container}\",id=\"/kubepods/{pod}/{container}\",image=\"queue-metrics-adapter:0.1.0\",name=\"{container}\"}} {}",
                10.0 + per_second * elapsed
            );
        }
    }
    o
}
