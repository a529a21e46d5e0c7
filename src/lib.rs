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
//!            │ scrape (latency histograms,     ├────► │ store │ ───► │ api (HPA,    │ ◄── kube-apiserver
//! services ► │   EndpointSlice discovery)      │      └───────┘      │ kubectl)     │     (aggregator)
//! /metrics   │ promql (existing Prometheus)    │          ▲          └──────┬───────┘
//!            └─────────────────────────────────┘          │                 │
//!                 config (what to read, for whom) ────────┘      auth (TLS client certs, TokenReview,
//!                 telemetry (tracing, own /metrics) at the side        SubjectAccessReview), tls, server
//! ```
//!
//! - [`config`]: the YAML file, validated with field paths and line numbers.
//! - [`sources::redis`]: one poller per Redis endpoint; [`sources::redis::read`] says what each
//!   queue type costs in commands and how replies become numbers;
//!   [`sources::redis::connection`] opens plain or TLS (`rediss://`) connections and
//!   explains why one failed.
//! - [`sources::scrape`]: scrapes services' `/metrics` ([`sources::scrape::exposition`] parses,
//!   [`sources::scrape::window`] computes `rate` and `histogram_quantile` as PromQL
//!   does, [`sources::scrape::discovery`] follows EndpointSlices).
//! - [`sources::promql`]: instant queries against an existing Prometheus.
//! - [`store`]: the latest value of every series, in atomics (PromQL results
//!   as swapped snapshots); the only thing the API reads.
//! - [`api`]: discovery, OpenAPI, and the metric endpoint, answering from the
//!   store; every error is a Kubernetes `Status` ([`k8s::status`]); label
//!   selectors ([`k8s::selector`]) and quantities ([`k8s::quantity`]) are pure.
//! - [`auth`]: delegated authentication (front-proxy headers, client
//!   certificates, TokenReview) and authorization (SubjectAccessReview with
//!   the attributes of [`k8s::request_info`]), cached, failing closed.
//! - [`tls`], [`server`]: the HTTPS API listener (reloading certificate,
//!   Go's header limits, [`server::long_uri`] for URIs too long for hyper)
//!   and the admin listener; [`tls::client`] reads client-side TLS files.
//! - [`telemetry`]: logs and the adapter's own Prometheus metrics.
//! - [`cli`]: flags (all with `QMA_*` env vars) and the wiring.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod k8s;
pub mod kinds;
pub mod server;
pub mod sources;
pub mod store;
pub mod telemetry;
pub mod tick;
pub mod tls;
