#!/usr/bin/env bash
# The default scenario live, everything local, about 3 minutes:
#
#     load-tests/live-demo.sh [OUT_DIR]      (default target/qma-load/live)
#
# Installs redis-server with apt when missing, builds the adapter and qma-load
# (release), then plays the default scenario's 45-minute spike at 15x speed:
# all five services on their queue-depth policy, a real redis-server and the
# real adapter on free 127.0.0.1 ports, pods consuming real jobs. Writes the
# runs and report.html into OUT_DIR; stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/qma-load/live}"

if ! command -v redis-server >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || { echo "redis-server missing: apt-get install redis-server" >&2; exit 1; }
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server
fi
cargo build --release --locked -p queue-metrics-adapter -p qma-load
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
exec "$target_dir/release/qma-load" live --speed 15 --out "$out" \
    --adapter-bin "$target_dir/release/queue-metrics-adapter"
