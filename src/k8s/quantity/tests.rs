//! Quantity tests: upstream's `quantity_test.go` cases, the grammar's corners and round trips.

use super::*;

/// The `f64` nearest to a decimal literal, as a reference value.
fn dec(text: &str) -> f64 {
    text.parse().expect("test literal")
}

/// A small deterministic xorshift generator for property-style tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------- format

#[test]
fn format_examples_from_the_brief() {
    let cases: &[(f64, &str)] = &[
        (7.0, "7"),
        (1.5, "1500m"),
        (0.001, "1m"),
        (1000.0, "1k"),
        (1500.0, "1500"),
        (15000.0, "15k"),
        (0.0, "0"),
        (-2.5, "-2500m"),
        (1e-9, "1n"),
        (1.234567, "1234567u"),
        (1e-10, "0"),
    ];
    for &(value, want) in cases {
        assert_eq!(format(value).as_deref(), Some(want), "format({value:?})");
    }
}

#[test]
fn format_rejects_non_finite() {
    assert_eq!(format(f64::NAN), None);
    assert_eq!(format(-f64::NAN), None);
    assert_eq!(format(f64::INFINITY), None);
    assert_eq!(format(f64::NEG_INFINITY), None);
}

#[test]
fn format_zero_and_negative_zero() {
    assert_eq!(format(0.0).as_deref(), Some("0"));
    assert_eq!(format(-0.0).as_deref(), Some("0"));
    // Negative values that round to zero do not print "-0".
    assert_eq!(format(-1e-10).as_deref(), Some("0"));
    assert_eq!(format(-4.999e-10).as_deref(), Some("0"));
    assert_eq!(format(f64::MIN_POSITIVE).as_deref(), Some("0"));
    assert_eq!(format(-5e-324).as_deref(), Some("0"));
}

#[test]
fn format_rounds_half_away_from_zero_at_nano() {
    let cases: &[(f64, &str)] = &[
        (5e-10, "1n"),
        (-5e-10, "-1n"),
        (4.9e-10, "0"),
        (1.5e-9, "2n"),
        (2.5e-9, "3n"),
        (-2.5e-9, "-3n"),
        (1.0000000005, "1000000001n"),
        (1.0000000004999, "1"),
        (0.1234567894, "123456789n"),
        (0.1234567895, "123456790n"),
        (0.9999999996, "1"),
    ];
    for &(value, want) in cases {
        assert_eq!(format(value).as_deref(), Some(want), "format({value:?})");
    }
}

#[test]
fn format_uses_shortest_decimal_not_binary_noise() {
    let cases: &[(f64, &str)] = &[
        (0.1, "100m"),
        (0.3, "300m"),
        (0.1 + 0.2, "300m"), // 0.30000000000000004 rounds to 300m
        (123456789.123, "123456789123m"),
        (1e15, "1P"),
        (1e15 + 0.5, "1000000000000000500m"),
        (123456789012345680.0, "123456789012345680"),
        (4503599627370497.0, "4503599627370497"),
    ];
    for &(value, want) in cases {
        assert_eq!(format(value).as_deref(), Some(want), "format({value:?})");
    }
}

#[test]
fn format_picks_largest_suffix() {
    let cases: &[(f64, &str)] = &[
        (1e3, "1k"),
        (1e6, "1M"),
        (1e9, "1G"),
        (1e12, "1T"),
        (1e15, "1P"),
        (1e18, "1E"),
        (2e18, "2E"),
        (1.5e18, "1500P"),
        (1e-3, "1m"),
        (1e-6, "1u"),
        (1e-9, "1n"),
        (1e-7, "100n"),
        (1e-4, "100u"),
        (1e-1, "100m"),
        (1e1, "10"),
        (1e2, "100"),
        (1e4, "10k"),
        (1e5, "100k"),
        (0.0015, "1500u"),
        (1001.0, "1001"),
        (1_000_001.0, "1000001"),
        (1_000_000.001, "1000000001m"),
        (-1e6, "-1M"),
    ];
    for &(value, want) in cases {
        assert_eq!(format(value).as_deref(), Some(want), "format({value:?})");
    }
}

