#![forbid(unsafe_code)]
//! `qma-load`: see the crate docs in `lib.rs`.

fn main() -> anyhow::Result<()> {
    qma_load::cli::run()
}
