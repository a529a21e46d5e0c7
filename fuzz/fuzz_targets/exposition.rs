//! libFuzzer target for the exposition parser: `cargo +nightly fuzz run exposition`.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod check;
#[path = "../../src/scrape/exposition.rs"]
mod exposition;

fuzz_target!(|data: &[u8]| check::check(data));
