#!/usr/bin/env bash
# The OpenAPI document against a live master: schemathesis (PyPI) generates requests from
# Sources/Master/API/openapi.json, sends them to one master on loopback, and checks every
# response against the document (status codes, headers, content types, bodies), that invalid
# requests are refused, and that the documented authentication is enforced (401s).
#
#   bash Tests/Faults/openapi.sh
#
# Prints `openapi: PASS <n> operations, <n> cases` or `openapi: FAIL ...` and exits non-zero.
#
# Environment:
#   FULLER_MASTER              the fuller-master binary (default: a release build, built if missing)
#   FULLER_OPENAPI_EXAMPLES    cases per operation and phase (default 100)
#   FULLER_OPENAPI_SECONDS     time limit for the whole schemathesis run (default 240)
#   FULLER_SCHEMATHESIS_VENV   where schemathesis is installed (default .build/schemathesis-VERSION)
#
# Left out: the agent protocol (`/v1/agents/register`, `/v1/agents/{id}/heartbeat`) and
# membership (`/v1/cluster/members...`), which other suites drive with real agents and masters;
# and `/v1/events`, a stream that never ends, which schemathesis can only time out on.
# The check `positive_data_acceptance` is off: it counts every 400 for a schema-valid request as
# a failure, and the master rightly refuses what JSON Schema cannot say (`desired` between `min`
# and `max`, a spec both batch and service). Every response must come within schemathesis's
# 10 s (it found a scale-down of thousands of tasks that took 36 s).
set -euo pipefail
cd "$(dirname "$0")/../.."

schemathesis_version=4.32.5
examples=${FULLER_OPENAPI_EXAMPLES:-100}
time_limit_seconds=${FULLER_OPENAPI_SECONDS:-240}
venv=${FULLER_SCHEMATHESIS_VENV:-$PWD/.build/schemathesis-$schemathesis_version}
document=$PWD/Sources/Master/API/openapi.json
admin_token=openapi-admin-$RANDOM$RANDOM$RANDOM
agent_token=openapi-agent-$RANDOM$RANDOM$RANDOM

say() { echo "openapi: $*"; }
fail() { echo "openapi: FAIL $*"; exit 1; }

install_schemathesis() {
    if [ -x "$venv/bin/schemathesis" ] && "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
        return
    fi
    # Debian's python3 (not one a user put first in PATH), with the venv module Debian splits off.
    local python=/usr/bin/python3
    if ! { [ -x "$python" ] && "$python" -c 'import ensurepip, venv' 2>/dev/null; }; then
        [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || fail "no python3 with venv; install python3-venv"
        say "installing python3 and python3-venv"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq python3 python3-venv >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null && apt-get install -y -qq python3 python3-venv >/dev/null; } \
            || fail "apt-get install python3 python3-venv failed"
    fi
    say "installing schemathesis $schemathesis_version into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv" || fail "python3 -m venv $venv failed"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version" || fail "pip install schemathesis failed"
}

master_binary() {
    if [ -n "${FULLER_MASTER:-}" ]; then echo "$FULLER_MASTER"; return; fi
    local bin
    bin=$(swift build -c release --show-bin-path)/fuller-master
    [ -x "$bin" ] || swift build -c release --product fuller-master >&2 || fail "release build failed"
    echo "$bin"
}