#[test]
fn format_clamps_large_magnitudes() {
    assert_eq!(MAX_FORMAT_MAGNITUDE, 9.2e18);
    let cases: &[(f64, &str)] = &[
        (9.2e18, "9200P"),
        (-9.2e18, "-9200P"),
        (9.1e18, "9100P"),
        (9.2e18 + 4096.0, "9200P"),
        (1e19, "9200P"),
        (-1e19, "-9200P"),
        (1e300, "9200P"),
        (f64::MAX, "9200P"),
        (f64::MIN, "-9200P"),
    ];
    for &(value, want) in cases {
        assert_eq!(format(value).as_deref(), Some(want), "format({value:?})");
    }
}

/// The `DecimalSI` rows of upstream `TestQuantityString`
/// (`quantity_test.go`), plus the `BinarySI` rows below 1024, which
/// upstream prints as `DecimalSI`. Each `decQuantity(m, e, …)` is the value
/// m × 10^e. Rows that need more than 9.2e18 (`1e21`, `5e21`, `1e24`) are
/// beyond our clamp and `BinarySI`/`DecimalExponent` rows do not apply.
/// Like upstream, the negated value must print with a leading `-`.
#[test]
fn upstream_test_quantity_string_decimal_si() {
    let cases: &[(i64, i32, &str)] = &[
        (5, 0, "5"),               // BinarySI < 1024 prints as DecimalSI
        (500, -3, "500m"),         // BinarySI < 1024 prints as DecimalSI
        (1234567, -3, "1234567m"), // BinarySI < 1024 prints as DecimalSI
        (1, 9, "1G"),
        (1000, 6, "1G"),
        (1000000, 3, "1G"),
        (1000000000, 0, "1G"),
        (1, -3, "1m"),
        (80, -3, "80m"),
        (1080, -3, "1080m"),
        (108, -2, "1080m"),
        (10800, -4, "1080m"),
        (300, 6, "300M"),
        (1, 12, "1T"),
        (1, 18, "1E"),
        (1234567, 6, "1234567M"),
        (3, 3, "3k"),
        (0, 0, "0"),
        (1, -9, "1n"),
        (80, -9, "80n"),
        (1080, -9, "1080n"),
        (108, -8, "1080n"),
        (10800, -10, "1080n"),
        (1, -6, "1u"),
        (80, -6, "80u"),
        (1080, -6, "1080u"),
    ];
    for &(mantissa, exponent, want) in cases {
        let value = dec(&format!("{mantissa}e{exponent}"));
        assert_eq!(
            format(value).as_deref(),
            Some(want),
            "{mantissa}e{exponent}"
        );
        // The canonical string parses back to the same value.
        assert_eq!(parse(want), Ok(value), "parse({want:?})");
        if mantissa != 0 {
            let negative = format!("-{want}");
            assert_eq!(format(-value), Some(negative), "-{mantissa}e{exponent}");
        }
    }
}

/// Upstream `TestNewScaledSet`: `NewScaledQuantity(value, scale)`.
#[test]
fn upstream_test_new_scaled_set() {
    let cases: &[(i64, i32, &str)] = &[
        (1, -9, "1n"),
        (1000, -9, "1u"),
        (1, -6, "1u"),
        (1000, -6, "1m"),
        (1, -3, "1m"),
        (1000, -3, "1"),
        (1, 0, "1"),
        (0, -9, "0"),
        (0, -6, "0"),
        (0, -3, "0"),
        (0, 0, "0"),
    ];
    for &(value, scale, want) in cases {
        let quantity = dec(&format!("{value}e{scale}"));
        assert_eq!(format(quantity).as_deref(), Some(want), "{value}e{scale}");
    }
}

/// The `DecimalSI` rows of upstream `TestMilliNewSet` and `TestNewSet`.
#[test]
fn upstream_test_milli_new_set_and_new_set() {
    // NewMilliQuantity(value, DecimalSI)
    for &(milli, want) in &[(1_i64, "1m"), (1000, "1"), (1_234_000, "1234")] {
        let value = dec(&format!("{milli}e-3"));
        assert_eq!(format(value).as_deref(), Some(want), "{milli}m");
    }
    // NewQuantity(value, DecimalSI)
    for &(value, want) in &[(1_i64, "1"), (1000, "1k"), (1_234_000, "1234k")] {
        assert_eq!(format(value as f64).as_deref(), Some(want), "{value}");
    }
}

