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
//!            ┌──────────────── sources ────────────────┐
//! Redis ───► │ redis   (one poller per endpoint; the   │  typed     ┌───────┐  Answer per   ┌─────────────┐
//!            │          queue kinds say what to ask)   │  writers   │ store │  (namespace,  │ api (HPA,   │ ◄── kube-apiserver
//! services ► │ scrape  (latency histograms,            ├──────────► │       │ ────────────► │ kubectl)    │     (aggregator)
//! /metrics   │          EndpointSlice discovery)       │            └───────┘   metric)     └──────┬──────┘
//! Prometheus►│ promql  (instant queries)               │                                        auth │ (TLS client certs,
//!            └─────────────────────────────────────────┘                          TokenReview, SubjectAccessReview)
//!              ▲ built from config (what to read, for whom), each in a tracing span, one tick loop
//! ```
//!
//! Imports point down only: `cli → {api, auth, server, sources} → store →
//! {config → kinds, k8s}`, with no cycle; `k8s`, `kinds` and `tick` import
//! nothing of ours, `tls` only `tick`; `telemetry` (logs, the registry, the
//! served values) sits beside the store.
//!
//! - [`config`]: the YAML file, validated with field paths and line numbers
//!   (`config::raw` as written, `config::validate` per section, the
//!   `check-config` table).
//! - [`kinds`]: one file per queue `type:` ([`kinds::list`],
//!   [`kinds::zset`], [`kinds::stream`]): its fields and their validation,
//!   the Redis commands one key needs and their count, and how the replies
//!   become numbers. A new kind is one file, declared and listed in `kinds::ALL`.
//! - [`sources`]: each source builds itself from its config section, takes
//!   typed writers from the store builder, registers its own metrics and
//!   returns its tasks. [`sources::redis`] polls every queue of an endpoint
//!   in a few pipelines ([`sources::redis::connection`] opens plain or TLS
//!   connections and explains why one failed); [`sources::scrape`] scrapes
//!   services' `/metrics` ([`sources::scrape::exposition`] parses,
//!   [`sources::scrape::window`] computes `rate` and `histogram_quantile` as
//!   PromQL does, [`sources::scrape::discovery`] follows EndpointSlices);
//!   [`sources::promql`] queries an existing Prometheus.
//! - [`store`]: the latest value of every series, in atomics (PromQL results
//!   as swapped snapshots), written through [`store::QueueWriter`],
//!   [`store::ServiceWriter`] and [`store::PromqlWriter`] and read by the API
//!   as one [`store::Answer`] per (namespace, metric); readiness is every
//!   source's first read.
//! - [`k8s`]: the Kubernetes vocabulary, importing nothing else of ours:
//!   name and label rules ([`k8s::names`]), label selectors
//!   ([`k8s::selector`], with a cache of parsed selectors), label sets on the
//!   wire ([`k8s::labels`]), quantities ([`k8s::quantity`]), `Status` errors
//!   ([`k8s::status`]) and request attributes ([`k8s::request_info`]).
//! - [`api`]: discovery, OpenAPI and the metric endpoint, answering from the
//!   store; one [`api::Route`] table gives both dispatch and the metrics'
//!   route labels; each request is parsed once and its selector shared with
//!   auth.
//! - [`auth`]: delegated authentication ([`auth::authn`]: front-proxy
//!   headers, client certificates, TokenReview) and authorization
//!   (SubjectAccessReview with the attributes of [`k8s::request_info`]),
//!   cached, failing closed.
//! - [`tls`], [`server`]: the HTTPS API listener (reloading certificate,
//!   Go's header limits, [`server::long_uri`] for URIs too long for hyper),
//!   the admin listener and its status page; [`tls::client`] reads
//!   client-side TLS files.
//! - [`tick`]: the one loop every periodic task runs.
//! - [`telemetry`]: logs, the registry the parts register their metrics on,
//!   and the served values on `/metrics`.
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
