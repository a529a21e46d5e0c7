//! Where the served numbers come from: each source reads one kind of system
//! and writes what it read into the store.
//!
//! - [`redis`]: queue lengths and ages, polled from Redis endpoints.
//! - [`scrape`]: latency, rate and in-flight numbers scraped from services' `/metrics`.
//! - [`promql`]: instant queries against an existing Prometheus.

pub mod promql;
pub mod redis;
pub mod scrape;
