//! Durations and Kubernetes quantities as the scenario file writes them.
//!
//! - Durations: a number of seconds (`60`, `2.5`) or a string of
//!   `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d`
//!   (`500ms`, `60s`, `5m`, `1h30m`, `24h`). `m` is minutes here, never
//!   milli: CPU time per request is a duration (`4ms`), CPU rates are
//!   quantities (`15m` cores).
//! - Quantities: Kubernetes resource quantities (`250m`, `1`, `256Mi`,
//!   `1.5Gi`, `2e3`): decimal suffixes `n u m k M G T P E`, binary suffixes
//!   `Ki Mi Gi Ti Pi Ei`, or a decimal exponent.

/// Why a duration or quantity does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    /// Not a duration.
    #[error("{0:?} is not a duration like 500ms, 60s, 5m, 1h30m or a number of seconds")]
    Duration(String),
    /// Not a Kubernetes quantity.
    #[error("{0:?} is not a Kubernetes quantity like 250m, 2, 256Mi or 1.5Gi")]
    Quantity(String),
}

/// Parses a duration string into seconds (see the module docs).
pub fn parse_duration(s: &str) -> Result<f64, UnitError> {
    let err = || UnitError::Duration(s.to_string());
    let t = s.trim();
    if let Ok(v) = t.parse::<f64>() {
        return if v.is_finite() { Ok(v) } else { Err(err()) };
    }
    let mut rest = t;
    let mut total = 0.0;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let value: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(err()),
        };
        total += value * scale;
        rest = rest[unit_len..].trim_start();
    }
    Ok(total)
}

/// Formats seconds the way the file writes them: `500ms`, `2s`, `1.5s`,
/// `5m`, `1m30s`, `24h`.
pub fn format_duration(secs: f64) -> String {
    if !secs.is_finite() {
        return format!("{secs}s");
    }
    if secs < 0.0 {
        return format!("-{}", format_duration(-secs));
    }
    if secs == 0.0 {
        return "0s".into();
    }
    if secs < 1.0 {
        return format!("{}ms", trim(secs * 1000.0));
    }
    let whole = secs.round();
    if (secs - whole).abs() > 1e-9 || whole < 60.0 {
        return format!("{}s", trim(secs));
    }
    let whole = whole as u64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    let mut out = String::new();
    for (v, u) in [(h, "h"), (m, "m"), (s, "s")] {
        if v > 0 {
            out.push_str(&format!("{v}{u}"));
        }
    }
    out
}

/// A number with at most 3 decimals, without trailing zeros.
fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Parses a Kubernetes quantity into its value (cores for CPU, bytes for
/// memory; see the module docs). Negative quantities are refused.
pub fn parse_quantity(s: &str) -> Result<f64, UnitError> {
    let err = || UnitError::Quantity(s.to_string());
    let t = s.trim();
    let num_len = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(num_len);
    if num.is_empty() || num == "+" || num == "." {
        return Err(err());
    }
    let value: f64 = num.parse().map_err(|_| err())?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => {
            let exp: i32 = e[1..].parse().map_err(|_| err())?;
            10f64.powi(exp)
        }
        _ => return Err(err()),
    };
    let v = value * factor;
    if v.is_finite() { Ok(v) } else { Err(err()) }
}

/// Formats bytes as the file writes memory: `180Mi`, `1.5Gi`, `512Ki`, or
/// plain bytes.
pub fn format_bytes(bytes: f64) -> String {
    for (unit, size) in [
        ("Gi", 1024f64.powi(3)),
        ("Mi", 1024f64.powi(2)),
        ("Ki", 1024.0),
    ] {
        if bytes >= size {
            return format!("{}{unit}", trim(bytes / size));
        }
    }
    trim(bytes)
}

/// Formats cores as the file writes CPU: `250m`, `1.5`.
pub fn format_cores(cores: f64) -> String {
    if cores < 1.0 {
        format!("{}m", trim(cores * 1000.0))
    } else {
        trim(cores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (s, v) in [
            ("60", 60.0),
            ("2.5", 2.5),
            ("500ms", 0.5),
            ("60s", 60.0),
            ("5m", 300.0),
            ("1h30m", 5400.0),
            ("1h 30m", 5400.0),
            ("24h", 86_400.0),
            ("1d", 86_400.0),
            ("1.5s", 1.5),
        ] {
            assert_eq!(parse_duration(s), Ok(v), "{s}");
        }
        for s in ["", "5 minutes", "m", "5x", "inf", "1.2.3s", "s5"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
        for (v, s) in [
            (0.5, "500ms"),
            (2.0, "2s"),
            (1.5, "1.5s"),
            (300.0, "5m"),
            (90.0, "1m30s"),
            (86_400.0, "24h"),
            (0.0, "0s"),
            (0.004, "4ms"),
        ] {
            assert_eq!(format_duration(v), s);
        }
    }

    #[test]
    fn quantities() {
        for (s, v) in [
            ("250m", 0.25),
            ("1", 1.0),
            ("1.5", 1.5),
            ("256Mi", 256.0 * 1024.0 * 1024.0),
            ("1Gi", 1024f64.powi(3)),
            ("2k", 2000.0),
            ("2e3", 2000.0),
            ("15m", 0.015),
            (".5", 0.5),
        ] {
            assert_eq!(parse_quantity(s), Ok(v), "{s}");
        }
        for s in ["", "-1", "abc", "1Zi", "m", "1e"] {
            assert!(parse_quantity(s).is_err(), "{s}");
        }
        assert_eq!(format_bytes(180.0 * 1024.0 * 1024.0), "180Mi");
        assert_eq!(format_cores(0.25), "250m");
        assert_eq!(format_cores(2.0), "2");
    }
}
