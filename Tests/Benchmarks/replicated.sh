#!/usr/bin/env bash
# Replicated writes, Fuller next to etcd, in one run on this host (release build, fsync on):
#   1. etcd 3.4, 3 members: PUT of 256-byte values at 1, 16 and 128 connections (etcd.sh);
#   2. Fuller, 3 masters: durable POST /v1/jobs at 1, 16 and 128 connections, on the leader;
#   3. failover: SIGKILL the leader, time until the first acknowledged write on the new one,
#      restart it, repeat (default 20 kills); p50, p99 and max.
#
#   bash Tests/Benchmarks/replicated.sh [SECONDS] [KILLS]      (SECONDS=0: failover only)
#
# Each kill starts from a healthy group: the member restarted after the previous kill has
# caught up (applied the leader's commit index), so a kill measures one failure, not a
# failure on top of a member still recovering.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
kills=${2:-20}
[ "$seconds" -gt 0 ] && bash Tests/Benchmarks/etcd.sh "$seconds"
swift build -c release --product fuller-master 2>&1 | tail -n 1
bin=.build/release/fuller-master
dir=$(mktemp -d)
peers="m1=127.0.0.1:4961,m2=127.0.0.1:4962,m3=127.0.0.1:4963"
declare -A pid
start() { # N
    "$bin" serve --id "m$1" --data-dir "$dir/m$1" --api "127.0.0.1:$((4964 + $1))" --peers "$peers" \
        --max-active-jobs 10000000 2>> "$dir/m$1.log" &
    pid[$1]=$!
}
cleanup() { kill "${pid[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for i in 1 2 3; do start "$i"; done
leader() { # prints the leader's number, or nothing
    for i in 1 2 3; do
        curl -sf --max-time 0.5 "http://127.0.0.1:$((4964 + i))/v1/cluster" 2>/dev/null \
            | python3 -c 'import json,sys; c=json.load(sys.stdin); sys.exit(0 if c["leader"]==c["self"] else 1)' 2>/dev/null \
            && { echo "$i"; return; }
    done
}
caught_up() { # N: member N applied everything the leader had committed when asked
    local leader_commit applied
    leader_commit=$(for i in 1 2 3; do curl -sf --max-time 0.5 "http://127.0.0.1:$((4964 + i))/v1/cluster" 2>/dev/null; echo; done \
        | python3 -c 'import json,sys
for line in sys.stdin:
    line = line.strip()
    if not line: continue
    c = json.loads(line)
    if c.get("leader") == c.get("self"): print(c["commitIndex"]); break' 2>/dev/null)
    applied=$(curl -sf --max-time 0.5 "http://127.0.0.1:$((4964 + $1))/v1/cluster" 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["appliedIndex"])' 2>/dev/null)
    [ -n "$leader_commit" ] && [ -n "$applied" ] && [ "$applied" -ge "$leader_commit" ]
}
wait_leader() { for _ in $(seq 200); do l=$(leader); [ -n "$l" ] && { echo "$l"; return; }; sleep 0.05; done; echo "no leader" >&2; exit 1; }
l=$(wait_leader)
for c in 1 16 128; do
    [ "$seconds" -gt 0 ] || break
    t=$(( c < 2 ? 1 : 2 ))
    out=$(wrk --latency -t"$t" -c"$c" -d"${seconds}s" -s Tests/Benchmarks/post.lua "http://127.0.0.1:$((4964 + l))")
    printf 'Fuller, 3 masters,    %3d connections: %10s req/s   %s   errors %s\n' "$c" \
        "$(echo "$out" | sed -n 's/^Requests\/sec: *//p')" "$(echo "$out" | grep p50_ms)" \
        "$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')"
done

body='{"name":"f","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":0.1,"memoryMB":16}},"batch":{"size":1}}'
samples=()
for k in $(seq "$kills"); do
    l=$(wait_leader)
    survivors=(); for i in 1 2 3; do [ "$i" != "$l" ] && survivors+=("$i"); done
    kill -KILL "${pid[$l]}"; wait "${pid[$l]}" 2>/dev/null || true
    t0=$(date +%s%N)
    acked=false
    for _ in $(seq 1000); do
        for i in "${survivors[@]}"; do
            code=$(curl -s -o /dev/null -w '%{http_code}' -L --max-time 0.3 -X POST -H "Idempotency-Key: failover-$k" \
                "http://127.0.0.1:$((4964 + i))/v1/jobs" -d "$body" || true)
            [ "$code" = 201 ] && { acked=true; break 2; }
        done
        sleep 0.01
    done
    t1=$(date +%s%N)
    $acked || { echo "no write acknowledged after kill $k" >&2; exit 1; }
    samples+=($(( (t1 - t0) / 1000000 )))
    start "$l"
    for _ in $(seq 600); do
        caught_up "$l" && break
        sleep 0.05
    done
done
printf '%s\n' "${samples[@]}" | sort -n | awk '{ a[NR] = $1 } END {
    p99 = a[int(NR * 0.99 + 0.999)]; if (p99 == "") p99 = a[NR]
    printf "failover (SIGKILL leader → first acknowledged write), %d kills: p50 %d ms, p99 %d ms, max %d ms\n", NR, a[int((NR + 1) / 2)], p99, a[NR] }'
