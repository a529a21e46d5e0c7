//! Arrival traces: how many requests per second reach a queue over time, and
//! the arrival timestamps drawn from that rate.
//!
//! A [`Trace`] is the shape as written in the scenario file: constant, step,
//! spike, diurnal, Poisson bursts or a CSV replay, optionally with rate noise.
//! [`Shape::rate`] is its exact, deterministic rate curve.
//!
//! A run turns a trace into a [`Profile`] with [`Trace::profile`]: the random
//! parts (burst start times, noise) are drawn from the seed, the service's
//! scale is applied, and the result is one piecewise-linear rate function over
//! `[0, horizon]` (held at its last value beyond). Step, spike, bursts and
//! replay are piecewise linear already, so their profile is exact; the
//! diurnal curve is sampled every `period / 2880` (30 s for a day; the
//! largest error is below 3e-7 of `max - min`).
//!
//! The profile answers what the oracle policy needs (rate at a future
//! instant, expected arrivals in a window, the largest rate in a window) and
//! generates arrivals ([`Profile::arrivals`]): a non-homogeneous Poisson
//! process by inversion. Unit-rate exponential gaps are mapped through the
//! cumulative rate, solved in closed form inside each linear segment (one
//! exponential draw and one square root per arrival, no allocation), so a
//! 24-hour, five-service run's ~8.6 M arrivals take a fraction of a second.
//!
//! "Poisson noise": the arrival process is itself Poisson, so counts in a
//! window vary around the curve as real traffic does. On top, any trace may
//! set `noise: {cv, interval}`: the rate is multiplied by independent
//! lognormal factors with mean 1 and coefficient of variation `cv`, drawn at
//! every multiple of `interval` and interpolated linearly between (slow
//! wander of the rate itself, as a day's traffic shows). The default
//! scenario's diurnal trace uses no extra noise: the "Poisson noise"
//! is the Poisson arrival process.

use crate::dist::{SimRng, derive_seed, rng};
use rand_distr::{Distribution, Exp1, StandardNormal};

mod profile;
mod replay;

pub use profile::{Arrivals, Profile};
pub use replay::parse_csv;

/// Why a trace is invalid. `param` names the parameter as the scenario file
/// spells it (`peak`, `steps[2].at`, `noise.cv`), so the file's loader can
/// point at its line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TraceError {
    /// NaN or infinite.
    #[error("{param}: must be a finite number")]
    NotFinite {
        /// The parameter.
        param: String,
    },
    /// A rate or time below zero.
    #[error("{param}: must not be negative (got {value})")]
    Negative {
        /// The parameter.
        param: String,
        /// The value given.
        value: f64,
    },
    /// A length or period that must be strictly positive.
    #[error("{param}: must be greater than zero (got {value})")]
    NotPositive {
        /// The parameter.
        param: String,
        /// The value given.
        value: f64,
    },
    /// Below another parameter it must not be below (diurnal `max` >= `min`).
    #[error("{param}: must not be less than {other} ({bound})")]
    Below {
        /// The parameter.
        param: String,
        /// The value given.
        value: f64,
        /// The parameter it is compared with.
        other: String,
        /// That parameter's value.
        bound: f64,
    },
    /// A time not after the previous one in a list that must be increasing.
    #[error("{param}: must be after {other} ({bound})")]
    NotAfter {
        /// The parameter.
        param: String,
        /// The value given.
        value: f64,
        /// The previous entry.
        other: String,
        /// Its time.
        bound: f64,
    },
    /// The first step must start at time 0, or the rate before it is undefined.
    #[error("{param}: the first step must be at 0 (got {value})")]
    NotAtZero {
        /// The parameter.
        param: String,
        /// The value given.
        value: f64,
    },
    /// A list that needs at least one entry is empty.
    #[error("{param}: needs at least one entry")]
    Empty {
        /// The parameter.
        param: String,
    },
    /// A replay CSV line that cannot be used (1-based line number).
    #[error("line {line}: {message}")]
    Csv {
        /// Line of the CSV file, counting from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

impl TraceError {
    /// The parameter the error is about (`""` for CSV errors).
    pub fn param(&self) -> &str {
        match self {
            TraceError::NotFinite { param }
            | TraceError::Negative { param, .. }
            | TraceError::NotPositive { param, .. }
            | TraceError::Below { param, .. }
            | TraceError::NotAfter { param, .. }
            | TraceError::NotAtZero { param, .. }
            | TraceError::Empty { param } => param,
            TraceError::Csv { .. } => "",
        }
    }
}

/// A named arrival trace from the scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Name the run and the services refer to it by.
    pub name: String,
    /// The rate curve.
    pub shape: Shape,
    /// Optional multiplicative rate noise (see the module docs).
    pub noise: Option<Noise>,
    /// How long a run of this trace lasts, in seconds.
    pub duration: f64,
}

