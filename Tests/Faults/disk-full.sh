#!/usr/bin/env bash
# Disk full, on the leader and on a follower: 3 masters on loopback, each with its data
# directory on a small tmpfs of its own; clients write all along. One master's tmpfs is filled:
#   - it must fail stop: /readyz, the API and the agent routes answer 503 `storage_failed`, and
#     its log has exactly one "storage failed" line naming errno 28 (ENOSPC);
#   - the other two keep (or start) leading and acknowledging writes;
#   - once the filler is removed and the master restarted, every acknowledged write is on all
#     three masters, exactly once.
# Prints one line per case: `disk-full (leader): PASS <longest write gap> ms ...` or FAIL.
#
#   bash Tests/Faults/disk-full.sh [leader|follower|both]
#
# FULLER_BIN_DIR: where fuller-master is (default .build/release, else .build/debug).
# Needs root (mount), curl and python3. Every case is bounded (DISK_FULL_CASE_SECONDS, 120)
# and cleans up on every exit: its processes by pid, its mounts, its directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
cases=${1:-both}
[ "$cases" = both ] && cases="leader follower"
bin_dir=${FULLER_BIN_DIR:-}
if [ -z "$bin_dir" ]; then
    for d in .build/release .build/debug; do [ -x "$d/fuller-master" ] && { bin_dir=$d; break; }; done
fi
bin="${bin_dir:-.build/release}/fuller-master"
case_seconds=${DISK_FULL_CASE_SECONDS:-120}
tmpfs_size=32m

