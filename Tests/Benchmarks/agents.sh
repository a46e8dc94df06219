#!/usr/bin/env bash
# The master under many agents: COUNT simulated agents (Bench agents: each registers, then sends
# a heartbeat every second on a connection of its own, no tasks) against one release-build
# master with fsync on. Reports the master's CPU (percent of one core, averaged over the steady
# part of the run) and resident memory, next to the heartbeats answered and their latency.
#
#   bash Tests/Benchmarks/agents.sh [COUNT] [SECONDS]      (defaults: 2000 agents, 60 s)
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-2000}
seconds=${2:-60}
[ "$seconds" -ge 30 ] || { echo "SECONDS must be at least 30 (10 s warm-up, 10 s margin)" >&2; exit 2; }
swift build -c release --product fuller-master 2>&1 | tail -n 1
swift build -c release --product Bench 2>&1 | tail -n 1
bin=.build/release
dir=$(mktemp -d)
"$bin/fuller-master" serve --data-dir "$dir/master" --api 127.0.0.1:0 2> "$dir/master.log" &
master=$!
bench=
cleanup() {
    [ -z "$bench" ] || kill "$bench" 2>/dev/null || true
    kill "$master" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*"master serving".*"api":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$dir/master.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "the master did not start; its log:" >&2; cat "$dir/master.log" >&2; exit 1; }

"$bin/Bench" agents --server "http://127.0.0.1:$port" --count "$count" --seconds "$seconds" > "$dir/bench.txt" &
bench=$!
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$master/stat"; }
sleep 10                                   # registration and the first round of heartbeats
t0=$(date +%s.%N); c0=$(cpu_ticks)
sleep $(( seconds / 2 - 10 ))
scrape=$(curl -s -o /dev/null -w '%{time_total} s, %{size_download} bytes' "http://127.0.0.1:$port/metrics")
sleep $(( seconds - seconds / 2 - 10 ))
t1=$(date +%s.%N); c1=$(cpu_ticks)
rss=$(awk '/^VmRSS:/ { print $2, $3 }' "/proc/$master/status")
wait "$bench"; bench=
cat "$dir/bench.txt"
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$ticks_per_second" -v n="$count" \
    'BEGIN { printf "master CPU with %d agents heartbeating every second: %.1f%% of one core (over %.0f s)\n", n, (c1 - c0) / hz / (t1 - t0) * 100, t1 - t0 }'
echo "master resident memory: $rss (peak $(awk '/^VmHWM:/ { print $2, $3 }' "/proc/$master/status"))"
echo "one /metrics scrape during the run: $scrape"
echo "master log lines: $(wc -l < "$dir/master.log") ($(grep -c '"level":"warn"\|"level":"error"' "$dir/master.log" || true) warnings or errors)"
