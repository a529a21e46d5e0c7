//! The verdict of one (service, trace) group, computed from its runs: which
//! policies held the SLO, the cheapest that did and its cost against the
//! oracle, and whether the expectations hold — the CPU/memory rule
//! misses the SLO, a queue policy holds it at most [`EXPECTED_RATIO`] × the
//! oracle's replica-seconds. When an expectation fails the text says so
//! ("the simulation says otherwise") and gives the figures that show why:
//! utilization peaks, replicas held at their peak (a cap), start-up lag,
//! how long and when the wait was over the SLO, mean and peak pods against
//! the oracle.
//!
//! Policies are told apart by name: "oracle" is the oracle, a name with
//! "cpu" or "memory" is the resource rule, one with "queue", "depth",
//! "oldest", "tuned" or "recommend" a queue policy.

use crate::outcome::Run;

use super::fmt::{clock, esc, int, num, pct, quantile_name, ratio, secs};

/// The expectation: a tuned queue policy holds the SLO at no more
/// than this many times the oracle's replica-seconds.
pub const EXPECTED_RATIO: f64 = 1.3;

/// What kind of policy a name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The clairvoyant limit.
    Oracle,
    /// The CPU/memory utilization rule.
    Resource,
    /// A queue-metric policy.
    Queue,
    /// Anything else.
    Other,
}

/// The kind of the policy called `name`.
pub(crate) fn kind(name: &str) -> Kind {
    let n = name.to_ascii_lowercase();
    if super::fmt::is_oracle(&n) {
        Kind::Oracle
    } else if n.contains("cpu") || n.contains("memory") {
        Kind::Resource
    } else if ["queue", "depth", "oldest", "tuned", "recommend"]
        .iter()
        .any(|k| n.contains(k))
    {
        Kind::Queue
    } else {
        Kind::Other
    }
}

/// Whether an expectation held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// As expected.
    Met,
    /// The simulation says otherwise.
    NotMet,
    /// Nothing to judge (no such policy, or no oracle to compare with).
    Unknown,
}

/// Figures of one run that explain its outcome.
#[derive(Debug, Clone)]
pub(crate) struct Facts<'a> {
    /// The run.
    pub run: &'a Run,
    /// Its name on the page.
    pub label: String,
    /// What kind of policy.
    pub kind: Kind,
    /// Replica-seconds against the oracle's, if there is one.
    pub ratio: Option<f64>,
    peak_cpu: f64,
    peak_mem: f64,
    max_desired: u32,
    secs_at_max_desired: f64,
    peak_queue: f64,
    peak_queue_t: f64,
    first_over: Option<f64>,
    last_over: Option<f64>,
    mean_replicas: f64,
    max_lag: u32,
    top_up_reason: Option<(String, usize)>,
    capped: bool,
}

fn fmax(a: f64, b: f64) -> f64 {
    if b.is_finite() && b > a { b } else { a }
}

