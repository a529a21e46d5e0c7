//! libFuzzer target for the exposition parser: `cargo +nightly fuzz run exposition`.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod check;
#[path = "../../src/sources/scrape/exposition.rs"]
#[allow(dead_code)] // the targets use only parse and parse_with
mod exposition;

fuzz_target!(|data: &[u8]| check::check(data));
