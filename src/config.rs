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
//! - Asking for a [`Spanned`] position on every field makes the parse about
//!   a third slower. So [`parse`] reads the file without positions first, and
//!   only if validation finds a problem, again with them, to put the lines
//!   into the messages. Both passes run the same validation on the same text,
//!   so they find the same problems. Syntax errors carry their position from
//!   serde-saphyr itself.
//! - A long `queues:` list is cut into parts parsed on separate threads
//!   ([`split`]); whenever a cut could change the meaning, the file is parsed
//!   whole instead.
//!
//! Secrets (Redis username and password) are never inline: they come from a
//! file or an environment variable, are read at load time, and are wrapped in
//! [`Secret`], whose `Debug` prints `<redacted>`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::k8s::selector;
use crate::tls::{self, client::ClientTls, client::ClientTlsFiles};

mod split;

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
    /// Data structure and how to measure it.
    pub kind: QueueKind,
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

/// The Redis data structure of a queue and its measuring options.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueKind {
    /// `LLEN`.
    List,
    /// `ZCARD`, or `ZCOUNT` over a score range.
    Zset {
        /// Score range; `None` counts everything with `ZCARD`.
        range: Option<(ScoreBound, ScoreBound)>,
        /// Unit of scores that are timestamps; enables `now` and the oldest age.
        unit: Option<ScoreUnit>,
    },
    /// `XLEN`, or consumer-group lag and pending.
    Stream {
        /// Consumer group whose backlog is measured.
        group: Option<String>,
        /// Most entries counted one by one when Redis cannot report the lag.
        lag_count_limit: u64,
    },
}

impl QueueKind {
    /// The name used in the config file.
    pub fn type_name(&self) -> &'static str {
        match self {
            QueueKind::List => "list",
            QueueKind::Zset { .. } => "zset",
            QueueKind::Stream { .. } => "stream",
        }
    }

    /// Whether the `queue_pending` metric exists for this queue.
    pub fn has_pending(&self) -> bool {
        matches!(self, QueueKind::Stream { group: Some(_), .. })
    }

    /// Whether `queue_oldest_age_seconds` is knowable for this queue.
    pub fn has_oldest_age(&self) -> bool {
        match self {
            QueueKind::List => false,
            QueueKind::Zset { unit, .. } => unit.is_some(),
            QueueKind::Stream { .. } => true,
        }
    }
}

/// One end of a zset score range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreBound {
    /// `-inf`.
    NegInf,
    /// `+inf` / `inf`.
    PosInf,
    /// A fixed score (inclusive).
    Value(f64),
    /// The current unix time in the zset's unit, plus an offset in that unit.
    Now(f64),
}

impl ScoreBound {
    /// The Redis argument for this bound at time `now` (in the zset's unit).
    pub fn to_arg(self, now: f64) -> String {
        match self {
            ScoreBound::NegInf => "-inf".into(),
            ScoreBound::PosInf => "+inf".into(),
            ScoreBound::Value(v) => v.to_string(),
            ScoreBound::Now(off) => (now + off).floor().to_string(),
        }
    }
}

/// Unit of zset scores that are unix timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreUnit {
    /// Unix seconds (e.g. Sidekiq's `schedule`, RQ's scheduled registry).
    Seconds,
    /// Unix milliseconds (e.g. BullMQ's `delayed`).
    Milliseconds,
}

impl ScoreUnit {
    /// Seconds per score unit.
    pub fn seconds(self) -> f64 {
        match self {
            ScoreUnit::Seconds => 1.0,
            ScoreUnit::Milliseconds => 0.001,
        }
    }
}

// ---------------------------------------------------------------------------
// The file as written.

thread_local! {
    /// Whether `At` values being deserialized on this thread record their line.
    static WITH_LINES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A value from the file and, when the parse asked for positions, its line
/// (0 otherwise). Deserializes as serde-saphyr's [`Spanned`] in the pass with
/// lines and as the bare value in the fast pass (see the module docs).
#[derive(Debug)]
struct At<T> {
    value: T,
    line: u64,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if WITH_LINES.get() {
            let s = Spanned::<T>::deserialize(d)?;
            Ok(At {
                line: s.referenced.line(),
                value: s.value,
            })
        } else {
            Ok(At {
                value: T::deserialize(d)?,
                line: 0,
            })
        }
    }
}

/// A YAML mapping as its entries in file order (serde-saphyr rejects
/// duplicate keys). Deserializes like a map, without a `BTreeMap`'s ~600-byte
/// first node per mapping (6 MiB of the parse peak for 10,000 queues with
/// labels).
#[derive(Debug)]
struct Pairs<V>(Vec<(String, V)>);

impl<V> Default for Pairs<V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs<V>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Pairs(entries))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// serde-saphyr's options for the config file. Its default budget allows
/// 250,000 nodes, about 16,000 queues; ours allows 20 times that. The budget
/// guards against alias bombs and runaway input; this file comes from the
/// operator, and a ConfigMap holds at most 1 MiB anyway.
fn options(strict_indentation: bool) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 5_000_000;
    budget.max_events = 20_000_000;
    let mut o = serde_saphyr::Options::default();
    o.budget = Some(budget);
    o.strict_indentation = strict_indentation;
    o
}

/// Deserializes `text` as `T` with or without positions on this thread.
fn read<T: serde::de::DeserializeOwned>(
    text: &str,
    with_lines: bool,
    strict_indentation: bool,
) -> Result<T> {
    /// Puts the thread's mode back however the parse ends.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            WITH_LINES.set(self.0);
        }
    }
    let _restore = Restore(WITH_LINES.replace(with_lines));
    serde_saphyr::from_str_with_options(text, options(strict_indentation))
        .map_err(|e| Error::Syntax(e.to_string()))
}

/// Deserializes the raw file, with or without positions.
fn read_raw(text: &str, with_lines: bool) -> Result<RawConfig> {
    read(text, with_lines, false)
}

/// Smallest part worth a thread of its own.
const MIN_PART_BYTES: usize = 128 << 10;
/// Most threads one parse uses.
const MAX_PARTS: usize = 8;

/// Deserializes the raw file without positions, a long queue list in parts
/// on several threads (see [`split`]); the whole file on one thread when it
/// cannot be cut or a part does not come out exactly as expected.
fn read_fast(text: &str) -> Result<RawConfig> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    split::split(text, cores.min(MAX_PARTS), MIN_PART_BYTES)
        .and_then(|s| read_parts(&s))
        .map_or_else(|| read_raw(text, false), Ok)
}