/// Upstream `TestQuantityNeg`: 9.01 negated prints as -9010m.
#[test]
fn upstream_test_quantity_neg() {
    assert_eq!(format(-9.01).as_deref(), Some("-9010m"));
}

/// Upstream `TestQuantityParseEmit`, rows whose canonical output is
/// `DecimalSI` (the `BinarySI` rows print as `Ki`/`Mi`/`Gi` upstream; we
/// always print `DecimalSI`, e.g. `1Ki` → `1024`).
#[test]
fn upstream_test_quantity_parse_emit() {
    let cases: &[(&str, &str)] = &[
        ("1000M", "1G"),
        (".001Ki", "1024m"),
        (".000001Ki", "1024u"),
        (".000000001Ki", "1024n"),
        (".000000000001Ki", "2n"),
    ];
    for &(input, want) in cases {
        let value = parse(input).expect(input);
        assert_eq!(format(value).as_deref(), Some(want), "{input}");
        let negative = parse(&format!("-{input}")).expect(input);
        assert_eq!(format(negative), Some(format!("-{want}")), "-{input}");
    }
    assert_eq!(parse("1Ki").ok().and_then(format).as_deref(), Some("1024"));
    assert_eq!(
        parse("1Gi").ok().and_then(format).as_deref(),
        Some("1073741824")
    );
}

/// Upstream `TestParseQuantity`: the canonical form of values that an
/// `f64` holds exactly.
#[test]
fn upstream_test_parse_quantity_canonical() {
    let cases: &[(&str, &str)] = &[
        ("1E", "1E"),
        ("-1E", "-1E"),
        ("1.0E", "1E"),
        ("-1.0E", "-1E"),
        ("1000000000000000000", "1E"),
        ("-1000000000000000000.0", "-1E"),
    ];
    for &(input, want) in cases {
        let value = parse(input).expect(input);
        assert_eq!(format(value).as_deref(), Some(want), "{input}");
    }
}

#[test]
fn format_then_parse_round_trips_nice_values() {
    let mut values = vec![0.0, 1.0, 0.5, 0.25, 42.0, 99.9, 1e-9, 7e-9, 0.123456789];
    for exponent in -9..=18 {
        for mantissa in [1.0, 2.0, 3.5, 7.25, 12.0, 999.0, 1234.5678] {
            values.push(dec(&format!("{mantissa}e{exponent}")));
        }
    }
    for value in values {
        for value in [value, -value] {
            let text = format(value).expect("finite");
            let back = parse(&text).expect(&text);
            let expected = dec(&text_to_decimal(&text));
            assert_eq!(back, expected, "{value:?} -> {text}");
            // Idempotent: formatting the parsed value gives the same text.
            assert_eq!(format(back).as_deref(), Some(text.as_str()), "{value:?}");
            if value.abs() <= MAX_FORMAT_MAGNITUDE {
                assert!(
                    (back - value).abs() <= 5e-10 + value.abs() * 1e-15,
                    "{value:?} -> {text}"
                );
            }
        }
    }
}

/// Rewrites a canonical DecimalSI string as a plain decimal literal.
fn text_to_decimal(text: &str) -> String {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let exponent = match suffix {
        "n" => -9,
        "u" => -6,
        "m" => -3,
        "" => 0,
        "k" => 3,
        "M" => 6,
        "G" => 9,
        "T" => 12,
        "P" => 15,
        "E" => 18,
        other => panic!("unexpected suffix {other}"),
    };
    format!("{number}e{exponent}")
}

#[test]
fn format_then_parse_is_close_for_random_values() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let value = match rng.below(3) {
            0 => f64::from_bits(rng.next()),
            1 => {
                (rng.next() as f64 / u64::MAX as f64 - 0.5) * 10f64.powi(rng.below(40) as i32 - 20)
            }
            _ => (rng.below(2_000_001) as f64 - 1e6) * 10f64.powi(rng.below(28) as i32 - 12),
        };
        let Some(text) = format(value) else {
            assert!(!value.is_finite());
            continue;
        };
        let back = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let clamped = value.clamp(-MAX_FORMAT_MAGNITUDE, MAX_FORMAT_MAGNITUDE);
        let tolerance = 5e-10 + clamped.abs() * f64::EPSILON;
        assert!(
            (back - clamped).abs() <= tolerance,
            "{value:?} -> {text} -> {back:?}"
        );
        assert_eq!(format(back), Some(text.clone()), "{value:?}");
        assert!(!text.starts_with("-0"), "{text}");
        assert!(text.len() <= 21, "{text}");
    }
}

