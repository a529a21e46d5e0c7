#!/usr/bin/env bash
# The demo: a local Redis, the adapter with the AI-platform example config, a
# small producer and consumer, and the external metrics read back the way the
# HPA controller reads them (kubectl get --raw, or curl where kubectl is
# absent). Runs for DEMO_SECONDS (default 40) and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_SECONDS=${DEMO_SECONDS:-40}

have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else echo "need root to run: $*" >&2; return 1; fi; }

if ! have redis-server || ! have redis-cli; then
  echo "==> installing redis-server (Debian package)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >/dev/null
fi

echo "==> building the adapter"
cargo build --quiet --bin queue-metrics-adapter
BIN=target/debug/queue-metrics-adapter

WORK=$(mktemp -d -t qma-demo.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $((20000 + RANDOM % 20000)); }

REDIS_PORT=$(free_port)
API_PORT=$(free_port)
ADMIN_PORT=$(free_port)

echo "==> redis-server on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --save "" --appendonly no \
  --loglevel warning --logfile "$WORK/redis.log" &
PIDS+=($!)
R() { redis-cli -p "$REDIS_PORT" "$@" >/dev/null; }
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

sed "s#redis://127.0.0.1:6379/0#redis://127.0.0.1:$REDIS_PORT/0#" examples/ai-platform.yaml > "$WORK/config.yaml"
"$BIN" check-config "$WORK/config.yaml"

# Seed: a consumer group for the knowledge stream, some tenants' agent queues.
R XGROUP CREATE knowledge:jobs workers '$' MKSTREAM
R RPUSH agent:acme:queue t1 t2
R RPUSH agent:globex:queue t1

echo "==> adapter: API https://127.0.0.1:$API_PORT, admin http://127.0.0.1:$ADMIN_PORT"
RUST_LOG=${RUST_LOG:-info} "$BIN" serve --config "$WORK/config.yaml" \
  --secure-listen "127.0.0.1:$API_PORT" --admin-listen "127.0.0.1:$ADMIN_PORT" --auth-mode disabled 2>"$WORK/adapter.log" &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$ADMIN_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.05; done

# Producer: bursts of gateway requests, knowledge jobs and delayed research jobs.
(
  i=0
  while :; do
    i=$((i + 1))
    n=$(( (i % 10) < 6 ? 3 : 0 ))   # 6 busy ticks, then 4 quiet ones
    for _ in $(seq "$n"); do
      R LPUSH gateway:requests "req-$i"
      R XADD knowledge:jobs '*' doc "doc-$i"
    done
    R ZADD research:delayed "$(( $(date +%s) + 3 ))" "research-$i"
    sleep 1
  done
) &
PIDS+=($!)

# Consumer: drains slower than the busy producer, faster than the quiet one.
(
  while :; do
    R RPOP gateway:requests 2
    ids=$(redis-cli -p "$REDIS_PORT" --raw XREADGROUP GROUP workers demo COUNT 2 STREAMS knowledge:jobs '>' \
      | grep -E '^[0-9]+-[0-9]+$' || true)
    for id in $ids; do R XACK knowledge:jobs workers "$id"; done
    R ZREMRANGEBYSCORE research:delayed -inf "$(( $(date +%s) - 5 ))"
    sleep 1
  done
) &
PIDS+=($!)

if have kubectl; then
  cat > "$WORK/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster: {server: "https://127.0.0.1:$API_PORT", insecure-skip-tls-verify: true}
contexts:
- name: demo
  context: {cluster: demo, user: demo}
current-context: demo
users:
- name: demo
  user: {token: demo-token}
EOF
  raw() { kubectl --kubeconfig "$WORK/kubeconfig" --cache-dir "$WORK/cache" get --raw "$1"; }
  echo "==> reading with: kubectl get --raw (kubeconfig pointing at the adapter)"
else
  raw() { curl -sk "https://127.0.0.1:$API_PORT$1"; }
  echo "==> kubectl not found; reading with curl"
fi

echo
echo "==> discovery: kubectl get --raw /apis/external.metrics.k8s.io/v1beta1"
raw /apis/external.metrics.k8s.io/v1beta1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print("   metrics:", ", ".join(r["name"] for r in d["resources"]))' 2>/dev/null \
  || raw /apis/external.metrics.k8s.io/v1beta1
echo

BASE=/apis/external.metrics.k8s.io/v1beta1/namespaces/ai-platform
show() {
  raw "$BASE/$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("   " + "  ".join("%s=%s" % (i["metricLabels"]["queue"], i["value"]) for i in d["items"]))' 2>/dev/null || raw "$BASE/$1"
}

end=$(( $(date +%s) + DEMO_SECONDS ))
while [ "$(date +%s)" -lt "$end" ]; do
  echo "--- $(date +%T)"
  echo "   queue_depth:";              show queue_depth
  echo "   queue_pending:";            show queue_pending
  echo "   queue_oldest_age_seconds:"; show queue_oldest_age_seconds
  sleep 3
done

echo
echo "==> one full answer (what the HPA controller receives):"
raw "$BASE/queue_depth?labelSelector=service%3Dgateway"; echo
echo "==> an error is a Kubernetes Status:"
raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/other-team/queue_depth" 2>&1 || true
echo
echo "==> adapter's own metrics (excerpt):"
curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | grep -E '^qma_(poll_round_trips|api_requests_total)' | head -8
echo "==> demo finished; stopping redis-server, the adapter, producer and consumer"
