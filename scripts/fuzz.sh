#!/usr/bin/env bash
# Fuzzes the Prometheus/OpenMetrics text parser (src/sources/scrape/exposition.rs)
# for a bounded time, with the best engine this machine has:
#
#     scripts/fuzz.sh                         # about 60 s of fuzzing
#     QMA_FUZZ_SECONDS=600 scripts/fuzz.sh    # longer
#     QMA_FUZZ_ENGINE=afl scripts/fuzz.sh     # a given engine
#
# Engines (QMA_FUZZ_ENGINE=auto takes the first one that is installed):
#   libfuzzer  cargo-fuzz, target fuzz/fuzz_targets/exposition.rs. With a
#              nightly toolchain it runs under AddressSanitizer; on stable
#              with `--sanitizer none`, whose coverage instrumentation needs
#              only stable -C flags (the crate forbids unsafe code, so ASan
#              adds little; panics and overflows are caught either way).
#   afl        AFL++ through cargo-afl (stable), target fuzz/afl/.
#   smoke      neither installed: the random-input unit test
#              scrape::exposition::tests::random_inputs_never_panic, in
#              release mode, for the same time.
# All three check the same property: no panic on any input, in both formats.
#
# Environment:
#   QMA_FUZZ_SECONDS     fuzzing time in seconds (default 60). Builds come on
#                        top; the first libFuzzer or AFL++ build compiles the
#                        whole crate with instrumentation, later ones are cached.
#   QMA_FUZZ_ENGINE      auto (default), libfuzzer, afl or smoke
#   QMA_FUZZ_INSTALL=1   install cargo-fuzz first if it is missing (a few
#                        minutes, from crates.io), so that auto picks libfuzzer
#   QMA_FUZZ_NIGHTLY=0   libfuzzer: use the stable toolchain even if there is
#                        a nightly one
#   QMA_FUZZ_SEED        smoke only: the generator's seed (default: random,
#                        printed, so a failure can be replayed)
#   QMA_FUZZ_ITERATIONS  smoke only: stop after this many inputs (default: no
#                        limit but the time)
#
# Exits non-zero if the engine finds a crash. Crashing inputs are kept in
# fuzz/artifacts/exposition/ (libFuzzer; replay with
# `cd fuzz && cargo fuzz run exposition <file>`) or
# fuzz/afl/out/default/crashes/ (AFL++; replay with
# `fuzz/afl/target/release/exposition-afl < <file>`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECS="${QMA_FUZZ_SECONDS:-60}"
ENGINE="${QMA_FUZZ_ENGINE:-auto}"

log() { printf '\n==> %s\n' "$*"; }
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

[[ "$SECS" =~ ^[0-9]+$ && "$SECS" -gt 0 ]] || die "QMA_FUZZ_SECONDS must be a positive integer, not '$SECS'"

has_nightly() {
    [[ "${QMA_FUZZ_NIGHTLY:-1}" != 0 ]] && command -v rustup >/dev/null &&
        rustup run nightly rustc --version >/dev/null 2>&1
}
has_cargo_fuzz() { cargo fuzz --version >/dev/null 2>&1; }
has_cargo_afl() { cargo afl --version >/dev/null 2>&1; }

run_libfuzzer() {
    has_cargo_fuzz || die "cargo-fuzz is not installed (cargo install cargo-fuzz, or QMA_FUZZ_INSTALL=1)"
    local toolchain=() sanitizer=(--sanitizer none) how="stable, no sanitizer"
    if has_nightly; then
        toolchain=(+nightly)
        sanitizer=()
        how="nightly, AddressSanitizer"
    fi
    cd "$ROOT/fuzz"
    mkdir -p corpus/exposition
    log "building the libFuzzer target ($how)"
    cargo "${toolchain[@]}" fuzz build "${sanitizer[@]}" exposition
    log "libFuzzer: ${SECS}s on fuzz/fuzz_targets/exposition.rs ($how)"
    if ! cargo "${toolchain[@]}" fuzz run "${sanitizer[@]}" exposition corpus/exposition seeds -- \
        -max_total_time="$SECS" -dict=exposition.dict -print_final_stats=1; then
        die "libFuzzer found a crash: see fuzz/artifacts/exposition/ (replay: cd fuzz && cargo fuzz run exposition <file>)"
    fi
}

run_afl() {
    has_cargo_afl || die "cargo-afl is not installed (cargo install cargo-afl; it builds AFL++ too)"
    cd "$ROOT/fuzz/afl"
    log "building the AFL++ target"
    cargo afl build --release
    log "AFL++: ${SECS}s on fuzz/afl (log: fuzz/afl/afl.log)"
    rm -rf out
    local rc=0
    # No UI without a terminal; tolerate the machine settings AFL++ would
    # otherwise refuse to start on (CPU governor, core_pattern).
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        cargo afl fuzz -V "$SECS" -i ../seeds -o out -x ../exposition.dict \
        target/release/exposition-afl >afl.log 2>&1 || rc=$?
    grep -E '^(execs_done|execs_per_sec|corpus_count|bitmap_cvg|saved_crashes|saved_hangs) ' \
        out/default/fuzzer_stats 2>/dev/null || tail -n 20 afl.log
    [[ $rc -eq 0 ]] || die "afl-fuzz exited with $rc (see fuzz/afl/afl.log)"
    local crashes
    crashes="$(find out/default/crashes -type f ! -name README.txt 2>/dev/null | wc -l)"
    [[ "$crashes" -eq 0 ]] || die "AFL++ found $crashes crashing input(s): fuzz/afl/out/default/crashes/"
}

run_smoke() {
    local seed="${QMA_FUZZ_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
    log "random-input smoke test (no coverage guidance): ${SECS}s, seed $seed"
    QMA_FUZZ_SECONDS="$SECS" QMA_FUZZ_SEED="$seed" \
        QMA_FUZZ_ITERATIONS="${QMA_FUZZ_ITERATIONS:-18446744073709551615}" \
        cargo test --release --locked --lib scrape::exposition::tests::random_inputs_never_panic \
        -- --exact --nocapture
}

if [[ "${QMA_FUZZ_INSTALL:-0}" == 1 && ("$ENGINE" == auto || "$ENGINE" == libfuzzer) ]] && ! has_cargo_fuzz; then
    log "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

if [[ "$ENGINE" == auto ]]; then
    if has_cargo_fuzz; then
        ENGINE=libfuzzer
    elif has_cargo_afl; then
        ENGINE=afl
    else
        ENGINE=smoke
    fi
fi

case "$ENGINE" in
libfuzzer) run_libfuzzer ;;
afl) run_afl ;;
smoke) run_smoke ;;
*) die "QMA_FUZZ_ENGINE must be auto, libfuzzer, afl or smoke, not '$ENGINE'" ;;
esac
log "fuzzing done ($ENGINE, ${SECS}s): no crash"
