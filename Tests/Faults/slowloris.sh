#!/usr/bin/env bash
# Slowloris against one master while an agent heartbeats and a client submits.
#
# 600 connections each send a request head one byte every 3 s, and reconnect as soon as the
# master cuts them, against a master whose connection cap (--max-connections) is 256: the cap
# stays full of drippers for the whole run. Meanwhile a simulated agent registers and heartbeats
# with its agent token every 200 ms, and a client submits a job every 500 ms, each request on a
# new connection (the worst case: every one must be admitted at the cap). PASS when every
# heartbeat and every submit succeeds and the heartbeat p99 stays under 500 ms. Loopback only;
# 20 s (short mode) or 180 s (FULLER_FAULTS_MODE=long) plus start-up; everything it starts is
# stopped on exit. FULLER_SLOWLORIS_CONNECTIONS, _MAX_CONNECTIONS, _DRIP_SECONDS, _SECONDS and
# _P99_MS_MAX override the figures.
#
#   Tests/Faults/slowloris.sh      (FULLER_BIN_DIR=dir overrides .build/release, then .build/debug)
set -euo pipefail
cd "$(dirname "$0")/../.."
. Tests/Faults/lib-master.sh

case ${FULLER_FAULTS_MODE:-short} in
    short) seconds_default=20 ;;
    long) seconds_default=180 ;;
    *) echo "slowloris: FAIL FULLER_FAULTS_MODE must be short or long"; exit 1 ;;
esac
SLOW=${FULLER_SLOWLORIS_CONNECTIONS:-600}
CAP=${FULLER_SLOWLORIS_MAX_CONNECTIONS:-256}
DRIP=${FULLER_SLOWLORIS_DRIP_SECONDS:-3}
SECONDS_RUN=${FULLER_SLOWLORIS_SECONDS:-$seconds_default}
P99_MS_MAX=${FULLER_SLOWLORIS_P99_MS_MAX:-500}

bin=$(fault_bin_dir) || { echo "slowloris: FAIL no fuller-master (build it, or set FULLER_BIN_DIR)"; exit 1; }
dir=$(mktemp -d /tmp/fuller-faults-slowloris.XXXXXX)
fault_traps
ulimit -n "$(( SLOW + CAP + 1024 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
port=$(fault_free_port)
fault_write_tokens
fault_start_master --max-connections "$CAP" || { echo "slowloris: FAIL the master did not start"; exit 1; }

timeout $(( SECONDS_RUN + 60 )) python3 - "$port" "$SLOW" "$DRIP" "$SECONDS_RUN" "$P99_MS_MAX" "$submit_token" "$agent_token" "$master_pid" <<'PY'
import json, multiprocessing, os, selectors, socket, sys, threading, time

port, slow, drip, seconds, p99_max = (int(a) for a in sys.argv[1:6])
submit_token, agent_token, master_pid = sys.argv[6], sys.argv[7], int(sys.argv[8])
HEAD = b"GET /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
stop = multiprocessing.Event()
opened, cut, open_max = (multiprocessing.Value("q", 0) for _ in range(3))

def dripper():
    """Keeps `slow` connections open, each sending one byte every `drip` seconds. Runs in a
    process of its own, so the clients measured below never wait for it."""
    sel = selectors.DefaultSelector()
    conns = {}   # socket -> (bytes sent, next drip time)
    def open_one():
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close(); return
        sel.register(s, selectors.EVENT_READ)
        conns[s] = [0, time.monotonic() + (opened.value % (drip * 10)) / 10.0]
        opened.value += 1
    while not stop.is_set():
        while len(conns) < slow and not stop.is_set():
            open_one()
        open_max.value = max(open_max.value, len(conns))
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            # Any answer (a 503 on eviction, a 408 at the deadline) ends with a close.
            sel.unregister(s); s.close(); del conns[s]; cut.value += 1
        now = time.monotonic()
        for s, state in list(conns.items()):
            if state[1] > now:
                continue
            piece = HEAD[state[0]:state[0] + 1] if state[0] < len(HEAD) else b"x"
            try:
                s.send(piece)
                state[0] += 1
                state[1] = now + drip
            except (BlockingIOError, InterruptedError):
                state[1] = now + 0.1
            except OSError:
                sel.unregister(s); s.close(); del conns[s]; cut.value += 1
    for s in conns:
        s.close()

def call(method, path, token, body, timeout=5.0):
    """One request on a new connection; (status, milliseconds)."""
    started = time.monotonic()
    payload = json.dumps(body).encode()
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.encode() + payload)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    return status, (time.monotonic() - started) * 1000

def p99(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0

drippers = multiprocessing.get_context("fork").Process(target=dripper, daemon=True)
drippers.start()
deadline = time.monotonic() + 30
while open_max.value < slow and time.monotonic() < deadline:
    time.sleep(0.1)
time.sleep(1)   # the master has accepted (and is evicting among) them

register = {"id": "a1", "hostname": "a1.faults", "address": "127.0.0.1:0", "attributes": {},
            "resources": {"cpu": 4, "memoryMB": 8192, "diskMB": 10000, "networkMbps": 1000}}
failures, beats, submits = [], [], []
try:
    status, _ = call("POST", "/v1/agents/register", agent_token, register)
    if status != 200:
        failures.append(f"register: {status}")
except OSError as e:
    failures.append(f"register: {e}")

def submitter():
    n = 0
    while not stop.is_set():
        n += 1
        job = {"name": f"slowloris-{n}", "owner": "faults", "type": "batch", "batch": {"size": 1},
               "container": {"image": "fuller-test/busybox:1", "command": ["true"], "resources": {"cpu": 0.1, "memoryMB": 16}}}
        try:
            status, ms = call("POST", "/v1/jobs", submit_token, job)
            submits.append(ms)
            if status != 201:
                failures.append(f"submit {n}: {status}")
        except OSError as e:
            failures.append(f"submit {n}: {e}")
        time.sleep(0.5)

submit_thread = threading.Thread(target=submitter)
submit_thread.start()
end = time.monotonic() + seconds
sequence = 0
while time.monotonic() < end:
    sequence += 1
    try:
        status, ms = call("POST", "/v1/agents/a1/heartbeat", agent_token,
                          {"sequence": sequence, "assignmentsVersion": 0, "healthy": True, "waitMilliseconds": 0})
        beats.append(ms)
        if status != 200:
            failures.append(f"heartbeat {sequence}: {status}")
    except OSError as e:
        failures.append(f"heartbeat {sequence}: {e}")
    time.sleep(0.2)
stop.set()
submit_thread.join()
drippers.join(10)

alive = True
try:
    os.kill(master_pid, 0)
except OSError:
    alive = False
beat_p99, submit_p99 = p99(beats), p99(submits)
summary = (f"{open_max.value} slow, heartbeat p99 {beat_p99:.0f} ms ({len(beats)} beats), "
           f"submit p99 {submit_p99:.0f} ms ({len(submits)} submits), {cut.value} slow connections cut")
if failures or not alive or beat_p99 > p99_max or not beats or not submits:
    print(f"slowloris: FAIL {summary}")
    for f in failures[:10]:
        print(f"  {f}")
    if not alive:
        print("  the master died")
    sys.exit(1)
print(f"slowloris: PASS {summary}")
PY
