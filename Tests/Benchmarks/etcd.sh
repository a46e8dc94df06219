#!/usr/bin/env bash
# The anchor for the replicated-write benchmark: etcd 3.4 (Debian's etcd-server), 3 members on
# loopback with fsync on, PUT of 256-byte values through its HTTP gateway, driven by wrk at
# 1, 16 and 128 connections. Prints requests/s, p50 and p99 per level.
#
#   bash Tests/Benchmarks/etcd.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-10}
command -v etcd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
dir=$(mktemp -d)
cluster=""
for i in 1 2 3; do cluster="$cluster${cluster:+,}e$i=http://127.0.0.1:$((23800 + 10 * i + 1))"; done
pids=()
for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$dir/e$i" \
        --listen-client-urls "http://127.0.0.1:$((23800 + 10 * i))" --advertise-client-urls "http://127.0.0.1:$((23800 + 10 * i))" \
        --listen-peer-urls "http://127.0.0.1:$((23800 + 10 * i + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((23800 + 10 * i + 1))" \
        --initial-cluster "$cluster" --initial-cluster-state new 2> "$dir/e$i.log" &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
# The leader takes the writes (followers forward, which would only add a hop).
leader=""
for _ in $(seq 100); do
    for i in 1 2 3; do
        if curl -sf -X POST "http://127.0.0.1:$((23800 + 10 * i))/v3/maintenance/status" -d '{}' 2>/dev/null \
            | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s.get("leader")==s["header"]["member_id"] else 1)' 2>/dev/null; then
            leader=$i; break 2
        fi
    done
    sleep 0.2
done
[ -n "$leader" ] || { echo "etcd elected no leader" >&2; exit 1; }
url="http://127.0.0.1:$((23800 + 10 * leader))"
for c in 1 16 128; do
    t=$(( c < 2 ? 1 : 2 ))
    out=$(wrk --latency -t"$t" -c"$c" -d"${seconds}s" -s etcd-put.lua "$url")
    printf 'etcd 3.4, 3 members, %3d connections: %10s req/s   %s\n' "$c" "$(echo "$out" | sed -n 's/^Requests\/sec: *//p')" \
        "$(echo "$out" | grep p50_ms)"
done
