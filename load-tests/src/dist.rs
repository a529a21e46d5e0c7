//! Random distributions of the simulation: service time, start-up delay,
//! delays of zset jobs, token counts.
//!
//! Every random number in a run comes from a [`SimRng`] seeded from the
//! scenario's seed, so a run repeats exactly. Separate concerns (arrivals of
//! one service, service times of another, ...) use separate generators whose
//! seeds are derived with [`derive_seed`] from the run seed and a label, so
//! adding a service or a draw in one place does not shift the numbers drawn
//! anywhere else.
//!
//! [`SimRng`] is rand's Xoshiro256++, a named algorithm (rand's `SmallRng`
//! may change between versions). Normal and exponential variates come from
//! rand_distr's ziggurat samplers; `Cargo.lock` pins both crates, so the same
//! build and seed give the same run.
//!
//! Distributions are validated when built ([`Dist::lognormal`], ...), and
//! report structured [`DistError`]s naming the parameter, which the scenario
//! file turns into messages with field paths, lines and units.

use rand::{Rng, RngExt, SeedableRng};
use rand_distr::{Distribution, Exp1, StandardNormal};

/// The seeded generator every simulation draw uses (Xoshiro256++).
pub type SimRng = rand::rngs::Xoshiro256PlusPlus;

/// The 0.95 quantile of the standard normal distribution: `sigma` of a
/// lognormal is `(ln p95 - ln p50) / Z95`.
pub const Z95: f64 = 1.644_853_626_951_472_2;

/// A generator seeded with `seed`.
pub fn rng(seed: u64) -> SimRng {
    SimRng::seed_from_u64(seed)
}

/// A seed for the stream named `label` of a run seeded with `seed`: FNV-1a
/// over the label, mixed with the seed by SplitMix64's finaliser. Distinct
/// labels give unrelated streams; the same pair always gives the same seed.
pub fn derive_seed(seed: u64, label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ h.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Why a distribution's parameters are invalid. `param` is the parameter's
/// name as the scenario file spells it (`p95`, `min`, ...).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DistError {
    /// NaN or infinite.
    #[error("{param}: must be a finite number")]
    NotFinite {
        /// The parameter.
        param: &'static str,
    },
    /// Below zero where only non-negative values make sense (times, counts).
    #[error("{param}: must not be negative (got {value})")]
    Negative {
        /// The parameter.
        param: &'static str,
        /// The value given.
        value: f64,
    },
    /// Zero or below where the value must be strictly positive (a lognormal
    /// median, an exponential mean).
    #[error("{param}: must be greater than zero (got {value})")]
    NotPositive {
        /// The parameter.
        param: &'static str,
        /// The value given.
        value: f64,
    },
    /// Must be strictly greater than another parameter (`p95` > `p50`).
    #[error("{param}: must be greater than {other} ({bound})")]
    NotAbove {
        /// The parameter.
        param: &'static str,
        /// The value given.
        value: f64,
        /// The parameter it must exceed.
        other: &'static str,
        /// That parameter's value.
        bound: f64,
    },
    /// Must not be less than another parameter (uniform `max` >= `min`).
    #[error("{param}: must not be less than {other} ({bound})")]
    Below {
        /// The parameter.
        param: &'static str,
        /// The value given.
        value: f64,
        /// The parameter it must not be below.
        other: &'static str,
        /// That parameter's value.
        bound: f64,
    },
}

impl DistError {
    /// The parameter the error is about.
    pub fn param(&self) -> &'static str {
        match self {
            DistError::NotFinite { param }
            | DistError::Negative { param, .. }
            | DistError::NotPositive { param, .. }
            | DistError::NotAbove { param, .. }
            | DistError::Below { param, .. } => param,
        }
    }
}

/// A distribution of non-negative values (seconds or counts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Always the same value.
    Constant(f64),
    /// Uniform on `[min, max]`.
    Uniform {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean (= standard deviation).
        mean: f64,
    },
    /// `exp(N(mu, sigma))`; built from its median and 95th percentile by
    /// [`Dist::lognormal`], the way LLM latencies are usually quoted.
    LogNormal {
        /// Mean of the logarithm (`ln p50`).
        mu: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
}

/// Checks that `value` is finite and not negative.
fn non_negative(param: &'static str, value: f64) -> Result<f64, DistError> {
    if !value.is_finite() {
        Err(DistError::NotFinite { param })
    } else if value < 0.0 {
        Err(DistError::Negative { param, value })
    } else {
        Ok(value)
    }
}

/// Checks that `value` is finite and greater than zero.
fn positive(param: &'static str, value: f64) -> Result<f64, DistError> {
    if non_negative(param, value)? == 0.0 {
        Err(DistError::NotPositive { param, value })
    } else {
        Ok(value)
    }
}

