//! Kubernetes `Quantity` strings for metric values.
//!
//! The external-metrics API (`external.metrics.k8s.io/v1beta1`) carries every
//! metric value as a `resource.Quantity`, serialised as a string. This module
//! converts between `f64` metric values and those strings, following
//! `k8s.io/apimachinery/pkg/api/resource/quantity.go` (grammar, `ParseQuantity`,
//! `CanonicalizeBytes`), `k8s.io/apimachinery/pkg/api/resource/suffix.go`
//! (suffix table, exponent parsing) and
//! `k8s.io/apimachinery/pkg/api/resource/amount.go` (`AsCanonicalBytes`).
//!
//! # Formatting ([`format()`])
//!
//! The value is rounded to an integer number of nano units (10⁻⁹) and printed
//! the way apimachinery prints a `DecimalSI` quantity in canonical form: the
//! largest suffix of `n u m "" k M G T P E` for which the mantissa is an
//! integer, no fractional digits, and a sign only when negative. So `1.5`
//! prints as `1500m`, `1000` as `1k`, `1500` as `1500` and `-2.5` as `-2500m`.
//!
//! Choices made where an `f64` has no Kubernetes counterpart:
//!
//! * NaN and ±infinity have no quantity form: [`format()`] returns `None`.
//! * The rounding to nano units is done on the *shortest decimal
//!   representation* of the `f64` (the digits `{}` prints, which read back to
//!   the same `f64`), rounding half away from zero. This keeps binary noise
//!   out of the output: `123456789.123` prints as `123456789123m`, not as the
//!   `123456789122999996n` that the exact binary value would give. Magnitudes
//!   below `0.5n` therefore print as `0` (upstream's parser would round them
//!   *up* to `1n`; a metric value of 1e-10 is noise, not a request for a
//!   resource).
//! * Finite magnitudes above [`MAX_FORMAT_MAGNITUDE`] (9.2e18) are clamped to
//!   it, so every printed quantity has an integer part that fits in an `int64`
//!   (`Quantity.Value()` stays valid for consumers; 9.2e18 prints as `9200P`).
//!   Beyond that apimachinery falls back to arbitrary-precision decimals that
//!   most consumers cannot use. Note that the HPA reads external metrics with
//!   `MilliValue()`, which overflows above about 9.22e15 whatever we print.
//! * Negative zero, and negative values that round to zero, print as `0`.
//!
//! # Parsing ([`parse()`])
//!
//! [`parse()`] accepts exactly the strings `ParseQuantity` accepts: an optional
//! sign, digits with an optional decimal point (`1`, `1.`, `.5`, `1.5`), and
//! a suffix that is a `DecimalSI` suffix, a `BinarySI` suffix (`Ki Mi Gi Ti
//! Pi Ei`) or a decimal exponent (`e3`, `E-3`, `e+3`; the exponent must fit in
//! an `int32`). It rejects what upstream rejects: the empty string, any
//! whitespace, a second decimal point, unknown suffixes (`mi`, `1i`), a bare
//! `e`. Like upstream it accepts some degenerate inputs as zero (`-`, `+`,
//! `.`, `k`, `Ki`, `e3`), and rejects digitless inputs that take upstream's
//! slow path (`Pi`, `Ei`, `e-10`) as non-numeric.
//!
//! The value is then treated as upstream stores it: a non-zero value finer
//! than `1n` is rounded *up* (away from zero) to the next nano unit
//! (`0.9n` → `1n`, `3.001n` → `4n`), and a `BinarySI` value is capped at
//! 2⁶³−1 (`9Ei` → 9223372036854775807); decimal values are not capped. The
//! result is the `f64` nearest to that exact decimal value (correctly rounded,
//! not accumulated in floating point). A value too large for an `f64` (e.g.
//! `1e400`) is an error, [`QuantityError::OutOfRange`], where upstream would
//! return `±Inf` from `AsApproximateFloat64`.
//!
//! [`format()`] always emits `DecimalSI`; a parsed `1Ki` therefore formats back
//! as `1024`, not `1Ki`.

use std::fmt::Write as _;

use thiserror::Error;

/// Largest magnitude [`format()`] prints; larger finite values are clamped to
/// ±this value (printed as `9200P` / `-9200P`).
///
/// Chosen so that the integer part of every printed quantity fits in an
/// `int64` (`i64::MAX` ≈ 9.223e18 itself has no exact `f64`), which keeps
/// `Quantity.Value()` usable for any consumer.
pub const MAX_FORMAT_MAGNITUDE: f64 = 9.2e18;

