//! The `promql:` section: instant queries against an existing Prometheus,
//! each served under a metric name of its own.

use super::{DEFAULT_PROMQL_INTERVAL, DEFAULT_PROMQL_TIMEOUT, Validator, is_metric_name};
use crate::config::raw::{At, RawPromql};
use crate::config::{Metric, Promql, WhenEmpty};

impl Validator<'_> {
    pub(super) fn promql(&mut self, field: &str, raw: At<RawPromql>) -> Option<Promql> {
        let start = self.problems.len();
        let r = raw.value;
        let name = &r.name.value;
        let builtin = Metric::from_name(name).is_some();
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
}