impl Dist {
    /// A constant `value` (parameter `value`, >= 0).
    pub fn constant(value: f64) -> Result<Dist, DistError> {
        Ok(Dist::Constant(non_negative("value", value)?))
    }

    /// Uniform on `[min, max]`, `0 <= min <= max`.
    pub fn uniform(min: f64, max: f64) -> Result<Dist, DistError> {
        let min = non_negative("min", min)?;
        let max = non_negative("max", max)?;
        if max < min {
            return Err(DistError::Below {
                param: "max",
                value: max,
                other: "min",
                bound: min,
            });
        }
        Ok(Dist::Uniform { min, max })
    }

    /// Exponential with mean `mean` > 0.
    pub fn exponential(mean: f64) -> Result<Dist, DistError> {
        Ok(Dist::Exponential {
            mean: positive("mean", mean)?,
        })
    }

    /// Lognormal with median `p50` > 0 and 95th percentile `p95` > `p50`:
    /// `mu = ln p50`, `sigma = (ln p95 - ln p50) / 1.6448536`.
    pub fn lognormal(p50: f64, p95: f64) -> Result<Dist, DistError> {
        let p50 = positive("p50", p50)?;
        let p95 = positive("p95", p95)?;
        if p95 <= p50 {
            return Err(DistError::NotAbove {
                param: "p95",
                value: p95,
                other: "p50",
                bound: p50,
            });
        }
        Ok(Dist::LogNormal {
            mu: p50.ln(),
            sigma: (p95.ln() - p50.ln()) / Z95,
        })
    }

    /// One draw.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Dist::Constant(v) => v,
            Dist::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
            Dist::Exponential { mean } => {
                let e: f64 = Exp1.sample(rng);
                mean * e
            }
            Dist::LogNormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
        }
    }

    /// The mean (what the oracle sizes for).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Constant(v) => v,
            Dist::Uniform { min, max } => 0.5 * (min + max),
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { mu, sigma } => (mu + 0.5 * sigma * sigma).exp(),
        }
    }

    /// The `p` quantile, `p` in `[0, 1]` (clamped; `p = 1` is infinite for
    /// unbounded distributions).
    pub fn quantile(&self, p: f64) -> f64 {
        let p = if p.is_nan() { 0.5 } else { p.clamp(0.0, 1.0) };
        match *self {
            Dist::Constant(v) => v,
            Dist::Uniform { min, max } => min + (max - min) * p,
            Dist::Exponential { mean } => -mean * (1.0 - p).ln(),
            Dist::LogNormal { mu, sigma } => (mu + sigma * normal_quantile(p)).exp(),
        }
    }

    /// The largest possible value, if bounded.
    pub fn max(&self) -> Option<f64> {
        match *self {
            Dist::Constant(v) => Some(v),
            Dist::Uniform { max, .. } => Some(max),
            Dist::Exponential { .. } | Dist::LogNormal { .. } => None,
        }
    }

    /// A practical upper bound: the maximum if bounded, else the 99th
    /// percentile. The oracle's default look-ahead is the start-up delay's.
    pub fn upper(&self) -> f64 {
        self.max().unwrap_or_else(|| self.quantile(0.99))
    }
}

/// Service time of one request, in seconds: a base time, plus optionally
/// `per_token` seconds for each of a drawn number of tokens (an LLM call
/// that grows with the length of the answer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceTime {
    /// Time independent of the token count (or all of it without tokens).
    pub base: Dist,
    /// Extra time proportional to a drawn token count.
    pub tokens: Option<TokenGrowth>,
}

/// The token-dependent part of a [`ServiceTime`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenGrowth {
    /// Seconds added per token.
    pub per_token: f64,
    /// Tokens per request; draws are rounded to whole tokens, at least 0.
    pub count: Dist,
}

impl ServiceTime {
    /// A service time without token growth.
    pub fn simple(base: Dist) -> ServiceTime {
        ServiceTime { base, tokens: None }
    }

    /// One draw, in seconds.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let base = self.base.sample(rng);
        match &self.tokens {
            None => base,
            Some(t) => base + t.per_token * t.count.sample(rng).round().max(0.0),
        }
    }

    /// Mean seconds per request (token rounding ignored).
    pub fn mean(&self) -> f64 {
        self.base.mean() + self.tokens.map_or(0.0, |t| t.per_token * t.count.mean())
    }
}

/// The standard normal quantile function (Acklam's rational approximation,
/// relative error below 1.2e-9); `p` in (0, 1), infinite at the ends.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests;
