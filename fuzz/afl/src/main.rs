//! AFL++ target for the exposition parser (see `../Cargo.toml`); it checks
//! the same property as the libFuzzer target.

#[path = "../../fuzz_targets/check.rs"]
mod check;
// The parser and its child modules (`exposition/*.rs`), compiled in without
// the rest of the adapter. An inline module carries the path so that
// `exposition.rs` is loaded as a plain module file and finds its children in
// `exposition/`; a `#[path]` on `exposition` itself would look for them next
// to it, as for a `mod.rs`.
#[path = "../../../src/sources/scrape"]
mod scrape {
    #[allow(dead_code)] // the targets use only parse and parse_with
    pub mod exposition;
}
use scrape::exposition;

fn main() {
    afl::fuzz!(|data: &[u8]| check::check(data));
}