/// The characters `parseQuantityString` accepts in the letter part of a
/// suffix (upstream: `"eEinumkKMGTP"`).
const SUFFIX_LETTERS: &[u8] = b"eEinumkKMGTP";

/// The regular expression upstream's `ErrFormatWrong` message quotes.
const SPLIT_RE: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// `DecimalSI` suffixes, largest first, as (power of ten of one unit measured
/// in nano units, suffix). Upstream: the `decSuffixes` table in `suffix.go`.
const DECIMAL_SI_BY_NANO_POWER: [(u32, &str); 10] = [
    (27, "E"),
    (24, "P"),
    (21, "T"),
    (18, "G"),
    (15, "M"),
    (12, "k"),
    (9, ""),
    (6, "m"),
    (3, "u"),
    (0, "n"),
];

/// Decimal digits of 2⁶³−1 (`maxAllowed` in upstream), the cap on `BinarySI`
/// values.
const I64_MAX_DIGITS: &[u8] = b"9223372036854775807";

/// Why a string is not a Kubernetes quantity.
///
/// The first three variants are upstream's `ErrFormatWrong`, `ErrNumeric` and
/// `ErrSuffix`, with the same messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// The string is empty or is not `<signedNumber><suffix>`: whitespace
    /// anywhere, a second decimal point, a character outside the number and
    /// suffix alphabets, or digits after a non-exponent suffix
    /// (upstream `ErrFormatWrong`).
    #[error("quantities must match the regular expression '{SPLIT_RE}'")]
    FormatWrong,
    /// The number has no digits at all (e.g. `-Pi`, `.e-10`) and is too
    /// large or too fine for upstream's integer fast path, so its decimal
    /// parser rejects it (upstream `ErrNumeric`).
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is none of the `DecimalSI`/`BinarySI` suffixes and not a
    /// decimal exponent `e<int32>`/`E<int32>` (e.g. `mi`, `i`, `e`, `e-`,
    /// `E2147483648`) (upstream `ErrSuffix`).
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The quantity is well formed but its magnitude is beyond the largest
    /// finite `f64` (e.g. `1e400`, `1E2147483647`). Upstream accepts these
    /// and would convert them to `±Inf`.
    #[error("quantity is too large to be represented as a 64-bit float")]
    OutOfRange,
}

/// Formats a metric value as a Kubernetes quantity string in canonical
/// `DecimalSI` form (see the [module docs](self)).
///
/// Returns `None` for NaN and ±infinity. Never panics.
///
/// ```text
/// 7 → "7"      1.5 → "1500m"    0.001 → "1m"     1000 → "1k"
/// 1500 → "1500"   15000 → "15k"   -2.5 → "-2500m"   1e-9 → "1n"
/// 1.234567 → "1234567u"   1e-10 → "0"   1e300 → "9200P"
/// ```
#[must_use]
pub fn format(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    let clamped = value.clamp(-MAX_FORMAT_MAGNITUDE, MAX_FORMAT_MAGNITUDE);
    Some(canonical_decimal_si(round_to_nanos(clamped)))
}

/// Rounds `value` to an integer number of nano units, half away from zero,
/// working on the shortest decimal representation of `value`.
///
/// `value` must be finite with magnitude at most [`MAX_FORMAT_MAGNITUDE`];
/// larger magnitudes saturate.
fn round_to_nanos(value: f64) -> i128 {
    // `{:e}` prints the shortest digits that read back to the same f64, as
    // `d[.ddd]e[-]x`, for example `1.234567e0`, `1e-10`, `9.2e18`, `0e0`.
    let scientific = format!("{:e}", value.abs());
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return 0; // unreachable: `{:e}` of a finite f64 always has an `e`
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return 0; // unreachable: the exponent is a small integer
    };
    let mut digits: u128 = 0;
    let mut fraction_digits: i32 = 0;
    let mut after_point = false;
    for byte in mantissa.bytes() {
        match byte {
            b'.' => after_point = true,
            b'0'..=b'9' => {
                // At most 17 significant digits: cannot overflow.
                digits = digits
                    .saturating_mul(10)
                    .saturating_add(u128::from(byte - b'0'));
                if after_point {
                    fraction_digits += 1;
                }
            }
            _ => return 0, // unreachable for a finite f64
        }
    }
    // value = digits × 10^(exponent − fraction_digits); nanos = value × 10^9.
    let shift = exponent - fraction_digits + 9;
    let magnitude = match u32::try_from(shift) {
        Ok(up) => 10u128
            .checked_pow(up)
            .and_then(|scale| digits.checked_mul(scale))
            .unwrap_or(u128::MAX),
        Err(_) => match 10u128.checked_pow(shift.unsigned_abs()) {
            Some(scale) => {
                let quotient = digits / scale;
                let remainder = digits % scale;
                // remainder ≥ scale/2, written without overflow.
                if remainder >= scale - remainder {
                    quotient + 1
                } else {
                    quotient
                }
            }
            // 10^k beyond u128 is far more than twice the 17-digit mantissa.
            None => 0,
        },
    };
    let magnitude = i128::try_from(magnitude).unwrap_or(i128::MAX);
    if value.is_sign_negative() {
        -magnitude
    } else {
        magnitude
    }
}

