//! The adapter configuration a live run writes for the adapter it starts.
//!
//! Every queue and every service of the scenario is configured (a policy
//! may read another service's queue), all readable from the namespace
//! [`NAMESPACE`](super::NAMESPACE):
//!
//! - queues with their `name`, `key` and `type`; streams with their
//!   `group`; zsets counting the due jobs (`min_score: -inf`, `max_score:
//!   now`) with their `score_unit`;
//! - services with static `urls:`, one per metrics slot
//!   ([`super::slots`]; a service not run gets one, always empty), the
//!   histogram, counter and gauge of the model, the quantiles 0.5, 0.95,
//!   0.99 plus any a policy of the scenario selects, `when_empty: zero`.
//!
//! Cadences are the model's ([`POLL_INTERVAL`](super::POLL_INTERVAL),
//! [`SCRAPE_INTERVAL`](super::SCRAPE_INTERVAL),
//! [`SERVICE_WINDOW`](super::SERVICE_WINDOW), a 10 s `max_staleness`),
//! divided by the run's speed, so the adapter's view keeps the same
//! freshness in scenario time (at `--speed 15`: a poll every 67 ms, a
//! scrape every 333 ms, a 4 s window). A Redis password is passed in the
//! environment (`password_env`), never written to the file.

use std::fmt::Write as _;

use crate::scenario::{PolicyKind, QueueKind, Scenario, ScoreUnit};

/// Environment variable the adapter reads the Redis password from.
pub(crate) const PASSWORD_ENV: &str = "QMA_LIVE_REDIS_PASSWORD";

/// Quantiles every service serves.
const QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// Where the adapter finds Redis.
#[derive(Debug, Clone)]
pub(crate) struct RedisTarget {
    /// URL without credentials.
    pub(crate) url: String,
    /// User name, if any.
    pub(crate) username: Option<String>,
    /// Whether a password is passed in [`PASSWORD_ENV`].
    pub(crate) password: bool,
}

/// A YAML double-quoted string.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `secs / speed` as a duration the adapter parses (µs, at least 1 ms).
fn dur(secs: f64, speed: f64) -> String {
    format!("{}us", (secs / speed * 1e6).round().max(1000.0) as u64)
}

/// The quantiles the adapter serves for `service`: the defaults plus any a
/// policy selects.
pub(crate) fn quantiles(scenario: &Scenario, service: &str) -> Vec<f64> {
    let mut out: Vec<f64> = QUANTILES.to_vec();
    for s in &scenario.services {
        for p in &s.policies {
            let PolicyKind::Hpa(spec) = &p.kind else {
                continue;
            };
            for m in spec.metrics.iter().flatten() {
                let Some(e) = &m.external else { continue };
                if e.metric.name != "service_latency_seconds" {
                    continue;
                }
                let labels = e
                    .metric
                    .selector
                    .as_ref()
                    .and_then(|s| s.match_labels.as_ref());
                let Some(labels) = labels else { continue };
                if labels.get("service").map(String::as_str) != Some(service) {
                    continue;
                }
                if let Some(v) = labels.get("quantile").and_then(|v| v.parse::<f64>().ok())
                    && (0.0..=1.0).contains(&v)
                    && !out.contains(&v)
                {
                    out.push(v);
                }
            }
        }
    }
    out
}

