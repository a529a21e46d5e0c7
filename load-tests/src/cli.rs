//! Command line and wiring.

/// Runs the command line.
pub fn run() -> anyhow::Result<()> {
    Ok(())
}