/// Prints an integer number of nano units in canonical `DecimalSI` form: the
/// largest suffix whose unit divides the value (upstream `AsCanonicalBytes`
/// followed by the `DecimalSI` suffix lookup).
fn canonical_decimal_si(nanos: i128) -> String {
    if nanos == 0 {
        return "0".to_owned();
    }
    let magnitude = nanos.unsigned_abs();
    let (mantissa, suffix) = DECIMAL_SI_BY_NANO_POWER
        .iter()
        .find_map(|&(power, suffix)| {
            let unit = 10u128.pow(power);
            magnitude
                .is_multiple_of(unit)
                .then_some((magnitude / unit, suffix))
        })
        // The last entry has unit 1, which divides everything.
        .unwrap_or((magnitude, "n"));
    let mut out = String::with_capacity(24);
    if nanos < 0 {
        out.push('-');
    }
    // Writing to a String cannot fail.
    let _ = write!(out, "{mantissa}{suffix}");
    out
}

/// Parses a Kubernetes quantity string into an `f64` (see the
/// [module docs](self) for the accepted grammar and the rounding and capping
/// applied).
///
/// # Errors
///
/// [`QuantityError::FormatWrong`], [`QuantityError::Numeric`] and
/// [`QuantityError::Suffix`] where upstream's `ParseQuantity` returns the
/// error of the same name, and [`QuantityError::OutOfRange`] when the value
/// does not fit in a finite `f64`. Never panics.
pub fn parse(s: &str) -> Result<f64, QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    if s == "0" {
        return Ok(0.0);
    }
    let scanned = scan(s.as_bytes())?;
    let suffix = interpret_suffix(scanned.suffix).ok_or(QuantityError::Suffix)?;
    if !scanned.has_digits && takes_slow_path(&scanned, suffix) {
        // Upstream hands the digitless number to inf.Dec.SetString, which
        // fails with "no digits read".
        return Err(QuantityError::Numeric);
    }
    exact_value(&scanned, suffix)
}

/// The pieces `parseQuantityString` splits a quantity into.
#[derive(Debug)]
struct Scanned<'a> {
    /// A leading `-` was present.
    negative: bool,
    /// Integer digits after the leading zeros were stripped (may be empty).
    num: &'a [u8],
    /// Fraction digits after the decimal point (may be empty).
    denom: &'a [u8],
    /// Everything after the number (may be empty).
    suffix: &'a [u8],
    /// Whether the number part holds at least one digit, as upstream's
    /// `value` string (what its slow path parses) does.
    has_digits: bool,
}

/// A digit of `bytes` at `index`, if there is one.
fn digit_at(bytes: &[u8], index: usize) -> bool {
    bytes.get(index).is_some_and(u8::is_ascii_digit)
}

/// A sub-slice that is empty instead of panicking when out of range.
fn sub(bytes: &[u8], start: usize, end: usize) -> &[u8] {
    bytes.get(start..end).unwrap_or_default()
}