// ----------------------------------------------------------------- parse

/// Upstream `TestQuantityParse`: every valid row, and each row again with
/// a leading `-` and with a leading `+`. Expected values are the decimal
/// values of the upstream `decQuantity` rows.
#[test]
fn upstream_test_quantity_parse() {
    let cap = i64::MAX as f64;
    let cases: &[(&str, f64)] = &[
        ("0", 0.0),
        ("0n", 0.0),
        ("0u", 0.0),
        ("0m", 0.0),
        ("0Ki", 0.0),
        ("0k", 0.0),
        ("0Mi", 0.0),
        ("0M", 0.0),
        ("0Gi", 0.0),
        ("0G", 0.0),
        ("0Ti", 0.0),
        ("0T", 0.0),
        // Quantity less numbers are allowed
        ("1", 1.0),
        // Binary suffixes
        ("1Ki", 1024.0),
        ("8Ki", 8.0 * 1024.0),
        ("7Mi", 7.0 * 1024.0 * 1024.0),
        ("6Gi", 6.0 * 1024.0 * 1024.0 * 1024.0),
        ("5Ti", 5.0 * 1024f64.powi(4)),
        ("4Pi", 4.0 * 1024f64.powi(5)),
        ("3Ei", 3.0 * 1024f64.powi(6)),
        ("10Ti", 10.0 * 1024f64.powi(4)),
        ("100Ti", 100.0 * 1024f64.powi(4)),
        // Decimal suffixes
        ("5n", 5e-9),
        ("4u", 4e-6),
        ("3m", 3e-3),
        ("9", 9.0),
        ("8k", 8e3),
        ("50k", 5e4),
        ("7M", 7e6),
        ("6G", 6e9),
        ("5T", 5e12),
        ("40T", 4e13),
        ("300T", 3e14),
        ("2P", 2e15),
        ("1E", 1e18),
        // Decimal exponents
        ("1E-3", 1e-3),
        ("1e3", 1e3),
        ("1E6", 1e6),
        ("1e9", 1e9),
        ("1E12", 1e12),
        ("1e15", 1e15),
        ("1E18", 1e18),
        // Nonstandard but still parsable
        ("1e14", 1e14),
        ("1e13", 1e13),
        ("1e3", 1e3),
        ("100.035k", 100035.0),
        // Things that look like floating point
        ("0.001", 1e-3),
        ("0.0005k", 5e-1),
        ("0.005", 5e-3),
        ("0.05", 5e-2),
        ("0.5", 5e-1),
        ("0.00050k", 5e-1),
        ("0.00500", 5e-3),
        ("0.05000", 5e-2),
        ("0.50000", 5e-1),
        ("0.5e0", 5e-1),
        ("0.5e-1", 5e-2),
        ("0.5e-2", 5e-3),
        ("0.5e0", 5e-1),
        ("10.035M", 10035e3),
        ("1.2e3", 12e2),
        ("1.3E+6", 13e5),
        ("1.40e9", 14e8),
        ("1.53E12", 153e10),
        ("1.6e15", 16e14),
        ("1.7E18", 17e17),
        ("9.01", 901e-2),
        ("8.1k", 81e2),
        ("7.123456M", 7123456.0),
        ("6.987654321G", 6987654321.0),
        ("5.444T", 5444e9),
        ("40.1T", 401e11),
        ("300.2T", 3002e11),
        ("2.5P", 25e14),
        ("1.01E", 101e16),
        // Things that saturate/round
        ("3.001n", 4e-9),
        ("1.1E-9", 2e-9),
        ("0.0000000001", 1e-9),
        ("0.0000000005", 1e-9),
        ("0.00000000050", 1e-9),
        ("0.5e-9", 1e-9),
        ("0.9n", 1e-9),
        ("0.00000012345", 124e-9),
        ("0.00000012354", 124e-9),
        ("9Ei", cap),
        ("9223372036854775807Ki", cap),
        ("12E", 12e18),
        // We'll accept fractional binary stuff, too.
        ("100.035Ki", 10243584e-2),
        ("0.5Mi", 0.5 * 1024.0 * 1024.0),
        ("0.05Gi", 536870912e-1),
        ("0.025Ti", 274877906944e-1),
        // Things written by trolls
        ("0.000000000001Ki", 2e-9), // rounds up, changes format
        (".001", 1e-3),
        (".0001k", 100e-3),
        ("1.", 1.0),
        ("1.G", 1e9),
    ];
    for &(input, want) in cases {
        assert_eq!(parse(input), Ok(want), "{input}");
        assert_eq!(parse(&format!("-{input}")), Ok(-want), "-{input}");
        assert_eq!(parse(&format!("+{input}")), Ok(want), "+{input}");
    }
}

