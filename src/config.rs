//! What to read and for whom: the YAML configuration file.
//!
//! The file is parsed with serde-saphyr into `Raw*` structs whose fields are
//! wrapped in `At`, then validated into the resolved [`Config`] that the rest
//! of the adapter uses. Every error names the field path (`queues[2].type`)
//! and the line it came from, so `check-config` can be run in CI on the
//! ConfigMap before it ships.
//!
//! Start-up time is a product target (docs/PERFORMANCE.md), and serde-saphyr
//! reads about 10 MB/s, so a 10,000-queue file is most of it. Two things keep
//! that down without giving up line numbers:
//!
//! - Asking for a [`Spanned`](serde_saphyr::Spanned) position on every field
//!   makes the parse about a third slower. So [`parse`] reads the file without
//!   positions first, and only if validation finds a problem, again with them,
//!   to put the lines into the messages. Both passes run the same validation
//!   on the same text, so they find the same problems. Syntax errors carry
//!   their position from serde-saphyr itself.
//! - A long `queues:` list is cut into parts parsed on separate threads
//!   (module `split`); whenever a cut could change the meaning, the file is
//!   parsed whole instead.
//!
//! Secrets (Redis username and password) are never inline: they come from a
//! file or an environment variable, are read at load time, and are wrapped in
//! [`Secret`], whose `Debug` prints `<redacted>`.
//!
//! # Layout
//!
//! This file holds the resolved model and [`load`]/[`parse`]; the private
//! submodules do one job each:
//!
//! - `raw`: the file as written (`Raw*` structs, `At`, the two reading passes);
//!   `split` cuts a long queue list for it.
//! - `validate`: `Raw*` into [`Config`], every problem with field and line, and
//!   the defaults; one submodule per section (`queue`, `redis`, `service`,
//!   `promql`).
//! - `table`: [`Config::table`], the listing `check-config` prints.
//! - `metric`: [`Metric`], the names the adapter serves itself.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::kinds::{self, Kind};
use crate::tls::client::ClientTlsFiles;

mod metric;
mod raw;
mod split;
mod table;
#[cfg(test)]
mod tests;
mod validate;

pub use metric::Metric;

/// Result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read from disk.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// Path as given on the command line.
        path: String,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the schema (unknown field, wrong type).
    #[error("{0}")]
    Syntax(String),
    /// The YAML fits the schema but values are invalid; one line per problem.
    #[error("invalid configuration:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

// ---------------------------------------------------------------------------
// Resolved configuration.

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Redis endpoints; index 0 is the default (`redis:`), others come from `redis_endpoints:`.
    pub endpoints: Vec<Endpoint>,
    /// How often every queue is read.
    pub poll_interval: Duration,
    /// Data older than this is refused with 503 rather than served.
    pub max_staleness: Duration,
    /// How often glob patterns are re-expanded with SCAN.
    pub scan_interval: Duration,
    /// The queues, in file order.
    pub queues: Vec<Queue>,
    /// How often every service target is scraped.
    pub scrape_interval: Duration,
    /// Timeout of one scrape.
    pub scrape_timeout: Duration,
    /// Largest /metrics body accepted, in bytes.
    pub scrape_body_limit: usize,
    /// Services whose latency histograms are scraped.
    pub services: Vec<Service>,
    /// Instant queries against an existing Prometheus.
    pub promql: Vec<Promql>,
}

/// What to serve when a window had no traffic (or a query returned nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WhenEmpty {
    /// Serve 0.
    Zero,
    /// Serve no item.
    Omit,
}

/// Where a service's pods are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// A Kubernetes Service's ready endpoints, followed through EndpointSlices.
    Kubernetes {
        /// Namespace of the Service.
        namespace: String,
        /// Service name.
        service: String,
        /// Port name or number on the endpoints.
        port: PortRef,
    },
    /// Fixed URLs (out of cluster, or for things without a Service).
    Static(Vec<String>),
}

/// A port by name or number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    /// A named port of the EndpointSlice.
    Name(String),
    /// A port number.
    Number(u16),
}

/// A label matcher on scraped series (`name="v"` or `name!="v"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Label value (absent labels compare as "").
    pub value: String,
    /// `!=` instead of `=`.
    pub negated: bool,
}

