//! The `services:` section: pods whose /metrics are scraped, found through
//! a Kubernetes Service or listed as URLs, and the histogram, gauge and
//! counter read from them (with their label matchers).

use super::{DEFAULT_WINDOW, Validator, is_dns1123_label, is_metric_name, is_queue_name};
use crate::config::raw::{At, RawService};
use crate::config::{Matcher, PortRef, Service, Targets, WhenEmpty};

impl Validator<'_> {
    pub(super) fn service(&mut self, field: &str, raw: At<RawService>) -> Option<Service> {
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
