//! From the file as written to the resolved [`Config`]: every value checked,
//! every default filled in.
//!
//! The [`Validator`] collects every problem instead of stopping at the first,
//! each as `field (line N): message`, so one `check-config` run lists them
//! all. This file holds the top level (intervals, the order of sections,
//! duplicate names) and the checks shared by sections (durations, namespaces,
//! labels, names); each section has its own submodule: `redis` (endpoints,
//! secrets, TLS files), `queue`, `service` and `promql`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::raw::{At, Pairs, RawConfig};
use super::{Config, Endpoint, Error, Labels, Namespaces, Result};
use crate::k8s::names::is_dns1123_label;
use crate::k8s::selector;
use crate::kinds::{Kind, Spec};

mod promql;
mod queue;
mod redis;
mod service;

// Defaults of the optional fields.
pub(super) const DEFAULT_POLL: Duration = Duration::from_secs(1);
pub(super) const DEFAULT_STALENESS: Duration = Duration::from_secs(10);
pub(super) const DEFAULT_SCAN: Duration = Duration::from_secs(30);
pub(super) const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(2);
pub(super) const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(5);
pub(super) const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
pub(super) const DEFAULT_SCRAPE_BODY_LIMIT: usize = 10 << 20;
pub(super) const DEFAULT_WINDOW: Duration = Duration::from_secs(60);
pub(super) const DEFAULT_PROMQL_TIMEOUT: Duration = Duration::from_secs(5);
pub(super) const DEFAULT_PROMQL_INTERVAL: Duration = Duration::from_secs(15);

/// Checks `raw` and resolves it, or lists every problem found.
pub(super) fn validate(
    raw: RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
    kinds: &[&Spec],
) -> Result<Config> {
    let mut v = Validator {
        problems: Vec::new(),
        env,
        kinds,
        kind_cache: HashMap::new(),
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
    /// The queue kinds `type:` may name.
    kinds: &'a [&'a Spec],
    /// Kinds already validated, by their type and fields as written.
    kind_cache: HashMap<String, Arc<dyn Kind>>,
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
            } else if let Err(e) = crate::k8s::names::validate_label_value(&v.value) {
                self.problem(&lf, &v, format!("invalid label value: {e}"));
            }
            labels.push((k, v.value));
        }
        // Keys are unique: serde-saphyr rejects duplicate keys (its default
        // `DuplicateKeyPolicy::Error`), and merge keys skip overridden ones.
        labels.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        labels
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
