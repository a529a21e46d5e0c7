//! Writes two example reports from synthetic, plausible data (a fluid queue
//! model shaped like the simulator's output, not the simulator itself), to
//! look at the report's layout in a browser:
//!
//! - `<dir>/report-demo.html`: a comparison of the default policies for
//!   three services under the spike (45 min) and diurnal (24 h) traces;
//! - `<dir>/report-demo-sweep.html`: a `tune` sweep of the gateway's
//!   queue-depth policy, with the recommendation's runs.
//!
//! `cargo run -p qma-load --example report_demo [dir]` (default `target`).

#![forbid(unsafe_code)]

#[path = "../tests/report_support/synthetic.rs"]
mod synthetic;

use std::path::PathBuf;

use qma_load::report;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target".to_owned()),
    );
    let services = [
        synthetic::gateway(),
        synthetic::assistant(),
        synthetic::research(),
    ];
    let runs = synthetic::comparison_runs(&services, &["spike", "diurnal"]);
    let notes = vec![
        "Synthetic data from a fluid queue model (examples/report_demo.rs), for layout only: not simulator results."
            .to_owned(),
    ];
    let path = dir.join("report-demo.html");
    report::write(
        &path,
        &report::comparison("qma-load: policies compared (demo data)", &runs, &notes),
    )?;
    println!("{}", path.display());

    let (sweep, runs) = synthetic::gateway_sweep();
    let path = dir.join("report-demo-sweep.html");
    report::write(
        &path,
        &report::sweep("qma-load tune: gateway (demo data)", &sweep, &runs),
    )?;
    println!("{}", path.display());
    Ok(())
}