/// Port of upstream `parseQuantityString`, the scanner behind
/// `ParseQuantity`.
fn scan(bytes: &[u8]) -> Result<Scanned<'_>, QuantityError> {
    let end = bytes.len();
    let mut pos = 0;
    let mut negative = false;
    match bytes.first() {
        Some(b'-') => {
            negative = true;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }

    // Strip leading zeros. Upstream returns the value "0" when the string
    // ends here, so a bare sign counts as zero.
    let zeros_start = pos;
    while bytes.get(pos) == Some(&b'0') {
        pos += 1;
    }
    if pos >= end {
        return Ok(Scanned {
            negative,
            num: &[],
            denom: &[],
            suffix: &[],
            has_digits: true,
        });
    }
    let saw_zero = pos > zeros_start;

    // The integer digits.
    let num_start = pos;
    while digit_at(bytes, pos) {
        pos += 1;
    }
    let num = sub(bytes, num_start, pos);
    if pos >= end {
        return Ok(Scanned {
            negative,
            num,
            denom: &[],
            suffix: &[],
            has_digits: true,
        });
    }

    // The fraction digits. Upstream accepts a trailing point ("1.", "1.G").
    let mut denom: &[u8] = &[];
    if bytes.get(pos) == Some(&b'.') {
        pos += 1;
        let denom_start = pos;
        while digit_at(bytes, pos) {
            pos += 1;
        }
        denom = sub(bytes, denom_start, pos);
    }
    let has_digits = saw_zero || !num.is_empty() || !denom.is_empty();
    if pos >= end {
        return Ok(Scanned {
            negative,
            num,
            denom,
            suffix: &[],
            has_digits,
        });
    }

    // The suffix: letters, then an optional sign, then digits, to the end.
    let suffix_start = pos;
    while bytes.get(pos).is_some_and(|b| SUFFIX_LETTERS.contains(b)) {
        pos += 1;
    }
    if matches!(bytes.get(pos), Some(b'-' | b'+')) {
        pos += 1;
    }
    while digit_at(bytes, pos) {
        pos += 1;
    }
    if pos >= end {
        Ok(Scanned {
            negative,
            num,
            denom,
            suffix: sub(bytes, suffix_start, end),
            has_digits,
        })
    } else {
        Err(QuantityError::FormatWrong)
    }
}

/// What a suffix multiplies the number by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Suffix {
    /// × 10^exponent (`DecimalSI` suffixes and decimal exponents).
    Decimal(i32),
    /// × 2^exponent (`BinarySI` suffixes; always 10, 20, … 60).
    Binary(u32),
}

/// Port of upstream `suffixHandler.interpret` (`suffix.go`).
fn interpret_suffix(suffix: &[u8]) -> Option<Suffix> {
    Some(match suffix {
        b"" => Suffix::Decimal(0),
        b"n" => Suffix::Decimal(-9),
        b"u" => Suffix::Decimal(-6),
        b"m" => Suffix::Decimal(-3),
        b"k" => Suffix::Decimal(3),
        b"M" => Suffix::Decimal(6),
        b"G" => Suffix::Decimal(9),
        b"T" => Suffix::Decimal(12),
        b"P" => Suffix::Decimal(15),
        b"E" => Suffix::Decimal(18),
        b"Ki" => Suffix::Binary(10),
        b"Mi" => Suffix::Binary(20),
        b"Gi" => Suffix::Binary(30),
        b"Ti" => Suffix::Binary(40),
        b"Pi" => Suffix::Binary(50),
        b"Ei" => Suffix::Binary(60),
        // strconv.ParseInt(s[1:], 10, 32): optional sign, digits, int32 range.
        [b'e' | b'E', exponent @ ..] if !exponent.is_empty() => {
            Suffix::Decimal(std::str::from_utf8(exponent).ok()?.parse::<i32>().ok()?)
        }
        _ => return None,
    })
}

/// Whether upstream's `ParseQuantity` would leave its int64 fast path and
/// parse the number with `inf.Dec.SetString` (which rejects a number with no
/// digits).
fn takes_slow_path(scanned: &Scanned<'_>, suffix: Suffix) -> bool {
    // Upstream replaces an empty numerator by "0" before counting digits.
    let num_len = i64::try_from(scanned.num.len().max(1)).unwrap_or(i64::MAX);
    let denom_len = i64::try_from(scanned.denom.len()).unwrap_or(i64::MAX);
    match suffix {
        Suffix::Decimal(exponent) => {
            // maxInt64Factors = 18 digits fit the fast path, and the scale
            // must not be finer than nano.
            let precision = 18 - num_len.saturating_add(denom_len);
            precision < 0 || i64::from(exponent).saturating_sub(denom_len) < -9
        }
        Suffix::Binary(exponent) => {
            if denom_len != 0 {
                return true;
            }
            // 15 - len(num) - int32(float32(exponent)*3/10) - 1
            let precision = (15 - i64::from(exponent) * 3 / 10 - 1).saturating_sub(num_len);
            precision < 0
        }
    }
}

