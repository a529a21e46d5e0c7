//! AFL++ target for the exposition parser (see `../Cargo.toml`); it checks
//! the same property as the libFuzzer target.

#[path = "../../fuzz_targets/check.rs"]
mod check;
#[path = "../../../src/scrape/exposition.rs"]
mod exposition;

fn main() {
    afl::fuzz!(|data: &[u8]| check::check(data));
}