impl<'a> Facts<'a> {
    /// Figures of `run`, shown as `label`; `oracle_cost` is the oracle's
    /// replica-seconds.
    pub(crate) fn new(run: &'a Run, label: String, oracle_cost: Option<f64>) -> Facts<'a> {
        let tl = &run.timeline;
        let slo = run.meta.slo_queue_wait;
        let (mut peak_cpu, mut peak_mem, mut peak_queue, mut peak_queue_t) = (0.0, 0.0, 0.0, 0.0);
        let (mut first_over, mut last_over) = (None, None);
        let (mut max_desired, mut max_lag, mut replicas_sum) = (0u32, 0u32, 0.0);
        for k in tl {
            peak_cpu = fmax(peak_cpu, k.cpu_utilization);
            peak_mem = fmax(peak_mem, k.memory_utilization);
            if k.queue_depth.is_finite() && k.queue_depth > peak_queue {
                (peak_queue, peak_queue_t) = (k.queue_depth, k.t);
            }
            if k.wait_quantile_window.is_finite() && k.wait_quantile_window > slo {
                first_over.get_or_insert(k.t);
                last_over = Some(k.t);
            }
            max_desired = max_desired.max(k.desired_replicas);
            max_lag = max_lag.max(k.desired_replicas.saturating_sub(k.ready_replicas));
            replicas_sum += f64::from(k.replicas);
        }
        let tick = if run.meta.tick.is_finite() && run.meta.tick > 0.0 {
            run.meta.tick
        } else {
            0.0
        };
        let at_max = tl
            .iter()
            .filter(|k| k.desired_replicas == max_desired)
            .count();
        let mut reasons: Vec<(String, usize)> = Vec::new();
        let mut capped = false;
        for e in &run.events {
            let r = e.reason.to_ascii_lowercase();
            capped |= r.contains("toomanyreplicas") || r.contains("maxreplicas");
            if e.to > e.from && !e.reason.trim().is_empty() {
                match reasons.iter_mut().find(|(x, _)| *x == e.reason) {
                    Some((_, n)) => *n += 1,
                    None => reasons.push((e.reason.clone(), 1)),
                }
            }
        }
        let top_up_reason = reasons.into_iter().max_by_key(|(_, n)| *n);
        let ratio = oracle_cost
            .filter(|c| c.is_finite() && *c > 0.0)
            .map(|c| run.summary.replica_seconds / c)
            .filter(|r| r.is_finite());
        Facts {
            run,
            kind: kind(&run.meta.policy),
            label,
            ratio,
            peak_cpu,
            peak_mem,
            max_desired,
            secs_at_max_desired: at_max as f64 * tick,
            peak_queue,
            peak_queue_t,
            first_over,
            last_over,
            mean_replicas: if tl.is_empty() {
                f64::NAN
            } else {
                replicas_sum / tl.len() as f64
            },
            max_lag,
            top_up_reason,
            capped,
        }
    }

    fn held(&self) -> bool {
        self.run.summary.slo_held
    }

    fn horizon(&self) -> f64 {
        self.run.meta.horizon
    }

    /// Why the run missed the SLO, as a clause list (escaped HTML).
    pub(crate) fn why_missed(&self) -> String {
        let s = &self.run.summary;
        let h = self.horizon();
        let mut parts = Vec::new();
        if let (Some(a), Some(b)) = (self.first_over, self.last_over) {
            parts.push(format!(
                "over the SLO for {} between {} and {}",
                secs(s.seconds_over_slo),
                clock(a, h),
                clock(b, h)
            ));
        }
        if self.peak_queue > 0.0 {
            parts.push(format!(
                "the queue peaked at {} requests at {}",
                int(self.peak_queue),
                clock(self.peak_queue_t, h)
            ));
        }
        if self.kind == Kind::Resource {
            parts.push(self.utilization());
        }
        if s.scale_ups == 0 {
            parts.push("it never scaled up".to_owned());
        } else if self.secs_at_max_desired >= 60.0 && self.first_over.is_some() {
            let cap = if self.capped {
                " (the HPA reported its maxReplicas limit)"
            } else {
                ""
            };
            parts.push(format!(
                "desired replicas stayed at their peak of {} for {}{cap}",
                self.max_desired,
                secs(self.secs_at_max_desired)
            ));
        }
        if self.max_lag >= 2 {
            parts.push(format!(
                "ready pods trailed the desired count by up to {} while starting",
                self.max_lag
            ));
        }
        parts.join("; ")
    }

    fn utilization(&self) -> String {
        format!(
            "CPU utilization peaked at {} and memory at {} of the pods' requests",
            pct(self.peak_cpu),
            pct(self.peak_mem)
        )
    }

    /// Why a resource rule held the SLO after all (escaped HTML).
    fn why_held(&self) -> String {
        let s = &self.run.summary;
        let mut out = format!(
            "its {}; it scaled out to {} pods ({} scale-ups",
            self.utilization(),
            s.peak_replicas,
            s.scale_ups
        );
        if let Some((reason, n)) = &self.top_up_reason {
            out.push_str(&format!("; {n} of them for “{}”", esc(reason)));
        }
        out.push(')');
        out
    }

    /// Why it cost more than the oracle (escaped HTML).
    fn why_costly(&self, oracle: &Facts) -> String {
        let mut out = format!(
            "it averaged {} pods against the oracle's {} (peak {} against {})",
            num(self.mean_replicas),
            num(oracle.mean_replicas),
            self.run.summary.peak_replicas,
            oracle.run.summary.peak_replicas
        );
        let (a, b) = (&self.run.timeline, &oracle.run.timeline);
        if a.len() == b.len() && !a.is_empty() && self.run.meta.tick > 0.0 {
            let more = a
                .iter()
                .zip(b)
                .filter(|(x, y)| x.replicas > y.replicas)
                .count();
            out.push_str(&format!(
                " and ran more pods than the oracle for {} of the {} run",
                secs(more as f64 * self.run.meta.tick),
                clock(self.horizon(), self.horizon())
            ));
        }
        out
    }
}

/// The verdict of a group.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    /// Paragraphs, escaped HTML.
    pub html: String,
    /// Labels of the policies that held the SLO.
    pub held: Vec<String>,
    /// The cheapest non-oracle policy that held it, and its cost ratio.
    pub cheapest: Option<(String, Option<f64>)>,
    /// The CPU/memory rule missed the SLO?
    pub resource: Expect,
    /// A queue policy held it within [`EXPECTED_RATIO`]?
    pub queue: Expect,
}

