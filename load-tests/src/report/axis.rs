//! Chart axes: linear and `log(1 + v)` scales with round ticks, and the
//! time axis (minutes up to three hours, hours beyond).

use super::fmt::num;

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    /// Proportional.
    Linear,
    /// `ln(1 + v)`: zero stays at the origin, decades get equal room, for
    /// series whose peaks differ by orders of magnitude.
    Log1p,
}

/// An axis: range, scale, labelled ticks.
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    /// Label with unit, e.g. "queue depth (requests)".
    pub label: String,
    /// Lowest value shown.
    pub min: f64,
    /// Highest value shown.
    pub max: f64,
    /// Mapping.
    pub scale: Scale,
    /// Tick values and their labels.
    pub ticks: Vec<(f64, String)>,
}

impl Axis {
    /// A linear axis from `lo` up to a round number at or above `hi`, with
    /// about six ticks.
    pub(crate) fn linear(label: &str, lo: f64, hi: f64) -> Axis {
        Axis::linear_n(label, lo, hi, 5.0)
    }

    /// A linear axis with about `n + 1` ticks (fewer for short panels).
    pub(crate) fn linear_n(label: &str, lo: f64, hi: f64, n: f64) -> Axis {
        let lo = if lo.is_finite() { lo } else { 0.0 };
        let mut hi = if hi.is_finite() { hi } else { lo + 1.0 };
        if hi <= lo {
            hi = lo + 1.0;
        }
        let step = nice_step((hi - lo) / n.max(1.0));
        let max = (hi / step - 1e-9).ceil() * step;
        let first = (lo / step).ceil() * step;
        let mut ticks = Vec::new();
        let mut i = 0.0;
        while first + i * step <= max + step * 1e-6 && ticks.len() < 50 {
            let v = first + i * step;
            ticks.push((v, num(v)));
            i += 1.0;
        }
        Axis {
            label: label.to_owned(),
            min: lo,
            max,
            scale: Scale::Linear,
            ticks,
        }
    }

    /// A `log(1 + v)` axis from 0 up to 1, 2 or 5 × 10^k at or above `hi`,
    /// ticks at the powers of ten (and 3 × them when few).
    pub(crate) fn log1p(label: &str, hi: f64) -> Axis {
        let hi = if hi.is_finite() && hi > 1.0 {
            hi.min(1e12)
        } else {
            10.0
        };
        let mag = 10f64.powf(hi.log10().floor());
        let max = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * mag)
            .find(|m| *m >= hi * (1.0 - 1e-9))
            .unwrap_or(10.0 * mag);
        let decades = max.log10().floor() as i32;
        let mut ticks = vec![(0.0, "0".to_owned())];
        for d in 0..=decades {
            let p = 10f64.powi(d);
            ticks.push((p, num(p)));
            if decades <= 2 && 3.0 * p < max {
                ticks.push((3.0 * p, num(3.0 * p)));
            }
        }
        if max >= 10f64.powi(decades) * 4.0 {
            ticks.push((max, num(max)));
        }
        ticks.sort_by(|a, b| a.0.total_cmp(&b.0));
        Axis {
            label: format!("{label}, log scale"),
            min: 0.0,
            max,
            scale: Scale::Log1p,
            ticks,
        }
    }

    /// From 0 to the largest of `peaks` (one per series); logarithmic when
    /// the largest peak is over 20 × the lower quartile of the peaks, so
    /// small series stay readable beside a runaway one.
    pub(crate) fn auto(label: &str, peaks: &[f64]) -> Axis {
        let mut finite: Vec<f64> = peaks.iter().copied().filter(|v| v.is_finite()).collect();
        finite.sort_by(f64::total_cmp);
        let hi = finite.last().copied().unwrap_or(0.0).max(0.0);
        let low = finite
            .get(finite.len() / 4)
            .copied()
            .unwrap_or(0.0)
            .max(0.0);
        if hi > 50.0 && hi > 20.0 * low.max(1.0) {
            Axis::log1p(label, hi)
        } else {
            Axis::linear(label, 0.0, if hi > 0.0 { hi } else { 1.0 })
        }
    }

    /// A time axis over `[0, horizon]` seconds, labelled in minutes up to
    /// three hours and in hours beyond.
    pub(crate) fn time(horizon: f64) -> Axis {
        let horizon = if horizon.is_finite() && horizon > 0.0 {
            horizon
        } else {
            60.0
        };
        let (unit, label, steps): (f64, &str, &[f64]) = if horizon > 3.0 * 3600.0 {
            (
                3600.0,
                "time since start (h)",
                &[1.0, 2.0, 3.0, 4.0, 6.0, 12.0, 24.0, 48.0, 168.0],
            )
        } else {
            (
                60.0,
                "time since start (min)",
                &[1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0],
            )
        };
        let span = horizon / unit;
        let step = steps
            .iter()
            .copied()
            .find(|s| span / s <= 12.0)
            .unwrap_or_else(|| nice_step(span / 10.0));
        let mut ticks = Vec::new();
        let mut v = 0.0;
        while v <= span + 1e-9 && ticks.len() < 60 {
            ticks.push((v * unit, num(v)));
            v += step;
        }
        Axis {
            label: label.to_owned(),
            min: 0.0,
            max: horizon,
            scale: Scale::Linear,
            ticks,
        }
    }

    /// Where `v` falls on the axis, 0 (min) to 1 (max), clamped; 0 for NaN.
    pub(crate) fn frac(&self, v: f64) -> f64 {
        let f = |x: f64| match self.scale {
            Scale::Linear => x,
            Scale::Log1p => x.max(0.0).ln_1p(),
        };
        let (a, b) = (f(self.min), f(self.max));
        let r = (f(v) - a) / (b - a);
        // NaN (a NaN value or an empty range) maps to the axis' origin.
        if r.is_finite() {
            r.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// The round step (1, 2, 2.5 or 5 × 10^k) at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|m| *m >= norm - 1e-9)
        .unwrap_or(10.0);
    m * mag
}
