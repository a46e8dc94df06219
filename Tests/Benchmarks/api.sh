#!/usr/bin/env bash
# The master's API under load: wrk on loopback against a release build with fsync on.
#
#   bash Tests/Benchmarks/api.sh [SECONDS]      (default 10 s per measurement)
#
# Prints, for durable POST /v1/jobs (1 and 64 connections) and GET /v1/jobs/{id} (64
# connections): requests/s, p50 and p99; then the fsync batch sizes the WAL saw and the
# master's peak resident memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
here=Tests/Benchmarks
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product fuller-master 2>&1 | tail -n 1

dir=$(mktemp -d)
port=${FULLER_BENCH_PORT:-4799}
.build/release/fuller-master serve --data-dir "$dir" --api "127.0.0.1:$port" --max-active-jobs 10000000 \
    2> "$dir/master.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

measure() { # name, wrk arguments...
    local name=$1; shift
    local out
    out=$(wrk --latency "$@" "http://127.0.0.1:$port")
    local rps p50 p99 errors
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
    p50=$(echo "$out" | sed -n 's/^p50_ms=\([0-9.]*\) .*/\1/p')
    p99=$(echo "$out" | sed -n 's/.*p99_ms=\([0-9.]*\)/\1/p')
    errors=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')
    printf '%-34s %10s req/s   p50 %7s ms   p99 %7s ms   errors %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-0}"
}

measure "POST /v1/jobs, 1 connection" -t1 -c1 -d"${seconds}s" -s $here/post.lua
measure "POST /v1/jobs, 64 connections" -t2 -c64 -d"${seconds}s" -s $here/post.lua
job=$(curl -s "http://127.0.0.1:$port/v1/jobs?limit=1" | sed -n 's/.*"items":\[{"id":"\([^"]*\)".*/\1/p')
JOB_PATH=/v1/jobs/$job measure "GET /v1/jobs/{id}, 64 connections" -t2 -c64 -d"${seconds}s" -s $here/get.lua

metrics=$(curl -s "http://127.0.0.1:$port/metrics")
sum=$(echo "$metrics" | sed -n 's/^fuller_wal_fsync_batch_records_sum //p')
count=$(echo "$metrics" | sed -n 's/^fuller_wal_fsync_batch_records_count //p')
fsync=$(echo "$metrics" | sed -n 's/^fuller_wal_fsync_duration_seconds_sum //p')
awk -v s="$sum" -v c="$count" -v f="$fsync" \
    'BEGIN { printf "fsync batches: %d, records %d, mean %.1f records/batch, mean fsync %.3f ms\n", c, s, s / c, 1000 * f / c }'
echo "$metrics" | grep '^fuller_wal_fsync_batch_records_bucket' | sed 's/^fuller_wal_fsync_batch_records_bucket/  batch size /'
echo "peak resident memory: $(sed -n 's/^VmHWM: *//p' /proc/$pid/status)"
echo "jobs in store: $(echo "$metrics" | sed -n 's/^fuller_jobs{state="Accepted"} //p')"
