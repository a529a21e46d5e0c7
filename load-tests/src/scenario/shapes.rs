//! Traces and distributions from the file: the `type`-dependent fields,
//! required and forbidden ones, and the parameter checks of
//! [`crate::trace`] and [`crate::dist`] turned into messages with the
//! field's line and units.

use super::raw::{At, RawDist, RawTrace, Scalar};
use super::units::format_duration;
use super::validate::Validator;
use crate::dist::{Dist, DistError, TokenGrowth};
use crate::trace::{
    Bursts, Diurnal, Noise, Replay, Shape, Spike, Step, Trace, TraceError, parse_csv,
};

/// Fields of each trace type.
const TRACE_TYPES: &[(&str, &[&str])] = &[
    ("constant", &["rate"]),
    ("step", &["steps"]),
    (
        "spike",
        &["base", "peak", "start", "ramp", "hold", "ramp_down"],
    ),
    ("diurnal", &["min", "max", "period", "peak_at"]),
    ("bursts", &["base", "every", "size", "length"]),
    ("replay", &["file", "points"]),
];

/// Fields of each distribution type.
const DIST_TYPES: &[(&str, &[&str])] = &[
    ("constant", &["value"]),
    ("uniform", &["min", "max"]),
    ("exponential", &["mean"]),
    ("lognormal", &["p50", "p95"]),
];

/// Default noise interval, seconds.
const NOISE_INTERVAL: f64 = 60.0;
/// Default diurnal period, seconds (a day).
const DAY: f64 = 86_400.0;

/// Line of an optional field.
fn line_of<T>(at: &Option<At<T>>) -> Option<u64> {
    at.as_ref().map(|a| a.line)
}

/// Trace parameters that are times (shown as durations in messages).
fn is_time(param: &str) -> bool {
    matches!(
        param,
        "start"
            | "ramp"
            | "hold"
            | "ramp_down"
            | "period"
            | "peak_at"
            | "every"
            | "length"
            | "duration"
            | "noise.interval"
    ) || param.ends_with(".at")
}

/// A trace check's message without the parameter, values in their units.
fn describe_trace(e: &TraceError) -> String {
    let fmt = |param: &str, v: f64| {
        if is_time(param) {
            format_duration(v)
        } else {
            v.to_string()
        }
    };
    match e {
        TraceError::NotFinite { .. } => "must be a finite number".into(),
        TraceError::Negative { param, value } => {
            format!("must not be negative (got {})", fmt(param, *value))
        }
        TraceError::NotPositive { .. } => "must be greater than zero".into(),
        TraceError::Below {
            param,
            other,
            bound,
            ..
        } => format!("must not be less than {other} ({})", fmt(param, *bound)),
        TraceError::NotAfter {
            param,
            other,
            bound,
            ..
        } => format!("must be after {other} ({})", fmt(param, *bound)),
        TraceError::NotAtZero { value, .. } => format!(
            "the first step must be at 0 (got {}); the rate before it would be undefined",
            format_duration(*value)
        ),
        TraceError::Empty { .. } => "needs at least one entry".into(),
        TraceError::Csv { line, message } => format!("line {line}: {message}"),
    }
}

/// A distribution check's message without the parameter.
fn describe_dist(e: &DistError, seconds: bool) -> String {
    let fmt = |v: f64| {
        if seconds {
            format_duration(v)
        } else {
            v.to_string()
        }
    };
    match e {
        DistError::NotFinite { .. } => "must be a finite number".into(),
        DistError::Negative { value, .. } => format!("must not be negative (got {})", fmt(*value)),
        DistError::NotPositive { .. } => "must be greater than zero".into(),
        DistError::NotAbove { other, bound, .. } => {
            format!("must be greater than {other} ({})", fmt(*bound))
        }
        DistError::Below { other, bound, .. } => {
            format!("must not be less than {other} ({})", fmt(*bound))
        }
    }
}

impl Validator {
    /// A rate (or other plain number) field the type requires.
    fn req_num(
        &mut self,
        f: &str,
        name: &str,
        at: &Option<At<f64>>,
        line: u64,
        ty: &str,
    ) -> Option<f64> {
        self.required(at.as_ref(), line, &format!("{f}.{name}"), ty)
            .map(|a| a.value)
    }

