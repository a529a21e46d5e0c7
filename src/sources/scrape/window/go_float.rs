//! Go's `strconv.ParseFloat(s, 64)` (`strconv/atof.go`), ported for the
//! `le` label values PromQL parses with it: decimal and hexadecimal floats,
//! Go's digit-separator rules, `Inf`/`Infinity`/`NaN` in any case, and
//! out-of-range values as errors.

/// Go's `strconv.ParseFloat(s, 64)`, `None` for every error (syntax and
/// range).
pub(super) fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if let Some((v, n)) = go_special(b) {
        return (n == b.len()).then_some(v);
    }
    let r = go_read_float(b)?;
    if r.n != b.len() {
        return None;
    }
    let v = if r.hex {
        hex_to_f64(r.mantissa, r.exp, r.neg, r.trunc)?
    } else {
        // The syntax is Go's (checked above); without the digit separators
        // it is also Rust's, and both round correctly to nearest-even.
        let cleaned: String = s.chars().filter(|&c| c != '_').collect();
        cleaned.parse::<f64>().ok()?
    };
    // Go returns ±Inf with ErrRange on overflow; Prometheus skips it.
    v.is_finite().then_some(v)
}

/// Go's `special`: optional sign then `inf`/`infinity` (any case), or `nan`
/// (any case, no sign). Returns the value and the bytes consumed.
fn go_special(s: &[u8]) -> Option<(f64, usize)> {
    let (sign, nsign, rest) = match s.first()? {
        b'+' => (1.0, 1, &s[1..]),
        b'-' => (-1.0, 1, &s[1..]),
        _ => (1.0, 0, s),
    };
    let c = *rest.first()?;
    if nsign == 1 || c == b'i' || c == b'I' {
        let mut n = common_prefix_len_ignore_case(rest, b"infinity");
        if 3 < n && n < 8 {
            n = 3;
        }
        return (n == 3 || n == 8).then_some((sign * f64::INFINITY, nsign + n));
    }
    if (c == b'n' || c == b'N') && common_prefix_len_ignore_case(rest, b"nan") == 3 {
        return Some((f64::NAN, 3));
    }
    None
}

fn common_prefix_len_ignore_case(s: &[u8], prefix: &[u8]) -> usize {
    s.iter()
        .zip(prefix)
        .take_while(|(a, b)| a.to_ascii_lowercase() == **b)
        .count()
}

/// What Go's `readFloat` found: `mantissa × base^exp` (base 10, or 2 for
/// hex), `n` bytes consumed.
struct GoFloat {
    mantissa: u64,
    exp: i64,
    neg: bool,
    trunc: bool,
    hex: bool,
    n: usize,
}

