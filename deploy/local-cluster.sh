#!/usr/bin/env bash
# A local cluster on this host: three replicated masters and N agents (default 2), the agents
# in two zones, all on loopback. Data and logs under DIR (default ./.fuller-local). Ctrl-C
# stops all; containers keep running and the agents adopt them on the next start.
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

peers="m1=127.0.0.1:4701,m2=127.0.0.1:4703,m3=127.0.0.1:4705"
masters="http://127.0.0.1:4700,http://127.0.0.1:4702,http://127.0.0.1:4704"
for i in 1 2 3; do
    "$bin/fuller-master" serve --id "m$i" --data-dir "$dir/m$i" --api "127.0.0.1:$((4698 + 2 * i))" \
        --peers "$peers" 2> "$dir/m$i.log" &
    pids+=($!)
done
for i in $(seq 1 "$agents"); do
    "$bin/fuller-agent" --id "agent-$i" --masters "$masters" --data-dir "$dir/agent-$i" \
        --api "127.0.0.1:$((4710 + 2 * i))" --metadata "127.0.0.1:$((4711 + 2 * i))" \
        --zone "zone-$(( (i - 1) % 2 ))" --cpu 2 --memory-mb 2048 2> "$dir/agent-$i.log" &
    pids+=($!)
done
echo "masters $masters; $agents agents; logs in $dir; Ctrl-C to stop"
wait
