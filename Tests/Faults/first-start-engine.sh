#!/usr/bin/env bash
# first-start-engine: Fuller on a Docker Engine started for the very first time.
#
#   sudo bash Tests/Faults/first-start-engine.sh
#
# A dockerd that has never run before reports its default bridge without IPAM.Config[].Gateway
# (it appears only after a restart); an agent that needs that gateway never serves. This
# experiment makes that machine: a network namespace of its own (fuller-fresh-PID, loopback
# only), a dockerd inside it with an EMPTY data root (so it creates docker0 and its iptables
# rules inside the namespace), the busybox test image imported with deploy/docker-setup.sh, and
# `fuller-master dev` (a master and its local agent, metadata endpoint `bridge:4711` with the
# 169.254.169.254 DNAT rule, as README says) inside the namespace. It submits a service job and
# checks that its task reaches Started and that the metadata endpoint answers from inside the
# container at 169.254.169.254.
#
# Prints one line: `first-start-engine: PASS <seconds from submit to Started> ...` or
# `first-start-engine: FAIL <reason>`; exits 0 or 1 (2: cannot run here, e.g. not root).
# Everything it starts is stopped and removed on every exit path: containers, dockerd, the
# processes, the namespace (its interfaces and iptables rules go with it) and the directories.
#
# The namespace is entered with `nsenter --net=/var/run/netns/NAME`, never `ip netns exec`, which
# remounts /sys and then dockerd fails on cgroups.
#
# Environment:
#   FULLER_BIN             directory with fuller-master and fuller-agent
#                          (default .build/release, else .build/debug)
#   FULLER_FRESH_WAIT_S    bound on each wait (engine up, master up, task Started, answer); 90
set -uo pipefail

name=fuller-fresh-$$
wait_s=${FULLER_FRESH_WAIT_S:-90}
root=$(cd "$(dirname "$0")/../.." && pwd)
image=fuller-test/busybox:1
work=""
dockerd_pid=""
master_pid=""

say() { echo "first-start-engine: $*"; }
fail() { say "FAIL $*"; exit 1; }
cannot() { say "FAIL cannot run here: $*"; exit 2; }

