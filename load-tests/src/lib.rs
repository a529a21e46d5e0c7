#![forbid(unsafe_code)]
//! # qma-load
//!
//! Load-test-driven HPA tuning for queue-metrics-adapter: which HPA spec holds
//! a latency SLO at the least replica-seconds for a given traffic shape.

pub mod cli;
pub mod dist;
pub mod hpa;
pub mod live;
pub mod outcome;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod trace;
pub mod tune;
