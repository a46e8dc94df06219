#!/usr/bin/env bash
# Time from `POST /v1/jobs` to the task reported Started, next to raw Engine API create+start
# of the same image, in one run on this host (release build, real Docker, fsync on):
#   1. 100 single-task jobs one at a time vs 100 containers one at a time (p50/p99 each);
#   2. 100 jobs submitted at once vs 100 containers started with the agent's parallelism (16);
#   3. the agent's resident memory with 100 running containers.
#
#   bash Tests/Benchmarks/start.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-100}
bash deploy/docker-setup.sh fuller/busybox:latest > /dev/null
swift build -c release 2>&1 | tail -n 1
bin=.build/release
dir=$(mktemp -d)
id=bench-agent-$$
"$bin/fuller-master" serve --data-dir "$dir/master" --api 127.0.0.1:4798 2> "$dir/master.log" &
master=$!
"$bin/fuller-agent" --id "$id" --masters http://127.0.0.1:4798 --data-dir "$dir/agent" --api 127.0.0.1:4797 \
    --metadata 127.0.0.1:4796 --cpu 64 --memory-mb 65536 --stop-grace 1s 2> "$dir/agent.log" &
agent=$!
. Tests/Benchmarks/lib.sh
trap 'stop_cluster "$agent" "$master"' EXIT
ready=false
for _ in $(seq 100); do
    curl -sf http://127.0.0.1:4798/v1/agents | grep -q '"state":"ready"' && { ready=true; break; }
    sleep 0.1
done
$ready || { echo "the agent did not become ready; its log:" >&2; cat "$dir/agent.log" >&2; exit 1; }

"$bin/Bench" raw --count "$count" --parallel 1
"$bin/Bench" fuller --server http://127.0.0.1:4798 --count "$count" --parallel 1
sleep 2   # let the kills of the previous round drain
"$bin/Bench" raw --count "$count" --parallel 16
"$bin/Bench" fuller --server http://127.0.0.1:4798 --count "$count" --parallel "$count" --keep true
echo "agent resident memory with $(docker ps -q --filter "label=fuller.agent=$id" | wc -l) running containers: $(sed -n 's/^VmRSS: *//p' /proc/$agent/status)"
echo "agent peak resident memory: $(sed -n 's/^VmHWM: *//p' /proc/$agent/status)"
