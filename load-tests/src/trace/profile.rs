//! A realised trace as a piecewise-linear rate function, its look-ahead
//! queries and its arrival generator (see the parent module's docs).

use crate::dist::{SimRng, rng};
use rand_distr::{Distribution, Exp1};

/// One linear piece of the rate: `r0` at `t0` to `r1` at `t1`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seg {
    /// Start, seconds.
    t0: f64,
    /// End, seconds (> `t0`).
    t1: f64,
    /// Rate just after `t0`.
    r0: f64,
    /// Rate just before `t1`.
    r1: f64,
    /// `(r1 - r0) / (t1 - t0)`, kept to save a division per arrival.
    slope: f64,
    /// Expected arrivals in `[0, t0)`.
    cum0: f64,
    /// Expected arrivals in `[0, t1)`.
    cum1: f64,
}

impl Seg {
    /// The rate at `t` in `[t0, t1]`.
    fn at(&self, t: f64) -> f64 {
        (self.r0 + self.slope * (t - self.t0)).max(0.0)
    }
}

/// A trace realised for one run (see [`crate::trace::Trace::profile`]):
/// the arrival rate at every instant, requests per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Contiguous pieces from 0 to the horizon.
    segs: Vec<Seg>,
    /// The rate beyond the horizon (the last piece's end value).
    tail: f64,
    /// Seed of [`Profile::arrivals`].
    seed: u64,
}

/// Evaluates a points list (linear interpolation, held beyond the ends) on
/// intervals that arrive in increasing order and contain no point inside.
struct Cursor<'a> {
    /// The points.
    points: &'a [(f64, f64)],
    /// Index of the last point at or before the current interval's middle.
    j: usize,
}

impl Cursor<'_> {
    /// The values at `a` and `b`, the ends of an interval with no point inside.
    fn eval(&mut self, a: f64, b: f64) -> (f64, f64) {
        let p = self.points;
        let Some(&(first_t, first_v)) = p.first() else {
            return (0.0, 0.0);
        };
        let mid = 0.5 * (a + b);
        if mid < first_t {
            return (first_v, first_v);
        }
        while self.j + 1 < p.len() && p[self.j + 1].0 <= mid {
            self.j += 1;
        }
        let (t0, v0) = p[self.j];
        match p.get(self.j + 1) {
            None => (v0, v0),
            Some(&(t1, v1)) => {
                let k = (v1 - v0) / (t1 - t0);
                (v0 + k * (a - t0), v0 + k * (b - t0))
            }
        }
    }
}

/// A usable rate: finite and not negative.
fn clean(r: f64) -> f64 {
    if r.is_finite() { r.max(0.0) } else { 0.0 }
}

impl Profile {
    /// The product of the `shape` and optional `noise` point lists times
    /// `scale`, over `[0, max(horizon, last point, 1 s)]`; arrivals seeded
    /// with `seed`.
    pub(super) fn from_points(
        shape: &[(f64, f64)],
        noise: Option<&[(f64, f64)]>,
        horizon: f64,
        scale: f64,
        seed: u64,
    ) -> Profile {
        let mut knots: Vec<f64> = shape
            .iter()
            .chain(noise.unwrap_or_default())
            .map(|p| p.0)
            .filter(|t| t.is_finite() && *t >= 0.0)
            .collect();
        let end = knots.iter().copied().fold(horizon.max(1.0), f64::max);
        knots.push(0.0);
        knots.push(end);
        knots.sort_by(f64::total_cmp);
        knots.dedup();

        let mut shape_at = Cursor {
            points: shape,
            j: 0,
        };
        let mut noise_at = noise.map(|points| Cursor { points, j: 0 });
        let mut segs = Vec::with_capacity(knots.len());
        let mut cum = 0.0;
        for w in knots.windows(2) {
            let (t0, t1) = (w[0], w[1]);
            let (mut r0, mut r1) = shape_at.eval(t0, t1);
            if let Some(n) = noise_at.as_mut() {
                let (n0, n1) = n.eval(t0, t1);
                r0 *= n0;
                r1 *= n1;
            }
            let (r0, r1) = (clean(r0 * scale), clean(r1 * scale));
            segs.push(Seg {
                t0,
                t1,
                r0,
                r1,
                slope: (r1 - r0) / (t1 - t0),
                cum0: cum,
                cum1: cum + 0.5 * (r0 + r1) * (t1 - t0),
            });
            cum += 0.5 * (r0 + r1) * (t1 - t0);
        }
        let tail = segs.last().map_or(0.0, |s| s.r1);
        Profile { segs, tail, seed }
    }

    /// Seconds up to which the profile is built; the rate holds beyond.
    pub fn horizon(&self) -> f64 {
        self.segs.last().map_or(0.0, |s| s.t1)
    }

    /// Expected arrivals in `[0, horizon)`.
    fn total(&self) -> f64 {
        self.segs.last().map_or(0.0, |s| s.cum1)
    }

