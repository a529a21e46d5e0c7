//! The resolved configuration as the table `check-config` prints: one line
//! per endpoint, queue, service and PromQL metric, secrets shown only as set
//! or not.

use super::{Config, KeySource, Targets};

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
            let serves = q.kind.serves();
            let mut metrics = vec!["depth"];
            if serves.pending {
                metrics.push("pending");
            }
            if serves.oldest_age {
                metrics.push("oldest_age_seconds");
            }
            let detail = q.kind.detail();
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