/// The invalid rows of upstream `TestQuantityParse`, with the error
/// upstream returns for each.
#[test]
fn upstream_test_quantity_parse_invalid() {
    use QuantityError::{FormatWrong, Suffix};
    let cases: &[(&str, QuantityError)] = &[
        ("", FormatWrong),
        ("1.1.M", FormatWrong),
        ("1+1.0M", FormatWrong),
        ("0.1mi", Suffix),
        ("0.1am", FormatWrong),
        ("aoeu", FormatWrong),
        (".5i", Suffix),
        ("1i", Suffix),
        ("-3.01i", Suffix),
        ("-3.01e-", Suffix),
        // trailing whitespace is forbidden
        (" 1", FormatWrong),
        ("1 ", FormatWrong),
    ];
    for &(input, want) in cases {
        assert_eq!(parse(input), Err(want), "{input:?}");
    }
}

/// Upstream `TestDecimalExponentEdgeCases` (`suffix_test.go`): the
/// exponent of `e`/`E` must fit in an int32.
#[test]
fn upstream_test_decimal_exponent_edge_cases() {
    assert_eq!(parse("1E6024865272343"), Err(QuantityError::Suffix));
    assert_eq!(parse("1e14"), Ok(1e14));
    // Valid suffix, but 10^2147483647 is no f64.
    assert_eq!(parse("1E2147483647"), Err(QuantityError::OutOfRange));
    assert_eq!(parse("1E2147483648"), Err(QuantityError::Suffix));
    // Valid, and rounded up to the smallest quantity.
    assert_eq!(parse("1E-2147483648"), Ok(1e-9));
    assert_eq!(parse("1E-2147483649"), Err(QuantityError::Suffix));
}

/// Upstream `TestParseQuantity`: large decimal values are not capped (only
/// `BinarySI` is). Each parses to the `f64` nearest to the exact decimal.
#[test]
fn upstream_test_parse_quantity_large_values() {
    let cases: &[(&str, &str)] = &[
        ("-999999999999999999", "-999999999999999999"),
        ("999999999999999999.1", "999999999999999999.1"),
        ("9999999999999999999", "9999999999999999999"),
        ("-1E", "-1000000000000000000"),
        ("1.0000000000000000001E", "1000000000000000000.1"),
        ("-10E", "-10000000000000000000"),
        ("10000000000000000000000m", "10000000000000000000"),
        ("-9223372036854775809", "-9223372036854775809"),
        ("9223372036854775807.1", "9223372036854775807.1"),
        ("9223372036854775808000m", "9223372036854775808"),
        ("10.000000000000000001E", "10000000000000000001"),
    ];
    for &(input, exact) in cases {
        assert_eq!(parse(input), Ok(dec(exact)), "{input}");
    }
    assert_eq!(parse("1e300"), Ok(1e300));
    assert_eq!(parse("-1.7976931348623157e308"), Ok(f64::MIN));
    assert_eq!(parse("1e309"), Err(QuantityError::OutOfRange));
    assert_eq!(parse("-1e400"), Err(QuantityError::OutOfRange));
    assert_eq!(parse("1000000E"), Ok(1e24));
}

#[test]
fn parse_caps_binary_si_at_i64_max() {
    let cap = i64::MAX as f64;
    assert_eq!(parse("7Ei"), Ok(7.0 * 2f64.powi(60)));
    assert_eq!(parse("8Ei"), Ok(cap)); // 2^63 > 2^63 - 1
    assert_eq!(parse("-8Ei"), Ok(-cap));
    assert_eq!(parse("8191Pi"), Ok(8191.0 * 2f64.powi(50)));
    assert_eq!(parse("8192Pi"), Ok(cap));
    assert_eq!(parse("9007199254740991Ki"), Ok(9223372036854774784.0)); // 2^63 - 1024
    assert_eq!(parse("9007199254740992Ki"), Ok(cap)); // 2^63
    assert_eq!(parse("1.5Ei"), Ok(1.5 * 2f64.powi(60)));
    assert_eq!(parse("100000000000000000000000Ki"), Ok(cap));
    // Decimal quantities of the same size are not capped.
    assert_eq!(parse("10E"), Ok(1e19));
}