    /// The seed [`Profile::arrivals`] uses.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Index of the piece holding `t` (`segs.len()` beyond the horizon).
    fn index(&self, t: f64) -> usize {
        self.segs.partition_point(|s| s.t1 <= t)
    }

    /// Requests per second at `t` seconds (0 before the run).
    pub fn rate(&self, t: f64) -> f64 {
        if t.is_nan() || t < 0.0 {
            return 0.0;
        }
        self.segs.get(self.index(t)).map_or(self.tail, |s| s.at(t))
    }

    /// Expected arrivals in `[0, t)`.
    pub fn cumulative(&self, t: f64) -> f64 {
        if t.is_nan() || t <= 0.0 {
            return 0.0;
        }
        match self.segs.get(self.index(t)) {
            Some(s) => s.cum0 + 0.5 * (s.r0 + s.at(t)) * (t - s.t0),
            None => self.total() + self.tail * (t - self.horizon()),
        }
    }

    /// Expected arrivals in `[t0, t1)`.
    pub fn expected(&self, t0: f64, t1: f64) -> f64 {
        (self.cumulative(t1) - self.cumulative(t0)).max(0.0)
    }

    /// Mean rate over `[t0, t1)` (the rate at `t0` if the window is empty).
    pub fn mean_rate(&self, t0: f64, t1: f64) -> f64 {
        if t1 > t0 {
            self.expected(t0, t1) / (t1 - t0)
        } else {
            self.rate(t0)
        }
    }

    /// Largest rate in `[t0, t1]` (pieces are linear, so at their ends).
    pub fn max_rate(&self, t0: f64, t1: f64) -> f64 {
        let mut m = self.rate(t0).max(self.rate(t1));
        let t0 = t0.max(0.0);
        for s in &self.segs[self.index(t0).min(self.segs.len())..] {
            if s.t0 > t1 {
                break;
            }
            if s.t0 > t0 {
                m = m.max(s.r0);
            }
            m = m.max(s.at(s.t1.min(t1)));
        }
        m
    }

    /// Arrival times in `[0, end)` seconds, increasing: the profile's own
    /// seeded draw (same profile, same arrivals).
    pub fn arrivals(&self, end: f64) -> Arrivals<'_> {
        self.arrivals_seeded(self.seed, end)
    }

    /// Arrival times in `[0, end)` drawn with an explicit `seed`.
    pub fn arrivals_seeded(&self, seed: u64, end: f64) -> Arrivals<'_> {
        Arrivals {
            segs: &self.segs,
            i: 0,
            count: 0.0,
            end: if end.is_nan() { 0.0 } else { end },
            total: self.total(),
            horizon: self.horizon(),
            tail: self.tail,
            done: false,
            rng: rng(seed),
        }
    }
}

/// Arrival times of a [`Profile`]: a non-homogeneous Poisson process by
/// inversion. The k-th arrival is where the expected count reaches the sum
/// of k unit exponential draws; inside a linear piece that is a quadratic,
/// solved in closed form. Only the running sum and the piece index carry
/// from one arrival to the next, so the square roots and divisions of
/// successive arrivals overlap in the CPU.
#[derive(Debug, Clone)]
pub struct Arrivals<'a> {
    /// The profile's pieces.
    segs: &'a [Seg],
    /// Piece holding the next arrival.
    i: usize,
    /// Sum of the unit exponential draws so far: the expected count at the
    /// last arrival.
    count: f64,
    /// Arrivals at or after this are not produced.
    end: f64,
    /// Expected arrivals up to the horizon.
    total: f64,
    /// End of the last piece.
    horizon: f64,
    /// Rate beyond the last piece.
    tail: f64,
    /// Set once an arrival reached `end` (or the rate stays 0).
    done: bool,
    /// The draws.
    rng: SimRng,
}

impl Iterator for Arrivals<'_> {
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        if self.done {
            return None;
        }
        let e: f64 = Exp1.sample(&mut self.rng);
        self.count += e;
        let t = loop {
            let Some(s) = self.segs.get(self.i) else {
                break if self.tail > 0.0 {
                    self.horizon + (self.count - self.total) / self.tail
                } else {
                    f64::INFINITY
                };
            };
            if self.count <= s.cum1 {
                // r0*x + slope*x^2/2 = d, in the form that is stable for
                // any sign of the slope.
                let d = self.count - s.cum0;
                let root = (s.r0 * s.r0 + 2.0 * s.slope * d).max(0.0).sqrt();
                let x = if s.r0 + root > 0.0 {
                    2.0 * d / (s.r0 + root)
                } else {
                    0.0
                };
                break (s.t0 + x).min(s.t1);
            }
            if s.t1 >= self.end {
                break f64::INFINITY;
            }
            self.i += 1;
        };
        if t < self.end {
            Some(t)
        } else {
            self.done = true;
            None
        }
    }
}
