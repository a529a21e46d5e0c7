//! Authorized requests answered from the auth caches against the same
//! request with authentication disabled, in one run.
//!
//! Target (issue 3): requests/s with delegated auth (TokenReview and
//! SubjectAccessReview answers cached) >= 0.9x requests/s with auth disabled.
//!
//! Run with `cargo bench --bench auth_throughput`. Without `--bench` it only
//! prints that it was skipped. Set-up, all in this process on 127.0.0.1: a
//! redis-server with one queue; the fake Kubernetes API of the test suite
//! (tests/support/kube_api.rs) answering TokenReview and SubjectAccessReview;
//! two adapters started as `serve` starts them (`cli::Running::start_with`),
//! one with `--auth-mode disabled`, one delegated. Both are asked the same
//! metric GET carrying `Authorization: Bearer <token>` over keep-alive
//! HTTP/1.1 connections (benches/support/https.rs) from a second runtime;
//! rounds alternate between the two, and the fake API's call count shows the
//! measured requests were answered from the caches. Bounded: `ROUNDS` rounds of
//! `SECONDS` each per subject.

#[allow(unused_macros)]
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "support/https.rs"]
mod https;

#[path = "support/report.rs"]
mod report;

#[path = "support/procstat.rs"]
mod procstat;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use queue_metrics_adapter::auth::{Auth, Options};
use queue_metrics_adapter::cli::{self, Running, Serving};
use queue_metrics_adapter::{config, tls};
use support::RedisServer;
use support::kube_api::FakeKube;

const CONNS: usize = 32;
const SECONDS: f64 = 3.0;
const WARMUP: f64 = 0.5;
const ROUNDS: usize = 5;
const PATH: &str =
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/bench/queue_depth?labelSelector=queue%3Da";

async fn start(cfg: &config::Config, auth: Option<Arc<Auth>>) -> Running {
    let cert = tls::ReloadingCert::new(None, None).unwrap();
    let serving = Serving {
        tls: tls::server_config_with(cert, auth.as_ref().map(|a| a.tls_verifier())),
        secure_listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: "127.0.0.1:0".parse().unwrap(),
        auth,
        kube: None,
    };
    Running::start_with(cfg, serving).await.unwrap()
}

/// One round: `CONNS` connections, each with one request in flight; returns
/// (req/s, p99 µs, server CPU µs per request).
async fn round(addr: SocketAddr, request: Arc<Vec<u8>>) -> (f64, u32, f64) {
    let cfg = https::client_config();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(WARMUP);
    let end = measure_from + Duration::from_secs_f64(SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..CONNS {
        let mut conn = https::Conn::connect(addr, cfg.clone()).await.unwrap();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let r = conn.send(&request, false).await.unwrap();
                assert_eq!(r.status, 200, "request refused");
                let t1 = Instant::now();
                if t0 >= measure_from && t1 <= end {
                    lat.push((t1 - t0).as_micros() as u32);
                }
            }
            lat
        }));
    }
    let pid = std::process::id();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu0 = procstat::thread_cpu_ns(pid, "qma-srv");
    tokio::time::sleep_until(end.into()).await;
    let cpu1 = procstat::thread_cpu_ns(pid, "qma-srv");
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let cpu_us = cpu1.saturating_sub(cpu0) as f64 / 1000.0 / all.len().max(1) as f64;
    (
        all.len() as f64 / SECONDS,
        https::percentile(&all, 99.0),
        cpu_us,
    )
}

fn main() {
    if !report::running_as_bench("auth_throughput") {
        return;
    }
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("qma-srv")
        .enable_all()
        .build()
        .unwrap();
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("qma-load")
        .enable_all()
        .build()
        .unwrap();

    let redis = RedisServer::start();
    redis.cmd(&["RPUSH", "q:a", "1", "2", "3"]);
    let yaml = format!(
        "redis:\n  url: {}\nqueues:\n  - {{name: a, namespaces: [bench], key: \"q:a\", type: list}}\n",
        redis.url()
    );
    let cfg = config::parse(&yaml, &|_| None).unwrap();
    let dir = std::env::temp_dir().join(format!("qma-auth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (kube, plain, delegated) = servers.block_on(async {
        let kube = FakeKube::start().await;
        kube.add_token(
            "hpa-token",
            serde_json::json!({"username": "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
                               "groups": ["system:serviceaccounts", "system:authenticated"]}),
        );
        kube.set_authorizer(|_| (true, "bench".into()));
        let client = cli::kube_client(Some(&kube.kubeconfig(&dir))).await.unwrap();
        let options = Options {
            skip_lookup: true,
            // Long enough that nothing expires during the run.
            token_cache_ttl: Duration::from_secs(600),
            allow_cache_ttl: Duration::from_secs(600),
            ..Options::default()
        };
        let auth = Auth::new(client, options).await.unwrap();
        let plain = start(&cfg, None).await;
        let delegated = start(&cfg, Some(auth)).await;
        (kube, plain, delegated)
    });
    // Both ready (first poll done).
    while !(plain.store.ready() && delegated.store.ready()) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let request = Arc::new(
        format!(
            "GET {PATH} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\nAuthorization: Bearer hpa-token\r\nUser-Agent: qma-bench\r\n\r\n"
        )
        .into_bytes(),
    );
    // Fill the caches once.
    load.block_on(round_once(delegated.api_addr, request.clone()));
    let calls_before = kube.posts("reviews").len();

    println!(
        "auth_throughput: {CONNS} connections, {WARMUP} s warm-up + {SECONDS} s per round, {ROUNDS} rounds per subject, alternating"
    );
    let (mut off, mut on) = (Vec::new(), Vec::new());
    let (mut off_cpu, mut on_cpu) = (Vec::new(), Vec::new());
    for r in 0..ROUNDS {
        let order = if r % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for with_auth in order {
            let addr = if with_auth {
                delegated.api_addr
            } else {
                plain.api_addr
            };
            let (rps, p99, cpu) = load.block_on(round(addr, request.clone()));
            println!(
                "  round {r} {:<9} {rps:>8.0} req/s  p99 {p99:>6} us  server CPU {cpu:>5.1} us/req",
                if with_auth { "delegated" } else { "disabled" }
            );
            if with_auth {
                on.push(rps);
                on_cpu.push(cpu);
            } else {
                off.push(rps);
                off_cpu.push(cpu);
            }
        }
    }
    let calls_after = kube.posts("reviews").len();
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (c_off, c_on) = (med(&mut off_cpu), med(&mut on_cpu));
    let (m_off, m_on) = (med(&mut off), med(&mut on));
    println!(
        "auth disabled: {m_off:.0} req/s (median); delegated, from the caches: {m_on:.0} req/s (median); ratio {:.3} (target >= 0.9)",
        m_on / m_off
    );
    println!(
        "server CPU per request: disabled {c_off:.1} us, delegated {c_on:.1} us; CPU-based ratio {:.3}",
        c_off / c_on
    );
    println!(
        "Kubernetes API calls during the measured rounds: {} (all answered from the caches)",
        calls_after - calls_before
    );
    servers.block_on(async {
        plain.stop().await;
        delegated.stop().await;
    });
    drop(kube);
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn round_once(addr: SocketAddr, request: Arc<Vec<u8>>) {
    let mut conn = https::Conn::connect(addr, https::client_config())
        .await
        .unwrap();
    let r = conn.send(&request, false).await.unwrap();
    assert_eq!(r.status, 200, "warm-up request refused");
}