#[test]
fn parse_rounds_sub_nano_values_up() {
    assert_eq!(parse("1e-100"), Ok(1e-9));
    assert_eq!(parse("-1e-100"), Ok(-1e-9));
    assert_eq!(parse("0.0000000010000000001"), Ok(2e-9));
    assert_eq!(parse("0.000000001"), Ok(1e-9));
    assert_eq!(parse("0.0000000019999"), Ok(2e-9));
    assert_eq!(parse("0.0000000099999"), Ok(1e-8));
    assert_eq!(parse("1.0000000000000001"), Ok(dec("1.000000001")));
    assert_eq!(parse("999999999.9999999999"), Ok(1e9));
    assert_eq!(parse("0e-100"), Ok(0.0));
    assert_eq!(parse("000.000e-100"), Ok(0.0));
    // Rounding happens after the binary multiplication.
    assert_eq!(parse("0.0000000000001Ki"), Ok(1e-9));
}

#[test]
fn parse_negative_zero_is_positive_zero() {
    for input in ["-0", "-0.0", "-0m", "-0Ki", "-0e5", "-", "-."] {
        let value = parse(input).expect(input);
        assert_eq!(value, 0.0, "{input}");
        assert!(value.is_sign_positive(), "{input}");
    }
}

/// Inputs upstream's scanner accepts without any digit: they parse as
/// zero on its integer fast path, and fail with `ErrNumeric` on its
/// decimal slow path.
#[test]
fn parse_digitless_quirks_follow_upstream() {
    for input in [
        "-", "+", ".", "-.", "+.", "k", "m", "n", "E", "Ki", "Mi", "Gi", "Ti", "e3", "e-9", "-e5",
        ".G",
    ] {
        assert_eq!(parse(input), Ok(0.0), "{input}");
    }
    for input in ["Pi", "Ei", "-Ei", ".Pi", "e-10", ".e-10", "+E-99"] {
        assert_eq!(parse(input), Err(QuantityError::Numeric), "{input}");
    }
    for input in ["e", "E+", "i", "-i", "K", "Ki3"] {
        assert_eq!(parse(input), Err(QuantityError::Suffix), "{input}");
    }
}

#[test]
fn parse_grammar_errors() {
    use QuantityError::{FormatWrong, Suffix};
    let cases: &[(&str, QuantityError)] = &[
        ("--1", Suffix),
        ("+-1", Suffix),
        ("1..", FormatWrong),
        ("1.2.3", FormatWrong),
        ("1,5", FormatWrong),
        ("1_000", FormatWrong),
        ("0x10", FormatWrong),
        ("1\t", FormatWrong),
        ("1\n", FormatWrong),
        ("\u{a0}1", FormatWrong),
        ("1é", FormatWrong),
        ("1µ", FormatWrong),
        ("١", FormatWrong),
        ("1KI", FormatWrong),
        ("1k ", FormatWrong),
        ("1e3.5", FormatWrong),
        ("1e3e3", FormatWrong),
        ("1e+-3", FormatWrong),
        ("1k3", Suffix),
        ("1Mi3", Suffix),
        ("1kk", Suffix),
        ("1ee3", Suffix),
        ("1e", Suffix),
        ("1e+", Suffix),
        ("1eM5", Suffix),
        ("1mi", Suffix),
        ("1Ki+", Suffix),
        ("1KiB", FormatWrong),
        ("1Gb", FormatWrong),
        ("inf", FormatWrong),
        ("NaN", FormatWrong),
        ("1\0", FormatWrong),
    ];
    for &(input, want) in cases {
        assert_eq!(parse(input), Err(want), "{input:?}");
    }
}

