//! AFL++ target for the exposition parser (see `../Cargo.toml`); it checks
//! the same property as the libFuzzer target.

#[path = "../../fuzz_targets/check.rs"]
mod check;
#[path = "../../../src/sources/scrape/exposition.rs"]
#[allow(dead_code)] // the targets use only parse and parse_with
mod exposition;

fn main() {
    afl::fuzz!(|data: &[u8]| check::check(data));
}
