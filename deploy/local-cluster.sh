#!/usr/bin/env bash
# A local cluster on this host: one master and N agents (default 2), each agent in its own
# zone, all on loopback. Data and logs under DIR (default ./.fuller-local). Ctrl-C stops all;
# containers keep running and the agents adopt them on the next start.
#
#   bash deploy/local-cluster.sh [AGENTS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-2}
dir=${2:-$PWD/.fuller-local}
mkdir -p "$dir"
swift build -c release 2>&1 | tail -n 1
bin=.build/release
pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

"$bin/fuller-master" serve --id m1 --data-dir "$dir/m1" --api 127.0.0.1:4700 2> "$dir/m1.log" &
pids+=($!)
for i in $(seq 1 "$agents"); do
    "$bin/fuller-agent" --id "agent-$i" --masters http://127.0.0.1:4700 --data-dir "$dir/agent-$i" \
        --api "127.0.0.1:$((4710 + 2 * i))" --metadata "127.0.0.1:$((4711 + 2 * i))" \
        --zone "zone-$(( (i - 1) % 2 ))" --cpu 2 --memory-mb 2048 2> "$dir/agent-$i.log" &
    pids+=($!)
done
echo "master http://127.0.0.1:4700, $agents agents; logs in $dir; Ctrl-C to stop"
wait