/// The deterministic rate curve of a trace, in requests per second over
/// seconds since the start of the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// The same rate throughout.
    Constant {
        /// Requests per second.
        rate: f64,
    },
    /// Piecewise constant: each step's rate holds until the next step.
    Step {
        /// Steps in increasing time order; the first is at 0.
        steps: Vec<Step>,
    },
    /// A base rate with one spike: linear ramp up, hold, linear ramp down.
    Spike(Spike),
    /// A smooth daily curve between a minimum and a maximum.
    Diurnal(Diurnal),
    /// A base rate plus bursts starting as a Poisson process.
    Bursts(Bursts),
    /// Recorded (time, rate) points, linearly interpolated.
    Replay(Replay),
}

/// One step of a [`Shape::Step`] trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// When this step's rate starts, in seconds.
    pub at: f64,
    /// Requests per second from `at` until the next step.
    pub rate: f64,
}

/// A spike on a base rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spike {
    /// Requests per second outside the spike.
    pub base: f64,
    /// Requests per second at the top of the spike.
    pub peak: f64,
    /// When the ramp up starts, in seconds.
    pub start: f64,
    /// Length of the linear ramp from base to peak (0: a jump), in seconds.
    pub ramp: f64,
    /// How long the peak holds, in seconds.
    pub hold: f64,
    /// Length of the linear ramp back to base (0: a drop), in seconds.
    pub ramp_down: f64,
}

/// A smooth day: `min + (max - min) * (1 + cos(2π (t - peak_at) / period)) / 2`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diurnal {
    /// Requests per second at the quietest instant.
    pub min: f64,
    /// Requests per second at the busiest instant.
    pub max: f64,
    /// Length of one cycle, in seconds (a day: 86400).
    pub period: f64,
    /// When in the cycle the peak is, in seconds (the trough is half a
    /// period away).
    pub peak_at: f64,
}

/// A base rate plus bursts whose start times form a Poisson process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bursts {
    /// Requests per second between bursts.
    pub base: f64,
    /// Mean time between burst starts, in seconds.
    pub every: f64,
    /// Extra requests per burst, spread evenly over `length`.
    pub size: f64,
    /// How long one burst lasts, in seconds (overlapping bursts add up).
    pub length: f64,
}

/// Recorded rates, linearly interpolated; held at the first value before the
/// first point and at the last after the last. Two points at the same time
/// make a jump (the second applies from that time on).
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Where the points came from (a CSV path, or "inline"), for messages.
    pub source: String,
    /// `(seconds, requests per second)`, times non-decreasing.
    pub points: Vec<(f64, f64)>,
}

/// Multiplicative rate noise (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// Coefficient of variation of the factors (0.1: about ±10 %).
    pub cv: f64,
    /// Seconds between independent factors.
    pub interval: f64,
}

/// Checks that `value` is finite.
fn finite(param: &str, value: f64) -> Result<f64, TraceError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(TraceError::NotFinite {
            param: param.to_string(),
        })
    }
}

/// Checks that `value` is finite and not negative.
fn non_negative(param: &str, value: f64) -> Result<f64, TraceError> {
    if finite(param, value)? < 0.0 {
        Err(TraceError::Negative {
            param: param.to_string(),
            value,
        })
    } else {
        Ok(value)
    }
}

/// Checks that `value` is finite and greater than zero.
fn positive(param: &str, value: f64) -> Result<f64, TraceError> {
    if non_negative(param, value)? == 0.0 {
        Err(TraceError::NotPositive {
            param: param.to_string(),
            value,
        })
    } else {
        Ok(value)
    }
}

