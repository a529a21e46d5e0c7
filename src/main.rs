#![forbid(unsafe_code)]
//! `queue-metrics-adapter`: see the crate docs in `lib.rs`.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    queue_metrics_adapter::tls::install_crypto_provider();
    queue_metrics_adapter::cli::run(queue_metrics_adapter::cli::Args::parse())
}