const OTHERWISE: &str = "<strong>The simulation says otherwise:</strong>";

fn names(fs: &[&Facts]) -> String {
    fs.iter()
        .map(|f| format!("<b>{}</b>", esc(&f.label)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verdict over `facts` (one per run of the group; `oracle` indexes the
/// oracle's).
pub(crate) fn verdict(facts: &[Facts], oracle: Option<usize>) -> Verdict {
    let mut html = String::new();
    let Some(first) = facts.first() else {
        return Verdict {
            html,
            held: vec![],
            cheapest: None,
            resource: Expect::Unknown,
            queue: Expect::Unknown,
        };
    };
    let m = &first.run.meta;
    let q = quantile_name(m.slo_quantile);
    let held: Vec<&Facts> = facts.iter().filter(|f| f.held()).collect();
    let missed: Vec<&Facts> = facts.iter().filter(|f| !f.held()).collect();
    html.push_str(&format!(
        "<p>SLO: {q} queue wait ≤ {}. ",
        secs(m.slo_queue_wait)
    ));
    if missed.is_empty() {
        html.push_str("Every policy held it.");
    } else if held.is_empty() {
        html.push_str("No policy held it.");
    } else {
        html.push_str(&format!("Held it: {}.", names(&held)));
    }
    if !missed.is_empty() {
        let list: Vec<String> = missed
            .iter()
            .map(|f| {
                format!(
                    "<b>{}</b> ({q} wait {}, {} over)",
                    esc(&f.label),
                    secs(f.run.summary.wait_slo_quantile),
                    secs(f.run.summary.seconds_over_slo)
                )
            })
            .collect();
        html.push_str(&format!(" Missed it: {}.", list.join(", ")));
    }
    html.push_str("</p>");

    let oracle = oracle.and_then(|i| facts.get(i));
    let oracle_cost = oracle
        .map(|o| o.run.summary.replica_seconds)
        .filter(|c| c.is_finite() && *c > 0.0);
    let cheapest = held
        .iter()
        .filter(|f| f.kind != Kind::Oracle)
        .min_by(|a, b| {
            a.run
                .summary
                .replica_seconds
                .total_cmp(&b.run.summary.replica_seconds)
        });
    html.push_str("<p>");
    match (cheapest, oracle_cost) {
        (Some(c), Some(oc)) => html.push_str(&format!(
            "Cheapest that held it (besides the oracle): <b>{}</b>, {} replica-seconds, {} the oracle's {}.",
            esc(&c.label),
            int(c.run.summary.replica_seconds),
            ratio(c.run.summary.replica_seconds / oc),
            int(oc)
        )),
        (Some(c), None) => html.push_str(&format!(
            "Cheapest that held it: <b>{}</b>, {} replica-seconds. There is no oracle run here, so costs are not compared with the limit.",
            esc(&c.label),
            int(c.run.summary.replica_seconds)
        )),
        (None, _) => html.push_str("No policy other than the oracle held the SLO."),
    }
    if let Some(o) = oracle.filter(|o| !o.held()) {
        html.push_str(&format!(
            " The oracle itself missed the SLO ({q} wait {}): it is no bound here; {}.",
            secs(o.run.summary.wait_slo_quantile),
            o.why_missed()
        ));
    }
    html.push_str("</p>");

    let resource = resource_verdict(facts, &mut html);
    let queue = queue_verdict(facts, oracle, oracle_cost, &mut html);
    // Live runs are not simulations: say which kind of run disagrees.
    if !facts.is_empty() && facts.iter().all(|f| f.run.meta.mode == "live") {
        html = html.replace(OTHERWISE, "<strong>The live run says otherwise:</strong>");
    }
    Verdict {
        html,
        held: held.iter().map(|f| f.label.clone()).collect(),
        cheapest: cheapest.map(|c| (c.label.clone(), c.ratio)),
        resource,
        queue,
    }
}

fn resource_verdict(facts: &[Facts], html: &mut String) -> Expect {
    let rules: Vec<&Facts> = facts.iter().filter(|f| f.kind == Kind::Resource).collect();
    if rules.is_empty() {
        return Expect::Unknown;
    }
    let held: Vec<&Facts> = rules.iter().copied().filter(|f| f.held()).collect();
    let q = quantile_name(rules[0].run.meta.slo_quantile);
    html.push_str("<p>");
    let out = if held.is_empty() {
        html.push_str("As expected, the CPU/memory rule missed the SLO: ");
        let why: Vec<String> = rules
            .iter()
            .map(|f| format!("<b>{}</b>: {}", esc(&f.label), f.why_missed()))
            .collect();
        html.push_str(&why.join(". "));
        html.push('.');
        Expect::Met
    } else {
        html.push_str(OTHERWISE);
        html.push_str(" the CPU/memory rule was expected to miss the SLO, but ");
        let why: Vec<String> = held
            .iter()
            .map(|f| {
                format!(
                    "<b>{}</b> held it ({q} wait {}) because {}",
                    esc(&f.label),
                    secs(f.run.summary.wait_slo_quantile),
                    f.why_held()
                )
            })
            .collect();
        html.push_str(&why.join("; "));
        html.push('.');
        Expect::NotMet
    };
    html.push_str("</p>");
    out
}

fn queue_verdict(
    facts: &[Facts],
    oracle: Option<&Facts>,
    oracle_cost: Option<f64>,
    html: &mut String,
) -> Expect {
    let queues: Vec<&Facts> = facts.iter().filter(|f| f.kind == Kind::Queue).collect();
    if queues.is_empty() {
        return Expect::Unknown;
    }
    let q = quantile_name(queues[0].run.meta.slo_quantile);
    let best = queues.iter().filter(|f| f.held()).min_by(|a, b| {
        a.run
            .summary
            .replica_seconds
            .total_cmp(&b.run.summary.replica_seconds)
    });
    html.push_str("<p>");
    let out = match (best, oracle, oracle_cost) {
        (Some(b), Some(o), Some(oc)) => {
            let r = b.run.summary.replica_seconds / oc;
            if r <= EXPECTED_RATIO {
                html.push_str(&format!(
                    "As expected, a queue policy held the SLO within {} the oracle's replica-seconds: <b>{}</b> at {}.",
                    ratio(EXPECTED_RATIO),
                    esc(&b.label),
                    ratio(r)
                ));
                Expect::Met
            } else {
                html.push_str(&format!(
                    "{OTHERWISE} the cheapest queue policy that held the SLO, <b>{}</b>, cost {} the oracle's replica-seconds (expected ≤ {}) because {}.",
                    esc(&b.label),
                    ratio(r),
                    ratio(EXPECTED_RATIO),
                    b.why_costly(o)
                ));
                Expect::NotMet
            }
        }
        (Some(b), _, _) => {
            html.push_str(&format!(
                "The queue policy <b>{}</b> held the SLO; with no oracle run the ≤ {} cost expectation cannot be checked.",
                esc(&b.label),
                ratio(EXPECTED_RATIO)
            ));
            Expect::Unknown
        }
        (None, _, _) => {
            let closest = queues.iter().min_by(|a, b| {
                a.run
                    .summary
                    .wait_slo_quantile
                    .total_cmp(&b.run.summary.wait_slo_quantile)
            });
            html.push_str(&format!("{OTHERWISE} no queue policy held the SLO."));
            if let Some(c) = closest {
                html.push_str(&format!(
                    " Closest: <b>{}</b>, {q} wait {}: {}.",
                    esc(&c.label),
                    secs(c.run.summary.wait_slo_quantile),
                    c.why_missed()
                ));
            }
            Expect::NotMet
        }
    };
    html.push_str("</p>");
    out
}
