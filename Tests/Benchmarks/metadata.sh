#!/usr/bin/env bash
# The container metadata endpoint under load, measured from inside a container: wrk runs in the
# network namespace of a real task's container (`nsenter -t PID -n`), so every request's source
# address is the container's and the endpoint does its full work (caller lookup by source IP,
# token check, answer). Release build; master and agent on this host; the endpoint on the Docker
# bridge's gateway (DNAT off, so no root-only rule is left behind if the script is interrupted).
#
#   bash Tests/Benchmarks/metadata.sh [SECONDS]      (default 10 s per measurement)
#
# Prints requests/s, p50 and p99 for: instance-id over 1 and 64 connections, the same with an
# IMDSv2 token, and the /fuller/v1/task JSON document. Goal: >= 10,000 req/s, p99 <= 2 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
here=$PWD/Tests/Benchmarks
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
bash deploy/docker-setup.sh fuller/busybox:latest > /dev/null
swift build -c release --product fuller-master 2>&1 | tail -n 1
swift build -c release --product fuller-agent 2>&1 | tail -n 1
bin=.build/release
dir=$(mktemp -d)
id=bench-metadata-$$
api=${FULLER_BENCH_PORT:-4793}
gateway=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
"$bin/fuller-master" serve --data-dir "$dir/master" --api "127.0.0.1:$api" 2> "$dir/master.log" &
master=$!
"$bin/fuller-agent" --id "$id" --masters "http://127.0.0.1:$api" --data-dir "$dir/agent" --api 127.0.0.1:0 \
    --metadata "$gateway:0" --no-metadata-dnat --zone bench-1a --stop-grace 1s 2> "$dir/agent.log" &
agent=$!
. Tests/Benchmarks/lib.sh
trap 'stop_cluster "$agent" "$master"' EXIT
fail() { echo "metadata.sh: $*" >&2; tail -n 20 "$dir/agent.log" >&2; exit 1; }

for _ in $(seq 100); do grep -q '"metadata serving"' "$dir/agent.log" 2>/dev/null && break; sleep 0.1; done
endpoint=$(sed -n 's/.*"metadata serving".*"metadata":"\([0-9.:]*\)".*/\1/p' "$dir/agent.log" | head -n 1)
[ -n "$endpoint" ] || fail "the agent did not start its metadata endpoint"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$api/v1/agents" | grep -q '"state":"ready"' && break; sleep 0.1; done

job=$(curl -sf -X POST "http://127.0.0.1:$api/v1/jobs" -d '{"name":"metadata-bench","owner":"bench","type":"service",
  "container":{"image":"fuller/busybox:latest","command":["sh","-c","trap exit TERM; while true; do sleep 1; done"],
  "resources":{"cpu":0.1,"memoryMB":32}},"service":{"capacity":{"min":1,"desired":1,"max":1}}}' \
  | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
[ -n "$job" ] || fail "the job was not accepted"
task="" container=""
for _ in $(seq 200); do
    line=$(curl -sf "http://127.0.0.1:$api/v1/tasks?jobId=$job" | grep -o '"id":"[^"]*","jobId"[^}]*"state":"Started"[^}]*' || true)
    task=$(echo "$line" | sed -n 's/^"id":"\([^"]*\)".*/\1/p')
    container=$(echo "$line" | sed -n 's/.*"containerId":"\([^"]*\)".*/\1/p')
    [ -n "$task" ] && [ -n "$container" ] && break
    sleep 0.1
done
[ -n "$container" ] || fail "the task did not start"
pid=$(docker inspect -f '{{.State.Pid}}' "$container")
in_container() { nsenter -t "$pid" -n "$@"; }
for _ in $(seq 100); do
    [ "$(in_container curl -s "http://$endpoint/latest/meta-data/instance-id")" = "$task" ] && break
    sleep 0.1
done
[ "$(in_container curl -s "http://$endpoint/latest/meta-data/instance-id")" = "$task" ] || fail "the endpoint does not answer the container"
token=$(in_container curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "http://$endpoint/latest/api/token")
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (wrk and the agent share them)"
echo "task $task, container $(docker inspect -f '{{.NetworkSettings.IPAddress}}' "$container") -> endpoint $endpoint"

measure() { # name, path, token, wrk arguments...
    local name=$1 path=$2 tok=$3; shift 3
    local out rps p50 p99 errors
    out=$(METADATA_PATH=$path METADATA_TOKEN=$tok in_container wrk --latency -s "$here/metadata.lua" "$@" "http://$endpoint")
    rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
    p50=$(echo "$out" | sed -n 's/^p50_ms=\([0-9.]*\) .*/\1/p')
    p99=$(echo "$out" | sed -n 's/.*p99_ms=\([0-9.]*\)/\1/p')
    errors=$(echo "$out" | sed -n 's/^ *Non-2xx or 3xx responses: *//p')
    printf '%-46s %10s req/s   p50 %7s ms   p99 %7s ms   errors %s\n' "$name" "$rps" "$p50" "$p99" "${errors:-0}"
}

measure "instance-id, 1 connection" /latest/meta-data/instance-id "" -t1 -c1 -d"${seconds}s"
measure "instance-id, 4 connections" /latest/meta-data/instance-id "" -t1 -c4 -d"${seconds}s"
measure "instance-id, 16 connections" /latest/meta-data/instance-id "" -t2 -c16 -d"${seconds}s"
measure "instance-id, 64 connections" /latest/meta-data/instance-id "" -t2 -c64 -d"${seconds}s"
measure "instance-id with an IMDSv2 token, 16 connections" /latest/meta-data/instance-id "$token" -t2 -c16 -d"${seconds}s"
measure "/fuller/v1/task, 16 connections" /fuller/v1/task "" -t2 -c16 -d"${seconds}s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "agent peak resident memory: $(sed -n 's/^VmHWM: *//p' /proc/$agent/status)"
