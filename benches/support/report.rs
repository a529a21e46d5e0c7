//! Small helpers the benchmarks share for settings and printing
//! (`#[path = "support/report.rs"] mod report;`).
#![allow(dead_code)]

use std::time::Duration;

/// "met" or "MISSED", for a target line.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// An environment variable parsed as `T`, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The start of every bench's `main`: under `cargo test` (no `--bench`) says it
/// was skipped and returns false; else installs the crypto provider (ring).
pub fn running_as_bench(name: &str) -> bool {
    if !std::env::args().any(|a| a == "--bench") {
        println!("skipped: run with cargo bench --bench {name}");
        return false;
    }
    queue_metrics_adapter::tls::install_crypto_provider();
    true
}
