#!/bin/sh
# Runs the three benchmarks one after the other (release profile) and keeps
# their output, with the machine and the commit, in one file.
#
#   benches/run-all.sh [OUTPUT]   (default target/bench-results-<UTC time>.txt)
#
# Needs redis-server on PATH (or $QMA_REDIS_SERVER). Each bench binds
# 127.0.0.1 only, starts its own redis-server and stops what it starts.
set -eu
cd "$(dirname "$0")/.."
out=${1:-target/bench-results-$(date -u +%Y%m%dT%H%M%SZ).txt}
mkdir -p "$(dirname "$out")"
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
    echo "# nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(uptime | sed 's/.*load/load/')"
    echo "# $(rustc --version); $(redis-server --version)"
    cargo bench --bench redis_poll --bench startup_memory --bench api_throughput
} 2>&1 | tee "$out"
echo "results in $out"