impl Shape {
    /// The name used in the scenario file's `type:`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Shape::Constant { .. } => "constant",
            Shape::Step { .. } => "step",
            Shape::Spike(_) => "spike",
            Shape::Diurnal(_) => "diurnal",
            Shape::Bursts(_) => "bursts",
            Shape::Replay(_) => "replay",
        }
    }

    /// Checks every parameter; the first problem found.
    pub fn check(&self) -> Result<(), TraceError> {
        match self {
            Shape::Constant { rate } => non_negative("rate", *rate).map(drop),
            Shape::Step { steps } => {
                if steps.is_empty() {
                    return Err(TraceError::Empty {
                        param: "steps".into(),
                    });
                }
                for (i, s) in steps.iter().enumerate() {
                    let at = non_negative(&format!("steps[{i}].at"), s.at)?;
                    non_negative(&format!("steps[{i}].rate"), s.rate)?;
                    if i == 0 && at != 0.0 {
                        return Err(TraceError::NotAtZero {
                            param: "steps[0].at".into(),
                            value: at,
                        });
                    }
                    if i > 0 && at <= steps[i - 1].at {
                        return Err(TraceError::NotAfter {
                            param: format!("steps[{i}].at"),
                            value: at,
                            other: format!("steps[{}].at", i - 1),
                            bound: steps[i - 1].at,
                        });
                    }
                }
                Ok(())
            }
            Shape::Spike(s) => {
                non_negative("base", s.base)?;
                non_negative("peak", s.peak)?;
                non_negative("start", s.start)?;
                non_negative("ramp", s.ramp)?;
                non_negative("hold", s.hold)?;
                non_negative("ramp_down", s.ramp_down).map(drop)
            }
            Shape::Diurnal(d) => {
                let min = non_negative("min", d.min)?;
                if non_negative("max", d.max)? < min {
                    return Err(TraceError::Below {
                        param: "max".into(),
                        value: d.max,
                        other: "min".into(),
                        bound: min,
                    });
                }
                positive("period", d.period)?;
                non_negative("peak_at", d.peak_at).map(drop)
            }
            Shape::Bursts(b) => {
                non_negative("base", b.base)?;
                positive("every", b.every)?;
                non_negative("size", b.size)?;
                positive("length", b.length).map(drop)
            }
            Shape::Replay(r) => {
                if r.points.is_empty() {
                    return Err(TraceError::Empty {
                        param: "points".into(),
                    });
                }
                for (i, &(t, rate)) in r.points.iter().enumerate() {
                    let p = format!("points[{i}]");
                    non_negative(&p, t)?;
                    non_negative(&p, rate)?;
                    if i > 0 && t < r.points[i - 1].0 {
                        return Err(TraceError::NotAfter {
                            param: p,
                            value: t,
                            other: format!("points[{}]", i - 1),
                            bound: r.points[i - 1].0,
                        });
                    }
                    if i > 1 && t == r.points[i - 2].0 {
                        return Err(TraceError::NotAfter {
                            param: p,
                            value: t,
                            other: format!(
                                "points[{}] (a jump takes two points, not three)",
                                i - 1
                            ),
                            bound: t,
                        });
                    }
                }
                Ok(())
            }
        }
    }

    /// The deterministic rate at `t` seconds, in requests per second: the
    /// bursts trace's base only (its bursts are random), no noise, no scale.
    pub fn rate(&self, t: f64) -> f64 {
        match self {
            Shape::Constant { rate } => *rate,
            Shape::Step { steps } => {
                let i = steps.partition_point(|s| s.at <= t);
                steps.get(i.saturating_sub(1)).map_or(0.0, |s| s.rate)
            }
            Shape::Spike(s) => {
                let up = s.start + s.ramp;
                let down = up + s.hold;
                if t < s.start || t >= down + s.ramp_down {
                    s.base
                } else if t < up {
                    s.base + (s.peak - s.base) * (t - s.start) / s.ramp
                } else if t < down {
                    s.peak
                } else {
                    s.peak + (s.base - s.peak) * (t - down) / s.ramp_down
                }
            }
            Shape::Diurnal(d) => d.rate(t),
            Shape::Bursts(b) => b.base,
            Shape::Replay(r) => interpolate(&r.points, t),
        }
    }

    /// `(time, rate)` points whose linear interpolation is the curve on
    /// `[0, horizon]` (bursts and diurnal drawn/sampled; see the module docs).
    fn points(&self, horizon: f64, rng: &mut SimRng) -> Vec<(f64, f64)> {
        match self {
            Shape::Constant { rate } => vec![(0.0, *rate)],
            Shape::Step { steps } => {
                let mut p = Vec::with_capacity(steps.len() * 2);
                for (i, s) in steps.iter().enumerate() {
                    if i > 0 {
                        p.push((s.at, steps[i - 1].rate));
                    }
                    p.push((s.at, s.rate));
                }
                p
            }
            Shape::Spike(s) => {
                let up = s.start + s.ramp;
                let down = up + s.hold;
                vec![
                    (0.0, s.base),
                    (s.start, s.base),
                    (up, s.peak),
                    (down, s.peak),
                    (down + s.ramp_down, s.base),
                ]
            }
            Shape::Diurnal(d) => {
                let step = d.period / DIURNAL_SAMPLES_PER_PERIOD;
                let n = (horizon / step).ceil().min(MAX_SAMPLES) as usize;
                (0..=n)
                    .map(|k| (k as f64 * step, d.rate(k as f64 * step)))
                    .collect()
            }
            Shape::Bursts(b) => b.points(horizon, rng),
            Shape::Replay(r) => r.points.clone(),
        }
    }
}