/// Go's `readFloat` (strconv/atof.go): the longest prefix that is a
/// decimal or hexadecimal float, with Go's underscore rules.
fn go_read_float(s: &[u8]) -> Option<GoFloat> {
    let mut i = 0;
    let mut neg = false;
    let mut underscores = false;
    match s.first()? {
        b'+' => i += 1,
        b'-' => {
            neg = true;
            i += 1;
        }
        _ => {}
    }
    let mut base: u64 = 10;
    let mut max_mant_digits = 19;
    let mut exp_char = b'e';
    let mut hex = false;
    if i + 2 < s.len() && s[i] == b'0' && s[i + 1].eq_ignore_ascii_case(&b'x') {
        base = 16;
        max_mant_digits = 16;
        i += 2;
        exp_char = b'p';
        hex = true;
    }
    let mut mantissa: u64 = 0;
    let mut trunc = false;
    let mut sawdot = false;
    let mut sawdigits = false;
    let mut nd: i64 = 0;
    let mut nd_mant: i64 = 0;
    let mut dp: i64 = 0;
    while i < s.len() {
        let c = s[i];
        let digit = match c {
            b'_' => {
                underscores = true;
                i += 1;
                continue;
            }
            b'.' => {
                if sawdot {
                    break;
                }
                sawdot = true;
                dp = nd;
                i += 1;
                continue;
            }
            b'0'..=b'9' => u64::from(c - b'0'),
            _ if hex && (b'a'..=b'f').contains(&c.to_ascii_lowercase()) => {
                u64::from(c.to_ascii_lowercase() - b'a' + 10)
            }
            _ => break,
        };
        sawdigits = true;
        i += 1;
        if digit == 0 && nd == 0 {
            // Leading zeros.
            dp -= 1;
            continue;
        }
        nd += 1;
        if nd_mant < max_mant_digits {
            mantissa = mantissa * base + digit;
            nd_mant += 1;
        } else if digit != 0 {
            trunc = true;
        }
    }
    if !sawdigits {
        return None;
    }
    if !sawdot {
        dp = nd;
    }
    if hex {
        dp *= 4;
        nd_mant *= 4;
    }
    if i < s.len() && s[i].to_ascii_lowercase() == exp_char {
        i += 1;
        let mut esign = 1;
        match s.get(i)? {
            b'+' => i += 1,
            b'-' => {
                i += 1;
                esign = -1;
            }
            _ => {}
        }
        if !s.get(i)?.is_ascii_digit() {
            return None;
        }
        let mut e: i64 = 0;
        while i < s.len() && (s[i].is_ascii_digit() || s[i] == b'_') {
            if s[i] == b'_' {
                underscores = true;
            } else if e < 10_000 {
                e = e * 10 + i64::from(s[i] - b'0');
            }
            i += 1;
        }
        dp += e * esign;
    } else if hex {
        // A hexadecimal mantissa must have a 'p' exponent.
        return None;
    }
    let exp = if mantissa != 0 { dp - nd_mant } else { 0 };
    if underscores && !go_underscore_ok(&s[..i]) {
        return None;
    }
    Some(GoFloat {
        mantissa,
        exp,
        neg,
        trunc,
        hex,
        n: i,
    })
}

/// Go's `underscoreOK`: underscores only between digits, or between a base
/// prefix and a digit.
fn go_underscore_ok(s: &[u8]) -> bool {
    // Last character class seen: '^' start, '0' digit or base prefix,
    // '_' underscore, '!' anything else.
    let mut saw = b'^';
    let mut s = s;
    if let Some(b'+' | b'-') = s.first() {
        s = &s[1..];
    }
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&c.to_ascii_lowercase())) {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// `mantissa × 2^exp` (plus a sticky bit below the mantissa when `trunc`)
/// rounded to the nearest f64, ties to even, as Go's `atofHex`; `None` on
/// overflow.
fn hex_to_f64(mantissa: u64, exp: i64, neg: bool, trunc: bool) -> Option<f64> {
    let sign_bit = if neg { 1u64 << 63 } else { 0 };
    if mantissa == 0 {
        return Some(f64::from_bits(sign_bit));
    }
    let lz = mantissa.leading_zeros();
    let mut m = mantissa << lz;
    if trunc {
        m |= 1;
    }
    // value = m × 2^(e2 − 63), m in [2^63, 2^64): unbiased exponent e2.
    let e2 = exp.saturating_sub(i64::from(lz)).saturating_add(63);
    if e2 > 1023 {
        return None;
    }
    // Bits of m below the 53-bit (or shorter, subnormal) significand.
    let shift = if e2 >= -1022 {
        11
    } else {
        11i64.saturating_add(-1022 - e2)
    };
    let (mut sig, rem, half) = match shift {
        s if s > 64 => return Some(f64::from_bits(sign_bit)),
        64 => (0u64, m, 1u64 << 63),
        s => {
            let s = s as u32;
            (m >> s, m & ((1u64 << s) - 1), 1u64 << (s - 1))
        }
    };
    if rem > half || (rem == half && sig & 1 == 1) {
        sig += 1;
    }
    let bits = if e2 >= -1022 {
        let mut e2 = e2;
        if sig == 1u64 << 53 {
            sig >>= 1;
            e2 += 1;
            if e2 > 1023 {
                return None;
            }
        }
        (((e2 + 1023) as u64) << 52) | (sig & ((1u64 << 52) - 1))
    } else {
        // Subnormal: the exponent field is 0, or 1 if rounding carried
        // into bit 52 (the smallest normal number), which `sig` then holds.
        sig
    };
    Some(f64::from_bits(bits | sign_bit))
}