/// The config: `slot_urls(service)` lists the metrics URLs of a service.
pub(crate) fn render(
    scenario: &Scenario,
    redis: &RedisTarget,
    speed: f64,
    slot_urls: impl Fn(&str) -> Vec<String>,
) -> String {
    let ns = q(super::NAMESPACE);
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Written by qma-load live for scenario {} (speed {speed}).",
        scenario.origin.replace('\n', " ")
    );
    let _ = writeln!(y, "redis:\n  url: {}\n  timeout: 2s", q(&redis.url));
    if let Some(u) = &redis.username {
        let _ = writeln!(y, "  username: {}", q(u));
    }
    if redis.password {
        let _ = writeln!(y, "  password_env: {PASSWORD_ENV}");
    }
    let poll = super::POLL_INTERVAL;
    let scrape = super::SCRAPE_INTERVAL;
    let _ = writeln!(y, "poll_interval: {}", dur(poll, speed));
    let _ = writeln!(
        y,
        "max_staleness: {}",
        dur(10.0_f64.max(3.0 * poll).max(2.0 * scrape), speed)
    );
    let _ = writeln!(y, "scrape_interval: {}", dur(scrape, speed));
    let _ = writeln!(y, "scrape_timeout: {}", dur(scrape.min(2.0), speed));
    let _ = writeln!(y, "queues:");
    for s in &scenario.services {
        let queue = &s.queue;
        let _ = writeln!(y, "  - name: {}", q(&queue.name));
        let _ = writeln!(y, "    namespaces: [{ns}]");
        let _ = writeln!(y, "    key: {}", q(&queue.key));
        let _ = writeln!(y, "    type: {}", queue.kind.type_name());
        match &queue.kind {
            QueueKind::List => {}
            QueueKind::Stream { group } => {
                let _ = writeln!(y, "    group: {}", q(group));
            }
            QueueKind::Zset { score_unit, .. } => {
                let unit = match score_unit {
                    ScoreUnit::Seconds => "seconds",
                    ScoreUnit::Milliseconds => "milliseconds",
                };
                let _ = writeln!(y, "    min_score: \"-inf\"\n    max_score: now");
                let _ = writeln!(y, "    score_unit: {unit}");
            }
        }
    }
    let _ = writeln!(y, "services:");
    for s in &scenario.services {
        let _ = writeln!(y, "  - name: {}", q(&s.name));
        let _ = writeln!(y, "    namespaces: [{ns}]");
        let urls: Vec<String> = slot_urls(&s.name).iter().map(|u| q(u)).collect();
        let _ = writeln!(y, "    urls: [{}]", urls.join(", "));
        let _ = writeln!(y, "    histogram: {}", super::LATENCY_METRIC);
        let qs: Vec<String> = quantiles(scenario, &s.name)
            .iter()
            .map(f64::to_string)
            .collect();
        let _ = writeln!(y, "    quantiles: [{}]", qs.join(", "));
        let _ = writeln!(y, "    window: {}", dur(super::SERVICE_WINDOW, speed));
        let _ = writeln!(y, "    request_counter: {}", super::REQUEST_COUNTER);
        let _ = writeln!(y, "    inflight_gauge: {}", super::INFLIGHT_GAUGE);
        let _ = writeln!(y, "    when_empty: zero");
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_scale_with_speed() {
        assert_eq!(dur(1.0, 1.0), "1000000us");
        assert_eq!(dur(1.0, 15.0), "66667us");
        assert_eq!(dur(1.0, 10_000.0), "1000us");
    }

    #[test]
    fn default_scenario_config_lists_everything() {
        let s = Scenario::default_scenario().unwrap();
        let r = RedisTarget {
            url: "redis://127.0.0.1:1/".into(),
            username: None,
            password: true,
        };
        let y = render(&s, &r, 15.0, |svc| {
            vec![format!("http://127.0.0.1:2/pods/{svc}/0/metrics")]
        });
        assert!(y.contains("password_env: QMA_LIVE_REDIS_PASSWORD"), "{y}");
        assert!(y.contains("group: \"gateway-workers\""), "{y}");
        assert!(y.contains("max_score: now"), "{y}");
        assert!(y.contains("score_unit: milliseconds"), "{y}");
        assert!(
            y.contains("http://127.0.0.1:2/pods/research/0/metrics"),
            "{y}"
        );
        assert!(y.contains("poll_interval: 66667us"), "{y}");
        assert_eq!(quantiles(&s, "gateway"), vec![0.5, 0.95, 0.99]);
    }
}
