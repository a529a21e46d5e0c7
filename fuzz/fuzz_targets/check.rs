//! The property both fuzz targets check (libFuzzer's `exposition.rs` and
//! `afl/src/main.rs` include this file): for any bytes, in both formats,
//! the parser returns instead of panicking, `parse` and `parse_with` agree,
//! and an error's line number is within the input.

use crate::exposition::{self, Format};

pub fn check(data: &[u8]) {
    // Every input becomes text, so that no fuzzing effort is lost on
    // invalid UTF-8 (the scraper decodes bodies the same way before parsing).
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let mut by_value = Vec::new();
        let r1 = exposition::parse(&text, format, |s| {
            by_value.push(format!("{s:?}"));
        });
        let mut by_ref = Vec::new();
        let r2 = exposition::parse_with(&text, format, |s| {
            by_ref.push(format!("{s:?}"));
        });
        assert_eq!(r1, r2, "parse and parse_with disagree");
        assert_eq!(by_value, by_ref, "parse and parse_with disagree");
        if let Err(e) = r1 {
            assert!((1..=lines + 1).contains(&e.line()), "bad line in {e}");
        }
    }
}