/// Parses the head on this thread and each tail on its own; `None` unless
/// every part parses with strict indentation and holds as many queues as it
/// has item lines.
fn read_parts(s: &split::Split) -> Option<RawConfig> {
    std::thread::scope(|scope| {
        let tails: Vec<_> = s
            .tails
            .iter()
            .map(|(text, items)| {
                scope.spawn(move || {
                    let queues: Vec<At<RawQueue>> = read(text, false, true).ok()?;
                    (queues.len() == *items).then_some(queues)
                })
            })
            .collect();
        let head: Option<RawConfig> = read(&s.head, false, true)
            .ok()
            .filter(|h: &RawConfig| h.queues.len() == s.head_items);
        let mut queues = Vec::new();
        for t in tails {
            queues.push(t.join().ok()??);
        }
        let mut head = head?;
        head.queues.extend(queues.into_iter().flatten());
        Some(head)
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    redis: Option<At<RawRedis>>,
    #[serde(default)]
    redis_endpoints: BTreeMap<String, At<RawRedis>>,
    poll_interval: Option<At<String>>,
    max_staleness: Option<At<String>>,
    scan_interval: Option<At<String>>,
    #[serde(default)]
    queues: Vec<At<RawQueue>>,
    scrape_interval: Option<At<String>>,
    scrape_timeout: Option<At<String>>,
    scrape_body_limit: Option<At<u64>>,
    #[serde(default)]
    services: Vec<At<RawService>>,
    #[serde(default)]
    promql: Vec<At<RawPromql>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: At<String>,
    namespaces: Option<At<Vec<At<String>>>>,
    kubernetes: Option<At<RawKubeTarget>>,
    urls: Option<At<Vec<At<String>>>>,
    scheme: Option<At<String>>,
    path: Option<At<String>>,
    histogram: At<String>,
    matchers: Option<At<String>>,
    quantiles: Option<At<Vec<At<f64>>>>,
    window: Option<At<String>>,
    inflight_gauge: Option<At<String>>,
    request_counter: Option<At<String>>,
    when_empty: Option<At<WhenEmpty>>,
    #[serde(default)]
    labels: Pairs<At<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKubeTarget {
    service: At<String>,
    namespace: Option<At<String>>,
    port: At<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPromql {
    name: At<String>,
    namespaces: Option<At<Vec<At<String>>>>,
    url: At<String>,
    query: At<String>,
    timeout: Option<At<String>>,
    interval: Option<At<String>>,
    when_empty: Option<At<WhenEmpty>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: At<String>,
    username: Option<String>,
    username_env: Option<At<String>>,
    username_file: Option<At<String>>,
    password_env: Option<At<String>>,
    password_file: Option<At<String>>,
    timeout: Option<At<String>>,
    tls: Option<At<RawRedisTls>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedisTls {
    ca_file: Option<At<String>>,
    cert_file: Option<At<String>>,
    key_file: Option<At<String>>,
    server_name: Option<At<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    name: At<String>,
    namespaces: Option<At<Vec<At<String>>>>,
    endpoint: Option<At<String>>,
    key: Option<At<String>>,
    pattern: Option<At<String>>,
    #[serde(rename = "type")]
    kind: At<RawType>,
    #[serde(default)]
    labels: Pairs<At<String>>,
    // zset
    min_score: Option<At<String>>,
    max_score: Option<At<String>>,
    score_unit: Option<At<ScoreUnit>>,
    // stream
    group: Option<At<String>>,
    lag_count_limit: Option<At<u64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawType {
    List,
    Zset,
    Stream,
}

const DEFAULT_POLL: Duration = Duration::from_secs(1);
const DEFAULT_STALENESS: Duration = Duration::from_secs(10);
const DEFAULT_SCAN: Duration = Duration::from_secs(30);
const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_LAG_COUNT_LIMIT: u64 = 10_000;
const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_SCRAPE_BODY_LIMIT: usize = 10 << 20;
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
const DEFAULT_PROMQL_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_PROMQL_INTERVAL: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// Loading and validation.

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
    // Fast pass: no positions. A valid file (the normal case) ends here.
    match validate(read_fast(text)?, env) {
        Ok(config) => Ok(config),
        // Same text, same checks, now with the lines for the messages.
        Err(_) => validate(read_raw(text, true)?, env),
    }
}

fn validate(raw: RawConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    let mut v = Validator {
        problems: Vec::new(),
        env,
    };
    let config = v.config(raw);
    if v.problems.is_empty() {
        Ok(config)
    } else {
        Err(Error::Invalid(v.problems))
    }
}

/// Collects every problem instead of stopping at the first.
struct Validator<'a> {
    problems: Vec<String>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Validator<'_> {
    fn problem<T>(&mut self, field: &str, at: &At<T>, message: impl fmt::Display) {
        self.problems
            .push(format!("{field} (line {}): {message}", at.line));
    }

    fn duration(&mut self, field: &str, raw: Option<At<String>>, default: Duration) -> Duration {
        let Some(raw) = raw else { return default };
        match humantime::parse_duration(raw.value.trim()) {
            Ok(d) if d.is_zero() => {
                self.problem(field, &raw, "must be greater than zero");
                default
            }
            Ok(d) => d,
            Err(e) => {
                self.problem(
                    field,
                    &raw,
                    format!(
                        "{:?} is not a duration like 500ms, 1s or 2m: {e}",
                        raw.value
                    ),
                );
                default
            }
        }
    }

    fn config(&mut self, raw: RawConfig) -> Config {
        let poll_interval = self.duration("poll_interval", raw.poll_interval, DEFAULT_POLL);
        let max_staleness = self.duration("max_staleness", raw.max_staleness, DEFAULT_STALENESS);
        let scan_interval = self.duration("scan_interval", raw.scan_interval, DEFAULT_SCAN);
        if max_staleness < poll_interval {
            self.problems.push(format!(
                "max_staleness: {} is shorter than poll_interval {}; every value would be stale",
                humantime::format_duration(max_staleness),
                humantime::format_duration(poll_interval)
            ));
        }

        let mut endpoints = Vec::new();
        let mut endpoint_names = BTreeMap::new();
        match raw.redis {
            Some(r) => {
                endpoint_names.insert("default".to_string(), 0);
                endpoints.push(self.endpoint("redis", "default", r));
            }
            None => endpoints.push(Endpoint {
                name: "default".into(),
                url: "redis://127.0.0.1:6379/".into(),
                username: None,
                password: None,
                timeout: DEFAULT_REDIS_TIMEOUT,
                tls: None,
            }),
        }
        for (name, r) in raw.redis_endpoints {
            let field = format!("redis_endpoints.{name}");
            if name == "default" {
                self.problem(&field, &r, "the name `default` is reserved for `redis:`");
                continue;
            }
            endpoint_names.insert(name.clone(), endpoints.len());
            endpoints.push(self.endpoint(&field, &name, r));
        }

        let mut queues = Vec::new();
        let mut seen = BTreeMap::new();
        if raw.queues.is_empty() && raw.services.is_empty() && raw.promql.is_empty() {
            self.problems.push(
                "queues, services, promql: at least one queue, service or promql entry is required"
                    .into(),
            );
        }
        for (i, q) in raw.queues.into_iter().enumerate() {
            let field = format!("queues[{i}]");
            if let Some(first) = seen.insert(q.value.name.value.clone(), q.line) {
                self.problem(
                    &format!("{field}.name"),
                    &q.value.name,
                    format!(
                        "duplicate queue name {:?} (first at line {first})",
                        q.value.name.value
                    ),
                );
            }
            if let Some(queue) = self.queue(&field, q, &endpoint_names) {
                queues.push(queue);
            }
        }
        let scrape_interval = self.duration(
            "scrape_interval",
            raw.scrape_interval,
            DEFAULT_SCRAPE_INTERVAL,
        );
        let scrape_timeout =
            self.duration("scrape_timeout", raw.scrape_timeout, DEFAULT_SCRAPE_TIMEOUT);
        let scrape_body_limit = match raw.scrape_body_limit {
            Some(l) if l.value < 1024 => {
                self.problem("scrape_body_limit", &l, "must be at least 1024 bytes");
                DEFAULT_SCRAPE_BODY_LIMIT
            }
            Some(l) => usize::try_from(l.value).unwrap_or(usize::MAX),
            None => DEFAULT_SCRAPE_BODY_LIMIT,
        };
        let mut services = Vec::new();
        let mut seen = BTreeMap::new();
        for (i, raw) in raw.services.into_iter().enumerate() {
            let field = format!("services[{i}]");
            if let Some(first) = seen.insert(raw.value.name.value.clone(), raw.line) {
                self.problem(
                    &format!("{field}.name"),
                    &raw.value.name,
                    format!(
                        "duplicate service name {:?} (first at line {first})",
                        raw.value.name.value
                    ),
                );
            }
            if let Some(svc) = self.service(&field, raw) {
                services.push(svc);
            }
        }
        let mut promql = Vec::new();
        let mut seen = BTreeMap::new();
        for (i, raw) in raw.promql.into_iter().enumerate() {
            let field = format!("promql[{i}]");
            if let Some(first) = seen.insert(raw.value.name.value.clone(), raw.line) {
                self.problem(
                    &format!("{field}.name"),
                    &raw.value.name,
                    format!(
                        "duplicate promql name {:?} (first at line {first})",
                        raw.value.name.value
                    ),
                );
            }
            if let Some(p) = self.promql(&field, raw) {
                promql.push(p);
            }
        }
        Config {
            endpoints,
            poll_interval,
            max_staleness,
            scan_interval,
            queues,
            scrape_interval,
            scrape_timeout,
            scrape_body_limit,
            services,
            promql,
        }
    }

    /// A required `namespaces` list of DNS-1123 labels.
    fn namespaces(
        &mut self,
        field: &str,
        raw: Option<At<Vec<At<String>>>>,
        anchor: &At<String>,
        what: &str,
    ) -> Namespaces {
        let mut namespaces = Namespaces::new();
        match raw {
            None => self.problem(
                &format!("{field}.namespaces"),
                anchor,
                format!("is required: list the namespaces allowed to read this {what}"),
            ),
            Some(ns) if ns.value.is_empty() => self.problem(
                &format!("{field}.namespaces"),
                &ns,
                "must list at least one namespace",
            ),
            Some(ns) => {
                for (j, n) in ns.value.into_iter().enumerate() {
                    if !is_dns1123_label(&n.value) {
                        self.problem(
                            &format!("{field}.namespaces[{j}]"),
                            &n,
                            format!(
                                "{:?} is not a valid namespace name (DNS-1123 label)",
                                n.value
                            ),
                        );
                    }
                    namespaces.push(n.value);
                }
            }
        }
        namespaces.sort_unstable();
        namespaces.dedup();
        namespaces
    }

    /// Static labels: valid Kubernetes labels, none of the `reserved` names.
    fn labels(&mut self, field: &str, raw: Pairs<At<String>>, reserved: &[&str]) -> Labels {
        let mut labels = Labels::with_capacity(raw.0.len());
        for (k, v) in raw.0 {
            let lf = format!("{field}.labels.{k}");
            if reserved.contains(&k.as_str()) {
                self.problem(
                    &lf,
                    &v,
                    format!("`{k}` is set by the adapter and cannot be overridden"),
                );
            } else if let Err(e) = selector::validate_label_key(&k) {
                self.problem(&lf, &v, format!("invalid label key: {e}"));
            } else if let Err(e) = selector::validate_label_value(&v.value) {
                self.problem(&lf, &v, format!("invalid label value: {e}"));
            }
            labels.push((k, v.value));
        }
        // Keys are unique: serde-saphyr rejects duplicate keys (its default
        // `DuplicateKeyPolicy::Error`), and merge keys skip overridden ones.
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        labels
    }

    fn service(&mut self, field: &str, raw: At<RawService>) -> Option<Service> {
        let start = self.problems.len();
        let r = raw.value;
        if !is_queue_name(&r.name.value) {
            self.problem(
                &format!("{field}.name"),
                &r.name,
                format!(
                    "{:?} must be lowercase letters, digits, '-', '_' or '.', start and end with a letter or digit, at most 63 characters (it becomes the label `service`)",
                    r.name.value
                ),
            );
        }
        let namespaces = self.namespaces(field, r.namespaces, &r.name, "service");
        let targets = match (r.kubernetes, r.urls) {
            (Some(k), None) => {
                let k = k.value;
                let namespace = match &k.namespace {
                    Some(n) => n.value.clone(),
                    None => namespaces.first().cloned().unwrap_or_default(),
                };
                if !is_dns1123_label(&k.service.value) {
                    self.problem(
                        &format!("{field}.kubernetes.service"),
                        &k.service,
                        "not a valid Service name",
                    );
                }
                if let Some(n) = &k.namespace
                    && !is_dns1123_label(&n.value)
                {
                    self.problem(
                        &format!("{field}.kubernetes.namespace"),
                        n,
                        "not a valid namespace name",
                    );
                }
                let port = match k.port.value.parse::<u16>() {
                    Ok(0) => {
                        self.problem(
                            &format!("{field}.kubernetes.port"),
                            &k.port,
                            "port 0 is not a port",
                        );
                        PortRef::Number(0)
                    }
                    Ok(n) => PortRef::Number(n),
                    Err(_) if is_dns1123_label(&k.port.value) => {
                        PortRef::Name(k.port.value.clone())
                    }
                    Err(_) => {
                        self.problem(
                            &format!("{field}.kubernetes.port"),
                            &k.port,
                            "not a port name or number",
                        );
                        PortRef::Number(0)
                    }
                };
                Targets::Kubernetes {
                    namespace,
                    service: k.service.value,
                    port,
                }
            }
            (None, Some(urls)) => {
                if urls.value.is_empty() {
                    self.problem(
                        &format!("{field}.urls"),
                        &urls,
                        "must list at least one URL",
                    );
                }
                let mut out = Vec::new();
                for (j, u) in urls.value.into_iter().enumerate() {
                    match url::Url::parse(&u.value) {
                        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                            out.push(u.value)
                        }
                        _ => self.problem(
                            &format!("{field}.urls[{j}]"),
                            &u,
                            format!("{:?} is not an http(s) URL", u.value),
                        ),
                    }
                }
                Targets::Static(out)
            }
            (Some(k), Some(_)) => {
                self.problem(field, &k, "set either `kubernetes` or `urls`, not both");
                Targets::Static(Vec::new())
            }
            (None, None) => {
                self.problem(field, &r.name, "one of `kubernetes` or `urls` is required");
                Targets::Static(Vec::new())
            }
        };
        let scheme = match r.scheme {
            Some(s) if s.value == "http" || s.value == "https" => s.value,
            Some(s) => {
                self.problem(&format!("{field}.scheme"), &s, "must be http or https");
                "http".into()
            }
            None => "http".into(),
        };
        let path = match r.path {
            Some(p) if p.value.starts_with('/') => p.value,
            Some(p) => {
                self.problem(&format!("{field}.path"), &p, "must start with /");
                "/metrics".into()
            }
            None => "/metrics".into(),
        };
        let metric_name = |v: &mut Self, f: &str, n: &At<String>| {
            if !is_metric_name(&n.value) {
                v.problem(
                    &format!("{field}.{f}"),
                    n,
                    format!("{:?} is not a Prometheus metric name", n.value),
                );
            }
        };
        metric_name(self, "histogram", &r.histogram);
        if let Some(g) = &r.inflight_gauge {
            metric_name(self, "inflight_gauge", g);
        }
        if let Some(c) = &r.request_counter {
            metric_name(self, "request_counter", c);
        }
        let matchers = match &r.matchers {
            None => Vec::new(),
            Some(m) => parse_matchers(&m.value).unwrap_or_else(|e| {
                self.problem(&format!("{field}.matchers"), m, e);
                Vec::new()
            }),
        };
        let quantiles = match r.quantiles {
            None => vec![0.5, 0.95, 0.99],
            Some(q) => {
                if q.value.is_empty() {
                    self.problem(
                        &format!("{field}.quantiles"),
                        &q,
                        "must list at least one quantile",
                    );
                }
                let mut out = Vec::new();
                for (j, v) in q.value.into_iter().enumerate() {
                    if !(0.0..=1.0).contains(&v.value) {
                        self.problem(
                            &format!("{field}.quantiles[{j}]"),
                            &v,
                            "must be between 0 and 1",
                        );
                    }
                    out.push(v.value);
                }
                out
            }
        };
        let window = self.duration(&format!("{field}.window"), r.window, DEFAULT_WINDOW);
        let labels = self.labels(field, r.labels, &["service", "quantile"]);
        if self.problems.len() > start {
            return None;
        }
        Some(Service {
            name: r.name.value,
            namespaces,
            targets,
            scheme,
            path,
            histogram: r.histogram.value,
            matchers,
            quantiles,
            window,
            inflight_gauge: r.inflight_gauge.map(|g| g.value),
            request_counter: r.request_counter.map(|c| c.value),
            when_empty: r.when_empty.map_or(WhenEmpty::Zero, |w| w.value),
            labels,
        })
    }

    fn promql(&mut self, field: &str, raw: At<RawPromql>) -> Option<Promql> {
        let start = self.problems.len();
        let r = raw.value;
        let name = &r.name.value;
        let builtin = crate::store::Metric::from_name(name).is_some();
        if builtin
            || !is_metric_name(name)
            || name.chars().any(|c| c.is_ascii_uppercase() || c == ':')
        {
            self.problem(
                &format!("{field}.name"),
                &r.name,
                format!("{name:?} must be a lowercase metric name ([a-z_][a-z0-9_]*) not served by the adapter itself"),
            );
        }
        let namespaces = self.namespaces(field, r.namespaces, &r.name, "query");
        match url::Url::parse(&r.url.value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => self.problem(&format!("{field}.url"), &r.url, "not an http(s) URL"),
        }
        if r.query.value.trim().is_empty() {
            self.problem(&format!("{field}.query"), &r.query, "must not be empty");
        }
        let timeout = self.duration(
            &format!("{field}.timeout"),
            r.timeout,
            DEFAULT_PROMQL_TIMEOUT,
        );
        let interval = self.duration(
            &format!("{field}.interval"),
            r.interval,
            DEFAULT_PROMQL_INTERVAL,
        );
        if self.problems.len() > start {
            return None;
        }
        Some(Promql {
            name: r.name.value,
            namespaces,
            url: r.url.value.trim_end_matches('/').to_string(),
            query: r.query.value,
            timeout,
            interval,
            when_empty: r.when_empty.map_or(WhenEmpty::Omit, |w| w.value),
        })
    }

    fn secret(
        &mut self,
        field: &str,
        env_var: Option<At<String>>,
        file: Option<At<String>>,
        what: &str,
    ) -> Option<String> {
        match (env_var, file) {
            (Some(e), Some(_)) => {
                self.problem(
                    field,
                    &e,
                    format!("set only one of {what}_env and {what}_file"),
                );
                None
            }
            (Some(e), None) => match (self.env)(&e.value) {
                Some(v) => Some(v),
                None => {
                    self.problem(
                        &format!("{field}.{what}_env"),
                        &e,
                        format!("environment variable {} is not set", e.value),
                    );
                    None
                }
            },
            (None, Some(f)) => match std::fs::read_to_string(&f.value) {
                Ok(v) => Some(v.trim_end_matches(['\r', '\n']).to_string()),
                Err(err) => {
                    self.problem(
                        &format!("{field}.{what}_file"),
                        &f,
                        format!("cannot read {}: {err}", f.value),
                    );
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn endpoint(&mut self, field: &str, name: &str, raw: At<RawRedis>) -> Endpoint {
        let r = raw.value;
        let url = r.url.value.trim().to_string();
        match url::Url::parse(&url) {
            Ok(u) if !matches!(u.scheme(), "redis" | "rediss") => self.problem(
                &format!("{field}.url"),
                &r.url,
                format!("scheme {:?} is not redis:// or rediss://", u.scheme()),
            ),
            Ok(u) if u.password().is_some() || !u.username().is_empty() => self.problem(
                &format!("{field}.url"),
                &r.url,
                "credentials must not be inline in the URL; use username/username_env/username_file and password_env/password_file",
            ),
            Ok(_) => {}
            Err(e) => self.problem(&format!("{field}.url"), &r.url, format!("not a URL: {e}")),
        }
        let tls = self.redis_tls(field, &url, r.url.line, r.tls);
        let user_env_or_file = self.secret(field, r.username_env, r.username_file, "username");
        let username = r.username.or(user_env_or_file);
        let password = self
            .secret(field, r.password_env, r.password_file, "password")
            .map(Secret);
        let timeout = self.duration(
            &format!("{field}.timeout"),
            r.timeout,
            DEFAULT_REDIS_TIMEOUT,
        );
        Endpoint {
            name: name.to_string(),
            url,
            username,
            password,
            timeout,
            tls,
        }
    }

    /// The TLS files of a `rediss://` endpoint, read and checked now so that
    /// `check-config` refuses what no handshake could use.
    fn redis_tls(
        &mut self,
        field: &str,
        url: &str,
        url_line: u64,
        raw: Option<At<RawRedisTls>>,
    ) -> Option<ClientTlsFiles> {
        let parsed = url::Url::parse(url).ok();
        let secure = parsed.as_ref().is_some_and(|u| u.scheme() == "rediss");
        if !secure {
            if let Some(raw) = raw {
                self.problem(
                    &format!("{field}.tls"),
                    &raw,
                    "TLS settings need a rediss:// url (redis:// is plain text)",
                );
            }
            return None;
        }
        // The redis crate reads `#insecure` as "skip certificate checks",
        // which this build does not offer (no tls-rustls-insecure feature).
        if parsed.as_ref().and_then(|u| u.fragment()) == Some("insecure") {
            self.problem(
                &format!("{field}.url"),
                &At { value: (), line: url_line },
                "#insecure (no certificate verification) is not supported; give the server's CA in tls.ca_file",
            );
        }
        let Some(raw) = raw else {
            return Some(ClientTlsFiles::default());
        };
        let line = raw.line;
        let t = raw.value;
        let path = |v: &Option<At<String>>| v.as_ref().map(|a| PathBuf::from(a.value.trim()));
        let files = ClientTlsFiles {
            ca_file: path(&t.ca_file),
            cert_file: path(&t.cert_file),
            key_file: path(&t.key_file),
            server_name: t.server_name.as_ref().map(|a| a.value.trim().to_string()),
        };
        if let Err(e) = ClientTls::load(&files) {
            // Name the field the problem is in.
            let named = |p: &str| {
                [
                    ("ca_file", &t.ca_file),
                    ("cert_file", &t.cert_file),
                    ("key_file", &t.key_file),
                ]
                .into_iter()
                .find_map(|(n, v)| {
                    v.as_ref()
                        .filter(|a| a.value.trim() == p)
                        .map(|a| (n, a.line))
                })
            };
            let (name, at) = match &e {
                tls::client::Error::Read { path, .. }
                | tls::client::Error::NoCertificate { path, .. }
                | tls::client::Error::BadCa { path, .. } => named(path).unwrap_or(("", line)),
                tls::client::Error::NoKey { .. } => {
                    ("key_file", t.key_file.as_ref().map_or(line, |a| a.line))
                }
                tls::client::Error::BadPair { cert, .. } => named(cert).unwrap_or(("", line)),
                tls::client::Error::BadServerName { .. } => (
                    "server_name",
                    t.server_name.as_ref().map_or(line, |a| a.line),
                ),
                tls::client::Error::Incomplete => ("", line),
            };
            let f = if name.is_empty() {
                format!("{field}.tls")
            } else {
                format!("{field}.tls.{name}")
            };
            self.problem(
                &f,
                &At {
                    value: (),
                    line: at,
                },
                e,
            );
        }
        Some(files)
    }

    fn queue(
        &mut self,
        field: &str,
        raw: At<RawQueue>,
        endpoints: &BTreeMap<String, usize>,
    ) -> Option<Queue> {
        let start = self.problems.len();
        let q = raw.value;

        if !is_queue_name(&q.name.value) {
            self.problem(
                &format!("{field}.name"),
                &q.name,
                format!(
                    "{:?} must be lowercase letters, digits, '-', '_' or '.', start and end with a letter or digit, at most 63 characters (it becomes the label `queue`)",
                    q.name.value
                ),
            );
        }

        let namespaces = self.namespaces(field, q.namespaces, &q.name, "queue");

        let endpoint = match &q.endpoint {
            // No `endpoint`: the default one (`redis:`).
            None => 0,
            Some(e) => match endpoints.get(&e.value) {
                Some(i) => *i,
                None => {
                    let known: Vec<_> = endpoints.keys().cloned().collect();
                    self.problem(
                        &format!("{field}.endpoint"),
                        e,
                        format!(
                            "unknown Redis endpoint {:?} (known: {})",
                            e.value,
                            known.join(", ")
                        ),
                    );
                    0
                }
            },
        };

        let source = match (q.key, q.pattern) {
            (Some(k), None) if k.value.is_empty() => {
                self.problem(&format!("{field}.key"), &k, "must not be empty");
                None
            }
            (Some(k), None) => Some(KeySource::Key(k.value)),
            (None, Some(p)) if p.value.is_empty() => {
                self.problem(&format!("{field}.pattern"), &p, "must not be empty");
                None
            }
            (None, Some(p)) => Some(KeySource::Pattern(p.value)),
            (Some(k), Some(_)) => {
                self.problem(field, &k, "set either `key` or `pattern`, not both");
                None
            }
            (None, None) => {
                self.problem(field, &q.name, "one of `key` or `pattern` is required");
                None
            }
        };

        let labels = self.labels(field, q.labels, &["queue"]);

        let ty = q.kind.value;
        let only = |v: &mut Self, name: &str, present: bool, at: &At<RawType>, for_ty: &str| {
            if present {
                v.problem(
                    &format!("{field}.{name}"),
                    at,
                    format!("only applies to type {for_ty}, not {}", type_str(ty)),
                );
            }
        };
        if ty != RawType::Zset {
            only(self, "min_score", q.min_score.is_some(), &q.kind, "zset");
            only(self, "max_score", q.max_score.is_some(), &q.kind, "zset");
            only(self, "score_unit", q.score_unit.is_some(), &q.kind, "zset");
        }
        if ty != RawType::Stream {
            only(self, "group", q.group.is_some(), &q.kind, "stream");
            only(
                self,
                "lag_count_limit",
                q.lag_count_limit.is_some(),
                &q.kind,
                "stream",
            );
        }

        let kind = match ty {
            RawType::List => QueueKind::List,
            RawType::Zset => {
                let unit = q.score_unit.map(|u| u.value);
                let min = q
                    .min_score
                    .map(|s| self.score(&format!("{field}.min_score"), s, unit));
                let max = q
                    .max_score
                    .map(|s| self.score(&format!("{field}.max_score"), s, unit));
                let range = match (min, max) {
                    (None, None) => None,
                    (min, max) => Some((
                        min.unwrap_or(ScoreBound::NegInf),
                        max.unwrap_or(ScoreBound::PosInf),
                    )),
                };
                QueueKind::Zset { range, unit }
            }
            RawType::Stream => {
                let group = q.group.map(|g| {
                    if g.value.is_empty() {
                        self.problem(&format!("{field}.group"), &g, "must not be empty");
                    }
                    g.value
                });
                let lag_count_limit = match q.lag_count_limit {
                    Some(l) if l.value == 0 => {
                        self.problem(
                            &format!("{field}.lag_count_limit"),
                            &l,
                            "must be at least 1",
                        );
                        1
                    }
                    Some(l) => l.value,
                    None => DEFAULT_LAG_COUNT_LIMIT,
                };
                QueueKind::Stream {
                    group,
                    lag_count_limit,
                }
            }
        };

        if self.problems.len() > start {
            return None;
        }
        Some(Queue {
            name: q.name.value,
            namespaces,
            endpoint,
            source: source?,
            kind,
            labels,
        })
    }

    fn score(&mut self, field: &str, raw: At<String>, unit: Option<ScoreUnit>) -> ScoreBound {
        let s = raw.value.trim();
        match s {
            "-inf" => return ScoreBound::NegInf,
            "+inf" | "inf" => return ScoreBound::PosInf,
            _ => {}
        }
        if let Some(rest) = s.strip_prefix("now") {
            if unit.is_none() {
                self.problem(
                    field,
                    &raw,
                    "`now` needs `score_unit` (seconds or milliseconds)",
                );
            }
            let rest = rest.replace(' ', "");
            if rest.is_empty() {
                return ScoreBound::Now(0.0);
            }
            match rest.parse::<f64>() {
                Ok(off) if off.is_finite() && (rest.starts_with('+') || rest.starts_with('-')) => {
                    return ScoreBound::Now(off);
                }
                _ => {}
            }
        } else if let Ok(v) = s.parse::<f64>()
            && v.is_finite()
        {
            return ScoreBound::Value(v);
        }
        self.problem(
            field,
            &raw,
            format!(
                "{:?} is not a score: use a number, -inf, +inf, now, now-N or now+N",
                raw.value
            ),
        );
        ScoreBound::NegInf
    }
}

fn type_str(t: RawType) -> &'static str {
    match t {
        RawType::List => "list",
        RawType::Zset => "zset",
        RawType::Stream => "stream",
    }
}

/// Queue names become the `queue` label value, so they follow label-value rules, lowercased.
fn is_queue_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| {
            c.is_ascii_digit() || c.is_ascii_lowercase() || matches!(c, b'-' | b'_' | b'.')
        })
}

/// A Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
fn is_metric_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// `name="value", other!="x"` (PromQL equality matchers; `\"` and `\\` escapes).
fn parse_matchers(s: &str) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let end = rest
            .find(['=', '!'])
            .ok_or_else(|| format!("expected name=\"value\" in {s:?}"))?;
        let name = rest[..end].trim();
        if !is_metric_name(name) || name.contains(':') {
            return Err(format!("{name:?} is not a label name"));
        }
        rest = &rest[end..];
        let negated = rest.starts_with("!=");
        rest = rest
            .strip_prefix("!=")
            .or_else(|| rest.strip_prefix('='))
            .ok_or_else(|| format!("only = and != matchers are supported (in {s:?})"))?
            .trim_start();
        rest = rest
            .strip_prefix('"')
            .ok_or_else(|| format!("value of {name} must be quoted"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let close = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err(format!("unterminated value of {name}")),
                },
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated value of {name}")),
            }
        };
        out.push(Matcher {
            name: name.to_string(),
            value,
            negated,
        });
        rest = rest[close + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

/// A namespace name: DNS-1123 label (`k8s.io/apimachinery/pkg/util/validation.IsDNS1123Label`).
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || *c == b'-')
}

// ---------------------------------------------------------------------------
// The resolved table printed by `check-config`.

impl Config {
    /// A human-readable table of the resolved queues, one per line.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "poll_interval={} max_staleness={} scan_interval={}",
            humantime::format_duration(self.poll_interval),
            humantime::format_duration(self.max_staleness),
            humantime::format_duration(self.scan_interval)
        );
        for e in &self.endpoints {
            let _ = writeln!(
                out,
                "endpoint {:<10} {} user={} password={}{}",
                e.name,
                e.url,
                e.username.as_deref().unwrap_or("-"),
                if e.password.is_some() { "set" } else { "-" },
                e.tls.as_ref().map_or(String::new(), |t| format!(
                    " tls: ca={} client-cert={} server-name={}",
                    t.ca_file
                        .as_ref()
                        .map_or("system".into(), |p| p.display().to_string()),
                    t.cert_file
                        .as_ref()
                        .map_or("-".into(), |p| p.display().to_string()),
                    t.server_name.as_deref().unwrap_or("(url host)")
                ))
            );
        }
        let _ = writeln!(
            out,
            "{:<24} {:<7} {:<10} {:<32} {:<34} {:<24} LABELS",
            "QUEUE", "TYPE", "ENDPOINT", "KEY/PATTERN", "METRICS", "NAMESPACES"
        );
        for q in &self.queues {
            let src = match &q.source {
                KeySource::Key(k) => k.clone(),
                KeySource::Pattern(p) => format!("{p} (glob)"),
            };
            let mut metrics = vec!["depth"];
            if q.kind.has_pending() {
                metrics.push("pending");
            }
            if q.kind.has_oldest_age() {
                metrics.push("oldest_age_seconds");
            }
            let detail = match &q.kind {
                QueueKind::Stream { group: Some(g), .. } => format!(" group={g}"),
                QueueKind::Zset {
                    range: Some((min, max)),
                    ..
                } => format!(" range=[{min:?},{max:?}]"),
                _ => String::new(),
            };
            let labels: Vec<String> = q.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                out,
                "{:<24} {:<7} {:<10} {:<32} {:<34} {:<24} {}{}",
                q.name,
                q.kind.type_name(),
                self.endpoints[q.endpoint].name,
                src,
                metrics.join(","),
                q.namespaces.join(","),
                labels.join(","),
                detail
            );
        }
        if !self.services.is_empty() {
            let _ = writeln!(
                out,
                "\nscrape_interval={} scrape_timeout={} scrape_body_limit={}",
                humantime::format_duration(self.scrape_interval),
                humantime::format_duration(self.scrape_timeout),
                self.scrape_body_limit
            );
            let _ = writeln!(
                out,
                "{:<24} {:<40} {:<36} {:<20} NAMESPACES",
                "SERVICE", "TARGETS", "HISTOGRAM", "QUANTILES/WINDOW"
            );
            for svc in &self.services {
                let targets = match &svc.targets {
                    Targets::Kubernetes {
                        namespace,
                        service,
                        port,
                    } => format!("svc {namespace}/{service}:{port:?}"),
                    Targets::Static(urls) => format!("{} static URL(s)", urls.len()),
                };
                let q: Vec<String> = svc.quantiles.iter().map(f64::to_string).collect();
                let _ = writeln!(
                    out,
                    "{:<24} {:<40} {:<36} {:<20} {}",
                    svc.name,
                    targets,
                    svc.histogram,
                    format!("{}/{}", q.join(","), humantime::format_duration(svc.window)),
                    svc.namespaces.join(",")
                );
            }
        }
        if !self.promql.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<32} {:<40} NAMESPACES",
                "PROMQL METRIC", "PROMETHEUS"
            );
            for p in &self.promql {
                let _ = writeln!(
                    out,
                    "{:<32} {:<40} {}",
                    p.name,
                    p.url,
                    p.namespaces.join(",")
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn err(text: &str) -> String {
        parse(text, &no_env).expect_err("should fail").to_string()
    }

    const GOOD: &str = r#"
redis:
  url: redis://127.0.0.1:6379/0
  password_env: REDIS_PASSWORD
poll_interval: 500ms
queues:
  - name: gateway-requests
    namespaces: [ai-platform]
    key: gateway:requests
    type: list
    labels:
      service: gateway
  - name: knowledge-jobs
    namespaces: [ai-platform, staging]
    key: knowledge:jobs
    type: stream
    group: workers
  - name: research-delayed
    namespaces: [ai-platform]
    pattern: "research:delayed:*"
    type: zset
    max_score: now
    score_unit: seconds
"#;

    /// `read_parts` with every cut `split` offers for 2..=4 parts, next to the
    /// whole parse; `Some` only if a cut was offered and taken.
    fn parts_vs_whole(text: &str) -> Vec<Option<String>> {
        let whole = read_raw(text, false)
            .map(|r| format!("{r:?}"))
            .map_err(|e| e.to_string());
        (2..=4)
            .filter_map(|n| split::split(text, n, 1))
            .map(|s| {
                let parts = read_parts(&s).map(|r| format!("{r:?}"));
                if let Some(p) = &parts {
                    assert_eq!(
                        Ok(p),
                        whole.as_ref(),
                        "a cut changed the reading of:\n{text}"
                    );
                }
                parts
            })
            .collect()
    }

    #[test]
    fn parsing_in_parts_reads_what_the_whole_parse_reads() {
        let block = GOOD.replace("queues:\n", "queues:\n  # comment\n");
        let flow_items: String = (0..40)
            .map(|i| format!("  - {{name: q{i}, namespaces: [a], key: \"k:{i}\", type: list, labels: {{team: t{i}}}}}\n"))
            .collect();
        let indentless = format!("queues:\n{}", flow_items.replace("  - ", "- "));
        let with_tail = format!(
            "queues:\n{flow_items}services:\n  - {{name: s, namespaces: [a], urls: [\"http://x\"], histogram: h}}\n"
        );
        let crlf = block.replace('\n', "\r\n");
        // A block scalar and an anchor used inside its own item stay whole.
        let local_anchor = format!(
            "queues:\n{flow_items}  - name: &n own\n    namespaces: [a]\n    key: *n\n    type: list\n    labels:\n      note: |\n        - not an item\n        - nor this\n{flow_items}"
        );
        for text in [
            block,
            indentless,
            with_tail,
            crlf,
            local_anchor,
            format!("queues:\n{flow_items}"),
        ] {
            let runs = parts_vs_whole(&text);
            assert!(runs.iter().any(Option::is_some), "never cut: {text}");
        }
    }

    #[test]
    fn cuts_that_could_change_the_meaning_fall_back_to_the_whole_parse() {
        let items: String = (0..20)
            .map(|i| format!("  - {{name: q{i}, namespaces: [a], key: k{i}, type: list}}\n"))
            .collect();
        for text in [
            // An alias to an anchor in another part.
            format!(
                "queues:\n  - {{name: y, namespaces: &ns [a], key: y, type: list}}\n{items}  - {{name: z, namespaces: *ns, key: z, type: list}}\n"
            ),
            // A merge key.
            format!(
                "queues:\n  - &base {{name: b, namespaces: [a], key: b, type: list}}\n{items}  - {{<<: *base, name: c}}\n"
            ),
            // A quoted scalar whose under-indented continuation looks like items
            // and a top-level key (accepted by the relaxed whole parse).
            format!(
                "queues:\n{items}  - name: q\n    namespaces: [a]\n    type: list\n    key: \"a\n  - {{name: b}}\n  - {{name: c}}\nservices: x\"\n"
            ),
            // A flow mapping running across item lines.
            format!(
                "queues:\n{items}  - {{name: q, namespaces: [a], type: list,\n  key: k}}\n{items}"
            ),
        ] {
            // Each is a valid file, and every cut offered is refused.
            assert!(read_raw(&text, false).is_ok(), "{text}");
            let runs = parts_vs_whole(&text);
            assert!(
                !runs.is_empty() && runs.iter().all(Option::is_none),
                "{text}"
            );
            let fast = read_fast(&text)
                .map(|r| format!("{r:?}"))
                .map_err(|e| e.to_string());
            let whole = read_raw(&text, false)
                .map(|r| format!("{r:?}"))
                .map_err(|e| e.to_string());
            assert_eq!(fast, whole, "{text}");
        }
    }

    #[test]
    fn both_passes_read_the_same_values_and_only_one_records_lines() {
        let fast = read_raw(GOOD, false).unwrap();
        let slow = read_raw(GOOD, true).unwrap();
        assert_eq!(fast.queues.len(), slow.queues.len());
        for (f, s) in fast.queues.iter().zip(&slow.queues) {
            assert_eq!(f.value.name.value, s.value.name.value);
            assert_eq!(f.line, 0);
            assert!(s.line > 0);
        }
        assert_eq!(slow.queues[0].line, 7);
        // The mode is put back after each parse, also after a failed one.
        assert!(read_raw("queues: [", true).is_err());
        assert!(!WITH_LINES.get());
    }

    #[test]
    fn parses_a_good_file() {
        let env = |k: &str| (k == "REDIS_PASSWORD").then(|| "s3cret".to_string());
        let c = parse(GOOD, &env).unwrap();
        assert_eq!(c.poll_interval, Duration::from_millis(500));
        assert_eq!(c.max_staleness, DEFAULT_STALENESS);
        assert_eq!(c.queues.len(), 3);
        assert_eq!(
            c.queues[0].labels,
            [("service".to_string(), "gateway".to_string())]
        );
        assert_eq!(
            c.queues[1].kind,
            QueueKind::Stream {
                group: Some("workers".into()),
                lag_count_limit: DEFAULT_LAG_COUNT_LIMIT
            }
        );
        assert_eq!(
            c.queues[2].kind,
            QueueKind::Zset {
                range: Some((ScoreBound::NegInf, ScoreBound::Now(0.0))),
                unit: Some(ScoreUnit::Seconds)
            }
        );
        assert_eq!(
            c.queues[2].source,
            KeySource::Pattern("research:delayed:*".into())
        );
        assert_eq!(c.endpoints[0].password.as_ref().unwrap().expose(), "s3cret");
        assert_eq!(format!("{:?}", c.endpoints[0].password), "Some(<redacted>)");
        let table = c.table();
        assert!(table.contains("knowledge-jobs"), "{table}");
        assert!(!table.contains("s3cret"), "{table}");
    }

    #[test]
    fn unknown_field_names_field_and_line() {
        let e = err(
            "queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: list\n    colour: red\n",
        );
        assert!(e.contains("colour"), "{e}");
        assert!(e.contains("line 6"), "{e}");
    }

    #[test]
    fn bad_type_names_line() {
        let e = err("queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: hash\n");
        assert!(e.contains("hash"), "{e}");
        assert!(e.contains("line 5"), "{e}");
    }

    #[test]
    fn semantic_errors_name_field_and_line() {
        let text = r#"queues:
  - name: Bad_Name
    namespaces: [ok]
    key: k
    type: list
  - name: nons
    key: k
    type: list
  - name: both
    namespaces: [Not-A-Namespace]
    key: k
    pattern: "k*"
    type: list
  - name: listgroup
    namespaces: [a]
    key: k
    type: list
    group: g
  - name: nowless
    namespaces: [a]
    key: k
    type: zset
    max_score: now
  - name: nowless
    namespaces: [a]
    key: k
    type: stream
    labels:
      queue: x
"#;
        let e = err(text);
        for want in [
            "queues[0].name (line 2)",
            "queues[1].namespaces (line 6): is required",
            "queues[2].namespaces[0] (line 10)",
            "queues[2] (line 11): set either `key` or `pattern`",
            "queues[3].group (line 17): only applies to type stream",
            "queues[4].max_score (line 23): `now` needs `score_unit`",
            "queues[5].name (line 24): duplicate queue name \"nowless\" (first at line 19)",
            "queues[5].labels.queue (line 29)",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
    }

    #[test]
    fn durations_and_secrets() {
        let e = err(
            "poll_interval: fast\nmax_staleness: 0s\nredis:\n  url: redis://u:p@h:1/\n  password_env: NOPE\nqueues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: list\n",
        );
        for want in [
            "poll_interval (line 1): \"fast\" is not a duration",
            "max_staleness (line 2): must be greater than zero",
            "redis.url (line 4): credentials must not be inline",
            "redis.password_env (line 5): environment variable NOPE is not set",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
        assert!(!e.contains(":p@"), "password leaked into error: {e}");
    }

    #[test]
    fn endpoints_by_name() {
        let text = "redis_endpoints:\n  jobs:\n    url: redis://127.0.0.1:7000/\nqueues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: list\n    endpoint: jobs\n  - name: b\n    namespaces: [x]\n    key: k\n    type: list\n    endpoint: nope\n";
        let e = err(text);
        assert!(
            e.contains("queues[1].endpoint (line 14): unknown Redis endpoint \"nope\""),
            "{e}"
        );
        let ok = text.replace("endpoint: nope", "endpoint: jobs");
        let c = parse(&ok, &no_env).unwrap();
        assert_eq!(c.queues[0].endpoint, 1);
        assert_eq!(c.endpoints[1].name, "jobs");
    }

    #[test]
    fn redis_tls_settings_are_checked_at_load() {
        crate::tls::install_crypto_provider();
        let dir = std::env::temp_dir().join(format!("qma-config-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
        let ca_file = dir.join("ca.crt");
        std::fs::write(&ca_file, ca.cert.pem()).unwrap();
        let q = "queues:\n  - {name: a, namespaces: [x], key: k, type: list}\n";
        let with = |url: &str, tls: &str| format!("redis:\n  url: {url}\n{tls}{q}");

        // rediss:// with no tls section: system roots; with a CA file: that file.
        let c = parse(&with("rediss://r.example:6380/0", ""), &no_env).unwrap();
        assert_eq!(c.endpoints[0].tls, Some(ClientTlsFiles::default()));
        let tls = format!(
            "  tls:\n    ca_file: {}\n    server_name: r.example\n",
            ca_file.display()
        );
        let c = parse(&with("rediss://10.0.0.5:6380/0", &tls), &no_env).unwrap();
        let t = c.endpoints[0].tls.as_ref().unwrap();
        assert_eq!(t.ca_file.as_deref(), Some(ca_file.as_path()));
        assert_eq!(t.server_name.as_deref(), Some("r.example"));
        assert!(c.table().contains("tls: ca="), "{}", c.table());
        let c = parse(&with("redis://r:6379/0", ""), &no_env).unwrap();
        assert_eq!(c.endpoints[0].tls, None);

        // What no handshake could use, named by field and line.
        let e = err(&with("redis://r:6379/0", &tls));
        assert!(
            e.contains("redis.tls (line 4): TLS settings need a rediss:// url"),
            "{e}"
        );
        let e = err(&with("rediss://r:6380/0#insecure", ""));
        assert!(e.contains("redis.url (line 2): #insecure"), "{e}");
        let e = err(&with(
            "rediss://r:6380/0",
            "  tls:\n    ca_file: /nonexistent/ca.crt\n",
        ));
        assert!(
            e.contains("redis.tls.ca_file (line 4): cannot read /nonexistent/ca.crt"),
            "{e}"
        );
        let e = err(&with(
            "rediss://r:6380/0",
            &format!("  tls:\n    cert_file: {}\n", ca_file.display()),
        ));
        assert!(
            e.contains("redis.tls (line 4): cert_file and key_file must be given together"),
            "{e}"
        );
        let e = err(&with(
            "rediss://r:6380/0",
            &format!(
                "  tls:\n    cert_file: {0}\n    key_file: {0}\n",
                ca_file.display()
            ),
        ));
        assert!(
            e.contains("redis.tls.key_file (line 5): ")
                && e.contains("no unencrypted PEM private key"),
            "{e}"
        );
        let e = err(&with(
            "rediss://r:6380/0",
            "  tls:\n    server_name: \"a b\"\n",
        ));
        assert!(
            e.contains("redis.tls.server_name (line 4): \"a b\" is not a DNS name"),
            "{e}"
        );
        let e = err(&with("rediss://r:6380/0", "  tls:\n    ca: x\n"));
        assert!(e.contains("unknown field"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn score_bounds() {
        let text = "queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: zset\n    score_unit: milliseconds\n    min_score: now-60000\n    max_score: \"+inf\"\n";
        let c = parse(text, &no_env).unwrap();
        assert_eq!(
            c.queues[0].kind,
            QueueKind::Zset {
                range: Some((ScoreBound::Now(-60000.0), ScoreBound::PosInf)),
                unit: Some(ScoreUnit::Milliseconds)
            }
        );
        let e = err(&text.replace("now-60000", "later"));
        assert!(e.contains("queues[0].min_score (line 7)"), "{e}");
    }

    #[test]
    fn empty_and_garbage_files_do_not_panic() {
        for text in [
            "",
            "---",
            "[]",
            "queues: 3",
            "queues: []",
            "\t\u{0}",
            "queues:\n - 1\n",
        ] {
            let _ = parse(text, &no_env);
        }
        assert!(err("queues: []").contains("at least one queue"));
    }
}