work=$(mktemp -d /tmp/fuller-openapi.XXXXXX)
master_pid=""
cleanup() {
    [ -z "$master_pid" ] || { kill "$master_pid" 2>/dev/null; wait "$master_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT

# METHOD URL [TOKEN [BODY]], with the venv's Python (a fresh machine may have no curl); fails
# unless the answer is 2xx.
http() {
    "$venv/bin/python" -c 'import sys, urllib.request as u
method, url, token, body = (sys.argv[1:] + ["", ""])[:4]
headers = {"Content-Type": "application/json"} | ({"Authorization": "Bearer " + token} if token else {})
u.urlopen(u.Request(url, method=method, data=body.encode() or None, headers=headers), timeout=5)' "$@" 2>/dev/null
}

# One master on loopback with a token file: an admin for the run, an agent to register one.
start_master() {
    printf 'admin openapi %s\nagent * %s\n' "$admin_token" "$agent_token" > "$work/tokens"
    chmod 600 "$work/tokens"
    "$1" serve --api 127.0.0.1:0 --data-dir "$work/data" --no-fsync --token-file "$work/tokens" > "$work/master.log" 2>&1 &
    master_pid=$!
    for _ in $(seq 1 100); do
        port=$(grep -o '"master serving".*"api":"127.0.0.1:[0-9]*' "$work/master.log" | grep -o '[0-9]*$' || true)
        [ -n "$port" ] && http GET "http://127.0.0.1:$port/readyz" && return
        kill -0 "$master_pid" 2>/dev/null || { cat "$work/master.log"; fail "the master exited"; }
        sleep 0.1
    done
    fail "the master did not become ready in 10 s"
}

# Something for the list operations to show: two registered agents, one drained so that it
# keeps nothing in use (`used` all zeros), and two jobs.
seed() {
    local url=http://127.0.0.1:$port agent body
    for agent in openapi-busy openapi-idle; do
        http POST "$url/v1/agents/register" "$agent_token" '{"id":"'$agent'","hostname":"h","address":"127.0.0.1:1",'\
'"attributes":{"zone":"z-1a"},"resources":{"cpu":4,"memoryMB":4096}}' || fail "registering agent $agent failed"
    done
    http POST "$url/v1/agents/openapi-idle/drain" "$admin_token" || fail "draining openapi-idle failed"
    for body in '{"name":"b","owner":"o","type":"batch","container":{"image":"i","resources":{"cpu":0.5,"memoryMB":64}},"batch":{"size":2}}' \
                '{"name":"s","owner":"o","type":"service","container":{"image":"i","resources":{"cpu":0.5,"memoryMB":64}},"service":{"capacity":{"min":0,"desired":1,"max":2}}}'; do
        http POST "$url/v1/jobs" "$admin_token" "$body" || fail "submitting a job failed"
    done
}

# schemathesis run DOCUMENT with the common options, then the caller's; its output in $work/$1.
run_schemathesis() {
    local log=$work/$1
    shift
    local status=0
    # From the work directory: schemathesis keeps its example database in ./.schemathesis.
    (cd "$work" && timeout "$time_limit_seconds" "$venv/bin/schemathesis" run "$document" --url "http://127.0.0.1:$port" \
        -H "Authorization: Bearer $admin_token" --checks all --exclude-checks positive_data_acceptance \
        --max-examples "$examples" --workers 1 --request-timeout 20 --no-color --output-truncate false \
        --exclude-path /v1/agents/register --exclude-path '/v1/agents/{id}/heartbeat' \
        --exclude-path /v1/cluster/members --exclude-path '/v1/cluster/members/{id}' "$@") > "$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        if grep -qE '^=+ (ERRORS|FAILURES) =+$' "$log"; then
            sed -n '/^=* \(ERRORS\|FAILURES\) =*$/,$p' "$log" | head -n 150
        else
            tail -n 30 "$log"
        fi
        [ "$status" -eq 124 ] && fail "schemathesis ran past $time_limit_seconds s"
        fail "schemathesis found mismatches (exit $status); full output in the run above"
    fi
}

cases() { grep -oE '[0-9]+ generated' "$work/$1" | grep -oE '[0-9]+' || echo 0; }
operations() { sed -n 's/^ *Tested: *\([0-9]*\).*/\1/p' "$work/$1" | head -n 1; }

install_schemathesis
binary=$(master_binary)
start_master "$binary"
seed
started=$(date +%s)
run_schemathesis run.log --phases examples,coverage,fuzzing --exclude-path /v1/events
say "PASS $(operations run.log) operations, $(cases run.log) cases ($(( $(date +%s) - started )) s)"
