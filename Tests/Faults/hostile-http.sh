#!/usr/bin/env bash
# Hostile HTTP input against one master: request-smuggling vectors, oversized and malformed
# requests, each on its own connection. PASS when each gets its status (400, 413, 431, 501 or
# 505) in the JSON error envelope, parse errors with `Connection: close` and the connection
# closed, and the master still answers /healthz and takes a valid submit afterwards. Loopback
# only; bounded (5 s per request); everything it starts is stopped on exit.
#
#   Tests/Faults/hostile-http.sh      (FULLER_BIN_DIR=dir overrides .build/release, then .build/debug)
set -euo pipefail
cd "$(dirname "$0")/../.."
. Tests/Faults/lib-master.sh

bin=$(fault_bin_dir) || { echo "hostile-http: FAIL no fuller-master (build it, or set FULLER_BIN_DIR)"; exit 1; }
dir=$(mktemp -d /tmp/fuller-faults-hostile.XXXXXX)
fault_traps
port=$(fault_free_port)
fault_write_tokens
fault_start_master --max-body-bytes 65536 || { echo "hostile-http: FAIL the master did not start"; exit 1; }

timeout 300 python3 - "$port" "$submit_token" "$master_pid" <<'PY'
import json, os, socket, sys

port, token, master_pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
AUTH = f"Authorization: Bearer {token}\r\n"

def post(headers, body=b""):
    return f"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}{headers}\r\n".encode() + body

# (name, request bytes, expected status, whether the server must close, half-close after sending)
CASES = [
    ("bare CR hiding a Content-Length", post("X: a\rZContent-Length: 5\r\n", b"hello"), 400, True),
    ("bare CR in the request line", b"GET /healthz HTTP/1.1\rHost: x\r\n\r\n", 400, True),
    ("bare LF line ends", b"GET /healthz HTTP/1.1\nHost: x\n\n", 400, True),
    ("Content-Length and Transfer-Encoding", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), 400, True),
    ("two different Content-Lengths", post("Content-Length: 1\r\nContent-Length: 2\r\n", b"ab"), 400, True),
    ("Content-Length list that disagrees", post("Content-Length: 1, 2\r\n", b"ab"), 400, True),
    ("Content-Length +5", post("Content-Length: +5\r\n", b"hello"), 400, True),
    ("Content-Length 0x5", post("Content-Length: 0x5\r\n", b"hello"), 400, True),
    ("Content-Length -1", post("Content-Length: -1\r\n"), 400, True),
    ("Content-Length 5 5", post("Content-Length: 5 5\r\n", b"hello"), 400, True),
    ("Content-Length that overflows", post("Content-Length: 99999999999999999999999\r\n"), 400, True),
    ("Transfer-Encoding xchunked", post("Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n"), 400, True),
    ("Transfer-Encoding chunked, identity", post("Transfer-Encoding: chunked, identity\r\n", b"0\r\n\r\n"), 400, True),
    ("Transfer-Encoding in HTTP/1.0", b"POST /v1/jobs HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, True),
    ("Transfer-Encoding gzip, chunked", post("Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"), 501, True),
    ("obsolete line folding", post("Content-Length: 2\r\n X-Folded: y\r\n", b"{}"), 400, True),
    ("whitespace before a colon", post("Content-Length : 2\r\n", b"{}"), 400, True),
    ("NUL in a header value", post("X: a\0b\r\nContent-Length: 2\r\n", b"{}"), 400, True),
    ("NUL in a header name", post("X\0Y: a\r\nContent-Length: 2\r\n", b"{}"), 400, True),
    ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400, True),
    ("two Host headers", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, True),
    ("a control byte in the target", b"GET /heal\x01thz HTTP/1.1\r\nHost: x\r\n\r\n", 400, True),
    ("HTTP/2.0", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505, True),
    ("a TLS ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(32) + b"\r\n\r\n", 400, True),
    ("a 20 KiB header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20480 + b"\r\n\r\n", 431, True),
    ("a 20 KiB request target", b"GET /" + b"a" * 20480 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, True),
    ("a body over --max-body-bytes", post("Content-Length: 10485760\r\n"), 413, True),
    ("a chunk over --max-body-bytes", post("Transfer-Encoding: chunked\r\n", b"10000000\r\n"), 413, True),
    ("a chunk size that overflows", post("Transfer-Encoding: chunked\r\n", b"fffffffffffffffffffff\r\n"), 400, True),
    ("a chunk size that is not hex", post("Transfer-Encoding: chunked\r\n", b"zz\r\n"), 400, True),
    ("a body cut short", post("Content-Length: 100\r\n", b"{\"name\""), 400, True, True),
    ("JSON nested 60,000 deep", post("Content-Length: 60000\r\nContent-Type: application/json\r\n", b"[" * 60000), 400, False),
    ("a job that is not a job", post("Content-Length: 11\r\nContent-Type: application/json\r\n", b'{"name": 5}'), 400, False),
]

def exchange(request, half_close):
    """Sends `request`; returns (status, headers, body, closed by the server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(request)
        except OSError:
            pass   # the server may answer and close before reading everything
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1]) if lines[0].startswith("HTTP/1.") else 0
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        closed = False
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    closed = True
                    break
        except socket.timeout:
            closed = False
        except ConnectionResetError:
            closed = True
        return status, headers, body, closed

failures = []
for case in CASES:
    name, request, expected, must_close = case[:4]
    half_close = len(case) > 4 and case[4]
    if not must_close:
        request = request.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1)
    try:
        status, headers, body, closed = exchange(request, half_close)
    except OSError as e:
        failures.append(f"{name}: {e}")
        continue
    problems = []
    if status != expected:
        problems.append(f"status {status}, expected {expected}")
    try:
        envelope = json.loads(body)["error"]
        if not envelope.get("code") or not envelope.get("message"):
            problems.append("error envelope without code or message")
    except (ValueError, KeyError, TypeError):
        problems.append(f"no JSON error envelope: {body[:80]!r}")
    if must_close and (headers.get("connection") != "close" or not closed):
        problems.append("connection not closed")
    if problems:
        failures.append(f"{name}: " + "; ".join(problems))

def healthy():
    try:
        status, _, _, _ = exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False)
        job = json.dumps({"name": "after-hostile", "owner": "faults", "type": "batch", "batch": {"size": 1},
                          "container": {"image": "fuller-test/busybox:1", "resources": {"cpu": 0.1, "memoryMB": 16}}}).encode()
        submit, _, _, _ = exchange(post(f"Content-Length: {len(job)}\r\nContent-Type: application/json\r\nConnection: close\r\n", job), False)
        return status == 200 and submit == 201
    except OSError:
        return False

try:
    os.kill(master_pid, 0)
    alive = healthy()
except OSError:
    alive = False
if failures or not alive:
    print(f"hostile-http: FAIL {len(failures)} of {len(CASES)} requests not refused as they should be"
          + ("" if alive else "; the master is down"))
    for f in failures:
        print(f"  {f}")
    sys.exit(1)
print(f"hostile-http: PASS {len(CASES)} hostile requests refused with their status, master up")
PY
