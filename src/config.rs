//! What to read and for whom: the YAML configuration file.
//!
//! The file is parsed with serde-saphyr into `Raw*` structs whose fields carry
//! their source position ([`Spanned`]), then validated into the resolved
//! [`Config`] that the rest of the adapter uses. Every error names the field
//! path (`queues[2].type`) and the line it came from, so `check-config` can be
//! run in CI on the ConfigMap before it ships.
//!
//! Secrets (Redis username and password) are never inline: they come from a
//! file or an environment variable, are read at load time, and are wrapped in
//! [`Secret`], whose `Debug` prints `<redacted>`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::api::selector;

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

/// One queue: what to read, how to turn it into numbers, and who may see them.
#[derive(Debug, Clone)]
pub struct Queue {
    /// Lowercase name; served as label `queue`.
    pub name: String,
    /// Namespaces that may read this queue's metrics; invisible to all others.
    pub namespaces: BTreeSet<String>,
    /// Index into [`Config::endpoints`].
    pub endpoint: usize,
    /// Exact key or glob pattern.
    pub source: KeySource,
    /// Data structure and how to measure it.
    pub kind: QueueKind,
    /// Static labels added to every series (never `queue`).
    pub labels: BTreeMap<String, String>,
    /// Line of the queue entry in the file (for `check-config` and messages).
    pub line: u64,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    redis: Option<Spanned<RawRedis>>,
    #[serde(default)]
    redis_endpoints: BTreeMap<String, Spanned<RawRedis>>,
    poll_interval: Option<Spanned<String>>,
    max_staleness: Option<Spanned<String>>,
    scan_interval: Option<Spanned<String>>,
    queues: Spanned<Vec<Spanned<RawQueue>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: Spanned<String>,
    username: Option<String>,
    username_env: Option<Spanned<String>>,
    username_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    name: Spanned<String>,
    namespaces: Option<Spanned<Vec<Spanned<String>>>>,
    endpoint: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    pattern: Option<Spanned<String>>,
    #[serde(rename = "type")]
    kind: Spanned<RawType>,
    #[serde(default)]
    labels: BTreeMap<String, Spanned<String>>,
    // zset
    min_score: Option<Spanned<String>>,
    max_score: Option<Spanned<String>>,
    score_unit: Option<Spanned<ScoreUnit>>,
    // stream
    group: Option<Spanned<String>>,
    lag_count_limit: Option<Spanned<u64>>,
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
    let raw: RawConfig = serde_saphyr::from_str(text).map_err(|e| Error::Syntax(e.to_string()))?;
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
    fn problem<T>(&mut self, field: &str, at: &Spanned<T>, message: impl fmt::Display) {
        self.problems.push(format!(
            "{field} (line {}): {message}",
            at.referenced.line()
        ));
    }

    fn duration(
        &mut self,
        field: &str,
        raw: Option<Spanned<String>>,
        default: Duration,
    ) -> Duration {
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
            }),
        }
        let default_configured = !endpoint_names.is_empty();
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
        if raw.queues.value.is_empty() {
            self.problem("queues", &raw.queues, "at least one queue is required");
        }
        for (i, q) in raw.queues.value.into_iter().enumerate() {
            let field = format!("queues[{i}]");
            if let Some(first) = seen.insert(q.value.name.value.clone(), q.referenced.line()) {
                self.problem(
                    &format!("{field}.name"),
                    &q.value.name,
                    format!(
                        "duplicate queue name {:?} (first at line {first})",
                        q.value.name.value
                    ),
                );
            }
            if let Some(queue) = self.queue(&field, q, &endpoint_names, default_configured) {
                queues.push(queue);
            }
        }
        Config {
            endpoints,
            poll_interval,
            max_staleness,
            scan_interval,
            queues,
        }
    }

    fn secret(
        &mut self,
        field: &str,
        env_var: Option<Spanned<String>>,
        file: Option<Spanned<String>>,
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

    fn endpoint(&mut self, field: &str, name: &str, raw: Spanned<RawRedis>) -> Endpoint {
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
        }
    }

    fn queue(
        &mut self,
        field: &str,
        raw: Spanned<RawQueue>,
        endpoints: &BTreeMap<String, usize>,
        default_configured: bool,
    ) -> Option<Queue> {
        let line = raw.referenced.line();
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

        let mut namespaces = BTreeSet::new();
        match q.namespaces {
            None => self.problem(
                &format!("{field}.namespaces"),
                &q.name,
                "is required: list the namespaces allowed to read this queue",
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
                    namespaces.insert(n.value);
                }
            }
        }

        let endpoint = match &q.endpoint {
            None if default_configured || endpoints.is_empty() => 0,
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

        let mut labels = BTreeMap::new();
        for (k, v) in q.labels {
            let lf = format!("{field}.labels.{k}");
            if k == "queue" {
                self.problem(
                    &lf,
                    &v,
                    "`queue` is set from the queue name and cannot be overridden",
                );
            } else if let Err(e) = selector::validate_label_key(&k) {
                self.problem(&lf, &v, format!("invalid label key: {e}"));
            } else if let Err(e) = selector::validate_label_value(&v.value) {
                self.problem(&lf, &v, format!("invalid label value: {e}"));
            }
            labels.insert(k, v.value);
        }

        let ty = q.kind.value;
        let only =
            |v: &mut Self, name: &str, present: bool, at: &Spanned<RawType>, for_ty: &str| {
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
            line,
        })
    }

    fn score(&mut self, field: &str, raw: Spanned<String>, unit: Option<ScoreUnit>) -> ScoreBound {
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
                "endpoint {:<10} {} user={} password={}",
                e.name,
                e.url,
                e.username.as_deref().unwrap_or("-"),
                if e.password.is_some() { "set" } else { "-" }
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
                q.namespaces.iter().cloned().collect::<Vec<_>>().join(","),
                labels.join(","),
                detail
            );
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

    #[test]
    fn parses_a_good_file() {
        let env = |k: &str| (k == "REDIS_PASSWORD").then(|| "s3cret".to_string());
        let c = parse(GOOD, &env).unwrap();
        assert_eq!(c.poll_interval, Duration::from_millis(500));
        assert_eq!(c.max_staleness, DEFAULT_STALENESS);
        assert_eq!(c.queues.len(), 3);
        assert_eq!(c.queues[0].labels["service"], "gateway");
        assert_eq!(c.queues[0].line, 7);
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