/// Computes the value upstream stores for the scanned quantity (nano
/// round-up, `BinarySI` cap) and converts it to the nearest `f64`.
fn exact_value(scanned: &Scanned<'_>, suffix: Suffix) -> Result<f64, QuantityError> {
    // value = digits × 10^exponent10, digits most significant first.
    let mut digits: Vec<u8> = scanned
        .num
        .iter()
        .chain(scanned.denom)
        .map(|d| d - b'0')
        .collect();
    let mut exponent10 = -i64::try_from(scanned.denom.len()).unwrap_or(i64::MAX);
    match suffix {
        Suffix::Decimal(exponent) => exponent10 += i64::from(exponent),
        Suffix::Binary(exponent) => multiply_by_power_of_two(&mut digits, exponent),
    }

    let Some(first_non_zero) = digits.iter().position(|&d| d != 0) else {
        return Ok(0.0);
    };
    digits.drain(..first_non_zero);

    // Round a value finer than nano up, away from zero, to whole nanos
    // (upstream: amount.Round(amount, Nano.infScale(), inf.RoundUp)).
    if exponent10 < -9 {
        let len = i64::try_from(digits.len()).unwrap_or(i64::MAX);
        let keep = len.saturating_add(exponent10).saturating_add(9);
        match usize::try_from(keep) {
            Ok(keep) if keep > 0 => {
                let dropped_non_zero = digits
                    .get(keep..)
                    .is_some_and(|rest| rest.iter().any(|&d| d != 0));
                digits.truncate(keep);
                if dropped_non_zero {
                    increment(&mut digits);
                }
            }
            // Every digit is below a nano: the value becomes 1n.
            _ => digits = vec![1],
        }
        exponent10 = -9;
    }

    if matches!(suffix, Suffix::Binary(_)) && exceeds_i64_max(&digits, exponent10) {
        let cap = i64::MAX as f64;
        return Ok(if scanned.negative { -cap } else { cap });
    }

    let mut text = String::with_capacity(digits.len() + 24);
    if scanned.negative {
        text.push('-');
    }
    text.extend(digits.iter().map(|&d| char::from(b'0' + d)));
    // Writing to a String cannot fail.
    let _ = write!(text, "e{exponent10}");
    // Rust's float parser rounds correctly for any number of digits and
    // saturates huge exponents to ±inf or 0.
    let value: f64 = text.parse().map_err(|_| QuantityError::OutOfRange)?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(QuantityError::OutOfRange)
    }
}

/// Multiplies a big-endian vector of decimal digits by 2^exponent.
fn multiply_by_power_of_two(digits: &mut Vec<u8>, exponent: u32) {
    let mut remaining = exponent;
    while remaining > 0 {
        let step = remaining.min(10);
        multiply_small(digits, 1 << step);
        remaining -= step;
    }
}

/// Multiplies a big-endian vector of decimal digits by a small factor.
fn multiply_small(digits: &mut Vec<u8>, factor: u32) {
    let mut carry: u32 = 0;
    for digit in digits.iter_mut().rev() {
        let product = u32::from(*digit) * factor + carry;
        *digit = (product % 10) as u8;
        carry = product / 10;
    }
    let mut prefix = Vec::new();
    while carry > 0 {
        prefix.push((carry % 10) as u8);
        carry /= 10;
    }
    prefix.reverse();
    digits.splice(0..0, prefix);
}

/// Adds one to a big-endian vector of decimal digits.
fn increment(digits: &mut Vec<u8>) {
    for digit in digits.iter_mut().rev() {
        if *digit == 9 {
            *digit = 0;
        } else {
            *digit += 1;
            return;
        }
    }
    digits.insert(0, 1);
}

/// Whether digits × 10^exponent10 (no leading zeros, at least one digit)
/// is greater than 2⁶³−1.
fn exceeds_i64_max(digits: &[u8], exponent10: i64) -> bool {
    let len = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let integer_len = len.saturating_add(exponent10);
    let max_len = I64_MAX_DIGITS.len() as i64;
    if integer_len != max_len {
        return integer_len > max_len;
    }
    // Same number of integer digits: compare them, padding with the zeros
    // that a positive exponent implies.
    for (index, &max_digit) in I64_MAX_DIGITS.iter().enumerate() {
        let digit = digits.get(index).copied().unwrap_or(0);
        let max_digit = max_digit - b'0';
        if digit != max_digit {
            return digit > max_digit;
        }
    }
    // Equal integer part: greater only if a fraction digit is non-zero.
    digits
        .get(I64_MAX_DIGITS.len()..)
        .is_some_and(|fraction| fraction.iter().any(|&d| d != 0))
}

#[cfg(test)]
mod tests;
