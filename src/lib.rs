#![forbid(unsafe_code)]
//! # queue-metrics-adapter
//!
//! A Kubernetes aggregated API server for `external.metrics.k8s.io/v1beta1`
//! that lets HorizontalPodAutoscalers scale on requests waiting in Redis
//! queues instead of CPU.
//!
//! # Layout
//!
//! ```text
//!            ┌──────────── sources ────────────┐
//! Redis ───► │ redis (lists, zsets, streams)   │      ┌───────┐      ┌──────────────┐
//!            │   read: commands and replies    ├────► │ store │ ───► │ api (HPA,    │ ◄── kube-apiserver
//!            └─────────────────────────────────┘      └───────┘      │ kubectl)     │     (aggregator)
//!                                                         ▲          └──────┬───────┘
//!                 config (what to read, for whom) ────────┘           tls, server
//!                 telemetry (tracing, own /metrics) at the side
//! ```
//!
//! - [`config`]: the YAML file, validated with field paths and line numbers.
//! - [`redis`]: one poller per Redis endpoint; [`redis::read`] says what each
//!   queue type costs in commands and how replies become numbers.
//! - [`store`]: the latest value of every series, in atomics; the only thing
//!   the API reads.
//! - [`api`]: discovery, OpenAPI, and the metric endpoint, answering from the
//!   store; every error is a Kubernetes `Status` ([`api::status`]); label
//!   selectors ([`api::selector`]) and quantities ([`api::quantity`]) are pure.
//! - [`tls`], [`server`]: the HTTPS API listener and the admin listener.
//! - [`telemetry`]: logs and the adapter's own Prometheus metrics.
//! - [`cli`]: flags (all with `QMA_*` env vars) and the wiring.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod promql;
pub mod redis;
pub mod scrape;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod tls;