binaries() {
    local dir
    for dir in ${FULLER_BIN:-} "$root/.build/release" "$root/.build/debug"; do
        if [ -x "$dir/fuller-master" ] && [ -x "$dir/fuller-agent" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

inside() { nsenter --net="/var/run/netns/$name" "$@"; }
engine() { timeout 60 docker -H "unix://$work/docker.sock" "$@"; }

# Stops what this run started, most dependent first; safe to run at any point, and twice.
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$master_pid" ] && kill -0 "$master_pid" 2>/dev/null; then
        kill -TERM "$master_pid" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$master_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$master_pid" 2>/dev/null
    fi
    # The dev agent leaves its containers running by design: remove them while dockerd runs.
    if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
        local ids
        ids=$(engine ps -aq 2>/dev/null)
        [ -n "$ids" ] && engine rm -f $ids >/dev/null 2>&1
        kill -TERM "$dockerd_pid" 2>/dev/null
        for _ in $(seq 1 200); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$dockerd_pid" 2>/dev/null
        # Its containerd and shims, if any outlived it (their pids are in the exec root).
        for pidfile in "$work"/exec/containerd/*.pid "$work"/exec/containerd/containerd.pid; do
            [ -f "$pidfile" ] && kill -KILL "$(cat "$pidfile")" 2>/dev/null
        done
    fi
    [ -e "/var/run/netns/$name" ] && ip netns del "$name" 2>/dev/null
    if [ -n "$work" ] && [ -d "$work" ]; then
        # Overlay mounts under the data root are gone with dockerd; unmount any left so rm works.
        grep -o " $work[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null; done
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

[ "$(id -u)" -eq 0 ] || cannot "needs root (network namespace, dockerd)"
for tool in dockerd docker ip nsenter curl timeout python3; do command -v "$tool" >/dev/null 2>&1 || cannot "$tool is missing"; done
bin=$(binaries) || cannot "no fuller-master and fuller-agent in \$FULLER_BIN, .build/release or .build/debug"

work=$(mktemp -d /tmp/fuller-fresh.XXXXXX)
mkdir -p "$work/root" "$work/exec" "$work/dev"
ip netns add "$name" || cannot "ip netns add $name failed"
ip -n "$name" link set lo up

# 1. A dockerd that has never run: empty data root, its own exec root, socket and containerd.
# nsenter itself execs the program, so $! is dockerd's own pid (through a shell function it
# would be a subshell's, and killing that would leave dockerd running).
nsenter --net="/var/run/netns/$name" dockerd --host "unix://$work/docker.sock" --data-root "$work/root" --exec-root "$work/exec" \
    --pidfile "$work/docker.pid" --containerd-namespace "$name" --containerd-plugins-namespace "$name-plugins" \
    >"$work/dockerd.log" 2>&1 </dev/null &
dockerd_pid=$!
for _ in $(seq 1 $((wait_s * 10))); do
    [ "$(curl -s --max-time 2 --unix-socket "$work/docker.sock" http://localhost/_ping 2>/dev/null)" = OK ] && break
    kill -0 "$dockerd_pid" 2>/dev/null || fail "dockerd exited: $(tail -n 3 "$work/dockerd.log" | tr '\n' ' ')"
    sleep 0.1
done
[ "$(curl -s --max-time 2 --unix-socket "$work/docker.sock" http://localhost/_ping)" = OK ] || fail "dockerd did not answer within ${wait_s} s"
gateway=$(curl -s --max-time 5 --unix-socket "$work/docker.sock" http://localhost/networks/bridge | grep -o '"Gateway":"[^"]*"' || true)
say "engine up; bridge IPAM gateway: ${gateway:-none (a first start)}"

# 2. The test image, built into this engine the way a new machine gets it.
FULLER_DOCKER_SOCKET="$work/docker.sock" timeout "$wait_s" bash "$root/deploy/docker-setup.sh" "$image" >"$work/setup.log" 2>&1 \
    || fail "deploy/docker-setup.sh: $(tail -n 2 "$work/setup.log" | tr '\n' ' ')"

# 3. README's second command, inside the namespace: a master and its local agent.
nsenter --net="/var/run/netns/$name" "$bin/fuller-master" dev --data-dir "$work/dev" --fsync=false --docker-socket "$work/docker.sock" \
    >"$work/master.log" 2>&1 </dev/null &
master_pid=$!
api=http://127.0.0.1:4700
call() { inside curl -s --max-time 10 "$@"; }
ready=""
for _ in $(seq 1 $((wait_s * 5))); do
    call "$api/v1/agents/dev-agent" | grep -q '"state":"ready"' && { ready=yes; break; }
    kill -0 "$master_pid" 2>/dev/null || fail "fuller-master dev exited: $(tail -n 3 "$work/master.log" | tr '\n' ' ')"
    sleep 0.2
done
if [ -z "$ready" ]; then
    why=$(grep -o '"error":"[^"]*"' "$work/master.log" | tail -n 1)
    restarts=$(grep -c 'local agent exited' "$work/master.log")
    fail "the dev agent never became ready within ${wait_s} s (agent restarts: $restarts; last error: ${why:-none})"
fi

# 4. A service job; its task must start and reach the metadata endpoint from its container.
job='{"name":"fresh","owner":"faults@test","type":"service","container":{"image":"'$image'","command":["sh","-c","trap exit TERM; while true; do sleep 0.2; done"],"resources":{"cpu":0.1,"memoryMB":32}},"service":{"capacity":{"min":0,"desired":1,"max":1}}}'
submitted=$(date +%s.%N)
reply=$(call -X POST -H 'Content-Type: application/json' --data "$job" "$api/v1/jobs")
job_id=$(printf '%s' "$reply" | grep -o '"id":"[^"]*"' | head -n 1 | cut -d'"' -f4)
[ -n "$job_id" ] || fail "submit refused: $reply"
# The first Started task of the job, as `ID CONTAINER`.
started_task() {
    call "$api/v1/tasks?jobId=$job_id" | python3 -c '
import json, sys
try:
    items = json.load(sys.stdin).get("items", [])
except ValueError:
    items = []
for t in items:
    if t.get("state") == "Started" and t.get("containerId"):
        print(t["id"], t["containerId"]); break'
}
task=""
for _ in $(seq 1 $((wait_s * 5))); do
    task=$(started_task)
    [ -n "$task" ] && break
    sleep 0.2
done
[ -n "$task" ] || fail "no task of job $job_id Started within ${wait_s} s"
started=$(date +%s.%N)
read -r task_id container <<< "$task"
answer=""
for _ in $(seq 1 $((wait_s * 2))); do
    answer=$(engine exec "$container" sh -c \
        "printf 'GET /latest/meta-data/instance-id HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' | nc -w 5 169.254.169.254 80" 2>&1 | tail -n 1)
    [ "$answer" = "$task_id" ] && break
    sleep 0.5
done
[ "$answer" = "$task_id" ] || fail "the metadata endpoint did not answer $task_id at 169.254.169.254 inside $container (last: ${answer:-nothing})"
seconds=$(awk "BEGIN { printf \"%.1f\", $started - $submitted }")
say "PASS ${seconds}s submit-to-Started; metadata answered inside the container (IPAM gateway: $([ -n "$gateway" ] && echo reported || echo none))"