    /// A duration field the type requires.
    fn req_dur(
        &mut self,
        f: &str,
        name: &str,
        at: &Option<At<Scalar>>,
        line: u64,
        ty: &str,
    ) -> Option<f64> {
        let at = self.required(at.as_ref(), line, &format!("{f}.{name}"), ty)?;
        self.duration(&format!("{f}.{name}"), at)
    }

    /// An optional duration field, `default` when absent.
    fn opt_dur(
        &mut self,
        f: &str,
        name: &str,
        at: &Option<At<Scalar>>,
        default: f64,
    ) -> Option<f64> {
        match at {
            Some(at) => self.duration(&format!("{f}.{name}"), at),
            None => Some(default),
        }
    }

    /// One named trace.
    pub(super) fn trace(&mut self, name: &At<String>, raw: At<RawTrace>) -> Option<Trace> {
        let f = format!("traces.{}", name.value);
        if name.value.trim().is_empty() {
            self.p.push(name.line, &f, "a trace name must not be empty");
        }
        let (line, r) = (raw.line, raw.value);
        let ty = r.kind.value.as_str();
        if !TRACE_TYPES.iter().any(|(t, _)| *t == ty) {
            self.p.push(
                r.kind.line,
                format!("{f}.type"),
                format!("must be constant, step, spike, diurnal, bursts or replay (got {ty:?})"),
            );
            return None;
        }
        let lines = [
            ("rate", line_of(&r.rate)),
            ("steps", line_of(&r.steps)),
            ("base", line_of(&r.base)),
            ("peak", line_of(&r.peak)),
            ("start", line_of(&r.start)),
            ("ramp", line_of(&r.ramp)),
            ("hold", line_of(&r.hold)),
            ("ramp_down", line_of(&r.ramp_down)),
            ("min", line_of(&r.min)),
            ("max", line_of(&r.max)),
            ("period", line_of(&r.period)),
            ("peak_at", line_of(&r.peak_at)),
            ("every", line_of(&r.every)),
            ("size", line_of(&r.size)),
            ("length", line_of(&r.length)),
            ("file", line_of(&r.file)),
            ("points", line_of(&r.points)),
        ];
        self.only(&f, ty, TRACE_TYPES, &lines);
        let before = self.p.len();
        let shape = match ty {
            "constant" => Shape::Constant {
                rate: self.req_num(&f, "rate", &r.rate, line, ty)?,
            },
            "step" => {
                let steps = self.required(r.steps.as_ref(), line, &format!("{f}.steps"), ty)?;
                let mut out = Vec::new();
                for (i, s) in steps.value.iter().enumerate() {
                    let at = self.duration(&format!("{f}.steps[{i}].at"), &s.value.at);
                    out.push(Step {
                        at: at.unwrap_or(0.0),
                        rate: s.value.rate.value,
                    });
                }
                Shape::Step { steps: out }
            }
            "spike" => {
                let base = self.req_num(&f, "base", &r.base, line, ty);
                let peak = self.req_num(&f, "peak", &r.peak, line, ty);
                let start = self.req_dur(&f, "start", &r.start, line, ty);
                let ramp = self.req_dur(&f, "ramp", &r.ramp, line, ty);
                let hold = self.req_dur(&f, "hold", &r.hold, line, ty);
                let ramp_down = self.opt_dur(&f, "ramp_down", &r.ramp_down, 0.0);
                Shape::Spike(Spike {
                    base: base?,
                    peak: peak?,
                    start: start?,
                    ramp: ramp?,
                    hold: hold?,
                    ramp_down: ramp_down?,
                })
            }
            "diurnal" => {
                let min = self.req_num(&f, "min", &r.min, line, ty);
                let max = self.req_num(&f, "max", &r.max, line, ty);
                let period = self.opt_dur(&f, "period", &r.period, DAY);
                let peak_at = self.opt_dur(&f, "peak_at", &r.peak_at, period.unwrap_or(DAY) / 2.0);
                Shape::Diurnal(Diurnal {
                    min: min?,
                    max: max?,
                    period: period?,
                    peak_at: peak_at?,
                })
            }
            "bursts" => {
                let base = self.req_num(&f, "base", &r.base, line, ty);
                let every = self.req_dur(&f, "every", &r.every, line, ty);
                let size = self.req_num(&f, "size", &r.size, line, ty);
                let length = self.req_dur(&f, "length", &r.length, line, ty);
                Shape::Bursts(Bursts {
                    base: base?,
                    every: every?,
                    size: size?,
                    length: length?,
                })
            }
            _ => Shape::Replay(self.replay(&f, &r, line)?),
        };
        let duration = match (&r.duration, &shape) {
            (Some(d), _) => self.duration(&format!("{f}.duration"), d),
            (None, Shape::Replay(rp)) if rp.points.last().is_some_and(|p| p.0 > 0.0) => {
                rp.points.last().map(|p| p.0)
            }
            (None, _) => {
                let extra = if ty == "replay" {
                    " (the replay's last point is at 0)"
                } else {
                    ""
                };
                self.p
                    .push(line, format!("{f}.duration"), format!("is required{extra}"));
                None
            }
        };
        let noise = match &r.noise {
            None => Some(None),
            Some(n) => self
                .opt_dur(&f, "noise.interval", &n.value.interval, NOISE_INTERVAL)
                .map(|interval| {
                    Some(Noise {
                        cv: n.value.cv.value,
                        interval,
                    })
                }),
        };
        if self.p.len() > before {
            return None;
        }
        let trace = Trace {
            name: name.value.clone(),
            shape,
            noise: noise?,
            duration: duration?,
        };
        if let Err(e) = trace.check() {
            let param = e.param();
            let at = if let Some(rest) = param.strip_prefix("steps[") {
                let i: usize = rest
                    .split(']')
                    .next()
                    .and_then(|i| i.parse().ok())
                    .unwrap_or(0);
                r.steps
                    .as_ref()
                    .and_then(|s| s.value.get(i))
                    .map(|s| s.line)
            } else if let Some(rest) = param.strip_prefix("points[") {
                let i: usize = rest
                    .split(']')
                    .next()
                    .and_then(|i| i.parse().ok())
                    .unwrap_or(0);
                r.points
                    .as_ref()
                    .and_then(|s| s.value.get(i))
                    .map(|s| s.line)
            } else if param.starts_with("noise.") {
                line_of(&r.noise)
            } else if param == "duration" {
                line_of(&r.duration)
            } else {
                lines.iter().find(|(n, _)| *n == param).and_then(|l| l.1)
            };
            self.p.push(
                at.unwrap_or(line),
                format!("{f}.{param}"),
                describe_trace(&e),
            );
            return None;
        }
        Some(trace)
    }