#[test]
fn parse_accepts_signed_exponents_and_leading_zeros() {
    assert_eq!(parse("1e+3"), Ok(1e3));
    assert_eq!(parse("1E+003"), Ok(1e3));
    assert_eq!(parse("1e-0"), Ok(1.0));
    assert_eq!(parse("007"), Ok(7.0));
    assert_eq!(parse("-007.500m"), Ok(-7.5e-3));
    assert_eq!(parse("+.5"), Ok(0.5));
    assert_eq!(parse(".5e1"), Ok(5.0));
    assert_eq!(parse("2.E2"), Ok(200.0));
}

#[test]
fn parse_is_correctly_rounded() {
    // The nearest f64, not an accumulation of float operations.
    assert_eq!(parse("0.1"), Ok(0.1));
    assert_eq!(parse("100m"), Ok(0.1));
    assert_eq!(parse("300m"), Ok(0.3));
    assert_eq!(parse("123456789123m"), Ok(123456789.123));
    assert_eq!(parse("9007199254740993"), Ok(9007199254740992.0));
    let long = format!("0.{}", "3".repeat(400));
    assert_eq!(parse(&long), Ok(dec("0.333333334")));
    let long_integer = format!("1{}", "0".repeat(300));
    assert_eq!(parse(&long_integer), Ok(1e300));
}

#[test]
fn error_messages_match_upstream() {
    assert_eq!(
        QuantityError::FormatWrong.to_string(),
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    );
    assert_eq!(
        QuantityError::Numeric.to_string(),
        "unable to parse numeric part of quantity"
    );
    assert_eq!(
        QuantityError::Suffix.to_string(),
        "unable to parse quantity's suffix"
    );
    assert_eq!(
        QuantityError::OutOfRange.to_string(),
        "quantity is too large to be represented as a 64-bit float"
    );
}

#[test]
fn parse_never_panics_on_arbitrary_input() {
    let alphabet: Vec<char> = "0123456789.+-eEinumkKMGTPi xé\0\u{10ffff}"
        .chars()
        .collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..50_000 {
        let len = rng.below(14) as usize;
        let text: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
            .collect();
        if let Ok(value) = parse(&text) {
            assert!(value.is_finite(), "{text:?}");
            // Whatever parses also formats.
            assert!(format(value).is_some(), "{text:?}");
        }
    }
    // Long inputs.
    let _ = parse(&"9".repeat(100_000));
    let _ = parse(&format!("{}Ei", "9".repeat(10_000)));
    let _ = parse(&format!(".{}Ki", "1".repeat(10_000)));
    assert_eq!(parse(&format!("{}e-100000", "1".repeat(1000))), Ok(1e-9));
}

#[test]
fn helpers() {
    let mut digits = vec![9, 9];
    increment(&mut digits);
    assert_eq!(digits, vec![1, 0, 0]);
    let mut digits = vec![1, 2];
    increment(&mut digits);
    assert_eq!(digits, vec![1, 3]);

    let mut digits = vec![1];
    multiply_by_power_of_two(&mut digits, 60);
    assert_eq!(
        digits,
        b"1152921504606846976"
            .iter()
            .map(|d| d - b'0')
            .collect::<Vec<_>>()
    );

    assert!(!exceeds_i64_max(&[1], 18));
    assert!(exceeds_i64_max(&[1], 19));
    let max: Vec<u8> = I64_MAX_DIGITS.iter().map(|d| d - b'0').collect();
    assert!(!exceeds_i64_max(&max, 0));
    let mut over = max.clone();
    over.push(1);
    assert!(exceeds_i64_max(&over, -1));
    let mut exact = max.clone();
    exact.push(0);
    assert!(!exceeds_i64_max(&exact, -1));
    assert!(exceeds_i64_max(&[9, 3], 17));
    assert!(!exceeds_i64_max(&[9, 2], 17));

    assert_eq!(round_to_nanos(1.5), 1_500_000_000);
    assert_eq!(round_to_nanos(-1.5), -1_500_000_000);
    assert_eq!(round_to_nanos(9.2e18), 92 * 10_i128.pow(26));
    assert_eq!(canonical_decimal_si(-1), "-1n");
    assert_eq!(canonical_decimal_si(10_i128.pow(27)), "1E");
}

#[test]
fn parse_reads_what_format_writes() {
    for (text, value) in [
        ("1500m", 1.5),
        ("12", 12.0),
        ("2k", 2000.0),
        ("1.5", 1.5),
        ("333m", 0.333),
    ] {
        assert_eq!(parse(text), Ok(value), "{text}");
    }
}
