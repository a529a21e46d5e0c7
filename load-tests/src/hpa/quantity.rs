//! Kubernetes `resource.Quantity` arithmetic, as far as the HPA controller
//! uses it: parsing the serialized form (`"500m"`, `"1.5"`, `"512Mi"`,
//! `"1e3"`), `MilliValue()` (which rounds up), and `AsApproximateFloat64()`.
//!
//! Ported from the grammar documented in
//! `k8s.io/apimachinery/pkg/api/resource/quantity.go` (`ParseQuantity`,
//! `Quantity.MilliValue`, `Quantity.AsApproximateFloat64`). The value is kept
//! exactly (integer mantissa, power of ten, power of 1024), so `MilliValue`
//! is exact.

/// A parsed quantity: `mantissa × 10^exp10 × 1024^pow1024`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Quantity {
    mantissa: i128,
    exp10: i32,
    pow1024: u32,
}

/// Most significant digits a mantissa may carry (fits an `i128`).
const MAX_DIGITS: usize = 36;

impl Quantity {
    /// Parses the canonical or any accepted serialized form of a quantity.
    pub(super) fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("empty quantity".to_owned());
        }
        let bytes = s.as_bytes();
        let mut pos = 0;
        let negative = match bytes[0] {
            b'-' => {
                pos = 1;
                true
            }
            b'+' => {
                pos = 1;
                false
            }
            _ => false,
        };
        let int_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        let int_digits = &s[int_start..pos];
        let mut frac_digits = "";
        if pos < bytes.len() && bytes[pos] == b'.' {
            pos += 1;
            let frac_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            frac_digits = &s[frac_start..pos];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(format!("quantity {s:?} has no digits"));
        }
        let (suffix_exp10, pow1024) = parse_suffix(&s[pos..])
            .ok_or_else(|| format!("quantity {s:?} has an unknown suffix {:?}", &s[pos..]))?;

        let digits: String = int_digits.chars().chain(frac_digits.chars()).collect();
        let significant = digits.trim_start_matches('0');
        if significant.len() > MAX_DIGITS {
            return Err(format!("quantity {s:?} has too many digits"));
        }
        let mut mantissa: i128 = 0;
        for d in significant.bytes() {
            mantissa = mantissa * 10 + i128::from(d - b'0');
        }
        if negative {
            mantissa = -mantissa;
        }
        let frac_len = i32::try_from(frac_digits.len())
            .map_err(|_| format!("quantity {s:?} has too many digits"))?;
        let exp10 = suffix_exp10
            .checked_sub(frac_len)
            .ok_or_else(|| format!("quantity {s:?} is out of range"))?;
        Ok(Self {
            mantissa,
            exp10,
            pow1024,
        })
    }

    /// `Quantity.MilliValue()`: the value × 1000, rounded up (away from zero),
    /// or an error when it does not fit an `i64`.
    pub(super) fn milli_value(&self) -> Result<i64, String> {
        if self.mantissa == 0 {
            return Ok(0);
        }
        let overflow = || "quantity is too large for a milli-value".to_owned();
        let mut n = self.mantissa;
        for _ in 0..self.pow1024 {
            n = n.checked_mul(1024).ok_or_else(overflow)?;
        }
        let e = i64::from(self.exp10) + 3;
        if e >= 0 {
            for _ in 0..e {
                n = n.checked_mul(10).ok_or_else(overflow)?;
            }
        } else if -e > 38 {
            // |value × 1000| < 1: rounds up to one unit away from zero.
            n = n.signum();
        } else {
            let divisor = 10_i128.pow(u32::try_from(-e).map_err(|_| overflow())?);
            let (q, r) = (n / divisor, n % divisor);
            n = if r == 0 { q } else { q + n.signum() };
        }
        i64::try_from(n).map_err(|_| overflow())
    }

    /// `Quantity.AsApproximateFloat64()`.
    pub(super) fn as_f64(&self) -> f64 {
        // The mantissa has at most 36 digits, so the conversion is exact or
        // correctly rounded; dividing by an exact power of ten keeps "0.05"
        // equal to the literal 0.05.
        #[allow(clippy::cast_precision_loss)]
        let m = self.mantissa as f64 * 1024_f64.powi(i32::try_from(self.pow1024).unwrap_or(0));
        if self.exp10 >= 0 {
            m * 10_f64.powi(self.exp10)
        } else {
            m / 10_f64.powi(-self.exp10)
        }
    }

    /// Whether the value is strictly positive (`Quantity.Sign() == 1`).
    pub(super) fn is_positive(&self) -> bool {
        self.mantissa > 0
    }

    /// Whether the value is negative (`Quantity.Sign() == -1`).
    pub(super) fn is_negative(&self) -> bool {
        self.mantissa < 0
    }
}

/// Decodes a quantity suffix into (power of ten, power of 1024).
fn parse_suffix(suffix: &str) -> Option<(i32, u32)> {
    let known = match suffix {
        "" => Some((0, 0)),
        "n" => Some((-9, 0)),
        "u" => Some((-6, 0)),
        "m" => Some((-3, 0)),
        "k" => Some((3, 0)),
        "M" => Some((6, 0)),
        "G" => Some((9, 0)),
        "T" => Some((12, 0)),
        "P" => Some((15, 0)),
        "E" => Some((18, 0)),
        "Ki" => Some((0, 1)),
        "Mi" => Some((0, 2)),
        "Gi" => Some((0, 3)),
        "Ti" => Some((0, 4)),
        "Pi" => Some((0, 5)),
        "Ei" => Some((0, 6)),
        _ => None,
    };
    if known.is_some() {
        return known;
    }
    // Decimal exponent: "e3", "E-2", "e+6".
    let rest = suffix.strip_prefix(['e', 'E'])?;
    let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse::<i32>().ok().map(|e| (e, 0))
}

/// Converts a floating-point value (as an external metrics item might carry
/// it) to the milli-value the controller computes with: `MilliValue()` rounds
/// up, but a product such as `8.6 × 1000` is first snapped to the integer it
/// is within floating-point noise of, so that `8.6` becomes 8600 and not 8601.
pub(super) fn f64_to_milli(value: f64) -> i64 {
    let x = value * 1000.0;
    if x.is_nan() {
        return 0;
    }
    let r = x.round();
    let snapped = if (x - r).abs() <= 1e-9 * r.abs().max(1.0) {
        r
    } else if x > 0.0 {
        x.ceil()
    } else {
        x.floor()
    };
    // `as` saturates at the i64 bounds, which is what we want for ±inf.
    #[allow(clippy::cast_possible_truncation)]
    let milli = snapped as i64;
    milli
}