/// Samples per period of a diurnal curve in its profile.
const DIURNAL_SAMPLES_PER_PERIOD: f64 = 2880.0;
/// Most sample points of a diurnal curve or noise in one profile (a 10-day
/// horizon at the default resolution); beyond, the last value holds.
const MAX_SAMPLES: f64 = 30_000.0;

impl Diurnal {
    /// The rate at `t`.
    fn rate(&self, t: f64) -> f64 {
        let phase = std::f64::consts::TAU * (t - self.peak_at) / self.period;
        self.min + (self.max - self.min) * 0.5 * (1.0 + phase.cos())
    }
}

impl Bursts {
    /// Base plus drawn bursts as jump points over `[0, horizon]`.
    fn points(&self, horizon: f64, rng: &mut SimRng) -> Vec<(f64, f64)> {
        let extra = self.size / self.length;
        let mut edges = Vec::new();
        let mut t = 0.0;
        loop {
            let gap: f64 = Exp1.sample(rng);
            t += gap * self.every;
            if t >= horizon || edges.len() >= 2 * MAX_SAMPLES as usize {
                break;
            }
            edges.push((t, extra));
            edges.push((t + self.length, -extra));
        }
        edges.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut points = vec![(0.0, self.base)];
        let mut level = self.base;
        let mut i = 0;
        while i < edges.len() {
            let at = edges[i].0;
            points.push((at, level.max(0.0)));
            while i < edges.len() && edges[i].0 == at {
                level += edges[i].1;
                i += 1;
            }
            points.push((at, level.max(0.0)));
        }
        points
    }
}

/// Linear interpolation through `(t, value)` points (held beyond the ends;
/// the later of two points at the same time applies from that time).
fn interpolate(points: &[(f64, f64)], t: f64) -> f64 {
    let i = points.partition_point(|p| p.0 <= t);
    match (i.checked_sub(1).map(|j| points[j]), points.get(i)) {
        (None, Some(&(_, v))) | (Some((_, v)), None) => v,
        (Some((t0, v0)), Some(&(t1, v1))) => v0 + (v1 - v0) * (t - t0) / (t1 - t0),
        (None, None) => 0.0,
    }
}

impl Noise {
    /// Checks `cv` (>= 0) and `interval` (> 0).
    pub fn check(&self) -> Result<(), TraceError> {
        non_negative("noise.cv", self.cv)?;
        positive("noise.interval", self.interval).map(drop)
    }

    /// Drawn factors at every multiple of `interval` up to `horizon`.
    fn points(&self, horizon: f64, rng: &mut SimRng) -> Vec<(f64, f64)> {
        let s2 = (1.0 + self.cv * self.cv).ln();
        let (mu, sigma) = (-0.5 * s2, s2.sqrt());
        let n = (horizon / self.interval).ceil().min(MAX_SAMPLES) as usize;
        (0..=n)
            .map(|k| {
                let z: f64 = StandardNormal.sample(rng);
                (k as f64 * self.interval, (mu + sigma * z).exp())
            })
            .collect()
    }
}

impl Trace {
    /// Checks the shape, the noise and the duration.
    pub fn check(&self) -> Result<(), TraceError> {
        self.shape.check()?;
        if let Some(n) = &self.noise {
            n.check()?;
        }
        positive("duration", self.duration).map(drop)
    }

    /// The trace realised for one run: bursts and noise drawn from `seed`,
    /// rates multiplied by `scale`, over `[0, horizon]` seconds (pass at
    /// least the run length plus the longest look-ahead; the rate holds its
    /// last value beyond). Arrivals of the profile use a seed derived from
    /// `seed` too, so one seed fixes everything.
    pub fn profile(&self, horizon: f64, scale: f64, seed: u64) -> Profile {
        let horizon = if horizon.is_finite() {
            horizon.max(0.0)
        } else {
            0.0
        };
        let scale = if scale.is_finite() {
            scale.max(0.0)
        } else {
            0.0
        };
        let mut shape_rng = rng(derive_seed(seed, "shape"));
        let shape = self.shape.points(horizon, &mut shape_rng);
        let noise = self.noise.filter(|n| n.cv > 0.0).map(|n| {
            let mut noise_rng = rng(derive_seed(seed, "noise"));
            n.points(horizon, &mut noise_rng)
        });
        Profile::from_points(
            &shape,
            noise.as_deref(),
            horizon,
            scale,
            derive_seed(seed, "arrivals"),
        )
    }
}

#[cfg(test)]
mod tests;