impl Matcher {
    /// Whether a sample with label lookup `get` matches.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        (get(&self.name).unwrap_or("") == self.value) != self.negated
    }
}

/// A service whose /metrics are scraped for latency and traffic.
#[derive(Debug, Clone)]
pub struct Service {
    /// Served as label `service`.
    pub name: String,
    /// Namespaces that may read it.
    pub namespaces: Namespaces,
    /// Where the pods are.
    pub targets: Targets,
    /// `http` or `https`.
    pub scheme: String,
    /// Path of the metrics endpoint.
    pub path: String,
    /// Histogram base name (`<name>_bucket` is read).
    pub histogram: String,
    /// Matchers every histogram, gauge and counter sample must satisfy.
    pub matchers: Vec<Matcher>,
    /// Quantiles served.
    pub quantiles: Vec<f64>,
    /// Rate window.
    pub window: Duration,
    /// Gauge summed over ready pods (in-flight requests).
    pub inflight_gauge: Option<String>,
    /// Counter whose rate is served (requests).
    pub request_counter: Option<String>,
    /// No traffic in the window: 0 or no item.
    pub when_empty: WhenEmpty,
    /// Static labels.
    pub labels: Labels,
}

/// An instant PromQL query whose vector becomes items of metric `name`.
#[derive(Debug, Clone)]
pub struct Promql {
    /// Metric name served.
    pub name: String,
    /// Namespaces that may read it.
    pub namespaces: Namespaces,
    /// Prometheus base URL.
    pub url: String,
    /// The instant query.
    pub query: String,
    /// Query timeout (sent to Prometheus and enforced locally).
    pub timeout: Duration,
    /// How often the query runs.
    pub interval: Duration,
    /// Empty result or NaN: 0 or no item.
    pub when_empty: WhenEmpty,
}

/// One Redis server (one poll task and one connection each).
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `default` for `redis:`, else the key in `redis_endpoints:`.
    pub name: String,
    /// Connection URL without credentials (safe to log).
    pub url: String,
    /// ACL user name, if any.
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<Secret>,
    /// Upper bound for connecting and for each round trip.
    pub timeout: Duration,
    /// TLS files of a `rediss://` endpoint (`None` for `redis://`).
    pub tls: Option<ClientTlsFiles>,
}

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret value, for handing to the Redis client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Namespaces allowed to read a queue, service or PromQL metric: sorted,
/// without duplicates. A `Vec`, not a `BTreeSet`: most sources name one or
/// two namespaces, and a set's first node alone is ~300 bytes (3 MiB for
/// 10,000 queues, all of it in the start-up peak).
pub type Namespaces = Vec<String>;

/// Static labels of a queue or service: sorted by key, keys unique. A `Vec`
/// for the same reason as [`Namespaces`] (a map's first node is ~550 bytes).
pub type Labels = Vec<(String, String)>;

/// One queue: what to read, how to turn it into numbers, and who may see them.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Lowercase name; served as label `queue`.
    pub name: String,
    /// Namespaces that may read this queue's metrics; invisible to all others.
    pub namespaces: Namespaces,
    /// Index into [`Config::endpoints`].
    pub endpoint: usize,
    /// Exact key or glob pattern.
    pub source: KeySource,
    /// Its kind (`type:`): the Redis commands that measure it, and how.
    pub kind: Arc<dyn Kind>,
    /// Static labels added to every series (never `queue`).
    pub labels: Labels,
}

/// Where a queue lives in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// One exact key.
    Key(String),
    /// A glob pattern (Redis `MATCH` syntax); matching keys are summed.
    Pattern(String),
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &|name| std::env::var(name).ok())
}

/// Parses and validates config text; `env` looks up environment variables
/// (injected so tests do not depend on the process environment).
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    parse_with(text, env, kinds::ALL)
}

/// [`parse`] with the queue kinds `kinds` instead of the built-in ones
/// (a kind of one's own, as the tests add one, is one file and one entry).
pub fn parse_with(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    kinds: &[&kinds::Spec],
) -> Result<Config> {
    // Fast pass: no positions. A valid file (the normal case) ends here.
    match validate::validate(raw::read_fast(text)?, env, kinds) {
        Ok(config) => Ok(config),
        // Same text, same checks, now with the lines for the messages.
        Err(_) => validate::validate(raw::read_raw(text, true)?, env, kinds),
    }
}
