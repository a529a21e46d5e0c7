//! Log-bucket histograms for waits and latencies.
//!
//! A value `x` is scaled by `1 / unit` and bucketed by its binary exponent
//! and the top `sub_bits` bits of its mantissa: `2^sub_bits` buckets per
//! octave, each `1 / 2^sub_bits` of its lower bound wide. A quantile is the
//! middle of the bucket holding it, so its relative error is at most
//! `2^-(sub_bits + 1)` (0.78 % with 6 bits, 6.25 % with 3). The index is a
//! few integer operations on the float's bits: no logarithm, no search.
//!
//! Bucket 0 holds zero, negatives, NaN and everything below the range (its
//! value is 0: "no wait"); the last bucket everything above (its value is
//! the range's top). With `unit` set to the SLO, the SLO itself is a bucket
//! boundary, so "the quantile is above the SLO" read off any histogram of
//! this kind is exact up to ties (a value exactly at the SLO counts as
//! above).

/// The bucketing of a histogram: resolution, range and unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Layout {
    /// Bits of mantissa per octave (`2^sub_bits` buckets per octave).
    sub_bits: u32,
    /// Binary exponent of the range's bottom (in units).
    min_exp: i32,
    /// Octaves covered.
    octaves: i32,
    /// Seconds per unit.
    unit: f64,
    /// `1 / unit`.
    inv_unit: f64,
    /// `2^min_exp`.
    min_value: f64,
}

impl Layout {
    /// `2^sub_bits` buckets per octave over `[2^min_exp, 2^(min_exp +
    /// octaves))` units of `unit` seconds (a unit that is not a positive,
    /// finite number is taken as 1).
    pub(crate) fn new(sub_bits: u32, min_exp: i32, octaves: i32, unit: f64) -> Layout {
        let unit = if unit.is_finite() && unit > 0.0 {
            unit
        } else {
            1.0
        };
        Layout {
            sub_bits,
            min_exp,
            octaves,
            unit,
            inv_unit: 1.0 / unit,
            min_value: 2f64.powi(min_exp),
        }
    }

    /// Number of buckets (with the under- and overflow buckets).
    pub(crate) fn len(&self) -> usize {
        ((self.octaves as usize) << self.sub_bits) + 2
    }

    /// The bucket of `x` seconds.
    #[inline]
    pub(crate) fn index(&self, x: f64) -> usize {
        let y = x * self.inv_unit;
        // Zero and negatives are below the range too.
        if y.is_nan() || y < self.min_value {
            return 0;
        }
        let bits = y.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
        let octave = exp - self.min_exp;
        if octave >= self.octaves {
            return self.len() - 1;
        }
        let mask = (1u64 << self.sub_bits) - 1;
        let sub = ((bits >> (52 - self.sub_bits)) & mask) as usize;
        1 + ((octave as usize) << self.sub_bits) + sub
    }

    /// Whether `x` seconds falls in a bucket below one unit (the SLO, for
    /// wait histograms): NaN and negatives do, as they go to bucket 0.
    #[inline]
    pub(crate) fn below_unit(&self, x: f64) -> bool {
        let y = x * self.inv_unit;
        y.is_nan() || y < 1.0
    }

    /// The value a bucket stands for, seconds: the middle of its range.
    pub(crate) fn value(&self, i: usize) -> f64 {
        if i == 0 {
            return 0.0;
        }
        let top = 2f64.powi(self.min_exp + self.octaves) * self.unit;
        if i >= self.len() - 1 {
            return top;
        }
        let k = i - 1;
        let octave = (k >> self.sub_bits) as i32;
        let sub = (k & ((1usize << self.sub_bits) - 1)) as f64;
        let per = f64::from(1u32 << self.sub_bits);
        let base = 2f64.powi(self.min_exp + octave);
        base * (1.0 + (sub + 0.5) / per) * self.unit
    }

    /// The `q` quantile of bucket `counts` (the smallest bucket whose
    /// cumulative count reaches `ceil(q * n)`); `None` when empty.
    pub(crate) fn quantile<C: Copy + Into<u64>>(&self, counts: &[C], q: f64) -> Option<f64> {
        let n: u64 = counts.iter().map(|&c| c.into()).sum();
        if n == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut cum = 0u64;
        for (i, &c) in counts.iter().enumerate() {
            cum += c.into();
            if cum >= rank {
                return Some(self.value(i));
            }
        }
        Some(self.value(counts.len().saturating_sub(1)))
    }
}

/// A histogram with its own counts (run-wide figures).
#[derive(Debug, Clone)]
pub(crate) struct Hist {
    /// The bucketing.
    pub(crate) layout: Layout,
    /// One count per bucket.
    pub(crate) counts: Vec<u64>,
}

impl Hist {
    /// An empty histogram.
    pub(crate) fn new(layout: Layout) -> Hist {
        Hist {
            layout,
            counts: vec![0; layout.len()],
        }
    }

    /// Counts `x` seconds.
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let i = self.layout.index(x);
        self.counts[i] += 1;
    }

    /// The `q` quantile, seconds; `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        self.layout.quantile(&self.counts, q)
    }
}

/// Run-wide histograms: 64 buckets per octave (relative error <= 0.78 %),
/// from 2^-20 to 2^20 units (with the SLO as the unit: 14 µs to 182 days
/// for a 15 s SLO).
pub(crate) fn fine(unit: f64) -> Layout {
    Layout::new(6, -20, 40, unit)
}

/// Per-tick histograms of the timeline: 8 buckets per octave (relative
/// error <= 6.25 %), from 2^-10 to 2^14 units (15 ms to 68 h for a 15 s
/// SLO); 194 counts a tick.
pub(crate) fn coarse(unit: f64) -> Layout {
    Layout::new(3, -10, 24, unit)
}
