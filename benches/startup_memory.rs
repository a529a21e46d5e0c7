//! Placeholder; see docs/PERFORMANCE.md.
fn main() {}