    /// A replay's points, from its CSV file or inline.
    fn replay(&mut self, f: &str, r: &RawTrace, line: u64) -> Option<Replay> {
        match (&r.file, &r.points) {
            (Some(file), None) => {
                let path = self.base_dir.join(&file.value);
                let shown = path.display().to_string();
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        self.p.push(
                            file.line,
                            format!("{f}.file"),
                            format!("cannot read {shown}: {e}"),
                        );
                        return None;
                    }
                };
                match parse_csv(&text) {
                    Ok(points) => Some(Replay {
                        source: shown,
                        points,
                    }),
                    Err(TraceError::Csv { line, message }) => {
                        self.p.push(
                            file.line,
                            format!("{f}.file"),
                            format!("{shown}:{line}: {message}"),
                        );
                        None
                    }
                    Err(e) => {
                        self.p
                            .push(file.line, format!("{f}.file"), format!("{shown}: {e}"));
                        None
                    }
                }
            }
            (None, Some(points)) => {
                let mut out = Vec::new();
                for (i, p) in points.value.iter().enumerate() {
                    let t = self.duration(
                        &format!("{f}.points[{i}]"),
                        &At {
                            value: p.value.0.clone(),
                            line: p.line,
                            col: p.col,
                        },
                    );
                    out.push((t?, p.value.1));
                }
                Some(Replay {
                    source: "inline".into(),
                    points: out,
                })
            }
            (Some(_), Some(p)) => {
                self.p.push(
                    p.line,
                    format!("{f}.points"),
                    "give `file` or `points`, not both",
                );
                None
            }
            (None, None) => {
                self.p.push(
                    line,
                    f,
                    "type replay needs `file` (a time_seconds,rate CSV) or `points`",
                );
                None
            }
        }
    }

    /// A distribution at `f`: values in seconds (durations) or plain numbers
    /// (token counts); `per_token` and `tokens` only where `tokens` is set.
    pub(super) fn dist(
        &mut self,
        f: &str,
        raw: At<RawDist>,
        seconds: bool,
        tokens: bool,
    ) -> Option<(Dist, Option<TokenGrowth>)> {
        let (line, r) = (raw.line, raw.value);
        let ty = r.kind.value.as_str();
        if !DIST_TYPES.iter().any(|(t, _)| *t == ty) {
            self.p.push(
                r.kind.line,
                format!("{f}.type"),
                format!("must be constant, uniform, exponential or lognormal (got {ty:?})"),
            );
            return None;
        }
        let lines = [
            ("value", line_of(&r.value)),
            ("min", line_of(&r.min)),
            ("max", line_of(&r.max)),
            ("mean", line_of(&r.mean)),
            ("p50", line_of(&r.p50)),
            ("p95", line_of(&r.p95)),
        ];
        self.only(f, ty, DIST_TYPES, &lines);
        if !tokens {
            for (name, l) in [
                ("per_token", line_of(&r.per_token)),
                ("tokens", line_of(&r.tokens)),
            ] {
                if let Some(l) = l {
                    self.p
                        .push(l, format!("{f}.{name}"), "only applies to service_time");
                }
            }
        }
        let num = |v: &mut Self, name: &str, at: &Option<At<Scalar>>| -> Option<f64> {
            let field = format!("{f}.{name}");
            let at = v.required(at.as_ref(), line, &field, ty)?;
            if seconds {
                return v.duration(&field, at);
            }
            match &at.value {
                Scalar::Num(n) => Some(*n),
                Scalar::Str(s) => s.trim().parse().ok().or_else(|| {
                    v.p.push(
                        at.line,
                        &field,
                        format!("{s:?} must be a number (a count, not a duration)"),
                    );
                    None
                }),
            }
        };
        let built = match ty {
            "constant" => num(self, "value", &r.value).map(Dist::constant),
            "uniform" => {
                let (min, max) = (num(self, "min", &r.min), num(self, "max", &r.max));
                min.zip(max).map(|(a, b)| Dist::uniform(a, b))
            }
            "exponential" => num(self, "mean", &r.mean).map(Dist::exponential),
            _ => {
                let (p50, p95) = (num(self, "p50", &r.p50), num(self, "p95", &r.p95));
                p50.zip(p95).map(|(a, b)| Dist::lognormal(a, b))
            }
        };
        let dist = match built? {
            Ok(d) => d,
            Err(e) => {
                let at = lines
                    .iter()
                    .find(|(n, _)| *n == e.param())
                    .and_then(|l| l.1);
                self.p.push(
                    at.unwrap_or(line),
                    format!("{f}.{}", e.param()),
                    describe_dist(&e, seconds),
                );
                return None;
            }
        };
        if !tokens {
            return Some((dist, None));
        }
        let growth = match (&r.per_token, r.tokens) {
            (None, None) => None,
            (Some(pt), Some(tk)) => {
                let per_token = self.duration(&format!("{f}.per_token"), pt);
                let count = self.dist(
                    &format!("{f}.tokens"),
                    At {
                        value: *tk.value,
                        line: tk.line,
                        col: tk.col,
                    },
                    false,
                    false,
                );
                Some(TokenGrowth {
                    per_token: per_token?,
                    count: count?.0,
                })
            }
            (Some(pt), None) => {
                self.p.push(
                    pt.line,
                    format!("{f}.per_token"),
                    "needs `tokens`: the distribution of tokens per request",
                );
                return None;
            }
            (None, Some(tk)) => {
                self.p.push(
                    tk.line,
                    format!("{f}.tokens"),
                    "needs `per_token`: the seconds each token adds",
                );
                return None;
            }
        };
        Some((dist, growth))
    }
}