dir=""
pids=()
mounts=()
cleanup() {
    local p m
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    [ -n "$dir" ] && rm -rf "$dir"
    pids=(); mounts=(); dir=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The client side, in Python: finding the leader, a writer that retries like a careful user
# (same Idempotency-Key, next master on 503 or a broken connection, follows 307), the checks.
write_helper() {
cat > "$dir/helper.py" <<'PY'
import json, os, sys, time, urllib.request, urllib.error

def call(addr, method, path, body=None, key=None, timeout=2):
    req = urllib.request.Request(f"http://{addr}{path}", data=body, method=method)
    if key: req.add_header("Idempotency-Key", key)
    if body is not None: req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
    except Exception as e:
        return 0, str(e).encode(), {}

def views(addrs):
    out = {}
    for a in addrs:
        s, b, _ = call(a, "GET", "/v1/cluster", timeout=1)
        if s == 200: out[a] = json.loads(b)
    return out

def leader(addrs):
    for a, v in views(addrs).items():
        if v.get("leader") is not None and v.get("leader") == v.get("self"): return a
    return ""

SPEC = json.dumps({"name": "d", "owner": "o", "type": "batch",
                   "container": {"image": "i", "resources": {"cpu": 0.1, "memoryMB": 16}}, "batch": {"size": 1}}).encode()

def submit(addrs, key, deadline):
    i = 0
    target = addrs[0]
    while time.time() < deadline and not os.path.exists(STOP):
        s, b, h = call(target, "POST", "/v1/jobs", SPEC, key)
        if s == 201: return json.loads(b)["id"], target
        if s == 307 and h.get("Location"):
            target = h["Location"].split("//", 1)[1].split("/", 1)[0]
            continue
        if s not in (0, 307, 429, 503): raise SystemExit(f"{key}: {s} {b[:200]!r}")
        i += 1
        target = addrs[i % len(addrs)]
        time.sleep(0.05)
    return None, None

def writer(out, addrs):
    n = 0
    first = addrs
    with open(out, "a", buffering=1) as f:
        while not os.path.exists(STOP):
            key = f"disk-full-{n}"
            jid, at = submit(first, key, time.time() + 30)
            if jid is None: break
            f.write(f"{key} {jid} {int(time.time() * 1000)}\n")
            first = [at] + [a for a in addrs if a != at]
            n += 1
            time.sleep(0.01)

def acked(path):
    try:
        return [l.split() for l in open(path) if l.strip()]
    except FileNotFoundError:
        return []

def jobs(addr):
    items, cursor = [], None
    while True:
        path = "/v1/jobs?limit=1000&stale=true" + (f"&cursor={cursor}" if cursor else "")
        s, b, _ = call(addr, "GET", path, timeout=10)
        if s != 200: raise SystemExit(f"GET {path} on {addr}: {s}")
        page = json.loads(b)
        items += page["items"]
        cursor = page.get("nextCursor")
        if not cursor: return items

def converged(addrs):
    vs = views(addrs)
    lead = [v for v in vs.values() if v.get("leader") == v.get("self")]
    return len(vs) == len(addrs) and lead and all(v["appliedIndex"] >= lead[0]["commitIndex"] for v in vs.values())

def check(path, addrs, since_ms):
    deadline = time.time() + 30
    while not converged(addrs):
        if time.time() > deadline: raise SystemExit("the masters did not converge in 30 s")
        time.sleep(0.1)
    rows = acked(path)
    lost = 0
    for a in addrs:
        by_key = {}
        for j in jobs(a):
            k = j.get("idempotencyKey")
            if k: by_key.setdefault(k, []).append(j["id"])
        for key, jid, _ in rows:
            if by_key.get(key) != [jid]: lost += 1; print(f"{a}: {key} acknowledged as {jid}, has {by_key.get(key)}", file=sys.stderr)
    times = [int(t) for _, _, t in rows if int(t) >= since_ms]
    gap = max([b - a for a, b in zip([since_ms] + times, times)] or [0])
    print(f"{gap} ms longest write gap, {len(rows)} acknowledged, {lost} lost")
    return lost == 0

def failstop(addr):
    reg = json.dumps({"id": "disk-agent", "hostname": "disk-agent.test", "address": "127.0.0.1:0",
                      "attributes": {}, "resources": {"cpu": 1, "memoryMB": 64}}).encode()
    hb = json.dumps({"sequence": 1, "assignmentsVersion": 0, "healthy": True, "reports": [], "waitMilliseconds": 0}).encode()
    bad = []
    for method, path, body in [("GET", "/readyz", None), ("GET", "/v1/jobs", None), ("POST", "/v1/jobs", SPEC),
                               ("POST", "/v1/agents/register", reg), ("POST", "/v1/agents/disk-agent/heartbeat", hb)]:
        s, b, _ = call(addr, method, path, body)
        try: code = json.loads(b)["error"]["code"]
        except Exception: code = None
        if s != 503 or code != "storage_failed": bad.append(f"{method} {path}: {s} {b[:120]!r}")
    return bad

STOP = os.environ.get("STOP_FILE", "/nonexistent")
cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "leader": print(leader(args))
elif cmd == "writer": writer(args[0], args[1:])
elif cmd == "count": print(len(acked(args[0])))
elif cmd == "check": sys.exit(0 if check(args[0], args[2:], int(args[1])) else 1)
elif cmd == "failstop":
    bad = failstop(args[0])
    for b in bad: print(b, file=sys.stderr)
    sys.exit(1 if bad else 0)
elif cmd == "free-ports":
    import socket
    socks = [socket.socket() for _ in range(int(args[0]))]
    for s in socks: s.bind(("127.0.0.1", 0))
    print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

run_case() { # leader|follower; prints the result line; returns 1 on failure
    local role=$1 deadline=$((SECONDS + case_seconds))
    dir=$(mktemp -d /tmp/fuller-disk-full.XXXXXX)
    write_helper
    local helper="python3 $dir/helper.py"
    local ports; read -r -a ports <<< "$($helper free-ports 6)"
    local api=() peer=() addrs=() peers="" i
    for i in 1 2 3; do
        api[i]=${ports[$((i - 1))]}; peer[i]=${ports[$((i + 2))]}
        addrs+=("127.0.0.1:${api[i]}")
        peers+="${peers:+,}m$i=127.0.0.1:${peer[i]}"
    done
    declare -A pid
    start() { # N
        "$bin" serve --id "m$1" --data-dir "$dir/m$1/data" --api "127.0.0.1:${api[$1]}" --peer "127.0.0.1:${peer[$1]}" \
            --peers "$peers" --snapshot-every 50 >> "$dir/m$1.log" 2>&1 &
        pid[$1]=$!; pids+=("$!")
    }
    fail() { echo "disk-full ($role): FAIL $*"; for i in 1 2 3; do echo "--- m$i" >&2; tail -n 5 "$dir/m$i.log" >&2 || true; done; return 1; }
    for i in 1 2 3; do
        mkdir -p "$dir/m$i"
        mount -t tmpfs -o "size=$tmpfs_size" tmpfs "$dir/m$i" || { fail "mount tmpfs (root needed)"; return 1; }
        mounts+=("$dir/m$i")
        start "$i"
    done
    local leader=""
    find_leader() {
        leader=""
        while [ -z "$leader" ]; do
            [ $SECONDS -lt $deadline ] || { fail "no leader"; return 1; }
            leader=$($helper leader "${addrs[@]}")
            [ -n "$leader" ] || sleep 0.1
        done
    }
    find_leader || return 1
    STOP_FILE="$dir/stop" $helper writer "$dir/acked" "${addrs[@]}" 2>> "$dir/writer.log" &
    pids+=("$!"); local writer=$!
    wait_acks() { # N: until N writes in all are acknowledged
        while [ "$($helper count "$dir/acked")" -lt "$1" ]; do
            [ $SECONDS -lt $deadline ] || { fail "only $($helper count "$dir/acked")/$1 writes acknowledged"; return 1; }
            sleep 0.1
        done
    }
    wait_acks 10 || return 1
    find_leader || return 1
    local v=""
    for i in 1 2 3; do
        if [ "$role" = leader ] && [ "127.0.0.1:${api[i]}" = "$leader" ]; then v=$i; fi
        if [ "$role" = follower ] && [ -z "$v" ] && [ "127.0.0.1:${api[i]}" != "$leader" ]; then v=$i; fi
    done
    local filled_ms; filled_ms=$(now_ms)
    dd if=/dev/zero of="$dir/m$v/filler" bs=1M status=none 2>/dev/null || true
    until [ "$(curl -s --max-time 1 "http://127.0.0.1:${api[v]}/readyz" | grep -c storage_failed)" = 1 ]; do
        [ $SECONDS -lt $deadline ] || { fail "m$v never answered /readyz with storage_failed"; return 1; }
        sleep 0.05
    done
    $helper failstop "127.0.0.1:${api[v]}" 2>> "$dir/failstop.log" || { fail "m$v: $(head -c 300 "$dir/failstop.log")"; return 1; }
    local before; before=$($helper count "$dir/acked")
    wait_acks $((before + 20)) || return 1
    local lines; lines=$(grep -c 'storage failed' "$dir/m$v.log" || true)
    [ "$lines" = 1 ] || { fail "m$v logged $lines 'storage failed' lines, not 1"; return 1; }
    grep 'storage failed' "$dir/m$v.log" | grep -q '"errno":28' || { fail "m$v's log line names no errno 28"; return 1; }

    rm -f "$dir/m$v/filler"
    kill -KILL "${pid[$v]}"; wait "${pid[$v]}" 2>/dev/null || true
    mv "$dir/m$v.log" "$dir/m$v.first.log"
    start "$v"
    until grep -q 'master serving' "$dir/m$v.log"; do
        [ $SECONDS -lt $deadline ] || { fail "m$v did not restart"; return 1; }
        sleep 0.1
    done
    before=$($helper count "$dir/acked")
    wait_acks $((before + 10)) || return 1
    touch "$dir/stop"
    wait "$writer" || { fail "writer: $(tail -n 2 "$dir/writer.log")"; return 1; }
    local summary
    summary=$($helper check "$dir/acked" "$filled_ms" "${addrs[@]}" 2>> "$dir/check.log") \
        || { fail "$summary $(head -c 300 "$dir/check.log")"; return 1; }
    echo "disk-full ($role): PASS $summary"
}

[ -x "$bin" ] || { echo "disk-full: FAIL no fuller-master at $bin (set FULLER_BIN_DIR)"; exit 1; }
status=0
for c in $cases; do
    run_case "$c" || status=1
    cleanup
done
exit $status
