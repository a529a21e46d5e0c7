//! One scrape round of 200 endpoints exposing 50 histogram series each
//! (≈1 MB of text in all), through the real `ServiceScraper` (HTTP fetch,
//! parse, per-target windows, `rate`, `sum by (le)`, `histogram_quantile`,
//! store update), plus the exposition parser's throughput in MB/s.
//!
//! Run: `cargo bench --bench scrape_round`. Bounded: 3 warm-up rounds and 30
//! measured rounds per size. Binds 127.0.0.1 only; everything stops at the end.

#[path = "support/report.rs"]
mod report;

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use prometheus_client::registry::Registry;
use queue_metrics_adapter::config;
use queue_metrics_adapter::sources::scrape::metrics::ScrapeMetrics;
use queue_metrics_adapter::sources::scrape::{Http, ServiceScraper, exposition};
use queue_metrics_adapter::store;

const ENDPOINTS: usize = 200;
const BOUNDS: [&str; 11] = [
    "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "+Inf",
];

/// One endpoint's body: `histograms` label sets × (11 buckets + sum + count), counts growing with `tick`.
fn body(endpoint: usize, histograms: usize, tick: u64) -> String {
    let mut out = String::with_capacity(histograms * 900);
    out.push_str("# HELP llm_request_duration_seconds LLM call latency.\n# TYPE llm_request_duration_seconds histogram\n");
    for h in 0..histograms {
        let mut cum = 0u64;
        for (i, le) in BOUNDS.iter().enumerate() {
            cum += (tick + 1) * (1 + ((endpoint + h + i) % 7) as u64);
            out.push_str(&format!(
                "llm_request_duration_seconds_bucket{{model=\"gpt-4o-2024-08-06-m{h}\",route=\"/v1/chat/completions\",le=\"{le}\"}} {cum}\n"
            ));
        }
        out.push_str(&format!(
            "llm_request_duration_seconds_sum{{model=\"gpt-4o-2024-08-06-m{h}\",route=\"/v1/chat/completions\"}} {}\n",
            cum * 2
        ));
        out.push_str(&format!(
            "llm_request_duration_seconds_count{{model=\"gpt-4o-2024-08-06-m{h}\",route=\"/v1/chat/completions\"}} {cum}\n"
        ));
    }
    out
}

struct Fleet {
    histograms: usize,
    tick: Arc<std::sync::atomic::AtomicU64>,
}

async fn serve_fleet(
    histograms: usize,
) -> (
    Vec<String>,
    Arc<std::sync::atomic::AtomicU64>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let tick = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let fleet = Arc::new(Fleet {
        histograms,
        tick: tick.clone(),
    });
    let mut urls = Vec::new();
    let mut tasks = Vec::new();
    // 200 listeners, one per endpoint, like 200 pods.
    for e in 0..ENDPOINTS {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!(
            "http://{}/metrics/{e}",
            listener.local_addr().unwrap()
        ));
        let app = Router::new()
            .route(
                "/metrics/{e}",
                get(
                    |State(f): State<Arc<Fleet>>, Path(e): Path<usize>| async move {
                        body(
                            e,
                            f.histograms,
                            f.tick.load(std::sync::atomic::Ordering::Relaxed),
                        )
                    },
                ),
            )
            .with_state(fleet.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }
    (urls, tick, tasks)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn rounds(histograms: usize) {
    let (urls, tick, tasks) = serve_fleet(histograms).await;
    let yaml = format!(
        "services:\n  - name: llm\n    namespaces: [ns]\n    urls: [{}]\n    histogram: llm_request_duration_seconds\n    quantiles: [0.5, 0.9, 0.95, 0.99]\n    window: 60s\n",
        urls.iter()
            .map(|u| format!("\"{u}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let cfg = config::parse(&yaml, &|_| None).unwrap();
    let mut builder = store::Builder::new();
    let targets = Arc::new(ArcSwap::from_pointee(urls.clone()));
    let mut scraper = ServiceScraper::build(&cfg.services[0], &mut builder, targets);
    let _store = builder.finish(cfg.max_staleness);
    let metrics = ScrapeMetrics::register(&mut Registry::default());
    let http = Http::new(Duration::from_secs(5), 10 << 20);
    let mut times = Vec::new();
    let mut bytes = 0;
    for i in 0..33 {
        tick.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Instant::now();
        let r = scraper.round(&http, &metrics).await;
        let el = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(r.up, ENDPOINTS, "every endpoint scraped");
        bytes = r.bytes;
        if i >= 3 {
            times.push(el);
        }
        // Spread the rounds so the window holds several samples per series.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    times.sort_by(f64::total_cmp);
    let series = ENDPOINTS * histograms * (BOUNDS.len() + 2);
    println!(
        "scrape round: {ENDPOINTS} endpoints x {histograms} histograms ({series} series, {:.2} MB/round): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms (target <= 250 ms)",
        bytes as f64 / 1e6,
        pct(&times, 0.5),
        pct(&times, 0.9),
        times[times.len() - 1]
    );
    for t in tasks {
        t.abort();
    }
}

fn parser_throughput() {
    let text: String = (0..ENDPOINTS).map(|e| body(e, 4, 100)).collect();
    let mb = text.len() as f64 / 1e6;
    let mut best = f64::MAX;
    let mut samples = 0;
    for _ in 0..20 {
        let t = Instant::now();
        samples = 0;
        exposition::parse(&text, exposition::Format::Prometheus, |_| samples += 1).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "parser: {mb:.2} MB, {samples} samples: best {:.1} ms = {:.0} MB/s",
        best * 1000.0,
        mb / best
    );
}

fn main() {
    if !report::running_as_bench("scrape_round") {
        return;
    }
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    parser_throughput();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // ≈1 MB per round: 200 × 4 histograms × 13 lines ≈ 50 series per endpoint.
        rounds(4).await;
        // Heavier, for information: 50 full histograms per endpoint (≈ 13 MB per round).
        rounds(50).await;
    });
}
